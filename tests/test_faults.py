"""Faults × targets: every fault the fakes can play, on each reader, gives the documented status.

The policy (rubric, "Behaviour every check shares"; RELIABILITY.md holds the matrix):
- the API server, LiteMaaS's and LiteLLM's management APIs are the grader's side: any fault is `error`, never
  `fail`, and the run's outcome is could_not_grade;
- a student's Route (the LiteMaaS health page): any HTTP answer, router 502/503 included, is the student's side
  (`fail`); a transport failure (reset, stall, timeout, TLS) is `error`;
- a transient failure on a read (reset, 429, 502, 503, 504) is retried once, nothing else is.

Assertions count attempts and read statuses and messages; nothing is timed.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from maas_lab.cli import app
from maas_lab.engine.model import Outcome, Status
from maas_lab.errors import MaasLabError
from maas_lab.evidence import retry
from maas_lab.evidence.http import make_client, request
from maas_lab.evidence.kube import KubeClient
from maas_lab.report.json_ import report_to_dict
from tests.fakes.faults import FAULTS, UntrustedTLSServer, kubeconfig_for
from tests.fakes.kube_api import FakeOpenShift
from tests.lab import Lab, result, statuses

TIMEOUT = 8.0  # run bound; each request's own bound is then 2 s, below the "slow" fault's 2.5 s
TRANSIENT = {"502", "503", "504", "429", "reset", "truncated"}
ANSWERS = {"500", "502", "503", "504", "429", "malformed-json"}  # an HTTP answer arrives (after the retry for the transient)


@dataclass(frozen=True)
class Target:
    name: str
    fake: str  # the Lab attribute of the fake that misbehaves
    path: str  # the faulted path (a regex)
    check: str  # the check that reads it
    lessons: tuple[int, ...]
    students_side: bool = False  # a student's Route: HTTP answers are theirs


TARGETS = [
    Target("api-server", "openshift", r"^/apis/route\.openshift\.io/v1/namespaces/user1-maas/routes$", "2.routes", (2,)),
    Target("litemaas-api", "litemaas", r"^/api/v1/admin/settings/api-key-defaults$", "3.key-defaults", (3,)),
    Target("litellm-api", "litellm", r"^/model/info$", "3.models-in-sync", (3,)),
    Target("route", "litemaas", r"^/api/v1/health$", "2.backend-healthy", (2,), students_side=True),
]

MESSAGES = {
    "500": "500",
    "502": "502",
    "503": "503",
    "504": "504",
    "429": "429",
    "reset": "dropped the connection",
    "truncated": "dropped the connection",
    "never-ends": "did not answer within 2 s",
    "slow": "did not answer within 2 s",
    "malformed-json": "not JSON",
    "tls": "TLS verification failed",
}


@pytest.fixture(autouse=True)
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the pauses before retries instead of waiting them."""
    seen: list[float] = []
    monkeypatch.setattr(retry, "sleep", seen.append)
    return seen


@pytest.fixture
def imposter(tmp_path: Path) -> Iterator[UntrustedTLSServer]:
    with UntrustedTLSServer(tmp_path) as server:
        yield server


def _expected_attempts(target: Target, fault: str) -> int:
    attempts = 2 if fault in TRANSIENT else 1
    if target.name == "litemaas-api" and fault in ("500", "malformed-json", "never-ends", "slow"):
        # the rubric: a 500 from an admin read is retried once with the student's JWT; a fault that is not an
        # HTTP answer fails the first request and is remembered, so the JWT read does not happen
        return 2 if fault == "500" else 1
    if target.name == "litemaas-api" and fault in ("502", "503", "504", "429"):
        return 2
    return attempts


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_fault_matrix(lab: Lab, target: Target, fault: str, pauses: list[float]) -> None:
    injected = getattr(lab, target.fake).inject(target.path, **FAULTS[fault])
    report = lab.grade(target.lessons, timeout=TIMEOUT)
    verdict = result(report, target.check)
    everything = statuses(report)

    if target.students_side and fault in ANSWERS:
        assert verdict.status is Status.FAIL, verdict.message
        assert verdict.hint
    else:
        assert verdict.status is Status.ERROR, verdict.message
        assert MESSAGES[fault] in verdict.message
        assert report.outcome is Outcome.COULD_NOT_GRADE and report.exit_code == 3
    # a grader-side fault never charges the student: nothing that passes on the clean world fails now
    charged = {c: s for c, s in everything.items() if s in (Status.FAIL, Status.PENDING) and c != target.check}
    assert charged == {}
    assert not any("internal error" in r.message or "Traceback" in r.message for r in report.results)
    assert injected.hits == _expected_attempts(target, fault)
    if fault == "429":
        assert 1.0 in pauses  # Retry-After: 1, honoured
    assert lab.world is not None
    rendered = json.dumps(report_to_dict(report))
    assert [name for name, value in lab.world.secrets.items() if value in rendered] == []  # leak probe


@pytest.mark.parametrize("target", ["litemaas", "litellm", "route-of-litemaas"])
def test_tls_failure_on_a_service_is_error_with_the_ca_bundle_hint(lab: Lab, target: str, imposter: UntrustedTLSServer) -> None:
    service = "litellm" if target == "litellm" else "litemaas"
    lab.route_redirects[service] = imposter.url
    report = lab.grade([2], timeout=TIMEOUT)
    check = "2.litellm-healthy" if service == "litellm" else "2.backend-healthy"
    verdict = result(report, check)
    assert verdict.status is Status.ERROR and MESSAGES["tls"] in verdict.message
    assert "--ca-bundle" in (verdict.hint or "")
    assert {c for c, s in statuses(report).items() if s in (Status.FAIL, Status.PENDING)} == set()
    assert imposter.connections >= 1


def test_tls_failure_on_the_api_server_is_could_not_grade(lab: Lab, imposter: UntrustedTLSServer, tmp_path: Path) -> None:
    config = kubeconfig_for(tmp_path / "config", imposter.url, ca=lab.openshift.ca_path)
    report = lab.grade([2], timeout=TIMEOUT, kubeconfig=str(config))
    assert report.outcome is Outcome.COULD_NOT_GRADE
    assert {r.status for r in report.results} == {Status.ERROR}
    assert all(MESSAGES["tls"] in r.message for r in report.results)
    assert imposter.connections == 1  # no retry of a TLS failure


def test_the_run_deadline_ends_a_stalled_read_and_the_checks_after_it(lab: Lab) -> None:
    """--timeout 1.5 (request bound 1 s): the first stalled LIST takes its second, the next one only what is left."""
    stalled = [
        lab.openshift.inject(rf"/namespaces/{path}$", stall=True)
        for path in ("ai501/inferenceservices", "user1-canopy/deployments", "user1-maas/deployments")
    ]
    report = lab.grade([1, 2], timeout=1.5)
    messages = [r.message for r in report.results if r.status is Status.ERROR]
    assert report.outcome is Outcome.COULD_NOT_GRADE
    assert any("--timeout was reached while waiting for the API server" in m for m in messages), messages
    assert {r.status for r in report.results} <= {Status.ERROR, Status.SKIP, Status.PASS}
    assert all(fault.hits <= 1 for fault in stalled)  # a timeout is never retried


@pytest.mark.parametrize("fault", ["503", "reset", "never-ends", "malformed-json"])
def test_faults_through_the_cli_print_no_traceback(lab: Lab, fault: str) -> None:
    """The same faults through the command line, with the URL overrides (no Route transport)."""
    lab.litellm.inject(r"^/model/info$", **FAULTS[fault])
    outcome = CliRunner().invoke(
        app,
        ["check", "3", "--kubeconfig", str(lab.kubeconfig), "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url,
         "--timeout", str(TIMEOUT), "--format", "json"],
    )
    assert outcome.exit_code == 3, outcome.output
    assert "Traceback" not in outcome.output
    report = json.loads(outcome.stdout)
    checks = {c["id"]: c for lesson in report["lessons"] for c in lesson["checks"]}
    assert checks["3.models-in-sync"]["status"] == "error"
    assert MESSAGES[fault] in checks["3.models-in-sync"]["message"]


# -- leak probes: a planted secret never reaches the message of a fault ------------------------------------------

PLANTED = "sk-Pl4ntedS3cretThatMustN3verShow"


def _leaks(error: MaasLabError) -> bool:
    shown = "".join(traceback.format_exception(error)) + str(error.hint) + repr(error.args)
    return PLANTED in shown


@pytest.mark.parametrize("fault", [*sorted(FAULTS), "tls"])
def test_no_planted_secret_in_http_fault_messages(lab: Lab, fault: str, imposter: UntrustedTLSServer) -> None:
    base = imposter.url if fault == "tls" else lab.litellm.url
    if fault != "tls":
        lab.litellm.inject(r"^/probe$", **FAULTS[fault])
    with make_client(timeout=1.0) as client:
        try:
            answer = request(client, "GET", f"{base}/probe", params={"note": PLANTED}, headers={"Authorization": f"Bearer {PLANTED}"})
        except MaasLabError as error:
            assert not _leaks(error)
        else:
            assert PLANTED not in str(answer.body)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_no_cluster_token_in_api_fault_messages(openshift: FakeOpenShift, fault: str, tmp_path: Path) -> None:
    openshift.add_service_account("default", "prober", token=PLANTED)  # a token, and no User left in the shared fake
    config = openshift.write_kubeconfig(tmp_path / "config", token=PLANTED)
    kube = KubeClient.from_kubeconfig(str(config), None, timeout=1.0)
    openshift.inject(r"^/version$", **FAULTS[fault])
    try:
        kube.get("/version")
    except MaasLabError as error:
        assert not _leaks(error)
    finally:
        openshift.clear_faults()
        kube.close()
