"""How `grade` shows its progress: a rich progress bar on a terminal, plain `[i/N]` lines otherwise."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as Bar
from rich.text import Text

from maas_lab.roster import Progress


class GradeProgress:
    """Use as a context manager; call it with each student's Progress."""

    def __init__(self, console: Console, total: int, already: int = 0) -> None:
        self.console = console
        self.bar: Bar | None = None
        if console.is_terminal:
            self.bar = Bar(
                TextColumn("grading"),
                BarColumn(bar_width=16),  # narrow, so that the counts fit on an 80-column terminal
                MofNCompleteColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=console,
                transient=False,
            )
            self.task = self.bar.add_task("grading", total=total, completed=already, status="")

    def __enter__(self) -> GradeProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, step: Progress) -> None:
        tally = step.tally
        if self.bar is not None:
            counts = f"pass {tally['pass']} · fail {tally['fail']} · not graded {tally['could_not_grade']}"
            self.bar.update(self.task, completed=step.done, status=f"{step.in_flight} in flight · {counts}")
            return
        report = step.report
        line = f"[{step.done}/{step.total}] {step.user}: {report['outcome']} {float(report['score']):g}/{float(report['max_score']):g}"
        self.console.print(Text(line))
