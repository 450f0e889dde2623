"""The check registry: a plain dict filled by importing the check modules the course package names."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Required, TypedDict, TypeVar, Unpack

from maas_lab.engine.model import Check, CheckFunction, Lesson
from maas_lab.errors import UsageError

_Key = TypeVar("_Key", int, str)

if TYPE_CHECKING:
    from maas_lab.profile import Profile


# The package of the course being graded. It names its lessons (`LESSONS`), its check groups that are not lessons
# (`GROUPS`, such as the lab environment that `maas-lab smoke` grades) and its check modules (`MODULES`).
COURSE_PACKAGE = "maas_lab.lessons"


class _FromCourse(Mapping[_Key, Lesson]):
    """One of the course's mappings (`LESSONS`, `GROUPS`), read from COURSE_PACKAGE when first asked."""

    def __init__(self, attribute: str) -> None:
        self._attribute = attribute

    def _mapping(self) -> Mapping[_Key, Lesson]:
        mapping: Mapping[_Key, Lesson] = getattr(importlib.import_module(COURSE_PACKAGE), self._attribute)
        return mapping

    def __getitem__(self, key: _Key) -> Lesson:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[_Key]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


LESSONS: Mapping[int, Lesson] = _FromCourse[int]("LESSONS")
GROUPS: Mapping[str, Lesson] = _FromCourse[str]("GROUPS")


class CheckOptions(TypedDict, total=False):
    lesson_ref: Required[str]  # the anchor of the lesson section (`step-4-install-with-helm`)
    hint: Required[str]
    evidence: Required[str]
    needs: tuple[str, ...]
    required: bool


# Registration only records (it runs at import); `load_checks` builds the Check records each time it is asked.
_REGISTERED: list[tuple[str, CheckOptions, CheckFunction]] = []


def check(check_id: str, **options: Unpack[CheckOptions]) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check: `check("2.routes", lesson_ref=…, hint=…, evidence=…)(routes)`. The function's docstring:
    first line the title students see, the rest why it matters. Points come from the profile. An id's head is its
    lesson number, or the key of a group that is not a lesson (`env.api-server`)."""

    def register(function: CheckFunction) -> CheckFunction:
        _REGISTERED.append((check_id, options, function))
        return function

    return register


def _build(check_id: str, options: CheckOptions, function: CheckFunction) -> Check:
    head = check_id.split(".", 1)[0]
    lesson: int | str = int(head) if head.isdigit() else head
    doc = (function.__doc__ or "").strip()
    title, _, description = doc.partition("\n")
    return Check(
        id=check_id,
        lesson=lesson,
        title=title.strip(),
        description=" ".join(description.split()),
        function=function,
        hint=options["hint"],
        lesson_ref=f"{group(lesson).file}#{options['lesson_ref']}",
        evidence=options["evidence"],
        needs=options.get("needs", ()),
        required=options.get("required", True),
    )


def check_modules() -> tuple[str, ...]:
    """The modules whose import registers the course's checks: the lessons', then the other groups'."""
    modules: tuple[str, ...] = importlib.import_module(COURSE_PACKAGE).MODULES
    return modules


def load_checks() -> dict[str, Check]:
    """Every check of the course, in the order the lessons teach them (the other groups after)."""
    modules = check_modules()
    for module in modules:
        importlib.import_module(module)
    # In the course's module order, whichever module another import loaded first (`smoke` before the lessons).
    rank = {module: index for index, module in enumerate(modules)}
    checks: dict[str, Check] = {}
    for check_id, options, function in sorted(_REGISTERED, key=lambda entry: rank.get(entry[2].__module__, len(rank))):
        if check_id in checks:
            raise RuntimeError(f"duplicate check id {check_id}")
        checks[check_id] = _build(check_id, options, function)
    return checks


def group(key: int | str) -> Lesson:
    """The lesson, or the non-lesson group (`env`), that a check belongs to."""
    return LESSONS[key] if isinstance(key, int) else GROUPS[key]


def group_sort_key(key: int | str) -> tuple[int, str]:
    """Lessons in order, then the other groups by name."""
    return (key, "") if isinstance(key, int) else (99, key)


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
