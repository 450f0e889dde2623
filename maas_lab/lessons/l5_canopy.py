"""Lesson 5 — Canopy integration: Llama Stack and the Canopy backend re-pointed at LiteMaaS, then GitOps to test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from maas_lab.engine.model import Verdict, failed, passed, pending
from maas_lab.engine.registry import check
from maas_lab.evidence.sensitive import Sensitive
from maas_lab.evidence.snapshot import Snapshot
from maas_lab.lessons.common import normalise_url, parse_time, pods_of, rollout
from maas_lab.lessons.keys import (
    SPEND_HINT,
    _is_alias_of,
    is_live,
    litellm_keys,
    litemaas_keys,
    recently_created,
    successful_rows,
)
from maas_lab.lessons.l4_user import _key_check

PROVIDER_CONFIGMAPS = ("ogx-config", "llama-stack-config")  # the chart renamed it; older charts use the second
BACKEND_CONFIGMAP, BACKEND_CONFIG_KEY = "canopy-config", "canopy-config.yaml"
LLAMA_STACK_SERVICE = "llama-stack-service"
LLAMA_STACK_PORT = 8321
ENV_TOKEN = re.compile(r"^\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::[=+]?[^}]*)?\}$")
NOT_CANOPY_AGENTS = ("curl", "Mozilla", "maas-lab/")
OLD_SCHEMA_FEATURE = {"summarization": "summarize"}
ARGO_APPS = {"llama stack": ("ogx-test", "llama-stack-test"), "sealed secrets": ("sealed-secrets-test",)}


@dataclass(frozen=True)
class Provider:
    provider_id: str
    url: str
    token: Sensitive | None
    token_source: str  # "literal", "Secret <name>/<key>", or why it is missing


@dataclass(frozen=True)
class ProviderConfig:
    configmap: dict[str, Any]
    providers: list[Provider]
    match: Provider | None
    accepted: list[str]


# -- evidence derivations -------------------------------------------------------------------------------------


def _load_yaml(configmap: dict[str, Any], key: str) -> dict[str, Any] | str:
    text = (configmap.get("data") or {}).get(key)
    if text is None:
        return f"ConfigMap {configmap['metadata']['name']} has no key {key}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return f"{configmap['metadata']['name']}/{key} is not valid YAML"
    return data if isinstance(data, dict) else f"{configmap['metadata']['name']}/{key} is not a YAML mapping"


def last_write(obj: dict[str, Any]) -> datetime | None:
    """The last write of an object: newest managedFields time, else its creation."""
    meta = obj.get("metadata") or {}
    times = [parse_time(f.get("time")) for f in meta.get("managedFields") or []]
    known = [t for t in times if t is not None]
    return max(known) if known else parse_time(meta.get("creationTimestamp"))


def accepted_urls(snap: Snapshot) -> list[str]:
    """The student's LiteLLM `/v1`: its Route, or its in-cluster Service."""
    install = snap.require_install()
    namespace = snap.ns("maas")
    urls = []
    host = snap.route_host(install.litellm_route)
    if host is None and snap.domain_or_none:
        host = f"{install.litellm_route}-{namespace}.{snap.domain_or_none}"
    if host:
        urls.append(f"https://{host}/v1")
    urls += [f"http://{install.litellm}.{namespace}.svc:4000/v1", f"http://{install.litellm}.{namespace}.svc.cluster.local:4000/v1"]
    return urls


def _env_secret_ref(env: list[dict[str, Any]], variable: str) -> tuple[str, str] | None:
    for item in env or []:
        if item.get("name") == variable:
            ref = ((item.get("valueFrom") or {}).get("secretKeyRef")) or {}
            if ref.get("name") and ref.get("key"):
                return str(ref["name"]), str(ref["key"])
    return None


def llama_stack_env(snap: Snapshot, namespace: str) -> list[dict[str, Any]]:
    """Env of the Llama Stack server: from the LlamaStackDistribution, else the Deployment `llama-stack`."""
    env: list[dict[str, Any]] = []
    for lsd in snap.objects("llamastackdistributions", namespace):
        env += (((lsd.get("spec") or {}).get("server") or {}).get("containerSpec") or {}).get("env") or []
    deployment = snap.find("deployments", namespace, "llama-stack")
    for container in ((((deployment or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
        env += container.get("env") or []
    return env


def _resolve_token(snap: Snapshot, namespace: str, raw: Any) -> tuple[Sensitive | None, str]:
    if raw is None or str(raw).strip() == "":
        return None, "no api_token"
    text = str(raw).strip()
    found = ENV_TOKEN.match(text)
    if not found:
        snap.redactor.remember(text)
        return Sensitive(text), "literal"
    ref = _env_secret_ref(llama_stack_env(snap, namespace), found.group(1))
    if ref is None:
        return None, f"${{env.{found.group(1)}}} but the Llama Stack server has no {found.group(1)} from a Secret"
    values = snap.secret(namespace, ref[0])
    value = (values or {}).get(ref[1])
    if value is None:
        return None, f"Secret {ref[0]}/{ref[1]} not found"
    return value, f"Secret {ref[0]}/{ref[1]}"


def provider_config(snap: Snapshot, namespace: str) -> ProviderConfig | str:
    """The Llama Stack run config's `remote::vllm` providers, and the one that points at the student's LiteLLM."""
    configmap = next((c for n in PROVIDER_CONFIGMAPS if (c := snap.find("configmaps", namespace, n))), None)
    if configmap is None:
        return f"no Llama Stack config (ConfigMap {' or '.join(PROVIDER_CONFIGMAPS)}) in {namespace}"
    config = _load_yaml(configmap, "config.yaml")
    if isinstance(config, str):
        return config
    providers = []
    for item in ((config.get("providers") or {}).get("inference")) or []:
        if not isinstance(item, dict) or item.get("provider_type") != "remote::vllm":
            continue
        settings = item.get("config") or {}
        url = str(settings.get("base_url") or settings.get("url") or "")
        token, source = _resolve_token(snap, namespace, settings.get("api_token"))
        providers.append(Provider(str(item.get("provider_id") or ""), url, token, source))
    accepted = accepted_urls(snap)
    wanted = {normalise_url(u) for u in accepted}
    match = next((p for p in providers if normalise_url(p.url) in wanted), None)
    return ProviderConfig(configmap, providers, match, accepted)


def url_mistake(url: str, accepted: list[str]) -> str | None:
    """A hint for the classic hand-typed URL mistakes."""
    if ".apps." in url and url.count("apps.") > 1:
        return "the URL has `apps.` twice: <CLUSTER_DOMAIN> already starts with apps."
    if url and not normalise_url(url).endswith("/v1"):
        return "the URL must end with /v1"
    if url.startswith("http://") and ".svc" not in url:
        return "the Route URL starts with https://"
    return None


def matched_key(snap: Snapshot, token: Sensitive) -> dict[str, Any] | None:
    digest = token.sha256
    return next((k for k in litellm_keys(snap) if str(k.get("token")) == digest), None)


def _litemaas_twin(snap: Snapshot, litellm_key: dict[str, Any]) -> dict[str, Any] | None:
    alias = str(litellm_key.get("key_alias") or "")
    models = set(litellm_key.get("models") or [])
    candidates = [k for k in litemaas_keys(snap) if _is_alias_of(alias, str(k.get("name") or ""))]
    return next((k for k in candidates if set(k.get("models") or []) == models), candidates[0] if candidates else None)


def _provider(snap: Snapshot) -> ProviderConfig:
    found = provider_config(snap, snap.ns("canopy"))
    if isinstance(found, str) or found.match is None:
        raise RuntimeError("5.llamastack-provider passed but no provider matches")  # prerequisite guarantees it
    return found


# -- the checks --------------------------------------------------------------------------------------------


@check(
    "5.canopy-key",
    lesson_ref="step-1-create-the-canopy-key",
    hint="Subscribe to Llama-3.2-3B-Instruct-FP8 and create a key named canopy-experiments with that model.",
    evidence="LiteMaaS API keys",
    needs=("2.admin-login",),
)
def canopy_key(snap: Snapshot) -> Verdict:
    """Active key `canopy-experiments` with Llama-3.2-3B-Instruct-FP8.

    One key per application: Canopy's usage is tracked (and can be revoked) on its own.
    """
    return _key_check(snap, snap.profile.keys.canopy)


@check(
    "5.llamastack-provider",
    lesson_ref="step-2-point-llama-stack-at-litemaas",
    hint=(
        "Upgrade the Helm release llama-stack-operator-instance: add a model named Llama-3.2-3B-Instruct-FP8 with "
        "url https://litemaas-litellm-<USER_NAME>-maas.<CLUSTER_DOMAIN>/v1 and your canopy-experiments key as token."
    ),
    evidence="K8s ConfigMap ogx-config (or llama-stack-config) in {user}-canopy, + the Secret its token comes from",
    needs=("1.canopy-running",),
)
def llamastack_provider(snap: Snapshot) -> Verdict:
    """Canopy's Llama Stack has a `remote::vllm` provider pointing at your LiteLLM, with a token.

    Llama Stack is the only part of Canopy that holds the model endpoint and the key.
    """
    found = provider_config(snap, snap.ns("canopy"))
    if isinstance(found, str):
        return failed(found)
    urls = {p.provider_id: p.url for p in found.providers}
    if found.match is None:
        near = next((p for p in found.providers if "litellm" in p.url or "litemaas" in p.url), None)
        mistake = url_mistake(near.url, found.accepted) if near else None
        detail = f" ({near.provider_id} points at {near.url})" if near else ""
        return failed(
            f"no remote::vllm provider points at your LiteLLM{detail}; expected {found.accepted[0]}",
            hint=f"{mistake}; set the model's url to {found.accepted[0]}" if mistake else None,
            providers=urls,
        )
    match = found.match
    evidence = {"configmap": found.configmap["metadata"]["name"], "provider_id": match.provider_id, "url": match.url}
    if match.token is None:
        return failed(f"provider {match.provider_id} has no usable token: {match.token_source}", **evidence)
    return passed(
        f"provider {match.provider_id} → {match.url}, token from {match.token_source} ({match.token.fingerprint})",
        token=match.token.fingerprint,
        **evidence,
    )


@check(
    "5.token-is-student-key",
    lesson_ref="step-2-point-llama-stack-at-litemaas",
    hint="Use your own active canopy-experiments key as the provider token (create a new key if you revoked it), then restart Llama Stack.",
    evidence="K8s token (SHA-256 only) + LiteLLM /key/list + LiteMaaS keys",
    needs=("5.llamastack-provider", "2.admin-login"),
)
def token_is_student_key(snap: Snapshot) -> Verdict:
    """The provider token is one of your active LiteMaaS keys (compared by SHA-256, never shown).

    A classmate's key would charge them; a revoked key fails at the first request.
    """
    provider = _provider(snap).match
    assert provider is not None and provider.token is not None
    token = provider.token
    key = matched_key(snap, token)
    evidence = {"token": token.fingerprint}
    if key is None:
        return failed(f"the token {token.fingerprint} is none of your keys (another student's, deleted, or mistyped)", **evidence)
    alias = str(key.get("key_alias") or "")
    if not is_live(key, snap):
        return failed(f"the token is your key {alias}, but LiteLLM has it blocked or expired", **evidence)
    twin = _litemaas_twin(snap, key)
    if twin is not None and not twin.get("isActive", False):
        return failed(f"the token is your key {twin.get('name')}, but it is revoked in LiteMaaS", **evidence)
    name = twin.get("name") if twin else alias
    return passed(f"the token is your active key {name}", key_alias=alias, **evidence)


def _backend_config(snap: Snapshot) -> dict[str, Any] | str:
    namespace = snap.ns("canopy")
    configmap = snap.find("configmaps", namespace, BACKEND_CONFIGMAP)
    if configmap is None:
        return f"ConfigMap {BACKEND_CONFIGMAP} not found in {namespace}"
    return _load_yaml(configmap, BACKEND_CONFIG_KEY)


def _is_llama_stack(url: str, namespace: str, *, with_v1: bool) -> bool:
    suffix = "/v1" if with_v1 else ""
    hosts = (LLAMA_STACK_SERVICE, f"{LLAMA_STACK_SERVICE}.{namespace}", f"{LLAMA_STACK_SERVICE}.{namespace}.svc")
    wanted = {normalise_url(f"http://{h}:{LLAMA_STACK_PORT}{suffix}") for h in hosts}
    return normalise_url(url) in wanted


@check(
    "5.backend-model",
    lesson_ref="step-3-switch-the-canopy-backend-model",
    hint="Upgrade the canopy-backend release: every enabled feature's model must be vllm-<provider>/Llama-3.2-3B-Instruct-FP8 and its endpoint http://llama-stack-service:8321/v1.",
    evidence="K8s ConfigMap canopy-config",
    needs=("5.llamastack-provider",),
)
def backend_model(snap: Snapshot) -> Verdict:
    """The Canopy backend's enabled features use the MaaS model through Llama Stack.

    The backend names models as Llama Stack sees them: `vllm-<provider>/<model>`.
    """
    provider = _provider(snap).match
    assert provider is not None
    config = _backend_config(snap)
    if isinstance(config, str):
        return failed(config)
    namespace = snap.ns("canopy")
    expected = f"{provider.provider_id}/{snap.profile.canopy.model}"
    current = "summarization" in config or "LLAMA_STACK_URL" not in config
    problems: list[str] = []
    enabled: list[str] = []
    for feature in snap.profile.canopy.features:
        key = feature if current else OLD_SCHEMA_FEATURE.get(feature, feature)
        section = config.get(key)
        if not isinstance(section, dict) or not section.get("enabled", False):
            continue
        enabled.append(key)
        model = str(section.get("model") or "")
        if model != expected:
            if model == snap.profile.canopy.model or "/" not in model:
                problems.append(f"{key}.model is {model or '(none)'}: Llama Stack names it {expected}")
            else:
                problems.append(f"{key}.model is {model}, expected {expected}")
        if current and not _is_llama_stack(str(section.get("endpoint") or ""), namespace, with_v1=True):
            problems.append(f"{key}.endpoint is {section.get('endpoint') or '(none)'}, not Llama Stack (http://{LLAMA_STACK_SERVICE}:{LLAMA_STACK_PORT}/v1)")
    if not current and not _is_llama_stack(str(config.get("LLAMA_STACK_URL") or ""), namespace, with_v1=False) and not _is_llama_stack(
        str(config.get("LLAMA_STACK_URL") or ""), namespace, with_v1=True
    ):
        problems.append(f"LLAMA_STACK_URL is {config.get('LLAMA_STACK_URL')}, not Llama Stack")
    schema = "current" if current else "older"
    if not enabled:
        return failed(f"no feature among {', '.join(snap.profile.canopy.features)} is enabled ({schema} schema)")
    if problems:
        return failed("; ".join(problems), schema=schema, features=enabled)
    return passed(f"{', '.join(enabled)} use {expected} through Llama Stack ({schema} schema)", schema=schema, model=expected)


def _started_after(snap: Snapshot, deployment: str, configmap: dict[str, Any]) -> Verdict:
    namespace = snap.ns("canopy")
    state = rollout(snap, "Deployment", namespace, deployment, what=deployment)
    if not state.passed:
        return state
    written = last_write(configmap)
    workload = snap.find("deployments", namespace, deployment) or {}
    pods = [p for p in pods_of(snap, workload, namespace) if not (p.get("metadata") or {}).get("deletionTimestamp")]
    starts = [parse_time((p.get("status") or {}).get("startTime") or p["metadata"].get("creationTimestamp")) for p in pods]
    stale = [p["metadata"]["name"] for p, s in zip(pods, starts) if written and s and s < written]
    if stale:
        return failed(
            f"{deployment} pods started before {configmap['metadata']['name']} was last changed: {', '.join(stale)}",
            hint=f"Restart it: oc rollout restart deployment/{deployment} -n {namespace}",
        )
    return passed(f"{deployment} runs the current configuration")


@check(
    "5.rolled-out",
    lesson_ref="step-4-roll-out-and-test",
    hint="Restart both: oc rollout restart deployment/llama-stack deployment/canopy-backend -n <USER_NAME>-canopy",
    evidence="K8s pods of llama-stack and canopy-backend vs their ConfigMaps' last write",
    needs=("5.llamastack-provider", "5.backend-model"),
)
def rolled_out(snap: Snapshot) -> Verdict:
    """Llama Stack and the Canopy backend are ready and run the current configuration.

    A ConfigMap change reaches a running pod only after a restart.
    """
    namespace = snap.ns("canopy")
    provider = _provider(snap)
    backend_cm = snap.find("configmaps", namespace, BACKEND_CONFIGMAP) or {"metadata": {"name": BACKEND_CONFIGMAP}}
    verdicts = [_started_after(snap, "llama-stack", provider.configmap), _started_after(snap, "canopy-backend", backend_cm)]
    for verdict in verdicts:
        if not verdict.passed:
            return verdict
    return passed("llama-stack and canopy-backend run the current configuration")


@check(
    "5.traffic-through-maas",
    lesson_ref="step-4-roll-out-and-test",
    hint="Use Canopy (e.g. summarise a text in the Canopy UI) so that it calls the model through LiteMaaS. " + SPEND_HINT,
    evidence="LiteLLM /spend/logs of the Canopy key",
    needs=("5.token-is-student-key",),
)
def traffic_through_maas(snap: Snapshot) -> Verdict:
    """Canopy's key has successful requests on the MaaS model since the change.

    Spend on the Canopy key, from Canopy itself (not curl or a browser), proves the integration end to end.
    """
    provider = _provider(snap).match
    assert provider is not None and provider.token is not None
    key = matched_key(snap, provider.token)
    token = str((key or {}).get("token") or "")
    since = last_write(_provider(snap).configmap)
    model = snap.profile.canopy.model
    rows = []
    for row in successful_rows(snap, tokens={token}):
        tags = " ".join(str(t) for t in row.get("request_tags") or [])
        started = parse_time(row.get("startTime"))
        if row.get("model_group") != model or any(agent in tags for agent in NOT_CANOPY_AGENTS):
            continue
        if since and started and started < since:
            continue
        rows.append(row)
    if rows:
        return passed(f"{len(rows)} successful request(s) from Canopy on {model}", requests=len(rows))
    if recently_created(snap, key):
        return pending("no Canopy traffic recorded yet (the key is less than 2 minutes old)", SPEND_HINT)
    return failed(f"no successful request from Canopy on {model} since the Llama Stack config changed")


@check(
    "5.gitops-test",
    lesson_ref="step-5-take-it-to-test-with-gitops",
    hint="Seal the Secret llama-fp8-maas-token (key api_token) for <USER_NAME>-test, commit the sealed-secrets and ogx configs, and let Argo CD sync.",
    evidence="K8s Secret + LlamaStackDistribution in {user}-test; Argo CD Applications in {user}-toolings",
    needs=("2.admin-login",),
    required=False,
)
def gitops_test(snap: Snapshot) -> Verdict:
    """The test environment gets the key through GitOps: sealed Secret, Llama Stack wired, Argo CD synced.

    In test and prod nothing is edited by hand: Git is the source of truth, and the key travels sealed.
    """
    gitops = snap.profile.gitops
    test_ns, toolings_ns = snap.ns("test"), snap.ns("toolings")
    for app_names in ARGO_APPS.values():
        app = next((a for n in app_names if (a := snap.find("applications", toolings_ns, n))), None)
        if app is None:
            return failed(f"no Argo CD Application {' or '.join(app_names)} in {toolings_ns}")
        status = app.get("status") or {}
        sync = (status.get("sync") or {}).get("status")
        health = (status.get("health") or {}).get("status")
        message = str(((status.get("operationState") or {}).get("message")) or "")
        conditions = " ".join(str(c.get("message") or "") for c in status.get("conditions") or [])
        if re.search(r"\beval\b", message + " " + conditions):
            return failed(f"{app['metadata']['name']} cannot sync: {message or conditions}"[:300], hint="Remove `eval:` from the values (canopy/test/ogx/config.yaml): the chart no longer accepts it.")
        if sync != "Synced" or health != "Healthy":
            return failed(f"Argo CD app {app['metadata']['name']} is {sync or 'unknown'}/{health or 'unknown'}, not Synced/Healthy")
    values = snap.secret(test_ns, gitops.secret)
    token = (values or {}).get(gitops.key)
    if token is None:
        return failed(f"Secret {gitops.secret} (key {gitops.key}) not found in {test_ns}")
    key = matched_key(snap, token)
    if key is None or not is_live(key, snap):
        return failed(f"Secret {gitops.secret} holds {token.fingerprint}, which is none of your active keys")
    ref = _env_secret_ref(llama_stack_env(snap, test_ns), "API_TOKEN")
    if ref != (gitops.secret, gitops.key):
        return failed(f"the Llama Stack in {test_ns} does not take API_TOKEN from {gitops.secret}/{gitops.key}")
    return passed(f"test environment wired through GitOps with your key {token.fingerprint}", token=token.fingerprint)

