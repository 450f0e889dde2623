"""The gradebook files: CSV and JSON content, reading students/, merging shards, and the class page's HTML text.

The page in a real browser is tests/test_class_report.py.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from maas_lab.cli import app
from maas_lab.engine.model import Status
from maas_lab.engine.registry import load_checks
from maas_lab.errors import UsageError
from maas_lab.gradebook import merge, read_students, render_csv, write_aggregates, write_student
from maas_lab.report.classpage import error_cause, inline, render_class_page
from maas_lab.report.json_ import load_schema, render_json, report_to_dict
from tests.cohort import API_DOWN, HOSTILE, as_dicts, cohort, litemaas_down, make_report
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import reference_world
from tests.lab import Lab

LESSON_ORDER = [c.id for c in load_checks().values() if isinstance(c.lesson, int)]  # as the lessons teach them (env.*: smoke)


def write_gradebook(directory: Path, reports: dict[str, dict[str, Any]]) -> None:
    """What `grade` leaves behind: one file a student, then the aggregates."""
    for user, report in reports.items():
        write_student(directory, user, report)
    write_aggregates(directory, reports)


def read_csv(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = {row["user"]: row for row in reader}
        return list(reader.fieldnames or []), rows


def files_of(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


# -- CSV and JSON ------------------------------------------------------------------------------------------------


def test_csv_has_a_row_a_student_and_a_column_a_check_in_lesson_order(tmp_path: Path) -> None:
    reports = as_dicts(cohort(30))
    write_aggregates(tmp_path, reports)
    header, rows = read_csv(tmp_path / "gradebook.csv")
    assert header[:4] == ["user", "outcome", "score", "max_score"]
    assert header[4:] == LESSON_ORDER  # every lesson graded: every check, as the lessons teach them
    assert list(rows) == sorted(reports)
    for user, report in reports.items():
        row = rows[user]
        assert (row["outcome"], float(row["score"]), float(row["max_score"])) == (report["outcome"], report["score"], report["max_score"])
        for lesson in report["lessons"]:
            for result in lesson["checks"]:
                expected = "" if result["status"] == "error" else f"{result['points']:g}"
                assert row[result["id"]] == expected, (user, result["id"])
    # the planted cases, spelled out: a pass earns its points, a fail 0, an error nothing at all
    assert rows["student001"]["2.routes"] == "2" and rows["student004"]["2.routes"] == "0"
    assert rows["student007"]["3.pricing"] == "" and rows["student030"]["1.logged-in"] == ""
    assert rows["student001"]["3.role-assigned"] == "1"  # a bonus check's point


def test_csv_of_a_partial_run_lists_only_the_graded_lessons() -> None:
    reports = as_dicts({"u1": make_report("u1", lessons=(2, 3)), "u2": make_report("u2", lessons=(2, 3))})
    header = next(csv.reader(io.StringIO(render_csv(reports))))
    assert header[4:] == [c for c in LESSON_ORDER if c[0] in "23"]


def test_gradebook_json_holds_every_report_as_check_prints_it(tmp_path: Path) -> None:
    reports = cohort(30)
    dicts = as_dicts(reports)
    write_gradebook(tmp_path, dicts)
    book = json.loads((tmp_path / "gradebook.json").read_text("utf-8"))
    assert list(book) == ["reports"] and list(book["reports"]) == sorted(dicts)
    lines = (tmp_path / "gradebook.json").read_text("utf-8").splitlines()
    assert len(lines) == 2 + len(dicts) and lines[1].startswith('"student001": {')  # one student a line: grep finds them
    assert book["reports"] == json.loads(json.dumps(dicts))
    schema = load_schema()
    for user, report in book["reports"].items():
        jsonschema.validate(report, schema)
        assert (tmp_path / "students" / f"{user}.json").read_text("utf-8") == render_json(reports[user])
    assert read_students(tmp_path) == book["reports"]
    assert not list(tmp_path.rglob(".*.tmp"))


def test_gradebook_of_really_graded_students(lab: Lab, tmp_path: Path) -> None:
    """The gradebook of reports the grader made against the fakes: one complete student, one without Routes."""
    complete = lab.grade()
    broken_world = reference_world()
    OMISSIONS["2.routes"](broken_world)
    lab.load(broken_world)
    broken = lab.grade()
    reports = {"user1": report_to_dict(complete), "user1-retake": report_to_dict(broken)}
    write_gradebook(tmp_path, reports)
    _, rows = read_csv(tmp_path / "gradebook.csv")
    assert rows["user1"]["outcome"] == "pass" and rows["user1"]["2.routes"] == "2"
    assert rows["user1-retake"]["outcome"] == "fail" and rows["user1-retake"]["2.routes"] == "0"
    assert float(rows["user1"]["score"]) == complete.score and float(rows["user1-retake"]["score"]) == broken.score
    page = (tmp_path / "report.html").read_text("utf-8")
    routes = next(r for r in broken.results if r.check.id == "2.routes")
    assert html.escape(routes.message) in page  # the student's own message, in their row


# -- reading students/ -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", ["not valid JSON"]),
        (b"\xff\xfe", ["not valid JSON"]),
        (b"[1, 2]", ["not a JSON object"]),
        (b'{"schema_version": 2}', ["schema_version 2"]),
        (b'{"schema_version": 1, "outcome": "pass", "score": 1, "max_score": 2}', ["no lessons"]),
        (b'{"schema_version": 1, "outcome": "pass", "score": "1", "max_score": 2, "lessons": []}', ["score is not a number"]),
        (b'{"schema_version": 1, "outcome": "pass", "score": 1, "max_score": 2, "lessons": [{"lesson": 1, "checks": [{"id": "1.x"}]}]}',
         ["without an id or status"]),
    ],
)
def test_a_malformed_student_file_is_a_usage_error_naming_it(tmp_path: Path, content: bytes, words: list[str]) -> None:
    write_gradebook(tmp_path, as_dicts({"good": make_report("good", lessons=(1,))}))
    (tmp_path / "students" / "bad.json").write_bytes(content)
    with pytest.raises(UsageError) as caught:
        read_students(tmp_path)
    assert str(tmp_path / "students" / "bad.json") in str(caught.value)
    for word in words:
        assert word in str(caught.value)


def test_reading_skips_a_write_in_progress_and_needs_a_students_folder(tmp_path: Path) -> None:
    write_gradebook(tmp_path, as_dicts({"good": make_report("good", lessons=(1,))}))
    (tmp_path / "students" / ".good.json.123.tmp").write_text("{half")
    assert list(read_students(tmp_path)) == ["good"]
    with pytest.raises(UsageError, match="no students/ folder"):
        read_students(tmp_path / "students")


# -- merge -------------------------------------------------------------------------------------------------------


def shards_of(reports: dict[str, dict[str, Any]], count: int, root: Path) -> list[Path]:
    """Split like `grade --shard I/N` would (deterministically by user), each shard a gradebook of its own."""
    folders = []
    users = sorted(reports)
    for index in range(count):
        folder = root / f"shard-{index + 1}"
        write_gradebook(folder, {u: reports[u] for u in users[index::count]})
        folders.append(folder)
    return folders


def test_shards_merged_equal_one_unsharded_gradebook(tmp_path: Path) -> None:
    reports = as_dicts(cohort(45))
    whole = tmp_path / "whole"
    write_gradebook(whole, reports)
    merged_dir = tmp_path / "merged"
    merged = merge(shards_of(reports, 4, tmp_path), merged_dir)
    assert merged == reports
    assert files_of(merged_dir) == files_of(whole)  # byte for byte: CSV, JSON, every student, the page
    assert len(files_of(whole)) == 45 + 3


def test_merge_from_the_command_line(tmp_path: Path) -> None:
    reports = as_dicts(cohort(30))
    shards = shards_of(reports, 3, tmp_path)
    result = cli("gradebook", "merge", *shards, "--out", tmp_path / "merged")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "merged 30 student(s) from 3 gradebook(s)" in result.stderr
    assert read_students(tmp_path / "merged") == reports
    assert (tmp_path / "merged" / "report.html").read_text("utf-8") == render_class_page(reports)


def test_a_student_in_two_shards_with_the_same_grade_keeps_the_newest(tmp_path: Path) -> None:
    first, again = make_report("u1", minute=0), make_report("u1", minute=30)  # the same shard graded twice
    write_gradebook(tmp_path / "a", as_dicts({"u1": first, "u2": make_report("u2")}))
    write_gradebook(tmp_path / "b", as_dicts({"u1": again}))
    merged = merge([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert merged["u1"]["generated_at"] == report_to_dict(again)["generated_at"]
    merged = merge([tmp_path / "b", tmp_path / "a"], tmp_path / "out")  # whatever the order of the folders
    assert merged["u1"]["generated_at"] == report_to_dict(again)["generated_at"]


def test_a_student_with_two_different_grades_exits_2(tmp_path: Path) -> None:
    write_gradebook(tmp_path / "a", as_dicts({"u1": make_report("u1")}))
    write_gradebook(tmp_path / "b", as_dicts({"u1": make_report("u1", {"2.routes": (Status.FAIL, "no Route")})}))
    result = cli("gradebook", "merge", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "out")
    assert_usage_error(result, "u1 has different reports in", str(tmp_path / "a"), str(tmp_path / "b"))
    assert not (tmp_path / "out").exists()


def assert_usage_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, f"{word!r} not in {result.stderr!r}"


def test_merge_refuses_what_it_cannot_merge(tmp_path: Path) -> None:
    write_gradebook(tmp_path / "a", as_dicts({"u1": make_report("u1", lessons=(1,))}))
    write_gradebook(tmp_path / "other", as_dicts({"u9": make_report("u9", lessons=(1,))}))
    (tmp_path / "file").write_text("")
    assert_usage_error(cli("gradebook", "merge", "--out", tmp_path / "out"), "at least one gradebook folder")
    assert_usage_error(cli("gradebook", "merge", tmp_path / "missing", "--out", tmp_path / "out"), "missing", "no students/ folder")
    assert_usage_error(cli("gradebook", "merge", tmp_path / "a", "--out", tmp_path / "file"), "not a folder")
    assert_usage_error(cli("gradebook", "merge", tmp_path / "a", "--out", tmp_path / "other"), "other students", "u9", "empty --out")
    (tmp_path / "a" / "students" / "u2.json").write_text("[]")
    assert_usage_error(cli("gradebook", "merge", tmp_path / "a", "--out", tmp_path / "out"), "u2.json", "not a JSON object")
    (tmp_path / "a" / "students" / "u2.json").unlink()
    # merging into one of the sources is fine: all of its students are in the merge
    result = cli("gradebook", "merge", tmp_path / "a", tmp_path / "other", "--out", tmp_path / "a")
    assert result.exit_code == 0, result.stderr
    assert set(read_students(tmp_path / "a")) == {"u1", "u9"}


# -- the page's text ---------------------------------------------------------------------------------------------


def test_the_page_escapes_what_students_wrote_and_fetches_nothing() -> None:
    page = render_class_page(as_dicts(cohort(30)))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert html.escape("<script>alert(1)</script>\"><img src=x onerror=alert(2)>") in page
    assert HOSTILE.split("`")[0] not in page  # the raw text never appears, only its escaped form
    assert page.count("<script>") == 1  # the page's own, inline
    assert not re.search(r"<script[^>]+src|<link|<img|\bhref=|@import|url\(", page)
    assert "default-src 'none'" in page  # and the browser is told to refuse any fetch


def test_titles_have_no_backticks_or_placeholders() -> None:
    page = render_class_page(as_dicts(cohort(30)))
    text = re.sub(r"<script>.*?</script>|<style>.*?</style>", "", page, flags=re.S)
    assert "{user}" not in text
    assert "`" not in re.sub(r"<[^>]+>", "", text)
    assert "Project <var>&lt;user&gt;</var>-maas exists." in text  # class-wide: a visible placeholder
    assert "Canopy from the earlier modules runs in student010-canopy." in text  # in the student's row: their name
    assert "No Secret value of the release is still <code>changeme</code>." in text
    assert inline("`a<b>` for {user}", "o'neil") == "<code>a&lt;b&gt;</code> for o&#x27;neil"


def test_error_causes_mask_what_varies_between_students() -> None:
    assert error_cause(litemaas_down("student007"), "student007") == error_cause(litemaas_down("student117"), "student117")
    assert error_cause("timed out after 20 s on 10.0.0.7", "u1") == error_cause("timed out after 5 s on 10.0.0.12", "u2")
    assert error_cause("request 7c0d5a43-3b7e-4d0e-9a55-0f1e2d3c4b5a failed", "u") == error_cause(
        "request 2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b failed", "u"
    )
    assert error_cause(API_DOWN, "a") != error_cause(litemaas_down("a"), "a")


def test_an_empty_gradebook_still_renders(tmp_path: Path) -> None:
    write_aggregates(tmp_path, {})
    assert "No student graded yet." in (tmp_path / "report.html").read_text("utf-8")
    assert (tmp_path / "gradebook.csv").read_text("utf-8").strip() == "user,outcome,score,max_score"
    assert json.loads((tmp_path / "gradebook.json").read_text("utf-8")) == {"reports": {}}
