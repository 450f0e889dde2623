"""The terminal report: a table a lesson (stacked rows on a narrow terminal), a total, then what to do next.

Nothing is ever cut: a wide terminal gets tables whose text folds inside its cell, a narrow one (below
`STACK_BELOW` columns) gets one block a check. `list` uses the same two layouts.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from maas_lab.engine.model import CheckResult, Outcome, Report, Status
from maas_lab.report import terminal_width

STACK_BELOW = 100  # columns: a four-column table narrower than this cuts messages into slivers
MANY_IDS = 4  # a hint shared by more checks than this names a few and counts the rest

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


def score_text(results: Iterable[CheckResult]) -> str:
    """`74/74 +3 bonus`: bonus points are extra credit, shown apart from the required score they would overflow."""
    results = list(results)
    required = sum(r.points for r in results if r.check.required)
    maximum = sum(r.max_points for r in results if r.check.required)
    bonus = sum(r.points for r in results if not r.check.required)
    return f"{points(required)}/{points(maximum)}" + (f" +{points(bonus)} bonus" if bonus else "")


def run_wide_cause(report: Report) -> CheckResult | None:
    """The one error every check shares (no kubeconfig, cluster unreachable, invalid profile), if there is one."""
    results = report.results
    if len(results) > 1 and all(r.status is Status.ERROR for r in results) and len({r.message for r in results}) == 1:
        return results[0]
    return None


def hint_groups(report: Report) -> dict[tuple[Status, str], list[CheckResult]]:
    """One entry a distinct hint: a cause shared by many checks is one thing to do, not one line a check."""
    groups: dict[tuple[Status, str], list[CheckResult]] = {}
    for result in report.results:
        if result.hint:
            groups.setdefault((result.status, result.hint), []).append(result)
    return groups


def named(results: list[CheckResult]) -> str:
    ids = [r.check.id for r in results]
    if len(ids) <= MANY_IDS:
        return ", ".join(ids)
    return f"{len(ids)} checks ({', '.join(ids[:3])}, …)"


def section_command(result: CheckResult) -> str:
    from maas_lab.catalogue import section_command as command

    return command(result.check)


def _console(buffer: io.StringIO, color: bool, width: int) -> Console:
    return Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)


def lesson_table(checks: list[CheckResult], title: str, marks: dict[str, str] | None = None) -> Table:
    """The wide layout of one lesson; `marks` (check id → a short flag) adds a column, for the watch mode."""
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("", no_wrap=True)
    if marks is not None:
        table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result", overflow="fold")
    table.add_column("points", justify="right", no_wrap=True)
    for result in checks:
        symbol, style = SYMBOLS[result.status]
        bonus = "" if result.check.required else " bonus"
        cells: list[Text | str] = [Text(symbol, style=style)]
        if marks is not None:
            cells.append(Text(marks.get(result.check.id, ""), style="bold yellow"))
        cells += [
            result.check.id,
            Text(f"{result.status.value.upper()}: {result.message}"),
            f"{points(result.points)}/{points(result.max_points)}{bonus}",
        ]
        table.add_row(*cells)
    return table


def stacked_rows(console: Console, checks: list[CheckResult], marks: dict[str, str] | None = None) -> None:
    """The narrow layout: the id and points on one line, the result under it, folded, never cut."""
    for result in checks:
        symbol, style = SYMBOLS[result.status]
        bonus = "" if result.check.required else " bonus"
        line = Text(f" {symbol} ", style=style)
        if marks and marks.get(result.check.id):
            line.append(f"{marks[result.check.id]} ", style="bold yellow")
        line.append(result.check.id, style="bold")
        line.append(f"  {points(result.points)}/{points(result.max_points)}{bonus}")
        console.print(line, overflow="fold")
        console.print(Padding(Text(f"{result.status.value.upper()}: {result.message}", overflow="fold"), (0, 0, 0, 4)))


def render_table(report: Report, *, color: bool = False, width: int | None = None) -> str:
    width = width or terminal_width()
    buffer = io.StringIO()
    console = _console(buffer, color, width)
    who = report.target.user or "unknown user"
    where = report.target.cluster_domain or "domain unknown"
    console.print(Text(f"maas-lab {report.tool_version} · {who} · {where} · profile {report.target.profile}"), overflow="fold")
    cause = run_wide_cause(report)
    if cause is not None:
        console.print(Text(f"\n{len(report.results)} checks could not run: {cause.message}", style="magenta"), overflow="fold")
    else:
        for lesson in report.lessons:
            title = lesson.heading
            if width < STACK_BELOW:
                console.print(Text(f"\n{title}", style="bold"))
                stacked_rows(console, lesson.checks)
            else:
                console.print(lesson_table(lesson.checks, title))
            console.print(Text(f"{lesson.label}: {score_text(lesson.checks)}"))
    word, style = OUTCOME_WORDS[report.outcome]
    total = Text(f"Total: {score_text(report.results)} — ")
    total.append(word, style=style)
    console.print(total)
    groups = hint_groups(report)
    if groups:
        console.print(Text("\nWhat to do next:", style="bold"))
        for (status, hint), results in groups.items():
            symbol, style = SYMBOLS[status]
            grid = Table.grid(padding=(0, 1, 0, 0))  # the symbol, then the hint folded beside it (a hanging indent)
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            grid.add_row(Text(f" {symbol}", style=style), Text(hint if cause is not None else f"{named(results)}: {hint}"))
            console.print(grid)
            if len(results) == 1:
                # commands on lines of their own, never broken: copied whole even when wider than the terminal
                only = results[0]
                console.print(Text(f"     see {section_command(only)}", style="dim"), soft_wrap=True)
                console.print(Text(f"         maas-lab explain {only.check.id}", style="dim"), soft_wrap=True)
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"), overflow="fold")
    return buffer.getvalue()
