"""What lessons 3–5 derive from the student's LiteMaaS keys, LiteLLM keys, spend rows and activity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from maas_lab.engine.model import Verdict, failed, passed
from maas_lab.evidence.services import CredentialRejected
from maas_lab.evidence.values import parse_time, same_number

if TYPE_CHECKING:
    from maas_lab.evidence.snapshot import Snapshot
    from maas_lab.profile import KeySpec

GRADER_AGENT_TAG = "User-Agent: maas-lab/"
SPEND_GRACE = timedelta(minutes=2)
# Spend rows are read from the day the student's oldest current key was made: older rows cannot be of these keys.
SPEND_WINDOW_WITHOUT_DATES = timedelta(days=90)
SPEND_HINT = "LiteLLM records usage every ~10 s; if you just sent requests, rerun in a minute."


def alias_prefix(name: str) -> str:
    """LiteMaaS names a LiteLLM key `<name sanitised to [A-Za-z0-9_-]>_<8 hex>`."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) + "_"


def is_alias_of(alias: str, name: str) -> bool:
    prefix = alias_prefix(name)
    return alias.startswith(prefix) and re.fullmatch(r"[0-9a-f]{8}", alias[len(prefix) :]) is not None


@dataclass(frozen=True)
class KeyMatch:
    """A LiteMaaS key and, when found, its LiteLLM twin (whose `token` is the SHA-256 of the key)."""

    litemaas: dict[str, Any]
    litellm: dict[str, Any] | None

    @property
    def token(self) -> str | None:
        return str(self.litellm.get("token")) if self.litellm and self.litellm.get("token") else None

    @property
    def label(self) -> str:
        return f"{self.litemaas.get('name')} ({self.litemaas.get('keyPrefix') or 'sk-…'})"


def litemaas_keys(snap: Snapshot) -> list[dict[str, Any]]:
    return snap.student_litemaas.my_api_keys()


def litellm_keys(snap: Snapshot) -> list[dict[str, Any]]:
    return snap.litellm.keys_of(snap.student.id)


def is_live(litellm_key: dict[str, Any], snap: Snapshot) -> bool:
    expires = parse_time(litellm_key.get("expires"))
    return not litellm_key.get("blocked") and (expires is None or expires > snap.now)


def find_keys(snap: Snapshot, spec: KeySpec) -> tuple[list[KeyMatch], list[str]]:
    """Active keys named `spec.name` that match its models (and budget); plus why the others did not."""
    wanted_models = set(spec.models)
    named = [k for k in litemaas_keys(snap) if k.get("name") == spec.name]
    problems: list[str] = []
    matches: list[KeyMatch] = []
    twins = litellm_keys(snap)
    for key in named:
        models = set(key.get("models") or [])
        if not key.get("isActive", False):
            problems.append("it is not active (revoked?)")
            continue
        if models != wanted_models:
            problems.append(f"its models are {', '.join(sorted(models)) or 'none'}, expected {', '.join(sorted(wanted_models))}")
            continue
        if spec.max_budget is not None and not same_number(key.get("maxBudget"), spec.max_budget):
            problems.append(f"its max budget is {key.get('maxBudget')}, expected {spec.max_budget:g}")
            continue
        twin = next(
            (
                t
                for t in twins
                if is_alias_of(str(t.get("key_alias") or ""), spec.name) and set(t.get("models") or []) == models
            ),
            None,
        )
        matches.append(KeyMatch(key, twin))
    return matches, problems


def student_tokens(snap: Snapshot) -> set[str]:
    return {str(k["token"]) for k in litellm_keys(snap) if k.get("token")}


def spend_window_start(snap: Snapshot) -> date:
    """The first day a spend row of the student's current keys can have: the oldest key's creation."""
    created = [parse_time(k.get("created_at")) for k in litellm_keys(snap)]
    known = [c for c in created if c is not None]
    if not known or len(known) < len(created):
        return (snap.now - SPEND_WINDOW_WITHOUT_DATES).date()
    return min(known).date()


def successful_rows(snap: Snapshot, *, tokens: set[str]) -> list[dict[str, Any]]:
    """The student's successful spend rows of `tokens`, without the grader's own."""
    if not tokens:
        return []
    rows = snap.litellm.spend_logs(snap.student.id, since=spend_window_start(snap), until=snap.now.date())
    keep = []
    for row in rows:
        if row.get("status") not in (None, "success"):
            continue
        if row.get("api_key") not in tokens:
            continue
        if any(str(tag).startswith(GRADER_AGENT_TAG) for tag in row.get("request_tags") or []):
            continue
        keep.append(row)
    return keep


def recently_created(snap: Snapshot, litellm_key: dict[str, Any] | None) -> bool:
    created = parse_time((litellm_key or {}).get("created_at"))
    return created is not None and snap.now - created < SPEND_GRACE


def student_activity(snap: Snapshot, action: str) -> list[dict[str, Any]]:
    """Audit rows of `action` written by the student (not by maas-lab).

    The student's own activity list carries each row's User-Agent, so the grader's rows can be dropped; without
    a usable JWT, the admin audit list (admin key) asked for the student's rows only, every page.
    """
    student = snap.student
    try:
        return snap.litemaas.my_activity(action)
    except CredentialRejected:
        rows = snap.litemaas.audit(action, user_id=student.id)
        if rows is None:
            raise
        return [r for r in rows if r.get("userId") == student.id]


def key_verdict(snap: Snapshot, spec: KeySpec) -> Verdict:
    """`passed` when an active key named `spec.name` matches it, else `failed` saying what differs."""
    matches, problems = find_keys(snap, spec)
    models = ", ".join(spec.models)
    if matches:
        return passed(f"active key {spec.name} with {models}", key=matches[0].label)
    if problems:
        return failed(f"key {spec.name} found, but {'; '.join(sorted(set(problems)))}")
    return failed(f"no key named {spec.name}")
