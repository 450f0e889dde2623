"""Shell completion (`--install-completion`): lesson numbers and check ids, cheap enough to run on every Tab.

Check ids are read from the check modules' source text, not by importing them: an import would load the
evidence layer (the Kubernetes client, httpx) for each keypress. The test holds the two in step.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from maas_lab.lessons import LESSONS, MODULES

# `check("2.routes", …)(routes)` below each function (or `@check("2.routes", …)` above it).
CHECK_ID = re.compile(r'^@?check\(\s*"([a-z0-9]+\.[a-z0-9-]+)"', re.MULTILINE)


def lesson_numbers(incomplete: str) -> list[str]:
    """`maas-lab lesson N`: the lesson numbers."""
    return [str(n) for n in sorted(LESSONS) if str(n).startswith(incomplete)]


def lessons(incomplete: str) -> list[str]:
    """`maas-lab check`: a lesson, `all`, or a comma-separated list (`2,` → `2,3`, `2,4`, …)."""
    head, comma, last = incomplete.rpartition(",")
    if comma:
        taken = set(head.split(","))
        return [f"{head},{n}" for n in lesson_numbers(last) if n not in taken]
    return [*lesson_numbers(incomplete), *(["all"] if "all".startswith(incomplete) else [])]


def list_groups(incomplete: str) -> list[str]:
    """`maas-lab list`: a lesson, `all`, or `smoke` (the lab environment's checks)."""
    return [*lessons(incomplete), *(["smoke"] if "smoke".startswith(incomplete) else [])]


def check_ids(incomplete: str) -> list[str]:
    """`maas-lab explain`: every check id (lessons' and `env.*`) starting with what was typed."""
    return [check_id for check_id in all_check_ids() if check_id.startswith(incomplete)]


def all_check_ids() -> list[str]:
    found: list[str] = []
    for module in MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        found += CHECK_ID.findall(Path(spec.origin).read_text("utf-8"))
    return found
