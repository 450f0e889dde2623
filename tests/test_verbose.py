"""`-v/--verbose`: stderr says what was discovered and from where, which credential each reader uses (by name), and
how long each phase took; it never shows a secret value. Without -v none of it appears."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from maas_lab import verbose
from maas_lab.cli import app
from tests.fixtures.world import World
from tests.lab import Lab
from tests.test_no_secrets import KEY_VARIABLE, assert_no_secret, forbidden

PHASES = ("connect/preflight", "collect", "checks", "render")


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def lines(result: Result) -> list[str]:
    return [line.removeprefix("maas-lab: ") for line in result.stderr.splitlines() if line.startswith("maas-lab: ")]


def assert_phases(said: list[str]) -> None:
    for phase in PHASES:
        assert any(re.fullmatch(rf"time {re.escape(phase)}( \(\S+\))?: \d+\.\d{{3}} s.*", line) for line in said), f"no timing for {phase}: {said}"


def test_check_says_what_it_discovered_and_from_where(lab: Lab, world: World) -> None:
    key = world.secrets["key:canopy-experiments"]
    result = cli("check", "all", "--kubeconfig", lab.kubeconfig, "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url, "-v",
                 "--api-key-env", KEY_VARIABLE, "--format", "json", env={KEY_VARIABLE: key})
    assert result.exit_code == 0, result.stderr
    said = lines(result)
    expected = [
        f"kubeconfig: {lab.kubeconfig} (from --kubeconfig)",
        "context: fake (from the kubeconfig's current-context)",
        "kubeconfig user entry: fake (from context fake)",
        f"API server: {lab.openshift.url} (from the credentials)",
        "user: user1 (from users/~ of the credentials)",
        "apps domain: apps.example.com (from the OAuth issuer https://oauth-openshift.apps.example.com)",  # students may not read ingresses
        f"LiteMaaS URL: {lab.litemaas.url} (from --litemaas-url)",
        f"LiteLLM URL: {lab.litellm.url} (from --litellm-url)",
        "profile: ai501 (from --profile or the default)",
        "LiteLLM credential: master-key from Secret litemaas-litellm",
        "LiteMaaS credential: admin API key from Secret litemaas-backend key admin-api-keys; "
        "student JWT signed with Secret litemaas-backend key jwt-secret",
        f"4.key-works credential: the student's LiteMaaS key from the environment variable {KEY_VARIABLE}",
    ]
    for line in expected:
        assert line in said, f"{line!r} not in {said}"
    assert_phases(said)
    assert_no_secret({"check -v stderr": result.stderr, "check -v stdout": result.stdout}, forbidden(world))


def test_route_urls_and_the_ingress_domain_are_named(lab: Lab, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    admin = lab.openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    verbose.enable(True)
    try:
        lab.grade([2], kubeconfig=str(admin), user="user1")
    finally:
        verbose.enable(False)
    said = [line.removeprefix("maas-lab: ") for line in capsys.readouterr().err.splitlines()]
    assert "apps domain: apps.example.com (from ingresses.config.openshift.io/cluster)" in said
    assert "LiteLLM URL: https://litemaas-litellm-user1-maas.apps.example.com (from Route litemaas-litellm in user1-maas)" in said
    assert "LiteMaaS URL: https://litemaas-user1-maas.apps.example.com (from Route litemaas in user1-maas)" in said
    assert_no_secret({"grade stderr": "\n".join(said)}, forbidden(world))


def test_environment_variables_are_named_as_the_source(lab: Lab, world: World) -> None:
    env = {"KUBECONFIG": str(lab.kubeconfig), "MAAS_LAB_USER": "user1", "MAAS_LAB_CLUSTER_DOMAIN": "apps.example.com"}
    result = cli("check", "1", "-v", "--format", "json", env=env)
    said = lines(result)
    assert f"kubeconfig: {lab.kubeconfig} (from KUBECONFIG)" in said
    assert "user: user1 (from MAAS_LAB_USER)" in said
    assert "apps domain: apps.example.com (from MAAS_LAB_CLUSTER_DOMAIN)" in said


def test_without_verbose_nothing_is_said(lab: Lab) -> None:
    result = cli("check", "2", "--kubeconfig", lab.kubeconfig, "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url)
    assert result.exit_code == 0, result.stderr
    assert lines(result) == []


def test_smoke_verbose(lab: Lab, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    admin = lab.openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    result = cli("smoke", "--kubeconfig", admin, "-v", "--model-url", "llama-32=https://u:pw@127.0.0.1:9/v1", "--format", "json")
    said = lines(result)
    for line in (
        f"kubeconfig: {admin} (from --kubeconfig)",
        "apps domain: apps.example.com (from ingresses.config.openshift.io/cluster)",
        "sample student: user1 (from the first of 3 Users not in an administrators' or system: group)",
        "model llama-32 URL: https://127.0.0.1:9/v1 (from --model-url)",  # user:password dropped
        "model tinyllama-1b-cpu URL: none (from not probed)",
    ):
        assert line in said, f"{line!r} not in {said}"
    assert_phases(said)
    assert "pw@" not in result.stderr + result.stdout
    assert_no_secret({"smoke -v stderr": result.stderr}, forbidden(world))


def test_grade_verbose_names_each_students_phases(lab: Lab, world: World, tmp_path: Path) -> None:
    admin = lab.openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\nuser1\nuser2\n")
    result = cli("grade", "--roster", roster, "--out", tmp_path / "out", "--kubeconfig", admin, "-v", "--jobs", "1",
                 "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url)
    assert result.exit_code == 0, result.stderr
    said = lines(result)
    assert sum(1 for line in said if line.startswith("time connect/preflight")) == 2  # one a student
    assert any(line.startswith("time the whole class") for line in said)
    assert any(line.startswith("time connect/preflight (user2):") for line in said)
    assert_no_secret({"grade -v stderr": result.stderr}, forbidden(world))
