"""Run checks in prerequisite order; turn exceptions into `error`; score; build the report."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from maas_lab import __version__
from maas_lab.engine.model import (
    Check,
    CheckResult,
    LessonReport,
    PrerequisiteMissing,
    Report,
    Status,
    StudentWorkMissing,
    Target,
    Verdict,
    errored,
    failed,
    skipped,
)
from maas_lab.engine.registry import fill, filled, group, group_sort_key, id_sort_key, load_checks, template_values
from maas_lab.errors import CollectError
from maas_lab.evidence.services import Unavailable

if TYPE_CHECKING:
    from maas_lab.evidence.snapshot import Snapshot
    from maas_lab.profile import Profile


def order_checks(wanted: Iterable[str], checks: dict[str, Check]) -> list[Check]:
    """`wanted` plus every prerequisite, prerequisites first (stable by id otherwise)."""
    ordered: list[Check] = []
    seen: set[str] = set()

    def visit(check_id: str, path: tuple[str, ...]) -> None:
        if check_id in seen:
            return
        if check_id in path:
            raise RuntimeError(f"prerequisite cycle: {' -> '.join((*path, check_id))}")
        for need in checks[check_id].needs:
            visit(need, (*path, check_id))
        seen.add(check_id)
        ordered.append(checks[check_id])

    for check_id in sorted(wanted, key=id_sort_key):
        visit(check_id, ())
    return ordered


def _where(need: str, check: Check, checks: Mapping[str, Check]) -> str:
    lesson = checks[need].lesson if need in checks else None
    return "" if lesson in (None, check.lesson) else f" (lesson {lesson})"


def _skip_for(check: Check, verdicts: dict[str, Verdict], checks: Mapping[str, Check]) -> Verdict | None:
    for need in check.needs:
        verdict = verdicts[need]
        if verdict.passed:
            continue
        where = _where(need, check, checks)
        if verdict.status is Status.PENDING:
            return skipped(f"waiting for {need}{where}; retry in a minute", prerequisite=need)
        return skipped(
            f"needs {need}{where}, which did not pass ({verdict.status.value})",
            hint=f"Fix {need} first (maas-lab explain {need}).",
            prerequisite=need,
        )
    return None


def evaluate(check: Check, snapshot: Snapshot, checks: Mapping[str, Check] | None = None) -> Verdict:
    """Call one check; the student's missing work becomes `fail` or `skip`, grader-side failures `error`, never `fail`."""
    try:
        return check.function(snapshot)
    except StudentWorkMissing as missing:
        return failed(str(missing), hint=missing.hint, **missing.evidence)
    except PrerequisiteMissing as waiting:
        need = waiting.check_id
        return skipped(
            f"needs {need}{_where(need, check, checks or {})}: {waiting}",
            hint=f"Fix {need} first (maas-lab explain {need}).",
            prerequisite=need,
        )
    except Unavailable as exc:  # evidence the student has not produced: the step that owns it fails elsewhere
        return skipped(str(exc), hint=exc.hint or check.hint)
    except CollectError as exc:
        return errored(str(exc), hint=exc.hint)
    except Exception as exc:  # a bug in a check must not stop the others
        return errored(
            f"internal error in {check.id}: {type(exc).__name__}: {snapshot.redact(str(exc))}",
            hint="This is a grader bug, not your fault; please report it with the output of `maas-lab --version`.",
        )


def run(
    lessons: list[int] | list[str],
    snapshot: Snapshot,
    profile: Profile,
    *,
    only: Iterable[str] | None = None,
    preflight_error: CollectError | None = None,
    deadline: float | None = None,
) -> Report:
    """Grade `lessons` (or the check ids in `only`) against `snapshot`.

    A failed preflight (cluster unreachable, credentials rejected) makes every check `error`.
    Checks from other lessons that are needed as prerequisites are evaluated but not reported.
    """
    checks = load_checks()
    wanted = list(only) if only is not None else [c.id for c in checks.values() if c.lesson in lessons]
    verdicts: dict[str, Verdict] = {}
    durations: dict[str, float] = {}
    for check in order_checks(wanted, checks):
        started = time.monotonic()
        if preflight_error is not None:
            verdict = errored(str(preflight_error), hint=preflight_error.hint)
        elif deadline is not None and started > deadline:
            verdict = errored("the run's --timeout was reached before this check ran", hint="Rerun with a larger --timeout.")
        else:
            verdict = _skip_for(check, verdicts, checks) or evaluate(check, snapshot, checks)
        verdicts[check.id] = verdict
        durations[check.id] = time.monotonic() - started

    reports = []
    shown = set(wanted)
    lesson_order = {check_id: index for index, check_id in enumerate(checks)}  # the order the lesson teaches them
    values = template_values(profile, snapshot.user_or_none)
    for number in sorted({checks[c].lesson for c in shown}, key=group_sort_key):
        results = [
            _result(checks[c], verdicts[c], profile, durations[c], snapshot, values)
            for c in sorted(shown, key=lambda c: lesson_order[c])
            if checks[c].lesson == number
        ]
        reports.append(LessonReport(number, group(number).title, results))
    return Report(
        tool_version=__version__,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        target=Target(snapshot.user_or_none, snapshot.domain_or_none, profile.name),
        lessons=reports,
        notes=list(snapshot.notes),
    )


def _result(
    check: Check, verdict: Verdict, profile: Profile, duration: float, snapshot: Snapshot, values: Mapping[str, str]
) -> CheckResult:
    max_points = profile.points.for_check(check.id, required=check.required)
    hint = None
    if verdict.status is not Status.PASS:
        hint = verdict.hint or fill(check.hint, values)
    shown = filled(check, values)
    return CheckResult(
        check=shown,
        status=verdict.status,
        message=snapshot.redact(verdict.message),
        hint=snapshot.redact(snapshot.personalise(hint)) if hint else None,
        points=max_points if verdict.passed else 0.0,
        max_points=max_points,
        evidence=snapshot.redact_evidence(dict(verdict.evidence)),
        duration=duration,
    )
