"""Tests of the LiteMaaS and LiteLLM fakes: shapes against the recorded responses, auth, audit side
effects, key hashing, pagination, TLS and fault injection."""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fakes import litellm as ll
from tests.fakes import litemaas as lm
from tests.fakes.appserver import AppServer, Request, Response, json_response

RECORDED = Path(__file__).resolve().parent / "recorded"  # real LiteMaaS v0.4.0 / LiteLLM 1.81.0 answers
UA = "maas-lab/0.1.0"
MASTER = "sk-master-test"
ADMIN_KEY = "ltm_admin_testkey"

STUDENT_ID = "71d83f87-0057-40a6-b9e8-f47c4c86818f"
CLASSMATE_ID = "b2fc5db5-8392-4b70-b57c-99e3a5357c9e"
FIRST_KEY = "sk-at_RWP5-2Z-sn5GrhCd1Bw"
MULTI_KEY = "sk-Fz7KxaRGsZNYSm6izpqwzA"
OTHER_KEY = "sk-mfxhiEIbHgJaHbqQGpgbEw"
T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())["body"]


def keys_of(value: dict[str, Any]) -> set[str]:
    return set(value)


# -- states -----------------------------------------------------------------------------------------


def litellm_state() -> ll.LiteLLMState:
    models = [
        ll.make_model(
            "Llama-3.2-3B",
            "llama32",
            api_base="http://llama-32-predictor.ai501.svc.cluster.local:8080/v1",
            input_cost_per_token=1e-7,
            output_cost_per_token=5e-7,
        ),
        ll.make_model(
            "Llama-3.2-3B-Instruct-FP8",
            "llama32-fp8",
            api_base="http://llama-32-fp8-predictor.ai501.svc.cluster.local:8080/v1",
            input_cost_per_token=1e-8,
            output_cost_per_token=5e-8,
        ),
        ll.make_model("mock-gpt-4o", mock_response="Hello from mock-gpt-4o!", db_model=False),
    ]
    users = [
        ll.make_user(STUDENT_ID, email="student", alias="student", max_budget=50, created_at=T0),
        ll.make_user(CLASSMATE_ID, email="classmate", alias="classmate", role="proxy_admin", created_at=T0 + timedelta(1)),
    ]
    keys = [
        ll.make_litemaas_key(FIRST_KEY, name="my-first-key", user_id=STUDENT_ID, models=["Llama-3.2-3B"], created_at=T0),
        ll.make_litemaas_key(
            MULTI_KEY,
            name="multi-model-key",
            user_id=STUDENT_ID,
            models=["Llama-3.2-3B", "Llama-3.2-3B-Instruct-FP8"],
            max_budget=5.0,
            created_at=T0 + timedelta(minutes=1),
        ),
        ll.make_key(OTHER_KEY, alias="student-1-key", user_id=CLASSMATE_ID, models=["mock-gpt-4o"], created_at=T0),
    ]
    return ll.LiteLLMState(models=models, users=users, keys=keys)


def litemaas_state() -> lm.LiteMaaSState:
    state = lm.LiteMaaSState()
    student = lm.make_user("student", user_id=STUDENT_ID, roles=["admin", "user"], full_name="Stu Dent", created_at=T0)
    classmate = lm.make_user("classmate", user_id=CLASSMATE_ID, roles=["user"], created_at=T0 + timedelta(hours=1))
    state.users += [student, classmate]
    state.models = [
        lm.make_model(
            "Llama-3.2-3B", backend_model="llama32", api_base="http://a/v1", input_cost_per_token=1e-7, output_cost_per_token=5e-7
        ),
        lm.make_model("TinyLlama-1.1B", backend_model="tinyllama", restricted=True, input_cost_per_token=1e-9),
        lm.make_model("gone-model", availability="unavailable"),
    ]
    state.subscriptions = [
        lm.make_subscription(STUDENT_ID, "Llama-3.2-3B", sub_id="c5e2e0e6-0370-4a39-860d-e96a492a1924", created_at=T0),
        lm.make_subscription(
            STUDENT_ID,
            "TinyLlama-1.1B",
            status="pending",
            sub_id="5b65f20e-4449-4a26-ab01-c875a3519b98",
            created_at=T0 + timedelta(1),
        ),
        lm.make_subscription(CLASSMATE_ID, "Llama-3.2-3B", created_at=T0),
    ]
    state.api_keys = [
        lm.make_api_key(
            STUDENT_ID, "my-first-key", FIRST_KEY, ["Llama-3.2-3B"], key_id="8ffb36cb-a3c8-45b5-a23d-64380b9dd238", max_budget=2
        ),
        lm.make_api_key(CLASSMATE_ID, "theirs", OTHER_KEY, ["Llama-3.2-3B"]),
    ]
    return state


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def litellm_server() -> Iterator[ll.FakeLiteLLM]:
    with ll.FakeLiteLLM() as server:
        yield server


@pytest.fixture(scope="module")
def litemaas_server() -> Iterator[lm.FakeLiteMaaS]:
    with lm.FakeLiteMaaS() as server:
        yield server


@pytest.fixture
def fake_llm(litellm_server: ll.FakeLiteLLM) -> ll.FakeLiteLLM:
    litellm_server.load(litellm_state())
    litellm_server.clear_log()
    litellm_server.clear_faults()
    return litellm_server


@pytest.fixture
def fake_maas(litemaas_server: lm.FakeLiteMaaS) -> lm.FakeLiteMaaS:
    litemaas_server.load(litemaas_state())
    litemaas_server.clear_log()
    litemaas_server.clear_faults()
    return litemaas_server


# Clients are shared per module: building an httpx client (its TLS context) costs more than a test.
@pytest.fixture(scope="module")
def litellm_client(litellm_server: ll.FakeLiteLLM) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=litellm_server.url, headers={"User-Agent": UA}, timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def litemaas_client(litemaas_server: lm.FakeLiteMaaS) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=litemaas_server.url, headers={"User-Agent": UA}, timeout=5) as client:
        yield client


@pytest.fixture
def llm(fake_llm: ll.FakeLiteLLM, litellm_client: httpx.Client) -> httpx.Client:
    return litellm_client


@pytest.fixture
def maas(fake_maas: lm.FakeLiteMaaS, litemaas_client: httpx.Client) -> httpx.Client:
    return litemaas_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def student_jwt(fake: lm.FakeLiteMaaS, roles: list[str] | None = None) -> dict[str, str]:
    return bearer(fake.token_for(STUDENT_ID, roles if roles is not None else ["admin-readonly"]))


# == LiteLLM ========================================================================================


def test_litellm_health_endpoints_match_recorded(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    readiness = llm.get("/health/readiness")
    assert readiness.status_code == 200
    assert keys_of(readiness.json()) == keys_of(recorded("litellm-readiness.json"))
    assert readiness.json()["db"] == "connected"
    assert readiness.json()["litellm_version"] == "1.81.0"
    for path in ("/health/liveliness", "/health/liveness"):
        answer = llm.get(path)
        assert answer.json() == recorded("litellm-liveliness.json") == "I'm alive!"
    fake_llm.state.db_connected = False
    down = llm.get("/health/readiness").json()
    assert (down["status"], down["db"]) == ("healthy", "Not connected")


def test_litellm_models_by_key_scope(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    everything = llm.get("/v1/models", headers=bearer(MASTER)).json()
    assert keys_of(everything) == keys_of(recorded("litellm-models.json"))
    assert keys_of(everything["data"][0]) == keys_of(recorded("litellm-models.json")["data"][0])
    assert [m["id"] for m in everything["data"]] == ["Llama-3.2-3B", "Llama-3.2-3B-Instruct-FP8", "mock-gpt-4o"]
    own = llm.get("/models", headers=bearer(FIRST_KEY)).json()
    assert [m["id"] for m in own["data"]] == ["Llama-3.2-3B"]
    fake_llm.state.keys.append(ll.make_key("sk-allmodels-key-000000", alias=None, user_id=STUDENT_ID, models=[]))
    assert len(llm.get("/v1/models", headers=bearer("sk-allmodels-key-000000")).json()["data"]) == 3
    assert llm.get("/v1/models").status_code == 401


def test_litellm_model_info_matches_recorded(llm: httpx.Client) -> None:
    sample = recorded("litellm-model-info.json")["data"][0]
    items = llm.get("/model/info", headers=bearer(MASTER)).json()["data"]
    mock = next(i for i in items if i["model_name"] == "mock-gpt-4o")
    assert keys_of(mock) == keys_of(sample)
    assert keys_of(mock["model_info"]) == keys_of(sample["model_info"])
    assert keys_of(mock["litellm_params"]) == keys_of(sample["litellm_params"])
    db_model = next(i for i in items if i["model_name"] == "Llama-3.2-3B-Instruct-FP8")
    assert db_model["model_info"]["db_model"] is True
    assert db_model["litellm_params"]["model"] == "openai/llama32-fp8"
    assert db_model["litellm_params"]["input_cost_per_token"] == "1e-08"  # a string, as recorded
    assert db_model["model_info"]["input_cost_per_token"] == 1e-08
    scoped = llm.get("/v1/model/info", headers=bearer(FIRST_KEY)).json()["data"]
    assert [i["model_name"] for i in scoped] == ["Llama-3.2-3B"]


def test_litellm_key_info(llm: httpx.Client) -> None:
    sample = recorded("litellm-key-info.json")
    by_master = llm.get("/key/info", params={"key": MULTI_KEY}, headers=bearer(MASTER)).json()
    assert keys_of(by_master) == keys_of(sample)
    assert keys_of(by_master["info"]) == keys_of(sample["info"])
    assert by_master["key"] == MULTI_KEY
    info = by_master["info"]
    assert info["metadata"] == {"created_by": "litemaas", "model_count": 2, "legacy_request": False}
    assert info["key_alias"].startswith("multi-model-key_") and len(info["key_alias"]) == len("multi-model-key_") + 8
    assert info["created_at"].endswith("+00:00")
    own = llm.get("/key/info", headers=bearer(FIRST_KEY)).json()
    assert own["key"] == hashlib.sha256(FIRST_KEY.encode()).hexdigest()
    other = llm.get("/key/info", params={"key": OTHER_KEY}, headers=bearer(FIRST_KEY))
    assert other.status_code == 404
    assert other.json()["error"] == {
        "message": "Key not found in database",
        "type": "not_found_error",
        "param": "key",
        "code": "404",
    }
    assert llm.get("/key/info", params={"key": "sk-unknown"}, headers=bearer(MASTER)).status_code == 404


def test_litellm_key_list_filters_and_pages(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    listed = llm.get("/key/list", params={"user_id": STUDENT_ID, "return_full_object": "true"}, headers=bearer(MASTER)).json()
    assert keys_of(listed) == {"keys", "total_count", "current_page", "total_pages"}
    assert listed["total_count"] == 2
    assert [k["token"] for k in listed["keys"]] == [ll.hash_key(MULTI_KEY), ll.hash_key(FIRST_KEY)]  # newest first
    assert keys_of(listed["keys"][0]) == keys_of(recorded("litellm-key-list-user.json")["keys"][0])
    hashes = llm.get("/key/list", params={"key_alias": listed["keys"][1]["key_alias"]}, headers=bearer(MASTER)).json()
    assert hashes["keys"] == [ll.hash_key(FIRST_KEY)]
    assert llm.get("/key/list", params={"key_hash": ll.hash_key(OTHER_KEY)}, headers=bearer(MASTER)).json()["keys"] == [
        ll.hash_key(OTHER_KEY)
    ]
    fake_llm.state.keys += [ll.make_key(f"sk-bulk-{i:04d}", alias=f"bulk{i}", user_id="bulk", models=[]) for i in range(23)]
    first = llm.get("/key/list", params={"user_id": "bulk"}, headers=bearer(MASTER)).json()
    assert (len(first["keys"]), first["total_count"], first["total_pages"], first["current_page"]) == (10, 23, 3, 1)
    last = llm.get("/key/list", params={"user_id": "bulk", "page": 3, "size": 10}, headers=bearer(MASTER)).json()
    assert len(last["keys"]) == 3
    assert len(llm.get("/key/list", params={"size": 100}, headers=bearer(MASTER)).json()["keys"]) == 26
    too_big = llm.get("/key/list", params={"size": 101}, headers=bearer(MASTER))
    assert too_big.status_code == 422
    assert too_big.json()["detail"][0]["loc"] == ["query", "size"]


def test_litellm_key_list_for_a_virtual_key(llm: httpx.Client) -> None:
    own = llm.get("/key/list", headers=bearer(FIRST_KEY)).json()
    assert sorted(own["keys"]) == sorted([ll.hash_key(FIRST_KEY), ll.hash_key(MULTI_KEY)])
    other = llm.get("/key/list", params={"user_id": CLASSMATE_ID}, headers=bearer(FIRST_KEY))
    assert other.status_code == 403
    assert other.json()["error"]["param"] == "user_id"
    # A key whose owner is a proxy_admin lists everything.
    assert llm.get("/key/list", params={"size": 100}, headers=bearer(OTHER_KEY)).json()["total_count"] == 3


def test_litellm_user_info_and_list(llm: httpx.Client) -> None:
    sample = recorded("litellm-user-info.json")
    info = llm.get("/user/info", params={"user_id": STUDENT_ID}, headers=bearer(MASTER)).json()
    assert keys_of(info) == keys_of(sample)
    assert keys_of(info["user_info"]) == keys_of(sample["user_info"])
    assert keys_of(info["keys"][0]) == keys_of(sample["keys"][0])
    assert info["user_info"]["max_budget"] == 50
    own = llm.get("/user/info", headers=bearer(FIRST_KEY)).json()
    assert own["user_id"] == STUDENT_ID
    missing = llm.get("/user/info", params={"user_id": "nobody"}, headers=bearer(MASTER))
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "message": "User nobody not found",
        "type": "internal_server_error",
        "param": "None",
        "code": "404",
    }

    users = llm.get("/user/list", headers=bearer(MASTER)).json()
    assert keys_of(users) == {"users", "total", "page", "page_size", "total_pages"}
    assert [u["user_id"] for u in users["users"]] == [CLASSMATE_ID, STUDENT_ID]  # created_at desc
    assert users["users"][1]["key_count"] == 2
    paged = llm.get("/user/list", params={"page": 2, "page_size": 1}, headers=bearer(MASTER)).json()
    assert ([u["user_id"] for u in paged["users"]], paged["total_pages"]) == ([STUDENT_ID], 2)
    by_email = llm.get("/user/list", params={"user_email": "STUD"}, headers=bearer(MASTER)).json()
    assert [u["user_id"] for u in by_email["users"]] == [STUDENT_ID]
    refused = llm.get("/user/list", headers=bearer(FIRST_KEY))
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "auth_error"
    assert "Only proxy admin" in refused.json()["error"]["message"]
    assert "Route=/user/list. Your role=internal_user" in refused.json()["error"]["message"]


def test_litellm_chat_success_records_spend(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    body = {"model": "Llama-3.2-3B-Instruct-FP8", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    answer = llm.post("/v1/chat/completions", json=body, headers=bearer(MULTI_KEY))
    assert answer.status_code == 200
    assert keys_of(answer.json()) == keys_of(recorded("litellm-chat-key.json"))
    assert answer.json()["usage"] == recorded("litellm-chat-key.json")["usage"]
    assert answer.json()["model"] == "llama32-fp8"  # a real upstream echoes its own model name
    assert answer.headers["x-litellm-model-group"] == "Llama-3.2-3B-Instruct-FP8"
    rows = llm.get("/spend/logs", params={"api_key": MULTI_KEY}, headers=bearer(MASTER)).json()
    assert len(rows) == 1
    row = rows[0]
    assert keys_of(row) == keys_of(recorded("litellm-spend-logs-key.json")[0])
    assert row["api_key"] == ll.hash_key(MULTI_KEY)
    assert (row["status"], row["model"], row["model_group"], row["user"]) == (
        "success",
        "openai/llama32-fp8",
        "Llama-3.2-3B-Instruct-FP8",
        STUDENT_ID,
    )
    assert row["request_tags"] == ["User-Agent: maas-lab", f"User-Agent: {UA}"]
    assert row["spend"] == pytest.approx(10 * 1e-8 + 20 * 5e-8)
    assert row["metadata"]["user_api_key_alias"].startswith("multi-model-key_")
    key = fake_llm.state.key_by_token(ll.hash_key(MULTI_KEY))
    assert key is not None and key["spend"] == pytest.approx(row["spend"])
    mock = llm.post("/v1/chat/completions", json={"model": "mock-gpt-4o", "messages": []}, headers=bearer(MASTER))
    assert keys_of(mock.json()) == keys_of(recorded("litellm-chat-master.json"))
    assert mock.json()["model"] == "mock-gpt-4o"
    master_row = fake_llm.state.spend_logs[-1]
    assert (master_row["api_key"], master_row["user"]) == (ll.hash_key(MASTER), "default_user_id")


def test_litellm_chat_errors_match_recorded(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    chat = {"model": "Llama-3.2-3B", "messages": []}
    unknown = llm.post("/v1/chat/completions", json=chat, headers=bearer("sk-nope"))
    sample = recorded("litellm-bad-key.json")["error"]
    assert unknown.status_code == 401
    assert unknown.json()["error"]["type"] == sample["type"] == "token_not_found_in_db"
    assert unknown.json()["error"]["message"] == sample["message"]  # same key, same hash, same text
    denied = llm.post("/v1/chat/completions", json={"model": "mock-gpt-4o"}, headers=bearer(FIRST_KEY))
    assert denied.status_code == 401
    assert denied.json()["error"]["message"] == (
        "key not allowed to access model. This key can only access models=['Llama-3.2-3B']. Tried to access mock-gpt-4o"
    )
    assert keys_of(denied.json()["error"]) == keys_of(recorded("litellm-chat-key-forbidden-model.json")["error"])
    failure = fake_llm.state.spend_logs[-1]
    assert keys_of(failure) == keys_of(recorded("litellm-spend-logs-key.json")[1])
    assert (failure["status"], failure["model"], failure["model_group"], failure["request_tags"]) == (
        "failure",
        "mock-gpt-4o",
        "",
        [],
    )
    no_key = llm.post("/v1/chat/completions", json=chat)
    assert no_key.status_code == 401
    assert no_key.json()["error"]["message"] == "Authentication Error, No api key passed in."
    not_sk = llm.post("/v1/chat/completions", json=chat, headers=bearer("hello"))
    assert "expected to start with 'sk-'" in not_sk.json()["error"]["message"]
    bad_json = llm.post("/v1/chat/completions", content=b"{not json", headers=bearer(FIRST_KEY))
    assert bad_json.status_code == 400


def test_litellm_chat_refuses_blocked_expired_and_over_budget(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    chat = {"model": "Llama-3.2-3B", "messages": []}
    key = fake_llm.state.key_by_token(ll.hash_key(FIRST_KEY))
    assert key is not None
    key["blocked"] = True
    blocked = llm.post("/v1/chat/completions", json=chat, headers=bearer(FIRST_KEY))
    assert (blocked.status_code, blocked.json()["error"]["type"]) == (401, "auth_error")
    assert "Key is blocked" in blocked.json()["error"]["message"]
    key["blocked"] = None
    key["expires"] = "2020-01-01T00:00:00Z"
    expired = llm.post("/v1/chat/completions", json=chat, headers={"x-litellm-api-key": FIRST_KEY})
    assert (expired.status_code, expired.json()["error"]["type"]) == (400, "expired_key")
    key["expires"] = None
    key["max_budget"], key["spend"] = 0.0005, 0.0007000000000000001
    over = llm.post("/v1/chat/completions", json=chat, headers=bearer(FIRST_KEY))
    assert over.status_code == 400
    assert over.json() == {
        "error": {
            "message": "Budget has been exceeded! Current cost: 0.0007000000000000001, Max budget: 0.0005",
            "type": "budget_exceeded",
            "param": None,
            "code": "400",
        }
    }
    unknown_model = llm.post("/v1/chat/completions", json={"model": "nope"}, headers=bearer(MASTER))
    assert unknown_model.status_code == 400
    assert "Invalid model name passed in model=nope" in unknown_model.json()["error"]["message"]


def test_litellm_spend_log_filters(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    state = fake_llm.state
    state.spend_logs += [
        ll.make_spend_row(
            ll.hash_key(FIRST_KEY),
            user_id=STUDENT_ID,
            model_group="Llama-3.2-3B",
            backend_model="llama32",
            start=T0,
            user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
            request_id="req-a",
        ),
        ll.make_spend_row(
            ll.hash_key(OTHER_KEY),
            user_id=CLASSMATE_ID,
            model_group="mock-gpt-4o",
            backend_model="mock-gpt-4o",
            start=T0 + timedelta(hours=1),
            spend=0.5,
        ),
    ]
    everything = llm.get("/spend/logs", headers=bearer(MASTER)).json()
    assert [r["user"] for r in everything] == [CLASSMATE_ID, STUDENT_ID]  # newest first, as recorded
    assert keys_of(everything[0]) == keys_of(recorded("litellm-spend-logs.json")[1])
    by_hash = llm.get("/spend/logs", params={"api_key": ll.hash_key(FIRST_KEY)}, headers=bearer(MASTER)).json()
    assert [r["request_id"] for r in by_hash] == ["req-a"]
    assert by_hash[0]["request_tags"][0] == "User-Agent: Mozilla"
    assert llm.get("/spend/logs", params={"user_id": CLASSMATE_ID}, headers=bearer(MASTER)).json()[0]["spend"] == 0.5
    assert llm.get("/spend/logs", params={"request_id": "req-a"}, headers=bearer(MASTER)).json()[0]["request_id"] == "req-a"
    assert llm.get("/spend/logs", params={"request_id": "nope"}, headers=bearer(MASTER)).json() == [None]
    mine = llm.get("/spend/logs", headers=bearer(FIRST_KEY)).json()  # an internal user sees its own rows
    assert {r["user"] for r in mine} == {STUDENT_ID}
    summary = llm.get("/spend/logs", params={"start_date": "2026-11-26", "end_date": "2026-11-28"}, headers=bearer(MASTER)).json()
    assert [d["startTime"] for d in summary] == ["2026-11-26", "2026-11-27", "2026-11-28"]
    assert summary[0]["users"] == {STUDENT_ID: 0.0, CLASSMATE_ID: 0.5}
    assert summary[0][ll.hash_key(OTHER_KEY)] == 0.5


def test_litellm_health_is_billed_and_logged(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    assert llm.get("/health").status_code == 401
    answer = llm.get("/health", headers=bearer(MASTER)).json()
    assert answer["healthy_count"] == 3
    assert {r["api_key"] for r in fake_llm.state.spend_logs} == {ll.HEALTH_CHECK_KEY}
    assert all(r["spend"] >= 0 for r in fake_llm.state.spend_logs)
    assert [r.path for r in fake_llm.requests_matching(r"^/health$", "GET")] == ["/health", "/health"]


def test_litellm_without_database(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    fake_llm.state.db_connected = False
    assert llm.get("/key/list", headers=bearer(MASTER)).status_code == 500
    refused = llm.get("/v1/models", headers=bearer(FIRST_KEY))  # 400, not 401: the key cannot be looked up
    assert (refused.status_code, refused.json()["error"]["type"]) == (400, "no_db_connection")
    assert llm.post("/v1/chat/completions", json={"model": "mock-gpt-4o"}, headers=bearer(MASTER)).status_code == 200


def test_litellm_request_log_classifies_auth(llm: httpx.Client, fake_llm: ll.FakeLiteLLM) -> None:
    llm.get("/health/readiness")
    llm.get("/v1/models", headers=bearer(MASTER))
    llm.get("/v1/models", headers={"x-litellm-api-key": FIRST_KEY})
    llm.get("/v1/models", headers=bearer("sk-unknown"))
    llm.get("/key/list", params={"user_id": STUDENT_ID, "size": "100"}, headers=bearer(MASTER))
    log = fake_llm.request_log
    assert [r.auth for r in log] == ["none", "master", "virtual-key", "bad", "master"]
    assert [r.status for r in log] == [200, 200, 200, 401, 200]
    assert log[-1].query == {"user_id": [STUDENT_ID], "size": ["100"]}
    assert log[-1].query_string == f"user_id={STUDENT_ID}&size=100"
    assert {r.user_agent for r in log} == {UA}
    fake_llm.clear_log()
    assert fake_llm.request_log == []


# == LiteMaaS =======================================================================================


def test_litemaas_health_and_config(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    health = maas.get("/api/v1/health")
    sample = recorded("litemaas-health.json")
    assert health.status_code == 200
    assert keys_of(health.json()) == keys_of(sample)
    assert keys_of(health.json()["details"]) == keys_of(sample["details"])
    assert health.json()["details"]["environment"] == "production"
    assert maas.get("/api/v1/health/ready").json() == {"ready": True}
    assert maas.get("/api/v1/health/live").json() == {"alive": True}
    config = maas.get("/api/v1/config").json()
    assert keys_of(config) == {"version", "usageCacheTtlMinutes", "environment", "currency", "litellmApiUrl", "authMode"}
    assert (config["version"], config["authMode"]) == ("0.4.0", "oauth")
    fake_maas.state.health = {"checks": {"litellm": "unhealthy"}}
    fake_maas.state.ready = False
    broken = maas.get("/api/v1/health")
    assert (broken.status_code, broken.json()["status"], broken.json()["checks"]["database"]) == (503, "unhealthy", "healthy")
    assert maas.get("/api/v1/health/ready").status_code == 503


def test_litemaas_login_auth_url(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    answer = maas.post("/api/auth/login", headers=student_jwt(fake_maas))
    url = urlsplit(answer.json()["authUrl"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://oauth-openshift.apps.cluster.example.com/oauth/authorize"
    assert query["client_id"] == ["system:serviceaccount:student-maas:litemaas"]
    assert query["redirect_uri"] == ["https://litemaas-student-maas.apps.cluster.example.com/api/auth/callback"]
    assert query["scope"] == ["user:info user:check-access"]
    assert query["response_type"] == ["code"] and len(query["state"][0]) == 64
    assert "scope=user%3Ainfo+user%3Acheck-access" in url.query  # URLSearchParams encoding
    assert fake_maas.state.audit == []  # login is never audited


def test_litemaas_auth_errors(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    no_auth = maas.get("/api/v1/subscriptions")
    assert no_auth.status_code == 401
    assert keys_of(no_auth.json()) == keys_of(recorded("litemaas-no-auth-curl.json"))
    assert no_auth.json()["error"] == recorded("litemaas-no-auth-curl.json")["error"]
    stranger = bearer(lm.mint_jwt("jwt-secret-test", {"userId": "550e8400-e29b-41d4-a716-446655440001", "roles": ["admin"]}))
    unknown_user = maas.get("/api/v1/subscriptions", headers=stranger)
    assert unknown_user.status_code == 401
    assert unknown_user.json()["error"] == recorded("litemaas-subs-with-devtoken-unknownuser.json")["error"]
    refused = [
        bearer("ltm_admin_wrong"),
        bearer("changeme"),
        bearer(FIRST_KEY),  # a user's LiteLLM key does not authenticate to the backend
        bearer(lm.mint_jwt("another-secret", {"userId": STUDENT_ID, "roles": ["admin"]})),
        bearer(fake_maas.token_for(STUDENT_ID, ["admin"], iat=1_000_000)),  # expired
        bearer(fake_maas.token_for(lm.SYSTEM_USER_ID, ["admin"])),  # inactive user
    ]
    for headers in refused:
        answer = maas.get("/api/v1/admin/users", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"] == {"code": "UNAUTHORIZED", "message": "Invalid or missing authentication token"}
    assert fake_maas.state.audit == []  # 401s leave no audit row
    assert [r.auth for r in fake_maas.request_log] == ["none", "bad", "bad", "bad", "bad", "bad", "bad", "bad"]


def test_litemaas_forbidden_writes_auth_denied(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    answer = maas.get("/api/v1/admin/audit", headers=student_jwt(fake_maas, ["user"]))
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert keys_of(error) == {"code", "message", "statusCode", "details", "timestamp", "requestId"}
    assert (error["code"], error["message"]) == ("FORBIDDEN", "Access denied. Required permission: admin:audit")
    assert error["details"]["metadata"] == {}
    actions = [(r["action"], r["resourceType"]) for r in fake_maas.state.audit]
    assert actions == [("AUTH_DENIED", "SECURITY"), ("GET_/api/v1/admin/audit", "API_ACCESS")]
    assert fake_maas.state.audit[1]["metadata"]["statusCode"] == 403
    student = fake_maas.state.user_by_id(STUDENT_ID)
    assert student is not None and student["lastLoginAt"] is None  # only calls below 400 count


def test_litemaas_auth_me(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    me = maas.get("/api/v1/auth/me", headers=student_jwt(fake_maas, ["user"]))
    assert keys_of(me.json()) == keys_of(recorded("litemaas-auth-me.json"))
    assert me.json()["roles"] == ["admin", "user"]  # from the database, not the token
    assert me.json()["name"] == "Stu Dent"
    with_key = maas.get("/api/v1/auth/me", headers=bearer(ADMIN_KEY))
    assert with_key.status_code == 500
    assert (with_key.json()["error"]["code"], with_key.json()["error"]["message"]) == (
        "INTERNAL_ERROR",
        "Failed to get user profile",
    )


def test_litemaas_users_list(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    users = maas.get("/api/v1/users", headers=bearer(ADMIN_KEY)).json()
    assert keys_of(users) == {"data", "pagination"}
    assert [u["username"] for u in users["data"]] == ["classmate", "student", "system"]  # created_at desc
    student = users["data"][1]
    assert keys_of(student) == {"id", "username", "email", "fullName", "roles", "isActive", "createdAt"}
    assert student["createdAt"] == "Thu Nov 26 2026 10:00:00 GMT+0000 (Coordinated Universal Time)"
    assert users["data"][2]["roles"] == [] and users["data"][2]["isActive"] is False
    page = maas.get("/api/v1/users", params={"page": 2, "limit": 2}, headers=bearer(ADMIN_KEY)).json()
    assert page["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}
    assert [
        u["username"] for u in maas.get("/api/v1/users", params={"search": "STU"}, headers=bearer(ADMIN_KEY)).json()["data"]
    ] == ["student"]
    too_big = maas.get("/api/v1/users", params={"limit": 101}, headers=bearer(ADMIN_KEY))
    assert too_big.status_code == 400
    assert too_big.json()["error"]["details"]["validation"][0] == {
        "field": "limit",
        "message": "must be <= 100",
        "code": "maximum",
    }
    # The student's own earlier call now shows as lastLoginAt (a Date.toString() string).
    maas.get("/api/v1/users", headers=student_jwt(fake_maas))
    listed = maas.get("/api/v1/users", headers=bearer(ADMIN_KEY)).json()["data"][1]
    assert listed["lastLoginAt"].endswith("GMT+0000 (Coordinated Universal Time)")


def test_litemaas_admin_users(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    sample = recorded("litemaas-admin-users-apikey.json")
    for headers in (bearer(ADMIN_KEY), student_jwt(fake_maas)):
        answer = maas.get("/api/v1/admin/users", headers=headers).json()
        assert keys_of(answer) == keys_of(sample)
        assert keys_of(answer["users"][0]) == keys_of(sample["users"][0])
        assert [u["username"] for u in answer["users"]] == ["classmate", "student", "system"]
        assert answer["total"] == 3


def test_litemaas_admin_user_details(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    fake_maas.state.users[1].update(maxBudget=50, tpmLimit=20000, rpmLimit=60, lastLoginAt=T0)
    detail = maas.get(f"/api/v1/admin/users/{STUDENT_ID}", headers=bearer(ADMIN_KEY)).json()
    assert keys_of(detail) == {
        "id",
        "username",
        "email",
        "fullName",
        "roles",
        "isActive",
        "maxBudget",
        "currentSpend",
        "tpmLimit",
        "rpmLimit",
        "syncStatus",
        "lastLoginAt",
        "createdAt",
        "subscriptionsCount",
        "activeSubscriptionsCount",
        "apiKeysCount",
        "activeApiKeysCount",
    }
    assert (detail["maxBudget"], detail["tpmLimit"], detail["rpmLimit"]) == (50, 20000, 60)
    assert (detail["subscriptionsCount"], detail["activeSubscriptionsCount"], detail["apiKeysCount"]) == (2, 1, 1)
    assert detail["lastLoginAt"] == "Thu Nov 26 2026 10:00:00 GMT+0000 (Coordinated Universal Time)"
    missing = maas.get("/api/v1/admin/users/11111111-2222-3333-4444-555555555555", headers=bearer(ADMIN_KEY))
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "User not found")
    assert maas.get("/api/v1/admin/users/not-a-uuid", headers=bearer(ADMIN_KEY)).status_code == 400

    keys = maas.get(f"/api/v1/admin/users/{STUDENT_ID}/api-keys", headers=bearer(ADMIN_KEY)).json()
    assert keys["pagination"]["total"] == 1
    key = keys["data"][0]
    assert (key["name"], key["keyPrefix"], key["maxBudget"]) == ("my-first-key", FIRST_KEY[:7], 2)
    assert key["createdAt"].endswith("(Coordinated Universal Time)")
    subs = maas.get(
        f"/api/v1/admin/users/{STUDENT_ID}/subscriptions", params={"status": "pending"}, headers=bearer(ADMIN_KEY)
    ).json()
    assert [(s["modelId"], s["status"]) for s in subs["data"]] == [("TinyLlama-1.1B", "pending")]
    assert keys_of(subs["data"][0]) == {"id", "modelId", "modelName", "provider", "status", "createdAt"}

    by_user = maas.get("/api/v1/admin/api-keys", params={"userIds": STUDENT_ID}, headers=bearer(ADMIN_KEY)).json()
    assert [(k["name"], k["username"]) for k in by_user["apiKeys"]] == [("my-first-key", "student")]
    assert by_user["apiKeys"][0]["keyAlias"].startswith("my-first-key_")
    assert maas.get("/api/v1/admin/api-keys", headers=bearer(ADMIN_KEY)).json() == {"apiKeys": [], "total": 0}


def test_litemaas_models(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    sample = recorded("litemaas-models.json")
    models = maas.get("/api/v1/models").json()
    assert keys_of(models) == keys_of(sample)
    assert [m["id"] for m in models["data"]] == ["Llama-3.2-3B", "TinyLlama-1.1B"]  # only available models
    tiny = models["data"][1]
    assert keys_of(tiny) == keys_of(sample["data"][1])  # no output cost, no apiBase: both omitted
    assert tiny["restrictedAccess"] is True
    llama = models["data"][0]
    assert keys_of(llama) == keys_of(sample["data"][0]) | {"apiBase"}
    assert (llama["inputCostPerToken"], llama["pricing"]["unit"]) == (1e-7, "per_1k_tokens")
    assert maas.get("/api/v1/models", params={"limit": 1, "page": 2}).json()["data"][0]["id"] == "TinyLlama-1.1B"
    assert fake_maas.state.audit == []  # public and unauthenticated: no row
    maas.get("/api/v1/models", headers=bearer(ADMIN_KEY))
    assert fake_maas.state.audit == []  # the admin key is not seen by the public route's pre-handler
    maas.get("/api/v1/models", headers=student_jwt(fake_maas))
    assert [r["action"] for r in fake_maas.state.audit] == ["GET_/api/v1/models"]


def test_litemaas_subscriptions(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    sample = recorded("litemaas-subscriptions.json")
    subs = maas.get("/api/v1/subscriptions", headers=student_jwt(fake_maas)).json()
    assert keys_of(subs) == keys_of(sample)
    assert keys_of(subs["data"][0]) == keys_of(sample["data"][0])
    assert [s["modelId"] for s in subs["data"]] == ["TinyLlama-1.1B", "Llama-3.2-3B"]  # newest first
    assert subs["pagination"] == {"page": 1, "limit": 20, "total": 2, "totalPages": 1}
    active = maas.get("/api/v1/subscriptions", params={"status": "active"}, headers=student_jwt(fake_maas)).json()
    assert [s["modelId"] for s in active["data"]] == ["Llama-3.2-3B"]
    assert maas.get("/api/v1/subscriptions", headers=bearer(ADMIN_KEY)).status_code == 500


def test_litemaas_dev_bypass_serves_browsers_as_mock_admin(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    browser = {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
        "Accept": "application/json",
    }
    answer = maas.get("/api/v1/subscriptions", headers=browser)
    assert answer.status_code == 200
    assert answer.json() == {"data": [], "pagination": {"page": 1, "limit": 20, "total": 0, "totalPages": 0}}
    assert maas.get("/api/v1/api-keys", headers={"Origin": "http://localhost:3000"}).status_code == 200
    no_json = {"User-Agent": browser["User-Agent"], "Accept": "text/html"}
    assert maas.get("/api/v1/subscriptions", headers=no_json).status_code == 401  # Accept without JSON
    assert maas.get("/api/v1/admin/users", headers=browser).status_code == 401  # not a bypass route
    assert fake_maas.state.audit == []


def test_litemaas_admin_subscriptions(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    sample = recorded("litemaas-admin-subscriptions.json")
    fake_maas.state.approve_subscription("5b65f20e-4449-4a26-ab01-c875a3519b98", CLASSMATE_ID, at=T0 + timedelta(2))
    listed = maas.get("/api/v1/admin/subscriptions", headers=bearer(ADMIN_KEY)).json()
    assert keys_of(listed) == keys_of(sample)
    assert keys_of(listed["data"][0]) == keys_of(sample["data"][0])
    assert keys_of(listed["data"][0]["model"]) == keys_of(sample["data"][0]["model"])
    unset = [s for s in listed["data"] if s["statusChangedAt"] == ""]
    assert len(unset) == 2 and all(s["statusReason"] == "" and s["statusChangedBy"] == "" for s in unset)
    assert listed["data"][-1]["statusChangedBy"] == CLASSMATE_ID  # NULLs sort first under DESC
    assert listed["data"][-1]["statusChangedAt"] == "2026-11-28T10:00:00.000Z"
    mine = maas.get(
        "/api/v1/admin/subscriptions",
        params={"userIds": STUDENT_ID, "statuses": ["active", "pending"]},
        headers=bearer(ADMIN_KEY),
    )
    assert len(mine.json()["data"]) == 2
    pending = maas.get("/api/v1/admin/subscriptions", params={"statuses": "pending"}, headers=bearer(ADMIN_KEY)).json()
    assert pending["data"] == []
    brackets = maas.get("/api/v1/admin/subscriptions", params={"statuses[]": "pending"}, headers=bearer(ADMIN_KEY)).json()
    assert len(brackets["data"]) == 3  # `statuses[]` is not understood by the real parser either
    approved = [r for r in fake_maas.state.audit if r["action"] == "SUBSCRIPTION_APPROVED"]
    assert approved[0]["resourceId"] == "5b65f20e-4449-4a26-ab01-c875a3519b98"
    assert approved[0]["metadata"] == {"oldStatus": "pending", "userId": STUDENT_ID}
    assert fake_maas.state.status_history[0]["changed_by"] == CLASSMATE_ID


def test_litemaas_api_keys(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    sample = recorded("litemaas-apikeys-list.json")
    keys = maas.get("/api/v1/api-keys", headers=student_jwt(fake_maas)).json()
    assert keys_of(keys) == keys_of(sample)
    assert keys_of(keys["data"][0]) == keys_of(sample["data"][0])
    key = keys["data"][0]
    assert (key["name"], key["keyPrefix"], key["models"], key["budgetDuration"]) == (
        "my-first-key",
        "sk-at_R",
        ["Llama-3.2-3B"],
        "",
    )
    assert maas.get("/api/v1/api-keys", headers=bearer(ADMIN_KEY)).status_code == 500


def test_key_hashes_agree_between_services(fake_maas: lm.FakeLiteMaaS, fake_llm: ll.FakeLiteLLM) -> None:
    row = fake_maas.state.api_keys[0]
    assert row["keyHash"] == hashlib.sha256(FIRST_KEY.encode()).hexdigest() == ll.hash_key(FIRST_KEY)
    assert fake_llm.state.key_by_token(row["keyHash"]) is not None
    assert ll.make_key(FIRST_KEY, alias=None, user_id=None, models=[])["key_name"] == "sk-...d1Bw"


def test_litemaas_activity_and_admin_audit(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    state = fake_maas.state
    state.audit.append(
        lm.make_api_access(STUDENT_ID, "POST", "/api/v1/admin/usage/analytics", user_agent="Mozilla/5.0 Firefox", created_at=T0)
    )
    state.audit.append(
        lm.make_audit(
            "API_KEY_CREATE",
            user_id=STUDENT_ID,
            resource_type="API_KEY",
            resource_id="8ffb36cb-a3c8-45b5-a23d-64380b9dd238",
            metadata={"name": "my-first-key", "liteLLMKeyId": "secret"},
            created_at=T0 + timedelta(minutes=1),
        )
    )
    state.assign_roles(CLASSMATE_ID, ["admin-readonly", "user"], STUDENT_ID, at=T0 + timedelta(minutes=2))
    jwt = student_jwt(fake_maas)

    first = maas.get("/api/v1/users/me/activity", headers=jwt).json()
    assert keys_of(first) == {"data", "pagination"}
    assert [r["action"] for r in first["data"]] == ["USER_UPDATE", "API_KEY_CREATE", "POST_/api/v1/admin/usage/analytics"]
    assert keys_of(first["data"][0]) == {
        "id",
        "action",
        "resourceType",
        "resourceId",
        "ipAddress",
        "userAgent",
        "metadata",
        "createdAt",
    }
    assert first["data"][0]["userAgent"] == ""  # explicit rows carry no agent
    assert first["data"][2]["userAgent"] == "Mozilla/5.0 Firefox"

    second = maas.get("/api/v1/users/me/activity", headers=jwt).json()
    assert second["data"][0]["action"] == "GET_/api/v1/users/me/activity"  # the earlier call, not this one
    assert second["data"][0]["userAgent"] == UA
    filtered = maas.get(
        "/api/v1/users/me/activity", params={"action": "POST_/api/v1/admin/usage/analytics", "limit": 1}, headers=jwt
    ).json()
    assert [r["createdAt"] for r in filtered["data"]] == ["2026-11-26T10:00:00.000Z"]
    assert filtered["pagination"] == {"page": 1, "limit": 1, "total": 1, "totalPages": 1}

    audit = maas.get(
        "/api/v1/admin/audit", params={"userId": STUDENT_ID, "resourceType": "API_KEY"}, headers=bearer(ADMIN_KEY)
    ).json()
    assert len(audit["data"]) == 1
    row = audit["data"][0]
    assert keys_of(row) == {
        "id",
        "userId",
        "username",
        "email",
        "action",
        "resourceType",
        "resourceId",
        "success",
        "errorMessage",
        "metadata",
        "ipAddress",
        "createdAt",
    }
    assert "userAgent" not in row
    assert row["metadata"] == {"name": "my-first-key"}  # liteLLMKeyId stripped
    assert row["username"] == "student"
    user_update = maas.get("/api/v1/admin/audit", params={"action": "USER_UPDATE"}, headers=bearer(ADMIN_KEY)).json()["data"][0]
    assert (user_update["userId"], user_update["resourceId"]) == (STUDENT_ID, CLASSMATE_ID)
    assert user_update["metadata"] == {"changes": {"roles": ["admin-readonly", "user"]}}
    newest = maas.get("/api/v1/admin/audit", params={"limit": 1000}, headers=bearer(ADMIN_KEY)).json()
    assert newest["pagination"]["limit"] == 100
    times = [r["createdAt"] for r in newest["data"]]
    assert times == sorted(times, reverse=True)
    no_access = maas.get(
        "/api/v1/admin/audit", params={"excludeResourceTypes": "API_ACCESS,SECURITY"}, headers=bearer(ADMIN_KEY)
    ).json()
    assert {r["resourceType"] for r in no_access["data"]} == {"API_KEY", "USER"}
    assert maas.get("/api/v1/admin/audit", params={"userId": "nope"}, headers=bearer(ADMIN_KEY)).status_code == 500
    assert maas.get("/api/v1/users/me/activity", headers=bearer(ADMIN_KEY)).status_code == 500


def test_litemaas_audit_side_effects(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    state = fake_maas.state
    maas.get("/api/v1/health")
    maas.get("/api/v1/health/ready", headers=student_jwt(fake_maas))
    assert state.audit == []
    maas.get("/api/v1/admin/audit", params={"action": "X"}, headers=student_jwt(fake_maas))
    maas.get("/api/v1/admin/users", headers={**bearer(ADMIN_KEY), "User-Agent": "maas-lab/9"})
    jwt_row, key_row = state.audit
    assert (jwt_row["action"], jwt_row["resourceType"], jwt_row["resourceId"]) == ("GET_/api/v1/admin/audit", "API_ACCESS", None)
    assert (jwt_row["userId"], jwt_row["userAgent"]) == (STUDENT_ID, UA)
    assert jwt_row["metadata"]["url"] == "/api/v1/admin/audit?action=X"
    assert (jwt_row["metadata"]["statusCode"], jwt_row["metadata"]["method"], jwt_row["metadata"]["authenticatedAs"]) == (
        200,
        "GET",
        STUDENT_ID,
    )
    assert (key_row["userId"], key_row["userAgent"], key_row["metadata"]["authenticatedAs"]) == (
        None,
        "maas-lab/9",
        "admin-api-key",
    )
    student = state.user_by_id(STUDENT_ID)
    assert student is not None and student["lastLoginAt"] is not None
    maas.get(f"/api/v1/admin/users/{STUDENT_ID}", headers=bearer(ADMIN_KEY))
    assert state.audit[-1]["action"] == "GET_/api/v1/admin/users/:id"  # the route pattern, not the path
    maas.get("/api/v1/no-such-route", headers=student_jwt(fake_maas))
    assert (state.audit[-1]["action"], state.audit[-1]["metadata"]["statusCode"]) == ("GET_/api/v1/no-such-route", 404)


def test_litemaas_settings(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    defaults = maas.get("/api/v1/admin/settings/api-key-defaults", headers=bearer(ADMIN_KEY)).json()
    assert keys_of(defaults["defaults"]) == {
        "maxBudget",
        "tpmLimit",
        "rpmLimit",
        "budgetDuration",
        "softBudget",
        "expirationDays",
    }
    assert keys_of(defaults["maximums"]) == {"maxBudget", "tpmLimit", "rpmLimit", "expirationDays"}
    assert set(defaults["defaults"].values()) == {None}
    fake_maas.state.api_key_defaults = {"defaults": {"maxBudget": 10}, "maximums": {"maxBudget": 25}}
    defaults = maas.get("/api/v1/admin/settings/api-key-defaults", headers=student_jwt(fake_maas)).json()
    assert (defaults["defaults"]["maxBudget"], defaults["maximums"]["maxBudget"], defaults["defaults"]["tpmLimit"]) == (
        10,
        25,
        None,
    )
    users = maas.get("/api/v1/admin/settings/user-defaults", headers=bearer(ADMIN_KEY)).json()
    assert users == {
        "maxBudget": None,
        "tpmLimit": None,
        "rpmLimit": None,
        "envDefaults": {"maxBudget": 100, "tpmLimit": 100000, "rpmLimit": 120},
    }
    assert maas.get("/api/v1/admin/settings/user-defaults", headers=student_jwt(fake_maas, ["user"])).status_code == 403


def test_litemaas_forbidden_endpoints_behave_like_the_real_ones(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    admin_jwt = student_jwt(fake_maas, ["admin"])
    sync = maas.post("/api/v1/models/sync", json={}, headers=admin_jwt)
    assert keys_of(sync.json()) == keys_of(recorded("litemaas-models-sync.json"))
    assert sync.json()["totalModels"] == 2
    assert maas.post("/api/v1/models/sync", headers=admin_jwt).status_code == 400  # body {} is required
    assert maas.post("/api/v1/models/sync", json={}, headers=student_jwt(fake_maas)).status_code == 403  # admin-readonly
    period = {"startDate": "2026-11-01", "endDate": "2026-11-26"}
    admin_analytics = maas.post("/api/v1/admin/usage/analytics", json=period, headers=student_jwt(fake_maas))
    assert keys_of(admin_analytics.json()) == keys_of(recorded("litemaas-admin-usage-analytics.json"))
    assert admin_analytics.json()["period"] == period
    assert maas.post("/api/v1/usage/analytics", json=period, headers=admin_jwt).status_code == 200
    assert maas.post("/api/v1/usage/analytics", json={"startDate": "2026-11-01"}, headers=admin_jwt).status_code == 400
    revealed = maas.post(
        "/api/v1/api-keys/8ffb36cb-a3c8-45b5-a23d-64380b9dd238/reveal",
        headers={**student_jwt(fake_maas), "User-Agent": "Mozilla/5.0 Firefox/140.0"},
    )
    assert revealed.json()["key"] == FIRST_KEY and revealed.json()["keyType"] == "litellm"
    retrieve = next(r for r in fake_maas.state.audit if r["action"] == "API_KEY_RETRIEVE_FULL")
    assert retrieve["userAgent"] is None and retrieve["metadata"]["userAgent"] == "Mozilla/5.0 Firefox/140.0"
    assert fake_maas.state.audit[-1]["action"] == "POST_/api/v1/api-keys/:id/reveal"
    other = maas.post(f"/api/v1/api-keys/{fake_maas.state.api_keys[1]['id']}/reveal", headers=student_jwt(fake_maas))
    assert other.status_code == 404
    actions = [r["action"] for r in fake_maas.state.audit]
    assert "POST_/api/v1/admin/usage/analytics" in actions and "POST_/api/v1/models/sync" in actions
    assert len(fake_maas.requests_matching(r"/reveal$", "POST")) == 2


def test_jwt_round_trip() -> None:
    token = lm.mint_jwt("s3cret", {"userId": STUDENT_ID, "roles": ["admin-readonly"], "exp": 4_000_000_000})
    header = json.loads(lm._b64url_decode(token.split(".")[0]))
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert lm.decode_jwt("s3cret", token) == {"userId": STUDENT_ID, "roles": ["admin-readonly"], "exp": 4_000_000_000}
    assert lm.decode_jwt("other", token) is None
    assert lm.decode_jwt("s3cret", lm.mint_jwt("s3cret", {"exp": 1})) is None


def test_date_formats() -> None:
    moment = datetime(2026, 11, 5, 9, 3, 7, 179000, tzinfo=UTC)
    assert lm.js_date_string(moment) == "Thu Nov 05 2026 09:03:07 GMT+0000 (Coordinated Universal Time)"
    assert lm.iso_ms(moment) == "2026-11-05T09:03:07.179Z"
    assert lm._dt(lm.js_date_string(moment)) == moment.replace(microsecond=0)
    assert ll.iso_z(moment) == "2026-11-05T09:03:07.179000Z"


# == server base ====================================================================================


class _Echo(AppServer):
    def handle(self, request: Request) -> Response:
        return json_response(200, {"path": request.path, "query": request.query})


def test_fault_injection() -> None:
    with _Echo() as server, httpx.Client(base_url=server.url, timeout=5) as client:
        server.inject(r"^/flaky$", status=503, body={"error": "down"}, times=1)
        assert (client.get("/flaky").status_code, client.get("/flaky").status_code) == (503, 200)
        server.inject(r"^/raw", status=502, body=b"<html>bad gateway</html>", method="GET")
        assert client.get("/raw").text == "<html>bad gateway</html>"
        assert client.post("/raw").status_code == 200  # the fault is for GET only
        server.inject(r"^/slow$", delay=0.05)
        assert client.get("/slow").json()["path"] == "/slow"  # delayed, then answered normally
        server.inject(r"^/gone$", drop=True)
        with pytest.raises(httpx.TransportError):
            client.get("/gone")
        server.clear_faults()
        assert client.get("/raw").status_code == 200
        assert [r.status for r in server.requests_matching(r"^/flaky$")] == [503, 200]


def test_fault_injection_on_fakes(maas: httpx.Client, fake_maas: lm.FakeLiteMaaS) -> None:
    fake_maas.inject(r"^/api/v1/admin/users$", status=500, times=1)
    assert maas.get("/api/v1/admin/users", headers=bearer(ADMIN_KEY)).status_code == 500
    assert maas.get("/api/v1/admin/users", headers=bearer(ADMIN_KEY)).status_code == 200
    assert len(fake_maas.state.audit) == 1  # the faulted call never reached the backend


def test_tls_mode(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    state = ll.LiteLLMState()
    with ll.FakeLiteLLM(state, tls_cert=(str(cert_file), str(key_file))) as server:
        assert server.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context()
        ca.configure_trust(context)
        with httpx.Client(verify=context, timeout=5) as client:
            assert client.get(f"{server.url}/health/liveness").json() == "I'm alive!"
        with httpx.Client(timeout=5) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(f"{server.url}/health/liveness")
