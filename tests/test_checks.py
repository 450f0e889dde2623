"""Every check against the real grader, the real kubernetes and httpx clients, and the loopback fakes:
the reference solution passes everything; each single-step omission fails exactly the check that grades it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from maas_lab.engine.model import Outcome, Status
from maas_lab.engine.registry import load_checks
from tests.fakes.kube_api import FakeOpenShift
from tests.fixtures.cluster import USER
from tests.fixtures.conditions import CONDITIONS, VARIANTS, litemaas_unreadable
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import World
from tests.golden import expect_words
from tests.lab import Lab, result, statuses

# Checks whose failing fixture needs more than a mutated world (they are tested in their own test below).
SPECIAL = {"1.logged-in", "4.key-works"}
# Conditions whose step, left out, also fails a check of the same lesson that reads the same evidence.
ALSO_FAILING: dict[tuple[str, str], set[str]] = {
    ("2.no-default-secrets", "an admin API key changeme"): {"2.keys-consistent"},  # `changeme` lacks the ltm_admin_ prefix
    ("2.keys-consistent", "a Secret missing"): {"2.no-default-secrets"},  # both read the release's Secrets
    ("4.multi-model-key", "key missing"): {"4.playground"},  # the playground was used with that key
    ("4.keys-used", "multi-model key unused"): {"4.playground"},
    ("4.two-models-called", "the second model only called by maas-lab"): {"4.playground"},
    # Canopy's key is also the provider token and the sealed test Secret: one revoked key breaks all three.
    ("5.canopy-key", "key revoked"): {"5.token-is-student-key", "5.gitops-test"},
    ("5.token-is-student-key", "the key is revoked"): {"5.canopy-key", "5.gitops-test"},
    ("5.token-is-student-key", "LiteLLM has the key blocked"): {"5.gitops-test"},
    ("5.token-is-student-key", "the key expired"): {"5.gitops-test"},
}


def test_the_reference_solution_gets_full_marks(lab: Lab) -> None:
    report = lab.grade()
    assert {c: s for c, s in statuses(report).items() if s is not Status.PASS} == {"4.key-works": Status.SKIP}
    assert report.outcome is Outcome.PASS
    # 37 required checks x 2 points; bonus: 3.role-assigned, 4.playground, 5.gitops-test (4.key-works not requested)
    assert report.max_score == 74.0
    assert report.score == 74.0 + 3.0
    assert all(r.hint is None for r in report.results if r.status is Status.PASS)
    for r in report.results:
        expect_words(f"reference {r.check.id}", r)


def test_every_check_has_a_failing_fixture() -> None:
    lessons = {c.id for c in load_checks().values() if isinstance(c.lesson, int)}  # env.*: tests/test_smoke.py
    assert set(OMISSIONS) | SPECIAL == lessons


@pytest.mark.parametrize("check_id", sorted(OMISSIONS))
def test_each_omission_fails_its_check(lab: Lab, world: World, check_id: str) -> None:
    OMISSIONS[check_id](world)
    lab.load(world)
    lesson = int(check_id[0])
    report = lab.grade([lesson])
    verdict = result(report, check_id)
    assert verdict.status is Status.FAIL, f"{check_id}: {verdict.status.value}: {verdict.message}"
    assert verdict.hint, f"{check_id} failed without a hint"
    assert verdict.points == 0
    assert report.outcome is (Outcome.FAIL if verdict.check.required else Outcome.PASS)
    expect_words(f"{check_id}: first condition", verdict)


@pytest.mark.parametrize(("check_id", "condition"), [(c, n) for c, n, _m in CONDITIONS], ids=[f"{c}:{n}" for c, n, _m in CONDITIONS])
def test_each_condition_alone_fails_its_check(lab: Lab, world: World, check_id: str, condition: str) -> None:
    mutation = next(m for c, n, m in CONDITIONS if (c, n) == (check_id, condition))
    mutation(world)
    lab.load(world)
    report = lab.grade([int(check_id[0])])
    verdict = result(report, check_id)
    assert verdict.status is Status.FAIL, f"{check_id} ({condition}): {verdict.status.value}: {verdict.message}"
    assert verdict.hint, f"{check_id} ({condition}) failed without a hint"
    others = {r.check.id: r.message for r in report.results if r.status is Status.FAIL and r.check.id != check_id}
    assert not (set(others) - ALSO_FAILING.get((check_id, condition), set())), others
    expect_words(f"{check_id}: {condition}", verdict)


@pytest.mark.parametrize(("check_id", "variant"), [(c, n) for c, n, _m, _s in VARIANTS], ids=[f"{c}:{n}" for c, n, _m, _s in VARIANTS])
def test_variants_give_their_own_verdict_and_words(lab: Lab, world: World, check_id: str, variant: str) -> None:
    mutation, status = next((m, s) for c, n, m, s in VARIANTS if (c, n) == (check_id, variant))
    mutation(world)
    lab.load(world)
    verdict = result(lab.grade([int(check_id[0])]), check_id)
    assert verdict.status.value == status, f"{check_id} ({variant}): {verdict.status.value}: {verdict.message}"
    expect_words(f"{check_id}: {variant}", verdict)


def test_logged_in_names_whom_the_credentials_belong_to(lab: Lab, openshift: FakeOpenShift, tmp_path: Path) -> None:
    """Grading user1 with the credentials of another user: the check says who is logged in, not whom it grades."""
    other = openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    verdict = result(lab.grade([1], only=["1.logged-in"], kubeconfig=str(other), user=USER), "1.logged-in")
    assert verdict.status is Status.PASS
    expect_words("1.logged-in: another user's credentials", verdict)


def test_logged_in_fails_for_a_user_who_does_not_exist(lab: Lab, openshift: FakeOpenShift, tmp_path: Path) -> None:
    admin = openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    verdict = result(lab.grade([1], only=["1.logged-in"], kubeconfig=str(admin), user="ghost", on_behalf=True), "1.logged-in")
    assert verdict.status is Status.FAIL
    expect_words("1.logged-in: no such user", verdict)


def test_a_course_with_its_own_project_names_says_them(lab: Lab, tmp_path: Path) -> None:
    """A profile that names the LiteMaaS project otherwise: the failing namespace check names that project."""
    from importlib import resources

    profile = yaml.safe_load(resources.files("maas_lab.profiles").joinpath("ai501.yaml").read_text("utf-8"))
    profile["namespaces"]["maas"] = "{user}-litemaas"
    path = tmp_path / "course.yaml"
    path.write_text(yaml.safe_dump(profile), "utf-8")
    verdict = result(lab.grade([2], only=["2.namespace"], profile=str(path)), "2.namespace")
    assert verdict.status is Status.FAIL
    expect_words("2.namespace: a course naming the project {user}-litemaas", verdict)


ROUTER_PAGE = "<html>Application is not available</html>"


@pytest.mark.parametrize(
    ("check_id", "case", "service", "path"),
    [
        ("2.backend-healthy", "the router answers 503", "litemaas", r"^/api/v1/health$"),
        ("2.litellm-healthy", "the router answers 503", "litellm", r"^/health/readiness$"),
    ],
)
def test_a_router_error_page_has_its_own_words(lab: Lab, check_id: str, case: str, service: str, path: str) -> None:
    getattr(lab, service).inject(path, status=503, body=ROUTER_PAGE)
    verdict = result(lab.grade([2]), check_id)
    assert verdict.status is Status.FAIL
    fake = getattr(lab, service).url  # the loopback port changes from run to run
    expect_words(f"{check_id}: {case}", dataclasses.replace(verdict, message=verdict.message.replace(fake, f"https://{service}.example")))


def test_routes_without_a_known_apps_domain_leave_the_hosts_alone(lab: Lab) -> None:
    """Neither the cluster's ingress config nor the OAuth issuer names the apps domain: hosts are not compared."""
    try:
        lab.openshift.inject(r"^/apis/config\.openshift\.io/v1/ingresses/cluster$", status=403)
        lab.openshift.inject(r"^/\.well-known/oauth-authorization-server$", status=404)
        verdict = result(lab.grade([2]), "2.routes")
    finally:
        lab.openshift.clear_faults()
    assert verdict.status is Status.PASS
    expect_words("2.routes: the apps domain unknown", verdict)


def test_the_admin_role_read_from_litellm_is_noted(lab: Lab, world: World) -> None:
    litemaas_unreadable("proxy_admin")(world)
    lab.load(world)
    report = lab.grade([2])
    assert result(report, "2.admin-login").status is Status.PASS
    assert "LiteMaaS could not be read with the deployment's credentials; the admin role was read from LiteLLM" in report.notes


def _course(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    from importlib import resources

    profile = yaml.safe_load(resources.files("maas_lab.profiles").joinpath("ai501.yaml").read_text("utf-8"))
    change(profile)
    path = tmp_path / "course.yaml"
    path.write_text(yaml.safe_dump(profile), "utf-8")
    return path


def test_the_words_titles_and_hints_take_from_the_profile(tmp_path: Path) -> None:
    """`{placeholder}` values: the built-in course's, and another course's (more models a key, none priced)."""
    from maas_lab.lessons import template_values
    from maas_lab.profile import load_profile

    assert template_values(load_profile("ai501")) == {
        "open_models": "Llama-3.2-3B and Llama-3.2-3B-Instruct-FP8", "restricted_models": "TinyLlama-1.1B",
        "price_example": "0.1 input / 0.5 output for Llama-3.2-3B",
        "user_max_budget": "50", "user_tpm": "20000", "user_rpm": "60", "key_default_budget": "10", "key_max_budget": "25",
        "first_key": "my-first-key", "first_key_models": "Llama-3.2-3B",
        "multi_key": "multi-model-key", "multi_key_models": "Llama-3.2-3B and Llama-3.2-3B-Instruct-FP8", "multi_key_budget": "5",
        "second_model": "Llama-3.2-3B-Instruct-FP8",
        "canopy_key": "canopy-experiments", "canopy_key_models": "Llama-3.2-3B-Instruct-FP8", "canopy_model": "Llama-3.2-3B-Instruct-FP8",
        "gitops_secret": "llama-fp8-maas-token", "gitops_key": "api_token", "shared_namespace": "ai501",
    }

    def wider(profile: dict[str, Any]) -> None:
        profile["litemaas_models"][1]["restricted"] = True
        keys = profile["keys"]
        keys["first"]["models"] = ["Llama-3.2-3B", "TinyLlama-1.1B"]
        keys["multi"].update(models=["Llama-3.2-3B", "TinyLlama-1.1B", "Llama-3.2-3B-Instruct-FP8"], max_budget=None)
        keys["canopy"]["models"] = ["Llama-3.2-3B-Instruct-FP8", "Llama-3.2-3B"]

    values = template_values(load_profile(str(_course(tmp_path, wider))))
    assert {k: values[k] for k in ("restricted_models", "first_key_models", "multi_key_models", "multi_key_budget", "second_model",
                                   "canopy_key_models")} == {
        "restricted_models": "Llama-3.2-3B-Instruct-FP8, TinyLlama-1.1B", "first_key_models": "Llama-3.2-3B and TinyLlama-1.1B",
        "multi_key_models": "Llama-3.2-3B and TinyLlama-1.1B and Llama-3.2-3B-Instruct-FP8", "multi_key_budget": "none",
        "second_model": "Llama-3.2-3B-Instruct-FP8", "canopy_key_models": "Llama-3.2-3B-Instruct-FP8 and Llama-3.2-3B",
    }
    unpriced = template_values(load_profile(str(_course(tmp_path, lambda p: p.update(litemaas_models=[])))))
    assert (unpriced["open_models"], unpriced["restricted_models"], unpriced["price_example"]) == ("", "", "")
