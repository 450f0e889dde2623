"""Which LiteMaaS user is the student: by name or email in LiteMaaS (admin key), else through LiteLLM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maas_lab.errors import CollectError
from maas_lab.evidence.litellm import LiteLLM
from maas_lab.evidence.litemaas import LiteMaaS, StudentUser
from maas_lab.evidence.services import CredentialRejected, Unavailable


class StudentNotFound(Unavailable):
    """No LiteMaaS user matches the OpenShift user: the student never logged in."""


def find_student(litemaas: LiteMaaS, litellm: Callable[[], LiteLLM], user: str) -> StudentUser:
    """The student's LiteMaaS user (the reader then acts as them); raises StudentNotFound when they never logged in."""
    wanted = user.lower()
    if litemaas.admin_key is not None:
        try:
            rows = litemaas.users()
        except Unavailable:
            rows = None  # the admin key was refused; find the user through LiteLLM instead
        if rows is not None:
            row = _match(rows, wanted, "username", "email", lambda r: bool(r.get("isActive", True)))
            student = StudentUser(
                id=str(row["id"]),
                username=str(row.get("username") or ""),
                email=str(row.get("email") or ""),
                roles=frozenset(str(r) for r in row.get("roles") or []),
                litellm_role=None,
                source="litemaas",
            )
            litemaas.act_as(student)
            return student
    row = _match(litellm().users(), wanted, "user_alias", "user_email", lambda r: True)
    student = StudentUser(
        id=str(row["user_id"]),
        username=str(row.get("user_alias") or user),
        email=str(row.get("user_email") or ""),
        roles=None,
        litellm_role=str(row.get("user_role") or "") or None,
        source="litellm",
    )
    litemaas.act_as(student)
    if litemaas.has_jwt:
        try:
            mine = _match(litemaas.users(), wanted, "username", "email", lambda r: bool(r.get("isActive", True)))
        except (CredentialRejected, StudentNotFound):
            return student
        student = StudentUser(
            id=str(mine["id"]),
            username=student.username,
            email=student.email,
            roles=frozenset(str(r) for r in mine.get("roles") or []),
            litellm_role=student.litellm_role,
            source="litemaas",
        )
    return student


def _match(
    rows: list[dict[str, Any]], wanted: str, name_field: str, email_field: str, active: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The active user whose name is `wanted` (case-insensitive), else the one whose email is."""
    live = [r for r in rows if active(r)]
    for field in (name_field, email_field):
        found = [r for r in live if str(r.get(field) or "").lower() == wanted]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(sorted(str(r.get(name_field)) for r in found))
            raise CollectError(f"several LiteMaaS users match {wanted}: {names}")
    raise StudentNotFound(
        f"no LiteMaaS user named {wanted}",
        hint="Log in to LiteMaaS once with your OpenShift account, then rerun.",
    )
