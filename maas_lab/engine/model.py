"""Records that flow through the engine: what a check returns, and the report built from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maas_lab.evidence.snapshot import Snapshot


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    PENDING = "pending"
    ERROR = "error"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    COULD_NOT_GRADE = "could_not_grade"


@dataclass(frozen=True)
class Verdict:
    """What a check function returns. `hint` overrides the check's default hint."""

    status: Status
    message: str
    hint: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS


def passed(message: str, **evidence: Any) -> Verdict:
    return Verdict(Status.PASS, message, None, evidence)


def failed(message: str, hint: str | None = None, **evidence: Any) -> Verdict:
    return Verdict(Status.FAIL, message, hint, evidence)


def pending(message: str, hint: str | None = None, **evidence: Any) -> Verdict:
    return Verdict(Status.PENDING, message, hint or "The work is still converging; retry in a minute.", evidence)


def skipped(message: str, hint: str | None = None, **evidence: Any) -> Verdict:
    return Verdict(Status.SKIP, message, hint, evidence)


def errored(message: str, hint: str | None = None, **evidence: Any) -> Verdict:
    return Verdict(Status.ERROR, message, hint, evidence)


class StudentWorkMissing(Exception):
    """Raised by a check when the student's work it grades is absent or malformed: the runner reports `fail`."""

    def __init__(self, message: str, hint: str | None = None, **evidence: Any) -> None:
        super().__init__(message)
        self.hint = hint
        self.evidence = evidence


class PrerequisiteMissing(Exception):
    """Raised by a check that cannot look before `check_id` passes: the runner reports `skip`, naming that check."""

    def __init__(self, check_id: str, reason: str) -> None:
        super().__init__(reason)
        self.check_id = check_id


CheckFunction = Callable[["Snapshot"], Verdict]


@dataclass(frozen=True)
class Lesson:
    number: int | str  # a lesson number, or the key of a group that is not a lesson ("env")
    title: str
    file: str  # path of the lesson text, relative to the repository root


@dataclass(frozen=True)
class Check:
    id: str
    lesson: int | str  # a lesson number, or a group key such as "env"
    title: str
    description: str
    function: CheckFunction
    hint: str
    lesson_ref: str
    evidence: str
    needs: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class CheckResult:
    check: Check
    status: Status
    message: str
    hint: str | None
    points: float
    max_points: float
    evidence: Mapping[str, Any]
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS


@dataclass(frozen=True)
class LessonReport:
    lesson: int | str
    title: str
    checks: list[CheckResult]

    @property
    def label(self) -> str:
        """`Lesson 2`, or a group's own title (`Lab environment`)."""
        return f"Lesson {self.lesson}" if isinstance(self.lesson, int) else self.title

    @property
    def heading(self) -> str:
        """`Lesson 2 — <its title>`, or a group's own title."""
        return f"{self.label} — {self.title}" if isinstance(self.lesson, int) else self.title

    @property
    def score(self) -> float:
        return sum(r.points for r in self.checks)

    @property
    def max_score(self) -> float:
        return sum(r.max_points for r in self.checks if r.check.required)


@dataclass(frozen=True)
class Target:
    user: str | None
    cluster_domain: str | None
    profile: str


@dataclass(frozen=True)
class Report:
    tool_version: str
    generated_at: datetime
    target: Target
    lessons: list[LessonReport]
    notes: list[str] = field(default_factory=list)

    @property
    def results(self) -> list[CheckResult]:
        return [r for lesson in self.lessons for r in lesson.checks]

    @property
    def score(self) -> float:
        return sum(lesson.score for lesson in self.lessons)

    @property
    def max_score(self) -> float:
        return sum(lesson.max_score for lesson in self.lessons)

    @property
    def outcome(self) -> Outcome:
        required = [r for r in self.results if r.check.required]
        if any(r.status is Status.ERROR for r in required):
            return Outcome.COULD_NOT_GRADE
        if all(r.status is Status.PASS for r in required):
            return Outcome.PASS
        return Outcome.FAIL

    @property
    def exit_code(self) -> int:
        return {Outcome.PASS: 0, Outcome.FAIL: 1, Outcome.COULD_NOT_GRADE: 3}[self.outcome]
