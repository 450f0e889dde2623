"""Reads from the student's LiteMaaS backend (through the frontend Route, which proxies /api).

Two credentials, both from the deployment's backend Secret: an admin API key (`ltm_admin_…`) for admin GETs, and
a short-lived HS256 JWT minted for the student's own user (role `admin-readonly`) for self-scoped reads and as the
fallback when the admin key is refused. Only GETs, plus `POST /api/auth/login` without credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maas_lab.evidence.sensitive import Sensitive
from maas_lab.evidence.services import CredentialRejected, Fetch, Unavailable, expect_ok

if TYPE_CHECKING:
    from maas_lab.evidence.http import HttpAnswer

Getter = Callable[[str, dict[str, Any]], Any]

PAGE_SIZE = 100
JWT_LIFETIME = 300
GRADER_ROLE = "admin-readonly"  # the least LiteMaaS role that reads everything the checks need


@dataclass(frozen=True)
class StudentUser:
    """The student's LiteMaaS user. `roles` is None when only LiteLLM could be read."""

    id: str
    username: str
    email: str
    roles: frozenset[str] | None
    litellm_role: str | None
    source: str  # "litemaas" or "litellm"


def mint_jwt(secret: Sensitive, user: StudentUser, *, now: float | None = None) -> Sensitive:
    """An HS256 token like the backend's own, valid for five minutes."""
    issued = int(now if now is not None else time.time())
    payload = {
        "userId": user.id,
        "username": user.username,
        "email": user.email,
        "roles": [GRADER_ROLE],
        "iat": issued,
        "exp": issued + JWT_LIFETIME,
    }

    def encode(part: dict[str, Any]) -> bytes:
        raw = json.dumps(part, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = encode({"alg": "HS256", "typ": "JWT"}) + b"." + encode(payload)
    signature = hmac.new(secret.reveal().encode(), signing_input, hashlib.sha256).digest()
    return Sensitive((signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode())


def usable_admin_key(raw: Sensitive | None) -> Sensitive | None:
    """The first comma-separated entry that LiteMaaS would accept (prefix `ltm_admin_`)."""
    if raw is None:
        return None
    for entry in raw.reveal().split(","):
        entry = entry.strip()
        if entry.startswith("ltm_admin_") and len(entry) > len("ltm_admin_"):
            return Sensitive(entry)
    return None


class LiteMaaS:
    def __init__(
        self,
        fetch: Fetch,
        base_url: str,
        *,
        admin_key: Sensitive | None,
        jwt_secret: Sensitive | None,
        secret_name: str,
    ) -> None:
        self._fetch = fetch
        self.base_url = base_url.rstrip("/")
        self.admin_key = admin_key
        self._jwt_secret = jwt_secret
        self._secret_name = secret_name
        self._jwt: Sensitive | None = None
        self.admin_key_refused = False

    # -- credentials -------------------------------------------------------------------------------------

    def act_as(self, student: StudentUser) -> None:
        """Mint the JWT for the student's own user; needed by self-scoped reads."""
        self._jwt = mint_jwt(self._jwt_secret, student) if self._jwt_secret else None

    @property
    def has_jwt(self) -> bool:
        return self._jwt is not None

    def _jwt_get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        if self._jwt is None:
            if self._jwt_secret is None:
                raise CredentialRejected(
                    f"the JWT secret was not found in Secret {self._secret_name} (key jwt-secret)",
                    hint="Reinstall the chart with backend.auth.jwtSecret set, or fix the Secret.",
                )
            raise Unavailable("the student's LiteMaaS user is not known yet", hint="Log in to LiteMaaS once.")
        answer = self._fetch("GET", self.base_url + path, params=params, auth=("Bearer", self._jwt.reveal()))
        return expect_ok(answer, f"LiteMaaS {path}", self._jwt_rejected)

    def _jwt_rejected(self) -> CredentialRejected:
        return CredentialRejected(
            f"LiteMaaS rejected a token signed with the jwt-secret of Secret {self._secret_name} (401)",
            hint="Secret changed but pods not restarted? `oc rollout restart deployment` for the backend.",
        )

    def admin_get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """Admin reads: the admin API key first; on 401/500, once more with the student's JWT."""
        if self.admin_key is not None and not self.admin_key_refused:
            answer = self._fetch("GET", self.base_url + path, params=params, auth=("Bearer", self.admin_key.reveal()))
            if answer.status not in (401, 500):
                return expect_ok(answer, f"LiteMaaS {path}", self._jwt_rejected)
            if answer.status == 401:
                self.admin_key_refused = True
        return self._jwt_get(path, params)

    def _public_get(self, path: str, params: dict[str, Any]) -> Any:
        """Public endpoints need no credential, so none is sent."""
        return expect_ok(self._fetch("GET", self.base_url + path, params=params), f"LiteMaaS {path}", self._jwt_rejected)

    def _admin_key_get(self, path: str, params: dict[str, Any]) -> Any:
        """With the admin key only; a refused key (401/500) raises _AdminKeyRefused."""
        if self.admin_key is None or self.admin_key_refused:
            raise _AdminKeyRefused
        answer = self._fetch("GET", self.base_url + path, params=params, auth=("Bearer", self.admin_key.reveal()))
        if answer.status in (401, 500):
            self.admin_key_refused = answer.status == 401 or self.admin_key_refused
            raise _AdminKeyRefused
        return expect_ok(answer, f"LiteMaaS {path}", self._jwt_rejected)

    def _paged(self, path: str, params: dict[str, Any], get: Getter) -> list[dict[str, Any]]:
        """Every page of a LiteMaaS list (`{data, pagination: {totalPages}}`)."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            query = {**params, "page": str(page), "limit": str(PAGE_SIZE)}
            body = get(path, query)
            data = body.get("data") if isinstance(body, dict) else None
            items.extend(d for d in data or [] if isinstance(d, dict))
            pagination = body.get("pagination") if isinstance(body, dict) else None
            pages = _int((pagination if isinstance(pagination, dict) else {}).get("totalPages"), 1)
            if page >= pages or not data:
                return items
            page += 1

    # -- unauthenticated -----------------------------------------------------------------------------------

    def health(self) -> HttpAnswer:
        return self._fetch("GET", self.base_url + "/api/v1/health")

    def login(self) -> HttpAnswer:
        """`POST /api/auth/login` without credentials: returns the OAuth authorize URL, writes no audit row."""
        return self._fetch("POST", self.base_url + "/api/auth/login")

    # -- admin reads -----------------------------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        return self._paged("/api/v1/users", {}, self.admin_get)

    def admin_user(self, user_id: str) -> dict[str, Any]:
        body = self.admin_get(f"/api/v1/admin/users/{user_id}")
        return body if isinstance(body, dict) else {}

    def models(self) -> list[dict[str, Any]]:
        """Available models only (LiteMaaS lists nothing else); a public list, read without a credential."""
        return self._paged("/api/v1/models", {}, self._public_get)

    def admin_subscriptions(self, user_id: str) -> list[dict[str, Any]]:
        return self._paged("/api/v1/admin/subscriptions", {"userIds": user_id}, self.admin_get)

    def api_key_settings(self) -> dict[str, Any]:
        body = self.admin_get("/api/v1/admin/settings/api-key-defaults")
        return body if isinstance(body, dict) else {}

    def audit(self, action: str, *, user_id: str | None = None) -> list[dict[str, Any]] | None:
        """Admin audit rows of `action` (of one user, or all), every page; None without a working admin key.

        Never called with the student's JWT: that call would itself write a `GET_/api/v1/admin/audit` row.
        """
        params = {"action": action} if user_id is None else {"action": action, "userId": user_id}
        try:
            return self._paged("/api/v1/admin/audit", params, self._admin_key_get)
        except _AdminKeyRefused:
            return None

    # -- the student's own view (JWT) --------------------------------------------------------------------------

    def my_api_keys(self) -> list[dict[str, Any]]:
        return self._paged("/api/v1/api-keys", {}, self._jwt_get)

    def my_subscriptions(self) -> list[dict[str, Any]]:
        return self._paged("/api/v1/subscriptions", {}, self._jwt_get)

    def my_activity(self, action: str) -> list[dict[str, Any]]:
        """The student's own audit rows for `action`, without the rows maas-lab itself caused."""
        rows = self._paged("/api/v1/users/me/activity", {"action": action}, self._jwt_get)
        return [r for r in rows if not str(r.get("userAgent") or "").startswith("maas-lab/")]


class _AdminKeyRefused(Exception):
    """The admin key is missing or refused: the caller falls back or reports None."""


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


__all__ = ["LiteMaaS", "StudentUser", "mint_jwt", "usable_admin_key"]
