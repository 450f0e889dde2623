"""The real LiteLLM 1.81.0 started WITHOUT its database, as a student's LiteLLM is when its DATABASE_URL or schema
is wrong: readiness says so (2.litellm-healthy fails), and the reads that need the database are grader-side errors,
never a rejected credential.

The proxy runs from realstack's venv (REALSTACK_HOME/venv) on a free loopback port, with mock models only.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml

from maas_lab.errors import ServiceError
from maas_lab.evidence.litellm import LiteLLM
from maas_lab.evidence.sensitive import Sensitive
from maas_lab.evidence.services import CredentialRejected, Fetch, error_message
from tests.fakes import litellm as ll

from .conftest import SECRET_NAME

pytestmark = pytest.mark.integration

READY_TIMEOUT = 120.0
CONFIG = {
    "model_list": [
        {
            "model_name": "mock-gpt-4o",
            "litellm_params": {"model": "openai/mock-gpt-4o", "api_key": "sk-fake-not-used", "mock_response": "Hello!"},
        }
    ],
    "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
}
# Inherited settings that would give the proxy a database, a cache or a port we did not choose.
_DROPPED_ENV_PREFIXES = ("LITELLM_", "DATABASE_", "REDIS_", "PRISMA_", "POSTGRES", "REALSTACK_")
_DROPPED_ENV = {"DIRECT_URL", "STORE_MODEL_IN_DB", "PORT", "HOST", "OPENAI_API_KEY", "OPENAI_BASE_URL"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the proxy's process group (it runs in its own session): TERM, then KILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=15.0)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Sensitive]]:
    home = os.environ.get("REALSTACK_HOME")
    python = Path(home or "") / "venv" / "bin" / "python"
    if not home or not python.is_file():
        pytest.fail(f"no LiteLLM venv at {python}: run `nox -s integration` (realstack installs it)", pytrace=False)
    workdir = tmp_path_factory.mktemp("litellm-no-db")
    (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    master_key = "sk-" + secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV_PREFIXES) and k not in _DROPPED_ENV}
    env.update(LITELLM_MASTER_KEY=master_key, LITELLM_LOCAL_MODEL_COST_MAP="True", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    port = _free_port()
    log_path = workdir / "litellm.log"
    command = [str(python), "-c", "from litellm.proxy.proxy_cli import run_server; run_server()",
               "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(trust_env=False, timeout=3.0) as probe:
            while True:
                try:
                    if probe.get(url + "/health/liveliness").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
                    pytest.fail(f"LiteLLM without a database did not start on port {port}:\n{tail}", pytrace=False)
                time.sleep(0.5)
            # The first management call imports a lot (about 7 s on an idle 2-core machine): take it here, not
            # inside a test's 10 s request timeout. A deployed proxy has long been warmed by LiteMaaS's calls.
            probe.get(url + "/key/list", headers={"Authorization": f"Bearer {master_key}"}, timeout=READY_TIMEOUT)
        yield url, Sensitive(master_key)
    finally:
        _stop(process)


def test_readiness_says_the_database_is_not_connected(fetch: Fetch, proxy: tuple[str, Sensitive]) -> None:
    url, key = proxy
    answer = LiteLLM(fetch, url, key, secret_name=SECRET_NAME).readiness()
    assert answer.status == 200
    # What 2.litellm-healthy reports: "LiteLLM readiness: database Not connected".
    assert (answer.json_dict()["status"], answer.json_dict()["db"]) == ("healthy", "Not connected")


READS_NEEDING_DB: dict[str, Callable[[LiteLLM], object]] = {
    "users": lambda api: api.users(),
    "keys_of": lambda api: api.keys_of("someone"),
    "user_info": lambda api: api.user_info("someone"),
    "spend_logs": lambda api: api.spend_logs("someone", since=date(2026, 1, 1), until=date(2026, 1, 2)),
}


@pytest.mark.parametrize("read", sorted(READS_NEEDING_DB))
def test_reads_needing_the_database_are_service_errors(fetch: Fetch, proxy: tuple[str, Sensitive], read: str) -> None:
    """500 without a database, even where LiteLLM's message starts with "Authentication Error" (/key/list)."""
    url, key = proxy
    with pytest.raises(ServiceError, match=r"answered 500: ") as caught:
        READS_NEEDING_DB[read](LiteLLM(fetch, url, key, secret_name=SECRET_NAME))
    assert not isinstance(caught.value, CredentialRejected)


def test_a_wrong_master_key_without_database_is_a_service_error(fetch: Fetch, proxy: tuple[str, Sensitive]) -> None:
    """Without its database LiteLLM cannot look a key up: 400, not 401, so no CredentialRejected."""
    url, _ = proxy
    wrong = Sensitive("sk-" + secrets.token_urlsafe(16))
    with pytest.raises(ServiceError) as caught:
        LiteLLM(fetch, url, wrong, secret_name=SECRET_NAME).model_info()
    assert not isinstance(caught.value, CredentialRejected)
    assert str(caught.value) == "LiteLLM /model/info answered 400: No connected db."
    assert wrong.reveal() not in str(caught.value)


def test_a_students_key_without_database_is_refused_with_a_400(fetch: Fetch, proxy: tuple[str, Sensitive]) -> None:
    url, key = proxy
    student_key = Sensitive("sk-" + secrets.token_urlsafe(16))
    answer = LiteLLM(fetch, url, key, secret_name=SECRET_NAME).models_with_key(student_key)
    assert (answer.status, error_message(answer)) == (400, "No connected db.")
    assert student_key.reveal() not in str(answer.body)


def test_the_fake_without_database_answers_with_the_same_statuses(fetch: Fetch, proxy: tuple[str, Sensitive]) -> None:
    """tests/fakes/litellm.py with `db_connected=False` answers the reader's requests as the real proxy does."""
    url, key = proxy
    wrong = "sk-" + secrets.token_urlsafe(16)
    requests = [
        ("/health/readiness", None, {}),
        ("/model/info", key.reveal(), {}),
        ("/model/info", wrong, {}),
        ("/v1/models", wrong, {}),
        ("/user/list", key.reveal(), {"page_size": "100", "page": "1"}),
        ("/user/info", key.reveal(), {"user_id": "someone"}),
        ("/key/list", key.reveal(), {"user_id": "someone", "return_full_object": "true", "size": "100", "page": "1"}),
        ("/spend/logs", key.reveal(), {"user_id": "someone"}),
    ]
    state = ll.LiteLLMState(master_key=key.reveal(), db_connected=False, models=[ll.make_model("mock-gpt-4o", db_model=False)])
    with ll.FakeLiteLLM(state) as fake:
        for path, credential, params in requests:
            auth = ("Bearer", credential) if credential else None
            real = fetch("GET", url + path, params=params, auth=auth)
            faked = fetch("GET", fake.url + path, params=params, auth=auth)
            assert (path, faked.status) == (path, real.status)
