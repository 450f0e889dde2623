"""Start-up of the commands a student types most, against `python -c pass` on the same machine.

Prints the median wall time of each command (a fresh interpreter each run) and its excess over the empty
interpreter; asserts nothing (machines are shared and noisy). The aim is an excess under 0.15 s for `--help`,
`--version`, `list`, `explain` and `lesson` (with names given, so no cluster is asked). Run from the repository root:

    python -m benchmarks.bench_startup [--repeat 15]
"""

from __future__ import annotations

import argparse
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


def median_seconds(arguments: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    baseline = median_seconds(COMMANDS["python -c pass"], args.repeat)
    print(f"{'command':36} {'median':>9} {'excess':>9}")
    for name, arguments in COMMANDS.items():
        seconds = baseline if name == "python -c pass" else median_seconds(arguments, args.repeat)
        print(f"{name:36} {seconds * 1000:7.0f} ms {(seconds - baseline) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
