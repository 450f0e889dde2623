"""JUnit XML: one testcase a check, classname = lesson; fail/pending → failure, error → error, skip → skipped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from maas_lab.engine.model import Report, Status

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|\x1b\[[0-9;]*m")


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", text)


def render_junit(report: Report) -> str:
    suites = ET.Element("testsuites", name="maas-lab")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for lesson in report.lessons:
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.SubElement(suites, "testsuite", name=f"lesson-{lesson.lesson}")
        properties = ET.SubElement(suite, "properties")
        for name, value in (("score", lesson.score), ("max_score", lesson.max_score)):
            ET.SubElement(properties, "property", name=name, value=f"{value:g}")
        for result in lesson.checks:
            counts["tests"] += 1
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"lesson-{lesson.lesson}",
                name=result.check.id,
                time=f"{result.duration:.3f}",
            )
            detail = _clean(f"{result.message}\nhint: {result.hint}" if result.hint else result.message)
            if result.status in (Status.FAIL, Status.PENDING):
                counts["failures"] += 1
                kind = "Fail" if result.status is Status.FAIL else "Pending"
                ET.SubElement(case, "failure", message=_clean(result.message), type=kind).text = detail
            elif result.status is Status.ERROR:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=_clean(result.message), type="CouldNotGrade").text = detail
            elif result.status is Status.SKIP:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_clean(result.message))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{sum(r.duration for r in lesson.checks):.3f}")
        suite.set("timestamp", report.generated_at.strftime("%Y-%m-%dT%H:%M:%S"))
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
