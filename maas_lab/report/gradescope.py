"""Gradescope `results.json`: one test a check; Gradescope sums the scores, so no top-level score."""

from __future__ import annotations

import json
from typing import Any

from maas_lab.engine.model import Report, Status


def render_gradescope(report: Report) -> str:
    tests: list[dict[str, Any]] = []
    for result in report.results:
        output = result.status.value.upper() + ": " + result.message
        if result.hint:
            output += f"\n\nHint: {result.hint}\n\nSee `{result.check.lesson_ref}`."
        tests.append(
            {
                "name": f"{result.check.id} {result.check.title}",
                "number": result.check.id,
                "score": float(result.points),
                "max_score": float(result.max_points),
                "status": "passed" if result.status is Status.PASS else "failed",
                "output": output,
                "output_format": "md",
                "tags": [f"lesson-{result.check.lesson}"] + ([] if result.check.required else ["bonus"]),
                "visibility": "visible",
            }
        )
    body = {
        "output": f"maas-lab {report.tool_version}: outcome {report.outcome.value}",
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"outcome": report.outcome.value, "user": report.target.user},
        "tests": tests,
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
