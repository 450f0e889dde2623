"""A class of reports made of the real engine records (registry checks, CheckResult, Report), for gradebook tests.

Grading a world through the fakes takes about a second a student; these tests are about what the gradebook
does with many reports, so each student's statuses are planted here and the engine's own rules fill the rest:
a check whose prerequisite did not pass is skipped, points come from the profile, the outcome from the Report.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from maas_lab import __version__
from maas_lab.engine.model import CheckResult, LessonReport, Report, Status, Target
from maas_lab.engine.registry import LESSONS, load_checks
from maas_lab.errors import ClusterUnreachable, ServiceUnreachable
from maas_lab.profile import load_profile
from maas_lab.report.json_ import report_to_dict

DOMAIN = "apps.cluster-x7k2p.example.com"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
API_DOWN = "the API server https://api.cluster-x7k2p.example.com:6443 did not answer (ConnectTimeout)"
# A message built from what a student typed: it must reach the page as text, never as markup.
HOSTILE = "model <script>alert(1)</script>\"><img src=x onerror=alert(2)> is not `available`"


def litemaas_down(user: str) -> str:
    return f"could not connect to litemaas-{user}-maas.{DOMAIN}"


def make_report(
    user: str,
    planted: Mapping[str, tuple[Status, str]] | None = None,
    *,
    lessons: tuple[int, ...] = (1, 2, 3, 4, 5),
    minute: int = 0,
    every: tuple[Status, str] | None = None,
) -> Report:
    """All checks of `lessons` pass except those `planted` (or `every` one); dependents of a non-pass are skipped."""
    checks = load_checks()
    points = load_profile("ai501").points
    planted = dict(planted or {})
    verdicts: dict[str, tuple[Status, str, str | None]] = {}
    for check in checks.values():  # registration order puts prerequisites first
        if every is not None:
            verdicts[check.id] = (every[0], every[1], ClusterUnreachable.hint)
            continue
        blocked = next((n for n in check.needs if verdicts[n][0] is not Status.PASS), None)
        if blocked and check.id not in planted:
            verdicts[check.id] = (Status.SKIP, f"needs {blocked}, which did not pass ({verdicts[blocked][0].value})", f"Fix {blocked} first.")
        elif check.id in planted:
            status, message = planted[check.id]
            hint = {Status.PASS: None, Status.ERROR: ServiceUnreachable.hint}.get(status, check.hint)
            if message.startswith("internal error"):
                hint = "This is a grader bug, not your fault; please report it with the output of `maas-lab --version`."
            verdicts[check.id] = (status, message, hint)
        else:
            verdicts[check.id] = (Status.PASS, f"{check.id} done", None)
    lesson_reports = []
    for number in lessons:
        results = []
        for check in (c for c in checks.values() if c.lesson == number):
            status, message, hint = verdicts[check.id]
            worth = points.for_check(check.id, required=check.required)
            results.append(CheckResult(check, status, message, hint, worth if status is Status.PASS else 0.0, worth, {}))
        lesson_reports.append(LessonReport(number, LESSONS[number].title, results))
    return Report(__version__, START + timedelta(minutes=minute), Target(user, DOMAIN, "ai501"), lesson_reports)


def student_plan(index: int, user: str) -> dict[str, tuple[Status, str]]:
    """Ten kinds of student, by index: complete, stuck, converging, broken by the grader's side, hostile input."""
    kind = index % 10
    if kind in (0, 1, 2):
        return {}
    if kind == 3:
        return {"2.routes": (Status.FAIL, f"Route litemaas in {user}-maas is not admitted")}
    if kind == 4:
        return {"2.backend-ready": (Status.PENDING, "backend: 0/1 replicas available (ContainerCreating)")}
    if kind == 5:
        return {"3.pricing": (Status.FAIL, "Llama-3.2-3B input price is 0.0000002, not 0.0000001"),
                "4.usage-viewed": (Status.FAIL, "no visit to /usage recorded")}
    if kind == 6:  # the grader cannot reach this student's LiteMaaS: a grader-side cause shared by many
        return {c.id: (Status.ERROR, litemaas_down(user)) for c in load_checks().values() if c.lesson in (3, 4) and c.required}
    if kind == 7:
        return {"3.models-created": (Status.FAIL, HOSTILE)}
    if kind == 8:
        return {"5.llamastack-provider": (Status.FAIL, f"no remote::vllm provider in {user}-canopy's run.yaml"),
                "4.playground": (Status.FAIL, "no chat completion from a browser")}
    return {"1.canopy-running": (Status.FAIL, f"project {user}-canopy not found")}


def cohort(size: int, *, prefix: str = "student") -> dict[str, Report]:
    """`size` students: mixed outcomes, errors sharing causes, two could-not-grade students, one crashed check."""
    reports: dict[str, Report] = {}
    for index in range(size):
        user = f"{prefix}{index + 1:03d}"
        if index in (size - 1, size - 2):  # the API server did not answer for these two: every check is `error`
            reports[user] = make_report(user, every=(Status.ERROR, API_DOWN), minute=index)
            continue
        plan = student_plan(index, user)
        if index == 11:
            plan["4.keys-used"] = (Status.ERROR, "internal error in 4.keys-used: KeyError: 'spend'")
        reports[user] = make_report(user, plan, minute=index)
    return reports


def as_dicts(reports: Mapping[str, Report]) -> dict[str, dict[str, Any]]:
    return {user: report_to_dict(report) for user, report in reports.items()}
