"""HTTP to the student's Routes and to LiteMaaS/LiteLLM: one httpx client a run, errors translated once.

TLS trusts the operating system's store (truststore), plus SSL_CERT_FILE / SSL_CERT_DIR when set, plus the
--ca-bundle when given. Proxies from the environment stay off: they would change who we talk to.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import truststore

from maas_lab import USER_AGENT, verbose
from maas_lab.errors import RunTimedOut, ServiceUnreachable, TLSVerifyFailed, UsageError
from maas_lab.evidence import retry
from maas_lab.evidence.retry import UNBOUNDED, Deadline, Reset

DEFAULT_HTTP_TIMEOUT = 10.0
MAX_BODY_BYTES = 32 * 1024 * 1024  # far above any answer the checks read; bounds memory against a runaway stream
READS = frozenset({"GET", "HEAD"})  # only these are retried: a POST (a chat completion) may cost the student


@dataclass(frozen=True)
class HttpAnswer:
    """Any HTTP answer (router 502s included): the student's side, never a grader error."""

    url: str
    status: int
    body: Any  # parsed JSON, else the text
    headers: dict[str, str] = field(default_factory=dict)
    is_json: bool = True  # False: `body` is the text of an answer that did not parse as JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json_dict(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


class Client(httpx.Client):
    """An httpx client that knows each request's own bound and the run's deadline."""

    def __init__(self, *, request_timeout: float, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_timeout = request_timeout
        self.deadline = deadline


def tls_context(verify: bool | str) -> ssl.SSLContext | bool:
    """The system store (+ SSL_CERT_FILE/SSL_CERT_DIR) + the CA bundle when `verify` is a path; False: no checks."""
    if verify is False:
        return False
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    extra = [("SSL_CERT_FILE", os.environ.get("SSL_CERT_FILE"), None), ("SSL_CERT_DIR", None, os.environ.get("SSL_CERT_DIR"))]
    if isinstance(verify, str):
        extra.append(("--ca-bundle", verify, None))
    for name, cafile, capath in extra:
        where = cafile or capath
        if not where or (name.startswith("SSL_") and not os.path.exists(where)):
            continue  # like OpenSSL, a variable naming nothing adds nothing
        try:
            context.load_verify_locations(cafile=cafile, capath=capath)
        except (ssl.SSLError, OSError, ValueError):
            raise UsageError(f"{name} {where}: not a PEM certificate bundle (or not readable)") from None
    return context


def make_client(
    *,
    verify: bool | str = True,
    timeout: float = DEFAULT_HTTP_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    deadline: Deadline = UNBOUNDED,
) -> Client:
    """`verify` is True (system store), False (--insecure) or a CA bundle path (--ca-bundle)."""
    return Client(
        request_timeout=timeout,
        deadline=deadline,
        verify=tls_context(verify),
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        transport=transport,
        trust_env=False,  # proxies from the environment stay off; the certificate variables are read above
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
    """Send one request (a read: twice at most); transport failures become grader-side errors naming the host."""
    try:
        host = httpx.URL(url).host or url
    except httpx.InvalidURL:
        raise ServiceUnreachable(f"cannot send a request to {url!r}: not a valid URL") from None
    bounded = client if isinstance(client, Client) else None
    deadline = bounded.deadline if bounded else UNBOUNDED
    request_timeout = bounded.request_timeout if bounded else DEFAULT_HTTP_TIMEOUT
    try:
        return retry.with_one_retry(
            lambda: _send(client, method, url, host, params, headers, json_body, deadline, request_timeout),
            retryable=method.upper() in READS,
            deadline=deadline,
            status=lambda answer: answer.status,
            headers=lambda answer: answer.headers,
        )
    except Reset as reset:
        raise ServiceUnreachable(f"{host} dropped the connection before a whole answer ({reset})") from None


def _send(
    client: httpx.Client,
    method: str,
    url: str,
    host: str,
    params: dict[str, Any] | None,
    headers: dict[str, str] | None,
    json_body: Any,
    deadline: Deadline,
    request_timeout: float,
) -> HttpAnswer:
    limit = deadline.bound(request_timeout, host)
    started = time.monotonic()
    try:
        with client.stream(
            method, url, params=params, headers=headers, json=json_body, timeout=httpx.Timeout(limit, connect=min(5.0, limit))
        ) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if time.monotonic() - started > limit:  # a body that trickles in would never end otherwise
                    raise httpx.ReadTimeout("the answer did not end in time", request=response.request)
                if size > MAX_BODY_BYTES:
                    raise ServiceUnreachable(f"{host} sent an answer larger than {MAX_BODY_BYTES // 2**20} MiB")
    except httpx.ConnectError as exc:
        if _is_tls_failure(exc):
            raise TLSVerifyFailed(f"TLS verification failed for {host}") from None
        raise ServiceUnreachable(f"could not connect to {host}") from None
    except httpx.TimeoutException:
        if limit < request_timeout:
            raise RunTimedOut(f"the run's --timeout was reached while waiting for {host}") from None
        raise ServiceUnreachable(f"{host} did not answer within {limit:g} s") from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise Reset(type(exc).__name__) from None
    except httpx.HTTPError as exc:
        raise ServiceUnreachable(f"request to {host} failed ({type(exc).__name__})") from None
    content = b"".join(chunks)
    try:
        return HttpAnswer(str(response.url), response.status_code, json.loads(content), dict(response.headers))
    except ValueError:  # not JSON (or not UTF-8): keep the start of the text for the message
        text = content.decode(response.encoding or "utf-8", "replace")[:2000]
        return HttpAnswer(str(response.url), response.status_code, text, dict(response.headers), is_json=False)


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
