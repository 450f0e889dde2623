"""What `list` and `explain` show: the checks in lesson order, their points, titles and where the lesson teaches them.

Both commands must start fast, so nothing here needs the evidence layer or pydantic: the points come from the
profile's YAML read directly (the full validation happens when grading).
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol, cast

from maas_lab.errors import UsageError

if TYPE_CHECKING:
    from maas_lab.engine.model import Check
    from maas_lab.profile import Profile

USER_PLACEHOLDER = "<USER_NAME>"
_ACTION = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)_/api/v1/(\S+)")


def section_command(check: Check) -> str:
    """The command that shows the lesson step a check belongs to (a repository path means nothing after pipx)."""
    from maas_lab.engine.registry import LESSONS

    if check.lesson not in LESSONS:  # not taught by a lesson (the lab environment's own checks)
        return f"maas-lab explain {check.id}"
    anchor = check.lesson_ref.partition("#")[2]
    return f"maas-lab lesson {check.lesson} --section {anchor}" if anchor else f"maas-lab lesson {check.lesson}"


def fill_user(text: str, user: str | None) -> str:
    return text.replace("{user}", user or USER_PLACEHOLDER)


def readable_evidence(text: str) -> str:
    """`LiteMaaS activity POST_/api/v1/admin/usage/analytics` → `LiteMaaS activity: admin usage analytics page`."""

    def words(match: re.Match[str]) -> str:
        parts = [p.replace("-", " ") for p in match.group(2).split("/") if p and not p.startswith(":")]
        return " ".join(parts) + " page" if match.group(1) == "GET" or parts[-1:] == ["analytics"] else " ".join(parts)

    return _ACTION.sub(words, text)


class PointsOf(Protocol):
    def for_check(self, check_id: str, *, required: bool) -> float: ...


class _BuiltinPoints:
    """Points of a built-in profile, read from its YAML without pydantic (it is shipped valid; start-up stays light)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.per_check = {str(k): float(v) for k, v in raw.items()}
        self.required = self.per_check.pop("required", 2.0)
        self.bonus = self.per_check.pop("bonus", 1.0)

    def for_check(self, check_id: str, *, required: bool) -> float:
        if check_id in self.per_check:
            return self.per_check[check_id]
        return self.required if required else self.bonus


@cache
def _builtin_profile(name: str) -> dict[str, Any] | None:
    """A built-in profile's YAML, read once and without pydantic (it is shipped valid; start-up stays light)."""
    resource = resources.files("maas_lab.profiles").joinpath(f"{name}.yaml")
    if os.sep in name or not resource.is_file():
        return None
    import yaml

    # libyaml's loader when PyYAML was built with it: the pure-Python one costs `list` a noticeable share of its start
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load(resource.read_text("utf-8"), Loader=loader)
    return data


def profile_points(name_or_path: str | None) -> PointsOf:
    """A built-in profile's points cheaply; a profile file is validated in full (a bad one is exit 3, as in `check`)."""
    name = name_or_path or "ai501"
    data = _builtin_profile(name)
    if data is not None:
        return _BuiltinPoints(dict(data.get("points") or {}))
    from maas_lab.profile import load_profile

    return load_profile(name).points


class _Fields:
    """Attribute access over a built-in profile's YAML, for the course's `template_values` (which reads only fields
    the shipped profile spells out)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        value = self._data.get(name)
        if isinstance(value, dict):
            return _Fields(value)
        if isinstance(value, list):
            return [_Fields(v) if isinstance(v, dict) else v for v in value]
        return value


def template_values(name_or_path: str | None, user: str | None) -> dict[str, str]:
    """The `{placeholder}` values of titles and hints for `list` and `explain`, from the profile (a built-in one read
    cheaply, a profile file validated in full)."""
    from maas_lab.engine.registry import template_values as course_values

    name = name_or_path or "ai501"
    data = _builtin_profile(name)
    if data is None:
        from maas_lab.profile import load_profile

        return course_values(load_profile(name), user or USER_PLACEHOLDER)
    return course_values(cast("Profile", _Fields(data)), user or USER_PLACEHOLDER)


def checks_in_order(lessons: list[int | str]) -> list[Check]:
    """The checks of `lessons` (or groups such as "env") in the order the lessons teach them (and the report shows)."""
    from maas_lab.engine.registry import load_checks

    return [c for c in load_checks().values() if c.lesson in lessons]


def find_check(check_id: str) -> Check:
    from maas_lab.engine.registry import load_checks

    checks = load_checks()
    if check_id in checks:
        return checks[check_id]
    close = difflib.get_close_matches(check_id, list(checks), n=3, cutoff=0.6)
    if not close:  # `routes` for `2.routes`: match on the part after the lesson number
        names = {c.partition(".")[2]: c for c in checks}
        close = [names[n] for n in difflib.get_close_matches(check_id.partition(".")[2] or check_id, list(names), n=3, cutoff=0.6)]
    lesson_ids = [c for c in checks if c.partition(".")[0] == check_id.partition(".")[0]]
    if close:
        suggestion = f"did you mean {' or '.join(close)}? "
    elif lesson_ids:
        suggestion = f"checks of that lesson: {', '.join(lesson_ids)}; "
    else:
        suggestion = ""
    raise UsageError(f"unknown check id {check_id!r}: {suggestion}`maas-lab list` shows every id")


def explain_text(check: Check, lesson_title: str, user: str | None) -> str:
    kind = "required" if check.required else "bonus (never decides the outcome)"
    lines = [
        f"{check.id} — {fill_user(check.title, user)}",
        "",
        fill_user(check.description, user) or "",
        "",
        *(
            [f"Lesson:      {check.lesson} · {lesson_title}", f"Read it:     {section_command(check)}"]
            if isinstance(check.lesson, int)
            else [f"Part of:     {lesson_title} (maas-lab smoke)", f"Read it:     {check.lesson_ref}"]
        ),
        f"Kind:        {kind}",
        f"Evidence:    {fill_user(readable_evidence(check.evidence), user)}",
        f"Needs:       {', '.join(check.needs) or 'nothing'}",
        f"If it fails: {fill_user(check.hint, user)}",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CatalogueRow:
    id: str
    points: str
    title: str
    evidence: str
    needs: str


def render_catalogue(rows: list[CatalogueRow], *, width: int | None = None) -> str:
    """`maas-lab list`: a table when it fits the terminal (ids never wrapped), else one block a check.

    Drawn by the lesson renderer, not rich: `list` is among the commands that must start at once.
    """
    from maas_lab.lesson_text import render_table
    from maas_lab.report import terminal_width

    headers = ["id", "points", "title", "evidence", "needs"]
    cells = [[row.id, row.points, row.title, row.evidence, row.needs] for row in rows]
    return render_table(headers, cells, width=width or terminal_width())
