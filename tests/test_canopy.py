"""Lesson 5 beyond the single omissions: both chart and schema eras, every accepted URL form, tokens from a
Secret, and each classic mistake failing the right check with a hint that says what to change.

Every test grades the real grader against the loopback fakes loaded with a mutated reference world."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from maas_lab.engine.model import Report, Status
from maas_lab.report import FORMATS, render
from tests.fakes import litellm as fl
from tests.fakes import litemaas as fm
from tests.fixtures.cluster import USER, b64, canopy_backend_config, configmap, iso, llama_stack_run_config, pod_for, secret, vllm_provider
from tests.fixtures.world import BROWSER, CANOPY_AGENT, CANOPY_MODEL, CLASSMATE_KEY, KEYS, STUDENT_ID, World
from tests.lab import Lab, result

MAAS, CANOPY, TEST, TOOLINGS = (f"{USER}-{suffix}" for suffix in ("maas", "canopy", "test", "toolings"))
ROUTE_URL = f"https://litemaas-litellm-{MAAS}.apps.example.com/v1"
CANOPY_KEY = KEYS["canopy-experiments"][0]
MAAS_MODEL_ID = f"vllm-{CANOPY_MODEL}/{CANOPY_MODEL}"
NOBODY_KEY = "sk-Zq8TnW4vLr2XmP6yHs9KdB"  # a well-formed key that is nobody's
TOKEN_ENV = [{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "llama-fp8-maas-token", "key": "api_token"}}}]
LESSON5 = ("5.canopy-key", "5.llamastack-provider", "5.token-is-student-key", "5.backend-model", "5.rolled-out",
           "5.traffic-through-maas", "5.gitops-test")
# Which checks skip when one fails (their `needs`, transitively, within lesson 5).
DEPENDENTS = {
    "5.llamastack-provider": ("5.token-is-student-key", "5.backend-model", "5.rolled-out", "5.traffic-through-maas"),
    "5.token-is-student-key": ("5.traffic-through-maas",),
    "5.backend-model": ("5.rolled-out",),
}
Mutation = Callable[[World], None]


# -- world mutations ------------------------------------------------------------------------------------------


def providers(url: str = ROUTE_URL, token: str | None = CANOPY_KEY, *, name: str = CANOPY_MODEL, url_key: str = "base_url",
              configmap: str = "ogx-config") -> Mutation:
    """Rewrite Canopy's Llama Stack run config: the stock vLLM provider plus the student's MaaS provider."""
    def mutate(w: World) -> None:
        config = [vllm_provider("llama32", "http://llama-32-predictor.ai501.svc.cluster.local:8080/v1", None, url_key=url_key),
                  vllm_provider(name, url, token, url_key=url_key)]
        cm = w.find("ConfigMap", "ogx-config", CANOPY)
        cm["metadata"]["name"] = configmap
        cm["data"]["config.yaml"] = llama_stack_run_config(config)
        w.find("LlamaStackDistribution", "llama-stack", CANOPY)["spec"]["server"]["userConfig"]["configMapName"] = configmap
    return mutate


def backend(model: str = MAAS_MODEL_ID, **options: Any) -> Mutation:
    def mutate(w: World) -> None:
        w.find("ConfigMap", "canopy-config", CANOPY)["data"]["canopy-config.yaml"] = canopy_backend_config(model, **options)
    return mutate


def backend_yaml(text: str) -> Mutation:
    def mutate(w: World) -> None:
        w.find("ConfigMap", "canopy-config", CANOPY)["data"]["canopy-config.yaml"] = text
    return mutate


def token_from_secret(value: str | None = CANOPY_KEY, *, env: list[dict[str, Any]] | None = None) -> Mutation:
    """`api_token: ${env.API_TOKEN}`, API_TOKEN from Secret llama-fp8-maas-token in the Canopy namespace (None: no Secret)."""
    def mutate(w: World) -> None:
        providers(token="${env.API_TOKEN}")(w)
        w.find("LlamaStackDistribution", "llama-stack", CANOPY)["spec"]["server"]["containerSpec"]["env"] = TOKEN_ENV if env is None else env
        if value is not None:
            w.objects.append(secret("llama-fp8-maas-token", CANOPY, {"api_token": value}, w.now - timedelta(hours=2)))
    return mutate


def extra_llama_stack_config(name: str, url: str, token: str | None) -> Mutation:
    """Another Llama Stack ConfigMap `name` beside the one the LlamaStackDistribution runs (a leftover of the other chart era)."""
    def mutate(w: World) -> None:
        run_config = llama_stack_run_config([vllm_provider(CANOPY_MODEL, url, token)])
        w.objects.append(configmap(name, CANOPY, {"config.yaml": run_config}, w.now - timedelta(days=30), written=w.now - timedelta(hours=2)))
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(w: World) -> None:
        for mutation in mutations:
            mutation(w)
    return mutate


def canopy_key_revoked(w: World) -> None:
    w.key("canopy-experiments").update(isActive=False, revokedAt=w.now - timedelta(minutes=15))


def canopy_key_blocked(w: World) -> None:
    w.litellm_key("canopy-experiments")["blocked"] = True


def canopy_key_expired(w: World) -> None:
    w.litellm_key("canopy-experiments")["expires"] = fl.iso_z(w.now - timedelta(hours=1))


def config_written(minutes_ago: int, name: str = "ogx-config") -> Mutation:
    def mutate(w: World) -> None:
        w.find("ConfigMap", name, CANOPY)["metadata"]["managedFields"][0]["time"] = iso(w.now - timedelta(minutes=minutes_ago))
    return mutate


def llama_stack_rolling_out(w: World) -> None:
    """`oc rollout restart` 30 s ago: the new pod is being created, none ready yet, nothing crashing."""
    moment = w.now - timedelta(seconds=30)
    deploy = w.find("Deployment", "llama-stack", CANOPY)
    deploy["metadata"]["generation"] = 3
    deploy["status"].update(observedGeneration=3, updatedReplicas=1, readyReplicas=0, availableReplicas=0)
    deploy["status"]["conditions"][1].update(reason="ReplicaSetUpdated", lastUpdateTime=iso(moment), message="progressing")
    w.drop(lambda o: o["kind"] == "Pod" and o["metadata"]["name"].startswith("llama-stack-"))
    w.objects.append(pod_for(deploy, "8e0a1-n3wp0", moment, ready=False))
    config_written(1)(w)


def llama_stack_crashing(w: World) -> None:
    llama_stack_rolling_out(w)
    pod = next(o for o in w.objects if o["kind"] == "Pod" and o["metadata"]["name"].startswith("llama-stack-"))
    pod["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}


def canopy_rows(*agents_minutes: tuple[str, int], model: str = CANOPY_MODEL) -> Mutation:
    """Replace the Canopy key's spend rows by successful ones from these User-Agents, minutes ago."""
    def mutate(w: World) -> None:
        token = fl.hash_key(CANOPY_KEY)
        w.litellm.spend_logs = [r for r in w.litellm.spend_logs if r["api_key"] != token]
        for agent, minutes in agents_minutes:
            w.litellm.spend_logs.append(fl.make_spend_row(
                token, user_id=STUDENT_ID, model_group=model, backend_model="llama32-fp8", user_agent=agent,
                start=w.now - timedelta(minutes=minutes), key_alias=fl.litemaas_key_alias("canopy-experiments", KEYS["canopy-experiments"][3])))
    return mutate


def canopy_key_just_created(w: World) -> None:
    created = w.now - timedelta(minutes=1)
    w.litellm_key("canopy-experiments").update(created_at=fl.iso_z(created), updated_at=fl.iso_z(created))
    w.key("canopy-experiments")["createdAt"] = created
    canopy_rows()(w)


def second_canopy_key(*, old_is_configured: bool) -> Mutation:
    """The student revoked canopy-experiments and made a new one with the same name and model."""
    new_key = "sk-N3wC4n0pyK3yQwErTyUiOp"

    def mutate(w: World) -> None:
        canopy_key_revoked(w)
        w.litellm_key("canopy-experiments")["blocked"] = False  # LiteLLM not (yet) told: LiteMaaS decides
        w.litemaas.api_keys.append(fm.make_api_key(STUDENT_ID, "canopy-experiments", new_key, [CANOPY_MODEL], alias_suffix="e5f6a7b8",
                                                   created_at=w.now - timedelta(minutes=50)))
        w.litellm.keys.append(fl.make_litemaas_key(new_key, name="canopy-experiments", user_id=STUDENT_ID, models=[CANOPY_MODEL],
                                                   alias_suffix="e5f6a7b8", created_at=w.now - timedelta(minutes=50)))
        if not old_is_configured:
            providers(token=new_key)(w)
            gitops_secret(new_key)(w)
            w.litellm.spend_logs.append(fl.make_spend_row(
                fl.hash_key(new_key), user_id=STUDENT_ID, model_group=CANOPY_MODEL, backend_model="llama32-fp8", user_agent=CANOPY_AGENT,
                start=w.now - timedelta(minutes=10), key_alias=fl.litemaas_key_alias("canopy-experiments", "e5f6a7b8")))
    return mutate


def recreated_key_rows(*, new_created_minutes: int, old_created_minutes: int, prefixes: bool = True,
                       old_models: list[str] | None = None) -> Mutation:
    """The re-created pair (the new key configured) with the LiteMaaS rows' creation times, keyPrefix and models changed:
    the LiteLLM key (created 50 minutes ago) must still find its own LiteMaaS row, not the revoked one."""
    def mutate(w: World) -> None:
        second_canopy_key(old_is_configured=False)(w)
        old, new = (k for k in w.litemaas.api_keys if k["name"] == "canopy-experiments")
        old["createdAt"], new["createdAt"] = w.now - timedelta(minutes=old_created_minutes), w.now - timedelta(minutes=new_created_minutes)
        if not prefixes:  # both keys start alike (7 characters can): the models and then the creation time decide
            old["keyPrefix"] = new["keyPrefix"]
        if old_models is not None:
            old["models"] = old_models
    return mutate


def argo(app_name: str, *, rename: str | None = None, **status: Any) -> Mutation:
    def mutate(w: World) -> None:
        app = w.find("Application", app_name, TOOLINGS)
        if rename:
            app["metadata"]["name"] = rename
        for field, value in status.items():
            if field == "message":
                app["status"]["operationState"] = {"phase": "Failed", "message": value}
            else:
                app["status"][field] = {"status": value}
    return mutate


def gitops_secret(value: str | None) -> Mutation:
    def mutate(w: World) -> None:
        if value is None:
            w.drop(lambda o: o["kind"] == "Secret" and o["metadata"]["name"] == "llama-fp8-maas-token")
        else:
            w.find("Secret", "llama-fp8-maas-token", TEST)["data"]["api_token"] = b64(value)
    return mutate


def gitops_lsd_env(env: list[dict[str, Any]]) -> Mutation:
    def mutate(w: World) -> None:
        w.find("LlamaStackDistribution", "llama-stack", TEST)["spec"]["server"]["containerSpec"]["env"] = env
    return mutate


# -- helpers -------------------------------------------------------------------------------------------------


def grade(lab: Lab, world: World, mutation: Mutation, *, only: tuple[str, ...] | None = None) -> Report:
    mutation(world)
    lab.load(world)
    return lab.grade([5], only=only)


def not_passing(report: Report) -> dict[str, Status]:
    return {r.check.id: r.status for r in report.results if r.check.id in LESSON5 and r.status is not Status.PASS}


def expect_only(report: Report, check_id: str, status: Status = Status.FAIL, *, also: dict[str, Status] | None = None) -> Any:
    """`check_id` has `status`, the checks that need it skip, every other lesson-5 check passes."""
    wanted = {check_id: status, **{d: Status.SKIP for d in DEPENDENTS.get(check_id, ())}, **(also or {})}
    verdict = result(report, check_id)
    assert not_passing(report) == wanted, f"{verdict.message} | hint: {verdict.hint}"
    return verdict


# -- what passes ---------------------------------------------------------------------------------------------

# case: (mutation, {check id: what its pass message must say})
PASSING: dict[str, tuple[Mutation, dict[str, str]]] = {
    "reference": (lambda w: None, {"5.llamastack-provider": "ConfigMap ogx-config", "5.backend-model": "current schema"}),
    "older chart: llama-stack-config, url": (providers(url_key="url", configmap="llama-stack-config"),
                                             {"5.llamastack-provider": "ConfigMap llama-stack-config"}),
    "older backend schema": (backend(schema="older"), {"5.backend-model": "summarize"}),
    "older chart and schema, Service URL": (
        both(providers(f"http://litemaas-litellm.{MAAS}.svc:4000/v1", url_key="url", configmap="llama-stack-config"), backend(schema="older")),
        {"5.llamastack-provider": "ConfigMap llama-stack-config", "5.backend-model": "older schema"}),
    "older schema, LLAMA_STACK_URL with /v1 and FQDN": (backend_yaml(canopy_backend_config(MAAS_MODEL_ID, schema="older").replace(
        "http://llama-stack-service:8321", f"http://llama-stack-service.{CANOPY}.svc.cluster.local:8321/v1/")), {}),
    "current schema, FQDN endpoint": (backend(endpoint=f"http://llama-stack-service.{CANOPY}.svc.cluster.local:8321/v1"), {}),
    "Route URL with a trailing slash": (providers(ROUTE_URL + "/"), {}),
    "Service .svc": (providers(f"http://litemaas-litellm.{MAAS}.svc:4000/v1"), {"5.llamastack-provider": ".svc:4000"}),
    "Service .svc/": (providers(f"http://litemaas-litellm.{MAAS}.svc:4000/v1/"), {}),
    "Service .svc.cluster.local": (providers(f"http://litemaas-litellm.{MAAS}.svc.cluster.local:4000/v1"), {}),
    "Service .svc.cluster.local/": (providers(f"http://litemaas-litellm.{MAAS}.svc.cluster.local:4000/v1/"), {}),
    "${env.API_TOKEN} from the LlamaStackDistribution's Secret": (
        token_from_secret(), {"5.llamastack-provider": "token from Secret llama-fp8-maas-token/api_token"}),
    "a provider name of the student's choosing": (both(providers(name="maas-fp8"), backend(f"vllm-maas-fp8/{CANOPY_MODEL}")),
                                                  {"5.backend-model": f"vllm-maas-fp8/{CANOPY_MODEL}"}),
    "a re-created key with the same name, the new one configured": (
        second_canopy_key(old_is_configured=False), {"5.token-is-student-key": "your active key canopy-experiments"}),
    "the re-created key's row found by its keyPrefix, though the revoked one was created nearer": (
        recreated_key_rows(new_created_minutes=40, old_created_minutes=50), {"5.token-is-student-key": "your active key"}),
    "the same keyPrefix: the row with the key's models, though the other was created nearer": (
        recreated_key_rows(new_created_minutes=40, old_created_minutes=50, prefixes=False, old_models=["Llama-3.2-3B"]), {}),
    "the same keyPrefix and models: the row created nearest the LiteLLM key, not the newer revoked one": (
        recreated_key_rows(new_created_minutes=50, old_created_minutes=10, prefixes=False), {}),
    "a stale llama-stack-config left next to the ogx-config Llama Stack runs": (extra_llama_stack_config(
        "llama-stack-config", "http://llama-32-fp8-predictor.ai501.svc.cluster.local:8080/v1", None), {"5.llamastack-provider": "ogx-config"}),
    "gitops: the app is still called llama-stack-test": (argo("ogx-test", rename="llama-stack-test"), {}),
}


@pytest.mark.parametrize(("mutation", "says"), PASSING.values(), ids=PASSING.keys())
def test_lesson_5_passes(lab: Lab, world: World, mutation: Mutation, says: dict[str, str]) -> None:
    report = grade(lab, world, mutation)
    assert not_passing(report) == {}, {c: result(report, c).message for c in not_passing(report)}
    for check_id, fragment in says.items():
        assert fragment in result(report, check_id).message, result(report, check_id).message


def test_the_configmap_the_llama_stack_distribution_names_is_the_one_graded(lab: Lab, world: World) -> None:
    """The LSD runs llama-stack-config (older chart); a correct but unused ogx-config next to it does not count."""
    mutation = both(providers("http://llama-32-fp8-predictor.ai501.svc.cluster.local:8080/v1", None, configmap="llama-stack-config"),
                    extra_llama_stack_config("ogx-config", ROUTE_URL, CANOPY_KEY))
    verdict = expect_only(grade(lab, world, mutation), "5.llamastack-provider")
    assert "llama-32-fp8-predictor" not in (verdict.hint or "")
    assert ROUTE_URL in (verdict.hint or "")


# -- the Llama Stack provider ----------------------------------------------------------------------------------

PROVIDER_MISTAKES: dict[str, tuple[Mutation, tuple[str, ...]]] = {
    "double apps.": (providers(ROUTE_URL.replace(".apps.example.com", ".apps.apps.example.com")), ("`apps.` twice", ROUTE_URL)),
    "no /v1": (providers(ROUTE_URL.removesuffix("/v1")), ("/v1", ROUTE_URL)),
    "http:// Route": (providers(ROUTE_URL.replace("https://", "http://")), ("https://", ROUTE_URL)),
    "another student's LiteLLM": (providers(ROUTE_URL.replace(USER, "user2")), ("user2-maas", ROUTE_URL)),
    "still the direct vLLM URL": (providers("http://llama-32-fp8-predictor.ai501.svc.cluster.local:8080/v1"), (ROUTE_URL,)),
    "a Service URL without the port": (providers(f"http://litemaas-litellm.{MAAS}.svc/v1"), ("4000", ROUTE_URL)),
}


def fails_with_hint(report: Report, check_id: str, fragments: tuple[str, ...]) -> None:
    """Only `check_id` fails (as `expect_only` says), and its hint names every fragment."""
    verdict = expect_only(report, check_id)
    assert verdict.hint
    for fragment in fragments:
        assert fragment in verdict.hint, verdict.hint


@pytest.mark.parametrize(("mutation", "fragments"), PROVIDER_MISTAKES.values(), ids=PROVIDER_MISTAKES.keys())
def test_a_wrong_provider_url_fails_the_provider_check_with_a_hint(lab: Lab, world: World, mutation: Mutation,
                                                                    fragments: tuple[str, ...]) -> None:
    fails_with_hint(grade(lab, world, mutation), "5.llamastack-provider", fragments)


def test_a_provider_without_token_fails(lab: Lab, world: World) -> None:
    verdict = expect_only(grade(lab, world, providers(token=None)), "5.llamastack-provider")
    assert "token" in verdict.message
    assert "canopy-experiments" in (verdict.hint or "")


TOKEN_SECRET_MISTAKES: dict[str, tuple[Mutation, tuple[str, ...], tuple[str, ...]]] = {
    "the Secret is missing": (token_from_secret(None), ("llama-fp8-maas-token", "not found", CANOPY), ("llama-fp8-maas-token", CANOPY)),
    "the Secret lacks the key": (
        both(token_from_secret(None), lambda w: w.objects.append(secret("llama-fp8-maas-token", CANOPY, {"token": CANOPY_KEY}, w.now))),
        ("llama-fp8-maas-token", "api_token"), ("api_token",)),
    "no API_TOKEN in the LlamaStackDistribution": (token_from_secret(env=[]), ("API_TOKEN",), ("API_TOKEN",)),
}


@pytest.mark.parametrize(("mutation", "in_message", "in_hint"), TOKEN_SECRET_MISTAKES.values(), ids=TOKEN_SECRET_MISTAKES.keys())
def test_an_env_token_that_cannot_be_resolved_fails_clearly(lab: Lab, world: World, mutation: Mutation, in_message: tuple[str, ...],
                                                             in_hint: tuple[str, ...]) -> None:
    verdict = expect_only(grade(lab, world, mutation), "5.llamastack-provider")
    for fragment in in_message:
        assert fragment in verdict.message, verdict.message
    for fragment in in_hint:
        assert fragment in (verdict.hint or ""), verdict.hint


# -- the token is the student's key ---------------------------------------------------------------------------

TOKEN_MISTAKES: dict[str, tuple[Mutation, str, dict[str, Status]]] = {
    "another student's key": (providers(token=CLASSMATE_KEY), "none of your keys", {}),
    "nobody's key": (providers(token=NOBODY_KEY), "none of your keys", {}),
    "nobody's key, through the Secret": (token_from_secret(NOBODY_KEY), "none of your keys", {}),
    # The test environment's Secret holds the same key: the bonus check fails with it.
    "revoked in LiteMaaS": (canopy_key_revoked, "revoked", {"5.canopy-key": Status.FAIL, "5.gitops-test": Status.FAIL}),
    "blocked in LiteLLM": (canopy_key_blocked, "blocked", {"5.gitops-test": Status.FAIL}),
    "expired in LiteLLM": (canopy_key_expired, "expired", {"5.gitops-test": Status.FAIL}),
    "the old key of a re-created pair": (second_canopy_key(old_is_configured=True), "revoked", {"5.gitops-test": Status.FAIL}),
}


@pytest.mark.parametrize(("mutation", "phrase", "also"), TOKEN_MISTAKES.values(), ids=TOKEN_MISTAKES.keys())
def test_a_token_that_is_not_an_active_student_key_fails(lab: Lab, world: World, mutation: Mutation, phrase: str,
                                                         also: dict[str, Status]) -> None:
    verdict = expect_only(grade(lab, world, mutation), "5.token-is-student-key", also=also)
    assert phrase in verdict.message
    assert verdict.hint and "canopy-experiments" in verdict.hint


@pytest.mark.parametrize("mutation", [providers(token=NOBODY_KEY), token_from_secret(NOBODY_KEY)], ids=["literal", "secret"])
def test_a_foreign_token_appears_in_no_output(lab: Lab, world: World, mutation: Mutation) -> None:
    report = grade(lab, world, mutation)
    assert result(report, "5.token-is-student-key").status is Status.FAIL
    middle = NOBODY_KEY[len(NOBODY_KEY) // 2 - 5 : len(NOBODY_KEY) // 2 + 5]
    for format_ in FORMATS:
        text = render(report, format_)
        assert NOBODY_KEY not in text, format_
        assert middle not in text, format_
    for verdict in report.results:
        raw = f"{verdict.message} {verdict.hint} {verdict.evidence}"
        assert NOBODY_KEY not in raw and middle not in raw, verdict.check.id


# -- the backend model ----------------------------------------------------------------------------------------

BACKEND_MISTAKES: dict[str, tuple[Mutation, tuple[str, ...]]] = {
    "the model without vllm-<provider>/": (backend(CANOPY_MODEL), (MAAS_MODEL_ID, "vllm-")),
    "the model left at the direct vLLM one": (backend("vllm-llama32-fp8/llama32-fp8"), (MAAS_MODEL_ID,)),
    "the older schema with a wrong model": (backend("vllm-llama32-fp8/llama32-fp8", schema="older"), (MAAS_MODEL_ID, "summarize")),
    "the older schema with a bare model": (backend(CANOPY_MODEL, schema="older"), (MAAS_MODEL_ID,)),
    "the endpoint changed but not the model": (backend("vllm-llama32/llama32"), (MAAS_MODEL_ID,)),
    "the model changed but not the endpoint": (backend(endpoint="http://llama-32-predictor:80/v1"),
                                               ("endpoint", "http://llama-stack-service:8321/v1", "Llama Stack")),
    "the endpoint is LiteLLM itself": (backend(endpoint=ROUTE_URL), ("endpoint", "Llama Stack", "key")),
    "the older schema with LLAMA_STACK_URL at vLLM": (
        backend_yaml(canopy_backend_config(MAAS_MODEL_ID, schema="older").replace("http://llama-stack-service:8321", "http://llama-32-predictor:80")),
        ("LLAMA_STACK_URL", "http://llama-stack-service:8321")),
    "a model named for another provider": (backend(f"vllm-llama32/{CANOPY_MODEL}"), (MAAS_MODEL_ID,)),
    "the Llama Stack model renamed but not the backend": (providers(name="maas"), (f"vllm-maas/{CANOPY_MODEL}",)),
}


@pytest.mark.parametrize(("mutation", "fragments"), BACKEND_MISTAKES.values(), ids=BACKEND_MISTAKES.keys())
def test_a_wrong_backend_config_fails_the_backend_check_with_a_hint(lab: Lab, world: World, mutation: Mutation,
                                                                    fragments: tuple[str, ...]) -> None:
    fails_with_hint(grade(lab, world, mutation), "5.backend-model", fragments)


def test_the_older_schema_without_llama_stack_url_is_still_the_older_schema(lab: Lab, world: World) -> None:
    text = canopy_backend_config(MAAS_MODEL_ID, schema="older").replace('LLAMA_STACK_URL: http://llama-stack-service:8321\n', "")
    verdict = expect_only(grade(lab, world, backend_yaml(text)), "5.backend-model")
    assert verdict.evidence["schema"] == "older"
    assert "LLAMA_STACK_URL is not set: not Llama Stack (http://llama-stack-service:8321)" in verdict.message, verdict.message


def test_other_features_are_ignored(lab: Lab, world: World) -> None:
    """socratic-tutor is not among the profile's features: enabled on its own model, it changes nothing."""
    text = canopy_backend_config(MAAS_MODEL_ID).replace("enabled: false\n  endpoint: http://llama-32", "enabled: true\n  endpoint: http://llama-32")
    assert "enabled: true\n  endpoint: http://llama-32" in text
    report = grade(lab, world, backend_yaml(text))
    assert not_passing(report) == {}


def test_no_enabled_feature_fails(lab: Lab, world: World) -> None:
    verdict = expect_only(grade(lab, world, backend_yaml(canopy_backend_config(MAAS_MODEL_ID).replace("enabled: true", "enabled: false"))),
                          "5.backend-model")
    assert "enabled" in verdict.message


# -- rolled out -----------------------------------------------------------------------------------------------


def test_config_changed_but_llama_stack_not_restarted(lab: Lab, world: World) -> None:
    verdict = expect_only(grade(lab, world, config_written(10)), "5.rolled-out", also={"5.traffic-through-maas": Status.FAIL})
    assert "llama-stack" in verdict.message
    assert "oc rollout restart deployment/llama-stack" in (verdict.hint or "")
    assert CANOPY in (verdict.hint or "")


def test_config_changed_but_backend_not_restarted(lab: Lab, world: World) -> None:
    verdict = expect_only(grade(lab, world, config_written(10, "canopy-config")), "5.rolled-out")
    assert "canopy-backend" in verdict.message
    assert "oc rollout restart deployment/canopy-backend" in (verdict.hint or "")


def test_both_not_restarted_names_both(lab: Lab, world: World) -> None:
    verdict = expect_only(grade(lab, world, both(config_written(10), config_written(10, "canopy-config"))), "5.rolled-out",
                          also={"5.traffic-through-maas": Status.FAIL})
    assert "oc rollout restart" in (verdict.hint or "")
    assert "llama-stack" in (verdict.hint or "") and "canopy-backend" in (verdict.hint or "")


def test_a_rollout_in_progress_is_pending(lab: Lab, world: World) -> None:
    verdict = expect_only(grade(lab, world, llama_stack_rolling_out), "5.rolled-out", Status.PENDING,
                          also={"5.traffic-through-maas": Status.FAIL})
    assert "rolling out" in verdict.message


def test_a_crashing_rollout_fails(lab: Lab, world: World) -> None:
    verdict = expect_only(grade(lab, world, llama_stack_crashing), "5.rolled-out", also={"5.traffic-through-maas": Status.FAIL})
    assert "CrashLoopBackOff" in verdict.message


# -- traffic through MaaS -------------------------------------------------------------------------------------

TRAFFIC_FAILURES: dict[str, tuple[Mutation, tuple[str, ...]]] = {
    "only curl and a browser after the change": (canopy_rows(("curl/8.5.0", 30), (BROWSER, 20)), ("curl", "browser")),
    "Canopy traffic only before the change": (canopy_rows((CANOPY_AGENT, 90)), ("since",)),
    "Canopy traffic on another model": (canopy_rows((CANOPY_AGENT, 20), model="Llama-3.2-3B"), (CANOPY_MODEL,)),
    "no traffic at all": (canopy_rows(), (CANOPY_MODEL,)),
}


@pytest.mark.parametrize(("mutation", "fragments"), TRAFFIC_FAILURES.values(), ids=TRAFFIC_FAILURES.keys())
def test_traffic_not_from_canopy_fails(lab: Lab, world: World, mutation: Mutation, fragments: tuple[str, ...]) -> None:
    verdict = expect_only(grade(lab, world, mutation), "5.traffic-through-maas")
    for fragment in fragments:
        assert fragment in verdict.message, verdict.message
    assert "Canopy" in (verdict.hint or "")


def test_a_new_key_without_traffic_is_pending(lab: Lab, world: World) -> None:
    verdict = expect_only(grade(lab, world, canopy_key_just_created), "5.traffic-through-maas", Status.PENDING)
    assert "2 minutes" in verdict.message


def test_a_new_key_with_only_curl_traffic_fails(lab: Lab, world: World) -> None:
    """Pending is only for a key with no successful request at all: curl's rows prove usage is being recorded."""
    verdict = expect_only(grade(lab, world, both(canopy_key_just_created, canopy_rows(("curl/8.5.0", 1)))), "5.traffic-through-maas")
    assert "curl" in verdict.message


# -- GitOps test environment ----------------------------------------------------------------------------------

GITOPS_FAILURES: dict[str, tuple[Mutation, tuple[str, ...], tuple[str, ...]]] = {
    "sealed-secrets app Degraded": (argo("sealed-secrets-test", health="Degraded"), ("sealed-secrets-test", "Degraded"),
                                    ("sealed-secrets-test", "canopy/test/sealed-secrets/config.yaml")),
    "ogx app OutOfSync": (argo("ogx-test", sync="OutOfSync", message="one or more objects failed to apply"), ("ogx-test", "OutOfSync"), ()),
    "no Llama Stack app": (lambda w: w.drop(lambda o: o["kind"] == "Application" and o["metadata"]["name"] == "ogx-test"),
                           ("ogx-test", "llama-stack-test"), ()),
    "the Secret holds another student's key": (gitops_secret(CLASSMATE_KEY), ("llama-fp8-maas-token", "none of your"), ("your own",)),
    "the Secret holds a revoked key": (canopy_key_revoked, ("llama-fp8-maas-token", "revoked"), ("your own active",)),
    "the Secret is missing": (gitops_secret(None), ("llama-fp8-maas-token", "not found"), ()),
    "the LSD does not read the Secret": (gitops_lsd_env([]), ("API_TOKEN", "llama-fp8-maas-token"),
                                         ("sealed_secrets", "canopy/test/ogx/config.yaml")),
    "the LSD reads another Secret": (gitops_lsd_env([{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "maas-token", "key": "api_token"}}}]),
                                     ("API_TOKEN", "maas-token/api_token", "llama-fp8-maas-token"), ("sealed_secrets",)),
    "the eval sync error": (argo("ogx-test", sync="OutOfSync", health="Missing",
                                 message="values don't meet the specifications of the schema(s): additional properties 'eval' not allowed"),
                            ("ogx-test", "eval"), ("Remove `eval:`", "canopy/test/ogx/config.yaml")),
    "the eval sync error, older app name": (
        both(argo("ogx-test", rename="llama-stack-test"),
             argo("llama-stack-test", sync="OutOfSync", message="additional properties 'eval' not allowed")),
        ("llama-stack-test", "eval"), ("Remove `eval:`", "canopy/test/llama-stack/config.yaml")),
}


@pytest.mark.parametrize(("mutation", "in_message", "in_hint"), GITOPS_FAILURES.values(), ids=GITOPS_FAILURES.keys())
def test_gitops_failures(lab: Lab, world: World, mutation: Mutation, in_message: tuple[str, ...], in_hint: tuple[str, ...]) -> None:
    report = grade(lab, world, mutation, only=("5.gitops-test",))
    verdict = result(report, "5.gitops-test")
    assert verdict.status is Status.FAIL, verdict.message
    assert verdict.points == 0
    for fragment in in_message:
        assert fragment in verdict.message, verdict.message
    for fragment in in_hint:
        assert fragment in (verdict.hint or ""), verdict.hint
    if not any("eval" in f for f in in_message):
        assert "eval" not in (verdict.hint or "")
    assert "successfully synced" not in verdict.message  # a stale success message explains no failure


def test_a_synced_app_with_an_old_eval_message_passes(lab: Lab, world: World) -> None:
    """Only a failing sync is blamed on `eval`: a healthy app whose history mentions it is fine."""
    def mutate(w: World) -> None:
        w.find("Application", "ogx-test", TOOLINGS)["status"]["conditions"] = [
            {"type": "SyncError", "message": "additional properties 'eval' not allowed", "lastTransitionTime": iso(w.now - timedelta(hours=1))}]
    report = grade(lab, world, mutate, only=("5.gitops-test",))
    assert result(report, "5.gitops-test").status is Status.PASS


def test_an_argo_app_still_progressing_is_pending(lab: Lab, world: World) -> None:
    app = world.find("Application", "ogx-test", f"{USER}-toolings")
    app["status"]["health"]["status"] = "Progressing"
    lab.load(world)
    verdict = result(lab.grade([5], only=["5.gitops-test"]), "5.gitops-test")
    assert verdict.status is Status.PENDING and "still syncing" in verdict.message


# -- the URL heuristics, as pure functions (fast; they also kill the mutants of each branch) -------------------------

ACCEPTED = [f"https://litemaas-litellm-{MAAS}.apps.example.com/v1", f"http://litemaas-litellm.{MAAS}.svc:4000/v1",
            f"http://litemaas-litellm.{MAAS}.svc.cluster.local:4000/v1"]
TWICE = "the URL has `apps.` twice: <CLUSTER_DOMAIN> already starts with apps."
OTHER = f"the URL points at the LiteLLM of user2-maas, not at yours in {MAAS}"
PORT = "the in-cluster Service URL needs LiteLLM's port :4000"
URL_MISTAKES = {
    f"https://litemaas-litellm-{MAAS}.apps.apps.example.com/v1": TWICE,
    f"https://litemaas-litellm-{MAAS}.apps.example.com/v1": None,
    "https://litemaas-litellm-user2-maas.apps.example.com/v1": OTHER,
    "litemaas-litellm-user2-maas.apps.example.com/v1": OTHER,
    "http://litemaas-litellm.user2-maas.svc:4000/v1": OTHER,
    "http://litemaas-litellm.user2-maas.svc.cluster.local:4000/v1": OTHER,
    f"http://litemaas-litellm.{MAAS}.svc/v1": PORT,
    f"http://litemaas-litellm.{MAAS}.svc.cluster.local:8080/v1": PORT,
    f"https://litemaas-litellm-{MAAS}.apps.example.com": "the URL must end with /v1",
    f"http://litemaas-litellm-{MAAS}.apps.example.com/v1": "the Route URL starts with https://",
    f"http://x.{MAAS}:4000/v1": "the Route URL starts with https://",
    f"HTTPS://LiteMaaS-LiteLLM-{MAAS}.Apps.Example.com/v1/": None,
    f"  https://litemaas-litellm-{MAAS}.apps.example.com/v1  ": None,
    f"http://litellm.{MAAS}.svc:4000/v1": None,
    "https://other-user2-maas.apps.example.com/v1": None,
    "https://litemaas-litellm-user2-dev.apps.example.com/v1": None,
    f"https://litemaas-{MAAS}.apps.example.com/v1": None,
    "": None,
}


@pytest.mark.parametrize("url", sorted(URL_MISTAKES))
def test_url_mistakes(url: str) -> None:
    from maas_lab.lessons.l5_canopy import url_mistake

    assert url_mistake(url, ACCEPTED, maas_namespace=MAAS) == URL_MISTAKES[url]


def test_another_students_url_needs_our_namespace_and_our_route() -> None:
    from maas_lab.lessons.l5_canopy import url_mistake

    elsewhere = "https://litemaas-litellm-user2-maas.apps.example.com/v1"
    assert url_mistake(elsewhere, ACCEPTED) is None  # without our namespace, no comparison
    assert url_mistake(elsewhere, [u for u in ACCEPTED if u.startswith("http:")], maas_namespace=MAAS) is None  # no Route known


# -- a check called on its own (its `needs` not run first): the guard still names the prerequisite ---------------


def evaluate_alone(lab: Lab, world: World, mutation: Mutation, check_id: str) -> Any:
    """Grade `check_id` on the lab's snapshot without running its prerequisites (as a caller outside the runner would)."""
    from maas_lab.engine.registry import load_checks
    from maas_lab.engine.runner import evaluate
    from maas_lab.grading import build_snapshot, resolve_profile
    from tests.lab import RouteTransport

    mutation(world)
    lab.load(world)
    settings = lab.settings()
    profile, _error = resolve_profile(settings)
    snapshot, failure = build_snapshot(settings, profile, transport=RouteTransport(lab.routes()))
    assert failure is None, failure
    try:
        checks = load_checks()
        return evaluate(checks[check_id], snapshot, checks)
    finally:
        snapshot.close()


UNGUARDED = {
    # (check, what the provider lacks): the reason the check gives, after "needs 5.llamastack-provider: "
    ("5.token-is-student-key", "no token"): (providers(token=None), "no provider with a token points at your LiteLLM"),
    ("5.token-is-student-key", "not LiteLLM"): (providers("http://llama-32-fp8-predictor.ai501.svc.cluster.local:8080/v1"),
                                                "no provider with a token points at your LiteLLM"),
    ("5.traffic-through-maas", "no token"): (providers(token=None), "no provider with a token points at your LiteLLM"),
    ("5.backend-model", "not LiteLLM"): (providers("http://llama-32-fp8-predictor.ai501.svc.cluster.local:8080/v1"),
                                         "no provider points at your LiteLLM"),
}


@pytest.mark.parametrize(("check_id", "lacking"), list(UNGUARDED), ids=[f"{c}:{w}" for c, w in UNGUARDED])
def test_a_check_run_before_its_provider_skips_naming_it(lab: Lab, world: World, check_id: str, lacking: str) -> None:
    mutation, reason = UNGUARDED[(check_id, lacking)]
    verdict = evaluate_alone(lab, world, mutation, check_id)
    assert verdict.status is Status.SKIP, verdict.message
    assert verdict.message == f"needs 5.llamastack-provider: {reason}"
    assert verdict.hint == "Fix 5.llamastack-provider first (maas-lab explain 5.llamastack-provider)."
    assert verdict.evidence == {"prerequisite": "5.llamastack-provider"}


def test_the_time_of_the_change_is_said_in_utc_whatever_the_graders_time_zone(lab: Lab, world: World,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30: a local time would show another hour and minute
    time.tzset()
    try:
        verdict = expect_only(grade(lab, world, canopy_rows((CANOPY_AGENT, 90))), "5.traffic-through-maas")
    finally:
        monkeypatch.undo()
        time.tzset()
    changed = world.now - timedelta(hours=1)  # the reference world's ogx-config change
    assert f"since the Llama Stack config changed ({changed:%Y-%m-%d %H:%M} UTC)" in verdict.message, verdict.message
