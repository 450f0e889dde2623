"""Grading a class: one collection for the cohort, students concurrently under one bound, each with a deadline.

The real grader (kubernetes and httpx clients) against one fake OpenShift and one LiteMaaS/LiteLLM pair that
serves every student's Route host from that student's own state.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from maas_lab.cli import app
from maas_lab.evidence.snapshot import Snapshot
from maas_lab.gradebook import read_students
from maas_lab.roster import Options, RosterRow, grade_roster, parse_shard, shard_of
from maas_lab.settings import Settings
from tests.fakes.cohort import HANG_SECONDS, CohortLiteLLM, CohortLiteMaaS, HostTransport, build_cohort, serve
from tests.fakes.kube_api import FakeOpenShift
from tests.fixtures.world import reference_world
from tests.test_bundles import planted


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for lesson in report["lessons"] for c in lesson["checks"]}


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[CohortLiteMaaS, CohortLiteLLM]]:
    with CohortLiteMaaS() as litemaas, CohortLiteLLM() as litellm:
        yield litemaas, litellm


@pytest.fixture
def admin(openshift: FakeOpenShift, tmp_path: Path) -> Settings:
    path = openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    return Settings(kubeconfig=str(path), timeout=8.0)


def run(
    states: dict[str, str],
    openshift: FakeOpenShift,
    services: tuple[CohortLiteMaaS, CohortLiteLLM],
    base: Settings,
    out: Path,
    lessons: list[int],
    *,
    hang: set[str] = frozenset(),  # type: ignore[assignment]
    denied: str | None = None,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    litemaas, litellm = services
    cohort = build_cohort(states)
    serve(cohort, openshift, litemaas, litellm)
    if denied:
        openshift.inject(denied, status=403)
    for user in hang:
        litemaas.hang.add(cohort.hosts(user)[0])
        litellm.hang.add(cohort.hosts(user)[1])
    transport = HostTransport(litemaas.url, litellm.url)
    rows = [RosterRow(user) for user in states]
    book = grade_roster(base, rows, lessons, out, options=Options(transport=transport, **options))
    return book.reports


def test_a_class_of_56_mixed_students_in_one_run(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], admin: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = {f"s{n:03d}": "complete" for n in range(40)}
    states |= {f"empty{n}": "empty" for n in range(5)} | {f"broken{n}": "broken" for n in range(5)}
    states |= {f"conv{n}": "converging" for n in range(4)} | {"hung": "complete", "raiser": "complete"}
    real_preflight = Snapshot.preflight

    def preflight(self: Snapshot) -> None:
        if self.settings.user == "raiser":
            raise RuntimeError("a grader bug")  # a crash for one student must not stop the others
        real_preflight(self)

    monkeypatch.setattr(Snapshot, "preflight", preflight)
    started = time.monotonic()
    reports = run(states, openshift, services, admin, tmp_path / "grades", [1, 2, 3, 4, 5], hang={"hung"}, jobs=8)
    assert time.monotonic() - started < HANG_SECONDS, "the hung student was awaited"

    assert set(reports) == set(states)
    outcomes = {user: report["outcome"] for user, report in reports.items()}
    assert {u for u, o in outcomes.items() if o == "pass"} == {u for u, s in states.items() if s == "complete"} - {"hung", "raiser"}
    for user in (u for u, s in states.items() if s in ("empty", "broken", "converging")):
        assert outcomes[user] == "fail", (user, outcomes[user])
    assert all(checks(reports[f"empty{n}"])["2.namespace"]["status"] == "fail" for n in range(5))
    assert all(checks(reports[f"broken{n}"])["2.backend-ready"]["status"] == "fail" for n in range(5))
    assert all(checks(reports[f"conv{n}"])["2.litellm-ready"]["status"] == "pending" for n in range(4))

    hung = checks(reports["hung"])
    assert reports["hung"]["outcome"] == "could_not_grade"
    assert hung["2.backend-healthy"]["status"] == "error"  # its services did not answer: the grader's side
    assert hung["2.routes"]["status"] in ("pass", "error")  # read from the cluster, not from the hung services
    raiser = reports["raiser"]
    assert raiser["outcome"] == "could_not_grade"
    assert all(c["status"] == "error" and "internal error: RuntimeError" in c["message"] for c in checks(raiser).values())

    on_disk = read_students(tmp_path / "grades")
    assert on_disk == reports
    book = json.loads((tmp_path / "grades" / "gradebook.json").read_text("utf-8"))
    assert book["reports"] == reports


def kube_questions(openshift: FakeOpenShift) -> Counter[tuple[str, str]]:
    """The API server's request log without continuation pages (one more a 500 objects) and access reviews on
    students' behalf (per student by nature)."""
    return Counter(
        (r.method, r.path)
        for r in openshift.request_log
        if "continue" not in r.query and not r.path.endswith("/subjectaccessreviews")
    )


def test_the_kubernetes_requests_do_not_grow_with_the_class(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], admin: Settings, tmp_path: Path
) -> None:
    asked: list[Counter[tuple[str, str]]] = []
    for size in (50, 100):
        states = {f"s{n:03d}": ("broken" if n % 10 == 0 else "complete") for n in range(size)}
        openshift.clear_log()
        reports = run(states, openshift, services, admin, tmp_path / f"grades{size}", [1, 2, 3, 4, 5])
        assert sum(r["outcome"] == "pass" for r in reports.values()) == size * 9 // 10
        asked.append(kube_questions(openshift))
    assert asked[0] == asked[1]
    assert sum(asked[0].values()) < 50, asked[0]  # a few requests a kind, not a few a student
    assert not any(path.startswith("/apis/user.openshift.io/v1/users/") for _, path in asked[0])


def test_a_denied_cluster_wide_list_falls_back_to_per_namespace_reads(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], admin: Settings, tmp_path: Path
) -> None:
    states = {"s001": "complete", "s002": "broken"}
    try:  # may list secrets in each namespace, not across them
        reports = run(states, openshift, services, admin, tmp_path / "grades", [2], denied=r"^/api/v1/secrets$")
    finally:
        openshift.clear_faults()
    assert reports["s001"]["outcome"] == "pass" and reports["s002"]["outcome"] == "fail"
    assert openshift.calls(r"^/api/v1/namespaces/s001-maas/secrets$") and openshift.calls(r"^/api/v1/namespaces/s002-maas/secrets$")
    assert not openshift.calls(r"^/apis/apps/v1/namespaces/s001-maas/deployments$")  # other kinds: still cluster-wide


def test_rows_with_their_own_credentials_are_read_per_namespace(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], admin: Settings, tmp_path: Path
) -> None:
    litemaas, litellm = services
    serve(build_cohort({"user1": "complete", "s002": "complete"}), openshift, litemaas, litellm)
    own = openshift.write_kubeconfig(tmp_path / "user1", token="tok-user1")
    rows = [RosterRow("user1", kubeconfig=str(own)), RosterRow("s002")]
    openshift.clear_log()
    book = grade_roster(admin, rows, [2], tmp_path / "grades", options=Options(transport=HostTransport(litemaas.url, litellm.url)))
    assert {u: r["outcome"] for u, r in book.reports.items()} == {"user1": "pass", "s002": "pass"}
    assert {r.user for r in openshift.calls(r"^/api/v1/namespaces/user1-maas/secrets$")} == {"user1"}
    assert {r.user for r in openshift.calls(r"^/api/v1/secrets$")} == {"admin"}


def test_grade_saves_evidence_and_regrades_from_it(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], admin: Settings, tmp_path: Path
) -> None:
    states = {"s001": "complete", "s002": "broken", "s003": "converging", "s004": "empty"}
    out = tmp_path / "grades"
    live = run(states, openshift, services, admin, out, [1, 2, 3, 4, 5], save_evidence=True)
    assert sorted(p.name for p in (out / "evidence").iterdir()) == [f"{u}.json.gz" for u in sorted(states)]
    secrets = planted(reference_world())
    for bundle in (out / "evidence").iterdir():
        text = gzip.decompress(bundle.read_bytes()).decode()
        assert not [name for name, value in secrets.items() if value in text], bundle.name
        classmates = [u for u in states if u != bundle.name.split(".")[0]]
        assert not [u for u in classmates if u in text], f"{bundle.name} names a classmate"

    openshift.reset([])  # the lab is torn down
    result = CliRunner().invoke(app, ["grade", "--from-evidence", str(out / "evidence"), "--out", str(tmp_path / "regraded")])
    assert result.exit_code == 0, result.stderr
    regraded = read_students(tmp_path / "regraded")
    assert not openshift.request_log
    for user in states:
        before = {i: (c["status"], c["message"], c["points"]) for i, c in checks(live[user]).items()}
        after = {i: (c["status"], c["message"], c["points"]) for i, c in checks(regraded[user]).items()}
        assert before == after, user

    stale = tmp_path / "stale"
    stale.mkdir()
    data = json.loads(gzip.decompress((out / "evidence" / "s001.json.gz").read_bytes()))
    (stale / "s001.json.gz").write_bytes(gzip.compress(json.dumps({**data, "schema_version": 0}).encode()))
    result = CliRunner().invoke(app, ["grade", "--from-evidence", str(stale), "--out", str(tmp_path / "stale-grades")])
    assert result.exit_code == 2 and "schema_version 0" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "stale-grades").exists()

    roster = tmp_path / "some.csv"
    roster.write_text("user\ns002\ns003\n")
    result = CliRunner().invoke(
        app, ["grade", "--from-evidence", str(out / "evidence"), "--roster", str(roster), "--out", str(tmp_path / "some")]
    )
    assert result.exit_code == 0, result.stderr
    assert set(read_students(tmp_path / "some")) == {"s002", "s003"}


def test_shards_hold_every_student_exactly_once(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], admin: Settings, tmp_path: Path
) -> None:
    users = [f"s{n:03d}" for n in range(11)]
    serve(build_cohort(dict.fromkeys(users, "complete")), openshift, *services)
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\n" + "\n".join(reversed(users)) + "\n")
    seen: list[str] = []
    for index in range(1, 4):
        out = tmp_path / f"shard{index}"
        args = ["grade", "--roster", str(roster), "--out", str(out), "--lessons", "1", "--kubeconfig", str(admin.kubeconfig)]
        result = CliRunner().invoke(app, [*args, "--shard", f"{index}/3"])
        assert result.exit_code == 0, result.stderr
        seen += read_students(out)
    assert sorted(seen) == users
    rows = [RosterRow(u) for u in users]
    assert [r.user for r in shard_of(rows, 1, 3)] == users[:3]

    # the shards merged equal one unsharded run of the same roster
    merged, whole = tmp_path / "merged", tmp_path / "whole"
    result = CliRunner().invoke(app, ["gradebook", "merge", *(str(tmp_path / f"shard{i}") for i in range(1, 4)), "--out", str(merged)])
    assert result.exit_code == 0, result.stderr
    args = ["grade", "--roster", str(roster), "--out", str(whole), "--lessons", "1", "--kubeconfig", str(admin.kubeconfig)]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert (merged / "gradebook.csv").read_text() == (whole / "gradebook.csv").read_text()
    graded = {u: {i: (c["status"], c["message"], c["points"]) for i, c in checks(r).items()} for u, r in read_students(whole).items()}
    assert {u: {i: (c["status"], c["message"], c["points"]) for i, c in checks(r).items()} for u, r in read_students(merged).items()} == graded
    assert json.loads((merged / "gradebook.json").read_text())["reports"].keys() == graded.keys()


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/3", "1/0", "1"])
def test_a_bad_shard_is_a_usage_error(text: str, tmp_path: Path) -> None:
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\ns001\n")
    result = CliRunner().invoke(app, ["grade", "--roster", str(roster), "--out", str(tmp_path / "g"), "--shard", text])
    assert result.exit_code == 2 and "--shard" in result.stderr


def test_shard_auto_takes_the_job_completion_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "2")
    assert parse_shard("auto/4") == (3, 4)


def step(n: int, outcome: str) -> Any:
    from maas_lab.roster import Progress

    report = {"outcome": outcome, "score": 2.0, "max_score": 4.0}
    return Progress(f"s{n:03d}", report, n, 3, 2, {"pass": n - 1, "fail": 1, "could_not_grade": 0})


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    import io

    from rich.console import Console

    from maas_lab.progress import GradeProgress

    plain = io.StringIO()
    with GradeProgress(Console(file=plain, force_terminal=False), 3) as show:
        show(step(1, "fail"))
        show(step(2, "pass"))
    assert plain.getvalue().splitlines() == ["[1/3] s001: fail 2/4", "[2/3] s002: pass 2/4"]
    terminal = io.StringIO()
    with GradeProgress(Console(file=terminal, force_terminal=True, width=80), 3) as show:
        show(step(2, "pass"))
    text = terminal.getvalue()
    assert "2/3" in text and "2 in flight" in text and "pass 1 · fail 1 · not graded 0" in text


def test_a_right_given_to_a_group_counts_for_its_members(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], admin: Settings, tmp_path: Path
) -> None:
    """OpenShift keeps membership in Group objects: the review on a student's behalf carries those groups."""
    litemaas, litellm = services
    cohort = build_cohort({"s001": "empty", "s002": "empty"})
    binding = next(o for o in cohort.objects if o["kind"] == "ClusterRoleBinding" and o["metadata"]["name"] == "self-provisioners")
    binding["subjects"] = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "students"}]
    cohort.objects.append({"apiVersion": "user.openshift.io/v1", "kind": "Group", "metadata": {"name": "students"}, "users": ["s001"]})
    serve(cohort, openshift, litemaas, litellm)
    book = grade_roster(admin, [RosterRow("s001"), RosterRow("s002")], [1], tmp_path / "grades")
    assert checks(book.reports["s001"])["1.can-create-project"]["status"] == "pass"
    assert checks(book.reports["s002"])["1.can-create-project"]["status"] == "fail"
    assert len(openshift.calls(r"^/apis/user.openshift.io/v1/groups$")) == 1  # one LIST for the class


def test_a_slow_list_of_projects_does_not_fail_the_class(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], tmp_path: Path
) -> None:
    path = openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    base = Settings(kubeconfig=str(path), timeout=4.0)  # 1 s a request
    litemaas, litellm = services
    serve(build_cohort({"s001": "complete", "s002": "empty"}), openshift, litemaas, litellm)
    openshift.inject(r"^/apis/project.openshift.io/v1/projects$", delay=3.0)
    try:
        book = grade_roster(base, [RosterRow("s001"), RosterRow("s002")], [2], tmp_path / "grades",
                            options=Options(transport=HostTransport(litemaas.url, litellm.url)))
    finally:
        openshift.clear_faults()
    assert checks(book.reports["s001"])["2.namespace"]["status"] == "pass"
    assert checks(book.reports["s002"])["2.namespace"]["status"] == "fail"
    assert openshift.calls(r"^/api/v1/namespaces/s002-maas$")  # asked per namespace instead


def test_ctrl_c_abandons_students_in_flight_and_leaves_a_valid_gradebook(
    openshift: FakeOpenShift, services: tuple[CohortLiteMaaS, CohortLiteLLM], admin: Settings, tmp_path: Path
) -> None:
    """A real process and a real SIGINT while every student's services hang: exit 130, valid files, the resume command."""
    import signal
    import subprocess
    import sys

    litemaas, litellm = services
    users = [f"s{n:03d}" for n in range(12)]
    serve(build_cohort(dict.fromkeys(users, "complete")), openshift, litemaas, litellm)
    litemaas.hang.add("127.0.0.1")  # --litemaas-url/--litellm-url below: every request hangs
    litellm.hang.add("127.0.0.1")
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\n" + "\n".join(users) + "\n")
    out = tmp_path / "grades"
    command = [sys.executable, "-m", "maas_lab", "grade", "--roster", str(roster), "--out", str(out), "--lessons", "2",
               "--kubeconfig", str(admin.kubeconfig), "--litemaas-url", litemaas.url, "--litellm-url", litellm.url]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not openshift.calls(r"/routes$") and time.monotonic() < deadline:  # grading has started
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        stderr = process.communicate(timeout=15)[1]
    finally:
        process.kill()
        litemaas.hang.clear()
        litellm.hang.clear()
    assert process.returncode == 130, stderr
    resume = stderr.split("resume with: ")[1].split()
    assert resume[:2] == ["maas-lab", "grade"] and resume[-1] == "--resume" and str(out) in resume
    assert (out / "gradebook.csv").read_text("utf-8").startswith("user,outcome,score,max_score")
    assert json.loads((out / "gradebook.json").read_text("utf-8"))["reports"] == read_students(out)
