"""Shared loopback HTTP server for the test fakes (LiteMaaS, LiteLLM).

`AppServer` runs a `ThreadingHTTPServer` on 127.0.0.1 (a free port unless one is given) in a daemon
thread, optionally behind TLS, and hands every request to `handle()`, which subclasses implement.
Every request is recorded in `request_log` (method, path, query, User-Agent, the auth kind the
subclass classified, the response status), so tests can assert what a grader did and did not call.
`inject()` adds faults (a status, a delay, a dropped connection, a stalled or truncated body) for paths
matching a regex; the keywords are the same for every fake (tests/fakes/faults.py).

Usage::

    with FakeLiteLLM(state) as fake:        # any AppServer subclass
        httpx.get(f"{fake.url}/health/readiness")
        fake.inject(r"^/key/list$", status=500, times=1)
        assert [r.path for r in fake.request_log] == [...]
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

from .faults import write_faulty

AuthKind = Literal["none", "master", "admin-key", "jwt", "virtual-key", "bad"]

# Bodies above this are refused: a fake never needs more, and it bounds memory.
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass
class Request:
    """One parsed HTTP request as the fake's handlers see it."""

    method: str
    path: str
    query_string: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated query parameter."""
        return list(self.query.get(name, []))

    @property
    def url(self) -> str:
        """Path plus query string, as a server logs `request.url`."""
        return f"{self.path}?{self.query_string}" if self.query_string else self.path

    @property
    def user_agent(self) -> str | None:
        return self.header("user-agent")

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    """What a handler returns; `body` is JSON-encoded unless `raw` is given."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=body, headers=dict(headers or {}))


@dataclass
class RequestRecord:
    """A request as the log keeps it; `status` is filled in once the response is sent."""

    method: str
    path: str
    query_string: str
    query: dict[str, list[str]]
    user_agent: str | None
    auth: AuthKind
    headers: dict[str, str]
    body: bytes
    time: float
    status: int | None = None

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query_string}" if self.query_string else self.path


@dataclass
class Fault:
    """An injected fault for requests whose path matches `pattern` (and `method`, when set)."""

    pattern: re.Pattern[str]
    status: int | None = None
    delay: float = 0.0
    body: Any = None
    method: str | None = None
    times: int | None = None  # None: every matching request
    drop: bool = False  # close the connection without answering
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False  # headers and part of the body, then nothing (see tests/fakes/faults.py)
    truncate: bool = False  # part of the body, then close
    hits: int = 0  # requests it fired on (counted on arrival, before any delay)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.pattern.search(path) is not None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real services
    disable_nagle_algorithm = True
    timeout = 30  # a silent client cannot hold a thread forever
    server: _Server

    def setup(self) -> None:
        # TLS handshakes happen here, in the request thread, so a slow client never blocks accept().
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read request_log instead

    def _dispatch(self) -> None:
        self.server.app._serve(self)

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch
    do_HEAD = _dispatch
    do_OPTIONS = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: AppServer) -> None:
        self.app = app
        super().__init__(address, _Handler)


class AppServer:
    """Threaded loopback HTTP(S) server; subclasses implement `handle` and `classify_auth`."""

    def __init__(
        self,
        *,
        port: int = 0,
        tls_cert: tuple[str, str] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._log: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), self)
        self.scheme = "http"
        if tls_cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile=tls_cert[0], keyfile=tls_cert[1])
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
            self.scheme = "https"
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving; idempotent. Delayed (faulted) requests are cut short."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request log -----------------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestRecord]:
        """A copy of every request received so far, oldest first."""
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def requests_matching(self, path_regex: str, method: str | None = None) -> list[RequestRecord]:
        """Logged requests whose path matches `path_regex` (and `method`, when given)."""
        pattern = re.compile(path_regex)
        return [r for r in self.request_log if pattern.search(r.path) and (method is None or r.method == method.upper())]

    # -- faults ----------------------------------------------------------------------------------

    def inject(
        self,
        path_regex: str,
        status: int | None = None,
        delay: float = 0.0,
        body: Any = None,
        *,
        method: str | None = None,
        times: int | None = None,
        drop: bool = False,
        headers: dict[str, str] | None = None,
        stall: bool = False,
        truncate: bool = False,
    ) -> Fault:
        """Fault requests whose path matches `path_regex`.

        `delay` seconds are waited first; then `status` (with `body`, JSON unless bytes) is answered
        instead of the real handler, or the connection is closed when `drop` is set. With neither,
        the request is only delayed. `times` limits how many requests the fault applies to.
        """
        fault = Fault(
            pattern=re.compile(path_regex),
            status=status,
            delay=delay,
            body=body,
            method=method,
            times=times,
            drop=drop,
            headers=dict(headers or {}),
            stall=stall,
            truncate=truncate,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # -- to override -----------------------------------------------------------------------------

    def classify_auth(self, request: Request) -> AuthKind:
        """How the request authenticated, for the log. Subclasses know their credentials."""
        return "none" if request.header("authorization") is None else "bad"

    def handle(self, request: Request) -> Response:
        return json_response(404, {"detail": "Not Found"})

    # -- plumbing --------------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(handler, json_response(413, {"detail": "body too large"}))
            handler.close_connection = True
            return
        body = handler.rfile.read(length) if length > 0 else b""
        request = Request(
            method=handler.command.upper(),
            path=split.path or "/",
            query_string=split.query,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            client_ip=handler.client_address[0],
        )
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query_string=request.query_string,
            query=request.query,
            user_agent=request.user_agent,
            auth=self._safe_classify(request),
            headers=headers,
            body=body,
            time=time.time(),
        )
        with self._lock:
            self._log.append(record)

        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            if fault.delay > 0:
                self._stopping.wait(fault.delay)
            if fault.drop:
                handler.close_connection = True
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault.status is not None:
                if isinstance(fault.body, bytes):
                    response = Response(status=fault.status, raw=fault.body, headers=dict(fault.headers))
                else:
                    body_value = fault.body if fault.body is not None else {"error": "injected fault"}
                    response = json_response(fault.status, body_value, fault.headers)
                record.status = response.status
                self._send(handler, response, fault)
                return

        try:
            response = self.handle(request)
        except Exception as exc:  # a bug in a fake must surface in the test, not hang it
            response = json_response(500, {"error": {"message": f"fake server error: {exc!r}", "code": "500"}})
        record.status = response.status
        self._send(handler, response, fault)

    def _safe_classify(self, request: Request) -> AuthKind:
        try:
            return self.classify_auth(request)
        except Exception:
            return "bad"

    def _send(self, handler: _Handler, response: Response, fault: Fault | None = None) -> None:
        payload = response.encode()
        if fault is not None and write_faulty(
            handler,
            status=response.status,
            content_type=response.content_type,
            payload=payload,
            headers={**response.headers, **fault.headers},
            drop=False,
            stall=fault.stall,
            truncate=fault.truncate,
            stopping=self._stopping,
        ):
            return
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)
