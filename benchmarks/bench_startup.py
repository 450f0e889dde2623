"""Start-up of the commands a student types most, against `python -c pass` on the same machine.

Prints the median wall and CPU time of each command (a fresh interpreter each run) and their excess over the
empty interpreter; asserts nothing (machines are shared and noisy). The aim is an excess under 0.15 s for `--help`,
`--version`, `list`, `explain` and `lesson` (with names given, so no cluster is asked; also on a pseudo-terminal,
through the pager, as a student reads it; CPU time there includes the pager's). Run from the repository root:

    python -m benchmarks.bench_startup [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "maas-lab --help": ["-m", "maas_lab", "--help"],
    "maas-lab --version": ["-m", "maas_lab", "--version"],
    "maas-lab list": ["-m", "maas_lab", "list"],
    "maas-lab explain 2.routes": ["-m", "maas_lab", "explain", "2.routes"],
    "maas-lab lesson 2 (names given)": ["-m", "maas_lab", "lesson", "2", "--user", "u1", "--cluster-domain", "apps.example.com"],
}
# The way a student reads a lesson: on a terminal, through the pager (here `cat`, so the figure is the time until
# the text is out, not the time spent reading it).
ON_A_TERMINAL = {"maas-lab lesson 2 on a terminal": COMMANDS["maas-lab lesson 2 (names given)"]}


def _run_on_a_terminal(arguments: list[str]) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "PAGER": "cat", "COLUMNS": "80", "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, *arguments], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    try:
        while True:  # drain the pty, or the child blocks once its buffer is full
            try:
                if not os.read(master, 65536):
                    break
            except OSError:  # EIO: the child closed its end
                break
        process.wait()
    finally:
        os.close(master)


def medians(arguments: list[str], repeat: int, *, terminal: bool = False) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the child; CPU time suffers less from a busy machine."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        if terminal:
            _run_on_a_terminal(arguments)
        else:
            subprocess.run([sys.executable, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    base_wall, base_cpu = medians(COMMANDS["python -c pass"], args.repeat)
    print(f"{'command':34} {'wall':>8} {'excess':>8} {'cpu':>8} {'excess':>8}")
    for name, arguments in [*COMMANDS.items(), *ON_A_TERMINAL.items()]:
        wall, cpu = (base_wall, base_cpu) if name == "python -c pass" else medians(arguments, args.repeat, terminal=name in ON_A_TERMINAL)
        print(f"{name:34} {wall * 1000:5.0f} ms {(wall - base_wall) * 1000:5.0f} ms {cpu * 1000:5.0f} ms {(cpu - base_cpu) * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
