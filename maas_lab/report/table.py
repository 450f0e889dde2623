"""The terminal report: a table a lesson, a total, then what to do next."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from maas_lab.engine.model import CheckResult, Outcome, Report, Status

SYMBOLS = {
    Status.PASS: ("✔", "green"),
    Status.FAIL: ("✘", "red"),
    Status.SKIP: ("↷", "yellow"),
    Status.PENDING: ("…", "cyan"),
    Status.ERROR: ("!", "magenta"),
}
OUTCOME_WORDS = {
    Outcome.PASS: ("PASS", "bold green"),
    Outcome.FAIL: ("FAIL", "bold red"),
    Outcome.COULD_NOT_GRADE: ("COULD NOT GRADE", "bold magenta"),
}


def points(value: float) -> str:
    return f"{value:g}"


def render_table(report: Report, *, color: bool = False, width: int = 110) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    who = report.target.user or "unknown user"
    where = report.target.cluster_domain or "domain unknown"
    console.print(Text(f"maas-lab {report.tool_version} · {who} · {where} · profile {report.target.profile}"))
    for lesson in report.lessons:
        table = Table(title=lesson.heading, title_justify="left", expand=False)
        table.add_column("", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("result")
        table.add_column("points", justify="right", no_wrap=True)
        for result in lesson.checks:
            symbol, style = SYMBOLS[result.status]
            bonus = "" if result.check.required else " (bonus)"
            table.add_row(
                Text(symbol, style=style),
                result.check.id,
                Text(f"{result.status.value.upper()}: {result.message}"),
                f"{points(result.points)}/{points(result.max_points)}{bonus}",
            )
        console.print(table)
        console.print(Text(f"{lesson.label}: {points(lesson.score)}/{points(lesson.max_score)}"))
    word, style = OUTCOME_WORDS[report.outcome]
    total = Text(f"Total: {points(report.score)}/{points(report.max_score)} — ")
    total.append(word, style=style)
    console.print(total)
    todo = [r for r in report.results if r.hint]
    if todo:
        console.print(Text("\nWhat to do next:", style="bold"))
        # One line per distinct hint: a preflight failure would otherwise repeat the same advice for every check.
        groups: dict[tuple[Status, str], list[CheckResult]] = {}
        for result in todo:
            groups.setdefault((result.status, result.hint or ""), []).append(result)
        for (status, hint), results in groups.items():
            symbol, style = SYMBOLS[status]
            line = Text(f" {symbol} ", style=style)
            line.append(f"{', '.join(r.check.id for r in results)}: {hint}")
            console.print(line)
            if len(results) == 1:
                only = results[0]
                console.print(Text(f"     see {only.check.lesson_ref} · maas-lab explain {only.check.id}", style="dim"))
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"))
    return buffer.getvalue()
