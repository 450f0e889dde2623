"""`check LESSON --watch [SECONDS]`: re-grade on a timer with a live table, until every required check passes.

The loop knows nothing of how a report is made: it calls `grade_once()` (the CLI passes one student's grading),
shows the checks that do not pass yet and those whose status just changed, and waits. While the grader itself
cannot read the world (an `error`: the cluster unreachable, a credential rejected) it waits longer each round, up
to MAX_DELAY, so a watch left open does not hammer a struggling API server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from maas_lab.engine.model import Report, Status
from maas_lab.errors import UsageError
from maas_lab.report.table import lesson_table, score_text

DEFAULT_INTERVAL = 10.0
MAX_DELAY = 120.0
CHANGED = "•"  # marks a row whose status differs from the previous round


def parse_interval(value: str | None) -> float:
    """`--watch` alone is every DEFAULT_INTERVAL seconds; `--watch 5` every 5."""
    if value is None:
        return DEFAULT_INTERVAL
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"--watch takes a number of seconds, not {value!r} (e.g. --watch 10)") from None
    if not 1 <= seconds <= 3600:
        raise UsageError(f"--watch {value}: choose between 1 and 3600 seconds")
    return seconds


def all_required_pass(report: Report) -> bool:
    return all(r.status is Status.PASS for r in report.results if r.check.required)


def next_delay(interval: float, error_rounds: int) -> float:
    """The interval, doubled for each round in a row that had grader-side errors, at most MAX_DELAY."""
    return min(interval * 2.0 ** max(error_rounds, 0), max(interval, MAX_DELAY))


def changes(previous: Report | None, current: Report) -> dict[str, str]:
    if previous is None:
        return {}
    before = {r.check.id: r.status for r in previous.results}
    return {r.check.id: CHANGED for r in current.results if before.get(r.check.id) not in (None, r.status)}


@dataclass
class Watch:
    grade_once: Callable[[], Report]
    interval: float
    console: Console
    sleep: Callable[[float], None] = time.sleep
    rounds: int = 0
    error_rounds: int = 0
    last: Report | None = None
    marks: dict[str, str] = field(default_factory=dict)

    def view(self, waiting: float | None) -> RenderableType:
        report = self.last
        if report is None:  # not reached: the view is shown after the first round
            raise RuntimeError("no round graded yet")
        passed = sum(1 for r in report.results if r.status is Status.PASS)
        when = datetime.now().strftime("%H:%M:%S")
        header = Text(f"round {self.rounds} at {when} · {passed}/{len(report.results)} checks pass · ", style="bold")
        header.append(f"score {score_text(report.results)}")
        parts: list[RenderableType] = [header]
        for lesson in report.lessons:
            shown = [r for r in lesson.checks if r.status is not Status.PASS or r.check.id in self.marks]
            if shown:
                parts.append(lesson_table(shown, f"Lesson {lesson.lesson} — {lesson.title}", self.marks))
            hidden = len(lesson.checks) - len(shown)
            if hidden:
                parts.append(Text(f"  ✔ {hidden} more check(s) of lesson {lesson.lesson} pass", style="green"))
        if waiting is not None:
            slower = " (grader errors: waiting longer)" if self.error_rounds else ""
            footer = f"{CHANGED} changed since the last round · next round in {waiting:g} s{slower} · Ctrl-C to stop"
            parts.append(Text(footer, style="dim"))
        return Group(*parts)

    def run(self) -> Report | None:
        """Grade until every required check passes or Ctrl-C; the last report (None if none finished)."""
        # taller than the terminal, the view is cut at the bottom: the first lesson's rows are the next thing to do
        with Live(console=self.console, auto_refresh=False, transient=True, vertical_overflow="ellipsis") as live:
            live.update(Text("grading…", style="dim"), refresh=True)
            try:
                while True:
                    report = self.grade_once()
                    self.rounds += 1
                    self.marks = changes(self.last, report)
                    self.last = report
                    if all_required_pass(report):
                        break
                    has_errors = any(r.status is Status.ERROR for r in report.results)
                    self.error_rounds = self.error_rounds + 1 if has_errors else 0
                    delay = next_delay(self.interval, self.error_rounds - 1) if has_errors else self.interval
                    live.update(self.view(delay), refresh=True)
                    self.sleep(delay)
            except KeyboardInterrupt:
                pass
        return self.last
