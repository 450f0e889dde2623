"""No secret ever leaves the grader, and the grader never makes a call it must not make.

Every value planted in the world (`World.secrets`: Secret data, master and admin keys, JWT secret, the students'
LiteMaaS keys), plus the cluster tokens and the values planted below, is looked for (as is, and base64-encoded as
in Secret `data`) in every standard output, standard error and file the CLI writes, in every format, on a passing
world and on a world whose services echo the credentials they refuse.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from maas_lab import __version__
from maas_lab.cli import app
from maas_lab.report import FORMATS
from tests.fixtures.world import World
from tests.lab import Lab

KEY_VARIABLE = "MAAS_LAB_TEST_STUDENT_KEY"
CLUSTER_TOKENS = {"token:user1": "tok-user1", "token:admin": "tok-admin", "token:expired": "tok-exp1red-5e5510n"}
# LiteLLM answers a key that does not start with sk- with "Received=<the key>": these are refused on purpose.
WRONG_MASTER_KEY = "mk-N0tAnSkMasterKey-44556677"
WRONG_STUDENT_KEY = "tok-N0tAnSkStudentKey-66778899"


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def against(lab: Lab, kubeconfig: Path | None = None) -> list[str]:
    return ["--kubeconfig", str(kubeconfig or lab.kubeconfig), "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url]


def forbidden(world: World, **extra: str) -> dict[str, str]:
    """Every planted value, and its base64 (padding dropped, so it also matches inside longer base64)."""
    values = {**world.secrets, **CLUSTER_TOKENS, **extra}
    found = dict(values)
    found.update({f"{name} (base64)": base64.b64encode(v.encode()).decode().rstrip("=") for name, v in values.items()})
    return found


def assert_no_secret(outputs: dict[str, str], values: dict[str, str]) -> None:
    assert any(text.strip() for text in outputs.values()), "nothing was captured: the test would prove nothing"
    for where, text in outputs.items():
        for name, value in values.items():
            assert value not in text, f"{name} appears in {where}"


def captured(result: Result, label: str) -> dict[str, str]:
    return {f"{label} stdout": result.stdout, f"{label} stderr": result.stderr}


def assert_only_allowed_calls(lab: Lab, *, student_key: str | None) -> None:
    """Read-only: GETs, plus the login probe, the student-key test call and access reviews; our User-Agent."""
    agent = f"maas-lab/{__version__}"
    assert lab.litemaas.request_log and lab.litellm.request_log and lab.openshift.request_log
    for record in lab.litemaas.request_log:
        where = f"LiteMaaS {record.method} {record.path}"
        assert record.user_agent == agent, where
        if record.method != "GET":
            assert (record.method, record.path, record.auth) == ("POST", "/api/auth/login", "none"), where
        if record.path.startswith("/api/v1/admin/audit"):
            assert record.auth != "jwt", f"{where}: reading the audit log as the student would add to it"
    for record in lab.litellm.request_log:
        where = f"LiteLLM {record.method} {record.path}"
        assert record.user_agent == agent, where
        assert record.path != "/health", f"{where}: /health calls every model upstream"
        if record.method != "GET":
            assert (record.method, record.path) == ("POST", "/v1/chat/completions"), where
            assert student_key is not None, f"{where} without --api-key-env"
            assert student_key in record.headers.get("authorization", ""), f"{where} not with the student's key"
    for kube in lab.openshift.request_log:
        assert kube.method == "GET" or (kube.method == "POST" and kube.path.endswith("accessreviews")), (kube.method, kube.path)


@pytest.fixture
def fresh_logs(lab: Lab) -> Lab:
    lab.openshift.clear_log()  # session-wide server: only this test's requests
    return lab


# -- a student who did everything -----------------------------------------------------------------------------


@pytest.mark.parametrize("format_", FORMATS)
def test_check_all_shows_no_secret(fresh_logs: Lab, world: World, format_: str) -> None:
    lab = fresh_logs
    key = world.secrets["key:canopy-experiments"]
    result = cli("check", "all", *against(lab), "--api-key-env", KEY_VARIABLE, "--format", format_, env={KEY_VARIABLE: key})
    assert result.exit_code == 0, result.stdout + result.stderr
    assert_no_secret(captured(result, format_), forbidden(world))
    assert lab.litellm.requests_matching(r"^/v1/chat/completions$", "POST"), "4.key-works did not test the key"
    assert_only_allowed_calls(lab, student_key=key)


def test_report_file_shows_no_secret(fresh_logs: Lab, world: World, tmp_path: Path) -> None:
    lab = fresh_logs
    key = world.secrets["key:canopy-experiments"]
    out = tmp_path / "report.json"
    result = cli("check", "all", *against(lab), "--api-key-env", KEY_VARIABLE, "--format", "json", "-o", out, env={KEY_VARIABLE: key})
    assert result.exit_code == 0, result.stderr
    assert_no_secret({**captured(result, "-o"), out.name: out.read_text("utf-8")}, forbidden(world))


def test_gradebook_shows_no_secret(fresh_logs: Lab, world: World, tmp_path: Path) -> None:
    lab = fresh_logs
    admin = lab.openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\nuser1\nuser2\n")
    out = tmp_path / "grades"
    result = cli("grade", "--roster", roster, "--out", out, *against(lab, Path(admin)))
    assert result.exit_code == 0, result.stderr
    files = {str(p.relative_to(out)): p.read_text("utf-8") for p in out.rglob("*") if p.is_file()}
    assert set(files) >= {"gradebook.csv", "gradebook.json", "report.html", "students/user1.json", "students/user2.json"}
    assert_no_secret({**captured(result, "grade"), **files}, forbidden(world))
    assert_only_allowed_calls(lab, student_key=None)


# -- services that echo what they refuse ------------------------------------------------------------------------


@pytest.mark.parametrize("format_", FORMATS)
def test_refused_credentials_are_not_echoed(fresh_logs: Lab, world: World, format_: str) -> None:
    lab = fresh_logs
    world.set_secret("litemaas-litellm", "master-key", WRONG_MASTER_KEY)
    lab.load(world)
    env = {KEY_VARIABLE: WRONG_STUDENT_KEY}
    result = cli("check", "all", *against(lab), "--api-key-env", KEY_VARIABLE, "--format", format_, env=env)
    assert result.exit_code in (1, 3), result.stderr
    refused = [r for r in lab.litellm.request_log if r.status == 401]
    # the fake did echo both values back to the grader, so their absence below is the grader's doing
    assert any(WRONG_MASTER_KEY in r.headers.get("authorization", "") for r in refused)
    assert any(WRONG_STUDENT_KEY in r.headers.get("authorization", "") for r in refused)
    values = forbidden(world, wrong_master_key=WRONG_MASTER_KEY, wrong_student_key=WRONG_STUDENT_KEY)
    assert_no_secret(captured(result, format_), values)
    assert_only_allowed_calls(lab, student_key=WRONG_STUDENT_KEY)


def test_a_rejected_cluster_token_is_not_echoed(fresh_logs: Lab, world: World, tmp_path: Path) -> None:
    lab = fresh_logs
    expired = lab.openshift.write_kubeconfig(tmp_path / "expired", token=CLUSTER_TOKENS["token:expired"])
    outputs: dict[str, str] = {}
    for format_ in FORMATS:
        result = cli("check", "all", *against(lab, Path(expired)), "--format", format_)
        assert result.exit_code == 3
        outputs.update(captured(result, format_))
    assert_no_secret(outputs, forbidden(world))
