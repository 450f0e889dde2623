"""Canopy's configuration as evidence: the Llama Stack run config and the canopy-backend config, parsed from
the student's ConfigMaps. Any YAML shape is accepted; what does not fit becomes a `ConfigProblem` (the student's
side), never an exception of the grader."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from maas_lab.evidence.sensitive import Sensitive
from maas_lab.evidence.values import normalise_url, parse_time

if TYPE_CHECKING:
    from maas_lab.evidence.snapshot import Snapshot

PROVIDER_CONFIGMAPS = ("ogx-config", "llama-stack-config")  # the chart renamed it; older charts use the second
PROVIDER_CONFIG_KEY = "config.yaml"
BACKEND_CONFIGMAP, BACKEND_CONFIG_KEY = "canopy-config", "canopy-config.yaml"
LLAMA_STACK_SERVICE = "llama-stack-service"
LLAMA_STACK_PORT = 8321
LLAMA_STACK_URL = f"http://{LLAMA_STACK_SERVICE}:{LLAMA_STACK_PORT}"
LITELLM_PORT = 4000
ENV_TOKEN = re.compile(r"^\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::[=+]?[^}]*)?\}$")
OLD_SCHEMA_MARKERS = ("summarize", "LLAMA_STACK_URL")


class ConfigProblem(Exception):
    """A ConfigMap the student wrote is missing or does not have the shape Canopy reads."""


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else empty: YAML the student wrote may hold anything anywhere."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _name(obj: dict[str, Any]) -> str:
    return str(mapping(obj.get("metadata")).get("name") or "")


@dataclass(frozen=True)
class Provider:
    provider_id: str
    url: str
    token: Sensitive | None
    token_source: str  # "literal", "Secret <name>/<key>", or why it is missing
    token_hint: str | None = None  # what to change when the token cannot be resolved


@dataclass(frozen=True)
class ProviderConfig:
    configmap: dict[str, Any]
    providers: list[Provider]
    match: Provider | None
    accepted: list[str]

    @property
    def name(self) -> str:
        return _name(self.configmap)


def load_yaml(configmap: dict[str, Any], key: str) -> dict[str, Any]:
    """The mapping stored under `key` of a ConfigMap; raises ConfigProblem for anything else."""
    import yaml

    name = _name(configmap)
    text = mapping(configmap.get("data")).get(key)
    if text is None:
        raise ConfigProblem(f"ConfigMap {name} has no key {key}")
    try:
        data = yaml.safe_load(str(text))
    except yaml.YAMLError:
        raise ConfigProblem(f"{name}/{key} is not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigProblem(f"{name}/{key} is not a YAML mapping")
    return data


def last_write(obj: dict[str, Any]) -> datetime | None:
    """The last write of an object: newest managedFields time, else its creation."""
    meta = mapping(obj.get("metadata"))
    known = [t for f in sequence(meta.get("managedFields")) if (t := parse_time(mapping(f).get("time"))) is not None]
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
    service = f"{install.litellm}.{namespace}"
    urls += [f"http://{service}.svc:{LITELLM_PORT}/v1", f"http://{service}.svc.cluster.local:{LITELLM_PORT}/v1"]
    return urls


def env_secret_ref(env: list[Any], variable: str) -> tuple[str, str] | None:
    """The (Secret, key) an env variable takes its value from, if any."""
    for item in env:
        item = mapping(item)
        if item.get("name") == variable:
            ref = mapping(mapping(item.get("valueFrom")).get("secretKeyRef"))
            if ref.get("name") and ref.get("key"):
                return str(ref["name"]), str(ref["key"])
    return None


def llama_stack_env(snap: Snapshot, namespace: str) -> list[Any]:
    """Env of the Llama Stack server: from the LlamaStackDistribution, else the Deployment `llama-stack`."""
    env: list[Any] = []
    for lsd in snap.objects("llamastackdistributions", namespace):
        env += sequence(mapping(mapping(mapping(lsd.get("spec")).get("server")).get("containerSpec")).get("env"))
    deployment = mapping(snap.find("deployments", namespace, "llama-stack"))
    for container in sequence(mapping(mapping(mapping(deployment.get("spec")).get("template")).get("spec")).get("containers")):
        env += sequence(mapping(container).get("env"))
    return env


def _resolve_token(snap: Snapshot, namespace: str, raw: Any) -> tuple[Sensitive | None, str, str | None]:
    """The provider's token, where it came from, and (when unusable) what to change."""
    key_name = snap.profile.keys.canopy.name
    if raw is None or isinstance(raw, (dict, list)) or str(raw).strip() == "":
        return None, "no api_token", None
    text = str(raw).strip()
    found = ENV_TOKEN.match(text)
    if not found:
        snap.redactor.remember(text)
        return Sensitive(text), "literal", None
    variable = found.group(1)
    ref = env_secret_ref(llama_stack_env(snap, namespace), variable)
    if ref is None:
        return None, f"api_token is ${{env.{variable}}}, but the Llama Stack server has no {variable} from a Secret", (
            f"Either give the model its own token (your {key_name} key) in the Helm release llama-stack-operator-instance, "
            f"or enable sealed_secrets there so that the LlamaStackDistribution takes {variable} from the Secret holding it."
        )
    name, item = ref
    values = snap.secret(namespace, name)
    if values is None:
        return None, f"{variable} comes from Secret {name} (key {item}), which is not found in {namespace}", (
            f"Create Secret {name} with key {item} (your {key_name} key) in {namespace}, "
            "or give the model its own token instead; then restart Llama Stack."
        )
    value = values.get(item)
    if value is None:
        others = ", ".join(sorted(values)) or "none"
        return None, f"{variable} comes from Secret {name}, which has no key {item} (its keys: {others})", (
            f"Put your {key_name} key under the key {item} of Secret {name} in {namespace}, then restart Llama Stack."
        )
    return value, f"Secret {name}/{item}", None


def user_config(lsd: dict[str, Any]) -> str | None:
    """The ConfigMap a LlamaStackDistribution runs."""
    name = mapping(mapping(mapping(lsd.get("spec")).get("server")).get("userConfig")).get("configMapName")
    return str(name) if name else None


def provider_config(snap: Snapshot, namespace: str) -> ProviderConfig:
    """The Llama Stack run config's `remote::vllm` providers, and the one that points at the student's LiteLLM.

    Several checks ask; the snapshot derives it once a run. Raises ConfigProblem.
    """
    return snap.once(("llama-stack providers", namespace), lambda: _read_provider_config(snap, namespace))


def _read_provider_config(snap: Snapshot, namespace: str) -> ProviderConfig:
    # The ConfigMap the LlamaStackDistribution names is the one Llama Stack runs; a leftover of the other name is not.
    named = [n for lsd in snap.objects("llamastackdistributions", namespace) if (n := user_config(lsd))]
    names = list(dict.fromkeys([*named, *PROVIDER_CONFIGMAPS]))
    configmap = next((c for n in names if (c := snap.find("configmaps", namespace, n))), None)
    if configmap is None:
        raise ConfigProblem(f"no Llama Stack config (ConfigMap {' or '.join(PROVIDER_CONFIGMAPS)}) in {namespace}")
    config = load_yaml(configmap, PROVIDER_CONFIG_KEY)
    providers = []
    for item in sequence(mapping(config.get("providers")).get("inference")):
        item = mapping(item)
        if item.get("provider_type") != "remote::vllm":
            continue
        settings = mapping(item.get("config"))
        url = settings.get("base_url") or settings.get("url") or ""
        token, source, hint = _resolve_token(snap, namespace, settings.get("api_token"))
        providers.append(Provider(str(item.get("provider_id") or ""), url if isinstance(url, str) else "", token, source, hint))
    accepted = accepted_urls(snap)
    wanted = {normalise_url(u) for u in accepted}
    matches = [p for p in providers if normalise_url(p.url) in wanted]
    # Several providers may point at LiteLLM (e.g. one left without a token); the one that carries a token counts.
    match = next((p for p in matches if p.token is not None), matches[0] if matches else None)
    return ProviderConfig(configmap, providers, match, accepted)


def backend_config(snap: Snapshot, namespace: str) -> dict[str, Any]:
    """The canopy-backend configuration (a mapping); raises ConfigProblem."""
    configmap = snap.find("configmaps", namespace, BACKEND_CONFIGMAP)
    if configmap is None:
        raise ConfigProblem(f"ConfigMap {BACKEND_CONFIGMAP} not found in {namespace}")
    return snap.once(("canopy backend config", namespace), lambda: load_yaml(configmap, BACKEND_CONFIG_KEY))


def is_current_schema(config: dict[str, Any]) -> bool:
    """The current backend reads `summarization` + per-feature endpoints; the pre-MLflow one `summarize` + LLAMA_STACK_URL."""
    return "summarization" in config or not any(marker in config for marker in OLD_SCHEMA_MARKERS)


def is_llama_stack(url: str, namespace: str, *, with_v1: bool) -> bool:
    suffix = "/v1" if with_v1 else ""
    hosts = (LLAMA_STACK_SERVICE, f"{LLAMA_STACK_SERVICE}.{namespace}", f"{LLAMA_STACK_SERVICE}.{namespace}.svc")
    wanted = {normalise_url(f"http://{h}:{LLAMA_STACK_PORT}{suffix}") for h in hosts}
    return normalise_url(url) in wanted
