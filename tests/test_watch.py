"""`check LESSON --watch [SECONDS]`: a real terminal (a pty) watching a broken world turn green once it is fixed.

The bounds on reading are there so that a broken loop fails the test instead of hanging it; nothing is timed.
"""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from maas_lab.engine.model import Report
from maas_lab.errors import UsageError
from maas_lab.watch import CHANGED, DEFAULT_INTERVAL, MAX_DELAY, Watch, changes, next_delay, parse_interval
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import reference_world
from tests.lab import Lab

ROOT = Path(__file__).resolve().parent.parent
ANSI = __import__("re").compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BOUND = 90.0  # seconds: a hang fails the test rather than the CI job


def read_until(fd: int, wanted: str | None) -> str:
    """What the pty says until `wanted` appears (or, for None, until the process closes it)."""
    seen = b""
    while True:
        ready, _, _ = select.select([fd], [], [], BOUND)
        if not ready:
            raise AssertionError(f"no {wanted!r} from the terminal; it said:\n{ANSI.sub('', seen.decode(errors='replace'))[-2000:]}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            if wanted is None:
                return ANSI.sub("", seen.decode(errors="replace"))
            raise AssertionError(f"the terminal closed before {wanted!r}:\n{ANSI.sub('', seen.decode(errors='replace'))[-2000:]}")
        seen += chunk
        if wanted is not None and wanted in ANSI.sub("", seen.decode(errors="replace")):
            return ANSI.sub("", seen.decode(errors="replace"))


def test_watch_in_a_terminal_turns_green_when_the_world_is_fixed(lab: Lab) -> None:
    broken = reference_world()
    OMISSIONS["1.shared-models-ready"](broken)
    lab.load(broken)
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "110", "LINES": "60", "TERM": "xterm-256color"}
    command = [sys.executable, "-m", "maas_lab", "check", "1", "--watch", "1", "--kubeconfig", str(lab.kubeconfig),
               "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url]
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    try:
        first = read_until(master, "Ctrl-C to stop")
        assert "1.shared-models-ready" in first and "FAIL" in first
        assert "next round in 1 s" in first
        lab.load(reference_world())  # the student fixes the model between two rounds
        rest = read_until(master, None)
        assert process.wait(timeout=BOUND) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert "Total: " in rest and "PASS" in rest.split("Total: ")[-1]  # the final report, as a normal run prints it
    assert "✔ │ 1.shared-models-ready" in rest


def test_ctrl_c_in_a_terminal_prints_the_last_report_and_its_exit_code(lab: Lab) -> None:
    import signal

    broken = reference_world()
    OMISSIONS["1.shared-models-ready"](broken)
    lab.load(broken)
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "110", "LINES": "60", "TERM": "xterm-256color"}
    command = [sys.executable, "-m", "maas_lab", "check", "1", "--watch", "--kubeconfig", str(lab.kubeconfig)]
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    try:
        first = read_until(master, "Ctrl-C to stop")
        assert "next round in 10 s" in first  # `--watch` alone: every 10 seconds
        process.send_signal(signal.SIGINT)
        rest = read_until(master, None)
        assert process.wait(timeout=BOUND) == 1  # the last round failed: exit 1, as `check` would
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert "Total: " in rest and "FAIL" in rest.split("Total: ")[-1]
    assert "Traceback" not in rest


def world_grader(lab: Lab, worlds: list[Callable[[], None]]) -> Callable[[], Report]:
    """Grade lesson 1; before each round after the first, apply the next change of the world."""
    rounds = iter(worlds)

    def grade_once() -> Report:
        next(rounds, lambda: None)()
        return lab.grade([1])

    return grade_once


def test_rows_that_changed_are_marked_and_the_loop_stops_when_all_pass(lab: Lab) -> None:
    broken = reference_world()
    OMISSIONS["1.canopy-running"](broken)
    OMISSIONS["1.shared-models-ready"](broken)
    half = reference_world()
    OMISSIONS["1.canopy-running"](half)
    console = Console(file=io.StringIO(), width=100)
    worlds = [lambda: lab.load(broken), lambda: lab.load(half), lambda: lab.load(reference_world())]
    watch = Watch(world_grader(lab, worlds), 5, console, sleep=lambda seconds: None)
    previous: list[dict[str, str]] = []
    original = watch.view

    def view(waiting: float | None) -> object:
        previous.append(dict(watch.marks))
        return original(waiting)

    watch.view = view  # type: ignore[method-assign]
    report = watch.run()
    assert report is not None and report.exit_code == 0
    assert watch.rounds == 3
    assert previous[0] == {}  # the first round has nothing to compare with
    assert previous[1] == {"1.shared-models-ready": CHANGED}
    assert watch.marks.get("1.canopy-running") == CHANGED  # the last round turned it green


def test_errors_back_off_and_ctrl_c_keeps_the_last_report(lab: Lab, tmp_path: Path) -> None:
    lab.load(reference_world())
    expired = Path(lab.openshift.write_kubeconfig(tmp_path / "expired", token="tok-expired"))
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 4:
            raise KeyboardInterrupt

    console = Console(file=io.StringIO(), width=100)
    report = Watch(lambda: lab.grade([1], kubeconfig=str(expired)), 3, console, sleep=sleep).run()
    assert delays == [3, 6, 12, 24]
    assert report is not None and report.exit_code == 3


def test_ctrl_c_before_the_first_round_reports_nothing() -> None:
    def interrupted() -> Report:
        raise KeyboardInterrupt

    assert Watch(interrupted, 1, Console(file=io.StringIO())).run() is None


def test_delays_and_intervals() -> None:
    assert parse_interval(None) == DEFAULT_INTERVAL and parse_interval("2.5") == 2.5
    assert next_delay(10, 0) == 10 and next_delay(10, 1) == 20 and next_delay(10, 10) == MAX_DELAY
    assert next_delay(600, 3) == 600  # an interval above the cap is never shortened
    for bad in ("x", "0", "-3"):
        with pytest.raises(UsageError, match="--watch"):
            parse_interval(bad)


def test_changes_compares_statuses_by_check(lab: Lab) -> None:
    good = lab.grade([1])
    assert changes(None, good) == {} and changes(good, good) == {}


@pytest.mark.parametrize(("args", "words"), [(["5"], ["unexpected argument '5'", "--watch 5"]), (["--watch", "soon"], ["--watch", "'soon'"])])
def test_watch_usage_errors(lab: Lab, args: list[str], words: list[str]) -> None:
    from typer.testing import CliRunner

    from maas_lab.cli import app

    result = CliRunner().invoke(app, ["check", "1", *args, "--kubeconfig", str(lab.kubeconfig)], catch_exceptions=False)
    assert result.exit_code == 2 and result.stdout == ""
    for word in words:
        assert word in result.stderr
