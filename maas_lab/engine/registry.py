"""The check registry: a plain dict filled by importing the lesson modules named in one place."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from maas_lab.engine.model import Check, CheckFunction
from maas_lab.errors import UsageError


@dataclass(frozen=True)
class Lesson:
    number: int | str  # a lesson number, or the key of a group that is not a lesson ("env")
    title: str
    file: str  # path of the lesson text, relative to the repository root


LESSONS: dict[int, Lesson] = {
    1: Lesson(1, "Understanding MaaS", "lessons/1-understanding-maas.md"),
    2: Lesson(2, "Deploy LiteMaaS", "lessons/2-deploy-litemaas.md"),
    3: Lesson(3, "Admin configuration", "lessons/3-admin-configuration.md"),
    4: Lesson(4, "User experience", "lessons/4-user-experience.md"),
    5: Lesson(5, "Canopy integration", "lessons/5-canopy-integration.md"),
}

# One module a lesson; importing one registers its checks.
LESSON_MODULES = (
    "maas_lab.lessons.l1_readiness",
    "maas_lab.lessons.l2_deploy",
    "maas_lab.lessons.l3_admin",
    "maas_lab.lessons.l4_user",
    "maas_lab.lessons.l5_canopy",
)

# Check groups that are not lessons, registered by their module: "env" (`maas-lab smoke`) grades the lab itself.
GROUPS: dict[str, Lesson] = {}
ENV_MODULE = "maas_lab.smoke"

CHECKS: dict[str, Check] = {}


def check(
    check_id: str,
    *,
    lesson_ref: str,
    hint: str,
    evidence: str,
    needs: tuple[str, ...] = (),
    required: bool = True,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check. The docstring's first line is the title students see; the rest says why it matters.

    `lesson_ref` is the anchor of the lesson section (`step-4-install-with-helm`); points come from the profile.
    """

    def register(function: CheckFunction) -> CheckFunction:
        if check_id in CHECKS:
            raise RuntimeError(f"duplicate check id {check_id}")
        head = check_id.split(".", 1)[0]
        lesson: int | str = int(head) if head.isdigit() else head
        doc = (function.__doc__ or "").strip()
        title, _, description = doc.partition("\n")
        CHECKS[check_id] = Check(
            id=check_id,
            lesson=lesson,
            title=title.strip(),
            description=" ".join(description.split()),
            function=function,
            hint=hint,
            lesson_ref=f"{group(lesson).file}#{lesson_ref}",
            evidence=evidence,
            needs=needs,
            required=required,
        )
        return function

    return register


def load_checks() -> dict[str, Check]:
    for module in (*LESSON_MODULES, ENV_MODULE):
        importlib.import_module(module)
    return CHECKS


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
