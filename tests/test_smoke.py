"""`maas-lab smoke`: a ready lab passes, and each `env.*` check fails on its own broken lab, naming the fix.

The lab is the reference world on the fake OpenShift API server (read with an administrator's kubeconfig) plus a
default StorageClass, and a fake of the shared model servers reached through `--model-url` (or, in-cluster, through
the InferenceServices' Service URLs routed to it by the test transport).
"""

from __future__ import annotations

import copy
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from maas_lab.cli import app
from maas_lab.engine.model import Status
from maas_lab.engine.registry import load_checks
from maas_lab.report import FORMATS
from maas_lab.report.json_ import load_schema, report_to_dict
from maas_lab.smoke import run_smoke
from tests.fakes.faults import issue_tls_files
from tests.fakes.models import FakeModels
from tests.fixtures.world import World
from tests.lab import Lab, RouteTransport

ENV_CHECKS = sorted(c.id for c in load_checks().values() if c.lesson == "env")
WITHOUT_ROSTER = [c for c in ENV_CHECKS if not c.startswith("env.roster-")]
SCHEMA = load_schema()


def storage_class(name: str, *, default: bool) -> dict[str, Any]:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": name, "annotations": annotations},
        "provisioner": "kubernetes.io/no-provisioner", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
    }


@pytest.fixture(scope="session")
def models() -> Iterator[FakeModels]:
    with FakeModels() as fake:
        yield fake


@pytest.fixture
def ready(world: World) -> World:
    """The reference world, plus what a lab has that a student's world does not show: storage."""
    world.objects += [storage_class("gp3-csi", default=True), storage_class("nfs", default=False)]
    return world


@pytest.fixture
def admin(lab: Lab, tmp_path: Path) -> Path:
    return Path(lab.openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin"))


def model_urls(models: FakeModels) -> list[str]:
    """A --model-url for each shared model, named by InferenceService or (tinyllama) by served name."""
    named = {"llama-32": "llama-32", "llama-32-fp8": "llama-32-fp8", "tinyllama-1b-cpu": "tinyllama"}
    return [arg for isvc, name in named.items() for arg in ("--model-url", f"{name}={models.base_url(isvc)}")]


def smoke(kubeconfig: Path, *args: str | Path) -> Result:
    return CliRunner().invoke(app, ["smoke", "--kubeconfig", str(kubeconfig), *[str(a) for a in args]], catch_exceptions=False)


def report_of(result: Result) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    return report


def checks_of(result: Result) -> dict[str, dict[str, Any]]:
    report = report_of(result)
    assert [lesson["lesson"] for lesson in report["lessons"]] == ["env"]
    return {c["id"]: c for c in report["lessons"][0]["checks"]}


# -- a ready lab ----------------------------------------------------------------------------------------------


def test_a_ready_lab_passes_every_env_check(lab: Lab, ready: World, admin: Path, models: FakeModels, tmp_path: Path) -> None:
    lab.load(ready)
    roster = tmp_path / "cohort.csv"
    roster.write_text("user\nuser1\nuser2\n")
    result = smoke(admin, *model_urls(models), "--roster", roster, "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    report = report_of(result)
    checks = {c["id"]: c for c in report["lessons"][0]["checks"]}
    assert sorted(checks) == ENV_CHECKS
    assert {c["status"] for c in checks.values()} == {"pass"}, {i: c["message"] for i, c in checks.items() if c["status"] != "pass"}
    assert report["lessons"][0]["title"] == "Lab environment"
    assert report["target"] == {"user": "user1", "cluster_domain": "apps.example.com", "profile": "ai501"}
    server = lab.openshift.url
    assert {i: (c["message"], c["evidence"]) for i, c in checks.items()} == {
        "env.api-server": (f"{server} (v1.32.5) accepts the credential of admin", {"server": server, "version": "v1.32.5", "user": "admin"}),
        "env.apps-domain": ("apps.example.com (from ingresses.config.openshift.io/cluster)",
                            {"domain": "apps.example.com", "source": "ingresses.config.openshift.io/cluster"}),
        "env.oauth-issuer": ("issuer https://oauth-openshift.apps.example.com", {"issuer": "https://oauth-openshift.apps.example.com"}),
        "env.models-ready": ("3 shared models Ready in ai501: llama-32, llama-32-fp8, tinyllama-1b-cpu",
                             {"models": ["llama-32", "llama-32-fp8", "tinyllama-1b-cpu"]}),
        "env.models-answer": ("answer /v1/models: llama-32 (--model-url), llama-32-fp8 (--model-url), tinyllama-1b-cpu (--model-url)",
                              {"answered": ["llama-32 (--model-url)", "llama-32-fp8 (--model-url)", "tinyllama-1b-cpu (--model-url)"],
                               "not_probed": []}),
        "env.sample-student": ("user1 (first non-admin User; groups: litemaas-admins)", {"user": "user1", "groups": ["litemaas-admins"]}),
        "env.student-projects": ("user1-maas exists already (pre-created)", {"namespace": "user1-maas"}),
        "env.student-workloads": ("user1 may create all 8 kinds (SubjectAccessReviews in user1-maas)",
                                  {"namespace": "user1-maas", "how": "SubjectAccessReviews in user1-maas", "denied": []}),
        "env.student-reads-models": ("user1 may read the InferenceServices in ai501", {"namespace": "ai501"}),
        "env.default-storage": ("default StorageClass gp3-csi", {"default": "gp3-csi", "classes": ["gp3-csi", "nfs"]}),
        "env.roster-users": ("all 2 roster students exist as Users", {"students": 2}),
        "env.roster-canopy": ("1 pre-created Canopy projects (1 students have none): canopy-backend available in each", {"projects": 1}),
    }
    assert len(models.requests_matching(r"/v1/models$", "GET")) >= 3


def test_reviews_carry_the_students_groups(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    """Rights granted only through a Group object, or through system:authenticated:oauth, count as the login would."""
    for binding in (o for o in ready.objects if o["kind"] == "RoleBinding" and o["metadata"]["namespace"] == "ai501"):
        binding["subjects"] = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "litemaas-admins"}]
    without(ready, "Namespace", "user2-maas")  # user2 must create the project: self-provisioner via system:authenticated:oauth
    lab.load(ready)
    result = smoke(admin, *model_urls(models), "--sample-user", "user2", "--format", "json")
    checks = checks_of(result)
    assert checks["env.student-reads-models"]["status"] == "pass", checks["env.student-reads-models"]
    assert checks["env.student-projects"]["status"] == "pass", checks["env.student-projects"]
    projects = checks["env.student-projects"]
    assert (projects["message"], projects["evidence"]) == ("user2 may create projects such as user2-maas", {"namespace": "user2-maas"})
    assert "litemaas-admins" in checks["env.sample-student"]["message"]


def test_without_a_roster_the_roster_checks_are_not_run(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    lab.load(ready)
    result = smoke(admin, *model_urls(models), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert sorted(checks_of(result)) == WITHOUT_ROSTER


def test_models_are_objects_only_outside_the_cluster_without_urls(
    lab: Lab, ready: World, admin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    lab.load(ready)
    result = smoke(admin, "--format", "json")
    assert result.exit_code == 0, result.stderr  # not probed is a note, not a failure
    answer = checks_of(result)["env.models-answer"]
    assert answer["status"] == "pass"
    assert answer["message"] == "none probed; Ready as objects only, not probed from here: llama-32, llama-32-fp8, tinyllama-1b-cpu"
    assert answer["evidence"] == {"answered": [], "not_probed": ["llama-32", "llama-32-fp8", "tinyllama-1b-cpu"]}
    assert report_of(result)["notes"] == [
        "shared models checked as objects only (not in a pod, no --model-url): llama-32, llama-32-fp8, tinyllama-1b-cpu; "
        "run smoke in the cluster, or pass --model-url NAME=URL (e.g. through oc port-forward), to probe them"
    ]


def test_in_cluster_the_models_are_asked_at_their_service_urls(
    lab: Lab, ready: World, models: FakeModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "172.30.0.1")
    lab.load(ready)
    models.clear_log()
    hosts = {f"{isvc}-predictor.ai501.svc.cluster.local": models.url for isvc in ("llama-32", "llama-32-fp8", "tinyllama-1b-cpu")}
    admin = lab.openshift.write_kubeconfig(lab.kubeconfig.parent / "admin-in-cluster", token="tok-admin")
    report = run_smoke(lab.settings(kubeconfig=str(admin)), transport=RouteTransport(hosts))
    jsonschema.validate(report_to_dict(report), SCHEMA)
    answer = next(r for r in report.results if r.check.id == "env.models-answer")
    assert answer.status is Status.PASS, answer.message
    assert "in-cluster Service" in answer.message
    assert {r.headers.get("host", "").split(":")[0] for r in models.request_log} == set(hosts)


# -- each check on its own broken lab ---------------------------------------------------------------------------


def without(world: World, kind: str, name: str, namespace: str | None = None) -> World:
    world.objects = [o for o in world.objects if not (o["kind"] == kind and o["metadata"]["name"] == name
                                                       and (namespace is None or o["metadata"].get("namespace") == namespace))]
    return world


def admin_role_without(lab: Lab, *resources: str) -> dict[str, Any]:
    """ClusterRole admin with no rule on `resources` (their other rules kept)."""
    role = next(r for r in lab.openshift.objects("rbac.authorization.k8s.io/v1", "ClusterRole") if r["metadata"]["name"] == "admin")
    rules = []
    for rule in copy.deepcopy(role["rules"]):
        rule["resources"] = [r for r in rule.get("resources") or [] if r not in resources]
        if rule["resources"]:
            rules.append(rule)
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "admin"}, "rules": rules}


MODELS_ANSWER_HINT = ("A Ready model that does not answer: look at its predictor pods (oc logs -n ai501 -l "
                      "serving.kserve.io/inferenceservice=NAME) and its Service; a wrong --model-url is yours to fix.")
WORKLOADS_HINT = ("Students must hold ClusterRole admin in their projects (OpenShift's default project template binds it to the "
                  "requester); restore the admin role's rules or the project template.")
CANOPY_HINT = "Bring up Canopy in those projects (canopy-backend must be available) before the class starts."


def break_models_ready(lab: Lab, world: World) -> list[str]:
    for isvc in ("llama-32-fp8", "tinyllama-1b-cpu"):
        world.find("InferenceService", isvc, "ai501")["status"]["conditions"][0].update(status="False", reason="RevisionMissing")
    return []


def break_models_answer(lab: Lab, world: World) -> list[str]:
    return ["--model-url", "llama-32-fp8=http://127.0.0.1:9/llama-32-fp8/v1"]  # the last one given wins; nothing listens there


def break_apps_domain(lab: Lab, world: World) -> list[str]:
    world.objects.append({"apiVersion": "config.openshift.io/v1", "kind": "Ingress", "metadata": {"name": "cluster"}, "spec": {}})
    return []  # and the OAuth discovery document answers 404 (FAULTS)


def break_oauth_issuer(lab: Lab, world: World) -> list[str]:
    world.objects.append({"apiVersion": "config.openshift.io/v1", "kind": "Ingress", "metadata": {"name": "cluster"},
                          "spec": {"domain": "apps.elsewhere.example.org"}})
    return []


def break_sample_student(lab: Lab, world: World) -> list[str]:
    return ["--sample-user", "nobody"]


def break_student_projects(lab: Lab, world: World) -> list[str]:
    without(world, "Namespace", "user2-maas")
    binding = world.find("ClusterRoleBinding", "self-provisioners")
    binding["subjects"] = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "instructors"}]
    return ["--sample-user", "user2"]


def break_student_workloads(lab: Lab, world: World) -> list[str]:
    world.objects.append(admin_role_without(lab, "routes", "secrets"))  # a core kind too: named without a group
    return []


def break_student_reads_models(lab: Lab, world: World) -> list[str]:
    world.objects = [o for o in world.objects if not (o["kind"] == "RoleBinding" and o["metadata"].get("namespace") == "ai501")]
    return []


def break_default_storage(lab: Lab, world: World) -> list[str]:
    world.find("StorageClass", "gp3-csi")["metadata"]["annotations"] = {}
    return []


def break_roster_users(lab: Lab, world: World) -> list[str]:
    return ["--roster-text", "user\nuser1\nghost\nphantom\n"]


def break_roster_canopy(lab: Lab, world: World) -> list[str]:
    backend = world.find("Deployment", "canopy-backend", "user1-canopy")
    backend["spec"]["replicas"] = 0
    return ["--roster-text", "user\nuser1\n"]


Said = tuple[str, str, dict[str, Any]]  # a verdict's message, hint and evidence

BROKEN: dict[str, tuple[Callable[[Lab, World], list[str]], Said]] = {
    # check id: (how the lab is broken, what the failure says: its message, the hint naming the fix, its evidence)
    "env.apps-domain": (break_apps_domain, (
        "no apps domain: ingresses/cluster has no spec.domain and the OAuth issuer does not name one",
        "Make the apps domain discoverable: set spec.domain of ingresses.config.openshift.io/cluster, or give students "
        "MAAS_LAB_CLUSTER_DOMAIN (the lessons' <CLUSTER_DOMAIN>).",
        {})),
    "env.oauth-issuer": (break_oauth_issuer, (
        "the issuer https://oauth-openshift.apps.example.com is not https://oauth-openshift.apps.elsewhere.example.org "
        "(apps domain from ingresses.config.openshift.io/cluster)",
        "The lessons tell students to use https://oauth-openshift.apps.elsewhere.example.org: tell them the real issuer, "
        "or fix the OAuth route's host.",
        {"issuer": "https://oauth-openshift.apps.example.com"})),
    "env.models-ready": (break_models_ready, (
        "in ai501: llama-32-fp8 not Ready (RevisionMissing); tinyllama-1b-cpu not Ready (RevisionMissing)",
        "Fix the shared InferenceServices: oc get inferenceservice -n ai501; oc describe inferenceservice NAME.",
        {"models": ["llama-32", "llama-32-fp8", "tinyllama-1b-cpu"]})),
    "env.models-answer": (break_models_answer, (
        "llama-32-fp8 at http://127.0.0.1:9/llama-32-fp8/v1/models: could not connect to 127.0.0.1",
        MODELS_ANSWER_HINT,
        {"answered": ["llama-32 (--model-url)", "tinyllama-1b-cpu (--model-url)"], "not_probed": []})),
    "env.sample-student": (break_sample_student, (
        "User nobody does not exist",
        "Name a student with --sample-user NAME, or let one log in once (OpenShift creates a User at the first login).",
        {})),
    "env.student-projects": (break_student_projects, (
        "user2 may not create projects, and user2-maas does not exist",
        "Let students create projects: oc adm policy add-cluster-role-to-group self-provisioner system:authenticated:oauth "
        "(or pre-create each student's projects with ClusterRole admin bound to them).",
        {"namespace": "user2-maas"})),
    "env.student-workloads": (break_student_workloads, (
        "user1 may not create routes.route.openshift.io, secrets (SubjectAccessReviews in user1-maas)",
        WORKLOADS_HINT,
        {"namespace": "user1-maas", "how": "SubjectAccessReviews in user1-maas", "denied": ["routes.route.openshift.io", "secrets"]})),
    "env.student-reads-models": (break_student_reads_models, (
        "user1 may not get or list inferenceservices in ai501",
        "Let students read the shared models: oc adm policy add-role-to-group view system:authenticated -n ai501.",
        {"namespace": "ai501"})),
    "env.default-storage": (break_default_storage, (
        "none of the StorageClasses (gp3-csi, nfs) is the default",
        "Mark one StorageClass as the default: oc patch storageclass NAME -p "
        "'{\"metadata\": {\"annotations\": {\"storageclass.kubernetes.io/is-default-class\": \"true\"}}}'",
        {"classes": ["gp3-csi", "nfs"]})),
    "env.roster-users": (break_roster_users, (
        "2 of 3 roster students have no User: ghost, phantom",
        "Each student must log in once (OpenShift creates the User at the first login), or create their Users.",
        {"missing": ["ghost", "phantom"]})),
    "env.roster-canopy": (break_roster_canopy, (
        "1 pre-created Canopy projects: canopy-backend in user1-canopy is scaled to 0 replicas",
        CANOPY_HINT,
        {"broken": 1})),
}


# Faults injected once the broken world is loaded (loading clears them): path on the API server, status.
FAULTS = {"env.apps-domain": (r"^/\.well-known/oauth-authorization-server$", 404)}


def test_every_env_check_has_a_broken_lab() -> None:
    assert set(BROKEN) | {"env.api-server"} == set(ENV_CHECKS)


@pytest.mark.parametrize("check_id", sorted(BROKEN))
def test_each_check_fails_on_its_broken_lab(
    check_id: str, lab: Lab, ready: World, admin: Path, models: FakeModels, tmp_path: Path
) -> None:
    breaker, said = BROKEN[check_id]
    args = breaker(lab, ready)
    if "--roster-text" in args:
        roster = tmp_path / "cohort.csv"
        roster.write_text(args[args.index("--roster-text") + 1])
        args = ["--roster", str(roster)]
    lab.load(ready)
    if check_id in FAULTS:
        path, status = FAULTS[check_id]
        lab.openshift.inject(path, status=status)
    result = smoke(admin, *model_urls(models), *args, "--format", "json")
    lab.openshift.clear_faults()
    assert result.exit_code == 1, result.stdout + result.stderr
    checks = checks_of(result)
    failing = checks[check_id]
    assert failing["status"] == "fail", failing
    assert (failing["message"], failing["hint"], failing["evidence"]) == said, "a failure names what an administrator must fix"
    assert not [c for c in checks.values() if c["status"] == "error"], "a broken lab is a fail, never a grader error"
    # the others pass, or skip because they need this one: each broken lab breaks what it says
    also_failing = {"env.oauth-issuer"} if check_id == "env.apps-domain" else set()  # one cause: no discovery document
    others = {i: c["status"] for i, c in checks.items() if i != check_id and i not in also_failing and c["status"] != "pass"}
    assert set(others.values()) <= {"skip"}, others


def test_a_student_without_a_project_is_judged_by_the_admin_role(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    without(ready, "Namespace", "user2-maas")
    ready.objects.append(admin_role_without(lab, "routes"))
    lab.load(ready)
    result = smoke(admin, *model_urls(models), "--sample-user", "user2", "--format", "json")
    workloads = checks_of(result)["env.student-workloads"]
    assert workloads["status"] == "fail"
    assert "ClusterRole admin, which user2 would hold in a new user2-maas" in workloads["message"]
    assert workloads["evidence"]["denied"] == ["routes.route.openshift.io"]


def test_without_a_project_or_an_admin_role_nothing_may_be_created(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    without(ready, "Namespace", "user2-maas")
    lab.load(ready)
    lab.openshift.inject(r"^/apis/rbac\.authorization\.k8s\.io/v1/clusterroles/admin$", status=404)
    result = smoke(admin, *model_urls(models), "--sample-user", "user2", "--format", "json")
    lab.openshift.clear_faults()
    workloads = checks_of(result)["env.student-workloads"]
    assert (workloads["status"], workloads["message"], workloads["hint"]) == (
        "fail", "ClusterRole admin does not exist: a new project's requester would get no rights in it", WORKLOADS_HINT)


def test_a_model_serving_other_names_or_none(
    lab: Lab, ready: World, admin: Path, models: FakeModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every name the server lists is said (a base model and its LoRA adapter), and a server listing none says so."""
    monkeypatch.setitem(models.served, "llama-32", ["llama32-fp8", "llama32-lora"])
    monkeypatch.setitem(models.served, "tinyllama-1b-cpu", [])
    lab.load(ready)
    answer = checks_of(smoke(admin, *model_urls(models), "--format", "json"))["env.models-answer"]
    assert (answer["status"], answer["message"], answer["hint"], answer["evidence"]) == (
        "fail",
        "llama-32 serves llama32-fp8, llama32-lora, not llama32; tinyllama-1b-cpu serves nothing, not tinyllama",
        MODELS_ANSWER_HINT,
        {"answered": ["llama-32-fp8 (--model-url)"], "not_probed": []},
    )


def canopy_project_of(world: World, user: str) -> None:
    """`user` gets a Canopy project of their own: a copy of user1's namespace and canopy-backend."""
    for obj in (world.find("Namespace", "user1-canopy"), world.find("Deployment", "canopy-backend", "user1-canopy")):
        twin = copy.deepcopy(obj)
        twin["metadata"].pop("uid", None)
        if obj["kind"] == "Namespace":
            twin["metadata"]["name"] = f"{user}-canopy"
        else:
            twin["metadata"]["namespace"] = f"{user}-canopy"
        world.objects.append(twin)


def rolling_out(world: World, namespace: str) -> None:
    """canopy-backend in `namespace` not ready yet, its rollout updated 40 s ago (well inside its progress deadline)."""
    backend = world.find("Deployment", "canopy-backend", namespace)
    moment = (world.now - timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    backend["status"].update(readyReplicas=0, availableReplicas=0, conditions=[
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "lastUpdateTime": moment, "lastTransitionTime": moment}])


def scaled_to_zero(world: World, namespace: str) -> None:
    world.find("Deployment", "canopy-backend", namespace)["spec"]["replicas"] = 0


@pytest.mark.parametrize(
    ("roster", "change", "said"),
    [
        (["user2"], lambda w: None,
         ("pass", "no roster student has a pre-created Canopy project ({user}-canopy): nothing to run", {})),
        (["user1"], lambda w: None, ("pass", "1 pre-created Canopy projects: canopy-backend available in each", {"projects": 1})),
        (["user1", "user2"], lambda w: (canopy_project_of(w, "user2"), scaled_to_zero(w, "user1-canopy"), scaled_to_zero(w, "user2-canopy")),
         ("fail", "2 pre-created Canopy projects: canopy-backend in user1-canopy is scaled to 0 replicas; "
                  "canopy-backend in user2-canopy is scaled to 0 replicas", {"broken": 2})),
        (["user1", "user2"], lambda w: (canopy_project_of(w, "user2"), rolling_out(w, "user1-canopy"), rolling_out(w, "user2-canopy")),
         ("pending", "2 pre-created Canopy projects: still rolling out in user1-canopy, user2-canopy", {})),
    ],
    ids=["none-pre-created", "all-pre-created", "two-broken", "two-rolling-out"],
)
def test_roster_canopy_says_each_project(
    lab: Lab, ready: World, admin: Path, models: FakeModels, tmp_path: Path,
    roster: list[str], change: Callable[[World], object], said: tuple[str, str, dict[str, Any]],
) -> None:
    change(ready)
    lab.load(ready)
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("user\n" + "".join(f"{name}\n" for name in roster))
    canopy = checks_of(smoke(admin, *model_urls(models), "--roster", cohort, "--format", "json"))["env.roster-canopy"]
    assert (canopy["status"], canopy["message"], canopy["evidence"]) == said


def test_a_cluster_domain_the_cluster_contradicts(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    lab.load(ready)
    same = checks_of(smoke(admin, *model_urls(models), "--cluster-domain", "apps.example.com", "--format", "json"))
    assert same["env.apps-domain"]["status"] == "pass"
    other = checks_of(smoke(admin, *model_urls(models), "--cluster-domain", "apps.typo.example.com", "--format", "json"))
    domain = other["env.apps-domain"]
    assert (domain["status"], domain["message"], domain["hint"], domain["evidence"]) == (
        "fail",
        "--cluster-domain apps.typo.example.com, but the cluster says apps.example.com (from ingresses.config.openshift.io/cluster)",
        "Check which is right: students' Route hosts will end in apps.example.com.",
        {"domain": "apps.example.com", "source": "ingresses.config.openshift.io/cluster"},
    )


def test_an_apps_domain_not_starting_with_apps_passes_with_a_warning(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    ready.objects.append({"apiVersion": "config.openshift.io/v1", "kind": "Ingress", "metadata": {"name": "cluster"},
                          "spec": {"domain": "example.com"}})
    lab.load(ready)
    domain = checks_of(smoke(admin, *model_urls(models), "--format", "json"))["env.apps-domain"]
    assert (domain["status"], domain["message"], domain["evidence"]) == (
        "pass", "example.com (from ingresses.config.openshift.io/cluster; it does not start with apps., check it)",
        {"domain": "example.com", "source": "ingresses.config.openshift.io/cluster"})


def test_an_api_server_saying_neither_its_version_nor_the_accounts_name(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    lab.load(ready)
    lab.openshift.inject(r"^/version$", status=404)
    lab.openshift.inject(r"^/apis/user\.openshift\.io/v1/users/~$", status=200,
                         body={"kind": "User", "apiVersion": "user.openshift.io/v1", "metadata": {}})
    result = smoke(admin, *model_urls(models), "--format", "json")
    lab.openshift.clear_faults()
    api = checks_of(result)["env.api-server"]
    server = lab.openshift.url
    assert (api["status"], api["message"], api["evidence"]) == (
        "pass", f"{server} (version unknown) accepts the credential of an unnamed account",
        {"server": server, "version": None, "user": "an unnamed account"})


def test_a_lab_without_any_storage_class(lab: Lab, world: World, admin: Path, models: FakeModels) -> None:
    lab.load(world)  # the reference world has no StorageClass at all
    result = smoke(admin, *model_urls(models), "--format", "json")
    storage = checks_of(result)["env.default-storage"]
    assert (storage["status"], storage["message"], storage["hint"]) == (
        "fail", "no StorageClass at all", "Install a storage provisioner and mark its StorageClass as the default.")


def test_several_default_storage_classes_are_a_note(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    ready.objects.append(storage_class("ceph-rbd", default=True))
    lab.load(ready)
    result = smoke(admin, *model_urls(models), "--format", "json")
    assert checks_of(result)["env.default-storage"]["status"] == "pass"
    assert report_of(result)["notes"] == ["several default StorageClasses (ceph-rbd, gp3-csi): new PVCs get the most recently created"]


# -- formats and exit codes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format_", FORMATS)
def test_every_format_renders_the_lab_environment(lab: Lab, ready: World, admin: Path, models: FakeModels, format_: str) -> None:
    without(ready, "StorageClass", "gp3-csi")
    lab.load(ready)
    result = smoke(admin, *model_urls(models), "--format", format_)
    assert result.exit_code == 1, result.stderr
    text = result.stdout
    assert "Lesson 1" not in text and "lesson-1" not in text
    if format_ == "junit":
        root = ET.fromstring(text)
        cases = {c.get("name"): c for c in root.iter("testcase")}
        assert set(cases) == set(WITHOUT_ROSTER)
        assert {c.get("classname") for c in cases.values()} == {"lesson-env"}
        failure = cases["env.default-storage"].find("failure")
        assert failure is not None and "is-default-class" in (failure.get("message", "") + (failure.text or ""))
    elif format_ == "json":
        assert checks_of(result)["env.default-storage"]["status"] == "fail"
    elif format_ == "gradescope":
        tests = {t["number"]: t for t in json.loads(text)["tests"]}
        assert set(tests) == set(WITHOUT_ROSTER)
        assert tests["env.default-storage"]["status"] == "failed" and tests["env.default-storage"]["tags"] == ["lesson-env"]
        assert "is-default-class" in tests["env.default-storage"]["output"]
    else:
        assert "Lab environment" in text and "env.default-storage" in text and "is-default-class" in text


def test_a_rejected_credential_is_could_not_grade(lab: Lab, ready: World, tmp_path: Path) -> None:
    lab.load(ready)
    expired = Path(lab.openshift.write_kubeconfig(tmp_path / "expired", token="tok-expired"))
    result = smoke(expired, "--sample-user", "user2", "--cluster-domain", "apps.example.com", "--format", "json")
    assert result.exit_code == 3
    assert report_of(result)["target"] == {"user": "user2", "cluster_domain": "apps.example.com", "profile": "ai501"}
    checks = checks_of(result)
    assert {c["status"] for c in checks.values()} == {"error"}
    assert "oc login" in checks["env.api-server"]["hint"]


def test_a_students_credential_cannot_judge_the_lab(lab: Lab, ready: World, models: FakeModels) -> None:
    """What the credential may not read is the grader's `error` (exit 3), never a `fail` of the lab."""
    lab.load(ready)
    result = smoke(lab.kubeconfig, *model_urls(models), "--sample-user", "user2", "--cluster-domain", "apps.example.com", "--format", "json")
    assert result.exit_code == 3, result.stderr
    assert report_of(result)["target"] == {"user": "user2", "cluster_domain": "apps.example.com", "profile": "ai501"}
    checks = checks_of(result)
    assert checks["env.sample-student"]["status"] == "error"
    assert "permission denied" in checks["env.sample-student"]["message"]
    assert "cluster-admin" in checks["env.sample-student"]["hint"]  # what smoke needs, not a student's advice
    assert checks["env.api-server"]["status"] == "pass"
    assert not [i for i, c in checks.items() if c["status"] == "fail"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--model-url", "llama-32"], ["--model-url", "NAME=URL"]),
        (["--model-url", "llama-32=ftp://x"], ["--model-url", "http"]),
        (["--model-url", "gpt-9=http://127.0.0.1:9/v1"],
         ["--model-url gpt-9=…: not a shared model of profile ai501 (llama-32, llama-32-fp8, llama32, llama32-fp8, tinyllama, tinyllama-1b-cpu)"]),
        (["--roster", "/nonexistent/cohort.csv"], ["roster"]),
        (["--format", "yaml"], ["--format"]),
    ],
)
def test_bad_input_is_a_usage_error(lab: Lab, admin: Path, args: list[str], words: list[str]) -> None:
    result = smoke(admin, *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for word in words:
        assert word in result.stderr


def test_list_and_explain_show_the_env_checks() -> None:
    listed = CliRunner().invoke(app, ["list", "smoke"])
    assert listed.exit_code == 0
    assert all(check_id in listed.stdout for check_id in ENV_CHECKS)
    assert "1.logged-in" not in listed.stdout
    every_lesson = CliRunner().invoke(app, ["list", "all"])
    assert "env.api-server" not in every_lesson.stdout and "1.logged-in" in every_lesson.stdout
    explained = CliRunner().invoke(app, ["explain", "env.default-storage"])
    assert explained.exit_code == 0
    assert "Lab environment" in explained.stdout and "lessons/lab-environment.md#storage" in explained.stdout


def test_without_any_kubeconfig_every_check_is_could_not_grade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["smoke", "--sample-user", "user2", "--cluster-domain", "apps.example.com", "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 3, result.stdout + result.stderr
    report = report_of(result)
    said = {(c["status"], c["message"], c["hint"]) for c in report["lessons"][0]["checks"]}
    assert said == {("error", f"no kubeconfig at {tmp_path}/.kube/config", "Log in with `oc login` first, or pass --kubeconfig PATH.")}
    assert report["target"] == {"user": "user2", "cluster_domain": "apps.example.com", "profile": "ai501"}
    assert report["notes"] == []


def test_an_insecure_kubeconfig_is_a_note(lab: Lab, ready: World, models: FakeModels, tmp_path: Path) -> None:
    lab.load(ready)
    insecure = Path(lab.openshift.write_kubeconfig(tmp_path / "insecure", token="tok-admin", insecure=True))
    result = smoke(insecure, *model_urls(models), "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert report_of(result)["notes"] == ["the kubeconfig skips TLS verification of the API server"]


def test_smoke_verbose_times_each_phase(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    lab.load(ready)
    result = smoke(admin, *model_urls(models), "-v", "--format", "json")
    said = [line.split(":", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("maas-lab: time ")]
    assert [line.rsplit(":", 1)[0] for line in said] == ["time connect/preflight", "time collect", "time checks", "time render"], said


@pytest.mark.parametrize(
    ("user", "objects", "said"),
    [("student9", [{"apiVersion": "user.openshift.io/v1", "kind": "User", "metadata": {"name": "student9"}, "groups": []}],
      ("student9 (--sample-user; groups: none)", [])),
     ("user1", [{"apiVersion": "user.openshift.io/v1", "kind": "Group", "metadata": {"name": "ai501-students"}, "users": ["user1"]}],
      ("user1 (--sample-user; groups: ai501-students, litemaas-admins)", ["ai501-students", "litemaas-admins"]))],
    ids=["no-group", "two-groups"],
)
def test_the_sample_students_groups_are_listed(
    lab: Lab, ready: World, admin: Path, models: FakeModels, user: str, objects: list[dict[str, Any]], said: tuple[str, list[str]]
) -> None:
    ready.objects += objects
    lab.load(ready)
    student = checks_of(smoke(admin, *model_urls(models), "--sample-user", user, "--format", "json"))["env.sample-student"]
    assert (student["status"], student["message"], student["evidence"]) == ("pass", said[0], {"user": user, "groups": said[1]})


def test_a_lab_where_every_user_is_an_administrator(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    ready.objects.append({"apiVersion": "user.openshift.io/v1", "kind": "Group", "metadata": {"name": "cluster-admins"},
                          "users": ["user1", "user2"]})
    lab.load(ready)
    student = checks_of(smoke(admin, *model_urls(models), "--format", "json"))["env.sample-student"]
    assert (student["status"], student["message"]) == ("fail", "no User that is not an administrator exists yet")


def test_model_urls_are_name_equals_url_pairs() -> None:
    from maas_lab.errors import UsageError
    from maas_lab.smoke import parse_model_urls

    assert parse_model_urls([" llama-32 = https://models.example.com/v1 ", "tinyllama=http://127.0.0.1:8080/v1?api-version=1"]) == (
        ("llama-32", "https://models.example.com/v1"), ("tinyllama", "http://127.0.0.1:8080/v1?api-version=1"))
    for bad in ("=http://127.0.0.1/v1", " =http://127.0.0.1/v1", "llama-32", "llama-32=ftp://x", "llama-32=HTTPS://x"):
        with pytest.raises(UsageError, match="expected NAME=URL with an http:// or https:// URL"):
            parse_model_urls([bad])


def test_an_https_model_server_is_trusted_through_the_ca_bundle_or_insecure(lab: Lab, ready: World, admin: Path, tmp_path: Path) -> None:
    tls_cert, ca_file = issue_tls_files(tmp_path)
    lab.load(ready)
    with FakeModels(tls_cert=tls_cert) as secure:
        urls = model_urls(secure)
        untrusted, trusted, insecure = (checks_of(smoke(admin, *urls, *args, "--format", "json"))["env.models-answer"]
                                        for args in ([], ["--ca-bundle", str(ca_file)], ["--insecure"]))
    assert (untrusted["status"], untrusted["message"]) == ("error", "TLS verification failed for 127.0.0.1")  # grader-side
    assert "--ca-bundle" in untrusted["hint"]
    assert trusted["status"] == "pass", trusted
    assert insecure["status"] == "pass", insecure


def test_smoke_closes_the_http_client_it_made(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    class Closing(RouteTransport):
        closed = False

        def close(self) -> None:
            self.closed = True
            super().close()

    lab.load(ready)
    transport = Closing({})
    run_smoke(lab.settings(kubeconfig=str(admin)), transport=transport)
    assert transport.closed


def test_a_slow_model_server_is_cut_at_the_request_bound(lab: Lab, ready: World, admin: Path, models: FakeModels) -> None:
    """--timeout 4 bounds each request to 1 s: a model answering in 2.5 s has not answered, as far as smoke can tell."""
    lab.load(ready)
    models.inject(r"^/llama-32/v1/models$", delay=2.5)
    try:
        answer = checks_of(smoke(admin, *model_urls(models), "--timeout", "4", "--format", "json"))["env.models-answer"]
    finally:
        models.clear_faults()
    assert (answer["status"], answer["message"]) == ("fail", f"llama-32 at {models.base_url('llama-32')}/models: 127.0.0.1 did not answer within 1 s")


# -- the run's --timeout, on a clock the test moves (no waiting, so no dependence on the machine's speed) ----------


class MovedClock:
    """`time` as a module sees it, `offset` seconds later."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_checks_not_started_when_the_timeout_has_passed_are_not_run(
    lab: Lab, ready: World, admin: Path, models: FakeModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """smoke's own start lies an hour back: its --timeout 30 is long gone before the first check, while every read
    (on the real clock) would still be answered."""
    lab.load(ready)
    monkeypatch.setattr("maas_lab.smoke.time", MovedClock(-3600))
    checks = checks_of(smoke(admin, *model_urls(models), "--timeout", "30", "--format", "json"))
    assert {(c["status"], c["message"]) for c in checks.values()} == {("error", "the run's --timeout was reached before this check ran")}
    assert {c["hint"] for c in checks.values()} == {"Rerun with a larger --timeout."}


def test_cluster_reads_after_the_timeout_are_refused_unsent(
    lab: Lab, ready: World, admin: Path, models: FakeModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's deadline passes the moment the API server has taken the credential: the first check still starts
    (smoke's own clock is not moved), but its read of the cluster is refused unsent."""
    from maas_lab.evidence.snapshot import Snapshot

    lab.load(ready)
    clock = MovedClock()
    monkeypatch.setattr("maas_lab.evidence.retry.time", clock)
    account = Snapshot.account

    def account_then_time_is_up(self: Snapshot) -> Any:
        answer = account(self)
        clock.offset = 3600
        return answer

    monkeypatch.setattr(Snapshot, "account", account_then_time_is_up)
    checks = checks_of(smoke(admin, *model_urls(models), "--timeout", "30", "--format", "json"))
    api_server = checks.pop("env.api-server")
    assert (api_server["status"], api_server["message"]) == (
        "error", f"the run's --timeout was reached before the request to the API server {lab.openshift.url}"
    )
    assert {c["status"] for c in checks.values()} == {"skip"}


def test_a_model_probe_after_the_timeout_is_refused_unsent(
    lab: Lab, ready: World, admin: Path, models: FakeModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's deadline passes just as the first model server is to be asked: the cluster's checks have passed,
    and the probe is refused unsent, as the grader's side (error), not as a model that does not answer."""
    from maas_lab.evidence.retry import Deadline

    lab.load(ready)
    clock = MovedClock()
    monkeypatch.setattr("maas_lab.evidence.retry.time", clock)
    bound = Deadline.bound

    def time_is_up_at_a_model_server(self: Deadline, request_timeout: float, what: str) -> float:
        if what == "127.0.0.1":
            clock.offset = 3600
        return bound(self, request_timeout, what)

    monkeypatch.setattr(Deadline, "bound", time_is_up_at_a_model_server)
    models.clear_log()
    checks = checks_of(smoke(admin, *model_urls(models), "--timeout", "30", "--format", "json"))
    assert checks["env.models-ready"]["status"] == "pass"
    answer = checks["env.models-answer"]
    assert (answer["status"], answer["message"]) == ("error", "the run's --timeout was reached before the request to 127.0.0.1")
    assert models.request_log == []
