"""The gradebook's files, built from JSON-form reports (`report_to_dict`) keyed by user.

`write_aggregates` writes gradebook.csv, gradebook.json and report.html (each atomically); `read_students` reads
the students/<user>.json files back (for --resume and for merging gradebooks).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maas_lab.engine.registry import load_checks
from maas_lab.files import write_atomically

STATUSES = ("pass", "fail", "skip", "pending", "error")
OUTCOMES = ("pass", "fail", "could_not_grade")


def dumps(value: Any) -> str:
    # the same encoding as `--format json` (evidence may hold timestamps)
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def _checks(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for lesson in report.get("lessons") or [] for c in lesson.get("checks") or []]


def check_ids(reports: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every check id in the reports, in the order the lessons teach them."""
    order = {check_id: index for index, check_id in enumerate(load_checks())}
    seen = {str(c["id"]) for r in reports.values() for c in _checks(r)}
    return sorted(seen, key=lambda i: (order.get(i, len(order)), i))


def write_aggregates(directory: Path, reports: Mapping[str, Mapping[str, Any]]) -> None:
    ids = check_ids(reports)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["user", "outcome", "score", "max_score", *ids])
    for user in sorted(reports):
        report = reports[user]
        cells = {str(c["id"]): ("" if c["status"] == "error" else f"{float(c['points']):g}") for c in _checks(report)}
        writer.writerow(
            [user, report["outcome"], f"{float(report['score']):g}", f"{float(report['max_score']):g}", *(cells.get(i, "") for i in ids)]
        )
    write_atomically(directory / "gradebook.csv", buffer.getvalue())
    write_atomically(directory / "gradebook.json", dumps({"reports": {u: reports[u] for u in sorted(reports)}}))
    write_atomically(directory / "report.html", render_html(reports, ids))


def read_students(directory: Path) -> dict[str, dict[str, Any]]:
    """students/<user>.json of a gradebook folder (files that do not parse as a report are left out)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((directory / "students").glob("*.json")):
        try:
            report = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and "outcome" in report:
            found[path.stem] = report
    return found


def _points(check: Mapping[str, Any]) -> str:
    return "" if check["status"] == "error" else f"{float(check['points']):g}"


def render_html(reports: Mapping[str, Mapping[str, Any]], ids: list[str]) -> str:
    """A self-contained page: per-check distribution across the cohort, then one row a student."""
    checks = load_checks()
    total = len(reports)
    outcomes = {o: sum(1 for r in reports.values() if r["outcome"] == o) for o in OUTCOMES}
    by_user = {u: {str(c["id"]): c for c in _checks(r)} for u, r in reports.items()}
    rows = []
    for check_id in ids:
        statuses = [by_user[u].get(check_id, {}).get("status") for u in reports]
        counts = {s: statuses.count(s) for s in STATUSES}
        share = (counts["pass"] / total * 100) if total else 0.0
        cells = "".join(f"<td>{counts[s]}</td>" for s in STATUSES)
        title = checks[check_id].title if check_id in checks else check_id
        rows.append(
            f"<tr><td><code>{html.escape(check_id)}</code></td><td>{html.escape(title)}</td>{cells}"
            f'<td><div class="bar"><span style="width:{share:.0f}%"></span></div> {share:.0f}%</td></tr>'
        )
    students = []
    for user in sorted(reports):
        report = reports[user]
        marks = "".join(
            f'<td class="{html.escape(str(c["status"]))}" title="{html.escape(str(c.get("message") or ""))}">'
            f"{_points(c)}</td>"
            if (c := by_user[user].get(check_id))
            else "<td></td>"
            for check_id in ids
        )
        students.append(
            f"<tr><td>{html.escape(user)}</td><td class='{html.escape(str(report['outcome']))}'>{html.escape(str(report['outcome']))}</td>"
            f"<td>{float(report['score']):g}/{float(report['max_score']):g}</td>{marks}</tr>"
        )
    status_heads = "".join(f"<th>{s}</th>" for s in STATUSES)
    id_heads = "".join(f"<th><code>{html.escape(i)}</code></th>" for i in ids)
    summary = ", ".join(f"{n} {o}" for o, n in outcomes.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maas-lab gradebook</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}} table{{border-collapse:collapse;margin:1rem 0}}
td,th{{border:1px solid #ccc;padding:.25rem .5rem;font-size:.85rem}} th{{background:#f3f3f3}}
.bar{{display:inline-block;width:120px;height:.7rem;background:#eee;vertical-align:middle}}
.bar span{{display:block;height:100%;background:#3c8d40}}
.pass{{background:#e4f4e4}} .fail{{background:#fbe3e3}} .skip{{background:#fff7db}} .pending{{background:#e3f1fb}}
.error,.could_not_grade{{background:#efe3fb}}
</style></head><body>
<h1>maas-lab gradebook</h1>
<p>{total} student(s): {html.escape(summary)}.</p>
<h2>Per check</h2>
<table><tr><th>check</th><th>title</th>{status_heads}<th>passed</th></tr>
{''.join(rows)}
</table>
<h2>Per student</h2>
<table><tr><th>user</th><th>outcome</th><th>score</th>{id_heads}</tr>
{''.join(students)}
</table>
</body></html>
"""
