"""Starts the real LiteLLM proxy (PyPI `litellm[proxy]==1.81.0`) on loopback for the integration tests.

No database: keys, users and spend need PostgreSQL, so these tests cover what LiteLLM answers without one.
Mock models (`mock_response`) answer chats, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from maas_lab.evidence.http import HttpAnswer, make_client, request
from maas_lab.evidence.litellm import LiteLLM
from maas_lab.evidence.sensitive import Sensitive
from maas_lab.evidence.services import Fetch

SECRET_NAME = "litemaas-litellm"  # the Helm chart's name; only shown in messages
READY_TIMEOUT = 90.0  # first start imports a lot; about 7 s on a 2-core machine
START_ATTEMPTS = 3  # a free port can be taken between our probe and LiteLLM's bind
LOG_TAIL_LINES = 60

# model name -> canned answer; LiteLLM reports 10 prompt + 20 completion tokens for every mock call
MOCK_MODELS = {
    "mock-gpt-4o": "Hello from mock-gpt-4o!",
    "mock-llama-3-8b": "Hi, I am mock-llama-3-8b.",
}
MOCK_COSTS = {"mock-gpt-4o": (0.000005, 0.000015), "mock-llama-3-8b": (0.0000002, 0.0000002)}

# Inherited settings that would give the proxy a database, a cache, a mode or a port we did not choose.
_DROPPED_ENV_PREFIXES = ("LITELLM_", "DATABASE_", "REDIS_", "PRISMA_", "POSTGRES")
_DROPPED_ENV = {"DIRECT_URL", "STORE_MODEL_IN_DB", "PORT", "HOST", "OPENAI_API_KEY", "OPENAI_BASE_URL"}

_LOG_KEY = pytest.StashKey[Path]()


@dataclass(frozen=True)
class Proxy:
    base_url: str
    port: int
    master_key: Sensitive
    log_path: Path
    models: dict[str, str]  # model name -> its canned answer
    costs: dict[str, tuple[float, float]]  # model name -> $ per input and output token

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return _tail(self.log_path, lines)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config() -> dict[str, Any]:
    models = [
        {
            "model_name": name,
            "litellm_params": {"model": f"openai/{name}", "api_key": "sk-fake-not-used", "mock_response": answer},
            "model_info": {
                "input_cost_per_token": MOCK_COSTS[name][0],
                "output_cost_per_token": MOCK_COSTS[name][1],
                "max_tokens": 4096,
            },
        }
        for name, answer in MOCK_MODELS.items()
    ]
    return {
        "model_list": models,
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        "litellm_settings": {"drop_params": True},
    }


def _env(master_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV_PREFIXES) and k not in _DROPPED_ENV}
    env.update(
        LITELLM_MASTER_KEY=master_key,
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # else the model cost map is downloaded at start
        DISABLE_SCHEMA_UPDATE="true",
        PYTHONUNBUFFERED="1",  # the log must be current when a failure shows its tail
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the proxy's whole process group: TERM, then KILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def _is_ready(client: httpx.Client, port: int, log_path: Path) -> bool:
    try:
        response = client.get(f"http://127.0.0.1:{port}/health/readiness", timeout=3.0)
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        return False
    # The log line proves the answer comes from our process and that it kept the port we gave it.
    return f"Uvicorn running on http://127.0.0.1:{port}" in _tail(log_path, 400)


def _start(workdir: Path, master_key: str, attempt: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    config_path = workdir / "config.yaml"
    if not config_path.exists():
        config_path.write_text(yaml.safe_dump(_config(), sort_keys=False), encoding="utf-8")
    port = _free_port()
    log_path = workdir / f"litellm-{attempt}.log"
    # `-c` rather than `-m litellm.proxy.proxy_cli`: same interpreter, without runpy's double-import warning.
    command = [
        sys.executable,
        "-c",
        "from litellm.proxy.proxy_cli import run_server; run_server()",
        "--config", str(config_path),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--num_workers", "1",
        "--telemetry", "False",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=_env(master_key),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so teardown can stop all of it
        )
    return process, port, log_path


@pytest.fixture(scope="session")
def litellm_proxy(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Proxy]:
    workdir = tmp_path_factory.mktemp("litellm-proxy")
    master_key = "sk-" + secrets.token_urlsafe(24)
    failures: list[str] = []
    with httpx.Client(trust_env=False) as probe:
        for attempt in range(1, START_ATTEMPTS + 1):
            process, port, log_path = _start(workdir, master_key, attempt)
            pytestconfig.stash[_LOG_KEY] = log_path
            deadline = time.monotonic() + READY_TIMEOUT
            while process.poll() is None and time.monotonic() < deadline:
                if _is_ready(probe, port, log_path):
                    break
                time.sleep(0.25)
            else:
                exited = process.poll() is not None
                _stop(process)
                tail = _tail(log_path, LOG_TAIL_LINES)
                failures.append(
                    f"attempt {attempt}: LiteLLM on port {port} "
                    + (f"exited with {process.returncode}" if exited else f"not ready after {READY_TIMEOUT:.0f}s")
                )
                if exited and "address already in use" in tail.lower():
                    continue  # lost the port race: try another port
                pytest.fail("\n".join(failures) + f"\n--- last lines of {log_path} ---\n{tail}", pytrace=False)
            break
        else:
            pytest.fail("\n".join(failures), pytrace=False)
    proxy = Proxy(f"http://127.0.0.1:{port}", port, Sensitive(master_key), log_path, dict(MOCK_MODELS), dict(MOCK_COSTS))
    try:
        yield proxy
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def http_client() -> Iterator[httpx.Client]:
    with make_client() as client:
        yield client


@pytest.fixture(scope="session")
def fetch(http_client: httpx.Client) -> Fetch:
    """What the snapshot's fetch does, without memoisation: one real request each call."""

    def send(
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        auth: tuple[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpAnswer:
        headers = {"Authorization": f"{auth[0]} {auth[1]}"} if auth else None
        return request(http_client, method, url, params=params, headers=headers, json_body=json_body)

    return send


@pytest.fixture
def litellm_api(fetch: Fetch, litellm_proxy: Proxy) -> LiteLLM:
    """The client as the snapshot builds it, with the proxy's real master key."""
    return LiteLLM(fetch, litellm_proxy.base_url, litellm_proxy.master_key, secret_name=SECRET_NAME)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows the end of the proxy's log: LiteLLM explains most of its errors only there."""
    report = yield
    log_path = item.config.stash.get(_LOG_KEY, None)
    if report.failed and log_path is not None:
        report.sections.append(("LiteLLM proxy log (tail)", _tail(log_path, LOG_TAIL_LINES)))
    return report
