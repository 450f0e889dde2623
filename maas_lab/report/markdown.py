"""Markdown for a CI job summary: a table a lesson, then the hints of what did not pass."""

from __future__ import annotations

from maas_lab.engine.model import Report, Status
from maas_lab.report.table import hint_groups, named, run_wide_cause, score_text, section_command

ICONS = {Status.PASS: "✅", Status.FAIL: "❌", Status.SKIP: "⏭️", Status.PENDING: "⏳", Status.ERROR: "⚠️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    # a run that could not start may not know the user or domain: say so rather than print `None`
    who = f"`{report.target.user}`" if report.target.user else "unknown"
    where = f"`{report.target.cluster_domain}`" if report.target.cluster_domain else "unknown"
    lines = [
        f"# maas-lab: {report.outcome.value} — {score_text(report.results)}",
        "",
        f"User {who} · domain {where} · profile `{report.target.profile}`",
        "",
    ]
    cause = run_wide_cause(report)
    if cause is not None:
        lines += [f"⚠️ {len(report.results)} checks could not run: {_cell(cause.message)}", "", "## What to do next", ""]
        lines += [f"- {_cell(cause.hint or 'Fix the cause above and rerun.')}", ""]
        return "\n".join(lines)
    for lesson in report.lessons:
        lines += [
            f"## {lesson.heading} ({score_text(lesson.checks)})",
            "",
            "| | check | status | points | message |",
            "|---|---|---|---|---|",
        ]
        for r in lesson.checks:
            bonus = " bonus" if not r.check.required else ""
            lines.append(
                f"| {ICONS[r.status]} | `{r.check.id}` | {r.status.value} | {r.points:g}/{r.max_points:g}{bonus} | {_cell(r.message)} |"
            )
        lines.append("")
    groups = hint_groups(report)
    if groups:
        lines += ["## What to do next", ""]
        for (status, hint), results in groups.items():
            see = f" — `{section_command(results[0])}`" if len(results) == 1 else ""
            lines.append(f"- **{_cell(named(results))}** ({status.value}): {_cell(hint)}{see}")
        lines.append("")
    return "\n".join(lines)
