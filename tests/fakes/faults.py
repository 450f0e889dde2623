"""One fault switch for every fake: the catalogue of faults, how they go on the wire, and two hostile servers.

Every fake takes the same keywords in `inject(path_regex, ...)`:

    status, body, headers   answer this instead (body: JSON, or bytes as they are)
    delay                   wait this long first (past the grader's request bound: "slow")
    drop                    close the connection without answering (a reset)
    stall                   send the headers and part of the body, then nothing (an answer that never ends)
    truncate                send part of the body, then close (fewer bytes than Content-Length)
    method, times           which requests, how many times

`FAULTS` names the faults of the reliability matrix as keyword sets; `fake.inject(path, **FAULTS["503"])`.
TLS failures are not per path: `UntrustedTLSServer` presents a certificate from a CA nobody trusts.
`SilentServer` accepts connections and never answers, counting them.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from typing import Any, Protocol

import trustme
import yaml

STALL_SECONDS = 30.0  # longer than any request bound a test uses; stop() cuts it short
SLOW_SECONDS = 2.5  # past the 1 s request bound of a run with --timeout 4

FAULTS: dict[str, dict[str, Any]] = {
    "500": {"status": 500},
    "502": {"status": 502, "body": b"<html><body><h1>502 Bad Gateway</h1></body></html>"},
    "503": {"status": 503, "body": b"<html><body><h1>Application is not available</h1></body></html>"},
    "504": {"status": 504, "body": b"<html><body><h1>504 Gateway Time-out</h1></body></html>"},
    "429": {"status": 429, "headers": {"Retry-After": "1"}},
    "reset": {"drop": True},
    "never-ends": {"stall": True},
    "slow": {"delay": SLOW_SECONDS},
    "malformed-json": {"status": 200, "body": b'{"data": [{"id": 1,'},
    "truncated": {"truncate": True},
}


class _Handler(Protocol):
    connection: Any
    wfile: Any
    close_connection: bool

    def send_response(self, code: int, message: str | None = None) -> None: ...
    def send_header(self, keyword: str, value: str) -> None: ...
    def end_headers(self) -> None: ...


def write_faulty(
    handler: _Handler,
    *,
    status: int,
    content_type: str,
    payload: bytes,
    headers: dict[str, str],
    drop: bool,
    stall: bool,
    truncate: bool,
    stopping: threading.Event,
) -> bool:
    """Put a faulty answer on the wire; False when there is nothing faulty to do (the caller answers normally)."""
    if drop:
        _hang_up(handler)
        return True
    if not (stall or truncate):
        return False
    payload = payload or b'{"items": []}'
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(payload) + 64))  # promise more than will ever come
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload[: max(1, len(payload) // 2)])
    with contextlib.suppress(OSError):
        handler.wfile.flush()
    if stall:
        stopping.wait(STALL_SECONDS)
    _hang_up(handler)
    return True


def _hang_up(handler: _Handler) -> None:
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


class _Listener:
    """A loopback socket server run by a thread; subclasses decide what to do with each connection."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self.connections = 0
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=type(self).__name__, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        """Nothing: the connection stays open and silent until stop()."""

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()
        self._sock.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SilentServer(_Listener):
    """Accepts every connection and never answers (the transport's worst case); counts connections."""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def issue_tls_files(directory: Path) -> tuple[tuple[str, str], Path]:
    """A server certificate for 127.0.0.1/localhost from a fresh CA: (cert file, key file) for a fake's `tls_cert`,
    and the CA file a client trusts through --ca-bundle."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    return (str(cert_file), str(key_file)), ca_file


class UntrustedTLSServer(_Listener):
    """Completes TLS handshakes with a certificate from a fresh CA that no client trusts, then hangs up."""

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(self._context)
        self.ca_path = directory / "untrusted-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        super().__init__()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        with contextlib.suppress(OSError):
            self._context.wrap_socket(conn, server_side=True).close()  # the client refuses the certificate


def kubeconfig_for(path: Path, server: str, *, ca: Path | None = None) -> Path:
    """A kubeconfig for `server` (any server: a silent or untrusted one), trusting `ca`, or skipping TLS checks."""
    cluster: dict[str, object] = {"server": server}
    if ca is None:
        cluster["insecure-skip-tls-verify"] = True
    else:
        cluster["certificate-authority"] = str(ca)
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": {"token": "tok-user1"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path
