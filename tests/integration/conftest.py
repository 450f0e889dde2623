"""The real LiteLLM proxy 1.81.0 with its PostgreSQL database, as `nox -s integration` starts it (realstack).

The session runs `up.sh` from ../shared/realstack and exports LITELLM_URL, LITELLM_MASTER_KEY and REALSTACK_HOME
from its `realstack.env`. Tests set up their own users and keys through the management API (the test is the
admin), under fresh ids each run because the database outlives a run (the whole-grader test deletes and remakes
the World's own). The grader's reader only reads.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from maas_lab.evidence.http import HttpAnswer, make_client, request
from maas_lab.evidence.litellm import LiteLLM
from maas_lab.evidence.sensitive import Sensitive
from maas_lab.evidence.services import Fetch

SECRET_NAME = "litemaas-litellm"  # the Helm chart's name; only shown in messages
LOG_TAIL_LINES = 60
SPEND_WAIT = 60.0  # spend rows are written in batches (every 2 s in realstack's config)

# realstack's config: model name -> $ per input and output token; every mock call is 10 prompt + 20 completion tokens
MOCK_COSTS = {
    "mock-gpt-4o": (0.000005, 0.000015),
    "mock-llama-3-8b": (0.0000002, 0.0000002),
    "mock-granite-embed": (0.0000001, 0.0),
}


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class RealStack:
    """The running proxy, and the admin calls tests use to set up their data."""

    base_url: str
    master_key: Sensitive
    admin: httpx.Client

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.admin.post(path, json=body)
        assert response.status_code == 200, f"set-up {path} answered {response.status_code}: {response.text[:500]}"
        answer: dict[str, Any] = response.json()
        return answer

    def new_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        return self.post("/user/new", {"user_id": user_id, **fields})

    def new_key(self, user_id: str, **fields: Any) -> str:
        """A virtual key for `user_id`; returns the key itself (sk-…)."""
        return str(self.post("/key/generate", {"user_id": user_id, **fields})["key"])

    def wait_for_spend(self, user_id: str, rows: int, spend: float) -> None:
        """Poll until the user has `rows` spend rows and `spend` on its counter: LiteLLM writes both in batches,
        separately (the rows can be there while the user's spend still reads 0)."""
        deadline = time.monotonic() + SPEND_WAIT
        while True:
            found = self.admin.get("/spend/logs", params={"user_id": user_id}).json()
            counted = self.admin.get("/user/info", params={"user_id": user_id}).json()["user_info"]["spend"]
            if (len(found) >= rows and counted >= spend - 1e-12) or time.monotonic() > deadline:
                return
            time.sleep(1.0)


def _connection() -> tuple[str, str]:
    url, key = os.environ.get("LITELLM_URL"), os.environ.get("LITELLM_MASTER_KEY")
    if not url or not key:
        pytest.fail(
            "LITELLM_URL and LITELLM_MASTER_KEY are not set: run `nox -s integration`, which starts the real "
            "LiteLLM with PostgreSQL (../shared/realstack/up.sh) and sets them",
            pytrace=False,
        )
    return url.rstrip("/"), key


@pytest.fixture(scope="session")
def stack() -> Iterator[RealStack]:
    url, key = _connection()
    headers = {"Authorization": f"Bearer {key}"}
    # generous: the first management call of a fresh proxy imports a lot (7 s idle, far more on a loaded machine)
    with httpx.Client(base_url=url, headers=headers, timeout=120.0, trust_env=False) as admin:
        ready = admin.get("/health/readiness")
        if ready.status_code != 200 or ready.json().get("db") != "connected":
            pytest.fail(f"LiteLLM at {url} is not ready with its database: {ready.text[:300]}", pytrace=False)
        yield RealStack(url, Sensitive(key), admin)


@pytest.fixture(scope="session")
def run_id() -> str:
    """Fresh ids per run: the database keeps the users and keys of earlier runs."""
    return secrets.token_hex(4)


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
def litellm_api(fetch: Fetch, stack: RealStack) -> LiteLLM:
    """The reader as the snapshot builds it, with the stack's real master key."""
    return LiteLLM(fetch, stack.base_url, stack.master_key, secret_name=SECRET_NAME)


_STACK_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    home = os.environ.get("REALSTACK_HOME")
    if home:
        config.stash[_STACK_HOME] = Path(home)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows the end of the proxy's log: LiteLLM explains most of its errors only there."""
    report = yield
    home = item.config.stash.get(_STACK_HOME, None)
    if report.failed and home is not None:
        report.sections.append(("LiteLLM log (tail)", _tail(home / "logs" / "litellm.log")))
    return report
