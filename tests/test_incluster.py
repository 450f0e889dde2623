"""In a pod: no kubeconfig, the mounted service-account token and CA, KUBERNETES_SERVICE_HOST/PORT.

The kubernetes client's own in-cluster loader is pointed at a temporary token and CA file and the loopback
fake API server, which knows the token as deploy/'s service account and authorizes it with deploy/'s ClusterRole.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes.config import incluster_config
from typer.testing import CliRunner

from maas_lab.cli import app
from maas_lab.engine.model import Status
from tests.fakes.kube_api import FakeOpenShift
from tests.lab import Lab, statuses
from tests.test_rbac import DEPLOY, SA_NAME, SA_NAMESPACE, SA_TOKEN, SA_USER, binding, cluster_role


@pytest.fixture
def in_a_pod(openshift: FakeOpenShift, lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment the kubelet gives the grader's pod; returns the token file."""
    assert lab.world is not None
    openshift.add_service_account(SA_NAMESPACE, SA_NAME, token=SA_TOKEN)
    openshift.reset([*lab.world.objects, cluster_role(), binding()])
    openshift.clear_log()
    mounted = tmp_path / "serviceaccount"
    mounted.mkdir()
    (mounted / "token").write_text(SA_TOKEN)
    (mounted / "ca.crt").write_bytes(openshift.ca_path.read_bytes())
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(mounted / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(mounted / "ca.crt"))
    server = urlsplit(openshift.url)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", str(server.hostname))
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.kube/config, as in the image
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return mounted / "token"


def test_service_account_grades_without_a_kubeconfig(lab: Lab, in_a_pod: Path, openshift: FakeOpenShift) -> None:
    report = lab.grade(kubeconfig=None, user="user1", on_behalf=True)
    assert {c: s for c, s in statuses(report).items() if s is not Status.PASS} == {"4.key-works": Status.SKIP}
    users = {r.user for r in openshift.request_log}
    assert users == {SA_USER}  # every request carried the mounted token, verified against the mounted CA


def test_the_cronjob_command_grades_the_configmap_roster(in_a_pod: Path, openshift: FakeOpenShift, tmp_path: Path) -> None:
    """`maas-lab grade --roster …` exactly as deploy/ runs it, with the roster from the ConfigMap (lesson 1: cluster reads only)."""
    roster = tmp_path / "roster.csv"
    roster.write_text(yaml.safe_load((DEPLOY / "roster-configmap.yaml").read_text())["data"]["roster.csv"])
    out = tmp_path / "grades"
    result = CliRunner().invoke(app, ["grade", "--roster", str(roster), "--out", str(out), "--lessons", "1"])
    assert result.exit_code == 0, result.output
    reports = json.loads((out / "gradebook.json").read_text())["reports"]
    assert sorted(reports) == ["user1", "user2"]
    checks = {c["id"]: c["status"] for lesson in reports["user1"]["lessons"] for c in lesson["checks"]}
    assert set(checks.values()) == {"pass"}
    # user2 has done nothing in this world: their own fault, so fail, never error
    checks = {c["id"]: c["status"] for lesson in reports["user2"]["lessons"] for c in lesson["checks"]}
    assert "error" not in checks.values() and "fail" in checks.values()
    assert {r.user for r in openshift.request_log} == {SA_USER}


def test_a_rejected_token_says_so(lab: Lab, in_a_pod: Path) -> None:
    in_a_pod.write_text("tok-revoked")
    report = lab.grade([1], kubeconfig=None, user="user1", on_behalf=True)
    assert set(statuses(report).values()) == {Status.ERROR}
    assert "rejected the grader's credentials (401)" in report.results[0].message


def test_no_mounted_token_is_one_clear_line(in_a_pod: Path) -> None:
    """automountServiceAccountToken: false (or a broken mount): one reason, exit 3, no traceback."""
    in_a_pod.unlink()
    result = CliRunner().invoke(app, ["check", "1", "--user", "user1", "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == 3
    body = json.loads(result.stdout)
    messages = {c["message"] for lesson in body["lessons"] for c in lesson["checks"]}
    assert len(messages) == 1 and "service account token" in next(iter(messages)).lower(), messages
