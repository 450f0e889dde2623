"""maas-lab's LiteLLM client against the real LiteLLM proxy 1.81.0 (PyPI), started without a database.

Run with `nox -s integration`. Without a database LiteLLM answers health, models and chats with the master key;
every other key gets 400 `no_db_connection` (with a database: 401), and key/user/spend routes answer 500.
"""

from __future__ import annotations

import importlib.util
import secrets
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if importlib.util.find_spec("litellm") is None:
    pytest.skip("litellm is not installed: run `nox -s integration` (installs litellm[proxy]==1.81.0)", allow_module_level=True)

from maas_lab.errors import ServiceError, ServiceUnreachable
from maas_lab.evidence.litellm import LiteLLM
from maas_lab.evidence.sensitive import Redactor, Sensitive
from maas_lab.evidence.services import CredentialRejected, Fetch, error_message

if TYPE_CHECKING:
    from .conftest import Proxy

pytestmark = pytest.mark.integration

LITELLM_VERSION = "1.81.0"  # what LiteMaaS v0.4.0 ships
SECRET_NAME = "litemaas-litellm"
CHAT_MODEL = "mock-gpt-4o"


def _error(body: Any) -> dict[str, Any]:
    """LiteLLM's `{"error": {...}}` object."""
    assert isinstance(body, dict), body
    error = body.get("error")
    assert isinstance(error, dict), body
    return error


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _api(fetch: Fetch, proxy: Proxy, master_key: Sensitive | None) -> LiteLLM:
    return LiteLLM(fetch, proxy.base_url, master_key, secret_name=SECRET_NAME)


# -- unauthenticated ---------------------------------------------------------------------------------------


def test_readiness_reports_version_and_no_database(litellm_api: LiteLLM) -> None:
    answer = litellm_api.readiness()
    assert answer.status == 200
    body = answer.json_dict()
    assert body["litellm_version"] == LITELLM_VERSION
    assert body["status"] == "healthy"
    # The exact string the 2.litellm-healthy check reports when the DB is missing ("connected" when present).
    assert body["db"] == "Not connected"


@pytest.mark.parametrize("path", ["/health/liveliness", "/health/liveness"])
def test_liveliness_is_a_json_string(fetch: Fetch, litellm_proxy: Proxy, path: str) -> None:
    answer = fetch("GET", litellm_proxy.base_url + path)
    assert (answer.status, answer.body) == (200, "I'm alive!")
    assert answer.json_dict() == {}  # a string body is no dict: callers must not expect fields here


# -- master key --------------------------------------------------------------------------------------------


def test_model_info_lists_the_config_models(litellm_api: LiteLLM, litellm_proxy: Proxy) -> None:
    models = litellm_api.model_info()
    assert sorted(m["model_name"] for m in models) == sorted(litellm_proxy.models)
    for model in models:
        info = model["model_info"]
        assert info["db_model"] is False  # from the config file; LiteMaaS-made models say True
        # numbers in model_info (litellm_params carries strings only for DB models)
        assert (info["input_cost_per_token"], info["output_cost_per_token"]) == pytest.approx(litellm_proxy.costs[model["model_name"]])
        assert model["litellm_params"]["mock_response"] == litellm_proxy.models[model["model_name"]]


def test_models_with_the_master_key(litellm_api: LiteLLM, litellm_proxy: Proxy) -> None:
    answer = litellm_api.models_with_key(litellm_proxy.master_key)
    assert answer.status == 200
    body = answer.json_dict()
    assert body["object"] == "list"
    assert sorted(m["id"] for m in body["data"]) == sorted(litellm_proxy.models)


def test_chat_with_the_master_key(litellm_api: LiteLLM, litellm_proxy: Proxy) -> None:
    answer = litellm_api.chat_with_key(litellm_proxy.master_key, CHAT_MODEL)
    assert answer.status == 200, answer.body
    body = answer.json_dict()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"content": litellm_proxy.models[CHAT_MODEL], "role": "assistant"}
    assert body["usage"] == {"completion_tokens": 20, "prompt_tokens": 10, "total_tokens": 30}
    assert answer.headers["x-litellm-version"] == LITELLM_VERSION
    assert answer.headers["x-litellm-model-group"] == CHAT_MODEL


def test_chat_with_an_unknown_model_is_a_400(litellm_api: LiteLLM, litellm_proxy: Proxy) -> None:
    answer = litellm_api.chat_with_key(litellm_proxy.master_key, "no-such-model")
    assert answer.status == 400
    assert "Invalid model name passed in model=no-such-model" in error_message(answer)


# -- authentication errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/models", "/model/info"])
def test_no_key_is_a_401(fetch: Fetch, litellm_proxy: Proxy, path: str) -> None:
    answer = fetch("GET", litellm_proxy.base_url + path)
    assert answer.status == 401
    error = _error(answer.body)
    assert error["type"] == "auth_error"
    assert error_message(answer) == "Authentication Error, No api key passed in."


def test_unknown_key_without_database_is_a_400(litellm_api: LiteLLM) -> None:
    """With a database the same key gets 401 `token_not_found_in_db`; without one LiteLLM cannot look it up."""
    key = Sensitive("sk-" + secrets.token_urlsafe(16))
    answer = litellm_api.models_with_key(key)
    assert answer.status == 400
    assert _error(answer.body)["type"] == "no_db_connection"
    assert error_message(answer) == "No connected db."
    assert key.reveal() not in str(answer.body)


def test_non_sk_token_is_kept_out_of_our_output(litellm_api: LiteLLM) -> None:
    """LiteLLM echoes a non-`sk-` token verbatim, but only once it can reach its DB; our redaction must hide it."""
    token = "not-a-virtual-key-" + secrets.token_hex(12)
    answer = litellm_api.models_with_key(Sensitive(token))
    assert answer.status == 400  # the DB check comes before the `sk-` check in 1.81.0
    message = f"LiteLLM rejected the key {Sensitive(token)}: {error_message(answer)}"  # as 4.key-works words it
    assert token not in message
    redactor = Redactor()
    redactor.remember(token)  # 4.key-works remembers the student's key before calling
    echoed = f"Authentication Error, LiteLLM Virtual Key expected. Received={token}, expected to start with 'sk-'."
    assert token not in redactor.scrub(echoed)
    assert token not in redactor.scrub(str(answer.body))


def test_wrong_master_key_without_database_is_a_service_error(fetch: Fetch, litellm_proxy: Proxy) -> None:
    """Without a database a wrong master key gets 400, not 401: no CredentialRejected is possible here."""
    wrong = Sensitive("sk-" + secrets.token_urlsafe(16))
    with pytest.raises(ServiceError) as caught:
        _api(fetch, litellm_proxy, wrong).model_info()
    assert not isinstance(caught.value, CredentialRejected)
    assert str(caught.value) == "LiteLLM /model/info answered 400: No connected db."
    assert wrong.reveal() not in str(caught.value)


def test_missing_master_key_is_credential_rejected_before_any_request(litellm_proxy: Proxy) -> None:
    sent: list[str] = []

    def recording_fetch(method: str, url: str, **_: Any) -> Any:
        sent.append(url)
        raise AssertionError("no request may be sent without a master key")

    with pytest.raises(CredentialRejected, match=f"in Secret {SECRET_NAME} is missing or empty"):
        LiteLLM(recording_fetch, litellm_proxy.base_url, None, secret_name=SECRET_NAME).model_info()
    assert sent == []


@pytest.mark.parametrize("shape", ["empty", "trailing newline", "trailing space"])
def test_unusable_master_key_is_credential_rejected(fetch: Fetch, litellm_proxy: Proxy, shape: str) -> None:
    real = litellm_proxy.master_key.reveal()
    value = {"empty": "", "trailing newline": real + "\n", "trailing space": real + " "}[shape]
    with pytest.raises(CredentialRejected):
        _api(fetch, litellm_proxy, Sensitive(value)).model_info()


# -- routes that need the database -------------------------------------------------------------------------

READS_NEEDING_DB: dict[str, Callable[[LiteLLM], object]] = {
    "users": lambda api: api.users(),
    "keys_of": lambda api: api.keys_of("someone"),
    "user_info": lambda api: api.user_info("someone"),
    "spend_logs": lambda api: api.spend_logs("someone"),
}


@pytest.mark.parametrize("read", sorted(READS_NEEDING_DB))
def test_reads_needing_the_database_are_service_errors(litellm_api: LiteLLM, read: str) -> None:
    """500 without a DB, even where LiteLLM's message starts with "Authentication Error" (/key/list)."""
    with pytest.raises(ServiceError, match=r"answered 500: ") as caught:
        READS_NEEDING_DB[read](litellm_api)
    assert not isinstance(caught.value, CredentialRejected)
    assert "not connected" in str(caught.value).lower() or "no db connected" in str(caught.value).lower()


# -- transport ---------------------------------------------------------------------------------------------


def test_nothing_listening_is_service_unreachable(fetch: Fetch, litellm_proxy: Proxy) -> None:
    closed = LiteLLM(fetch, f"http://127.0.0.1:{_free_port()}", litellm_proxy.master_key, secret_name=SECRET_NAME)
    with pytest.raises(ServiceUnreachable, match=r"could not connect to 127\.0\.0\.1"):
        closed.readiness()
