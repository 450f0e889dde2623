"""The gradebook folder: `students/<user>.json`, and the aggregates built from them (CSV, JSON, the class page).

Everything here works on reports in their JSON form (`report_to_dict`), so a gradebook can be rebuilt or merged
from the files alone, without grading again. Every file is written atomically: a reader, or a run interrupted
half-way, never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maas_lab.errors import UsageError
from maas_lab.files import write_atomically
from maas_lab.report.classpage import check_columns, render_class_page

CSV_FIXED_COLUMNS = ("user", "outcome", "score", "max_score")


def to_json(value: Any) -> str:
    """The encoding of `--format json`, so a student's file is byte-for-byte the report `check` prints."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def write_student(directory: Path, user: str, report: Mapping[str, Any]) -> None:
    """`students/<user>.json`, written when that student is done."""
    write_atomically(directory / "students" / f"{user}.json", to_json(report))


def write_aggregates(directory: Path, reports: Mapping[str, Mapping[str, Any]]) -> None:
    """`gradebook.csv`, `gradebook.json` and `report.html` from the reports of every student graded so far."""
    ordered = {user: reports[user] for user in sorted(reports)}
    write_atomically(directory / "gradebook.csv", render_csv(ordered))
    write_atomically(directory / "gradebook.json", render_gradebook_json(ordered))
    write_atomically(directory / "report.html", render_class_page(ordered))


def render_gradebook_json(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """`{"reports": {user: report}}`, one student a line: greppable, and written by json's C encoder, which indented
    output cannot use (the file is rewritten every few seconds while a class of hundreds is graded)."""
    lines = [
        f"{json.dumps(user, ensure_ascii=False)}: {json.dumps(reports[user], ensure_ascii=False, default=str)}" for user in sorted(reports)
    ]
    return '{"reports": {\n' + ",\n".join(lines) + "\n}}\n" if lines else '{"reports": {}}\n'


def render_csv(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """One row a student: the points earned per check; an `error` cell is empty, since nothing was measured."""
    ids = check_columns(reports.values())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*CSV_FIXED_COLUMNS, *ids])
    for user in sorted(reports):
        report = reports[user]
        cells = {
            result["id"]: ("" if result["status"] == "error" else f"{result['points']:g}")
            for lesson in report["lessons"]
            for result in lesson["checks"]
        }
        writer.writerow([user, report["outcome"], f"{report['score']:g}", f"{report['max_score']:g}", *(cells.get(i, "") for i in ids)])
    return buffer.getvalue()


def read_students(directory: Path) -> dict[str, dict[str, Any]]:
    """The reports in `directory/students/`, keyed by user (the file name). A file that is not a report is a usage error."""
    folder = directory / "students"
    if not folder.is_dir():
        raise UsageError(f"{directory} is not a gradebook folder: it has no students/ folder")
    reports: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):  # a temporary file of a write in progress
            continue
        reports[path.stem] = _read_report(path)
    return reports


def _read_report(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"{path} is not a JSON report (not valid JSON)") from None
    problem = _report_problem(value)
    if problem:
        raise UsageError(f"{path} is not a JSON report: {problem}")
    report: dict[str, Any] = value
    return report


def _report_problem(value: Any) -> str | None:
    """What stops the gradebook from reading `value` as a schema-1 report (only the fields it uses), or None."""
    if not isinstance(value, dict):
        return "not a JSON object"
    if value.get("schema_version") != 1:
        return f"schema_version {value.get('schema_version')!r}, expected 1"
    if not isinstance(value.get("outcome"), str):
        return "no outcome"
    for field in ("score", "max_score"):
        if not _is_number(value.get(field)):
            return f"{field} is not a number"
    lessons = value.get("lessons")
    if not isinstance(lessons, list):
        return "no lessons list"
    for lesson in lessons:
        if not isinstance(lesson, dict) or not isinstance(lesson.get("lesson"), int) or not isinstance(lesson.get("checks"), list):
            return "a lesson without a number or checks"
        for result in lesson["checks"]:
            if not isinstance(result, dict) or not isinstance(result.get("id"), str) or not isinstance(result.get("status"), str):
                return f"a check of lesson {lesson['lesson']} without an id or status"
            if not _is_number(result.get("points")) or not _is_number(result.get("max_points")):
                return f"check {result['id']} has no points"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_grade(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two reports that differ only in when they were made say the same thing about the student."""
    return {k: v for k, v in a.items() if k != "generated_at"} == {k: v for k, v in b.items() if k != "generated_at"}


def merge(sources: list[Path], out: Path) -> dict[str, dict[str, Any]]:
    """Merge gradebook folders (the shards of `grade --shard I/N`) into `out`; returns the merged reports.

    A student may appear in several sources only with the same grade (say, a shard that was re-run); the newest
    report is kept. Two different grades for one student are a usage error: the shards come from different runs,
    and picking one silently could publish the wrong grade.
    """
    if not sources:
        raise UsageError("gradebook merge needs at least one gradebook folder: maas-lab gradebook merge DIR... --out DIR")
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[str, Path] = {}
    for source in sources:
        for user, report in read_students(source).items():
            if user in merged:
                if not _same_grade(merged[user], report):
                    raise UsageError(
                        f"{user} has different reports in {origin[user]} and {source}: merge shards of one run "
                        f"(or delete the stale students/{user}.json)"
                    )
                if str(report.get("generated_at", "")) <= str(merged[user].get("generated_at", "")):
                    continue
            merged[user] = report
            origin[user] = source
    _check_writable(out, merged)
    try:
        for user, report in merged.items():
            write_student(out, user, report)
        write_aggregates(out, merged)
    except OSError as exc:
        raise UsageError(f"cannot write the gradebook to {out}: {exc.strerror or exc}") from None
    return merged


def _check_writable(out: Path, merged: Mapping[str, Any]) -> None:
    """Refuse an --out that is a file, or a gradebook of other students (its files would not be in the aggregates)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"cannot write the gradebook to {out}: it is not a folder")
    students = out / "students"
    if students.is_dir():
        strangers = sorted(p.stem for p in students.glob("*.json") if not p.name.startswith(".") and p.stem not in merged)
        if strangers:
            more = f" and {len(strangers) - 3} more" if len(strangers) > 3 else ""
            raise UsageError(
                f"{out} already holds a gradebook with other students ({', '.join(strangers[:3])}{more}): choose an empty --out"
            )
