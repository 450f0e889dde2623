"""Verdicts a student can trust: plain words for public defaults, fail (never error) for YAML of any shape,
activity and spend read completely but bounded, skips that name what they wait for in every mode, and
titles/hints templated from the profile."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from maas_lab.engine.model import Outcome, Status
from tests.fakes import litellm as fl
from tests.fakes import litemaas as fm
from tests.fixtures.cluster import USER, llama_stack_run_config, vllm_provider
from tests.fixtures.conditions import model_field
from tests.fixtures.world import BROWSER, CLASSMATE_ID, KEYS, STUDENT_ID, World
from tests.lab import Lab, result

MAAS, CANOPY = f"{USER}-maas", f"{USER}-canopy"


# -- public defaults ------------------------------------------------------------------------------------------


def test_changeme_is_said_plainly_in_message_and_hint(lab: Lab, world: World) -> None:
    world.set_secret("litemaas-postgresql", "password", "changeme")
    lab.load(world)
    verdict = result(lab.grade([2]), "2.no-default-secrets")
    assert verdict.status is Status.FAIL
    assert verdict.message == "still `changeme`: litemaas-postgresql/password"
    assert "Replace every `changeme` in my-values.yaml" in verdict.hint
    assert "…#" not in verdict.message + verdict.hint


def test_changeme_among_admin_keys_is_named_too(lab: Lab, world: World) -> None:
    world.set_secret("litemaas-backend", "admin-api-keys", "ltm_admin_4f5e6d7c8b9a0f1e,changeme")
    lab.load(world)
    verdict = result(lab.grade([2]), "2.no-default-secrets")
    assert verdict.status is Status.FAIL and verdict.message == "still `changeme`: litemaas-backend/admin-api-keys"


# -- ConfigMaps of the wrong shape: fail with a hint, never error -----------------------------------------------

WRONG_SHAPES = {
    "providers is a list": "providers: [inference]\n",
    "inference is a mapping": "providers: {inference: {provider_type: remote::vllm}}\n",
    "config is a string": "providers:\n  inference:\n  - {provider_id: x, provider_type: remote::vllm, config: oops}\n",
    "url is a list": "providers:\n  inference:\n  - {provider_id: x, provider_type: remote::vllm, config: {url: [a, b], api_token: t}}\n",
    "api_token is a mapping": "providers:\n  inference:\n  - {provider_id: x, provider_type: remote::vllm, config: {url: x, api_token: {a: b}}}\n",
    "an item is a string": "providers:\n  inference: [remote::vllm]\n",
    "a number": "42\n",
    "a list": "- a\n- b\n",
    "not YAML": "providers: [unclosed\n",
    "empty": "",
}


@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
def test_llama_stack_config_of_the_wrong_shape_fails_with_a_hint(lab: Lab, world: World, shape: str) -> None:
    world.find("ConfigMap", "ogx-config", CANOPY)["data"]["config.yaml"] = WRONG_SHAPES[shape]
    lab.load(world)
    report = lab.grade([5])
    verdict = result(report, "5.llamastack-provider")
    assert verdict.status is Status.FAIL, f"{shape}: {verdict.status.value}: {verdict.message}"
    assert verdict.hint
    assert report.outcome is Outcome.FAIL  # not could_not_grade: the student's YAML, the student's fix


@pytest.mark.parametrize("text", ["summarization: oops\n", "- a\n", "summarization: {enabled: true, model: [1], endpoint: {a: 1}}\n", "{"])
def test_canopy_backend_config_of_the_wrong_shape_fails(lab: Lab, world: World, text: str) -> None:
    world.find("ConfigMap", "canopy-config", CANOPY)["data"]["canopy-config.yaml"] = text
    lab.load(world)
    verdict = result(lab.grade([5]), "5.backend-model")
    assert verdict.status is Status.FAIL and verdict.hint


def test_env_entries_of_the_wrong_shape_are_the_students_side(lab: Lab, world: World) -> None:
    providers = [vllm_provider("vllm-x", f"https://litemaas-litellm-{USER}-maas.apps.example.com/v1", "${env.API_TOKEN}")]
    world.find("ConfigMap", "ogx-config", CANOPY)["data"]["config.yaml"] = llama_stack_run_config(providers)
    world.find("LlamaStackDistribution", "llama-stack", CANOPY)["spec"]["server"]["containerSpec"]["env"] = ["API_TOKEN", {"name": "API_TOKEN", "valueFrom": "x"}]
    lab.load(world)
    verdict = result(lab.grade([5]), "5.llamastack-provider")
    assert verdict.status is Status.FAIL and "API_TOKEN" in verdict.message and verdict.hint


# -- activity fallback: the admin audit list asked for the student's rows, every page ---------------------------


def _refuse_the_students_jwt(world: World) -> None:
    """The backend restarted with another JWT secret than its Secret says: every minted JWT is refused."""
    world.set_secret("litemaas-backend", "jwt-secret", "jwt-n0t-what-the-backend-uses-1234")


def test_audit_viewed_survives_150_newer_rows_of_others(lab: Lab, world: World) -> None:
    _refuse_the_students_jwt(world)
    for minute in range(150):
        world.litemaas.audit.append(fm.make_api_access(CLASSMATE_ID, "GET", "/api/v1/admin/audit", user_agent=BROWSER,
                                                       created_at=world.now - timedelta(minutes=1, seconds=minute)))
    lab.load(world)
    verdict = result(lab.grade([3], only=["3.audit-viewed"]), "3.audit-viewed")
    assert verdict.status is Status.PASS, verdict.message
    asked = lab.litemaas.requests_matching(r"^/api/v1/admin/audit$", "GET")
    assert asked and all(r.query.get("userId") == [STUDENT_ID] for r in asked if r.query.get("action") == ["GET_/api/v1/admin/audit"])


def test_role_assigned_finds_a_change_beyond_the_first_page(lab: Lab, world: World) -> None:
    _refuse_the_students_jwt(world)
    for index in range(120):  # the student later changed 120 other users: the classmate's change is on page 2
        world.litemaas.audit.append(fm.make_audit("USER_UPDATE", user_id=STUDENT_ID, resource_type="USER", resource_id=f"other-{index}",
                                                  metadata={"roles": ["user"]}, created_at=world.now - timedelta(minutes=10, seconds=index)))
    lab.load(world)
    verdict = result(lab.grade([3], only=["3.role-assigned"]), "3.role-assigned")
    assert verdict.status is Status.PASS, verdict.message
    pages = {r.query.get("page", ["1"])[0] for r in lab.litemaas.requests_matching(r"^/api/v1/admin/audit$") if r.query.get("action") == ["USER_UPDATE"]}
    assert pages == {"1", "2"}


# -- spend logs: a date window, one row each -------------------------------------------------------------------


def test_spend_logs_are_read_in_a_window_and_ignore_others(lab: Lab, world: World) -> None:
    other = fl.hash_key("sk-SomebodyElsesKeyEEEEEEE")
    for index in range(150):
        world.litellm.spend_logs.append(fl.make_spend_row(other, user_id=CLASSMATE_ID, model_group="Llama-3.2-3B", backend_model="llama32",
                                                          user_agent="curl/8.5.0", start=world.now - timedelta(minutes=index)))
    for index in range(120):  # a year-old history of a key of the same user, long deleted
        world.litellm.spend_logs.append(fl.make_spend_row(fl.hash_key(f"sk-OldKey{index:016d}"), user_id=STUDENT_ID, model_group="Llama-3.2-3B",
                                                          backend_model="llama32", user_agent="curl/8.5.0", start=world.now - timedelta(days=365)))
    lab.load(world)
    report = lab.grade([4])
    for check_id in ("4.keys-used", "4.two-models-called", "4.playground"):
        assert result(report, check_id).status is Status.PASS, check_id
    asked = lab.litellm.requests_matching(r"^/spend/logs$", "GET")
    assert len(asked) == 1
    query = {k: v[0] for k, v in asked[0].query.items()}
    assert query["user_id"] == STUDENT_ID and query["summarize"] == "false"
    assert query["start_date"] == (world.now - timedelta(hours=2)).date().isoformat()
    assert query["end_date"] == (world.now + timedelta(days=1)).date().isoformat()


# -- public endpoints carry no credential ----------------------------------------------------------------------


def test_the_public_model_list_is_read_without_a_credential(lab: Lab) -> None:
    lab.grade([3])
    listed = lab.litemaas.requests_matching(r"^/api/v1/models$", "GET")
    assert listed, "the model list was not read"
    assert all("authorization" not in {k.lower() for k in r.headers} for r in listed)


# -- a skip names the check it waits for, the same way in every mode ---------------------------------------------


def _drop_the_maas_project(world: World) -> None:
    world.drop(lambda o: o["metadata"].get("namespace") == MAAS or (o["kind"] == "Namespace" and o["metadata"]["name"] == MAAS))


def test_a_missing_project_is_named_the_same_under_check_and_grade(lab: Lab, world: World, openshift, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _drop_the_maas_project(world)
    lab.load(world)
    monkeypatch.setenv("MY_KEY", KEYS["multi-model-key"][0])
    admin = openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    messages = {}
    for mode, overrides in (("check", {}), ("grade", {"kubeconfig": str(admin), "user": USER, "on_behalf": True})):
        report = lab.grade([4, 5], api_key_env="MY_KEY", **overrides)
        messages[mode] = {c: (result(report, c).status, result(report, c).message) for c in ("4.key-works", "5.llamastack-provider")}
    assert messages["check"] == messages["grade"]
    for status, message in messages["check"].values():
        assert status is Status.SKIP and message == f"needs 2.namespace (lesson 2): project {MAAS} not found"


# -- templated from the profile -------------------------------------------------------------------------------


def _profile_with(tmp_path: Path, **changes: object) -> Path:
    from importlib import resources

    data = yaml.safe_load(resources.files("maas_lab.profiles").joinpath("ai501.yaml").read_text("utf-8"))
    for dotted, value in changes.items():
        node = data
        *path, last = dotted.split("__")
        for part in path:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    path_ = tmp_path / "course.yaml"
    path_.write_text(yaml.safe_dump(data), "utf-8")
    return path_


def test_user_budget_speaks_the_profiles_numbers(lab: Lab, world: World, tmp_path: Path) -> None:
    profile = _profile_with(tmp_path, budgets__user={"max_budget": 80, "tpm": 30000, "rpm": 90})
    world.user_row().update(maxBudget=80, tpmLimit=30000, rpmLimit=90)
    world.litellm.user_by_id(STUDENT_ID).update(max_budget=80, tpm_limit=30000, rpm_limit=90)  # type: ignore[union-attr]
    lab.load(world)
    passing = result(lab.grade([3], profile=str(profile)), "3.user-budget")
    assert passing.status is Status.PASS and "80" in passing.message and "30000" in passing.message and "90" in passing.message
    assert "50" not in passing.message and "20000" not in passing.message
    world.user_row().update(maxBudget=50, tpmLimit=20000, rpmLimit=60)
    lab.load(world)
    failing = result(lab.grade([3], profile=str(profile)), "3.user-budget")
    assert failing.status is Status.FAIL
    assert "max budget 80, TPM 30000 and RPM 90" in failing.hint and "20000" not in failing.hint


def test_two_restricted_models_are_named_together(lab: Lab, world: World, tmp_path: Path) -> None:
    profile = _profile_with(tmp_path, litemaas_models__1__restricted=True)  # Llama-3.2-3B-Instruct-FP8 restricted too
    both = "Llama-3.2-3B-Instruct-FP8, TinyLlama-1.1B"
    for model in ("Llama-3.2-3B-Instruct-FP8", "TinyLlama-1.1B"):
        world.litemaas.model_by_id(model)["restrictedAccess"] = False  # type: ignore[index]
    lab.load(world)
    open_ = result(lab.grade([3], profile=str(profile)), "3.restricted-model")
    assert (open_.status, open_.message) == (Status.FAIL, f"not restricted: {both}")
    for model in ("Llama-3.2-3B-Instruct-FP8", "TinyLlama-1.1B"):
        world.litemaas.model_by_id(model)["restrictedAccess"] = True  # type: ignore[index]
    fp8 = next(s for s in world.litemaas.subscriptions if s["modelId"] == "Llama-3.2-3B-Instruct-FP8")
    fp8["status"] = "pending"
    world.litemaas.approve_subscription(fp8["id"], STUDENT_ID, at=world.now - timedelta(minutes=160))
    lab.load(world)
    report = lab.grade([3, 4], profile=str(profile))
    assert (result(report, "3.restricted-model").status, result(report, "3.restricted-model").message) == (Status.PASS, f"restricted: {both}")
    approved = result(report, "4.restricted-approved")
    assert (approved.status, approved.message) == (Status.PASS, f"{both} approved by an admin")


def test_prices_of_a_dollar_and_more_per_million_and_a_free_model(lab: Lab, world: World, tmp_path: Path) -> None:
    """Real prices reach dollars per million; a free model's price may be off by the rubric's tolerance (1e-12 a token)."""
    profile = _profile_with(tmp_path, litemaas_models__0__input_per_million=3, litemaas_models__0__output_per_million=15,
                            litemaas_models__1__input_per_million=0)
    model_field("Llama-3.2-3B", input=3e-6, output=15e-6)(world)
    model_field("Llama-3.2-3B-Instruct-FP8", input=1e-12)(world)
    lab.load(world)
    verdict = result(lab.grade([3], profile=str(profile)), "3.pricing")
    assert (verdict.status, verdict.message) == (Status.PASS, "all prices match the lesson")
    model_field("Llama-3.2-3B", output=16e-6)(world)
    lab.load(world)
    verdict = result(lab.grade([3], profile=str(profile)), "3.pricing")
    assert (verdict.status, verdict.message) == (Status.FAIL, "Llama-3.2-3B output is 16/M, expected 15/M")


def test_a_budget_equals_the_lessons_within_a_billionth() -> None:
    from maas_lab.evidence.values import same_number as _equal

    assert _equal("50", 50) and _equal(50 + 1e-10, 50.0)
    assert not _equal(1e-9, 0) and not _equal(49, 50) and not _equal(None, 50) and not _equal("fifty", 50)


def test_titles_and_hints_follow_the_profile_and_the_user(lab: Lab, world: World, tmp_path: Path) -> None:
    profile = _profile_with(tmp_path, budgets__key_defaults={"max_budget": 7}, budgets__key_maximums={"max_budget": 9})
    lab.load(world)
    report = lab.grade([1, 3], profile=str(profile))
    key_defaults = result(report, "3.key-defaults")
    assert key_defaults.check.title == "API-key defaults: default max budget 7, maximum 9."
    assert key_defaults.status is Status.FAIL and "default max budget to 7 and the maximum to 9" in key_defaults.hint
    assert result(report, "1.can-create-project").check.title == f"You may create the {USER}-maas project (or it exists already)."
    assert all("{" not in r.check.title for r in report.results)


def test_explain_and_list_show_the_profiles_words() -> None:
    from typer.testing import CliRunner

    from maas_lab.cli import app

    explained = CliRunner().invoke(app, ["explain", "4.multi-model-key"])
    assert explained.exit_code == 0
    assert "Active key `multi-model-key` with Llama-3.2-3B and Llama-3.2-3B-Instruct-FP8 and max budget 5." in explained.output
    assert "{" not in explained.output
    listed = CliRunner().invoke(app, ["list", "3"], env={"COLUMNS": "60"})  # one block a check: a title's words in order
    words = " ".join(listed.output.split())
    assert listed.exit_code == 0 and "{key_default_budget}" not in listed.output and "default max budget 10" in words


def test_an_unreadable_shared_namespace_is_the_labs_side(lab: Lab, world: World) -> None:
    world.drop(lambda o: o["kind"] == "RoleBinding" and o["metadata"].get("namespace") == "ai501")
    lab.load(world)
    verdict = result(lab.grade([1]), "1.shared-models-ready")
    assert verdict.status is Status.ERROR, verdict.message  # the lab team's permission, not the student's missing work


def test_a_rejected_key_names_its_fingerprint_in_the_evidence(lab: Lab, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from maas_lab.evidence.sensitive import fingerprint_of

    monkeypatch.setenv("MY_KEY", "sk-NotAKeyAnyoneHasXXXXXX")
    verdict = result(lab.grade([4], api_key_env="MY_KEY"), "4.key-works")
    assert verdict.status is Status.FAIL and verdict.evidence == {"key": fingerprint_of("sk-NotAKeyAnyoneHasXXXXXX")}


@pytest.mark.parametrize(("body", "message", "evidence"), [
    ({}, "POST /api/auth/login answered 200 without an authorize URL", {"client_id": "", "redirect_uri": ""}),
    ({"authUrl": "https://oauth-openshift.apps.example.com/oauth/authorize?response_type=code"},
     "the backend sends redirect_uri=(none), expected https://litemaas-user1-maas.apps.example.com/api/auth/callback", {"client_id": "", "redirect_uri": ""}),
])
def test_a_login_without_its_redirect_fails(lab: Lab, body: dict, message: str, evidence: dict) -> None:  # type: ignore[type-arg]
    lab.litemaas.inject(r"^/api/auth/login$", status=200, body=body, method="POST")
    verdict = result(lab.grade([2]), "2.oauth")
    assert (verdict.status, verdict.message) == (Status.FAIL, message)
    assert {k: verdict.evidence[k] for k in evidence} == evidence


def test_key_works_says_what_it_did(lab: Lab, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from maas_lab.evidence.sensitive import fingerprint_of

    key = KEYS["multi-model-key"][0]
    monkeypatch.setenv("MY_KEY", key)
    verdict = result(lab.grade([4], api_key_env="MY_KEY"), "4.key-works")
    assert verdict.status is Status.PASS
    assert verdict.message == f"key {fingerprint_of(key)} lists 2 model(s) and Llama-3.2-3B answered"
    assert verdict.evidence == {"key": fingerprint_of(key), "models": ["Llama-3.2-3B", "Llama-3.2-3B-Instruct-FP8"]}
    lab.litellm.inject(r"^/v1/chat/completions$", status=400, body={"error": {"message": "Budget has been exceeded"}}, method="POST")
    refused = result(lab.grade([4], api_key_env="MY_KEY"), "4.key-works")
    assert (refused.status, refused.message) == (Status.FAIL, "chat on Llama-3.2-3B answered 400: Budget has been exceeded")
    assert refused.evidence == {"key": fingerprint_of(key)}
    lab.litellm.clear_faults()
    lab.litellm.inject(r"^/v1/models$", status=200, body={"data": [], "object": "list"}, method="GET")
    empty = result(lab.grade([4], api_key_env="MY_KEY"), "4.key-works")
    assert (empty.status, empty.message, empty.evidence) == (Status.FAIL, f"the key {fingerprint_of(key)} reaches no model", {"key": fingerprint_of(key)})


def test_key_works_chats_with_the_first_model_it_lists(lab: Lab, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from maas_lab.evidence.sensitive import fingerprint_of

    key = KEYS["multi-model-key"][0]
    monkeypatch.setenv("MY_KEY", key)
    listing = {"data": [{"id": "Llama-3.2-3B", "object": "model"}, {"id": "granite-8b", "object": "model"}], "object": "list"}
    lab.litellm.inject(r"^/v1/models$", status=200, body=listing, method="GET")  # the second is served nowhere
    verdict = result(lab.grade([4], api_key_env="MY_KEY"), "4.key-works")
    assert (verdict.status, verdict.message) == (Status.PASS, f"key {fingerprint_of(key)} lists 2 model(s) and Llama-3.2-3B answered")
    assert [r.body for r in lab.litellm.requests_matching(r"^/v1/chat/completions$", "POST") if b"granite-8b" in r.body] == []


def test_a_kustomize_install_naming_a_missing_oauth_client_fails(lab: Lab, world: World) -> None:
    from tests.fixtures.cluster import HOUR, kustomize_litemaas

    world.drop(lambda o: o["metadata"].get("namespace") == MAAS and o["kind"] not in ("Namespace", "RoleBinding"))
    world.objects += kustomize_litemaas(USER, {k: v for k, v in world.secrets.items() if not k.startswith("key:")}, world.now - 5 * HOUR)
    world.drop(lambda o: o["kind"] == "OAuthClient")
    lab.load(world)
    verdict = result(lab.grade([2]), "2.oauth")
    assert verdict.status is Status.FAIL
    assert verdict.message.startswith("OAuthClient ") and verdict.message.endswith(" (named by the backend Secret) not found")
