"""The transport under the readers: connections and retries counted, TLS trust, the run's deadline in flight."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import truststore
from typer.testing import CliRunner

from maas_lab.cli import app
from maas_lab.errors import ApiServerError, ClusterUnreachable, RunTimedOut, ServiceUnreachable, TLSVerifyFailed
from maas_lab.evidence import retry
from maas_lab.evidence.http import make_client, request, tls_context
from maas_lab.evidence.kube import KubeClient
from maas_lab.evidence.retry import Deadline, pause_before_retry
from tests.fakes.appserver import AppServer, Request, Response, json_response
from tests.fakes.faults import FAULTS, SilentServer, UntrustedTLSServer, issue_tls_files, kubeconfig_for
from tests.fakes.kube_api import FakeOpenShift

runner = CliRunner()


class Answering(AppServer):
    """200 {"ok": true} to everything: the faults are what the tests inject."""

    def handle(self, request: Request) -> Response:
        return json_response(200, {"ok": True})


@pytest.fixture
def server() -> Iterator[Answering]:
    with Answering() as app_server:
        yield app_server


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses before retries, recorded instead of waited."""
    seen: list[float] = []
    monkeypatch.setattr(retry, "sleep", seen.append)
    return seen


# -- the cluster client: one connection a try, no hidden urllib3 retries ------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_silent_api_server_gets_exactly_one_connection(scheme: str, tmp_path: Path) -> None:
    with SilentServer() as silent:
        config = kubeconfig_for(tmp_path / "config", f"{scheme}://127.0.0.1:{silent.port}")
        kube = KubeClient.from_kubeconfig(str(config), None, timeout=0.5)
        with pytest.raises(ClusterUnreachable, match=r"did not answer within 0\.5 s"):
            kube.get("/version")
        kube.close()
        assert silent.connections == 1  # urllib3's default Retry(3) made this 4


def test_the_pool_itself_has_retries_off(tmp_path: Path) -> None:
    kube = KubeClient.from_kubeconfig(str(kubeconfig_for(tmp_path / "config", "https://127.0.0.1:9")), None)
    retries = kube._api.rest_client.pool_manager.connection_pool_kw["retries"]
    assert retries is False or retries.total is False  # urllib3 keeps False as Retry(total=False): raise at once
    kube.close()


def test_an_api_server_with_another_ca_gets_the_tls_hint_after_one_connection(tmp_path: Path, openshift: FakeOpenShift) -> None:
    with UntrustedTLSServer(tmp_path) as imposter:
        config = kubeconfig_for(tmp_path / "config", imposter.url, ca=openshift.ca_path)  # the CA of another server
        kube = KubeClient.from_kubeconfig(str(config), None, timeout=2)
        with pytest.raises(ClusterUnreachable) as failure:
            kube.get("/version")
        kube.close()
    assert "TLS verification failed" in str(failure.value) and "MaxRetryError" not in str(failure.value)
    assert "certificate authority" in (failure.value.hint or "")
    assert imposter.connections == 1


def test_api_server_transient_failures_are_retried_once(openshift: FakeOpenShift, kubeconfig: Path, pauses: list[float]) -> None:
    kube = KubeClient.from_kubeconfig(str(kubeconfig), None, timeout=5)
    try:
        openshift.clear_log()
        openshift.inject(r"^/version$", status=503, times=1)
        assert "gitVersion" in kube.get("/version")
        assert len(openshift.calls(r"^/version$")) == 2 and pauses == [retry.DEFAULT_PAUSE]

        openshift.clear_log()
        openshift.inject(r"^/version$", **FAULTS["429"])
        with pytest.raises(ApiServerError, match="429"):
            kube.get("/version")
        assert len(openshift.calls(r"^/version$")) == 2 and pauses[-1] == 1.0  # Retry-After: 1
        openshift.clear_faults()

        openshift.clear_log()
        openshift.inject(r"^/version$", status=500)
        with pytest.raises(ApiServerError, match="500"):
            kube.get("/version")
        assert len(openshift.calls(r"^/version$")) == 1  # a 500 is not transient: no retry
    finally:
        openshift.clear_faults()
        kube.close()


def test_the_deadline_bounds_an_api_request_in_flight(openshift: FakeOpenShift, kubeconfig: Path) -> None:
    kube = KubeClient.from_kubeconfig(str(kubeconfig), None, timeout=30, deadline=Deadline.after(0.5))
    openshift.clear_log()
    openshift.inject(r"^/version$", stall=True)
    try:
        with pytest.raises(RunTimedOut, match="--timeout was reached while waiting for the API server"):
            kube.get("/version")
        assert len(openshift.calls(r"^/version$")) == 1
    finally:
        openshift.clear_faults()
        kube.close()


def test_no_request_starts_after_the_deadline(openshift: FakeOpenShift, kubeconfig: Path, server: Answering) -> None:
    kube = KubeClient.from_kubeconfig(str(kubeconfig), None, deadline=Deadline.after(-1))
    openshift.clear_log()
    with pytest.raises(RunTimedOut, match="before the request"):
        kube.get("/version")
    kube.close()
    assert openshift.calls(r"^/version$") == []
    with make_client(deadline=Deadline.after(-1)) as client, pytest.raises(RunTimedOut):
        request(client, "GET", f"{server.url}/x")
    assert server.request_log == []


# -- HTTP: the same policy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "attempts", "status"),
    [("500", 1, 500), ("502", 2, 502), ("503", 2, 503), ("504", 2, 504), ("429", 2, 429), ("malformed-json", 1, 200)],
)
def test_http_answers_are_retried_only_when_transient(
    server: Answering, pauses: list[float], fault: str, attempts: int, status: int
) -> None:
    server.inject(r"^/x$", **FAULTS[fault])
    with make_client(timeout=5) as client:
        answer = request(client, "GET", f"{server.url}/x")
    assert answer.status == status and len(server.requests_matching(r"^/x$")) == attempts
    assert answer.is_json is (fault not in ("502", "503", "504", "malformed-json"))


def test_a_transient_failure_that_clears_is_invisible(server: Answering, pauses: list[float]) -> None:
    server.inject(r"^/x$", status=502, times=1)
    with make_client(timeout=5) as client:
        assert request(client, "GET", f"{server.url}/x").status == 200
    assert len(server.requests_matching(r"^/x$")) == 2 and pauses == [retry.DEFAULT_PAUSE]


@pytest.mark.parametrize("fault", ["reset", "truncated"])
def test_a_dropped_connection_is_retried_once_then_an_error(server: Answering, pauses: list[float], fault: str) -> None:
    server.inject(r"^/x$", **FAULTS[fault])
    with make_client(timeout=5) as client, pytest.raises(ServiceUnreachable, match="dropped the connection"):
        request(client, "GET", f"{server.url}/x")
    assert len(server.requests_matching(r"^/x$")) == 2


def test_a_post_is_never_retried(server: Answering, pauses: list[float]) -> None:
    server.inject(r"^/x$", status=503)
    with make_client(timeout=5) as client:
        assert request(client, "POST", f"{server.url}/x", json_body={}).status == 503
    assert len(server.requests_matching(r"^/x$")) == 1 and pauses == []


def test_a_slow_answer_is_not_retried(server: Answering, pauses: list[float]) -> None:
    server.inject(r"^/x$", delay=2)
    with make_client(timeout=0.5) as client, pytest.raises(ServiceUnreachable, match=r"did not answer within 0\.5 s"):
        request(client, "GET", f"{server.url}/x")
    assert len(server.requests_matching(r"^/x$")) == 1 and pauses == []


def test_the_deadline_bounds_an_http_answer_that_never_ends(server: Answering) -> None:
    server.inject(r"^/x$", stall=True)
    with make_client(timeout=30, deadline=Deadline.after(0.5)) as client, pytest.raises(
        RunTimedOut, match=r"--timeout was reached while waiting for 127\.0\.0\.1"
    ):
        request(client, "GET", f"{server.url}/x")
    assert len(server.requests_matching(r"^/x$")) == 1


def test_no_retry_when_the_pause_would_outlast_the_run(server: Answering, pauses: list[float]) -> None:
    server.inject(r"^/x$", status=503, headers={"Retry-After": "2"})
    with make_client(timeout=5, deadline=Deadline.after(1.0)) as client:
        assert request(client, "GET", f"{server.url}/x").status == 503
    assert len(server.requests_matching(r"^/x$")) == 1 and pauses == []


@pytest.mark.parametrize(
    ("header", "pause"),
    [(None, retry.DEFAULT_PAUSE), ("1", 1.0), ("RETRY-AFTER:1", 1.0), ("30", 2.0), ("0", 0.0), ("soon", retry.DEFAULT_PAUSE), ("nan", retry.DEFAULT_PAUSE),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_honoured_up_to_two_seconds(header: str | None, pause: float) -> None:
    if header and header.startswith("RETRY-AFTER:"):  # header names are case-insensitive
        assert pause_before_retry({"RETRY-AFTER": header.split(":", 1)[1]}) == pause
        return
    assert pause_before_retry({"retry-after": header} if header else {}) == pause


# -- TLS trust ------------------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Answering, Path]]:
    tls_cert, ca_file = issue_tls_files(tmp_path)
    with Answering(tls_cert=tls_cert) as secure:
        yield secure, ca_file


def test_tls_trusts_the_system_store_through_truststore() -> None:
    assert isinstance(tls_context(True), truststore.SSLContext)
    assert tls_context(False) is False


def test_ssl_cert_file_is_honoured(tls_server: tuple[Answering, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    secure, ca_file = tls_server
    with make_client(timeout=5) as client, pytest.raises(TLSVerifyFailed):
        request(client, "GET", f"{secure.url}/x")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with make_client(timeout=5) as client:
        assert request(client, "GET", f"{secure.url}/x").status == 200


def test_ssl_cert_dir_is_honoured(tls_server: tuple[Answering, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secure, ca_file = tls_server
    directory = tmp_path / "certs"
    directory.mkdir()
    # OpenSSL looks a CA up in a directory by its subject hash: <hash>.0
    digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(ca_file)], capture_output=True, text=True, check=False)
    if digest.returncode != 0:
        pytest.skip("the openssl command is not installed")
    (directory / f"{digest.stdout.strip()}.0").write_bytes(ca_file.read_bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    with make_client(timeout=5) as client:
        assert request(client, "GET", f"{secure.url}/x").status == 200


def test_ca_bundle_adds_its_ca(tls_server: tuple[Answering, Path]) -> None:
    secure, ca_file = tls_server
    with make_client(verify=str(ca_file), timeout=5) as client:
        assert request(client, "GET", f"{secure.url}/x").status == 200


def test_proxies_from_the_environment_stay_off(server: Answering, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with make_client(timeout=5) as client:
        assert request(client, "GET", f"{server.url}/x").status == 200


@pytest.mark.parametrize("via", ["flag", "env"])
def test_a_ca_bundle_that_is_not_pem_is_a_usage_error(tmp_path: Path, via: str, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_bytes(b"\x00\x01 definitely not PEM")
    args = ["check", "2", "--kubeconfig", str(tmp_path / "nothing")]
    if via == "flag":
        args += ["--ca-bundle", str(bundle)]
    else:
        monkeypatch.setenv("MAAS_LAB_CA_BUNDLE", str(bundle))
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: --ca-bundle {bundle}: not a PEM certificate bundle (or not readable)"]


def test_an_invalid_url_never_reaches_the_transport() -> None:
    with make_client() as client, pytest.raises(ServiceUnreachable, match="not a valid URL"):
        request(client, "GET", "http://[::1")


def test_httpx_transport_errors_name_the_host() -> None:
    with make_client(timeout=2) as client, pytest.raises(ServiceUnreachable, match=r"could not connect to 127\.0\.0\.1"):
        request(client, "GET", "http://127.0.0.1:9/x")
