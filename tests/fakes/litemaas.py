"""A stateful loopback fake of the LiteMaaS v0.4.0 backend, for maas-lab's tests.

Shapes come from the responses recorded against a real LiteMaaS v0.4.0 backend: health, config (via
the reference), `/api/v1/auth/me`, `/api/v1/models`, `/api/v1/subscriptions`,
`/api/v1/admin/subscriptions`, `/api/v1/api-keys`, `/api/v1/admin/users` (JWT and admin key),
`/api/v1/admin/system/stats`, model sync, admin usage analytics, and the 401 bodies.

Not recorded; taken from the v0.4.0 backend source (routes, auth plugin, auth hooks, error handler,
RBAC service) and the reference notes:

- Auth: `authenticate` strips `Bearer `; `ltm_admin_...` keys listed in ADMIN_API_KEYS become the
  pseudo-user `{userId: "admin-api-key", roles: ["admin", "api"]}`; `sk-...` keys and anything else
  that is not a valid HS256 JWT for an *active* user answer 401 "Invalid or missing authentication
  token". Permission checks use the roles inside the JWT (role table in `ROLE_PERMISSIONS`).
  A 403 is `{"error": {"code": "FORBIDDEN", "message": "Access denied. Required permission: X",
  "statusCode": 403, "details": {"metadata": {}, "suggestion": ...}, "timestamp", "requestId"}}`
  and also writes an `AUTH_DENIED` row (resourceType SECURITY, metadata
  `{error, statusCode, method, url, userId, userRoles}`).
- Audit side effects (auth-hooks `onResponse`): every request with an authenticated user on `/api/`
  (except `/api/v1/health*` and `/api/auth/profile`) appends an `API_ACCESS` row, written after the
  response is built (a call never sees its own row): `action = "<METHOD>_<route pattern>"`,
  `userId` = JWT user or None for the admin key, `userAgent` = the request's User-Agent,
  `resourceId` None, `metadata = {statusCode, responseTime, method, url (with query),
  authenticatedAs}`. Public routes are audited only when a valid `Bearer` JWT was sent (the global
  pre-handler validates JWTs, not admin keys), except `/api/auth/login`, which is never audited.
  `users.lastLoginAt` is set to now after every authenticated response below 400 (JWT users only).
  401s from missing or bad credentials leave no row.
- `GET /api/v1/users/me/activity`: the caller's rows, newest first, `{"id", "action", "resourceType",
  "resourceId", "ipAddress", "userAgent", "metadata", "createdAt"}` + `pagination`. The response schema
  declares `metadata` as a bare object and strings without null, so the serializer sends
  `metadata: {}` and `""` for null strings (the same serializer empties `memoryUsage` in the recorded
  health body). With the admin key: 500 "Failed to get user activity".
- `GET /api/v1/admin/audit` (perm admin:audit): query `page`, `limit` (clamped to 1..100), `action`,
  `resourceType`, `userId` (a non-UUID is a database error: 500), `startDate`, `endDate`, `search`,
  `excludeResourceTypes` (comma list); newest first; items `{"id", "userId", "username", "email",
  "action", "resourceType", "resourceId", "success", "errorMessage", "metadata", "ipAddress",
  "createdAt"}` - no `userAgent`; `metadata.liteLLMKeyId` removed.
- Explicit action rows (from the services): `SUBSCRIPTION_APPROVED` has `userId` = the admin,
  resourceType SUBSCRIPTION, `resourceId` = the subscription id, metadata
  `{"oldStatus", "reason", "userId": <owner>}` (reason dropped when unset); `USER_UPDATE` has
  `userId` = the admin, resourceType USER, `resourceId` = the target user id, metadata
  `{"changes": {"roles": [...]}}`; `API_KEY_RETRIEVE_FULL` has resourceType API_KEY,
  `resourceId` = the key id, `userAgent` None and the agent in `metadata.userAgent`. Explicit rows
  carry `userAgent` None. `subscription_status_history` is not exposed by any v0.4.0 endpoint
  (`/admin/subscriptions` never fills its optional `history`).
- `GET /api/v1/admin/settings/api-key-defaults` -> `{"defaults": {maxBudget, tpmLimit, rpmLimit,
  budgetDuration, softBudget, expirationDays}, "maximums": {maxBudget, tpmLimit, rpmLimit,
  expirationDays}}` (nulls when unset); `.../user-defaults` -> `{maxBudget, tpmLimit, rpmLimit,
  "envDefaults": {...}}`. Both need perm admin:users.
- `GET /api/v1/admin/users/:id` (perm users:read; `:id` must be a UUID, else 400): fields of
  litemaas.md 5.2, undefined ones omitted, dates as JavaScript `Date.toString()`.
  `.../api-keys` and `.../subscriptions` (perm users:read) return `{"data", "pagination"}` with
  `Date.toString()` dates; `GET /api/v1/admin/api-keys?userIds=` (perm admin:usage) returns
  `{"apiKeys": [...], "total"}` and nothing without `userIds`.
- `GET /api/v1/admin/subscriptions`: filters are repeated plain keys (`statuses=a&statuses=b`, as the
  frontend sends them). Fastify's default query parser does not understand `statuses[]=a`; such keys
  are dropped and the list comes back unfiltered - the fake does the same. Ordered by
  `statusChangedAt` desc, nulls first. Unset `statusReason/statusChangedAt/statusChangedBy` are `""`.
- Self-scoped lists with the admin key: `/api/v1/api-keys` and `/api/v1/subscriptions` answer 500
  (the pseudo user id is not a UUID), `/api/v1/auth/me` 500 "Failed to get user profile".
- Dev bypass (`authenticateWithDevBypass`, on the api-keys list, the subscriptions list and key reveal):
  without `Authorization`, a browser-like request (Mozilla/Chrome/Safari/Firefox agent, not curl/wget/
  Postman, `Accept` with `application/json` or `*/*`), or one with a localhost:3000/3001 Origin or
  Referer, runs as the mock admin `550e8400-e29b-41d4-a716-446655440001`: empty lists, no audit row.
- Forbidden-for-graders endpoints behave like the real ones: `POST /api/v1/models/sync` (perm
  models:write: admin only; a body that is not a JSON object is 400), `POST /api/v1/usage/analytics`
  and `POST /api/v1/admin/usage/analytics` (perm admin:usage) answer the analytics shape (all zeros),
  `POST /api/v1/api-keys/:id/reveal` returns the key and writes `API_KEY_RETRIEVE_FULL`.
- Unknown routes: `404 {"error": {"code": "NOT_FOUND", "message": "Route <METHOD> <url> not found",
  "statusCode": 404, "details": {"suggestion": ...}, "requestId", "timestamp"}}`.

- `GET /api/v1/api-keys` items: `maxBudget`, `tpmLimit`, `rpmLimit`, `expiresAt`, `lastUsedAt`,
  `revokedAt` only when set; `budgetDuration` is `""` when unset (recorded); `currentSpend` is the
  stored `currentSpend` (live from LiteLLM in the real backend).

Not simulated: writes other than the forbidden ones above, rate limits, the OAuth callback, dev tokens.
`/api/v1/admin/users` and `/api/v1/admin/api-keys` declare their 403 body with a string `error`, so the
real serializer may mangle a 403 there; the fake sends the standard 403 body (not observed either way).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from .appserver import AppServer, AuthKind, Request, Response, json_response

SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000001"
MOCK_FRONTEND_USER_ID = "550e8400-e29b-41d4-a716-446655440001"
ADMIN_API_KEY_USER_ID = "admin-api-key"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    # `admin` short-circuits every check (rbac.service.ts); listed for completeness.
    "admin": frozenset({"*"}),
    "admin-readonly": frozenset(
        {
            "admin:users",
            "admin:usage",
            "admin:audit",
            "admin:banners:read",
            "admin:subscriptions:read",
            "users:read",
            "models:read",
            "subscriptions:read",
            "api_keys:read",
            "usage:read",
            "usage:export",
        }
    ),
    "user": frozenset(
        {
            "models:read",
            "subscriptions:read",
            "subscriptions:write",
            "subscriptions:delete",
            "api_keys:read",
            "api_keys:write",
            "api_keys:delete",
            "usage:read",
            "usage:export",
        }
    ),
    "readonly": frozenset({"models:read", "subscriptions:read", "api_keys:read", "usage:read"}),
}

_UUID = re.compile(r"^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$", re.IGNORECASE)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Routes the global pre-handler skips when it looks for a JWT (auth-hooks.ts).
_PREHANDLER_PUBLIC = (
    "/api/health",
    "/api/v1/health",
    "/api/auth/login",
    "/api/auth/callback",
    "/api/auth/mock-login",
    "/api/auth/mock-users",
    "/api/models",
    "/docs",
    "/openapi.json",
)
_AUDIT_SKIP = ("/api/health", "/api/v1/health", "/api/auth/profile")
_SUB_STATUSES = ("active", "suspended", "cancelled", "expired", "inactive", "pending", "denied")


# -- time formats -----------------------------------------------------------------------------------


def _dt(value: datetime | str | None) -> datetime | None:
    """Accept a datetime, an ISO string or a JavaScript Date.toString() string."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    match = re.match(r"^\w{3} (\w{3}) (\d{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT", text)
    if match:
        month = _MONTHS.index(match.group(1)) + 1
        day, year, hh, mm, ss = (int(match.group(i)) for i in range(2, 7))
        return datetime(year, month, day, hh, mm, ss, tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def iso_ms(value: datetime | str | None) -> str:
    """JavaScript `Date.toISOString()`: `2026-11-26T10:07:25.179Z`."""
    moment = _dt(value) or _now()
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def js_date_string(value: datetime | str | None) -> str:
    """JavaScript `Date.toString()` in a UTC container, as LiteMaaS returns some dates:
    `Thu Nov 26 2026 10:07:57 GMT+0000 (Coordinated Universal Time)`."""
    moment = (_dt(value) or _now()).astimezone(UTC)
    return (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} {moment.year} "
        f"{moment:%H:%M:%S} GMT+0000 (Coordinated Universal Time)"
    )


# -- JWT (HS256, stdlib only) -----------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_jwt(secret: str, payload: dict[str, Any]) -> str:
    """An HS256 JWT with exactly `payload` (add `iat`/`exp` yourself, or use `FakeLiteMaaS.token_for`)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}".encode("ascii")
    signature = hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(signature)}"


def decode_jwt(secret: str, token: str, *, now: float | None = None) -> dict[str, Any] | None:
    """The payload when the HS256 signature is valid and `exp` has not passed, else None."""
    try:
        header_b64, body_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        if header.get("alg") != "HS256":
            return None
        expected = hmac.new(secret.encode("utf-8"), f"{header_b64}.{body_b64}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(signature_b64)):
            return None
        payload = json.loads(_b64url_decode(body_b64))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    exp = payload.get("exp")
    if isinstance(exp, (int, float)) and (now if now is not None else time.time()) >= exp:
        return None
    return payload


# -- builders ---------------------------------------------------------------------------------------


def make_user(
    username: str,
    *,
    user_id: str | None = None,
    email: str | None = None,
    roles: list[str] | tuple[str, ...] = ("user",),
    full_name: str | None = None,
    is_active: bool = True,
    max_budget: float | None = None,
    tpm_limit: int | None = None,
    rpm_limit: int | None = None,
    current_spend: float = 0.0,
    created_at: datetime | str | None = None,
    last_login_at: datetime | str | None = None,
    sync_status: str | None = "synced",
    **extra: Any,
) -> dict[str, Any]:
    """A LiteMaaS user row (camelCase)."""
    user: dict[str, Any] = {
        "id": user_id or str(uuid.uuid4()),
        "username": username,
        "email": email or username,
        "fullName": full_name,
        "roles": list(roles),
        "isActive": is_active,
        "maxBudget": max_budget,
        "tpmLimit": tpm_limit,
        "rpmLimit": rpm_limit,
        "budgetDuration": None,
        "syncStatus": sync_status,
        "currentSpend": current_spend,
        "createdAt": _dt(created_at) or _now(),
        "lastLoginAt": _dt(last_login_at),
    }
    user.update(extra)
    return user


def system_user() -> dict[str, Any]:
    """The built-in inactive system user every LiteMaaS database holds (recorded in /admin/users)."""
    return make_user(
        "system",
        user_id=SYSTEM_USER_ID,
        email="system@litemaas.internal",
        roles=[],
        is_active=False,
        sync_status=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def make_model(
    model_id: str,
    *,
    backend_model: str | None = None,
    api_base: str | None = None,
    input_cost_per_token: float = 0.0,
    output_cost_per_token: float = 0.0,
    restricted: bool = False,
    availability: Literal["available", "unavailable"] = "available",
    provider: str = "openai",
    description: str = "",
    context_length: int = 4096,
    max_tokens: int | None = None,
    tpm: int | None = None,
    rpm: int | None = None,
    features: tuple[str, ...] = ("chat",),
    created_at: datetime | str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `/api/v1/models` item plus `availability`. Falsy optional fields are omitted and `pricing` is
    left out when both costs are 0, as the real route maps them (recorded: no `outputCostPerToken` for
    a model whose output cost is 0)."""
    created = iso_ms(created_at)
    item: dict[str, Any] = {
        "id": model_id,
        "name": model_id,
        "provider": provider,
        "description": description,
        "capabilities": list(features),
        "contextLength": context_length,
    }
    if input_cost_per_token or output_cost_per_token:
        item["pricing"] = {
            "input": input_cost_per_token,
            "output": output_cost_per_token,
            "unit": "per_1k_tokens",
        }
    item.update({"isActive": availability == "available", "createdAt": created, "updatedAt": created})
    optional = {
        "apiBase": api_base,
        "backendModelName": backend_model or model_id,
        "inputCostPerToken": input_cost_per_token or None,
        "outputCostPerToken": output_cost_per_token or None,
        "tpm": tpm,
        "rpm": rpm,
        "maxTokens": max_tokens if max_tokens is not None else context_length,
    }
    item.update({k: v for k, v in optional.items() if v})
    item.update(
        {
            "supportsVision": False,
            "supportsFunctionCalling": False,
            "supportsParallelFunctionCalling": False,
            "supportsToolChoice": False,
            "supportsChat": "chat" in features,
            "supportsEmbeddings": "embeddings" in features,
            "supportsTokenize": "tokenize" in features,
            "supportsConvert": "convert" in features,
            "restrictedAccess": restricted,
        }
    )
    item.update(extra)
    item["availability"] = availability
    return item


def make_subscription(
    user_id: str,
    model_id: str,
    *,
    status: str = "active",
    sub_id: str | None = None,
    status_reason: str | None = None,
    status_changed_at: datetime | str | None = None,
    status_changed_by: str | None = None,
    created_at: datetime | str | None = None,
    updated_at: datetime | str | None = None,
) -> dict[str, Any]:
    created = _dt(created_at) or _now()
    return {
        "id": sub_id or str(uuid.uuid4()),
        "userId": user_id,
        "modelId": model_id,
        "status": status,
        "statusReason": status_reason,
        "statusChangedAt": _dt(status_changed_at),
        "statusChangedBy": status_changed_by,
        "quotaRequests": 10000,
        "quotaTokens": 1000000,
        "usedRequests": 0,
        "usedTokens": 0,
        "createdAt": created,
        "updatedAt": _dt(updated_at) or created,
    }


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_api_key(
    user_id: str,
    name: str,
    plaintext: str,
    models: list[str],
    *,
    key_id: str | None = None,
    is_active: bool = True,
    max_budget: float | None = None,
    current_spend: float = 0.0,
    tpm_limit: int | None = None,
    rpm_limit: int | None = None,
    budget_duration: str | None = None,
    created_at: datetime | str | None = None,
    expires_at: datetime | str | None = None,
    revoked_at: datetime | str | None = None,
    alias_suffix: str | None = None,
) -> dict[str, Any]:
    """A LiteMaaS key row: `keyHash` = sha256(plaintext) = LiteLLM token, `keyPrefix` = first 7
    characters, `liteLLMKeyAlias` = `<name>_<8hex>`; `plaintext` is what reveal returns."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return {
        "id": key_id or str(uuid.uuid4()),
        "userId": user_id,
        "name": name,
        "keyPrefix": plaintext[:7],
        "keyHash": sha256_hex(plaintext),
        "plaintext": plaintext,
        "liteLLMKeyAlias": f"{clean}_{alias_suffix or secrets.token_hex(4)}",
        "models": list(models),
        "isActive": is_active,
        "maxBudget": max_budget,
        "currentSpend": current_spend,
        "tpmLimit": tpm_limit,
        "rpmLimit": rpm_limit,
        "budgetDuration": budget_duration,
        "softBudget": None,
        "maxParallelRequests": None,
        "metadata": {},
        "createdAt": _dt(created_at) or _now(),
        "expiresAt": _dt(expires_at),
        "revokedAt": _dt(revoked_at),
        "lastUsedAt": None,
    }


def make_audit(
    action: str,
    *,
    user_id: str | None,
    resource_type: str,
    resource_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    user_agent: str | None = None,
    ip_address: str | None = "127.0.0.1",
    success: bool = True,
    error_message: str | None = None,
    created_at: datetime | str | None = None,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "userId": user_id,
        "action": action,
        "resourceType": resource_type,
        "resourceId": resource_id,
        "metadata": dict(metadata or {}),
        "userAgent": user_agent,
        "ipAddress": ip_address,
        "success": success,
        "errorMessage": error_message,
        "createdAt": _dt(created_at) or _now(),
    }


def make_api_access(
    user_id: str | None,
    method: str,
    route: str,
    *,
    user_agent: str | None,
    url: str | None = None,
    status_code: int = 200,
    created_at: datetime | str | None = None,
) -> dict[str, Any]:
    """An `API_ACCESS` row as the backend writes after an authenticated call (`user_id` None means the
    admin API key)."""
    return make_audit(
        f"{method.upper()}_{route}"[:100],
        user_id=user_id,
        resource_type="API_ACCESS",
        user_agent=user_agent,
        created_at=created_at,
        metadata={
            "statusCode": status_code,
            "responseTime": 3.2,
            "method": method.upper(),
            "url": url or route,
            "authenticatedAs": user_id or ADMIN_API_KEY_USER_ID,
        },
    )


def _empty_api_key_defaults() -> dict[str, Any]:
    return {
        "defaults": {
            "maxBudget": None,
            "tpmLimit": None,
            "rpmLimit": None,
            "budgetDuration": None,
            "softBudget": None,
            "expirationDays": None,
        },
        "maximums": {"maxBudget": None, "tpmLimit": None, "rpmLimit": None, "expirationDays": None},
    }


# -- state ------------------------------------------------------------------------------------------


@dataclass
class LiteMaaSState:
    """Everything the fake backend knows. Dates may be datetimes, ISO strings or Date.toString()."""

    jwt_secret: str = "jwt-secret-test"
    admin_api_keys: list[str] = field(default_factory=lambda: ["ltm_admin_testkey"])
    users: list[dict[str, Any]] = field(default_factory=lambda: [system_user()])
    models: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    status_history: list[dict[str, Any]] = field(default_factory=list)
    api_keys: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    api_key_defaults: dict[str, Any] = field(default_factory=_empty_api_key_defaults)
    user_defaults: dict[str, Any] = field(default_factory=lambda: {"maxBudget": None, "tpmLimit": None, "rpmLimit": None})
    env_user_defaults: dict[str, Any] = field(default_factory=lambda: {"maxBudget": 100, "tpmLimit": 100000, "rpmLimit": 120})
    health: dict[str, Any] | None = None
    ready: bool = True
    oauth_issuer: str = "https://oauth-openshift.apps.cluster.example.com"
    oauth_client_id: str = "system:serviceaccount:student-maas:litemaas"
    oauth_callback_url: str = "https://litemaas-student-maas.apps.cluster.example.com/api/auth/callback"
    oauth_mock: bool = False
    version: str = "0.4.0"
    environment: Literal["production", "development"] = "production"
    litellm_api_url: str = "https://litemaas-litellm-student-maas.apps.cluster.example.com"
    dev_bypass: bool = True  # browser-like unauthenticated calls served as the mock admin

    def user_by_id(self, user_id: str | None) -> dict[str, Any] | None:
        return next((u for u in self.users if u.get("id") == user_id), None)

    def model_by_id(self, model_id: str | None) -> dict[str, Any] | None:
        return next((m for m in self.models if m.get("id") == model_id), None)

    def subscription_by_id(self, sub_id: str) -> dict[str, Any] | None:
        return next((s for s in self.subscriptions if s.get("id") == sub_id), None)

    # Helpers that reproduce what a student's admin actions leave behind.

    def approve_subscription(
        self,
        sub_id: str,
        admin_id: str,
        *,
        reason: str | None = None,
        at: datetime | str | None = None,
    ) -> None:
        """As `POST /admin/subscriptions/approve`: status active, history row, SUBSCRIPTION_APPROVED."""
        sub = self.subscription_by_id(sub_id)
        if sub is None:
            raise KeyError(sub_id)
        moment = _dt(at) or _now()
        old = sub["status"]
        sub.update(
            status="active",
            statusReason=reason,
            statusChangedAt=moment,
            statusChangedBy=admin_id,
            updatedAt=moment,
        )
        self.status_history.append(
            {
                "subscription_id": sub_id,
                "old_status": old,
                "new_status": "active",
                "reason": reason,
                "changed_by": admin_id,
                "changed_at": moment,
            }
        )
        metadata: dict[str, Any] = {"oldStatus": old, "userId": sub["userId"]}
        if reason is not None:
            metadata["reason"] = reason
        self.audit.append(
            make_audit(
                "SUBSCRIPTION_APPROVED",
                user_id=admin_id,
                resource_type="SUBSCRIPTION",
                resource_id=sub_id,
                metadata=metadata,
                ip_address=None,
                created_at=moment,
            )
        )

    def assign_roles(self, user_id: str, roles: list[str], admin_id: str, *, at: datetime | str | None = None) -> None:
        """As `PATCH /api/v1/users/:id {roles}` with a JWT: roles overwritten, USER_UPDATE row."""
        user = self.user_by_id(user_id)
        if user is None:
            raise KeyError(user_id)
        user["roles"] = list(roles)
        self.audit.append(
            make_audit(
                "USER_UPDATE",
                user_id=admin_id,
                resource_type="USER",
                resource_id=user_id,
                metadata={"changes": {"roles": list(roles)}},
                ip_address=None,
                created_at=at,
            )
        )


# -- request context and errors ---------------------------------------------------------------------


@dataclass
class _Ctx:
    request: Request
    params: dict[str, str]
    route: str | None
    request_id: str
    started: float
    user: dict[str, Any] | None = None  # {userId, username, email, roles, iat}


class _Fail(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _request_id() -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def _app_error(ctx: _Ctx, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    """An ApplicationError as the error handler sends it."""
    error: dict[str, Any] = {"code": code, "message": message, "statusCode": status}
    if details is not None:
        error["details"] = details
    error["timestamp"] = iso_ms(_now())
    error["requestId"] = ctx.request_id
    return json_response(status, {"error": error})


def _unauthorized(ctx: _Ctx, message: str) -> Response:
    return json_response(401, {"error": {"code": "UNAUTHORIZED", "message": message}, "requestId": ctx.request_id})


def _validation(ctx: _Ctx, field_name: str, message: str, keyword: str) -> Response:
    return json_response(
        400,
        {
            "error": {
                "code": "VALIDATION_ERROR",
                "message": "Request validation failed",
                "statusCode": 400,
                "details": {
                    "validation": [{"field": field_name, "message": message, "code": keyword}],
                    "suggestion": "Please check your input and try again",
                },
                "requestId": ctx.request_id,
                "timestamp": iso_ms(_now()),
            }
        },
    )


def _not_found(ctx: _Ctx, resource: str, ident: str | None = None, suggestion: str | None = None) -> Response:
    details: dict[str, Any] = {"resource": resource}
    if ident is not None:
        details["id"] = ident
    details["suggestion"] = suggestion or (f"Verify the {resource} {'ID' if ident else 'identifier'} and try again")
    message = f"{resource} with ID '{ident}' not found" if ident else f"{resource} not found"
    return _app_error(ctx, 404, "NOT_FOUND", message, details)


def _server_error(ctx: _Ctx, message: str) -> Response:
    return _app_error(ctx, 500, "INTERNAL_ERROR", message)


def _num_query(
    ctx: _Ctx,
    name: str,
    default: int,
    *,
    minimum: int = 1,
    maximum: int | None = None,
) -> int:
    """A numeric query parameter validated like Fastify's ajv (coerced, min/max checked)."""
    raw = ctx.request.arg(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _Fail(_validation(ctx, name, "must be number", "type")) from None
    if value < minimum:
        raise _Fail(_validation(ctx, name, f"must be >= {minimum}", "minimum"))
    if maximum is not None and value > maximum:
        raise _Fail(_validation(ctx, name, f"must be <= {maximum}", "maximum"))
    return int(value)


def _bool_query(ctx: _Ctx, name: str) -> bool | None:
    raw = ctx.request.arg(name)
    if raw is None:
        return None
    if raw in ("true", "false"):
        return raw == "true"
    raise _Fail(_validation(ctx, name, "must be boolean", "type"))


def _page(items: list[Any], page: int, limit: int) -> tuple[list[Any], dict[str, int]]:
    total = len(items)
    chunk = items[(page - 1) * limit : page * limit]
    return chunk, {"page": page, "limit": limit, "total": total, "totalPages": -(-total // limit)}


def _s(value: Any) -> str:
    """How the response serializer writes a string field: null becomes ""."""
    return "" if value is None else str(value)


def _sort_time(value: Any) -> float:
    moment = _dt(value)
    return moment.timestamp() if moment else 0.0


def _first_of_next_month() -> datetime:
    now = _now()
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def _form_encode(value: str) -> str:
    """URLSearchParams encoding (application/x-www-form-urlencoded): space as +, ~ escaped."""
    return quote(value, safe="*-._").replace("%20", "+").replace("~", "%7E")


# -- routes -----------------------------------------------------------------------------------------

Mode = Literal["public", "auth", "bypass"]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: str  # Fastify-style, e.g. /api/v1/admin/users/:id
    handler: str
    mode: Mode
    permission: str | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        body = re.sub(r":(\w+)", r"(?P<\1>[^/]+)", self.pattern)
        return re.compile(f"^{body}/?$")


_ROUTES: tuple[_Route, ...] = (
    _Route("GET", "/api/v1/health", "_health", "public"),
    _Route("GET", "/api/v1/health/ready", "_health_ready", "public"),
    _Route("GET", "/api/v1/health/live", "_health_live", "public"),
    _Route("GET", "/api/v1/config", "_config", "public"),
    _Route("POST", "/api/auth/login", "_login", "public"),
    _Route("GET", "/api/v1/auth/me", "_auth_me", "auth"),
    _Route("GET", "/api/v1/users", "_users", "auth", "users:read"),
    _Route("GET", "/api/v1/users/me/activity", "_my_activity", "auth"),
    _Route("GET", "/api/v1/admin/users", "_admin_users", "auth", "admin:usage"),
    _Route("GET", "/api/v1/admin/users/:id", "_admin_user", "auth", "users:read"),
    _Route("GET", "/api/v1/admin/users/:id/api-keys", "_admin_user_keys", "auth", "users:read"),
    _Route("GET", "/api/v1/admin/users/:id/subscriptions", "_admin_user_subs", "auth", "users:read"),
    _Route("GET", "/api/v1/admin/api-keys", "_admin_api_keys", "auth", "admin:usage"),
    _Route("GET", "/api/v1/admin/system/stats", "_system_stats", "auth", "admin:system"),
    _Route("GET", "/api/v1/models", "_models", "public"),
    _Route("GET", "/api/v1/subscriptions", "_subscriptions", "bypass"),
    _Route("GET", "/api/v1/admin/subscriptions", "_admin_subs", "auth", "admin:subscriptions:read"),
    _Route("GET", "/api/v1/api-keys", "_api_keys", "bypass"),
    _Route("GET", "/api/v1/admin/audit", "_admin_audit", "auth", "admin:audit"),
    _Route(
        "GET",
        "/api/v1/admin/settings/api-key-defaults",
        "_api_key_defaults",
        "auth",
        "admin:users",
    ),
    _Route("GET", "/api/v1/admin/settings/user-defaults", "_user_defaults", "auth", "admin:users"),
    _Route("POST", "/api/v1/admin/usage/analytics", "_admin_analytics", "auth", "admin:usage"),
    _Route("POST", "/api/v1/usage/analytics", "_user_analytics", "auth"),
    _Route("POST", "/api/v1/models/sync", "_models_sync", "auth", "models:write"),
    _Route("POST", "/api/v1/api-keys/:id/reveal", "_reveal", "bypass"),
)


def has_permission(roles: list[str], permission: str) -> bool:
    """RBAC as `rbac.service.ts`: admin has everything; otherwise any role listing the permission."""
    for role in roles:
        if role == "admin":
            return True
        if permission in ROLE_PERMISSIONS.get(role, frozenset()):
            return True
    return False


class FakeLiteMaaS(AppServer):
    """Loopback LiteMaaS v0.4.0 backend backed by a `LiteMaaSState`."""

    def __init__(self, state: LiteMaaSState | None = None, **server_kw: Any) -> None:
        self.state = state if state is not None else LiteMaaSState()
        self.started_at = time.monotonic()
        self._compiled = [(route, route.regex) for route in _ROUTES]
        super().__init__(**server_kw)

    def load(self, state: LiteMaaSState) -> None:
        with self._lock:
            self.state = state

    def token_for(
        self,
        user_id: str,
        roles: list[str] | None = None,
        *,
        ttl: int = 300,
        iat: int | None = None,
    ) -> str:
        """A JWT for a user of the state, like the grader mints one (roles default to the user's)."""
        user = self.state.user_by_id(user_id) or {}
        issued = int(time.time()) if iat is None else iat
        payload = {
            "userId": user_id,
            "username": user.get("username", ""),
            "email": user.get("email", ""),
            "roles": list(roles if roles is not None else user.get("roles", [])),
            "iat": issued,
            "exp": issued + ttl,
        }
        return mint_jwt(self.state.jwt_secret, payload)

    # -- auth ------------------------------------------------------------------------------------

    @staticmethod
    def _token(request: Request) -> str | None:
        header = request.header("authorization")
        if not header:
            return None
        return header[7:] if header.startswith("Bearer ") else header

    def _jwt_user(self, token: str) -> dict[str, Any] | None:
        """`tokenService.validateToken`: signature, expiry, and an active user."""
        payload = decode_jwt(self.state.jwt_secret, token)
        if payload is None:
            return None
        user = self.state.user_by_id(payload.get("userId"))
        if user is None or not user.get("isActive"):
            return None
        roles = payload.get("roles")
        return {**payload, "roles": list(roles) if isinstance(roles, list) else []}

    def _authenticate(self, token: str | None) -> dict[str, Any] | None:
        """`fastify.authenticate`: admin key, then (refused) sk- keys, then JWT."""
        if not token:
            return None
        if token.startswith("ltm_admin_"):
            if token in self.state.admin_api_keys:
                return {
                    "userId": ADMIN_API_KEY_USER_ID,
                    "username": "admin-api",
                    "email": "admin@litemaas.local",
                    "roles": ["admin", "api"],
                    "iat": int(time.time()),
                }
            return None
        if token.startswith("sk-"):
            return None  # LiteLLM keys fail LiteMaaS's own key format check (observed 401)
        return self._jwt_user(token)

    def classify_auth(self, request: Request) -> AuthKind:
        token = self._token(request)
        if token is None:
            return "none"
        user = self._authenticate(token)
        if user is None:
            return "bad"
        return "admin-key" if user["userId"] == ADMIN_API_KEY_USER_ID else "jwt"

    @staticmethod
    def _browser_bypass(request: Request) -> bool:
        origin = request.header("origin") or ""
        referer = request.header("referer") or ""
        frontends = ("localhost:3000", "localhost:3001", "127.0.0.1:3000", "127.0.0.1:3001")
        if any(f in origin or f in referer for f in frontends):
            return True
        agent = request.user_agent or ""
        accept = request.header("accept") or ""
        browser = any(b in agent for b in ("Mozilla", "Chrome", "Safari", "Firefox"))
        cli = any(c in agent for c in ("curl", "wget", "Postman"))
        return browser and not cli and ("application/json" in accept or "*/*" in accept)

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            route, params = self._match(request)
            ctx = _Ctx(
                request=request,
                params=params,
                route=route.pattern if route else None,
                request_id=_request_id(),
                started=time.monotonic(),
            )
            self._prehandler_jwt(ctx)
            try:
                response = self._run(ctx, route)
            except _Fail as fail:
                response = fail.response
            self._after_response(ctx, response)
            return response

    def _match(self, request: Request) -> tuple[_Route | None, dict[str, str]]:
        for route, regex in self._compiled:
            if route.method != request.method:
                continue
            found = regex.match(request.path)
            if found:
                return route, found.groupdict()
        return None, {}

    def _prehandler_jwt(self, ctx: _Ctx) -> None:
        """The global pre-handler: on non-public /api/ paths, a valid Bearer JWT sets the user."""
        path = ctx.request.path
        if not path.startswith("/api/") or path.startswith(_PREHANDLER_PUBLIC):
            return
        header = ctx.request.header("authorization") or ""
        if header.startswith("Bearer "):
            ctx.user = self._jwt_user(header[7:])

    def _run(self, ctx: _Ctx, route: _Route | None) -> Response:
        request = ctx.request
        if route is None:
            return json_response(
                404,
                {
                    "error": {
                        "code": "NOT_FOUND",
                        "message": f"Route {request.method} {request.url} not found",
                        "statusCode": 404,
                        "details": {"suggestion": "Please check the URL and try again"},
                        "requestId": ctx.request_id,
                        "timestamp": iso_ms(_now()),
                    }
                },
            )
        token = self._token(request)
        if route.mode == "auth":
            ctx.user = self._authenticate(token)
            if ctx.user is None:
                return _unauthorized(ctx, "Invalid or missing authentication token")
        elif route.mode == "bypass":
            if token is not None:
                ctx.user = self._authenticate(token)
                if ctx.user is None:
                    return _unauthorized(ctx, "Invalid or missing authentication token")
            elif self.state.dev_bypass and self._browser_bypass(request):
                ctx.user = {
                    "userId": MOCK_FRONTEND_USER_ID,
                    "username": "frontend",
                    "email": "frontend@litemaas.local",
                    "roles": ["admin", "user"],
                    "iat": int(time.time()),
                }
            else:
                return _unauthorized(ctx, "Authentication required")
        if route.permission is not None and ctx.user is not None:
            roles = ctx.user.get("roles", [])
            if not has_permission(roles, route.permission):
                message = f"Access denied. Required permission: {route.permission}"
                self._insert_audit(
                    ctx,
                    "AUTH_DENIED",
                    "SECURITY",
                    user_agent=request.user_agent,
                    metadata={
                        "error": message,
                        "statusCode": 403,
                        "method": request.method,
                        "url": request.url,
                        "userId": ctx.user.get("userId"),
                        "userRoles": roles,
                    },
                )
                return _app_error(
                    ctx,
                    403,
                    "FORBIDDEN",
                    message,
                    {
                        "metadata": {},
                        "suggestion": "You do not have permission to access this resource",
                    },
                )
        response: Response = getattr(self, route.handler)(ctx)
        return response

    def _insert_audit(
        self,
        ctx: _Ctx,
        action: str,
        resource_type: str,
        *,
        resource_id: str | None = None,
        user_agent: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Insert a row for the current user; like the database, refuse ids that are not users."""
        user_id = (ctx.user or {}).get("userId")
        stored_id = None if user_id == ADMIN_API_KEY_USER_ID else user_id
        if stored_id is not None and self.state.user_by_id(stored_id) is None:
            return  # foreign key violation in the real database: no row
        if user_id == ADMIN_API_KEY_USER_ID and resource_type != "API_ACCESS":
            return  # explicit rows insert the pseudo id into a UUID column and fail
        self.state.audit.append(
            make_audit(
                action,
                user_id=stored_id,
                resource_type=resource_type,
                resource_id=resource_id,
                metadata=metadata,
                user_agent=user_agent,
                ip_address=ctx.request.client_ip,
            )
        )

    def _after_response(self, ctx: _Ctx, response: Response) -> None:
        """The onResponse hooks: API_ACCESS row, then last_login_at for successful calls."""
        path = ctx.request.path
        if ctx.user is None or not path.startswith("/api/") or path.startswith(_AUDIT_SKIP):
            return
        route = ctx.route or path
        if ctx.route and path.endswith("/") and not route.endswith("/"):
            route += "/"
        user_id = ctx.user.get("userId")
        self._insert_audit(
            ctx,
            f"{ctx.request.method}_{route}"[:100],
            "API_ACCESS",
            user_agent=ctx.request.user_agent,
            metadata={
                "statusCode": response.status,
                "responseTime": round((time.monotonic() - ctx.started) * 1000, 3),
                "method": ctx.request.method,
                "url": ctx.request.url,
                "authenticatedAs": user_id,
            },
        )
        if response.status < 400:
            user = self.state.user_by_id(user_id)
            if user is not None:
                user["lastLoginAt"] = _now()

    # -- health, config, login -------------------------------------------------------------------

    def _health(self, ctx: _Ctx) -> Response:
        body: dict[str, Any] = {
            "status": "healthy",
            "timestamp": iso_ms(_now()),
            "version": "1.0.0",
            "checks": {"database": "healthy", "litellm": "healthy", "auth": "healthy"},
            "details": {
                "uptime": round(time.monotonic() - self.started_at, 6),
                "memoryUsage": {},
                "environment": self.state.environment,
                "litellmMetrics": {},
            },
        }
        for key, value in (self.state.health or {}).items():
            if isinstance(value, dict) and isinstance(body.get(key), dict):
                body[key] = {**body[key], **value}
            else:
                body[key] = value
        unhealthy = any(v != "healthy" for v in body["checks"].values())
        if unhealthy and self.state.health is not None and "status" not in self.state.health:
            body["status"] = "unhealthy"
        status = 503 if unhealthy or body.get("status") != "healthy" else 200
        return json_response(status, body)

    def _health_ready(self, ctx: _Ctx) -> Response:
        return json_response(200 if self.state.ready else 503, {"ready": self.state.ready})

    def _health_live(self, ctx: _Ctx) -> Response:
        return json_response(200, {"alive": True})

    def _config(self, ctx: _Ctx) -> Response:
        state = self.state
        return json_response(
            200,
            {
                "version": state.version,
                "usageCacheTtlMinutes": 5,
                "environment": state.environment,
                "currency": {"code": "USD", "symbol": "$", "name": "US Dollar"},
                "litellmApiUrl": state.litellm_api_url,
                "authMode": "mock" if state.oauth_mock else "oauth",
            },
        )

    def _login(self, ctx: _Ctx) -> Response:
        oauth_state = secrets.token_hex(32)
        if self.state.oauth_mock:
            return json_response(200, {"authUrl": f"/api/auth/mock-login?state={oauth_state}"})
        params = [
            ("response_type", "code"),
            ("client_id", self.state.oauth_client_id),
            ("redirect_uri", self.state.oauth_callback_url),
            ("scope", "user:info user:check-access"),
            ("state", oauth_state),
        ]
        query = "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in params)
        return json_response(200, {"authUrl": f"{self.state.oauth_issuer}/oauth/authorize?{query}"})

    # -- users -----------------------------------------------------------------------------------

    def _is_admin_key(self, ctx: _Ctx) -> bool:
        return (ctx.user or {}).get("userId") == ADMIN_API_KEY_USER_ID

    def _auth_me(self, ctx: _Ctx) -> Response:
        if self._is_admin_key(ctx):
            return _server_error(ctx, "Failed to get user profile")
        user = self.state.user_by_id((ctx.user or {}).get("userId"))
        if user is None:
            return _not_found(ctx, "User")
        return json_response(
            200,
            {
                "id": user["id"],
                "username": user["username"],
                "email": user["email"],
                "name": user.get("fullName") or user["username"],
                "roles": list(user.get("roles", [])),
            },
        )

    def _users(self, ctx: _Ctx) -> Response:
        page = _num_query(ctx, "page", 1)
        limit = _num_query(ctx, "limit", 20, maximum=100)
        search = ctx.request.arg("search")
        role = ctx.request.arg("role")
        is_active = _bool_query(ctx, "isActive")
        users = list(self.state.users)
        if search:
            needle = search.lower()
            users = [u for u in users if any(needle in str(u.get(f) or "").lower() for f in ("username", "email", "fullName"))]
        if role:
            users = [u for u in users if role in (u.get("roles") or [])]
        if is_active is not None:
            users = [u for u in users if bool(u.get("isActive")) == is_active]
        users.sort(key=lambda u: _sort_time(u.get("createdAt")), reverse=True)
        chunk, pagination = _page(users, page, limit)
        data = []
        for u in chunk:
            item: dict[str, Any] = {"id": u["id"], "username": u["username"], "email": u["email"]}
            if u.get("fullName"):
                item["fullName"] = u["fullName"]
            item["roles"] = list(u.get("roles") or [])
            item["isActive"] = bool(u.get("isActive"))
            if u.get("lastLoginAt"):
                item["lastLoginAt"] = js_date_string(u["lastLoginAt"])
            item["createdAt"] = js_date_string(u.get("createdAt"))
            data.append(item)
        return json_response(200, {"data": data, "pagination": pagination})

    def _my_activity(self, ctx: _Ctx) -> Response:
        page = _num_query(ctx, "page", 1)
        limit = _num_query(ctx, "limit", 20, maximum=100)
        if self._is_admin_key(ctx):
            return _server_error(ctx, "Failed to get user activity")
        user_id = (ctx.user or {}).get("userId")
        action = ctx.request.arg("action")
        rows = [
            (i, r)
            for i, r in enumerate(self.state.audit)
            if r.get("userId") == user_id and (not action or r.get("action") == action)
        ]
        rows.sort(key=lambda t: (_sort_time(t[1].get("createdAt")), t[0]), reverse=True)
        chunk, pagination = _page([r for _, r in rows], page, limit)
        data = [
            {
                "id": _s(r.get("id")),
                "action": _s(r.get("action")),
                "resourceType": _s(r.get("resourceType")),
                "resourceId": _s(r.get("resourceId")),
                "ipAddress": _s(r.get("ipAddress")),
                "userAgent": _s(r.get("userAgent")),
                "metadata": {},  # a bare `type: object` in the response schema serializes as {}
                "createdAt": iso_ms(r.get("createdAt")),
            }
            for r in chunk
        ]
        return json_response(200, {"data": data, "pagination": pagination})

    def _admin_users(self, ctx: _Ctx) -> Response:
        users = sorted(self.state.users, key=lambda u: str(u.get("username", "")).lower())
        items = [{"userId": u["id"], "username": u["username"], "email": u["email"]} for u in users]
        return json_response(200, {"users": items, "total": len(items)})

    def _target_user(self, ctx: _Ctx) -> dict[str, Any]:
        user_id = ctx.params["id"]
        if not _UUID.match(user_id):
            raise _Fail(_validation(ctx, "id", 'must match format "uuid"', "format"))
        user = self.state.user_by_id(user_id)
        if user is None:
            raise _Fail(_not_found(ctx, "User"))
        return user

    def _admin_user(self, ctx: _Ctx) -> Response:
        user = self._target_user(ctx)
        subs = [s for s in self.state.subscriptions if s.get("userId") == user["id"]]
        keys = [k for k in self.state.api_keys if k.get("userId") == user["id"]]
        body: dict[str, Any] = {
            "id": user["id"],
            "username": user["username"],
            "email": user["email"],
            "fullName": user.get("fullName") or None,
            "roles": list(user.get("roles") or []),
            "isActive": bool(user.get("isActive")),
            "maxBudget": user.get("maxBudget"),
            "currentSpend": float(user.get("currentSpend") or 0),
            "tpmLimit": user.get("tpmLimit"),
            "rpmLimit": user.get("rpmLimit"),
            "budgetDuration": user.get("budgetDuration") or None,
            "budgetResetAt": user.get("budgetResetAt"),
            "syncStatus": user.get("syncStatus") or None,
            "lastLoginAt": js_date_string(user["lastLoginAt"]) if user.get("lastLoginAt") else None,
            "createdAt": js_date_string(user.get("createdAt")),
            "subscriptionsCount": len(subs),
            "activeSubscriptionsCount": sum(1 for s in subs if s.get("status") == "active"),
            "apiKeysCount": len(keys),
            "activeApiKeysCount": sum(1 for k in keys if k.get("isActive")),
        }
        return json_response(200, {k: v for k, v in body.items() if v is not None})

    def _model_details(self, model_ids: list[str]) -> list[dict[str, Any]]:
        details = []
        for model_id in model_ids:
            model = self.state.model_by_id(model_id)
            if model is not None:
                details.append({"id": model["id"], "name": model.get("name", model["id"]), "provider": model.get("provider", "")})
        return details

    def _admin_user_keys(self, ctx: _Ctx) -> Response:
        page = _num_query(ctx, "page", 1)
        limit = _num_query(ctx, "limit", 20, maximum=100)
        is_active = _bool_query(ctx, "isActive")
        user = self._target_user(ctx)
        keys = [k for k in self.state.api_keys if k.get("userId") == user["id"]]
        if is_active is not None:
            keys = [k for k in keys if bool(k.get("isActive")) == is_active]
        keys.sort(key=lambda k: _sort_time(k.get("createdAt")), reverse=True)
        chunk, pagination = _page(keys, page, limit)
        data = []
        for k in chunk:
            max_budget = k.get("maxBudget")
            spend = float(k.get("currentSpend") or 0)
            item: dict[str, Any] = {
                "id": k["id"],
                "name": k.get("name") or "",
                "keyPrefix": k["keyPrefix"],
                "models": list(k.get("models") or []),
                "modelDetails": self._model_details(list(k.get("models") or [])),
                "isActive": bool(k.get("isActive")),
                "maxBudget": max_budget,
                "currentSpend": spend,
                "lastUsedAt": js_date_string(k["lastUsedAt"]) if k.get("lastUsedAt") else None,
                "createdAt": js_date_string(k.get("createdAt")),
                "expiresAt": js_date_string(k["expiresAt"]) if k.get("expiresAt") else None,
                "revokedAt": js_date_string(k["revokedAt"]) if k.get("revokedAt") else None,
                "tpmLimit": k.get("tpmLimit"),
                "rpmLimit": k.get("rpmLimit"),
                "budgetDuration": _s(k.get("budgetDuration")),
                "softBudget": k.get("softBudget") or 0,
                "budgetUtilization": (round(spend / float(max_budget) * 100) if max_budget else None),
                "maxParallelRequests": k.get("maxParallelRequests") or 0,
                "modelMaxBudget": {},
                "modelRpmLimit": {},
                "modelTpmLimit": {},
            }
            data.append({x: v for x, v in item.items() if v is not None})
        return json_response(200, {"data": data, "pagination": pagination})

    def _admin_user_subs(self, ctx: _Ctx) -> Response:
        page = _num_query(ctx, "page", 1)
        limit = _num_query(ctx, "limit", 20, maximum=100)
        status = ctx.request.arg("status")
        user = self._target_user(ctx)
        subs = [
            s
            for s in self.state.subscriptions
            if s.get("userId") == user["id"]
            and self.state.model_by_id(s.get("modelId")) is not None
            and (not status or s.get("status") == status)
        ]
        subs.sort(key=lambda s: _sort_time(s.get("createdAt")), reverse=True)
        chunk, pagination = _page(subs, page, limit)
        data = []
        for s in chunk:
            model = self.state.model_by_id(s["modelId"]) or {}
            item: dict[str, Any] = {
                "id": s["id"],
                "modelId": s["modelId"],
                "modelName": model.get("name", s["modelId"]),
                "provider": model.get("provider") or None,
                "status": s["status"],
                "statusReason": s.get("statusReason") or None,
                "createdAt": js_date_string(s.get("createdAt")),
                "statusChangedAt": (js_date_string(s["statusChangedAt"]) if s.get("statusChangedAt") else None),
            }
            data.append({x: v for x, v in item.items() if v is not None})
        return json_response(200, {"data": data, "pagination": pagination})

    def _admin_api_keys(self, ctx: _Ctx) -> Response:
        user_ids = ctx.request.args("userIds")
        for value in user_ids:
            if not _UUID.match(value):
                return _validation(ctx, "userIds/0", 'must match format "uuid"', "format")
        if not user_ids:
            return json_response(200, {"apiKeys": [], "total": 0})
        rows = []
        for k in self.state.api_keys:
            owner = self.state.user_by_id(k.get("userId"))
            if owner is None or k.get("userId") not in user_ids:
                continue
            rows.append(
                {
                    "id": k["id"],
                    "name": k.get("name") or "",
                    "keyAlias": _s(k.get("liteLLMKeyAlias")),
                    "userId": k["userId"],
                    "username": owner["username"],
                    "email": owner["email"],
                }
            )
        rows.sort(key=lambda r: (r["username"].lower(), r["name"].lower()))
        return json_response(200, {"apiKeys": rows, "total": len(rows)})

    def _system_stats(self, ctx: _Ctx) -> Response:
        state = self.state
        return json_response(
            200,
            {
                "totalUsers": len(state.users),
                "activeUsers": sum(1 for u in state.users if u.get("isActive")),
                "totalApiKeys": len(state.api_keys),
                "activeApiKeys": sum(1 for k in state.api_keys if k.get("isActive")),
                "totalModels": len(state.models),
                "availableModels": sum(1 for m in state.models if m.get("availability", "available") == "available"),
            },
        )

    # -- models ----------------------------------------------------------------------------------

    def _models(self, ctx: _Ctx) -> Response:
        page = _num_query(ctx, "page", 1)
        limit = _num_query(ctx, "limit", 20, maximum=1000)
        models = [
            {k: v for k, v in m.items() if k != "availability"}
            for m in self.state.models
            if m.get("availability", "available") == "available"
        ]
        models.sort(key=lambda m: (str(m.get("provider", "")).lower(), str(m.get("name", "")).lower()))
        search = ctx.request.arg("search")
        if search:
            needle = search.lower()
            models = [
                m
                for m in models
                if needle in str(m.get("name", "")).lower()
                or needle in str(m.get("provider", "")).lower()
                or needle in str(m.get("description", "")).lower()
            ]
        provider = ctx.request.arg("provider")
        if provider:
            models = [m for m in models if str(m.get("provider", "")).lower() == provider.lower()]
        capability = ctx.request.arg("capability")
        if capability:
            models = [m for m in models if capability in (m.get("capabilities") or [])]
        chunk, pagination = _page(models, page, limit)
        return json_response(200, {"data": chunk, "pagination": pagination})

    def _models_sync(self, ctx: _Ctx) -> Response:
        body = self._json_body(ctx)
        if not isinstance(body, dict):
            return _validation(ctx, "unknown", "must be object", "type")
        available = [m for m in self.state.models if m.get("availability", "available") == "available"]
        return json_response(
            200,
            {
                "success": True,
                "totalModels": len(available),
                "newModels": 0,
                "updatedModels": 0,
                "unavailableModels": 0,
                "errors": [],
                "syncedAt": iso_ms(_now()),
            },
        )

    def _json_body(self, ctx: _Ctx) -> Any:
        if not ctx.request.body:
            return None
        try:
            return ctx.request.json()
        except ValueError:
            raise _Fail(
                _app_error(
                    ctx,
                    400,
                    "VALIDATION_ERROR",
                    "Body is not valid JSON but content-type is set to 'application/json'",
                )
            ) from None

    # -- subscriptions ---------------------------------------------------------------------------

    def _subscriptions(self, ctx: _Ctx) -> Response:
        page = _num_query(ctx, "page", 1)
        limit = _num_query(ctx, "limit", 20, maximum=100)
        status = ctx.request.arg("status")
        if status is not None and status not in _SUB_STATUSES:
            return _validation(ctx, "status", "must be equal to one of the allowed values", "enum")
        if self._is_admin_key(ctx):
            return _server_error(ctx, 'Failed to list subscriptions: invalid input syntax for type uuid: "admin-api-key"')
        model_id = ctx.request.arg("modelId")
        user_id = (ctx.user or {}).get("userId")
        subs = [
            s
            for s in self.state.subscriptions
            if s.get("userId") == user_id
            and (not status or s.get("status") == status)
            and (not model_id or s.get("modelId") == model_id)
        ]
        subs.sort(key=lambda s: _sort_time(s.get("createdAt")), reverse=True)
        chunk, pagination = _page(subs, page, limit)
        reset_at = iso_ms(_first_of_next_month())
        data = []
        for s in chunk:
            model = self.state.model_by_id(s.get("modelId")) or {}
            quota_requests = int(s.get("quotaRequests", 10000))
            quota_tokens = int(s.get("quotaTokens", 1000000))
            used_requests = int(s.get("usedRequests", 0))
            used_tokens = int(s.get("usedTokens", 0))
            data.append(
                {
                    "id": s["id"],
                    "userId": s["userId"],
                    "modelId": s["modelId"],
                    "modelName": model.get("name", s["modelId"]),
                    "provider": _s(model.get("provider")),
                    "status": s["status"],
                    "quotaRequests": quota_requests,
                    "quotaTokens": quota_tokens,
                    "usedRequests": used_requests,
                    "usedTokens": used_tokens,
                    "remainingRequests": quota_requests - used_requests,
                    "remainingTokens": quota_tokens - used_tokens,
                    "utilizationPercent": {"requests": 0, "tokens": 0},
                    "pricing": {
                        "inputCostPerToken": model.get("inputCostPerToken", 0),
                        "outputCostPerToken": model.get("outputCostPerToken", 0),
                    },
                    "resetAt": reset_at,
                    "createdAt": iso_ms(s.get("createdAt")),
                    "updatedAt": iso_ms(s.get("updatedAt") or s.get("createdAt")),
                    "metadata": {},
                    "modelDescription": _s(model.get("description")),
                    "modelContextLength": model.get("contextLength", 0),
                    "modelSupportsVision": bool(model.get("supportsVision")),
                    "modelSupportsFunctionCalling": bool(model.get("supportsFunctionCalling")),
                    "modelSupportsParallelFunctionCalling": bool(model.get("supportsParallelFunctionCalling")),
                    "modelSupportsToolChoice": bool(model.get("supportsToolChoice")),
                }
            )
        return json_response(200, {"data": data, "pagination": pagination})

    def _admin_subs(self, ctx: _Ctx) -> Response:
        page = _num_query(ctx, "page", 1)
        limit = _num_query(ctx, "limit", 20, maximum=100)
        request = ctx.request
        # Only plain repeated keys reach the handler; `statuses[]=` is dropped by the real parser.
        statuses = request.args("statuses")
        model_ids = request.args("modelIds")
        user_ids = request.args("userIds")
        date_from = _dt(request.arg("dateFrom")) if request.arg("dateFrom") else None
        date_to = _dt(request.arg("dateTo")) if request.arg("dateTo") else None
        rows = []
        for index, s in enumerate(self.state.subscriptions):
            user = self.state.user_by_id(s.get("userId"))
            model = self.state.model_by_id(s.get("modelId"))
            if user is None or model is None:
                continue  # inner joins in the real query
            changed = _dt(s.get("statusChangedAt"))
            if statuses and s.get("status") not in statuses:
                continue
            if model_ids and s.get("modelId") not in model_ids:
                continue
            if user_ids and s.get("userId") not in user_ids:
                continue
            if date_from and (changed is None or changed < date_from):
                continue
            if date_to and (changed is None or changed > date_to):
                continue
            rows.append((index, s, user, model, changed))
        # ORDER BY status_changed_at DESC: PostgreSQL puts NULLs first.
        rows.sort(key=lambda t: (t[4] is None, t[4].timestamp() if t[4] else 0.0, -t[0]), reverse=True)
        chunk, pagination = _page(rows, page, limit)
        data = [
            {
                "id": s["id"],
                "userId": s["userId"],
                "modelId": s["modelId"],
                "status": s["status"],
                "user": {"id": user["id"], "username": user["username"], "email": user["email"]},
                "model": {
                    "id": model["id"],
                    "name": model.get("name", model["id"]),
                    "provider": model.get("provider", ""),
                    "restrictedAccess": bool(model.get("restrictedAccess")),
                },
                "createdAt": iso_ms(s.get("createdAt")),
                "updatedAt": iso_ms(s.get("updatedAt") or s.get("createdAt")),
                "statusReason": _s(s.get("statusReason")),
                "statusChangedAt": iso_ms(changed) if changed else "",
                "statusChangedBy": _s(s.get("statusChangedBy")),
            }
            for _, s, user, model, changed in chunk
        ]
        return json_response(200, {"data": data, "pagination": pagination})

    # -- api keys --------------------------------------------------------------------------------

    def _api_keys(self, ctx: _Ctx) -> Response:
        page = _num_query(ctx, "page", 1)
        limit = _num_query(ctx, "limit", 20, maximum=100)
        is_active = _bool_query(ctx, "isActive")
        if self._is_admin_key(ctx):
            return _server_error(ctx, 'Failed to list API keys: invalid input syntax for type uuid: "admin-api-key"')
        model_ids = ctx.request.args("modelIds")
        user_id = (ctx.user or {}).get("userId")
        keys = [k for k in self.state.api_keys if k.get("userId") == user_id]
        if model_ids:
            keys = [k for k in keys if set(k.get("models") or []) & set(model_ids)]
        if is_active is not None:
            keys = [k for k in keys if bool(k.get("isActive")) == is_active]
        keys.sort(key=lambda k: _sort_time(k.get("createdAt")), reverse=True)
        chunk, pagination = _page(keys, page, limit)
        data = []
        for k in chunk:
            item: dict[str, Any] = {
                "id": k["id"],
                "keyPrefix": k["keyPrefix"],
                "models": list(k.get("models") or []),
                "createdAt": iso_ms(k.get("createdAt")),
                "isActive": bool(k.get("isActive")),
                "name": k.get("name") or "",
                "modelDetails": self._model_details(list(k.get("models") or [])),
            }
            if k.get("lastUsedAt"):
                item["lastUsedAt"] = iso_ms(k["lastUsedAt"])
            if k.get("expiresAt"):
                item["expiresAt"] = iso_ms(k["expiresAt"])
            if k.get("revokedAt"):
                item["revokedAt"] = iso_ms(k["revokedAt"])
            if k.get("maxBudget") is not None:
                item["maxBudget"] = k["maxBudget"]
            item["currentSpend"] = float(k.get("currentSpend") or 0)
            if k.get("tpmLimit") is not None:
                item["tpmLimit"] = k["tpmLimit"]
            if k.get("rpmLimit") is not None:
                item["rpmLimit"] = k["rpmLimit"]
            item.update(
                {
                    "budgetDuration": _s(k.get("budgetDuration")),
                    "modelMaxBudget": {},
                    "modelRpmLimit": {},
                    "modelTpmLimit": {},
                    "metadata": dict(k.get("metadata") or {}),
                }
            )
            data.append(item)
        return json_response(200, {"data": data, "pagination": pagination})

    def _reveal(self, ctx: _Ctx) -> Response:
        """requireRecentAuth, then the key of the caller, with API_KEY_RETRIEVE_FULL."""
        request = ctx.request
        user = ctx.user or {}
        if self._is_admin_key(ctx):
            # The recent-auth check queries users by the pseudo id: a database error.
            if self.state.environment == "production":
                return _app_error(
                    ctx,
                    500,
                    "INTERNAL_ERROR",
                    "An unexpected error occurred",
                    {"suggestion": "Please try again or contact support if the problem persists"},
                )
            return _server_error(ctx, 'invalid input syntax for type uuid: "admin-api-key"')
        owner = self.state.user_by_id(user.get("userId"))
        if owner is None or not owner.get("isActive"):
            return _app_error(
                ctx,
                401,
                "UNAUTHORIZED",
                "User account is disabled",
                {"suggestion": "Please log in to access this resource"},
            )
        token_age = time.time() - float(user.get("iat") or 0)
        if token_age > 24 * 60 * 60:
            return _app_error(
                ctx,
                403,
                "FORBIDDEN",
                "Recent authentication required for this operation",
                {
                    "code": "TOKEN_TOO_OLD",
                    "tokenAge": int(token_age),
                    "maxAge": 86400,
                    "action": "Please re-authenticate to access your API keys",
                },
            )
        key_id = ctx.params["id"]
        key = next(
            (k for k in self.state.api_keys if k.get("id") == key_id and k.get("userId") == owner["id"]),
            None,
        )
        failure: Response | None = None
        if key is None:
            failure = _not_found(
                ctx,
                "API key",
                key_id,
                "API key not found or you do not have permission to access it",
            )
        elif not key.get("isActive"):
            failure = _app_error(
                ctx,
                400,
                "VALIDATION_ERROR",
                "API key is inactive",
                {"field": "isActive", "value": False},
            )
        if failure is not None:
            self._insert_audit(
                ctx,
                "API_KEY_RETRIEVE_FAILED",
                "API_KEY",
                resource_id=key_id,
                user_agent=request.user_agent,
                metadata={
                    "error": failure.body["error"]["message"],
                    "statusCode": failure.status,
                    "timestamp": iso_ms(_now()),
                    "endpoint": request.url,
                },
            )
            return failure
        assert key is not None
        retrieved = _now()
        self._insert_audit(
            ctx,
            "API_KEY_RETRIEVE_FULL",
            "API_KEY",
            resource_id=key_id,
            metadata={
                "timestamp": iso_ms(retrieved),
                "keyId": key_id,
                "keyName": key.get("name"),
                "userAgent": request.user_agent,
                "ipAddress": request.client_ip,
                "retrievalMethod": "secure_endpoint",
                "securityLevel": "enhanced",
                "endpoint": request.url,
                "method": request.method,
            },
        )
        return json_response(
            200,
            {"key": key.get("plaintext", ""), "keyType": "litellm", "retrievedAt": iso_ms(retrieved)},
            {
                "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY",
                "Cache-Control": "no-store, no-cache, must-revalidate, private",
                "Pragma": "no-cache",
            },
        )

    # -- audit -----------------------------------------------------------------------------------

    def _admin_audit(self, ctx: _Ctx) -> Response:
        request = ctx.request
        try:
            page = max(1, int(float(request.arg("page") or 1)))
            limit = min(100, max(1, int(float(request.arg("limit") or 20))))
        except ValueError:
            return _server_error(ctx, "Failed to get audit logs: invalid pagination")
        action = request.arg("action")
        resource_type = request.arg("resourceType")
        user_id = request.arg("userId")
        if user_id and not _UUID.match(user_id):
            return _server_error(ctx, f'Failed to get audit logs: invalid input syntax for type uuid: "{user_id}"')
        start = _dt(request.arg("startDate")) if request.arg("startDate") else None
        end = _dt(request.arg("endDate")) if request.arg("endDate") else None
        search = (request.arg("search") or "").lower()
        excluded = {t.strip() for t in (request.arg("excludeResourceTypes") or "").split(",") if t.strip()}
        rows = []
        for index, r in enumerate(self.state.audit):
            created = _dt(r.get("createdAt")) or _now()
            if action and r.get("action") != action:
                continue
            if resource_type and r.get("resourceType") != resource_type:
                continue
            if user_id and r.get("userId") != user_id:
                continue
            if start and created < start:
                continue
            if end and created > end:
                continue
            if excluded and r.get("resourceType") in excluded:
                continue
            if search and not (
                search in str(r.get("action") or "").lower()
                or search in str(r.get("resourceId") or "").lower()
                or search in json.dumps(r.get("metadata") or {}).lower()
            ):
                continue
            rows.append((index, created, r))
        rows.sort(key=lambda t: (t[1].timestamp(), t[0]), reverse=True)
        chunk, pagination = _page(rows, page, limit)
        data = []
        for _, created, r in chunk:
            owner = self.state.user_by_id(r.get("userId"))
            metadata = r.get("metadata")
            if isinstance(metadata, dict):
                metadata = {k: v for k, v in metadata.items() if k != "liteLLMKeyId"}
            data.append(
                {
                    "id": r.get("id"),
                    "userId": r.get("userId"),
                    "username": owner["username"] if owner else None,
                    "email": owner["email"] if owner else None,
                    "action": r.get("action"),
                    "resourceType": r.get("resourceType"),
                    "resourceId": r.get("resourceId"),
                    "success": r.get("success", True),
                    "errorMessage": r.get("errorMessage"),
                    "metadata": metadata,
                    "ipAddress": r.get("ipAddress"),
                    "createdAt": iso_ms(created),
                }
            )
        return json_response(200, {"data": data, "pagination": pagination})

    # -- settings --------------------------------------------------------------------------------

    def _api_key_defaults(self, ctx: _Ctx) -> Response:
        empty = _empty_api_key_defaults()
        stored = self.state.api_key_defaults or {}
        body = {
            "defaults": {**empty["defaults"], **(stored.get("defaults") or {})},
            "maximums": {**empty["maximums"], **(stored.get("maximums") or {})},
        }
        return json_response(200, body)

    def _user_defaults(self, ctx: _Ctx) -> Response:
        stored = {"maxBudget": None, "tpmLimit": None, "rpmLimit": None, **(self.state.user_defaults or {})}
        return json_response(200, {**stored, "envDefaults": dict(self.state.env_user_defaults)})

    # -- analytics (forbidden for graders; answered like the real one, with no usage) -------------

    def _analytics_body(self, ctx: _Ctx) -> tuple[str, str]:
        body = self._json_body(ctx)
        if not isinstance(body, dict):
            raise _Fail(_validation(ctx, "unknown", "must be object", "type"))
        for name in ("startDate", "endDate"):
            if name not in body:
                raise _Fail(_validation(ctx, "unknown", f"must have required property '{name}'", "required"))
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", str(body[name])):
                raise _Fail(_validation(ctx, name, 'must match format "date"', "format"))
        start, end = str(body["startDate"]), str(body["endDate"])
        if start > end:
            raise _Fail(
                json_response(
                    400,
                    {"error": "Start date must be before or equal to end date", "code": "INVALID_DATE_RANGE"},
                )
            )
        return start, end

    @staticmethod
    def _empty_analytics(start: str, end: str) -> dict[str, Any]:
        def trend(metric: str) -> dict[str, Any]:
            return {"metric": metric, "current": 0, "previous": 0, "percentageChange": 0, "direction": "stable"}

        return {
            "period": {"startDate": start, "endDate": end},
            "totalUsers": 0,
            "activeUsers": 0,
            "totalRequests": 0,
            "totalTokens": {"total": 0, "prompt": 0, "completion": 0},
            "totalCost": {"total": 0, "byProvider": {}, "byModel": {}, "byUser": {}},
            "successRate": 0,
            "averageLatency": 0,
            "topMetrics": {"topUser": None, "topModel": None, "topApiKey": None},
            "trends": {
                "requestsTrend": trend("requests"),
                "costTrend": trend("cost"),
                "usersTrend": trend("users"),
                "totalTokensTrend": trend("totalTokens"),
                "promptTokensTrend": trend("promptTokens"),
                "completionTokensTrend": trend("completionTokens"),
            },
            "dailyUsage": [],
            "dailyModelUsage": [],
            "topModels": [],
            "topUsers": [],
        }

    def _admin_analytics(self, ctx: _Ctx) -> Response:
        start, end = self._analytics_body(ctx)
        return json_response(200, self._empty_analytics(start, end))

    def _user_analytics(self, ctx: _Ctx) -> Response:
        start, end = self._analytics_body(ctx)
        return json_response(200, self._empty_analytics(start, end))
