"""Lesson 5 — Canopy integration: Llama Stack and the Canopy backend re-pointed at LiteMaaS, then GitOps to test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from maas_lab.engine.model import PrerequisiteMissing, Status, StudentWorkMissing, Verdict, failed, passed, pending
from maas_lab.engine.registry import check
from maas_lab.evidence.canopy import (
    BACKEND_CONFIGMAP,
    LITELLM_PORT,
    LLAMA_STACK_URL,
    ConfigProblem,
    ProviderConfig,
    backend_config,
    env_secret_ref,
    is_current_schema,
    is_llama_stack,
    last_write,
    llama_stack_env,
    provider_config,
    user_config,
)
from maas_lab.evidence.values import normalise_url, parse_time
from maas_lab.lessons.common import maas_install, pods_of, rollout
from maas_lab.lessons.keys import (
    SPEND_HINT,
    is_alias_of,
    is_live,
    key_verdict,
    litellm_keys,
    litemaas_keys,
    recently_created,
    successful_rows,
)

if TYPE_CHECKING:
    from maas_lab.evidence.sensitive import Sensitive
    from maas_lab.evidence.snapshot import Snapshot

NOT_CANOPY_AGENTS = ("curl", "Mozilla", "maas-lab/")
OLD_SCHEMA_FEATURE = {"summarization": "summarize"}
ARGO_APPS = {"llama stack": ("ogx-test", "llama-stack-test"), "sealed secrets": ("sealed-secrets-test",)}


# -- evidence derivations -------------------------------------------------------------------------------------


def _providers(snap: Snapshot) -> ProviderConfig:
    """The Llama Stack providers of {user}-canopy; a config the student broke fails the check asking."""
    maas_install(snap)  # the provider must point at the student's LiteLLM: without it, nothing to compare with
    try:
        return provider_config(snap, snap.ns("canopy"))
    except ConfigProblem as problem:
        raise StudentWorkMissing(str(problem)) from None


def _host(url: str) -> str:
    text = url.strip()
    return urlsplit(text if "://" in text else f"//{text}").netloc.lower()


def _other_namespace(host: str, accepted: list[str], maas_namespace: str | None) -> str | None:
    """The namespace of another student's LiteLLM when `host` names one (Route or Service form)."""
    if not maas_namespace:
        return None
    labels = host.partition(":")[0].split(".")
    if labels[0] == maas_namespace or labels[0].endswith(f"-{maas_namespace}") or labels[1:2] == [maas_namespace]:
        return None  # the student's own namespace
    if len(labels) >= 3 and labels[2] == "svc" and labels[1].endswith("-maas"):
        return labels[1]
    for url in accepted:
        ours = _host(url).partition(".")[0]
        route = ours.removesuffix(f"-{maas_namespace}")
        if url.startswith("https://") and route != ours and labels[0].startswith(f"{route}-") and labels[0].endswith("-maas"):
            return labels[0][len(route) + 1 :]
    return None


def url_mistake(url: str, accepted: list[str], *, maas_namespace: str | None = None) -> str | None:
    """A hint for the classic hand-typed URL mistakes."""
    host = _host(url)
    if ".apps.apps." in host:
        return "the URL has `apps.` twice: <CLUSTER_DOMAIN> already starts with apps."
    other = _other_namespace(host, accepted, maas_namespace)
    if other:
        return f"the URL points at the LiteLLM of {other}, not at yours in {maas_namespace}"
    hostname, _, port = host.partition(":")
    if hostname.endswith((".svc", ".svc.cluster.local")) and port != str(LITELLM_PORT):
        return f"the in-cluster Service URL needs LiteLLM's port :{LITELLM_PORT}"
    if url and not normalise_url(url).endswith("/v1"):
        return "the URL must end with /v1"
    if url.startswith("http://") and ".svc" not in url:
        return "the Route URL starts with https://"
    return None


def matched_key(snap: Snapshot, token: Sensitive) -> dict[str, Any] | None:
    digest = token.sha256
    return next((k for k in litellm_keys(snap) if str(k.get("token")) == digest), None)


def _litemaas_twin(snap: Snapshot, litellm_key: dict[str, Any], token: Sensitive) -> dict[str, Any] | None:
    """The LiteMaaS row of a LiteLLM key. LiteMaaS lists no hash, so among the keys of that name (a revoked key and
    its re-created successor share it) prefer the one whose 7-character `keyPrefix` starts the token, then the
    same models, then the nearest creation time."""
    alias = str(litellm_key.get("key_alias") or "")
    models = set(litellm_key.get("models") or [])
    created = parse_time(litellm_key.get("created_at"))
    prefix = token.reveal()[:7]

    def rank(key: dict[str, Any]) -> tuple[bool, bool, float]:
        when = parse_time(key.get("createdAt"))
        distance = abs((when - created).total_seconds()) if when and created else float("inf")
        return key.get("keyPrefix") != prefix, set(key.get("models") or []) != models, distance

    candidates = [k for k in litemaas_keys(snap) if is_alias_of(alias, str(k.get("name") or ""))]
    return min(candidates, key=rank) if candidates else None


@dataclass(frozen=True)
class KeyState:
    """Whose key a token is: the LiteLLM key (None: not the student's), its LiteMaaS row, and what is wrong
    (a predicate: "is none of your keys …", to follow the token's fingerprint; never the token itself)."""

    litellm: dict[str, Any] | None
    litemaas: dict[str, Any] | None
    problem: str | None

    @property
    def name(self) -> str:
        # A key made in LiteLLM directly may have no alias; say so rather than leave a gap in the sentence.
        return str((self.litemaas or {}).get("name") or (self.litellm or {}).get("key_alias") or "without an alias")


def key_state(snap: Snapshot, token: Sensitive) -> KeyState:
    """The token compared by SHA-256 with the student's keys: active in LiteMaaS, neither blocked nor expired in LiteLLM."""
    key = matched_key(snap, token)
    if key is None:
        return KeyState(None, None, "is none of your keys (another student's, deleted, or mistyped)")
    twin = _litemaas_twin(snap, key, token)
    name = KeyState(key, twin, None).name
    if twin is not None and not twin.get("isActive", False):
        return KeyState(key, twin, f"is your key {name}, but it is revoked in LiteMaaS")
    if key.get("blocked"):
        return KeyState(key, twin, f"is your key {name}, but LiteLLM has it blocked")
    if not is_live(key, snap):
        return KeyState(key, twin, f"is your key {name}, but it expired on {key.get('expires')}")
    return KeyState(key, twin, None)


def _matched_token(snap: Snapshot) -> tuple[ProviderConfig, Sensitive]:
    """The provider config and the token of the provider that points at LiteLLM (5.llamastack-provider passed)."""
    found = _providers(snap)
    if found.match is None or found.match.token is None:
        raise PrerequisiteMissing("5.llamastack-provider", "no provider with a token points at your LiteLLM")
    return found, found.match.token


# -- the checks --------------------------------------------------------------------------------------------


def canopy_key(snap: Snapshot) -> Verdict:
    """Active key `{canopy_key}` with {canopy_key_models}.

    One key per application: Canopy's usage is tracked (and can be revoked) on its own.
    """
    return key_verdict(snap, snap.profile.keys.canopy)


check(
    "5.canopy-key",
    lesson_ref="step-1-create-the-canopy-key",
    hint="Subscribe to {canopy_key_models} and create a key named {canopy_key} with that model.",
    evidence="LiteMaaS API keys",
    needs=("2.admin-login",),
)(canopy_key)


def llamastack_provider(snap: Snapshot) -> Verdict:
    """Canopy's Llama Stack has a `remote::vllm` provider pointing at your LiteLLM, with a token.

    Llama Stack is the only part of Canopy that holds the model endpoint and the key.
    """
    found = _providers(snap)
    urls = {p.provider_id: p.url for p in found.providers}
    if found.match is None:
        near = next((p for p in found.providers if "litellm" in p.url or "litemaas" in p.url), None)
        mistake = url_mistake(near.url, found.accepted, maas_namespace=snap.ns("maas")) if near else None
        detail = f" ({near.provider_id} points at {near.url})" if near else ""
        fix = f"set the model's url to {found.accepted[0]} in the Helm release llama-stack-operator-instance"
        if near is None:
            fix = (
                f"Upgrade the Helm release llama-stack-operator-instance: add a model named {snap.profile.canopy.model} with url "
                f"{found.accepted[0]} and your {snap.profile.keys.canopy.name} key as token"
            )
        return failed(
            f"no remote::vllm provider points at your LiteLLM{detail}; expected {found.accepted[0]}",
            hint=f"{mistake[0].upper()}{mistake[1:]}; {fix}." if mistake else f"{fix[0].upper()}{fix[1:]}.",
            providers=urls,
        )
    match = found.match
    evidence = {"configmap": found.name, "provider_id": match.provider_id, "url": match.url}
    if match.token is None:
        return failed(f"provider {match.provider_id} has no usable token: {match.token_source}", hint=match.token_hint, **evidence)
    return passed(
        f"provider {match.provider_id} in ConfigMap {evidence['configmap']} → {match.url}, "
        f"token from {match.token_source} ({match.token.fingerprint})",
        token=match.token.fingerprint,
        **evidence,
    )


check(
    "5.llamastack-provider",
    lesson_ref="step-2-point-llama-stack-at-litemaas",
    hint=(
        "Upgrade the Helm release llama-stack-operator-instance: add a model named {canopy_model} with "
        "url https://litemaas-litellm-<USER_NAME>-maas.<CLUSTER_DOMAIN>/v1 and your {canopy_key} key as token."
    ),
    evidence="K8s ConfigMap ogx-config (or llama-stack-config) in {user}-canopy, + the Secret its token comes from",
    needs=("1.canopy-running",),
)(llamastack_provider)


def token_is_student_key(snap: Snapshot) -> Verdict:
    """The provider token is one of your active LiteMaaS keys (compared by SHA-256, never shown).

    A classmate's key would charge them; a revoked key fails at the first request.
    """
    _found, token = _matched_token(snap)
    state = key_state(snap, token)
    evidence = {"token": token.fingerprint}
    if state.problem:
        return failed(f"the token {token.fingerprint} {state.problem}", **evidence)
    alias = str((state.litellm or {}).get("key_alias") or "")
    return passed(f"the token is your active key {state.name}", key_alias=alias, **evidence)


check(
    "5.token-is-student-key",
    lesson_ref="step-2-point-llama-stack-at-litemaas",
    hint="Use your own active {canopy_key} key as the provider token (create a new key if you revoked it), then restart Llama Stack.",
    evidence="K8s token (SHA-256 only) + LiteLLM /key/list + LiteMaaS keys",
    needs=("5.llamastack-provider", "2.admin-login"),
)(token_is_student_key)


def backend_model(snap: Snapshot) -> Verdict:
    """The Canopy backend's enabled features use the MaaS model through Llama Stack.

    The backend names models as Llama Stack sees them: `vllm-<provider>/<model>`.
    """
    provider = _providers(snap).match
    if provider is None:
        raise PrerequisiteMissing("5.llamastack-provider", "no provider points at your LiteLLM")
    namespace = snap.ns("canopy")
    try:
        config = backend_config(snap, namespace)
    except ConfigProblem as problem:
        return failed(str(problem))
    model = snap.profile.canopy.model
    expected = f"{provider.provider_id}/{model}"
    current = is_current_schema(config)
    schema = "current" if current else "older"
    # (field, value it has, why it is wrong) -> the features that share that mistake, so each is said once
    found: dict[tuple[str, str, str], list[str]] = {}
    enabled: list[str] = []
    wrong_model: list[str] = []
    wrong_endpoint: list[str] = []
    for feature in snap.profile.canopy.features:
        key = feature if current else OLD_SCHEMA_FEATURE.get(feature, feature)
        section = config.get(key)
        if not isinstance(section, dict) or not section.get("enabled", False):
            continue
        enabled.append(key)
        used = str(section.get("model") or "")
        if used != expected:
            wrong_model.append(key)
            if used == model or "/" not in used:
                why = f"Llama Stack names it {expected}"
            elif used.endswith(f"/{model}"):
                why = f"{used.split('/')[0]} is not the provider that points at LiteMaaS ({expected})"
            else:
                why = f"expected {expected}"
            found.setdefault(("model", used, why), []).append(key)
        endpoint = str(section.get("endpoint") or "")
        if current and not is_llama_stack(endpoint, namespace, with_v1=True):
            wrong_endpoint.append(key)
            found.setdefault(("endpoint", endpoint, f"not Llama Stack ({LLAMA_STACK_URL}/v1)"), []).append(key)
    problems = [
        f"{', '.join(f'{k}.{field}' for k in keys)} {'is' if len(keys) == 1 else 'are'} {value or '(none)'}: {why}"
        for (field, value, why), keys in found.items()
    ]
    stack_url = str(config.get("LLAMA_STACK_URL") or "")
    stack_url_wrong = not current and not any(is_llama_stack(stack_url, namespace, with_v1=v1) for v1 in (False, True))
    if stack_url_wrong:
        problems.append(f"LLAMA_STACK_URL is {stack_url or 'not set'}: not Llama Stack ({LLAMA_STACK_URL})")
    if not enabled:
        return failed(f"no feature among {', '.join(snap.profile.canopy.features)} is enabled ({schema} schema)", schema=schema)
    if problems:
        hint = _backend_hint(wrong_model, wrong_endpoint, stack_url_wrong, expected)
        return failed("; ".join(problems), hint=hint, schema=schema, features=enabled)
    return passed(f"{', '.join(enabled)} use {expected} through Llama Stack ({schema} schema)", schema=schema, model=expected)


check(
    "5.backend-model",
    lesson_ref="step-3-switch-the-canopy-backend-model",
    hint=(
        "Upgrade the canopy-backend release: every enabled feature's model must be vllm-<provider>/{canopy_model} "
        "and its endpoint http://llama-stack-service:8321/v1."
    ),
    evidence="K8s ConfigMap canopy-config",
    needs=("5.llamastack-provider",),
)(backend_model)


def _backend_hint(wrong_model: list[str], wrong_endpoint: list[str], stack_url_wrong: bool, expected: str) -> str:
    """What to change in the canopy-backend values, feature by feature."""
    changes = []
    if wrong_model:
        fields = ", ".join(f"{k}.model" for k in wrong_model)
        changes.append(f"set {fields} to {expected} (Llama Stack names each model vllm-<provider>/<model>)")
    if wrong_endpoint:
        fields = ", ".join(f"{k}.endpoint" for k in wrong_endpoint)
        changes.append(f"set {fields} to {LLAMA_STACK_URL}/v1: the backend holds no key, only Llama Stack can reach LiteMaaS")
    if stack_url_wrong:
        changes.append(f"set LLAMA_STACK_URL to {LLAMA_STACK_URL}")
    return "Upgrade the canopy-backend release: " + "; ".join(changes) + "."


def _llama_stack_deployment(snap: Snapshot, configmap: str) -> str:
    """The operator names the Deployment after the LlamaStackDistribution that uses this config (normally llama-stack)."""
    for lsd in snap.objects("llamastackdistributions", snap.ns("canopy")):
        if user_config(lsd) == configmap:
            return str(lsd["metadata"]["name"])
    return "llama-stack"


def _stale_pods(snap: Snapshot, deployment: str, configmap: dict[str, Any]) -> list[str]:
    """Pods of `deployment` that started before `configmap`'s last write: they still run the old configuration."""
    namespace = snap.ns("canopy")
    written = last_write(configmap)
    workload = snap.find("deployments", namespace, deployment) or {}
    pods = [p for p in pods_of(snap, workload, namespace) if not (p.get("metadata") or {}).get("deletionTimestamp")]
    stale = []
    for pod in pods:
        started = parse_time((pod.get("status") or {}).get("startTime") or pod["metadata"].get("creationTimestamp"))
        if written and started and started < written:
            stale.append(pod["metadata"]["name"])
    return stale


def rolled_out(snap: Snapshot) -> Verdict:
    """Llama Stack and the Canopy backend are ready and run the current configuration.

    A ConfigMap change reaches a running pod only after a restart.
    """
    namespace = snap.ns("canopy")
    provider = _providers(snap)
    backend_cm = snap.find("configmaps", namespace, BACKEND_CONFIGMAP) or {"metadata": {"name": BACKEND_CONFIGMAP}}
    targets = [(_llama_stack_deployment(snap, provider.name), provider.configmap), ("canopy-backend", backend_cm)]
    states = [rollout(snap, "Deployment", namespace, name, what=name) for name, _cm in targets]
    # A broken workload outranks one still converging: pending only when nothing has failed.
    for wanted in (Status.FAIL, Status.ERROR, Status.PENDING):
        blocking = next((v for v in states if v.status is wanted), None)
        if blocking is not None:
            return blocking
    stale = {name: (cm["metadata"]["name"], pods) for name, cm in targets if (pods := _stale_pods(snap, name, cm))}
    if stale:
        detail = "; ".join(f"{name} pods started before {cm} was last changed: {', '.join(pods)}" for name, (cm, pods) in stale.items())
        deployments = " ".join(f"deployment/{name}" for name in stale)
        hint = f"Restart to load the new configuration: oc rollout restart {deployments} -n {namespace}"
        return failed(detail, hint=hint, stale=list(stale))
    return passed(f"{' and '.join(name for name, _cm in targets)} run the current configuration")


check(
    "5.rolled-out",
    lesson_ref="step-4-roll-out-and-test",
    hint="Restart both: oc rollout restart deployment/llama-stack deployment/canopy-backend -n <USER_NAME>-canopy",
    evidence="K8s pods of llama-stack and canopy-backend vs their ConfigMaps' last write",
    needs=("5.llamastack-provider", "5.backend-model"),
)(rolled_out)


def traffic_through_maas(snap: Snapshot) -> Verdict:
    """Canopy's key has successful requests on the MaaS model since the change.

    Spend on the Canopy key, from Canopy itself (not curl or a browser), proves the integration end to end.
    """
    provider, token_value = _matched_token(snap)
    key = matched_key(snap, token_value)
    token = str((key or {}).get("token") or "")
    since = last_write(provider.configmap)
    model = snap.profile.canopy.model
    all_rows = successful_rows(snap, tokens={token})
    canopy_rows: list[dict[str, Any]] = []
    other_clients: list[dict[str, Any]] = []
    for row in all_rows:
        tags = " ".join(str(t) for t in row.get("request_tags") or [])
        started = parse_time(row.get("startTime"))
        if row.get("model_group") != model or (since and started and started < since):
            continue
        (other_clients if any(agent in tags for agent in NOT_CANOPY_AGENTS) else canopy_rows).append(row)
    if canopy_rows:
        return passed(f"{len(canopy_rows)} successful request(s) from Canopy on {model}", requests=len(canopy_rows))
    if not all_rows and recently_created(snap, key):
        return pending("no traffic recorded yet on the Canopy key (it is less than 2 minutes old)", SPEND_HINT)
    changed = f" ({since.astimezone(UTC):%Y-%m-%d %H:%M} UTC)" if since else ""
    message = f"no successful request from Canopy on {model} since the Llama Stack config changed{changed}"
    if other_clients:
        message += f"; the {len(other_clients)} since then came from curl or a browser, which do not go through Canopy"
    return failed(message, other_clients=len(other_clients))


check(
    "5.traffic-through-maas",
    lesson_ref="step-4-roll-out-and-test",
    hint="Use Canopy (e.g. summarise a text in the Canopy UI) so that it calls the model through LiteMaaS. " + SPEND_HINT,
    evidence="LiteLLM /spend/logs of the Canopy key",
    needs=("5.token-is-student-key",),
)(traffic_through_maas)


def _values_file(app: str) -> str:
    """The GitOps values file an Argo CD app of the test appset renders (`<folder>-test` ← canopy/test/<folder>/config.yaml)."""
    return f"canopy/test/{app.removesuffix('-test')}/config.yaml"


def gitops_test(snap: Snapshot) -> Verdict:
    """The test environment gets the key through GitOps: sealed Secret, Llama Stack wired, Argo CD synced.

    In test and prod nothing is edited by hand: Git is the source of truth, and the key travels sealed.
    """
    gitops = snap.profile.gitops
    test_ns, toolings_ns = snap.ns("test"), snap.ns("toolings")
    names: dict[str, str] = {}  # role -> the app's name (the Llama Stack app was renamed ogx-test)
    for role, app_names in ARGO_APPS.items():
        app = next((a for n in app_names if (a := snap.find("applications", toolings_ns, n))), None)
        if app is None:
            return failed(f"no Argo CD Application {' or '.join(app_names)} in {toolings_ns}")
        name = names[role] = str(app["metadata"]["name"])
        status = app.get("status") or {}
        sync = (status.get("sync") or {}).get("status")
        health = (status.get("health") or {}).get("status")
        if sync == "Synced" and health == "Healthy":
            continue  # a healthy app may still carry an old error in its history
        operation = status.get("operationState") or {}
        # The last sync's message explains nothing once it succeeded ("successfully synced"); failing or retrying, it does.
        message = str(operation.get("message") or "") if operation.get("phase") != "Succeeded" else ""
        conditions = " ".join(str(c.get("message") or "") for c in status.get("conditions") or [])
        why = message or conditions
        if re.search(r"\beval\b", f"{message} {conditions}"):
            return failed(
                f"{name} cannot sync: {why}"[:300],
                hint=f"Remove `eval:` from the values ({_values_file(name)}): the chart no longer accepts it; commit, and let Argo CD "
                "sync.",
            )
        detail = f": {why}"[:200] if why else ""
        if health == "Progressing" or operation.get("phase") == "Running":  # converging: retry, not wrong
            return pending(f"Argo CD app {name} is still syncing ({sync or 'unknown'}/{health or 'unknown'})")
        return failed(
            f"Argo CD app {name} is {sync or 'unknown'}/{health or 'unknown'}, not Synced/Healthy{detail}",
            hint=f"Open {name} in the Argo CD of {toolings_ns} to see what fails, fix {_values_file(name)} in Git, and let it sync.",
        )
    values = snap.secret(test_ns, gitops.secret)
    token = (values or {}).get(gitops.key)
    if token is None:
        return failed(f"Secret {gitops.secret} (key {gitops.key}) not found in {test_ns}")
    state = key_state(snap, token)
    if state.problem:
        return failed(
            f"Secret {gitops.secret} holds {token.fingerprint}, which {state.problem}",
            hint=f"Seal your own active {snap.profile.keys.canopy.name} key as {gitops.secret} (key {gitops.key}) for {test_ns}, "
            "commit it, and let Argo CD sync.",
        )
    ref = env_secret_ref(llama_stack_env(snap, test_ns), "API_TOKEN")
    if ref != (gitops.secret, gitops.key):
        source = f"from {ref[0]}/{ref[1]}" if ref else "from no Secret"
        return failed(
            f"the Llama Stack in {test_ns} takes API_TOKEN {source}, not from {gitops.secret}/{gitops.key}",
            hint=f"Add sealed_secrets: {{enabled: true, secretName: {gitops.secret}}} to {_values_file(names['llama stack'])}, "
            "commit, and let Argo CD sync.",
        )
    return passed(f"test environment wired through GitOps with your key {token.fingerprint}", token=token.fingerprint)


check(
    "5.gitops-test",
    lesson_ref="step-5-take-it-to-test-with-gitops",
    hint=(
        "Seal the Secret {gitops_secret} (key {gitops_key}) for <USER_NAME>-test, commit the sealed-secrets and ogx configs, "
        "and let Argo CD sync."
    ),
    evidence="K8s Secret + LlamaStackDistribution in {user}-test; Argo CD Applications in {user}-toolings",
    needs=("2.admin-login",),
    required=False,
)(gitops_test)
