"""Reporters on a synthetic report: every format, the shipped JSON schema, JUnit counts, Gradescope fields."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import jsonschema
import pytest

from maas_lab.engine.model import Check, CheckResult, LessonReport, Report, Status, Target
from maas_lab.report import FORMATS, render
from maas_lab.report.json_ import load_schema, report_to_dict


def result(check_id: str, status: Status, *, required: bool = True) -> CheckResult:
    check = Check(check_id, int(check_id[0]), f"Title of {check_id}", "", lambda s: None, "do this",  # type: ignore[arg-type, return-value]
                  f"lessons/2-deploy-litemaas.md#step-{check_id[2:]}", "K8s", (), required)
    points = 2.0 if required else 1.0
    return CheckResult(check, status, f"{status.value} <&> message", None if status is Status.PASS else "do this & that",
                       points if status is Status.PASS else 0.0, points, {"found": ["a", "b"]}, 0.01)


@pytest.fixture
def report() -> Report:
    lesson = LessonReport(2, "Deploy LiteMaaS", [
        result("2.check-a", Status.PASS), result("2.check-b", Status.FAIL), result("2.check-c", Status.SKIP),
        result("2.check-d", Status.PENDING), result("2.check-e", Status.ERROR), result("2.check-f", Status.PASS, required=False),
    ])
    return Report("0.1.0", datetime(2026, 11, 26, 10, 0, tzinfo=UTC), Target("user1", "apps.example.com", "ai501"), [lesson])


def test_json_matches_the_contract_and_the_schema(report: Report) -> None:
    data = json.loads(render(report, "json"))
    jsonschema.validate(data, load_schema())
    assert data["outcome"] == "could_not_grade"
    assert data["score"] == 3.0 and data["max_score"] == 10.0
    checks = data["lessons"][0]["checks"]
    assert {c["status"] for c in checks} == {"pass", "fail", "skip", "pending", "error"}
    assert all((c["hint"] is None) == (c["status"] == "pass") for c in checks)
    assert set(checks[0]) >= {"id", "title", "status", "points", "max_points", "required", "message", "hint", "lesson_ref", "evidence"}


def test_schema_rejects_a_missing_hint_on_a_failure(report: Report) -> None:
    data = report_to_dict(report)
    data["lessons"][0]["checks"][1]["hint"] = None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, load_schema())


def test_junit_counts_and_kinds(report: Report) -> None:
    root = ET.fromstring(render(report, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("6", "2", "1", "1")
    kinds = {case.get("name"): [child.tag + ":" + (child.get("type") or "") for child in case] for case in suite.iter("testcase")}
    assert kinds["2.check-b"] == ["failure:Fail"] and kinds["2.check-d"] == ["failure:Pending"]
    assert kinds["2.check-e"] == ["error:CouldNotGrade"] and kinds["2.check-c"] == ["skipped:"] and kinds["2.check-a"] == []
    assert all(case.get("classname") == "lesson-2" for case in suite.iter("testcase"))


def test_gradescope_has_one_test_a_check_and_no_top_level_score(report: Report) -> None:
    data = json.loads(render(report, "gradescope"))
    assert "score" not in data
    assert len(data["tests"]) == 6
    by_number = {t["number"]: t for t in data["tests"]}
    assert by_number["2.check-a"]["status"] == "passed" and by_number["2.check-a"]["score"] == 2.0
    assert by_number["2.check-b"]["status"] == "failed" and "do this" in by_number["2.check-b"]["output"]
    assert by_number["2.check-b"]["output"].startswith("FAIL")


def test_markdown_and_table_show_hints(report: Report) -> None:
    markdown = render(report, "markdown")
    assert "| ❌ | `2.check-b` |" in markdown and "What to do next" in markdown
    table = render(report, "table")
    assert "✔" in table and "✘" in table and "↷" in table and "…" in table and "!" in table
    assert "do this & that" in table and "COULD NOT GRADE" in table


def test_every_format_renders(report: Report) -> None:
    for format_ in FORMATS:
        assert render(report, format_).strip()
