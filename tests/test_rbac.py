"""Least privilege: deploy/'s ClusterRole, loaded into the fake API server's RBAC, grades the reference world with
full marks on the student's behalf (as `grade` grades a roster row), and every verb it grants is needed.

Removing any one verb on any one resource makes some check `error` (a grader-side failure, never a student's
`fail`). A shortcut (a read with a fallback) may instead keep every verdict, if the grader then visibly falls back:
it is denied that read, or makes more requests. The scenes: worlds graded on a student's behalf, a two-student
roster through `grade_roster` (the CronJob's path), and `maas-lab smoke` where the build has `env.*` checks.
Rules whose only readers are not in this build are reported as skipped, by name.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from maas_lab.cli import app
from maas_lab.engine.model import Report, Status
from maas_lab.engine.registry import load_checks
from maas_lab.roster import Options, RosterRow, grade_roster, settings_for
from tests.fakes.kube_api import FakeOpenShift, RequestRecord
from tests.fakes.litellm import FakeLiteLLM
from tests.fakes.litemaas import FakeLiteMaaS
from tests.fixtures.cluster import HOUR, USER, kustomize_litemaas
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import World, reference_world
from tests.lab import Lab, RouteTransport, statuses

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SA_NAMESPACE, SA_NAME, SA_TOKEN = "maas-lab", "maas-lab-grader", "tok-maas-lab-grader"
SA_USER = f"system:serviceaccount:{SA_NAMESPACE}:{SA_NAME}"
STUDENT = "user1"

# (apiGroup, resource, verb) reads with a fallback: without them the verdicts may stay, the cost may not.
SHORTCUTS = {
    ("config.openshift.io", "ingresses", "get"),  # the apps domain; the OAuth issuer is public
    ("user.openshift.io", "users", "list"),  # a roster's Users in one LIST, not a GET each
    ("user.openshift.io", "groups", "list"),  # a roster's Groups in one LIST
}
# Rules granted for readers other helpers add (cohort collector, smoke); skipped, named, while absent.
READ_ELSEWHERE = {
    ("user.openshift.io", "users", "list"): "the cohort collector's one LIST of Users (issue 11)",
    ("user.openshift.io", "groups", "list"): "the cohort collector's one LIST of Groups (issue 11)",
    ("storage.k8s.io", "storageclasses", "list"): "smoke's default-StorageClass check (issue 9)",
}


def manifest(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / name).read_text())
    return loaded


def cluster_role() -> dict[str, Any]:
    return manifest("clusterrole.yaml")


def binding() -> dict[str, Any]:
    return manifest("clusterrolebinding.yaml")


Grant = tuple[str, str, str]


def grants(role: dict[str, Any]) -> list[Grant]:
    """Every (apiGroup, resource, verb) the role grants: the unit one can remove."""
    return sorted({(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]})


def without(role: dict[str, Any], grant: Grant) -> dict[str, Any]:
    """The role minus one verb on one resource (other resources and verbs of the same rule stay)."""
    group, resource, verb = grant
    reduced = copy.deepcopy(role)
    rules = []
    for rule in reduced["rules"]:
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
            others = [r for r in rule["resources"] if r != resource]
            if others:
                rules.append({**rule, "resources": others})
            if len(rule["verbs"]) > 1:
                rules.append({**rule, "resources": [resource], "verbs": [v for v in rule["verbs"] if v != verb]})
        else:
            rules.append(rule)
    reduced["rules"] = rules
    return reduced


@pytest.fixture(scope="module")
def grader(
    openshift: FakeOpenShift, litemaas_fake: FakeLiteMaaS, litellm_fake: FakeLiteLLM, kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Lab, Path]:
    """A Lab on the session's fakes and a kubeconfig holding the grader's service-account token (one per module)."""
    openshift.add_service_account(SA_NAMESPACE, SA_NAME, token=SA_TOKEN)
    grader_kubeconfig = openshift.write_kubeconfig(tmp_path_factory.mktemp("grader") / "kubeconfig", token=SA_TOKEN)
    return Lab(openshift, litemaas_fake, litellm_fake, kubeconfig), grader_kubeconfig


def grade_as_grader(lab: Lab, kubeconfig: Path | None, role: dict[str, Any]) -> Report:
    """The loaded world graded with the service account, as `grade --roster` grades a row without credentials."""
    assert lab.world is not None
    lab.openshift.reset([*lab.world.objects, role, binding()])
    lab.openshift.clear_log()
    settings = settings_for(lab.settings(kubeconfig=str(kubeconfig) if kubeconfig else None), RosterRow(user=STUDENT))
    assert settings.on_behalf and settings.user == STUDENT
    return lab.grade(kubeconfig=settings.kubeconfig, user=settings.user, on_behalf=settings.on_behalf)


_PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/(?P<ns>[^/]+))?(?:/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?)?$")


def requested(record: RequestRecord) -> Grant | None:
    """The (group, resource, verb) a logged request needed (None: a non-resource path such as the OAuth metadata)."""
    match = _PATH.match(record.path)
    if not match:
        return None
    group = match["group"] or ""
    plural, name, namespace = match["plural"], match["name"], match["ns"]
    if plural is None and namespace is not None:  # /api/v1/namespaces/<name>
        plural, name = "namespaces", namespace
    if plural is None:
        return None
    if record.method == "POST":
        return group, plural, "create"
    return group, plural, "get" if name else "list"


def requests_by_grader(openshift: FakeOpenShift) -> list[RequestRecord]:
    return [r for r in openshift.request_log if r.user == SA_USER]


def kustomize_install(world: World) -> None:
    """LiteMaaS installed with Kustomize: its OAuthClient is a cluster object (2.oauth reads it)."""
    world.drop(lambda o: o["metadata"].get("namespace") == f"{USER}-maas" and o["kind"] not in ("Namespace", "RoleBinding"))
    world.objects += kustomize_litemaas(USER, {k: v for k, v in world.secrets.items() if not k.startswith("key:")}, world.now - 5 * HOUR)
    world.litemaas.oauth_client_id = "litemaas-oauth-client"


def shared_models_for_the_class_only(world: World) -> None:
    """The shared namespace readable by the course's group, not by every authenticated user (the grader is neither)."""
    for obj in world.objects:
        if obj["kind"] == "RoleBinding" and obj["metadata"]["namespace"] == "ai501":
            obj["subjects"] = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "litemaas-admins"}]


# Worlds between them reaching every read: the reference, the other install, a student before lesson 2
# (whether they may create projects is asked on their behalf), and a shared namespace not open to all.
SCENES: dict[str, Callable[[World], None]] = {
    "reference": lambda world: None,
    "kustomize-install": kustomize_install,
    "no-project-yet": OMISSIONS["1.can-create-project"],
    "class-only-models": shared_models_for_the_class_only,
}


@dataclass
class Run:
    statuses: dict[str, Status]
    report: Report | None  # the single-student scenes' report
    log: list[RequestRecord]  # the grader's requests

    @property
    def used(self) -> set[Grant]:
        return {g for r in self.log if (g := requested(r))}

    @property
    def denied(self) -> list[RequestRecord]:
        return [r for r in self.log if r.status == 403]


def run_scene(lab: Lab, kubeconfig: Path, scene: str, role: dict[str, Any]) -> Run:
    if scene == SMOKE:
        return run_smoke(lab, kubeconfig, role)
    if scene == ROSTER:
        return run_roster(lab, kubeconfig, role)
    world = reference_world()
    SCENES[scene](world)
    lab.load(world)
    report = grade_as_grader(lab, kubeconfig, role)
    return Run(statuses(report), report, requests_by_grader(lab.openshift))


SMOKE, ROSTER = "smoke", "roster"


def run_roster(lab: Lab, kubeconfig: Path, role: dict[str, Any]) -> Run:
    """Two students through `grade_roster`, as the CronJob grades its roster (a cohort-wide collection reads here)."""
    lab.load(reference_world())
    lab.openshift.reset([*reference_world().objects, role, binding()])
    lab.openshift.clear_log()
    base = lab.settings(kubeconfig=str(kubeconfig))
    options = Options(transport=RouteTransport(lab.routes()))
    book = grade_roster(base, [RosterRow(user=STUDENT), RosterRow(user="user2")], [1, 2, 3, 4, 5], kubeconfig.parent / "book", options=options)
    found = {
        f"{user}:{check['id']}": Status(check["status"])
        for user, report in book.reports.items()
        for lesson in report["lessons"]
        for check in lesson["checks"]
    }
    return Run(found, None, requests_by_grader(lab.openshift))


def has_smoke_checks() -> bool:
    return any(check_id.startswith("env.") for check_id in load_checks())


def run_smoke(lab: Lab, kubeconfig: Path, role: dict[str, Any]) -> Run:
    """`maas-lab smoke` with the grader's credentials (the Tekton example runs it so), on the reference world."""
    lab.load(reference_world())
    lab.openshift.reset([*reference_world().objects, role, binding()])
    lab.openshift.clear_log()
    out = kubeconfig.parent / "smoke.json"
    result = CliRunner().invoke(app, ["smoke", "--kubeconfig", str(kubeconfig), "--format", "json", "-o", str(out)])
    assert out.is_file(), result.output
    body = json.loads(out.read_text())
    found = {c["id"]: Status(c["status"]) for lesson in body["lessons"] for c in lesson["checks"]}
    return Run(found, None, requests_by_grader(lab.openshift))


@pytest.fixture(scope="module")
def full_runs(grader: tuple[Lab, Path]) -> dict[str, Run]:
    """Every scene graded with the whole role, once for the module."""
    scenes = [*SCENES, ROSTER, SMOKE] if has_smoke_checks() else [*SCENES, ROSTER]
    return {scene: run_scene(*grader, scene, cluster_role()) for scene in scenes}


def test_grader_role_grades_the_reference_world_with_full_marks(grader: tuple[Lab, Path], full_runs: dict[str, Run], kubeconfig: Path) -> None:
    lab = grader[0]
    report = full_runs["reference"].report
    assert report is not None
    # 4.key-works is skipped unless a student key is passed (--api-key-env): a grader has none
    assert {r.check.id: r.status for r in report.results if r.status is not Status.PASS} == {"4.key-works": Status.SKIP}
    assert report.score >= report.max_score > 0
    # the grader is never denied, in any scene, and gives the verdicts the student's own credentials give
    for scene, run in full_runs.items():
        assert [(r.method, r.path) for r in run.denied] == [], scene
        if scene == SMOKE:
            assert Status.ERROR not in run.statuses.values()
            continue
        if scene == ROSTER:
            # user1 is graded through the class-wide collection exactly as in the reference scene
            mine = {c.removeprefix(f"{STUDENT}:"): s for c, s in run.statuses.items() if c.startswith(f"{STUDENT}:")}
            assert mine == full_runs["reference"].statuses
            continue
        world = reference_world()
        SCENES[scene](world)
        lab.load(world)
        assert statuses(lab.grade(kubeconfig=str(kubeconfig))) == run.statuses, scene


def test_role_grants_reads_only() -> None:
    writes = {"update", "patch", "delete", "deletecollection", "watch", "*", "impersonate", "escalate", "bind"}
    assert [g for g in grants(cluster_role()) if g[2] in writes] == []
    creates = [g for g in grants(cluster_role()) if g[2] == "create"]
    assert creates == [("authorization.k8s.io", "subjectaccessreviews", "create")]  # a question, it changes nothing
    assert all("*" not in rule["resources"] and "*" not in rule["apiGroups"] for rule in cluster_role()["rules"])


def test_binding_names_the_service_account_the_jobs_run_as() -> None:
    subject = binding()["subjects"]
    assert subject == [{"kind": "ServiceAccount", "name": SA_NAME, "namespace": SA_NAMESPACE}]
    assert binding()["roleRef"]["name"] == cluster_role()["metadata"]["name"]
    assert manifest("serviceaccount.yaml")["metadata"] == {"name": SA_NAME, "namespace": SA_NAMESPACE}


def test_each_grant_is_one_removable_unit() -> None:
    role = cluster_role()
    for grant in grants(role):
        assert grants(without(role, grant)) == [g for g in grants(role) if g != grant]


@pytest.mark.parametrize("grant", grants(cluster_role()), ids=lambda g: f"{g[2]}-{g[1]}{'.' + g[0] if g[0] else ''}")
def test_every_grant_is_needed(grader: tuple[Lab, Path], full_runs: dict[str, Run], grant: Grant) -> None:
    if grant in READ_ELSEWHERE and not any(grant in run.used for run in full_runs.values()):
        pytest.skip(f"{grant} is for {READ_ELSEWHERE[grant]}, which this build does not have")
    reduced = without(cluster_role(), grant)
    newly_erred: dict[str, list[str]] = {}
    fell_back = []
    for scene, full in full_runs.items():
        run = run_scene(*grader, scene, reduced)
        changed = {c: (full.statuses[c], s) for c, s in run.statuses.items() if s is not full.statuses[c]}
        # a permission the grader lacks is its own fault: a verdict may only turn into `error` (or a skip that follows one)
        assert {c: s for c, (_, s) in changed.items() if s not in (Status.ERROR, Status.SKIP)} == {}, scene
        newly_erred[scene] = sorted(c for c, (_, s) in changed.items() if s is Status.ERROR)
        if any(requested(r) == grant for r in run.denied) or len(run.log) > len(full.log):
            fell_back.append(scene)
    if any(newly_erred.values()):
        return
    assert grant in SHORTCUTS, f"nothing errs without {grant}"
    assert fell_back, f"without {grant} the grader neither errs nor falls back: it does not need it"
