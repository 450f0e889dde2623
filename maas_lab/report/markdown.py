"""Markdown for a CI job summary: a table a lesson, then the hints of what did not pass."""

from __future__ import annotations

from maas_lab.engine.model import Report, Status

ICONS = {Status.PASS: "✅", Status.FAIL: "❌", Status.SKIP: "⏭️", Status.PENDING: "⏳", Status.ERROR: "⚠️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    # a run that could not start may not know the user or domain: say so rather than print `None`
    who = f"`{report.target.user}`" if report.target.user else "unknown"
    where = f"`{report.target.cluster_domain}`" if report.target.cluster_domain else "unknown"
    lines = [
        f"# maas-lab: {report.outcome.value} — {report.score:g}/{report.max_score:g}",
        "",
        f"User {who} · domain {where} · profile `{report.target.profile}`",
        "",
    ]
    for lesson in report.lessons:
        lines += [
            f"## {lesson.heading} ({lesson.score:g}/{lesson.max_score:g})",
            "",
            "| | check | status | points | message |",
            "|---|---|---|---|---|",
        ]
        for r in lesson.checks:
            bonus = " (bonus)" if not r.check.required else ""
            lines.append(
                f"| {ICONS[r.status]} | `{r.check.id}` | {r.status.value} | {r.points:g}/{r.max_points:g}{bonus} | {_cell(r.message)} |"
            )
        lines.append("")
    todo = [r for r in report.results if r.hint]
    if todo:
        lines += ["## What to do next", ""]
        lines += [f"- **`{r.check.id}`** ({r.status.value}): {_cell(r.hint or '')} — `{r.check.lesson_ref}`" for r in todo]
        lines.append("")
    return "\n".join(lines)
