"""Evidence about the shared lab for `maas-lab smoke`: cluster facts, Users, storage, access reviews, model probes.

Every read goes through the snapshot (memoised, redacted) like the lessons' reads. Nothing heavy is imported here
at import time: the check module that uses this must stay cheap to import (`list`, `explain`, completion).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from maas_lab import verbose
from maas_lab.errors import CollectError, Forbidden, ServiceUnreachable

if TYPE_CHECKING:
    from maas_lab.evidence.snapshot import Snapshot
    from maas_lab.profile import SharedModel

OAUTH_DISCOVERY = "/.well-known/oauth-authorization-server"
INGRESS_CONFIG = "/apis/config.openshift.io/v1/ingresses/cluster"
IN_CLUSTER_MODEL_URL = "http://{isvc}-predictor.{namespace}.svc.cluster.local:8080/v1"
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
# Whoever is in these groups is not a student (cluster administrators and the platform's own accounts).
ADMIN_GROUPS = frozenset({"cluster-admins", "dedicated-admins", "system:cluster-admins"})
# What every logged-in OpenShift user has; a SubjectAccessReview must say so, since it only knows what it is told.
AUTHENTICATED_GROUPS = ("system:authenticated", "system:authenticated:oauth")
# What a 403 means here: smoke judges the whole lab, so it reads cluster-wide.
SMOKE_RIGHTS = (
    "smoke reads the lab as an administrator does (Users, Groups, namespaces, StorageClasses, ClusterRoles) and asks "
    "SubjectAccessReviews: run it with cluster-admin, or cluster-reader plus create on subjectaccessreviews."
)
# Every kind the lessons create in a student's projects: (API group, resource).
STUDENT_KINDS: tuple[tuple[str, str], ...] = (
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("", "services"),
    ("route.openshift.io", "routes"),
    ("", "secrets"),
    ("", "configmaps"),
    ("", "persistentvolumeclaims"),
    ("", "serviceaccounts"),
)


@dataclass(frozen=True)
class Student:
    name: str
    groups: tuple[str, ...]  # Group memberships plus what every authenticated OAuth user has
    chosen: str  # how this student was picked: "--sample-user", "--user" or "first non-admin User"


def cluster_object(snap: Snapshot, path: str) -> dict[str, Any] | None:
    """One cluster-scoped read; a 403 says which rights smoke needs."""
    try:
        return snap.cluster_object(path)
    except Forbidden as exc:
        raise Forbidden(str(exc), hint=SMOKE_RIGHTS) from None


def server_version(snap: Snapshot) -> str | None:
    body = cluster_object(snap, "/version") or {}
    return str(body.get("gitVersion") or "") or None


def ingress_domain(snap: Snapshot) -> str | None:
    """`spec.domain` of ingresses.config.openshift.io/cluster; None where unreadable (ordinary users) or unset."""
    try:
        body = snap.cluster_object(INGRESS_CONFIG) or {}
    except CollectError:
        return None
    return str((body.get("spec") or {}).get("domain") or "") or None


def oauth_issuer(snap: Snapshot) -> str | None:
    """The OAuth server's issuer URL from its public discovery document."""
    body = snap.cluster_object(OAUTH_DISCOVERY) or {}
    return str(body.get("issuer") or "") or None


def domain_of_issuer(issuer: str | None) -> str | None:
    host = urlparse(issuer or "").hostname or ""
    return host.removeprefix("oauth-openshift.") if host.startswith("oauth-openshift.") else None


def apps_domain(snap: Snapshot) -> tuple[str | None, str]:
    """The apps domain and where it came from, in the order `check` finds it (flag, then discovery)."""
    if snap.settings.cluster_domain:
        verbose.found("apps domain", snap.settings.cluster_domain, "--cluster-domain")
        return snap.settings.cluster_domain, "--cluster-domain"
    return discovered_domain(snap)


def discovered_domain(snap: Snapshot) -> tuple[str | None, str]:
    """The apps domain as the cluster tells it (ingress config, else the OAuth issuer's host), and from which."""
    found: tuple[str | None, str] = (None, "nowhere")
    if domain := ingress_domain(snap):
        found = domain, "ingresses.config.openshift.io/cluster"
    else:
        try:
            from_issuer = domain_of_issuer(oauth_issuer(snap))
        except CollectError:
            from_issuer = None
        if from_issuer:
            found = from_issuer, "the OAuth issuer"
    verbose.found("apps domain", found[0] or "unknown", found[1])
    return found


def items(snap: Snapshot, path: str) -> list[dict[str, Any]]:
    """Every item of a cluster-wide LIST (a missing API, 404, reads as none)."""
    return list((cluster_object(snap, path) or {}).get("items") or [])


def users(snap: Snapshot) -> dict[str, tuple[str, ...]]:
    """Every User and their groups (the User's own `groups` plus the Group objects naming them), by name."""

    def read() -> dict[str, tuple[str, ...]]:
        members: dict[str, set[str]] = {}
        for group in items(snap, "/apis/user.openshift.io/v1/groups"):
            for user in group.get("users") or []:
                members.setdefault(str(user), set()).add(str(group["metadata"]["name"]))
        found: dict[str, tuple[str, ...]] = {}
        for user in items(snap, "/apis/user.openshift.io/v1/users"):
            name = str(user["metadata"]["name"])
            found[name] = tuple(sorted(members.get(name, set()) | {str(g) for g in user.get("groups") or []}))
        return found

    return snap.once(("env", "users"), read)


def is_admin(name: str, groups: tuple[str, ...]) -> bool:
    return name.startswith("system:") or ":" in name or any(g in ADMIN_GROUPS for g in groups)


def sample_student(snap: Snapshot) -> Student | None:
    """The student whose rights are reviewed: --sample-user, else --user, else the first non-admin User by name.

    None when no such User exists (the check says so); the named one missing is also None.
    """
    known = users(snap)
    settings = snap.settings
    for given, flag in ((settings.sample_user, "--sample-user"), (settings.user, "--user")):
        if given:
            if given not in known:
                return None
            verbose.found("sample student", given, flag)
            return Student(given, _with_authenticated(known[given]), flag)
    for name in sorted(known):
        if not is_admin(name, known[name]):
            verbose.found("sample student", name, f"the first of {len(known)} Users not in an administrators' or system: group")
            return Student(name, _with_authenticated(known[name]), "first non-admin User")
    return None


def _with_authenticated(groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*groups, *AUTHENTICATED_GROUPS]))


def allowed(snap: Snapshot, student: Student, verb: str, group: str, resource: str, namespace: str | None = None) -> bool:
    """A SubjectAccessReview for `student` with their groups (the only write smoke makes: it changes nothing)."""
    from maas_lab.evidence.kube import ApiFailure, forbidden

    attributes: dict[str, Any] = {"verb": verb, "group": group, "resource": resource}
    if namespace:
        attributes["namespace"] = namespace

    def review() -> bool:
        spec = {"user": student.name, "groups": list(student.groups), "resourceAttributes": attributes}
        try:
            body = snap.source.review("SubjectAccessReview", spec)
        except ApiFailure as failure:
            raise Forbidden(str(forbidden(failure)), hint=SMOKE_RIGHTS) from None
        return bool((body.get("status") or {}).get("allowed"))

    return snap.once(("env", "sar", student.name, verb, group, resource, namespace), review)


def namespace_exists(snap: Snapshot, name: str) -> bool:
    """One GET by name: the grader's role may get namespaces, not list every namespace of the cluster."""
    return cluster_object(snap, f"/api/v1/namespaces/{name}") is not None


def rules_allow(rules: list[dict[str, Any]], verb: str, group: str, resource: str) -> bool:
    """RBAC rule matching for a request without a name (a create): verbs, API groups, resources, `*` wildcards."""
    for rule in rules:
        if rule.get("nonResourceURLs") or rule.get("resourceNames"):
            continue  # names restrict a rule to existing objects; a create has none
        if not {"*", verb} & set(rule.get("verbs") or []):
            continue
        if not {"*", group} & set(rule.get("apiGroups") or []):
            continue
        if {"*", resource} & set(rule.get("resources") or []):
            return True
    return False


def default_storage_classes(snap: Snapshot) -> tuple[list[str], list[str]]:
    """(all StorageClass names, the default ones)."""
    classes = items(snap, "/apis/storage.k8s.io/v1/storageclasses")
    names = sorted(str(c["metadata"]["name"]) for c in classes)
    defaults = sorted(
        str(c["metadata"]["name"])
        for c in classes
        if any(((c["metadata"].get("annotations") or {}).get(a) or "").lower() == "true" for a in DEFAULT_CLASS_ANNOTATIONS)
    )
    return names, defaults


def in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def model_url(snap: Snapshot, model: SharedModel) -> tuple[str | None, str]:
    """Where to ask a shared model for `/v1/models`, and why there: --model-url, in-cluster Service, or nowhere."""
    given = dict(snap.settings.model_urls)
    found: tuple[str | None, str] = (None, "not probed")
    if name := next((n for n in (model.isvc, model.served_name) if n in given), None):
        found = given[name].rstrip("/"), "--model-url"
    elif in_cluster():
        found = IN_CLUSTER_MODEL_URL.format(isvc=model.isvc, namespace=snap.profile.namespaces.shared), "in-cluster Service"
    verbose.url(f"model {model.isvc} URL", found[0] or "none", found[1])
    return found


def served_models(snap: Snapshot, base_url: str) -> tuple[list[str] | None, str]:
    """The model ids a vLLM/OpenAI-compatible server lists at `<base>/models`; None and a reason when it does not."""
    try:
        answer = snap.fetch("GET", f"{base_url}/models")
    except ServiceUnreachable as exc:
        return None, str(exc)
    if not answer.ok:
        return None, f"HTTP {answer.status}"
    data = answer.json_dict().get("data")
    if not isinstance(data, list):
        return None, "the answer lists no models"
    return [str(m.get("id")) for m in data if isinstance(m, dict)], ""
