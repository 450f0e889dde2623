"""The JSON report, schema_version 1 (`schema/report-v1.json`)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from maas_lab.engine.model import CheckResult, Report

SCHEMA_VERSION = 1


def report_to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "maas-lab", "version": report.tool_version},
        "generated_at": report.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": {
            "user": report.target.user,
            "cluster_domain": report.target.cluster_domain,
            "profile": report.target.profile,
        },
        "outcome": report.outcome.value,
        "score": float(report.score),
        "max_score": float(report.max_score),
        "lessons": [
            {
                "lesson": lesson.lesson,
                "title": lesson.title,
                "score": float(lesson.score),
                "max_score": float(lesson.max_score),
                "checks": [_check(r) for r in lesson.checks],
            }
            for lesson in report.lessons
        ],
        "notes": list(report.notes),
    }


def _check(result: CheckResult) -> dict[str, Any]:
    return {
        "id": result.check.id,
        "title": result.check.title,
        "status": result.status.value,
        "points": float(result.points),
        "max_points": float(result.max_points),
        "required": result.check.required,
        "message": result.message,
        "hint": result.hint,
        "lesson_ref": result.check.lesson_ref,
        "evidence": dict(result.evidence),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"


def load_schema() -> dict[str, Any]:
    text = resources.files("maas_lab.report").joinpath("schema/report-v1.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
