"""HTTP to the student's Routes and to LiteMaaS/LiteLLM: one httpx client a run, errors translated once."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from maas_lab import USER_AGENT, verbose
from maas_lab.errors import ServiceUnreachable, TLSVerifyFailed

DEFAULT_HTTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class HttpAnswer:
    """Any HTTP answer (router 502s included): the student's side, never a grader error."""

    url: str
    status: int
    body: Any  # parsed JSON, else the text
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json_dict(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


def make_client(
    *, verify: bool | str = True, timeout: float = DEFAULT_HTTP_TIMEOUT, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """`verify` is True (system store), False (--insecure) or a CA bundle path (--ca-bundle)."""
    tls: bool | ssl.SSLContext = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
    return httpx.Client(
        verify=tls,
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        transport=transport,
        trust_env=False,  # a proxy from the environment would change who we talk to; overrides are explicit
    )


@verbose.collecting
def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
) -> HttpAnswer:
    """Send one request; transport failures become grader-side errors naming the host."""
    host = httpx.URL(url).host
    try:
        response = client.request(method, url, params=params, headers=headers, json=json_body)
    except httpx.ConnectError as exc:
        if _is_tls_failure(exc):
            raise TLSVerifyFailed(f"TLS verification failed for {host}") from None
        raise ServiceUnreachable(f"could not connect to {host}") from None
    except httpx.TimeoutException:
        raise ServiceUnreachable(f"{host} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise ServiceUnreachable(f"request to {host} failed ({type(exc).__name__})") from None
    try:
        body: Any = response.json()
    except (ValueError, json.JSONDecodeError):
        body = response.text[:2000]
    return HttpAnswer(str(response.url), response.status_code, body, dict(response.headers))


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
