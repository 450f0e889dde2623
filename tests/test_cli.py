"""The command line end to end: `maas_lab.cli.app` run in-process against the loopback fakes.

Every command, exit code and output format of the CLI contract is exercised here the way a student, an instructor
or a CI job would run it: options only (the CLI cannot take the test transport, so LiteMaaS and LiteLLM are reached
through the URL overrides; Route checks still read the Route objects).
"""

from __future__ import annotations

import csv
import json
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner, Result

from maas_lab import __version__
from maas_lab.cli import app
from maas_lab.engine.registry import load_checks
from maas_lab.report import FORMATS
from maas_lab.report.json_ import load_schema
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import World
from tests.lab import Lab

LESSON_2 = sorted(c.id for c in load_checks().values() if c.lesson == 2)
OUTCOME_WORDS = {"PASS": "pass", "FAIL": "fail", "COULD NOT GRADE": "could_not_grade"}
MISSING_VARIABLE = "MAAS_LAB_TEST_NO_SUCH_VARIABLE"


# -- running the CLI ----------------------------------------------------------------------------------------


def cli(*args: str | Path, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """One in-process run; stdout and stderr stay apart, and an unexpected exception fails the test."""
    return CliRunner().invoke(app, [str(a) for a in args], env=env, input=input, catch_exceptions=False)


def services(lab: Lab) -> list[str]:
    return ["--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url]


def against(lab: Lab, kubeconfig: Path | None = None) -> list[str]:
    """The options that point a run at the fakes (the student's own kubeconfig unless another is given)."""
    return ["--kubeconfig", str(kubeconfig or lab.kubeconfig), *services(lab)]


def kubeconfig_for(lab: Lab, directory: Path, token: str) -> Path:
    return Path(lab.openshift.write_kubeconfig(directory / f"kubeconfig-{token}", token=token))


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def assert_usage_error(result: Result, *words: str) -> None:
    """Exit 2, a message on stderr naming what was wrong, no traceback, nothing on stdout."""
    assert result.exit_code == 2, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr, f"{word!r} not in {result.stderr!r}"


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No kubeconfig anywhere and not in a pod."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)


# -- reading a report back, whatever its format ---------------------------------------------------------------


def read_report(format_: str, text: str) -> tuple[str | None, dict[str, str]]:
    """(outcome, {check id: status}) from a rendered report; junit carries no outcome (None)."""
    if format_ == "json":
        data = json.loads(text)
        jsonschema.validate(data, load_schema())
        return data["outcome"], {c["id"]: c["status"] for lesson in data["lessons"] for c in lesson["checks"]}
    if format_ == "junit":
        root = ET.fromstring(text)
        found: dict[str, str] = {}
        for case in root.iter("testcase"):
            status = "pass"
            for child in case:
                if child.tag == "failure":
                    status = child.get("type", "").lower()
                elif child.tag == "error":
                    status = "error"
                elif child.tag == "skipped":
                    status = "skip"
            found[case.get("name", "")] = status
        return None, found
    if format_ == "gradescope":
        data = json.loads(text)
        statuses = {}
        for test in data["tests"]:
            statuses[test["number"]] = test["output"].split(":", 1)[0].lower()
            assert test["status"] == ("passed" if statuses[test["number"]] == "pass" else "failed")
        return data["extra_data"]["outcome"], statuses
    if format_ == "markdown":
        outcome = re.match(r"# maas-lab: (\w+) ", text)
        assert outcome, text[:200]
        rows = re.findall(r"^\| \S+ \| `([\w.-]+)` \| (\w+) \|", text, re.MULTILINE)
        return outcome.group(1), dict(rows)
    assert format_ == "table"
    total = re.search(r"Total: [\d.]+/[\d.]+(?: \+[\d.]+ bonus)? — (PASS|FAIL|COULD NOT GRADE)", text)
    assert total, text[-400:]
    rows = re.findall(r"^│ \S │ ([\w.-]+)\s+│ (PASS|FAIL|SKIP|PENDING|ERROR):", text, re.MULTILINE)
    return OUTCOME_WORDS[total.group(1)], {check: status.lower() for check, status in rows}


# -- check -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format_", FORMATS)
def test_check_passes_the_reference_world_in_every_format(lab: Lab, format_: str) -> None:
    result = cli("check", "2", *against(lab), "--format", format_)
    assert result.exit_code == 0, result.stderr
    outcome, statuses = read_report(format_, result.stdout)
    assert outcome in (None, "pass")
    assert statuses == {check: "pass" for check in LESSON_2}
    assert result.stderr == ""
    assert "\x1b[" not in result.stdout  # no colour codes when stdout is not a terminal


def test_json_report_fields(lab: Lab) -> None:
    result = cli("check", "2", *against(lab), "--format", "json")
    data = json.loads(result.stdout)
    jsonschema.validate(data, load_schema())
    assert data["tool"] == {"name": "maas-lab", "version": __version__}
    assert data["target"] == {"user": "user1", "cluster_domain": "apps.example.com", "profile": "ai501"}
    assert data["score"] == data["max_score"] == 2.0 * len(LESSON_2)
    for check in data["lessons"][0]["checks"]:
        assert check["hint"] is None and check["points"] == check["max_points"]
        assert check["lesson_ref"].startswith("lessons/2-deploy-litemaas.md#")
        assert isinstance(check["evidence"], dict)


def test_junit_and_gradescope_shapes(lab: Lab) -> None:
    junit = ET.fromstring(cli("check", "2", *against(lab), "--format", "junit").stdout)
    assert junit.tag == "testsuites" and junit.get("tests") == str(len(LESSON_2))
    assert {case.get("classname") for case in junit.iter("testcase")} == {"lesson-2"}

    gradescope = json.loads(cli("check", "2", *against(lab), "--format", "gradescope").stdout)
    assert "score" not in gradescope  # Gradescope sums the tests itself
    assert len(gradescope["tests"]) == len(LESSON_2)
    for test in gradescope["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert test["score"] == test["max_score"] == 2.0
        assert test["status"] == "passed"


@pytest.mark.parametrize("format_", FORMATS)
def test_a_failing_world_exits_1(lab: Lab, world: World, format_: str) -> None:
    OMISSIONS["2.routes"](world)
    lab.load(world)
    result = cli("check", "2", *against(lab), "--format", format_)
    assert result.exit_code == 1, result.stderr
    outcome, statuses = read_report(format_, result.stdout)
    assert outcome in (None, "fail")
    assert statuses["2.routes"] == "fail"
    assert "Traceback" not in result.stderr


def test_a_failing_check_carries_its_hint(lab: Lab, world: World) -> None:
    OMISSIONS["2.routes"](world)
    lab.load(world)
    data = json.loads(cli("check", "2", *against(lab), "--format", "json").stdout)
    routes = next(c for lesson in data["lessons"] for c in lesson["checks"] if c["id"] == "2.routes")
    assert routes["hint"] and routes["points"] == 0
    junit = ET.fromstring(cli("check", "2", *against(lab), "--format", "junit").stdout)
    failure = next(case for case in junit.iter("testcase") if case.get("name") == "2.routes").find("failure")
    assert failure is not None and failure.get("type") == "Fail"
    markdown = cli("check", "2", *against(lab), "--format", "markdown").stdout
    assert "## What to do next" in markdown and "`2.routes`" in markdown


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["check", "9"], ["unknown lesson '9'"]),
        (["check", "2,x"], ["unknown lesson 'x'"]),
        (["check", "2", "--format", "xml"], ["--format", "xml", "json"]),
        (["check", "2", "--api-key-env", MISSING_VARIABLE], [MISSING_VARIABLE, "empty or unset"]),
        (["check", "2", "--timeout", "0"], ["--timeout"]),
        (["check", "2", "--litemaas-url", "litemaas.example.com"], ["--litemaas-url", "http"]),
        (["explain", "2.nope"], ["unknown check id '2.nope'", "2.routes"]),
        (["explain", "nothing"], ["unknown check id 'nothing'"]),
        (["list", "7"], ["unknown lesson '7'"]),
    ],
)
def test_usage_errors_exit_2_before_any_request(lab: Lab, args: list[str], words: list[str]) -> None:
    lab.openshift.clear_log()
    result = cli(*args, "--kubeconfig", str(lab.kubeconfig)) if args[0] == "check" else cli(*args)
    assert_usage_error(result, "error:", *words)
    assert lab.openshift.calls() == [] and lab.litemaas.request_log == [] and lab.litellm.request_log == []


@pytest.mark.parametrize("format_", FORMATS)
def test_rejected_credentials_exit_3_with_a_report(lab: Lab, tmp_path: Path, format_: str) -> None:
    expired = kubeconfig_for(lab, tmp_path, "tok-expired")
    result = cli("check", "2", *against(lab, expired), "--format", format_)
    assert result.exit_code == 3, result.stderr
    outcome, statuses = read_report(format_, result.stdout)
    assert outcome in (None, "could_not_grade")
    if format_ in ("table", "markdown"):  # one line for the cause every check shares, not one row a check
        assert f"{len(LESSON_2)} checks could not run" in result.stdout
    else:
        assert statuses == {check: "error" for check in LESSON_2}
    assert "401" in result.stdout
    assert "None" not in result.stdout  # the unknown user and domain are said so, not printed as None
    assert "Traceback" not in result.stderr


def test_rejected_credentials_report_goes_to_the_output_file(lab: Lab, tmp_path: Path) -> None:
    expired = kubeconfig_for(lab, tmp_path, "tok-expired")
    out = tmp_path / "report.xml"
    result = cli("check", "2", *against(lab, expired), "--format", "junit", "-o", out)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert f"report written to {out}" in result.stderr and "could_not_grade" in result.stderr
    _, statuses = read_report("junit", out.read_text("utf-8"))
    assert set(statuses.values()) == {"error"}


def test_an_unreachable_cluster_exits_3(lab: Lab, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    cluster = {"server": f"https://127.0.0.1:{closed_port()}", "insecure-skip-tls-verify": True}
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": cluster}],
        "users": [{"name": "gone", "user": {"token": "tok-user1"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
    }))
    result = cli("check", "2", *against(lab, config), "--format", "json")
    assert result.exit_code == 3, result.stderr
    outcome, statuses = read_report("json", result.stdout)
    assert outcome == "could_not_grade"
    assert set(statuses.values()) == {"error"}
    assert "Traceback" not in result.stderr


def test_a_kubeconfig_path_that_does_not_exist_exits_2(lab: Lab, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-kubeconfig"
    assert_usage_error(cli("check", "1", *against(lab, missing)), f"--kubeconfig {missing}: no such file")


def test_no_kubeconfig_at_all_exits_3_with_a_report(lab: Lab, no_cluster: None) -> None:
    result = cli("check", "1", *services(lab), "--format", "json")
    assert result.exit_code == 3, result.stderr
    outcome, statuses = read_report("json", result.stdout)
    assert outcome == "could_not_grade" and set(statuses.values()) == {"error"}
    assert "oc login" in result.stdout  # the hint says how to get credentials


def test_a_mangled_kubeconfig_is_a_usage_error(lab: Lab, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nclusters: [\n  - {name: x\n")
    assert_usage_error(cli("check", "1", *against(lab, config)), "kubeconfig")


def test_a_profile_path_that_does_not_exist_exits_2(lab: Lab, tmp_path: Path) -> None:
    result = cli("check", "2", *against(lab), "--profile", str(tmp_path / "nope.yaml"))
    assert_usage_error(result, "cannot read profile", "ai501")


def test_a_profile_that_does_not_validate_exits_3_with_a_report(lab: Lab, tmp_path: Path) -> None:
    profile = tmp_path / "broken.yaml"
    profile.write_text("name: broken\nnamespaces:\n  maas: fixed-maas\n")
    result = cli("check", "2", *against(lab), "--profile", str(profile), "--format", "json")
    assert result.exit_code == 3, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, load_schema())
    assert data["outcome"] == "could_not_grade"
    checks = [c for lesson in data["lessons"] for c in lesson["checks"]]
    assert {c["status"] for c in checks} == {"error"}
    assert all("does not validate" in c["message"] for c in checks)


def test_credentials_that_may_not_read_secrets_make_the_secret_checks_error(lab: Lab, world: World) -> None:
    binding = world.find("RoleBinding", "admin-user1", "user1-maas")
    binding["roleRef"]["name"] = "view"
    lab.load(world)
    result = cli("check", "2", *against(lab), "--format", "json")
    assert result.exit_code == 3, result.stderr
    data = json.loads(result.stdout)
    assert data["outcome"] == "could_not_grade"
    checks = {c["id"]: c for lesson in data["lessons"] for c in lesson["checks"]}
    for secret_check in ("2.no-default-secrets", "2.keys-consistent"):
        assert checks[secret_check]["status"] == "error", checks[secret_check]
        assert "secrets" in checks[secret_check]["message"]
        assert checks[secret_check]["hint"]
    # what the view role can read is still graded: an error never hides a pass
    assert checks["2.namespace"]["status"] == "pass"
    assert checks["2.backend-ready"]["status"] == "pass"
    assert not any(c["status"] == "fail" for c in checks.values())


def test_the_student_key_is_tested_only_with_api_key_env(lab: Lab, world: World) -> None:
    without = json.loads(cli("check", "4", *against(lab), "--format", "json").stdout)
    assert next(c for c in without["lessons"][0]["checks"] if c["id"] == "4.key-works")["status"] == "skip"
    env = {"MY_LITEMAAS_KEY": world.secrets["key:my-first-key"]}
    result = cli("check", "4", *against(lab), "--format", "json", "--api-key-env", "MY_LITEMAAS_KEY", env=env)
    assert result.exit_code == 0, result.stderr
    checks = {c["id"]: c for c in json.loads(result.stdout)["lessons"][0]["checks"]}
    assert checks["4.key-works"]["status"] == "pass" and checks["4.key-works"]["points"] == 1.0


def test_service_account_credentials_need_user(lab: Lab, tmp_path: Path) -> None:
    grader = kubeconfig_for(lab, tmp_path, "tok-grader")
    result = cli("check", "2", *against(lab, grader))
    assert_usage_error(result, "--user", "system:serviceaccount:ai501:grader")


# -- output file, version ------------------------------------------------------------------------------------


def test_output_file_is_written_atomically_and_announced(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "report.json"
    result = cli("check", "2", *against(lab), "--format", "json", "-o", out)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"report written to {out}" in result.stderr and "outcome pass" in result.stderr
    first = out.stat().st_ino
    assert read_report("json", out.read_text("utf-8"))[0] == "pass"
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]  # no temporary file left behind

    result = cli("check", "2", *against(lab), "--format", "json", "--output", out)
    assert result.exit_code == 0
    assert out.stat().st_ino != first  # replaced by a rename, never rewritten in place
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]


def test_output_file_that_cannot_be_written_is_a_usage_error_before_grading(lab: Lab, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    lab.openshift.clear_log()
    assert_usage_error(cli("check", "2", *against(lab), "-o", blocker / "report.txt"), "cannot write", "not a writable directory")
    assert_usage_error(cli("check", "2", *against(lab), "-o", tmp_path), "cannot write", "is a directory")
    assert lab.openshift.calls() == []  # refused before a long run, not after


def test_version() -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"maas-lab {__version__}"


# -- list, explain ---------------------------------------------------------------------------------------------


def test_list_shows_every_check() -> None:
    result = cli("list")
    assert result.exit_code == 0, result.stderr
    for check in load_checks().values():
        assert check.id in result.stdout


def test_list_one_lesson() -> None:
    result = cli("list", "3")
    assert result.exit_code == 0, result.stderr
    ids = set(re.findall(r"\b(\d\.[a-z][a-z0-9-]*)", result.stdout))
    assert ids >= {c.id for c in load_checks().values() if c.lesson == 3}
    assert {i for i in ids if not i.startswith("3.")} <= {n for c in load_checks().values() if c.lesson == 3 for n in c.needs}


def test_explain_a_check() -> None:
    check = load_checks()["2.routes"]
    result = cli("explain", "2.routes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"2.routes — {check.title}")
    assert "maas-lab lesson 2 --section " + check.lesson_ref.partition("#")[2] in result.stdout
    assert check.hint in result.stdout
    assert "Deploy LiteMaaS" in result.stdout


# -- lesson ----------------------------------------------------------------------------------------------------


def test_lesson_fills_placeholders_from_options(no_cluster: None) -> None:
    result = cli("lesson", "2", "--user", "u9", "--cluster-domain", "apps.x.example.com", "--raw")
    assert result.exit_code == 0, result.stderr
    assert "<USER_NAME>" not in result.stdout and "<CLUSTER_DOMAIN>" not in result.stdout
    assert "u9-maas" in result.stdout
    assert "apps.x.example.com" in result.stdout
    assert result.stderr == ""


def test_lesson_fills_placeholders_from_the_environment(no_cluster: None) -> None:
    env = {"MAAS_LAB_USER": "u7", "MAAS_LAB_CLUSTER_DOMAIN": "apps.y.example.com"}
    result = cli("lesson", "5", "--raw", env=env)
    assert result.exit_code == 0, result.stderr
    assert "u7-canopy" in result.stdout and "apps.y.example.com" in result.stdout
    assert "<USER_NAME>" not in result.stdout and "<CLUSTER_DOMAIN>" not in result.stdout


def test_lesson_with_a_mangled_kubeconfig_still_renders(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nclusters: [\n  - {name: x\n")
    result = cli("lesson", "2", "--kubeconfig", config, "--raw")
    assert result.exit_code == 0
    assert "<USER_NAME>" in result.stdout and "warning" in result.stderr


def test_lesson_without_a_cluster_keeps_placeholders_and_warns(no_cluster: None) -> None:
    result = cli("lesson", "2", "--raw")
    assert result.exit_code == 0, result.stderr
    assert "<USER_NAME>" in result.stdout and "<CLUSTER_DOMAIN>" in result.stdout
    assert "warning" in result.stderr and "--user" in result.stderr and "--cluster-domain" in result.stderr

    rendered = cli("lesson", "2")
    assert rendered.exit_code == 0
    assert "<USER_NAME>" in rendered.stdout and "warning" in rendered.stderr
    assert '<a id="' not in rendered.stdout  # docsify anchors are not shown in the terminal


def test_lesson_discovers_names_from_the_cluster(lab: Lab) -> None:
    result = cli("lesson", "2", "--kubeconfig", str(lab.kubeconfig), "--raw")
    assert result.exit_code == 0, result.stderr
    assert "<USER_NAME>" not in result.stdout and "<CLUSTER_DOMAIN>" not in result.stdout
    assert "user1-maas" in result.stdout and "apps.example.com" in result.stdout
    assert result.stderr == ""


def test_unknown_lesson_text() -> None:
    assert_usage_error(cli("lesson", "9", "--user", "u9", "--cluster-domain", "apps.x.example.com"), "unknown lesson 9")


# -- quiz ------------------------------------------------------------------------------------------------------


def quiz_answers() -> dict[str, str]:
    quiz = yaml.safe_load(resources.files("maas_lab.quizzes").joinpath("quiz1.yaml").read_text("utf-8"))
    return {q["id"]: q["answer"] for q in quiz["questions"]}


def wrong_letter(right: str) -> str:
    return "a" if right != "a" else "b"


def test_quiz_with_the_right_answers(tmp_path: Path) -> None:
    answers = quiz_answers()
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    result = cli("quiz", "1", "--answers", path)
    assert result.exit_code == 0, result.stderr
    assert f"Score: {len(answers)}/{len(answers)}" in result.stdout


def test_quiz_with_wrong_answers_still_exits_0(tmp_path: Path) -> None:
    answers = quiz_answers()
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({q: wrong_letter(a) for q, a in answers.items()}))
    result = cli("quiz", "1", "--answers", path)
    assert result.exit_code == 0, result.stderr
    assert f"Score: 0/{len(answers)}" in result.stdout
    assert "not quite" in result.stdout


def test_quiz_with_some_questions_unanswered(tmp_path: Path) -> None:
    answers = quiz_answers()
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump({"q1": answers["q1"]}))
    result = cli("quiz", "1", "--answers", path)
    assert result.exit_code == 0, result.stderr
    assert f"Score: 1/{len(answers)}" in result.stdout


def test_quiz_interactive(tmp_path: Path) -> None:
    answers = quiz_answers()
    result = cli("quiz", "1", input="".join(f"{a}\n" for a in answers.values()))
    assert result.exit_code == 0, result.stderr
    assert f"Score: {len(answers)}/{len(answers)}" in result.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("q1: z\n", ["q1", "'z'"]),
        ("q99: a\n", ["unknown question id 'q99'"]),
        ("q1: [b\n", ["not valid YAML/JSON"]),
        ("- q1\n- b\n", ["must map question ids"]),
    ],
)
def test_quiz_with_a_bad_answers_file_exits_2(tmp_path: Path, content: str, words: list[str]) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(content)
    assert_usage_error(cli("quiz", "1", "--answers", path), *words)


def test_quiz_answers_file_missing_exits_2(tmp_path: Path) -> None:
    assert_usage_error(cli("quiz", "1", "--answers", tmp_path / "none.yaml"), "cannot read answers file")
    binary = tmp_path / "answers.yaml"
    binary.write_bytes(b"\xff\xfe\x00q")
    assert_usage_error(cli("quiz", "1", "--answers", binary), "cannot read answers file", "not UTF-8")


def test_quiz_with_no_one_at_the_terminal_exits_2() -> None:
    result = cli("quiz", "1", input="b\n")  # one answer, then the input ends
    assert result.exit_code == 2
    assert "--answers FILE" in result.stderr and "Traceback" not in result.stderr


def test_quiz_for_an_unknown_lesson_exits_2() -> None:
    assert_usage_error(cli("quiz", "9"), "no quiz for lesson 9")


# -- grade -----------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_kubeconfig(lab: Lab, tmp_path: Path) -> Path:
    return kubeconfig_for(lab, tmp_path, "tok-admin")


def grade(lab: Lab, roster: Path, out: Path, kubeconfig: Path, *extra: str) -> Result:
    return cli("grade", "--roster", roster, "--out", out, *against(lab, kubeconfig), *extra)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_grade_a_roster(lab: Lab, tmp_path: Path, admin_kubeconfig: Path) -> None:
    roster = tmp_path / "cohort.csv"
    # as a spreadsheet saves it: byte-order mark, CRLF line ends
    roster.write_text("user,cluster_domain\r\nuser1,\r\nuser2,apps.example.com\r\n", encoding="utf-8-sig", newline="")
    out = tmp_path / "grades"
    result = grade(lab, roster, out, admin_kubeconfig)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "gradebook written to" in result.stderr

    ids = sorted((c for c in load_checks() if c[0].isdigit()), key=lambda c: (int(c.split(".")[0]), c))
    with (out / "gradebook.csv").open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[:4] == ["user", "outcome", "score", "max_score"]
    assert sorted(header[4:], key=lambda c: (int(c.split(".")[0]), c)) == ids
    rows = {row["user"]: row for row in read_csv(out / "gradebook.csv")}
    assert set(rows) == {"user1", "user2"}
    assert rows["user1"]["outcome"] == "pass"
    assert rows["user1"]["1.logged-in"] == "2" and rows["user1"]["2.routes"] == "2"
    assert rows["user2"]["outcome"] == "fail"
    assert rows["user2"]["2.namespace"] == "2" and rows["user2"]["2.backend-ready"] == "0"

    book = json.loads((out / "gradebook.json").read_text("utf-8"))
    assert set(book) == {"reports"} and set(book["reports"]) == {"user1", "user2"}
    schema = load_schema()
    for user, report in book["reports"].items():
        jsonschema.validate(report, schema)
        assert report["target"]["user"] == user
        assert report["outcome"] == rows[user]["outcome"]
        assert json.loads((out / "students" / f"{user}.json").read_text("utf-8")) == report
    page = (out / "report.html").read_text("utf-8")
    assert page.startswith("<!doctype html>") and "user1" in page and "user2" in page and "2.routes" in page
    assert not re.search(r"<link|\b(src|href)=|@import|url\(", page)  # self-contained: nothing to fetch (inline script is fine)
    assert not list(out.rglob(".*.tmp"))


def test_grade_a_yaml_roster_with_a_user_who_does_not_exist(lab: Lab, tmp_path: Path, admin_kubeconfig: Path) -> None:
    roster = tmp_path / "cohort.yaml"
    roster.write_text(yaml.safe_dump([{"user": "user1"}, {"user": "ghost"}]))
    out = tmp_path / "grades"
    result = grade(lab, roster, out, admin_kubeconfig, "--lessons", "1,2")
    assert result.exit_code == 0, result.stderr
    rows = {row["user"]: row for row in read_csv(out / "gradebook.csv")}
    assert set(rows) == {"user1", "ghost"}
    assert rows["ghost"]["1.logged-in"] == "0"
    ghost = json.loads((out / "students" / "ghost.json").read_text("utf-8"))
    logged_in = next(c for c in ghost["lessons"][0]["checks"] if c["id"] == "1.logged-in")
    assert logged_in["status"] == "fail"
    assert ghost["outcome"] == "fail"
    assert {c for c in rows["user1"] if re.match(r"\d\.", c)} == {c for c in load_checks() if c[0] in "12"}


def test_grade_a_row_with_its_own_kubeconfig(lab: Lab, tmp_path: Path, admin_kubeconfig: Path) -> None:
    roster = tmp_path / "cohort.csv"
    roster.write_text(f"user,kubeconfig\nuser1,{lab.kubeconfig}\n")
    out = tmp_path / "grades"
    # MAAS_LAB_USER, set for `check`, is not taken for grade's refused --user
    result = cli("grade", "--roster", roster, "--out", out, *against(lab, admin_kubeconfig), "--lessons", "2",
                 env={"MAAS_LAB_USER": "someone"})
    assert result.exit_code == 0, result.stderr
    assert read_csv(out / "gradebook.csv")[0]["outcome"] == "pass"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("name\nuser1\n", ["`user` column"]),
        ("user,context\n,ctx\n", ["line 2", "empty user"]),
        ("user,email\nuser1,u1@example.com\n", ["unknown column", "email"]),
        ("user\nuser1\nuser2\nuser1\n", ["line 4", "user1 appears twice"]),
        ("user\nuser1\n\nuser2,apps.example.com\n", ["line 4", "more cells than the header"]),
        ("user\n", ["no students"]),
        ("user\n../etc\n", ["not a valid user name"]),
    ],
)
def test_a_malformed_roster_exits_2(lab: Lab, tmp_path: Path, admin_kubeconfig: Path, content: str, words: list[str]) -> None:
    roster = tmp_path / "cohort.csv"
    roster.write_text(content)
    out = tmp_path / "grades"
    assert_usage_error(grade(lab, roster, out, admin_kubeconfig), *words)
    assert not out.exists()


def test_a_roster_that_cannot_be_read_exits_2(lab: Lab, tmp_path: Path, admin_kubeconfig: Path) -> None:
    assert_usage_error(grade(lab, tmp_path / "none.csv", tmp_path / "grades", admin_kubeconfig), "cannot read roster")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("user\nrené\n".encode("latin-1"))
    assert_usage_error(grade(lab, latin1, tmp_path / "grades", admin_kubeconfig), "cannot read roster", "not UTF-8")
    bad_yaml = tmp_path / "cohort.yaml"
    bad_yaml.write_text("user: user1\n")
    assert_usage_error(grade(lab, bad_yaml, tmp_path / "grades", admin_kubeconfig), "YAML list")


@pytest.mark.parametrize(("option", "value"), [("-o", "out.json"), ("--output", "out.json"), ("--format", "json"), ("--user", "user1")])
def test_grade_refuses_single_report_options(lab: Lab, tmp_path: Path, admin_kubeconfig: Path, option: str, value: str) -> None:
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\nuser1\n")
    out = tmp_path / "grades"
    assert_usage_error(grade(lab, roster, out, admin_kubeconfig, option, value), option.lstrip("-") if option != "-o" else "-o")
    assert not out.exists()


def test_grade_into_a_path_that_is_a_file_exits_2(lab: Lab, tmp_path: Path, admin_kubeconfig: Path) -> None:
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\nuser1\n")
    assert_usage_error(grade(lab, roster, roster, admin_kubeconfig), "cannot write the gradebook")


def test_an_interrupted_grade_leaves_a_valid_gradebook_and_resumes(
    lab: Lab, tmp_path: Path, admin_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import _thread

    from maas_lab import roster as roster_module

    real_grade = roster_module.Grader.grade
    graded: list[str] = []
    interrupted: list[bool] = []
    release = threading.Event()

    def ctrl_c_during_user2(self: Any, row: Any) -> Any:
        graded.append(row.user)
        if row.user == "user2" and not interrupted:
            interrupted.append(True)
            _thread.interrupt_main()  # Ctrl-C while the second student is in flight ...
            release.wait(30)  # ... whose services hang: abandoned, not awaited
            raise RuntimeError("abandoned")  # and, once released, it reads nothing more
        return real_grade(self, row)

    monkeypatch.setattr(roster_module.Grader, "grade", ctrl_c_during_user2)
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\nuser1\nuser2\nuser3\n")
    out = tmp_path / "grades"
    started = time.monotonic()
    result = grade(lab, roster, out, admin_kubeconfig, "--lessons", "1", "--jobs", "1")
    release.set()
    assert result.exit_code == 130
    assert time.monotonic() - started < 20, "the hung student was awaited"
    assert "interrupted" in result.stderr and "1 student(s) graded so far" in result.stderr
    again = result.stderr.split("resume with: ")[1].split()
    assert again[:2] == ["maas-lab", "grade"] and again[-1] == "--resume" and str(out) in again
    assert [row["user"] for row in read_csv(out / "gradebook.csv")] == ["user1"]
    assert set(json.loads((out / "gradebook.json").read_text("utf-8"))["reports"]) == {"user1"}
    assert sorted(p.name for p in (out / "students").iterdir()) == ["user1.json"]

    graded.clear()
    result = grade(lab, roster, out, admin_kubeconfig, "--lessons", "1", "--jobs", "1", "--resume")
    assert result.exit_code == 0, result.stderr
    assert graded == ["user2", "user3"]  # user1 was not graded again ...
    assert [row["user"] for row in read_csv(out / "gradebook.csv")] == ["user1", "user2", "user3"]  # ... but counts


def test_an_interrupted_check_exits_130(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    from maas_lab import grading

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(grading, "grade", interrupted)
    assert cli("check", "2", *against(lab)).exit_code == 130


def test_grade_exits_3_when_nobody_could_be_graded(lab: Lab, tmp_path: Path) -> None:
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\nuser1\nuser2\n")
    out = tmp_path / "grades"
    result = grade(lab, roster, out, kubeconfig_for(lab, tmp_path, "tok-expired"), "--lessons", "1")
    assert result.exit_code == 3, result.stderr
    rows = read_csv(out / "gradebook.csv")
    assert {row["user"]: row["outcome"] for row in rows} == {"user1": "could_not_grade", "user2": "could_not_grade"}
    assert all(row["1.logged-in"] == "" for row in rows)  # an `error` cell is empty, not 0
    assert json.loads((out / "students" / "user1.json").read_text("utf-8"))["outcome"] == "could_not_grade"
