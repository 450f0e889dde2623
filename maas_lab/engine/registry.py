"""The check registry: a plain dict filled by importing the check modules the course package names."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Required, TypedDict, Unpack

from maas_lab.engine.model import Check, CheckFunction, Lesson
from maas_lab.errors import UsageError

if TYPE_CHECKING:
    from maas_lab.profile import Profile


# The package of the course being graded: it names its lessons (`LESSONS`) and its check modules (`MODULES`).
COURSE_PACKAGE = "maas_lab.lessons"


class _CourseLessons(Mapping[int, Lesson]):
    """The course's lessons, read from COURSE_PACKAGE when first asked."""

    def _lessons(self) -> Mapping[int, Lesson]:
        lessons: Mapping[int, Lesson] = importlib.import_module(COURSE_PACKAGE).LESSONS
        return lessons

    def __getitem__(self, number: int) -> Lesson:
        return self._lessons()[number]

    def __iter__(self) -> Iterator[int]:
        return iter(self._lessons())

    def __len__(self) -> int:
        return len(self._lessons())


LESSONS: Mapping[int, Lesson] = _CourseLessons()

class CheckOptions(TypedDict, total=False):
    lesson_ref: Required[str]  # the anchor of the lesson section (`step-4-install-with-helm`)
    hint: Required[str]
    evidence: Required[str]
    needs: tuple[str, ...]
    required: bool
    smoke: bool


# Registration only records (it runs at import); `load_checks` builds the Check records each time it is asked.
_REGISTERED: list[tuple[str, CheckOptions, CheckFunction]] = []


def check(check_id: str, **options: Unpack[CheckOptions]) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check: `check("2.routes", lesson_ref=…, hint=…, evidence=…)(routes)`. The function's docstring:
    first line the title students see, the rest why it matters. Points come from the profile."""

    def register(function: CheckFunction) -> CheckFunction:
        _REGISTERED.append((check_id, options, function))
        return function

    return register


def _build(check_id: str, options: CheckOptions, function: CheckFunction) -> Check:
    lesson = int(check_id.split(".", 1)[0])
    doc = (function.__doc__ or "").strip()
    title, _, description = doc.partition("\n")
    return Check(
        id=check_id,
        lesson=lesson,
        title=title.strip(),
        description=" ".join(description.split()),
        function=function,
        hint=options["hint"],
        lesson_ref=f"{LESSONS[lesson].file}#{options['lesson_ref']}",
        evidence=options["evidence"],
        needs=options.get("needs", ()),
        required=options.get("required", True),
        smoke=options.get("smoke", False),
    )


def load_checks() -> dict[str, Check]:
    """Every check of the course, in the order the lessons teach them."""
    for module in importlib.import_module(COURSE_PACKAGE).MODULES:
        importlib.import_module(module)
    checks: dict[str, Check] = {}
    for check_id, options, function in _REGISTERED:
        if check_id in checks:
            raise RuntimeError(f"duplicate check id {check_id}")
        checks[check_id] = _build(check_id, options, function)
    return checks


def id_sort_key(check_id: str) -> tuple[int, str]:
    """Check ids by lesson number, then name (`2.routes` before `10.x`, were there ten lessons)."""
    lesson, _, rest = check_id.partition(".")
    return (int(lesson) if lesson.isdigit() else 99, rest)


def parse_lessons(spec: str) -> list[int]:
    """`2`, `all`, or `2,3` → lesson numbers; anything else is a usage error."""
    if spec.strip().lower() == "all":
        return sorted(LESSONS)
    numbers: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) not in LESSONS:
            raise UsageError(f"unknown lesson {part!r}: choose 1-{max(LESSONS)} or 'all'")
        if int(part) not in numbers:
            numbers.append(int(part))
    return sorted(numbers)


def get_check(check_id: str) -> Check:
    checks = load_checks()
    if check_id not in checks:
        close = [c for c in checks if c.startswith(check_id.split(".")[0] + ".")]
        suggestion = f"; checks of that lesson: {', '.join(close)}" if close else ""
        raise UsageError(f"unknown check id {check_id!r}{suggestion}")
    return checks[check_id]


def template_values(profile: Profile, user: str | None = None) -> dict[str, str]:
    """The course's `{placeholder}` values for titles and hints, from the profile (and `{user}` when known)."""
    values: dict[str, str] = importlib.import_module(COURSE_PACKAGE).template_values(profile)
    return {**values, "user": user or "{user}"}


def fill(text: str, values: Mapping[str, str]) -> str:
    """`{placeholder}`s of a title or hint filled from `values`; text without them (or with other braces) unchanged."""
    try:
        return text.format_map(values)
    except (KeyError, IndexError, ValueError, AttributeError):
        return text


def filled(check: Check, values: Mapping[str, str]) -> Check:
    """The check as a student reads it: title, description, evidence and hint filled from `values`."""
    return dataclasses.replace(
        check,
        title=fill(check.title, values),
        description=fill(check.description, values),
        evidence=fill(check.evidence, values),
        hint=fill(check.hint, values),
    )
