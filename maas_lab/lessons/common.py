"""Verdict helpers shared by the lessons: workload rollouts, timestamps, tolerant comparisons."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from maas_lab.engine.model import PrerequisiteMissing, Verdict, failed, passed, pending
from maas_lab.evidence.values import normalise_url, parse_time, same_url

if TYPE_CHECKING:
    from maas_lab.evidence.install import Install
    from maas_lab.evidence.snapshot import Snapshot

__all__ = [
    "maas_install", "normalise_url", "parse_time", "pods_of", "rollout", "same_url", "shared_models_not_ready", "waiting_reason",
]

BROKEN_REASONS = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName")
DEFAULT_PROGRESS_DEADLINE = 600


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pods_of(snap: Snapshot, workload: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    selector = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return [p for p in snap.objects("pods", namespace) if _matches(selector, (p.get("metadata") or {}).get("labels") or {})]


def waiting_reason(pods: list[dict[str, Any]]) -> str | None:
    """The first broken container state among the pods (CrashLoopBackOff, ImagePullBackOff, …)."""
    for pod in pods:
        status = pod.get("status") or {}
        for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = ((container.get("state") or {}).get("waiting") or {}).get("reason")
            if waiting in BROKEN_REASONS:
                return f"{pod['metadata']['name']}: {waiting}"
    return None


def shared_models_not_ready(snap: Snapshot) -> list[str]:
    """What keeps each of the profile's shared models (InferenceServices in the shared namespace) from being Ready,
    one line a model: missing, or a Ready condition that is not True (Unknown while it starts is not ready yet)."""
    namespace = snap.profile.namespaces.shared
    services = {s["metadata"]["name"]: s for s in snap.objects("inferenceservices", namespace, owned=False)}
    problems = []
    for model in snap.profile.shared_models:
        isvc = services.get(model.isvc)
        if isvc is None:
            problems.append(f"{model.isvc} not found")
            continue
        conditions = {c.get("type"): c for c in (isvc.get("status") or {}).get("conditions") or []}
        ready = conditions.get("Ready") or {}
        if ready.get("status") != "True":
            problems.append(f"{model.isvc} not Ready ({ready.get('reason') or ready.get('message') or 'no status'})")
    return problems


def rollout(snap: Snapshot, kind: str, namespace: str, name: str, *, what: str) -> Verdict:
    """Ready → pass; still rolling out within its deadline → pending; missing, broken or stuck → fail."""
    plural = "deployments" if kind == "Deployment" else "statefulsets"
    workload = snap.find(plural, namespace, name)
    if workload is None:
        return failed(f"{kind} {name} not found in {namespace}", workload=name)
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    meta = workload["metadata"]
    replicas = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)  # zero-valued status integers are omitted
    updated = int(status.get("updatedReplicas") or 0)
    evidence = {"workload": f"{kind}/{name}", "ready": f"{ready}/{replicas}"}
    if replicas == 0:
        return failed(f"{what} is scaled to 0 replicas", hint=f"oc scale {kind.lower()}/{name} --replicas=1 -n {namespace}", **evidence)
    observed = int(status.get("observedGeneration") or 0)
    generation = int(meta.get("generation") or 0)
    if kind == "Deployment":
        available = int(status.get("availableReplicas") or 0)
        done = observed >= generation and updated >= replicas and available >= replicas and ready >= replicas
    else:
        current = status.get("currentRevision")
        done = observed >= generation and ready >= replicas and (not current or current == status.get("updateRevision"))
    if done:
        return passed(f"{what} is running ({kind} {name}, {ready}/{replicas} ready)", **evidence)
    meta_pods = pods_of(snap, workload, namespace)
    broken = waiting_reason(meta_pods)
    if broken:
        return failed(f"{what} is not ready: {broken}", **evidence)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return failed(f"{what} did not become ready: {progressing.get('message') or 'progress deadline exceeded'}", **evidence)
    started = _rollout_start(workload, meta_pods)
    deadline = int(spec.get("progressDeadlineSeconds") or DEFAULT_PROGRESS_DEADLINE)
    if started is not None and (snap.now - started).total_seconds() < deadline:
        return pending(f"{what} is rolling out ({ready}/{replicas} ready)", **evidence)
    return failed(f"{what} is not ready: {_not_done(kind, replicas, ready, updated, observed, generation, status, conditions)}", **evidence)


def _not_done(
    kind: str, replicas: int, ready: int, updated: int, observed: int, generation: int, status: dict[str, Any], conditions: dict[Any, Any]
) -> str:
    """Why a rollout is not done, in the workload's own words when it says them."""
    unavailable = conditions.get("Available") or {}
    if unavailable.get("status") == "False" and unavailable.get("message"):
        return str(unavailable["message"])
    detail = f"{ready}/{replicas} ready, {updated}/{replicas} updated"
    if kind == "Deployment":
        detail += f", {int(status.get('availableReplicas') or 0)}/{replicas} available"
    if observed < generation:
        detail += f", generation {generation} not yet observed"
    if kind == "StatefulSet" and status.get("currentRevision") and status.get("currentRevision") != status.get("updateRevision"):
        detail += f", revision {status.get('updateRevision')} not rolled out"
    return detail


def _rollout_start(workload: dict[str, Any], pods: list[dict[str, Any]]) -> datetime | None:
    times = [parse_time(workload["metadata"].get("creationTimestamp"))]
    for condition in (workload.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Progressing":
            times.append(parse_time(condition.get("lastUpdateTime") or condition.get("lastTransitionTime")))
    times += [parse_time((p.get("metadata") or {}).get("creationTimestamp")) for p in pods]
    return max((t for t in times if t is not None), default=None)


def maas_install(snap: Snapshot) -> Install:
    """The LiteMaaS install, for a check of a later lesson; its absence names the lesson-2 check it waits for,
    the same way whoever runs the grader (a student's project they cannot see, or an admin's empty list)."""
    namespace = snap.ns("maas")
    if not snap.namespace_exists(namespace):
        raise PrerequisiteMissing("2.namespace", f"project {namespace} not found")
    install = snap.install
    if install is None:
        raise PrerequisiteMissing("2.litellm-ready", f"no LiteMaaS install found in {namespace}")
    return install
