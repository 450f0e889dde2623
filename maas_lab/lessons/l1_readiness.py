"""Lesson 1 — Understanding MaaS (theory): is the student's environment ready for the module?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from maas_lab.engine.model import Verdict, failed, passed
from maas_lab.engine.registry import check
from maas_lab.evidence.canopy import PROVIDER_CONFIGMAPS
from maas_lab.lessons.common import rollout, shared_models_not_ready

if TYPE_CHECKING:
    from maas_lab.evidence.snapshot import Snapshot

READY_ANCHOR = "check-you-are-ready"


def logged_in(snap: Snapshot) -> Verdict:
    """Your cluster credentials work and name a user.

    Every other check reads the cluster as this user.
    """
    account = snap.account()
    if account is None:
        return failed(f"OpenShift user {snap.user} does not exist", hint="Check the user name in the roster.")
    name = (account.get("metadata") or {}).get("name") or snap.user
    groups = sorted(account.get("groups") or [])
    return passed(f"logged in as {name}", user=name, groups=groups)


check(
    "1.logged-in",
    lesson_ref=READY_ANCHOR,
    hint="Log in to the cluster: oc login --server=https://api.<cluster>:6443 -u <USER_NAME>",
    evidence="K8s users/~",
)(logged_in)


def can_create_project(snap: Snapshot) -> Verdict:
    """You may create the {user}-maas project (or it exists already).

    Lesson 2 starts with `oc new-project <USER_NAME>-maas`.
    """
    name = snap.ns("maas")
    if snap.namespace_exists(name):
        return passed(f"project {name} exists already", namespace=name)
    if snap.can("create", "projectrequests", group="project.openshift.io"):
        return passed(f"you may create project {name}", namespace=name)
    return failed(f"you may not create projects, and {name} does not exist", namespace=name)


check(
    "1.can-create-project",
    lesson_ref=READY_ANCHOR,
    hint="You need the right to create projects; ask your instructor (self-provisioner).",
    evidence="K8s SelfSubjectAccessReview on projectrequests create, or the project",
    needs=("1.logged-in",),
)(can_create_project)


def shared_models_ready(snap: Snapshot) -> Verdict:
    """The shared models (InferenceServices) are Ready.

    LiteMaaS only fronts models; the lab serves each model once in the shared namespace.
    """
    namespace = snap.profile.namespaces.shared
    problems = shared_models_not_ready(snap)
    names = [m.isvc for m in snap.profile.shared_models]
    if problems:
        return failed(f"in {namespace}: {'; '.join(problems)}", models=names)
    return passed(f"{len(names)} shared models Ready in {namespace}", models=names)


check(
    "1.shared-models-ready",
    lesson_ref=READY_ANCHOR,
    hint="The shared models are served by the lab team; tell your instructor which ones are not Ready.",
    evidence="K8s InferenceServices (serving.kserve.io/v1beta1) in the shared namespace",
    needs=("1.logged-in",),
)(shared_models_ready)


def canopy_running(snap: Snapshot) -> Verdict:
    """Canopy from the earlier modules runs in {user}-canopy.

    Lesson 5 re-points this Canopy at LiteMaaS.
    """
    namespace = snap.ns("canopy")
    if not snap.namespace_exists(namespace):
        return failed(f"project {namespace} not found")
    backend = rollout(snap, "Deployment", namespace, "canopy-backend", what="canopy-backend")
    if not backend.passed:
        return backend
    config = next((n for n in PROVIDER_CONFIGMAPS if snap.find("configmaps", namespace, n)), None)
    if config is None:
        return failed(f"no Llama Stack configuration (ConfigMap {' or '.join(PROVIDER_CONFIGMAPS)}) in {namespace}")
    return passed(f"canopy-backend available; Llama Stack config {config} present", configmap=config)


check(
    "1.canopy-running",
    lesson_ref=READY_ANCHOR,
    hint="Finish the earlier modules first: Canopy (canopy-backend and Llama Stack) must run in <USER_NAME>-canopy.",
    evidence="K8s Deployment canopy-backend, ConfigMap ogx-config / llama-stack-config",
    needs=("1.logged-in",),
)(canopy_running)
