"""Every fake route held to the real answer it imitates: for each recorded response (tests/recorded/) whose
request the fakes serve, the fake's answer to the same request has the same status and the same shape - the
same keys and value types, recursively.

Rules of the comparison, and why:
- `null` matches any type: a field that is null in one recording holds a value in another (a key's alias, a
  budget), and the fakes' data fill what the recorder's left empty.
- Numbers are numbers: JSON does not tell 50 from 50.0, and neither do the readers.
- A list's items are merged into one shape (the union of their keys), so a list that mixes kinds (success and
  failure spend rows) must mix the same kinds in the fake. Where the recording has items, the fake's list must
  have some too; an empty recorded list says nothing about items.
- Paths in a case's `maps` are dictionaries whose keys are data (model names, key hashes, user ids): only
  "a dict" is compared there.
- `allow` lists each known, deliberate difference with its reason; every entry must still be a difference
  (a stale entry fails), so the list only shrinks as the fakes get closer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakes import litellm as ll
from tests.fakes import litemaas as lm

# the recordings' ids and keys, as the fakes' own tests name them
from tests.test_fake_services import ADMIN_KEY, CLASSMATE_ID, FIRST_KEY, MASTER, MULTI_KEY, RECORDED, STUDENT_ID, UA

TINY_KEY = "sk-tinybudget-00000000000"
T0 = datetime(2026, 12, 6, 8, 0, 0, tzinfo=UTC)

Shape = Any  # "str" | "number" | "bool" | "null" | dict[str, Shape] | ["list", Shape | None] | "map"


# -- shapes ------------------------------------------------------------------------------------------


def shape_of(value: Any, maps: frozenset[str], path: str = "") -> Shape:
    if path in maps:
        return "map" if isinstance(value, dict) else shape_of(value, frozenset(), path)
    if isinstance(value, dict):
        return {k: shape_of(v, maps, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        merged: Shape = None
        for item in value:
            merged = _merge(merged, shape_of(item, maps, f"{path}[]"))
        return ["list", merged]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "str"


def _merge(a: Shape, b: Shape) -> Shape:
    if a is None or a == "null":
        return b
    if b == "null":
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return ["list", _merge(a[1], b[1])]
    return a


def differences(real: Shape, fake: Shape, path: str = "") -> list[str]:
    """Where the fake's shape departs from the real one, as `path: what` lines."""
    here = path or "(body)"
    if real == "null" or fake == "null" or real is None or fake is None:
        return []
    if isinstance(real, dict) and isinstance(fake, dict):
        found = [f"{_join(path, k)}: missing in the fake" for k in real if k not in fake]
        found += [f"{_join(path, k)}: only in the fake" for k in fake if k not in real]
        for k in real.keys() & fake.keys():
            found += differences(real[k], fake[k], _join(path, k))
        return found
    if isinstance(real, list) and isinstance(fake, list):
        if real[1] not in (None, "null") and fake[1] is None:
            return [f"{here}: items in reality, an empty list in the fake"]  # nothing compared would pass
        return differences(real[1], fake[1], f"{path}[]")
    if real != fake:
        return [f"{here}: {_kind(real)} in reality, {_kind(fake)} in the fake"]
    return []


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(shape: Shape) -> str:
    return "object" if isinstance(shape, dict) else "list" if isinstance(shape, list) else str(shape)


def test_the_comparison_itself() -> None:
    real = {"a": 1, "b": None, "c": [{"x": "s"}, {"y": True}], "m": {"k1": 1}}
    same = {"a": 2.5, "b": "now set", "c": [{"x": "t", "y": False}], "m": {"other": "v"}}
    assert differences(shape_of(real, frozenset({"m"})), shape_of(same, frozenset({"m"}))) == []
    fake = {"a": "1", "c": [{"x": "s"}], "d": 0, "m": {"k1": 1}}
    assert sorted(differences(shape_of(real, frozenset()), shape_of(fake, frozenset()))) == [
        "a: number in reality, str in the fake",
        "b: missing in the fake",
        "c[].y: missing in the fake",
        "d: only in the fake",
    ]
    assert differences(shape_of({"l": [1]}, frozenset()), shape_of({"l": []}, frozenset())) == [
        "l: items in reality, an empty list in the fake"
    ]


# -- the fakes, loaded with a course-like state ------------------------------------------------------


def litellm_state() -> ll.LiteLLMState:
    models = [
        # As LiteMaaS creates a model: tpm/rpm in litellm_params, its capability flags in model_info.
        ll.make_model(
            "Llama-3.2-3B",
            "llama32",
            api_base="http://llama-32-predictor.ai501.svc.cluster.local:8080/v1",
            input_cost_per_token=1e-7,
            output_cost_per_token=5e-7,
            tpm=100000,
            rpm=1000,
            supports_convert=False,
            supports_tokenize=False,
            supports_embeddings=False,
            supports_parallel_function_calling=False,
        ),
        ll.make_model("mock-gpt-4o", mock_response="Hello from mock-gpt-4o!", db_model=False),
    ]
    users = [
        ll.make_user(STUDENT_ID, email="student", alias="student", role="proxy_admin", max_budget=50, tpm_limit=20000, rpm_limit=60, models=["mock-gpt-4o"], teams=[ll.DEFAULT_TEAM_ID], created_at=T0),
        ll.make_user(CLASSMATE_ID, email="classmate", alias="classmate", created_at=T0 + timedelta(1)),
    ]
    keys = [
        ll.make_litemaas_key(FIRST_KEY, name="my-first-key", user_id=STUDENT_ID, models=["Llama-3.2-3B"], created_at=T0),
        ll.make_litemaas_key(
            MULTI_KEY, name="multi-model-key", user_id=STUDENT_ID, models=["Llama-3.2-3B", "mock-gpt-4o"], max_budget=5.0, created_at=T0
        ),
        ll.make_key(TINY_KEY, alias="tiny", user_id=CLASSMATE_ID, models=["mock-gpt-4o"], max_budget=0.0, created_at=T0),
    ]
    return ll.LiteLLMState(master_key=MASTER, models=models, users=users, keys=keys)


def litemaas_state() -> lm.LiteMaaSState:
    state = lm.LiteMaaSState()
    student = lm.make_user("student", user_id=STUDENT_ID, roles=["admin", "user"], max_budget=50, tpm_limit=20000, rpm_limit=60, created_at=T0, last_login_at=T0)
    classmate = lm.make_user("classmate", user_id=CLASSMATE_ID, roles=["admin-readonly", "user"], created_at=T0 + timedelta(hours=1))
    state.users += [student, classmate]
    state.models = [
        lm.make_model("Llama-3.2-3B", backend_model="llama32", api_base="http://a/v1", input_cost_per_token=1e-7, output_cost_per_token=5e-7),
        lm.make_model("TinyLlama-1.1B", backend_model="tinyllama", restricted=True, input_cost_per_token=1e-9),
    ]
    state.subscriptions = [
        lm.make_subscription(STUDENT_ID, "Llama-3.2-3B", created_at=T0),
        lm.make_subscription(STUDENT_ID, "TinyLlama-1.1B", status="pending", sub_id="5b65f20e-4449-4a26-ab01-c875a3519b98", created_at=T0),
        lm.make_subscription(CLASSMATE_ID, "Llama-3.2-3B", created_at=T0),
    ]
    state.approve_subscription("5b65f20e-4449-4a26-ab01-c875a3519b98", CLASSMATE_ID, at=T0 + timedelta(hours=2))
    state.api_keys = [
        lm.make_api_key(STUDENT_ID, "my-first-key", FIRST_KEY, ["Llama-3.2-3B"], max_budget=2),
        lm.make_api_key(STUDENT_ID, "multi-model-key", MULTI_KEY, ["Llama-3.2-3B", "TinyLlama-1.1B"]),
    ]
    state.audit.append(lm.make_api_access(STUDENT_ID, "GET", "/api/v1/models", user_agent="Mozilla/5.0 Firefox", created_at=T0))
    state.audit.append(
        lm.make_audit("API_KEY_CREATE", user_id=STUDENT_ID, resource_type="API_KEY", resource_id="8ffb36cb-a3c8-45b5-a23d-64380b9dd238", metadata={"name": "my-first-key"}, created_at=T0)
    )
    return state


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[ll.FakeLiteLLM, lm.FakeLiteMaaS]]:
    with ll.FakeLiteLLM(litellm_state()) as llm, lm.FakeLiteMaaS(litemaas_state()) as maas:
        with httpx.Client(base_url=llm.url, headers={"User-Agent": UA}, timeout=5) as client:
            # Traffic, so spend logs hold success and failure rows of several agents (as the recordings do).
            chat = {"model": "Llama-3.2-3B", "messages": [{"role": "user", "content": "hi"}]}
            client.post("/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {FIRST_KEY}", "User-Agent": "curl/7.88.1"})
            client.post("/v1/chat/completions", json={**chat, "model": "mock-gpt-4o"}, headers={"Authorization": f"Bearer {MULTI_KEY}"})
            client.post("/v1/chat/completions", json={**chat, "model": "mock-gpt-4o"}, headers={"Authorization": f"Bearer {FIRST_KEY}"})
        yield llm, maas


# -- the cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    recording: str
    service: str  # "litellm" | "litemaas"
    method: str
    path: str
    auth: str | None  # "master", a key, "admin-key", "jwt", "jwt-admin", or None
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    maps: frozenset[str] = frozenset()
    allow: dict[str, str] = field(default_factory=dict)  # difference line -> why it is accepted
    agent: str = UA
    narrow: Callable[[Any], Any] | None = None  # keeps the part of the fake's answer the recording shows
    transcript: bool = False  # the recorder kept several answers as text: compare with the last one


def _cases() -> list[Case]:
    chat = {"model": "mock-gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    spend_maps = frozenset({"[].metadata.model_map_information.model_map_value", "[].metadata.additional_usage_values"})
    key_metadata = {"info.metadata", "keys[].metadata"}  # whatever the key's creator stored

    def config_models(body: Any) -> Any:
        return {"data": [m for m in body["data"] if not m["model_info"]["db_model"]]}

    window_maps = frozenset({"[]"})
    today = datetime.now(UTC).date()  # the fixture's calls happen today: the window must hold them, any day
    window = {"start_date": (today - timedelta(1)).isoformat(), "end_date": (today + timedelta(1)).isoformat()}
    return [
        # == LiteLLM ==
        Case("litellm-liveliness.json", "litellm", "GET", "/health/liveliness", None),
        Case("litellm-readiness.json", "litellm", "GET", "/health/readiness", None),
        Case("litellm-models.json", "litellm", "GET", "/v1/models", "master"),
        Case("litellm-model-info.json", "litellm", "GET", "/model/info", "master", narrow=config_models),
        Case("litellm-model-info-litemaas-models.json", "litellm", "GET", "/model/info", "master"),
        Case("litellm-key-info.json", "litellm", "GET", "/key/info", "master", {"key": MULTI_KEY}, maps=frozenset(key_metadata)),
        Case("litemaas-litellm-key-info-litemaas-key.json", "litellm", "GET", "/key/info", "master", {"key": MULTI_KEY}),
        Case(
            "litellm-key-list-user.json",
            "litellm",
            "GET",
            "/key/list",
            "master",
            {"user_id": STUDENT_ID, "return_full_object": "true"},
            maps=frozenset(key_metadata),
        ),
        Case("litellm-user-info.json", "litellm", "GET", "/user/info", "master", {"user_id": STUDENT_ID}, maps=frozenset(key_metadata)),
        Case("litellm-user-info-litemaas-user.json", "litellm", "GET", "/user/info", "master", {"user_id": STUDENT_ID}),
        Case("litellm-user-list.json", "litellm", "GET", "/user/list", "master"),
        Case("litellm-spend-logs.json", "litellm", "GET", "/spend/logs", "master", maps=spend_maps),
        Case("litellm-spend-logs-key.json", "litellm", "GET", "/spend/logs", "master", {"api_key": FIRST_KEY}, maps=spend_maps),
        Case("litellm-spend-logs-user.json", "litellm", "GET", "/spend/logs", "master", {"user_id": STUDENT_ID}, maps=spend_maps),
        Case(
            "litellm-spend-logs-user-window.json",
            "litellm",
            "GET",
            "/spend/logs",
            "master",
            {"user_id": STUDENT_ID, **window},
            maps=window_maps,
        ),
        Case(
            "litellm-spend-logs-user-window-unsummarized.json",
            "litellm",
            "GET",
            "/spend/logs",
            "master",
            {"user_id": STUDENT_ID, **window, "summarize": "false"},
            maps=spend_maps,
        ),
        Case("litellm-chat-master.json", "litellm", "POST", "/v1/chat/completions", "master", body=chat),
        Case("litellm-chat-key.json", "litellm", "POST", "/v1/chat/completions", MULTI_KEY, body=chat),
        Case("litemaas-litellm-chat-with-litemaas-key.json", "litellm", "POST", "/v1/chat/completions", MULTI_KEY, body=chat),
        Case("litemaas-litellm-chat2-with-litemaas-key.json", "litellm", "POST", "/v1/chat/completions", MULTI_KEY, body=chat),
        Case("litellm-bad-key.json", "litellm", "POST", "/v1/chat/completions", "sk-not-a-known-key-000", body=chat),
        Case("litellm-chat-key-forbidden-model.json", "litellm", "POST", "/v1/chat/completions", FIRST_KEY, body=chat),
        Case("litemaas-litellm-chat-unsubscribed-model.json", "litellm", "POST", "/v1/chat/completions", FIRST_KEY, body=chat),
        Case("litellm-budget-exceeded.json", "litellm", "POST", "/v1/chat/completions", TINY_KEY, body=chat, transcript=True),
        # == LiteMaaS ==
        Case("litemaas-health.json", "litemaas", "GET", "/api/v1/health", None),
        Case("litemaas-health-live.json", "litemaas", "GET", "/api/v1/health/live", None),
        Case("litemaas-health-ready.json", "litemaas", "GET", "/api/v1/health/ready", None),
        Case("litemaas-config.json", "litemaas", "GET", "/api/v1/config", None),
        Case("litemaas-auth-login.json", "litemaas", "POST", "/api/auth/login", None),
        Case("litemaas-auth-me.json", "litemaas", "GET", "/api/v1/auth/me", "jwt-admin"),
        Case(
            "litemaas-models.json",
            "litemaas",
            "GET",
            "/api/v1/models",
            None,
            allow={"data[].apiBase: only in the fake": "optional in the OpenAPI schema; the recorded models had no api_base"},
        ),
        Case("litemaas-models-sync.json", "litemaas", "POST", "/api/v1/models/sync", "jwt-admin", body={}),
        Case("litemaas-users-list-apikey.json", "litemaas", "GET", "/api/v1/users", "admin-key", {"limit": 100}),
        Case("litemaas-admin-users-apikey.json", "litemaas", "GET", "/api/v1/admin/users", "admin-key"),
        Case("litemaas-admin-users-jwt.json", "litemaas", "GET", "/api/v1/admin/users", "jwt-admin"),
        Case("litemaas-admin-user-detail.json", "litemaas", "GET", f"/api/v1/admin/users/{STUDENT_ID}", "admin-key"),
        Case("litemaas-admin-system-stats.json", "litemaas", "GET", "/api/v1/admin/system/stats", "admin-key"),
        Case("litemaas-subscriptions.json", "litemaas", "GET", "/api/v1/subscriptions", "jwt"),
        Case("litemaas-subs-with-devtoken.json", "litemaas", "GET", "/api/v1/subscriptions", "jwt-admin"),
        Case("litemaas-subscriptions-jwt-readonly.json", "litemaas", "GET", "/api/v1/subscriptions", "jwt"),
        Case("litemaas-subs-with-devtoken-unknownuser.json", "litemaas", "GET", "/api/v1/subscriptions", "jwt-unknown"),
        Case("litemaas-no-auth-curl.json", "litemaas", "GET", "/api/v1/subscriptions", None, agent="curl/7.88.1"),
        Case("litemaas-admin-subscriptions.json", "litemaas", "GET", "/api/v1/admin/subscriptions", "admin-key"),
        Case("litemaas-admin-subscriptions-user.json", "litemaas", "GET", "/api/v1/admin/subscriptions", "admin-key", {"userIds": STUDENT_ID}),
        Case("litemaas-apikeys-list.json", "litemaas", "GET", "/api/v1/api-keys", "jwt"),
        Case("litemaas-apikeys-list-jwt-readonly.json", "litemaas", "GET", "/api/v1/api-keys", "jwt"),
        Case("litemaas-users-me-activity.json", "litemaas", "GET", "/api/v1/users/me/activity", "jwt", {"limit": 100}),
        Case(
            "litemaas-users-me-activity-action.json",
            "litemaas",
            "GET",
            "/api/v1/users/me/activity",
            "jwt",
            {"limit": 100, "action": "API_KEY_CREATE"},
        ),
        Case("litemaas-users-me-activity-apikey-500.json", "litemaas", "GET", "/api/v1/users/me/activity", "admin-key", {"limit": 100}),
        Case(
            "litemaas-admin-audit-user.json",
            "litemaas",
            "GET",
            "/api/v1/admin/audit",
            "admin-key",
            {"userId": STUDENT_ID, "limit": 100},
            maps=frozenset({"data[].metadata"}),
        ),
        Case("litemaas-admin-settings-api-key-defaults-apikey.json", "litemaas", "GET", "/api/v1/admin/settings/api-key-defaults", "admin-key"),
        Case("litemaas-admin-settings-api-key-defaults-jwt.json", "litemaas", "GET", "/api/v1/admin/settings/api-key-defaults", "jwt"),
        Case(
            "litemaas-admin-usage-analytics.json",
            "litemaas",
            "POST",
            "/api/v1/admin/usage/analytics",
            "admin-key",
            body={"startDate": "2026-11-01", "endDate": "2026-11-26"},
            maps=frozenset({"totalCost.byUser", "totalCost.byModel"}),
            allow={
                f"{name}: items in reality, an empty list in the fake": "the fake answers zeros: graders never call it"
                for name in ("dailyModelUsage", "dailyUsage", "topModels", "topUsers")
            },
        ),
    ]


CASES = _cases()

# Recordings no fake serves: the fakes implement reads (and the few writes graders must never make), not set-up.
NOT_SERVED = {
    "litellm-global-spend-logs.json": "GET /global/spend/logs: not read by the grader",
    "litellm-key-generate.json": "POST /key/generate: set-up, done through the fake's state",
    "litellm-user-new.json": "POST /user/new: set-up, done through the fake's state",
    "litemaas-admin-model-create.json": "POST /api/v1/admin/models: set-up",
    "litemaas-admin-user-apikey-create.json": "POST /api/v1/admin/users/:id/api-keys: set-up",
    "litemaas-apikey-create.json": "POST /api/v1/api-keys: set-up",
    "litemaas-dev-token.json": "POST /api/auth/dev-token: development mode only; the grader mints its own JWT",
    "litemaas-dev-token-unknown.json": "POST /api/auth/dev-token: development mode only",
    "litemaas-subscribe.json": "POST /api/v1/subscriptions: set-up",
    "litemaas-subscribe2.json": "POST /api/v1/subscriptions: set-up",
    "litemaas-usage-budget.json": "GET /api/v1/usage/budget: not read by the grader",
    "litemaas-usage-dashboard.json": "GET /api/v1/usage/dashboard: not read by the grader",
    "litemaas-usage-metrics-apikey.json": "GET /api/v1/usage/metrics: not read by the grader",
    "litemaas-usage-summary.json": "GET /api/v1/usage/summary: not read by the grader",
    "litemaas-v0.4.0-openapi.json": "the OpenAPI document, not an answer (see test_every_litemaas_route_is_in_the_openapi_document)",
}


def test_every_recording_is_compared_or_explained() -> None:
    on_disk = {p.name for p in RECORDED.glob("*.json")}
    compared = {c.recording for c in CASES}
    assert sorted(on_disk - compared - NOT_SERVED.keys()) == []
    assert sorted((compared | NOT_SERVED.keys()) - on_disk) == []
    assert compared.isdisjoint(NOT_SERVED)


def _auth(case: Case, maas: lm.FakeLiteMaaS) -> dict[str, str]:
    if case.auth is None:
        return {}
    token = {
        "master": MASTER,
        "admin-key": ADMIN_KEY,
        "jwt": maas.token_for(STUDENT_ID, ["admin-readonly"]) if case.service == "litemaas" else "",
        "jwt-admin": maas.token_for(STUDENT_ID, ["admin"]) if case.service == "litemaas" else "",
        "jwt-unknown": lm.mint_jwt(maas.state.jwt_secret, {"userId": "00000000-0000-0000-0000-00000000dead", "roles": ["user"], "exp": 4_000_000_000}),
    }.get(case.auth, case.auth)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("case", CASES, ids=[c.recording.removesuffix(".json") for c in CASES])
def test_fake_answers_like_the_recording(case: Case, fakes: tuple[ll.FakeLiteLLM, lm.FakeLiteMaaS]) -> None:
    llm, maas = fakes
    recorded = json.loads((RECORDED / case.recording).read_text(encoding="utf-8"))
    base = llm.url if case.service == "litellm" else maas.url
    headers = {"User-Agent": case.agent, **_auth(case, maas)}
    with httpx.Client(base_url=base, timeout=5) as client:
        answer = client.request(case.method, case.path, params=case.params, json=case.body, headers=headers)
    assert answer.status_code == recorded["status"], answer.text[:500]
    real = recorded["body"]
    if case.transcript:
        real = json.loads(real.strip().splitlines()[-1])
    fake = case.narrow(answer.json()) if case.narrow else answer.json()
    found = differences(shape_of(real, case.maps), shape_of(fake, case.maps))
    unexplained = [d for d in found if d not in case.allow]
    stale = [d for d in case.allow if d not in found]
    assert unexplained == [], f"{case.recording}: the fake departs from the real answer:\n" + "\n".join(unexplained)
    assert stale == [], "allow-list entries that are no longer differences: delete them"


def _route_key(method: str, path: str) -> tuple[str, str]:
    """`GET /api/v1/admin/users/:id` and `get /api/v1/admin/users/{id}/` name the same route."""
    return method.upper(), re.sub(r":\w+|\{\w+\}", "{}", path.rstrip("/") or "/")


def test_every_litemaas_route_is_in_the_openapi_document() -> None:
    """The fake serves no route the real backend lacks, and with the same method (the v0.4.0 OpenAPI document)."""
    document = json.loads((RECORDED / "litemaas-v0.4.0-openapi.json").read_text(encoding="utf-8"))
    real = {_route_key(method, path) for path, item in document["paths"].items() for method in item if method != "parameters"}
    fake = {_route_key(route.method, route.pattern) for route in lm._ROUTES}
    assert sorted(fake - real) == []
