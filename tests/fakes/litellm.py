"""A stateful loopback fake of the LiteLLM 1.81.0 proxy, for maas-lab's tests.

Shapes come from the responses recorded against a real LiteLLM 1.81.0 (PostgreSQL, mock models), in
tests/recorded/: readiness, liveliness (a JSON *string*), `/v1/models`, `/model/info`, `/key/info`,
`/key/list` (one user's keys as full objects), `/user/info`, `/user/list`, `/spend/logs` (all rows, one
key's, one user's, a date window summarised and not), chat completions (master and virtual key) and the
chat errors (unknown key, model not on the key, budget exceeded). tests/test_fake_fidelity.py holds every
route to its recording, and `nox -s integration` compares the fake with the running proxy.

Filters, ordering and errors not recorded are taken from the LiteLLM proxy source (management endpoints,
1.8x) and the reference notes:

- `GET /key/list`: query `page` (>= 1), `size` (1..100, default 10), `user_id`, `team_id`, `key_alias`,
  `key_hash`, `organization_id`, `return_full_object`; envelope
  `{"keys", "total_count", "current_page", "total_pages"}`; ordered by `created_at` desc, then `token`
  desc. `keys` holds hashes, or full objects (the VerificationToken row as a `UserAPIKeyAuth`: `org_id`
  instead of `organization_id`, no `budget_id`, and the null `team_*`, `end_user_*`, `user_*` fields).
  A non-admin key is limited to its own user: another `user_id` answers 403 "You are not authorized to
  check another user's keys" (`type: bad_request_error`, `param: user_id`).
- `GET /user/list`: proxy admin only; query `page`, `page_size` (1..100, default 25), `role`,
  `user_ids` (comma list; a single id matches as a case-insensitive substring), `user_email`
  (case-insensitive substring); envelope `{"users", "total", "page", "page_size", "total_pages"}`;
  ordered by `created_at` desc; items are the user row plus `key_count`.
- `GET /spend/logs`: `api_key` wins over `request_id`, which wins over `user_id`; an internal user's
  `user_id` is forced to its own (but an `api_key` filter is not restricted - the real code does not
  check it). `request_id` not found answers `[null]`. With `start_date` and `end_date` (YYYY-MM-DD)
  rows are summed per day (`{"startTime": date, "spend", "users": {}, "models": {}, "<api_key>": spend}`),
  the end bound being midnight of `end_date`, and missing days up to `end_date` filled with zeros;
  with `summarize=false` as well, the window's rows themselves, newest first (recorded).
- Invalid query values answer FastAPI's 422 `{"detail": [{"type", "loc", "msg", "input", ...}]}`.
- Expired key: 400 `type: expired_key`, `param` the abbreviated key, message
  "Authentication Error - Expired Key. Key Expiry time <expiry> and current time <now>".
- A virtual key whose owner has `user_role: proxy_admin` is treated as admin on management routes
  (from code; not observed). A user row without a role counts as `internal_user`.

Simplifications (documented so tests do not rely on them): spend is written at once (the real proxy
writes spend rows every ~10 s, and the users' and keys' spend counters in a separate batch, so for a moment
the rows are there while a user's `spend` still reads 0); string costs in `litellm_params` are shown whole
(the real proxy masks long ones, "1.00**************e-07", their names containing "token"); every completion costs 10 prompt + 20 completion tokens, like LiteLLM's
`mock_response` models; RPM/TPM limits, teams and streaming are not simulated; a request body that is not
JSON answers 400 `{"error": {"message": "Invalid JSON payload: ...", "type": "bad_request_error", ...}}`
(message shape not verified); without a database (`db_connected=False`) the key/user/spend routes answer
500 and any key but the master key gets 400 `no_db_connection` "No connected db." (as the real proxy does).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from .appserver import AppServer, AuthKind, Request, Response, json_response

LITELLM_VERSION = "1.81.0"
MASTER_USER_ID = "default_user_id"
HEALTH_CHECK_KEY = "litellm-internal-health-check"
DEFAULT_TEAM_ID = "a0000000-0000-4000-8000-000000000001"  # the team LiteMaaS puts its users in (recorded)
PROMPT_TOKENS = 10
COMPLETION_TOKENS = 20

# model_info keys LiteLLM returns as null for a model that does not set them (recorded /model/info).
_MODEL_INFO_NULL_KEYS = [
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token_flex",
    "input_cost_per_token_priority",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_200k_tokens",
    "cache_read_input_token_cost",
    "cache_read_input_token_cost_above_200k_tokens",
    "cache_read_input_token_cost_flex",
    "cache_read_input_token_cost_priority",
    "cache_creation_input_token_cost_above_1hr",
    "input_cost_per_character",
    "input_cost_per_token_above_128k_tokens",
    "input_cost_per_token_above_200k_tokens",
    "input_cost_per_query",
    "input_cost_per_second",
    "input_cost_per_audio_token",
    "input_cost_per_image_token",
    "input_cost_per_token_batches",
    "output_cost_per_token_batches",
    "output_cost_per_token_flex",
    "output_cost_per_token_priority",
    "output_cost_per_audio_token",
    "output_cost_per_character",
    "output_cost_per_reasoning_token",
    "output_cost_per_token_above_128k_tokens",
    "output_cost_per_character_above_128k_tokens",
    "output_cost_per_token_above_200k_tokens",
    "output_cost_per_second",
    "output_cost_per_video_per_second",
    "output_cost_per_image",
    "output_cost_per_image_token",
    "output_vector_size",
    "citation_cost_per_token",
    "tiered_pricing",
    "mode",
    "supports_system_messages",
    "supports_response_schema",
    "supports_vision",
    "supports_function_calling",
    "supports_tool_choice",
    "supports_assistant_prefill",
    "supports_prompt_caching",
    "supports_audio_input",
    "supports_audio_output",
    "supports_pdf_input",
    "supports_embedding_image_input",
    "supports_native_streaming",
    "supports_web_search",
    "supports_url_context",
    "supports_reasoning",
    "supports_computer_use",
    "search_context_cost_per_query",
    "tpm",
    "rpm",
    "ocr_cost_per_page",
    "annotation_cost_per_page",
]

_SUPPORTED_OPENAI_PARAMS = [
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "max_completion_tokens",
    "modalities",
    "prediction",
    "n",
    "presence_penalty",
    "seed",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "function_call",
    "functions",
    "max_retries",
    "extra_headers",
    "parallel_tool_calls",
    "audio",
    "web_search_options",
    "service_tier",
    "safety_identifier",
    "response_format",
]

# Fields a `/key/list?return_full_object=true` item (a `UserAPIKeyAuth`) has beyond the VerificationToken row,
# all null for a key without team, organisation or end user (recorded: litellm-key-list-user.json).
_USER_API_KEY_AUTH_EXTRAS: dict[str, Any] = {
    "team_spend": None,
    "team_alias": None,
    "team_tpm_limit": None,
    "team_rpm_limit": None,
    "team_max_budget": None,
    "team_models": [],
    "team_blocked": False,
    "soft_budget": None,
    "team_model_aliases": None,
    "team_member": None,
    "team_metadata": None,
    "team_object_permission_id": None,
    "team_member_spend": None,
    "team_member_tpm_limit": None,
    "team_member_rpm_limit": None,
    "end_user_id": None,
    "end_user_tpm_limit": None,
    "end_user_rpm_limit": None,
    "end_user_max_budget": None,
    "organization_max_budget": None,
    "organization_tpm_limit": None,
    "organization_rpm_limit": None,
    "organization_metadata": None,
    "last_refreshed_at": None,
    "api_key": None,
    "user_role": None,
    "allowed_model_region": None,
    "parent_otel_span": None,
    "rpm_limit_per_model": None,
    "tpm_limit_per_model": None,
    "user_tpm_limit": None,
    "user_rpm_limit": None,
    "user_email": None,
    "user_spend": None,
    "user_max_budget": None,
    "request_route": None,
    "user": None,
}
# Row fields a full `/key/list` item does not carry (`organization_id` is shown as `org_id` there).
_NOT_IN_KEY_LIST = frozenset({"budget_id", "organization_id", "litellm_organization_table"})
# The fields of a `/user/list` item, in LiteLLM's order; `key_count` is added (recorded: litellm-user-list.json).
_USER_LIST_FIELDS = (
    "user_id",
    "max_budget",
    "spend",
    "model_max_budget",
    "model_spend",
    "user_email",
    "user_alias",
    "models",
    "tpm_limit",
    "rpm_limit",
    "user_role",
    "organization_memberships",
    "teams",
    "sso_user_id",
    "budget_duration",
    "budget_reset_at",
    "metadata",
    "created_at",
    "updated_at",
    "object_permission",
)


# -- helpers: time, hashing -------------------------------------------------------------------------


def hash_key(plaintext: str) -> str:
    """LiteLLM's token for a virtual key: sha256 hex of the plaintext."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def abbreviate_key(plaintext: str) -> str:
    """The masked form LiteLLM shows (`key_name`, error messages): `sk-...` + last 4 characters."""
    return f"sk-...{plaintext[-4:]}"


def _as_datetime(value: datetime | str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_z(value: datetime | str | None = None) -> str:
    """`2026-11-26T10:06:19.578000Z`: the form LiteLLM uses in spend logs and key rows."""
    return _as_datetime(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso_offset(value: Any) -> Any:
    """`/key/info` shows timestamps with `+00:00` instead of `Z` (recorded)."""
    if isinstance(value, str) and value.endswith("Z"):
        return value[:-1] + "+00:00"
    return value


# -- builders ---------------------------------------------------------------------------------------


def make_model(
    model_name: str,
    backend_model: str | None = None,
    *,
    api_base: str | None = None,
    input_cost_per_token: float = 0.0,
    output_cost_per_token: float = 0.0,
    db_model: bool = True,
    mock_response: str | None = None,
    max_tokens: int | None = 4096,
    tpm: int | None = None,
    rpm: int | None = None,
    model_id: str | None = None,
    provider: str = "openai",
    **model_info_extra: Any,
) -> dict[str, Any]:
    """A `/model/info` item. LiteMaaS-created models are `db_model: true` with
    `litellm_params.model = "openai/<backend_model>"`; costs are strings in `litellm_params` and
    numbers in `model_info` (recorded/reference)."""
    backend = backend_model or model_name
    params: dict[str, Any] = {
        "use_in_pass_through": False,
        "use_litellm_proxy": False,
        "merge_reasoning_content_in_choices": False,
        "model": f"{provider}/{backend}",
    }
    if api_base is not None:
        params["api_base"] = api_base
        params["custom_llm_provider"] = provider
    if mock_response is not None:
        params["mock_response"] = mock_response
    if db_model:
        params["input_cost_per_token"] = repr(float(input_cost_per_token))
        params["output_cost_per_token"] = repr(float(output_cost_per_token))
    if tpm is not None:
        params["tpm"] = tpm
    if rpm is not None:
        params["rpm"] = rpm
    info: dict[str, Any] = {
        "id": model_id or (uuid.uuid4().hex + uuid.uuid4().hex),
        "db_model": db_model,
        "input_cost_per_token": float(input_cost_per_token),
        "output_cost_per_token": float(output_cost_per_token),
        "max_tokens": max_tokens,
        "key": f"{provider}/{backend}",
    }
    for key in _MODEL_INFO_NULL_KEYS:
        info.setdefault(key, None)
    info["litellm_provider"] = provider
    info["tpm"] = tpm
    info["rpm"] = rpm
    info["supported_openai_params"] = list(_SUPPORTED_OPENAI_PARAMS)
    info.update(model_info_extra)
    return {"model_name": model_name, "litellm_params": params, "model_info": info}


def make_user(
    user_id: str,
    *,
    email: str | None = None,
    alias: str | None = None,
    role: str | None = "internal_user",
    max_budget: float | None = None,
    tpm_limit: int | None = None,
    rpm_limit: int | None = None,
    spend: float = 0.0,
    models: list[str] | None = None,
    teams: list[str] | None = None,
    created_at: datetime | str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A LiteLLM user row (`/user/info` `user_info`, `/user/list` item). LiteMaaS mirrors its users with
    `user_alias`/`user_email` = username and `user_role` proxy_admin or internal_user."""
    created = iso_z(created_at)
    user: dict[str, Any] = {
        "user_id": user_id,
        "user_alias": alias,
        "team_id": None,
        "sso_user_id": None,
        "organization_id": None,
        "object_permission_id": None,
        "teams": list(teams or []),
        "user_role": role,
        "max_budget": max_budget,
        "spend": spend,
        "user_email": email,
        "models": list(models or []),
        "metadata": {},
        "max_parallel_requests": None,
        "tpm_limit": tpm_limit,
        "rpm_limit": rpm_limit,
        "budget_duration": None,
        "budget_reset_at": None,
        "allowed_cache_controls": [],
        "model_spend": {},
        "model_max_budget": {},
        "created_at": created,
        "updated_at": created,
    }
    user.update(extra)
    return user


def make_key(
    plaintext: str,
    *,
    alias: str | None,
    user_id: str | None,
    models: list[str],
    **extra: Any,
) -> dict[str, Any]:
    """A virtual key as `/key/list?return_full_object=true` stores it (the VerificationToken row).

    `extra` overrides any field: `blocked=True`, `expires="2026-01-01T00:00:00Z"`, `max_budget=5.0`,
    `spend=0.1`, `metadata={...}`, `created_at=...`.
    """
    created = iso_z(extra.pop("created_at", None))
    key: dict[str, Any] = {
        "token": hash_key(plaintext),
        "key_name": abbreviate_key(plaintext),
        "key_alias": alias,
        "soft_budget_cooldown": False,
        "spend": 0.0,
        "expires": None,
        "models": list(models),
        "aliases": {},
        "config": {},
        "router_settings": {},
        "user_id": user_id,
        "team_id": None,
        "permissions": {},
        "max_parallel_requests": None,
        "metadata": {},
        "blocked": None,
        "tpm_limit": None,
        "rpm_limit": None,
        "max_budget": None,
        "budget_duration": None,
        "budget_reset_at": None,
        "allowed_cache_controls": [],
        "allowed_routes": [],
        "model_spend": {},
        "model_max_budget": {},
        "budget_id": None,
        "organization_id": None,
        "object_permission_id": None,
        "created_at": created,
        "created_by": "default_user_id",
        "updated_at": created,
        "updated_by": "default_user_id",
        "rotation_count": 0,
        "auto_rotate": False,
        "rotation_interval": None,
        "last_rotation_at": None,
        "key_rotation_at": None,
        "litellm_budget_table": None,
        "litellm_organization_table": None,
        "object_permission": None,
    }
    if "expires" in extra and extra["expires"] is not None:
        extra["expires"] = iso_z(extra["expires"])
    key.update(extra)
    return key


def litemaas_key_alias(name: str, suffix: str | None = None) -> str:
    """`<name sanitised to [A-Za-z0-9_-]>_<8 hex>`, the alias LiteMaaS gives its LiteLLM keys."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return f"{clean}_{suffix or secrets.token_hex(4)}"


def make_litemaas_key(
    plaintext: str,
    *,
    name: str,
    user_id: str,
    models: list[str],
    alias_suffix: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A key as LiteMaaS creates it in LiteLLM: alias `<name>_<8hex>`, user_id = LiteMaaS user id,
    `metadata = {"created_by": "litemaas", "model_count": N, "legacy_request": false}` (recorded)."""
    extra.setdefault(
        "metadata",
        {"created_by": "litemaas", "model_count": len(models), "legacy_request": False},
    )
    return make_key(
        plaintext,
        alias=litemaas_key_alias(name, alias_suffix),
        user_id=user_id,
        models=models,
        **extra,
    )


def make_spend_row(
    token: str,
    *,
    user_id: str,
    model_group: str,
    backend_model: str,
    status: str = "success",
    user_agent: str | None = "python-httpx/0.28",
    start: datetime | str,
    spend: float | None = None,
    prompt_tokens: int = PROMPT_TOKENS,
    completion_tokens: int = COMPLETION_TOKENS,
    input_cost_per_token: float = 0.0,
    output_cost_per_token: float = 0.0,
    key_alias: str | None = None,
    request_id: str | None = None,
    model_id: str = "",
    api_base: str = "",
    provider: str = "openai",
    request_tags: list[str] | None = None,
    duration_ms: int = 3,
) -> dict[str, Any]:
    """A `/spend/logs` row shaped like the recorded ones.

    Success rows name the deployment model `"<provider>/<backend_model>"` and the public
    `model_group`, carry `user`, tokens, cost and `request_tags` with the caller's User-Agent.
    Failure rows (a denied or failed call) carry the requested name in `model` (pass it as
    `model_group`), an empty `model_group` and `user`, zero tokens and spend, no request tags.
    """
    started = _as_datetime(start)
    ended = started + timedelta(milliseconds=duration_ms)
    if status != "success":
        return {
            "request_id": request_id or str(uuid.uuid4()),
            "call_type": "",
            "api_key": token,
            "spend": 0.0,
            "total_tokens": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "startTime": iso_z(started),
            "endTime": iso_z(started),
            "completionStartTime": iso_z(started),
            "model": model_group,
            "model_id": "",
            "model_group": "",
            "custom_llm_provider": "",
            "api_base": "",
            "user": "",
            "metadata": {
                "status": "failure",
                "batch_models": None,
                "usage_object": None,
                "user_api_key": token,
                "cost_breakdown": None,
                "error_information": {
                    "traceback": "",
                    "error_code": "",
                    "error_class": "ProxyException",
                    "llm_provider": "",
                    "error_message": "",
                },
                "applied_guardrails": None,
                "user_api_key_alias": None,
                "user_api_key_org_id": None,
                "user_api_key_team_id": None,
                "user_api_key_user_id": None,
                "guardrail_information": None,
                "model_map_information": None,
                "mcp_tool_call_metadata": None,
                "additional_usage_values": {},
                "cold_storage_object_key": None,
                "user_api_key_team_alias": None,
                "litellm_overhead_time_ms": None,
                "vector_store_request_metadata": None,
            },
            "cache_hit": "False",
            "cache_key": "Cache OFF",
            "request_tags": list(request_tags or []),
            "team_id": "",
            "organization_id": "",
            "end_user": "",
            "requester_ip_address": None,
            "messages": {},
            "response": {},
            "session_id": str(uuid.uuid4()),
            "status": "failure",
            "mcp_namespaced_tool_name": None,
            "agent_id": None,
            "proxy_server_request": {},
        }
    input_cost = prompt_tokens * input_cost_per_token
    output_cost = completion_tokens * output_cost_per_token
    cost = input_cost + output_cost if spend is None else spend
    tags = request_tags if request_tags is not None else user_agent_tags(user_agent)
    total = prompt_tokens + completion_tokens
    return {
        "request_id": request_id or f"chatcmpl-{uuid.uuid4()}",
        "call_type": "acompletion",
        "api_key": token,
        "spend": cost,
        "total_tokens": total,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "startTime": iso_z(started),
        "endTime": iso_z(ended),
        "completionStartTime": iso_z(ended - timedelta(milliseconds=1)),
        "model": f"{provider}/{backend_model}",
        "model_id": model_id,
        "model_group": model_group,
        "custom_llm_provider": provider,
        "api_base": api_base,
        "user": user_id,
        "metadata": {
            "batch_models": None,
            "usage_object": {
                "total_tokens": total,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "prompt_tokens_details": None,
                "completion_tokens_details": None,
            },
            "user_api_key": token,
            "cost_breakdown": {
                "input_cost": input_cost,
                "total_cost": cost,
                "output_cost": output_cost,
                "original_cost": cost,
                "margin_percent": 0.0,
                "discount_amount": 0.0,
                "tool_usage_cost": 0.0,
                "discount_percent": 0.0,
                "margin_fixed_amount": 0.0,
                "margin_total_amount": 0.0,
            },
            "applied_guardrails": [],
            "user_api_key_alias": key_alias,
            "user_api_key_org_id": None,
            "requester_ip_address": "",
            "user_api_key_team_id": None,
            "user_api_key_user_id": user_id,
            "guardrail_information": None,
            # The real value is the whole model-cost map entry; a small subset is enough here.
            "model_map_information": {
                "model_map_key": model_group,
                "model_map_value": {
                    "key": f"{provider}/{backend_model}",
                    "input_cost_per_token": input_cost_per_token,
                    "output_cost_per_token": output_cost_per_token,
                    "litellm_provider": provider,
                },
            },
            "mcp_tool_call_metadata": None,
            "additional_usage_values": {
                "prompt_tokens_details": None,
                "completion_tokens_details": None,
            },
            "cold_storage_object_key": None,
            "user_api_key_team_alias": None,
            "litellm_overhead_time_ms": None,
            "vector_store_request_metadata": None,
        },
        "cache_hit": "None",
        "cache_key": "Cache OFF",
        "request_tags": list(tags),
        "team_id": "",
        "organization_id": "",
        "end_user": "",
        "requester_ip_address": "",
        "messages": {},
        "response": {},
        "session_id": str(uuid.uuid4()),
        "status": "success",
        "mcp_namespaced_tool_name": None,
        "agent_id": None,
        "proxy_server_request": {},
    }


def user_agent_tags(user_agent: str | None) -> list[str]:
    """LiteLLM tags a call with `User-Agent: <product>` and `User-Agent: <full agent>` (recorded:
    `["User-Agent: curl", "User-Agent: curl/7.88.1"]`)."""
    if not user_agent:
        return []
    tags = [f"User-Agent: {user_agent.split('/')[0]}", f"User-Agent: {user_agent}"]
    return list(dict.fromkeys(tags))


# -- state ------------------------------------------------------------------------------------------


@dataclass
class LiteLLMState:
    """Everything the fake proxy knows; mutate it directly or replace it with `FakeLiteLLM.load`."""

    master_key: str = "sk-master-test"
    db_connected: bool = True
    models: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)
    spend_logs: list[dict[str, Any]] = field(default_factory=list)
    version: str = LITELLM_VERSION

    def key_by_token(self, token: str) -> dict[str, Any] | None:
        return next((k for k in self.keys if k.get("token") == token), None)

    def user_by_id(self, user_id: str | None) -> dict[str, Any] | None:
        return next((u for u in self.users if u.get("user_id") == user_id), None)

    def model_by_name(self, name: str) -> dict[str, Any] | None:
        return next((m for m in self.models if m.get("model_name") == name), None)


@dataclass
class _Caller:
    """Who is calling: the master key, or a virtual key (and its owner's role)."""

    kind: AuthKind
    token: str  # sha256 of the presented key
    plaintext: str
    key: dict[str, Any] | None = None
    role: str = "proxy_admin"

    @property
    def is_admin(self) -> bool:
        return self.role == "proxy_admin"

    @property
    def user_id(self) -> str | None:
        return MASTER_USER_ID if self.key is None else self.key.get("user_id")


class _Fail(Exception):
    """A LiteLLM error response, raised from deep inside a handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _proxy_error(status: int, message: str, type_: str | None, param: str | None = "None") -> Response:
    return json_response(status, {"error": {"message": message, "type": type_, "param": param, "code": str(status)}})


def _validation_422(loc: str, type_: str, msg: str, value: str, ctx: dict[str, Any] | None = None) -> Response:
    item: dict[str, Any] = {"type": type_, "loc": ["query", loc], "msg": msg, "input": value}
    if ctx:
        item["ctx"] = ctx
    return json_response(422, {"detail": [item]})


_TRUE = {"1", "true", "on", "yes", "t", "y"}
_FALSE = {"0", "false", "off", "no", "f", "n"}


def _int_arg(request: Request, name: str, default: int, ge: int | None = None, le: int | None = None) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Fail(
            _validation_422(
                name,
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
                raw,
            )
        ) from None
    if ge is not None and value < ge:
        raise _Fail(
            _validation_422(
                name,
                "greater_than_equal",
                f"Input should be greater than or equal to {ge}",
                raw,
                {"ge": ge},
            )
        )
    if le is not None and value > le:
        raise _Fail(
            _validation_422(
                name,
                "less_than_equal",
                f"Input should be less than or equal to {le}",
                raw,
                {"le": le},
            )
        )
    return value


def _bool_arg(request: Request, name: str) -> bool:
    raw = request.arg(name)
    if raw is None:
        return False
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise _Fail(_validation_422(name, "bool_parsing", "Input should be a valid boolean, unable to interpret input", raw))


def _parse_day(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%d")


def _row_start(row: dict[str, Any]) -> datetime:
    return _as_datetime(str(row.get("startTime"))).astimezone(UTC).replace(tzinfo=None)


# -- the fake ---------------------------------------------------------------------------------------


class FakeLiteLLM(AppServer):
    """Loopback LiteLLM 1.81.0 proxy backed by a `LiteLLMState`."""

    def __init__(self, state: LiteLLMState | None = None, **server_kw: Any) -> None:
        self.state = state if state is not None else LiteLLMState()
        self.started_at = datetime.now(UTC)
        super().__init__(**server_kw)

    def load(self, state: LiteLLMState) -> None:
        """Replace the whole state (between requests)."""
        with self._lock:
            self.state = state

    # -- auth ------------------------------------------------------------------------------------

    @staticmethod
    def presented_key(request: Request) -> str:
        """The key as LiteLLM reads it: `x-litellm-api-key` (with or without `Bearer `) wins over
        `Authorization`, which only counts with the `Bearer ` prefix."""
        custom = request.header("x-litellm-api-key")
        if custom:
            return custom[7:].strip() if custom.lower().startswith("bearer ") else custom.strip()
        auth = request.header("authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return ""

    def classify_auth(self, request: Request) -> AuthKind:
        key = self.presented_key(request)
        if not key:
            return "none"
        state = self.state
        if key == state.master_key:
            return "master"
        if state.db_connected and state.key_by_token(hash_key(key)) is not None:
            return "virtual-key"
        return "bad"

    def _caller(self, request: Request) -> _Caller:
        """Resolve the key or raise the error LiteLLM answers (no key, not sk-, unknown)."""
        state = self.state
        key = self.presented_key(request)
        if not key:
            raise _Fail(_proxy_error(401, "Authentication Error, No api key passed in.", "auth_error"))
        if key == state.master_key:
            return _Caller("master", hash_key(key), key)
        if not key.startswith("sk-"):
            raise _Fail(
                _proxy_error(
                    401,
                    f"Authentication Error, LiteLLM Virtual Key expected. Received={key}, expected to start with 'sk-'.",
                    "auth_error",
                )
            )
        if not state.db_connected:
            # Not an auth error: LiteLLM cannot look the key up (seen live: `nox -s integration`, no-DB proxy).
            raise _Fail(_proxy_error(400, "No connected db.", "no_db_connection"))
        token = hash_key(key)
        row = state.key_by_token(token)
        if row is None:
            raise _Fail(
                _proxy_error(
                    401,
                    "Authentication Error, Invalid proxy server token passed. Received API Key = "
                    f"{abbreviate_key(key)}, Key Hash (Token) ={token}. Unable to find token in "
                    "cache or `LiteLLM_VerificationTokenTable`",
                    "token_not_found_in_db",
                    "key",
                )
            )
        owner = state.user_by_id(row.get("user_id"))
        role = (owner or {}).get("user_role") or "internal_user"
        return _Caller("virtual-key", token, key, row, role)

    @staticmethod
    def _require_admin(caller: _Caller, route: str) -> None:
        if not caller.is_admin:
            raise _Fail(
                _proxy_error(
                    401,
                    "Authentication Error, Only proxy admin can be used to generate, delete, update "
                    f"info for new keys/users/teams. Route={route}. Your role={caller.role}. "
                    f"Your user_id={caller.user_id}",
                    "auth_error",
                )
            )

    def _require_db(self) -> None:
        if not self.state.db_connected:
            raise _Fail(
                _proxy_error(
                    500,
                    "{'error': 'DB not connected. See https://docs.litellm.ai/docs/proxy/virtual_keys'}",
                    "internal_server_error",
                )
            )

    # -- dispatch --------------------------------------------------------------------------------

    _ROUTES: ClassVar[dict[str, dict[str, str]]] = {
        "/health/liveliness": {"GET": "_liveliness"},
        "/health/liveness": {"GET": "_liveliness"},
        "/health/readiness": {"GET": "_readiness"},
        "/health": {"GET": "_health"},
        "/v1/models": {"GET": "_models"},
        "/models": {"GET": "_models"},
        "/model/info": {"GET": "_model_info"},
        "/v1/model/info": {"GET": "_model_info"},
        "/key/info": {"GET": "_key_info"},
        "/key/list": {"GET": "_key_list"},
        "/user/info": {"GET": "_user_info"},
        "/user/list": {"GET": "_user_list"},
        "/spend/logs": {"GET": "_spend_logs"},
        "/v1/chat/completions": {"POST": "_chat"},
        "/chat/completions": {"POST": "_chat"},
    }

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        methods = self._ROUTES.get(path)
        if methods is None:
            return json_response(404, {"detail": "Not Found"})
        name = methods.get(request.method)
        if name is None:
            return json_response(405, {"detail": "Method Not Allowed"})
        with self._lock:
            try:
                response: Response = getattr(self, name)(request)
                return response
            except _Fail as fail:
                return fail.response

    # -- health ----------------------------------------------------------------------------------

    def _liveliness(self, request: Request) -> Response:
        return json_response(200, "I'm alive!")

    def _readiness(self, request: Request) -> Response:
        connected = self.state.db_connected
        return json_response(
            200,
            {
                "status": "connected" if connected else "healthy",
                "db": "connected" if connected else "Not connected",
                "cache": None,
                "litellm_version": self.state.version,
                "success_callbacks": ["sync_deployment_callback_on_success"],
                "use_aiohttp_transport": True,
                "last_updated": self.started_at.replace(tzinfo=None).isoformat(),
            },
        )

    def _health(self, request: Request) -> Response:
        """Like the real one: probes every model with a billed completion (spend rows with
        `api_key: litellm-internal-health-check`). Graders must never call it."""
        self._caller(request)
        healthy = []
        for model in self.state.models:
            params = model.get("litellm_params", {})
            info = model.get("model_info", {})
            healthy.append(
                {
                    "model": params.get("model"),
                    **({"api_base": params["api_base"]} if params.get("api_base") else {}),
                }
            )
            self.state.spend_logs.append(
                make_spend_row(
                    HEALTH_CHECK_KEY,
                    user_id=MASTER_USER_ID,
                    model_group=model["model_name"],
                    backend_model=str(params.get("model", "")).split("/", 1)[-1],
                    user_agent=None,
                    start=datetime.now(UTC),
                    input_cost_per_token=float(info.get("input_cost_per_token") or 0.0),
                    output_cost_per_token=float(info.get("output_cost_per_token") or 0.0),
                    model_id=str(info.get("id", "")),
                    api_base=str(params.get("api_base", "")),
                )
            )
        return json_response(
            200,
            {
                "healthy_endpoints": healthy,
                "unhealthy_endpoints": [],
                "healthy_count": len(healthy),
                "unhealthy_count": 0,
            },
        )

    # -- models ----------------------------------------------------------------------------------

    def _visible_models(self, caller: _Caller) -> list[dict[str, Any]]:
        """A virtual key sees its own models; a key whose `models` is [] sees all (recorded)."""
        models = self.state.models
        if caller.key is None:
            return list(models)
        allowed = caller.key.get("models") or []
        if not allowed or "all-proxy-models" in allowed:
            return list(models)
        return [m for m in models if m.get("model_name") in allowed]

    def _models(self, request: Request) -> Response:
        caller = self._caller(request)
        data = [
            {"id": m["model_name"], "object": "model", "created": 1677610602, "owned_by": "openai"}
            for m in self._visible_models(caller)
        ]
        return json_response(200, {"data": data, "object": "list"})

    def _model_info(self, request: Request) -> Response:
        caller = self._caller(request)
        return json_response(200, {"data": self._visible_models(caller)})

    # -- keys ------------------------------------------------------------------------------------

    @staticmethod
    def _info_view(key: dict[str, Any]) -> dict[str, Any]:
        info = {k: _iso_offset(v) if k.endswith("_at") else v for k, v in key.items()}
        info.pop("token", None)
        return info

    def _key_info(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_db()
        asked = request.arg("key")
        not_found = _proxy_error(404, "Key not found in database", "not_found_error", "key")
        if asked is None:
            if caller.key is None:
                return not_found
            return json_response(200, {"key": caller.token, "info": self._info_view(caller.key)})
        token = hash_key(asked) if asked.startswith("sk-") else asked
        row = self.state.key_by_token(token)
        if row is None:
            return not_found
        if not caller.is_admin and row.get("user_id") != caller.user_id:
            return not_found  # observed: another key answers the same 404
        return json_response(200, {"key": asked, "info": self._info_view(row)})

    @staticmethod
    def _full_key_view(key: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in key.items() if k not in _NOT_IN_KEY_LIST}
        view["org_id"] = key.get("organization_id")
        return {**view, **{x: v for x, v in _USER_API_KEY_AUTH_EXTRAS.items() if x not in view}}

    def _key_list(self, request: Request) -> Response:
        caller = self._caller(request)
        page = _int_arg(request, "page", 1, ge=1)
        size = _int_arg(request, "size", 10, ge=1, le=100)
        full = _bool_arg(request, "return_full_object")
        self._require_db()
        user_id = request.arg("user_id")
        team_id = request.arg("team_id")
        key_alias = request.arg("key_alias")
        key_hash = request.arg("key_hash")
        organization_id = request.arg("organization_id")
        if not caller.is_admin:
            if user_id and user_id != caller.user_id:
                return _proxy_error(
                    403,
                    "You are not authorized to check another user's keys",
                    "bad_request_error",
                    "user_id",
                )
            if key_hash:
                row = self.state.key_by_token(key_hash)
                if row is not None and row.get("user_id") != caller.user_id:
                    return _proxy_error(
                        403,
                        f"You are not allowed to access this key's info. Your role={caller.role}",
                        "internal_server_error",
                    )
            user_id = user_id or caller.user_id
        rows = [k for k in self.state.keys if k.get("team_id") != "litellm-dashboard"]
        if user_id:
            rows = [k for k in rows if k.get("user_id") == user_id]
        if team_id:
            rows = [k for k in rows if k.get("team_id") == team_id]
        if key_alias:
            rows = [k for k in rows if k.get("key_alias") == key_alias]
        if organization_id:
            rows = [k for k in rows if k.get("organization_id") == organization_id]
        if key_hash:
            rows = [k for k in rows if k.get("token") == key_hash]
        rows.sort(key=lambda k: (str(k.get("created_at") or ""), str(k.get("token"))), reverse=True)
        total = len(rows)
        chunk = rows[(page - 1) * size : page * size]
        keys: list[Any] = [self._full_key_view(k) for k in chunk] if full else [k.get("token") for k in chunk]
        return json_response(
            200,
            {
                "keys": keys,
                "total_count": total,
                "current_page": page,
                "total_pages": -(-total // size),
            },
        )

    # -- users -----------------------------------------------------------------------------------

    def _user_info(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_db()
        user_id = request.arg("user_id")
        if not caller.is_admin:
            if user_id and user_id != caller.user_id:
                # Not observed: the real proxy refuses another user's info to an internal user.
                return _proxy_error(
                    403,
                    f"User={caller.user_id} is not allowed to access info for user={user_id}",
                    "auth_error",
                )
            user_id = caller.user_id
        user = self.state.user_by_id(user_id)
        if user is None:
            return _proxy_error(404, f"User {user_id} not found", "internal_server_error")
        keys = [{**k, "team_alias": "None"} for k in self.state.keys if k.get("user_id") == user_id]
        teams = [self._team_view(team_id) for team_id in user.get("teams") or []]
        user_info = {
            **user,
            "password": None,
            "litellm_organization_table": None,
            "organization_memberships": [],
            "invitations_created": None,
            "invitations_updated": None,
            "invitations_user": None,
            "object_permission": None,
        }
        return json_response(200, {"user_id": user_id, "user_info": user_info, "keys": keys, "teams": teams})

    def _team_view(self, team_id: str) -> dict[str, Any]:
        """A `/user/info` team, as LiteMaaS's "Default Team" is recorded: every member of it listed."""
        members = [u for u in self.state.users if team_id in (u.get("teams") or [])]
        created = iso_z(self.started_at)
        return {
            "team_alias": "Default Team" if team_id == DEFAULT_TEAM_ID else team_id,
            "team_id": team_id,
            "organization_id": None,
            "admins": [],
            "members": [],
            "members_with_roles": [{"user_id": MASTER_USER_ID, "user_email": None, "role": "admin"}]
            + [{"user_id": u["user_id"], "user_email": u.get("user_email"), "role": "user"} for u in members],
            "team_member_permissions": [],
            "metadata": {},
            "tpm_limit": None,
            "rpm_limit": None,
            "max_budget": None,
            "budget_duration": None,
            "models": [],
            "blocked": False,
            "router_settings": {},
            "spend": 0.0,
            "max_parallel_requests": None,
            "budget_reset_at": None,
            "model_id": None,
            "litellm_model_table": None,
            "object_permission": None,
            "updated_at": created,
            "created_at": created,
            "object_permission_id": None,
            "team_memberships": [],
            "keys": [],
        }

    def _user_list(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_admin(caller, "/user/list")
        page = _int_arg(request, "page", 1, ge=1)
        page_size = _int_arg(request, "page_size", 25, ge=1, le=100)
        self._require_db()
        users = list(self.state.users)
        role = request.arg("role")
        if role:
            users = [u for u in users if u.get("user_role") == role]
        user_ids = request.arg("user_ids")
        if user_ids:
            wanted = [x.strip() for x in user_ids.split(",") if x.strip()]
            if len(wanted) == 1:
                users = [u for u in users if wanted[0].lower() in str(u.get("user_id")).lower()]
            else:
                users = [u for u in users if u.get("user_id") in wanted]
        email = request.arg("user_email")
        if email is not None:
            users = [u for u in users if email.lower() in str(u.get("user_email") or "").lower()]
        users.sort(key=lambda u: str(u.get("created_at") or ""), reverse=True)
        total = len(users)
        chunk = users[(page - 1) * page_size : page * page_size]
        items = [
            {
                **{name: u.get(name) for name in _USER_LIST_FIELDS},
                "key_count": sum(1 for k in self.state.keys if k.get("user_id") == u.get("user_id")),
            }
            for u in chunk
        ]
        return json_response(
            200,
            {
                "users": items,
                "total": total,
                "page": page,
                "page_size": page_size,
                "total_pages": -(-total // page_size),
            },
        )

    # -- spend -----------------------------------------------------------------------------------

    def _spend_logs(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_db()
        api_key = request.arg("api_key")
        user_id = request.arg("user_id")
        request_id = request.arg("request_id")
        if not caller.is_admin:
            user_id = caller.user_id
        start_date = request.arg("start_date")
        end_date = request.arg("end_date")
        rows = self.state.spend_logs
        summarize = request.arg("summarize") is None or _bool_arg(request, "summarize")
        if start_date is not None and end_date is not None and not summarize:
            # Individual rows of the window, newest first (recorded: ...-user-window-unsummarized.json).
            try:
                start, end = _parse_day(start_date), _parse_day(end_date)
            except ValueError as exc:
                return _proxy_error(500, f"/spend/logs Error{exc}", "internal_error")
            token = hash_key(api_key) if api_key and api_key.startswith("sk-") else api_key
            window = [
                r
                for r in rows
                if start <= _row_start(r) <= end
                and (token is None or r.get("api_key") == token)
                and (user_id is None or r.get("user") == user_id)
                and (request_id is None or r.get("request_id") == request_id)
            ]
            return json_response(200, sorted(window, key=_row_start, reverse=True))
        if start_date is not None and end_date is not None:
            try:
                return json_response(
                    200,
                    self._summarise(rows, start_date, end_date, api_key, request_id, user_id),
                )
            except ValueError as exc:
                return _proxy_error(500, f"/spend/logs Error{exc}", "internal_error")
        if api_key is not None:
            token = hash_key(api_key) if api_key.startswith("sk-") else api_key
            return json_response(200, [r for r in rows if r.get("api_key") == token])
        if request_id is not None:
            found = next((r for r in rows if r.get("request_id") == request_id), None)
            return json_response(200, [found])
        if user_id is not None:
            return json_response(200, [r for r in rows if r.get("user") == user_id])
        return json_response(200, sorted(rows, key=_row_start, reverse=True))

    @staticmethod
    def _summarise(
        rows: list[dict[str, Any]],
        start_date: str,
        end_date: str,
        api_key: str | None,
        request_id: str | None,
        user_id: str | None,
    ) -> list[dict[str, Any]]:
        start, end = _parse_day(start_date), _parse_day(end_date)
        picked = [r for r in rows if start <= _row_start(r) <= end]
        if api_key is not None:
            picked = [r for r in picked if r.get("api_key") == api_key]
        elif request_id is not None:
            picked = [r for r in picked if r.get("request_id") == request_id]
        elif user_id is not None:
            picked = [r for r in picked if r.get("user") == user_id]
        per_day: dict[date, dict[str, Any]] = {}
        for row in picked:
            day = _row_start(row).date()
            bucket = per_day.setdefault(day, {"users": {}, "models": {}})
            spend = float(row.get("spend") or 0.0)
            bucket["spend"] = bucket.get("spend", 0) + spend
            token = str(row.get("api_key"))
            bucket[token] = bucket.get(token, 0) + spend
            bucket["users"][row.get("user")] = bucket["users"].get(row.get("user"), 0) + spend
            bucket["models"][row.get("model")] = bucket["models"].get(row.get("model"), 0) + spend
        result = [{**v, "startTime": k.isoformat()} for k, v in sorted(per_day.items())]
        if per_day:
            current = max(per_day) + timedelta(days=1)
            while current <= end.date():
                result.append({"startTime": current.isoformat(), "spend": 0, "users": {}, "models": {}})
                current += timedelta(days=1)
        return result

    # -- chat ------------------------------------------------------------------------------------

    def _fail_row(self, caller: _Caller, model: str, request: Request) -> None:
        """Denied calls are logged too: failure row, zero spend, no tags (recorded)."""
        self.state.spend_logs.append(
            make_spend_row(
                caller.token,
                user_id="",
                model_group=model,
                backend_model=model,
                status="failure",
                start=datetime.now(UTC),
            )
        )

    def _chat(self, request: Request) -> Response:
        if not self.presented_key(request):
            return _proxy_error(401, "Authentication Error, No api key passed in.", "auth_error")
        try:
            body = request.json() if request.body else {}
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
        except ValueError as exc:
            return _proxy_error(400, f"Invalid JSON payload: {exc}", "bad_request_error", "request_body")
        caller = self._caller(request)
        model_name = str(body.get("model")) if body.get("model") is not None else "None"
        key = caller.key
        if key is not None:
            self._check_key(caller, key, model_name, request)
        model = self.state.model_by_name(model_name)
        if model is None:
            if key is not None:
                self._fail_row(caller, model_name, request)
            return _proxy_error(
                400,
                "{'error': '/chat/completions: Invalid model name passed in model="
                f"{model_name}. Call `/v1/models` to view available models for your key.'}}",
                "None",
            )
        return self._complete(caller, model, request)

    def _check_key(self, caller: _Caller, key: dict[str, Any], model: str, request: Request) -> None:
        """The checks LiteLLM runs on a virtual key before a call, in its order."""
        if key.get("blocked"):
            self._fail_row(caller, model, request)
            raise _Fail(
                _proxy_error(
                    401,
                    "Authentication Error, Key is blocked. Update via `/key/unblock` if you're admin.",
                    "auth_error",
                )
            )
        allowed = key.get("models") or []
        if allowed and "all-proxy-models" not in allowed and model not in allowed:
            self._fail_row(caller, model, request)
            raise _Fail(
                _proxy_error(
                    401,
                    f"key not allowed to access model. This key can only access models={allowed!r}. Tried to access {model}",
                    "key_model_access_denied",
                    "model",
                )
            )
        expires = key.get("expires")
        if expires:
            expiry = _as_datetime(str(expires))
            now = datetime.now(UTC)
            if expiry < now:
                self._fail_row(caller, model, request)
                raise _Fail(
                    _proxy_error(
                        400,
                        f"Authentication Error - Expired Key. Key Expiry time {expiry} and current time {now}",
                        "expired_key",
                        abbreviate_key(caller.plaintext),
                    )
                )
        max_budget = key.get("max_budget")
        spend = float(key.get("spend") or 0.0)
        if max_budget is not None and spend >= float(max_budget):
            self._fail_row(caller, model, request)
            raise _Fail(
                _proxy_error(
                    400,
                    f"Budget has been exceeded! Current cost: {spend}, Max budget: {max_budget}",
                    "budget_exceeded",
                    None,
                )
            )
        owner = self.state.user_by_id(key.get("user_id"))
        if owner is not None and owner.get("max_budget") is not None:
            user_spend = float(owner.get("spend") or 0.0)
            if user_spend >= float(owner["max_budget"]):
                self._fail_row(caller, model, request)
                raise _Fail(
                    _proxy_error(
                        400,
                        f"ExceededBudget: User={owner['user_id']} over budget. Spend={user_spend}, Budget={owner['max_budget']}",
                        "budget_exceeded",
                        None,
                    )
                )

    def _complete(self, caller: _Caller, model: dict[str, Any], request: Request) -> Response:
        started = time.monotonic()
        params = model.get("litellm_params", {})
        info = model.get("model_info", {})
        name = model["model_name"]
        deployment = str(params.get("model", name))
        backend = deployment.split("/", 1)[1] if "/" in deployment else deployment
        in_cost = float(info.get("input_cost_per_token") or 0.0)
        out_cost = float(info.get("output_cost_per_token") or 0.0)
        request_id = f"chatcmpl-{uuid.uuid4()}"
        key = caller.key
        row = make_spend_row(
            caller.token,
            user_id=str(caller.user_id),
            model_group=name,
            backend_model=backend,
            user_agent=request.user_agent,
            start=datetime.now(UTC),
            input_cost_per_token=in_cost,
            output_cost_per_token=out_cost,
            key_alias=(key or {}).get("key_alias"),
            request_id=request_id,
            model_id=str(info.get("id", "")),
            api_base=str(params.get("api_base", "")),
            provider=deployment.split("/", 1)[0] if "/" in deployment else "openai",
        )
        self.state.spend_logs.append(row)
        cost = float(row["spend"])
        key_spend = 0.0
        if key is not None:
            key["spend"] = float(key.get("spend") or 0.0) + cost
            key_spend = key["spend"]
            owner = self.state.user_by_id(key.get("user_id"))
            if owner is not None:
                owner["spend"] = float(owner.get("spend") or 0.0) + cost
        # mock_response models echo the requested name; a real upstream echoes its own model name.
        answer_model = name if "mock_response" in params else backend
        content = params.get("mock_response") or f"This is a fake completion from {name}."
        body = {
            "id": request_id,
            "created": int(time.time()),
            "model": answer_model,
            "object": "chat.completion",
            "choices": [
                {
                    "finish_reason": "stop",
                    "index": 0,
                    "message": {"content": content, "role": "assistant"},
                }
            ],
            "usage": {
                "completion_tokens": COMPLETION_TOKENS,
                "prompt_tokens": PROMPT_TOKENS,
                "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            },
        }
        headers = {
            "x-litellm-version": self.state.version,
            "x-litellm-model-group": name,
            "x-litellm-model-id": str(info.get("id", "")),
            "x-litellm-model-api-base": str(params.get("api_base", "")),
            "x-litellm-response-cost": repr(cost),
            "x-litellm-key-spend": repr(key_spend),
            "x-litellm-call-id": str(uuid.uuid4()),
            "x-litellm-attempted-retries": "0",
            "x-litellm-response-duration-ms": f"{(time.monotonic() - started) * 1000:.3f}",
        }
        return json_response(200, body, headers)


def dump(state: LiteLLMState) -> str:
    """The state as JSON (debugging aid for failing tests)."""
    return json.dumps(state.__dict__, indent=1, default=str)
