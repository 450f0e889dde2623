"""A loopback, read-only fake of an OpenShift API server for tests.

It speaks TLS on 127.0.0.1 and mimics what a grader meets on a real cluster: discovery, GET/LIST with
selectors and paging, bearer-token auth (401), RBAC computed from fixture objects (403 with real message
text, including OpenShift's 403 for namespaces that do not exist), ``users/~``, filtered ``projects``,
access reviews (JSON and kubectl's protobuf bodies), and 405 for every write.  Faults (status codes,
delays) can be injected per path, and every request is logged for call-budget assertions.

>>> srv = FakeOpenShift(domain="apps.example.com")
>>> srv.add_user("user1", token="tok-user1", groups=["litemaas-admins"])
>>> srv.load([namespace("user1-maas"), role_binding("user1-maas", "admin", users=["user1"])])
>>> srv.start()          # then: srv.write_kubeconfig(tmp_path / "kubeconfig", token="tok-user1")
>>> srv.stop()

Behaviour that differs from a real server on purpose: writes and ``watch=true`` answer 405.
Not served: server-side Tables (kubectl then prints NAME/AGE only), OpenAPI documents, and the pre-GA
SelfSubjectReview versions that kubectl 1.27 asks for.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import re
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import uuid
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme
import yaml

from .faults import write_faulty

Obj = dict[str, Any]

DEFAULT_DOMAIN = "apps.example.com"
KUBE_VERSION = {
    "major": "1",
    "minor": "32",
    # OpenShift 4.19 ships Kubernetes 1.32; kubectl's version dispatcher picks its client from this.
    "gitVersion": "v1.32.5",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-05-01T00:00:00Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}
# Fixed so fixtures render the same on every run.
DEFAULT_CREATION = "2025-01-06T09:00:00Z"
MAX_BODY = 4 * 1024 * 1024
IDLE_TIMEOUT = 30.0  # bounds each keep-alive connection's request loop

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = ("create", "delete", "deletecollection", "patch", "update")
PROTOBUF = "application/vnd.kubernetes.protobuf"


# --------------------------------------------------------------------------------------------------
# Kinds
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One API resource the fake serves."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    fields: tuple[str, ...] = ()  # field-selector fields beyond metadata.name / metadata.namespace
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    omit_zero_status: tuple[str, ...] = ()  # ints the real server drops when 0 (omitempty)
    stored: bool = True  # False: computed per request (projects, reviews)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``routes.route.openshift.io``, ``pods``: the name used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery(self) -> list[Obj]:
        entry: Obj = {
            "name": self.plural,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        out = [entry]
        for sub in self.subresources:
            verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
            out.append(
                {
                    "name": f"{self.plural}/{sub}",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": verbs,
                }
            )
        return out


_APPS_STATUS = ("observedGeneration", "readyReplicas", "availableReplicas", "updatedReplicas", "collisionCount")
_CREATE_ONLY = ("create",)

# fmt: off
KINDS: tuple[Kind, ...] = (
    Kind("", "v1", "Namespace", "namespaces", False, ("status.phase",), ("ns",),
         ("create", "delete", "get", "list", "patch", "update", "watch"), ("status",)),
    Kind("", "v1", "Pod", "pods", True,
         ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
          "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
         ("po",), subresources=("log", "status"), categories=("all",)),
    Kind("", "v1", "Service", "services", True, (), ("svc",),
         ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
         ("status",), ("all",)),
    Kind("", "v1", "Secret", "secrets", True, ("type",)),
    Kind("", "v1", "ConfigMap", "configmaps", True, (), ("cm",)),
    Kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, (), ("pvc",),
         subresources=("status",)),
    Kind("", "v1", "ServiceAccount", "serviceaccounts", True, (), ("sa",)),
    Kind("", "v1", "Endpoints", "endpoints", True, (), ("ep",)),
    Kind("", "v1", "Event", "events", True,
         ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
          "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
          "reason", "reportingComponent", "source", "type"), ("ev",)),
    Kind("apps", "v1", "Deployment", "deployments", True, (), ("deploy",), subresources=("status",),
         categories=("all",),
         omit_zero_status=(*_APPS_STATUS, "replicas", "unavailableReplicas")),
    Kind("apps", "v1", "StatefulSet", "statefulsets", True, (), ("sts",), subresources=("status",),
         categories=("all",), omit_zero_status=(*_APPS_STATUS, "currentReplicas")),
    Kind("apps", "v1", "ReplicaSet", "replicasets", True, ("status.replicas",), ("rs",),
         subresources=("status",), categories=("all",),
         omit_zero_status=(*_APPS_STATUS, "fullyLabeledReplicas")),
    Kind("route.openshift.io", "v1", "Route", "routes", True, ("spec.host", "spec.path", "spec.to.name"),
         subresources=("status",), categories=("all",)),
    Kind("oauth.openshift.io", "v1", "OAuthClient", "oauthclients", False),
    Kind("user.openshift.io", "v1", "User", "users", False),
    Kind("user.openshift.io", "v1", "Group", "groups", False),
    Kind("user.openshift.io", "v1", "Identity", "identities", False),
    Kind("project.openshift.io", "v1", "Project", "projects", False, ("status.phase",),
         verbs=("create", "delete", "get", "list", "patch", "update", "watch"), stored=False),
    Kind("project.openshift.io", "v1", "ProjectRequest", "projectrequests", False,
         verbs=("create", "list"), stored=False),
    Kind("config.openshift.io", "v1", "Ingress", "ingresses", False, subresources=("status",)),
    Kind("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    Kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    Kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    Kind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    Kind("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
         verbs=_CREATE_ONLY, stored=False),
    Kind("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False,
         verbs=_CREATE_ONLY, stored=False),
    Kind("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False,
         verbs=_CREATE_ONLY, stored=False),
    Kind("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False,
         verbs=_CREATE_ONLY, stored=False),
    Kind("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, (), ("sc",)),
    Kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
         (), ("crd", "crds"), subresources=("status",)),
    # CRDs the course installs; a CustomResourceDefinition fixture can register more.
    Kind("serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices", True, (), ("isvc",),
         subresources=("status",)),
    Kind("llamastack.io", "v1alpha1", "LlamaStackDistribution", "llamastackdistributions", True,
         subresources=("status",)),
    Kind("argoproj.io", "v1alpha1", "Application", "applications", True, (), ("app", "apps"),
         categories=("argo",)),
    Kind("bitnami.com", "v1alpha1", "SealedSecret", "sealedsecrets", True, subresources=("status",)),
)
# fmt: on

REVIEW_PLURALS = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews", "selfsubjectreviews"}
# Fixtures in these apiVersions would be refused by a current cluster.
REMOVED_API_VERSIONS = {
    "extensions/v1beta1",
    "apps/v1beta1",
    "apps/v1beta2",
    "policy/v1beta1",
    "batch/v1beta1",
    "networking.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "authorization.k8s.io/v1beta1",
}


def _kind_from_crd(crd: Obj) -> list[Kind]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for ver in spec.get("versions") or []:
        if ver.get("served", True):
            out.append(
                Kind(
                    spec["group"],
                    ver["name"],
                    names["kind"],
                    names["plural"],
                    spec.get("scope") == "Namespaced",
                    short_names=tuple(names.get("shortNames") or ()),
                    categories=tuple(names.get("categories") or ()),
                    subresources=("status",) if (ver.get("subresources") or {}).get("status") is not None else (),
                )
            )
    return out


# --------------------------------------------------------------------------------------------------
# Built-in RBAC (a reduced but faithful copy of what OpenShift ships)
# --------------------------------------------------------------------------------------------------

# fmt: off
_NS_READ: dict[str, tuple[str, ...]] = {
    "": ("pods", "pods/log", "pods/status", "services", "services/status", "endpoints", "persistentvolumeclaims",
         "persistentvolumeclaims/status", "configmaps", "serviceaccounts", "events", "replicationcontrollers",
         "resourcequotas", "limitranges", "namespaces", "namespaces/status"),
    "apps": ("deployments", "deployments/status", "deployments/scale", "statefulsets", "statefulsets/status",
             "statefulsets/scale", "replicasets", "replicasets/status", "replicasets/scale", "daemonsets",
             "controllerrevisions"),
    "route.openshift.io": ("routes", "routes/status"),
    "serving.kserve.io": ("inferenceservices", "inferenceservices/status"),
    "llamastack.io": ("llamastackdistributions", "llamastackdistributions/status"),
    "argoproj.io": ("applications",),
    "bitnami.com": ("sealedsecrets", "sealedsecrets/status"),
}
_NS_WRITE: dict[str, tuple[str, ...]] = {
    "": ("pods", "pods/exec", "pods/attach", "pods/portforward", "services", "endpoints", "persistentvolumeclaims",
         "configmaps", "secrets", "serviceaccounts", "replicationcontrollers"),
    "apps": ("deployments", "deployments/scale", "statefulsets", "statefulsets/scale", "replicasets",
             "replicasets/scale", "daemonsets"),
    "route.openshift.io": ("routes", "routes/custom-host"),
    "serving.kserve.io": ("inferenceservices",),
    "llamastack.io": ("llamastackdistributions",),
    "argoproj.io": ("applications",),
    "bitnami.com": ("sealedsecrets",),
}
# fmt: on


def _rule(groups: Iterable[str], resources: Iterable[str], verbs: Iterable[str], names: Iterable[str] = ()) -> Obj:
    out: Obj = {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
    if names:
        out["resourceNames"] = list(names)
    return out


def _view_rules() -> list[Obj]:
    rules = [_rule([g], res, READ_VERBS) for g, res in _NS_READ.items()]
    rules.append(_rule(["project.openshift.io"], ["projects"], ["get"]))
    return rules


def _edit_rules() -> list[Obj]:
    rules = _view_rules()
    rules.append(_rule([""], ["secrets"], READ_VERBS))
    rules += [_rule([g], res, WRITE_VERBS) for g, res in _NS_WRITE.items()]
    return rules


def _admin_rules() -> list[Obj]:
    return [
        *_edit_rules(),
        _rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ALL_VERBS),
        _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
        _rule(["project.openshift.io"], ["projects"], ["delete", "get", "patch", "update"]),
    ]


def _cluster_role(name: str, rules: list[Obj]) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }


def _builtin_cluster_roles() -> list[Obj]:
    discovery_urls = [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
    ]
    public_urls = ["/healthz", "/livez", "/readyz", "/version", "/version/", "/.well-known/oauth-authorization-server"]
    return [
        _cluster_role("cluster-admin", [_rule(["*"], ["*"], ["*"]), {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        _cluster_role("admin", _admin_rules()),
        _cluster_role("edit", _edit_rules()),
        _cluster_role("view", _view_rules()),
        _cluster_role(
            "basic-user",
            [
                _rule(["user.openshift.io"], ["users"], ["get"], ["~"]),
                _rule(["project.openshift.io"], ["projectrequests"], ["list"]),
                _rule(["project.openshift.io"], ["projects"], ["list", "watch"]),
                _rule(["rbac.authorization.k8s.io"], ["clusterroles"], ["get", "list"]),
                _rule(["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]),
                _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
            ],
        ),
        _cluster_role("self-provisioner", [_rule(["project.openshift.io"], ["projectrequests"], ["create"])]),
        _cluster_role("system:discovery", [{"nonResourceURLs": discovery_urls, "verbs": ["get"]}]),
        _cluster_role("system:public-info-viewer", [{"nonResourceURLs": public_urls, "verbs": ["get"]}]),
    ]


def _builtin_cluster_role_bindings() -> list[Obj]:
    # What every OpenShift cluster binds out of the box; "system:cluster-admins" makes a cluster-admin user.
    pairs = [
        ("cluster-admins", "cluster-admin", ["system:cluster-admins"]),
        ("basic-users", "basic-user", ["system:authenticated"]),
        ("self-provisioners", "self-provisioner", ["system:authenticated:oauth"]),
        ("system:discovery", "system:discovery", ["system:authenticated"]),
        ("system:public-info-viewer", "system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]),
    ]
    return [cluster_role_binding(name, role, groups=groups) for name, role, groups in pairs]


# --------------------------------------------------------------------------------------------------
# Object builders (handy for fixtures in tests)
# --------------------------------------------------------------------------------------------------


def namespace(name: str, labels: dict[str, str] | None = None) -> Obj:
    """A Namespace object (``load`` fills uid, status and the metadata.name label)."""
    meta: Obj = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _subjects(users: Iterable[str], groups: Iterable[str], service_accounts: Iterable[str], default_ns: str) -> list[Obj]:
    out: list[Obj] = [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u} for u in users]
    out += [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g} for g in groups]
    for sa in service_accounts:  # "ns:name" or "name" (binding's namespace)
        ns, _, name = sa.rpartition(":")
        out.append({"kind": "ServiceAccount", "name": name, "namespace": ns or default_ns})
    return out


def role_binding(
    ns: str,
    role: str,
    *,
    name: str | None = None,
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
    service_accounts: Iterable[str] = (),
    role_kind: str = "ClusterRole",
) -> Obj:
    """A RoleBinding in ``ns`` granting ``role`` (a ClusterRole unless ``role_kind="Role"``)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name or role, "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": _subjects(users, groups, service_accounts, ns),
    }


def cluster_role_binding(
    name: str, role: str, *, users: Iterable[str] = (), groups: Iterable[str] = (), service_accounts: Iterable[str] = ()
) -> Obj:
    """A ClusterRoleBinding; service accounts as ``"ns:name"``."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": _subjects(users, groups, service_accounts, ""),
    }


# --------------------------------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------------------------------


class BadRequest(Exception):
    """A client error the fake answers with 400 BadRequest."""


_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[-A-Za-z0-9_.]*"


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses (``a in (x,y),b`` is two requirements)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


@dataclass(frozen=True)
class LabelRequirement:
    """One requirement of a label selector (``op``: = != in notin exists ! > <)."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.key)
        if self.op == "exists":
            return value is not None
        if self.op == "!":
            return value is None
        if self.op in ("=", "in"):
            return value in self.values
        if self.op in ("!=", "notin"):  # objects without the key match too
            return value not in self.values
        try:
            have, want = int(value or ""), int(next(iter(self.values)))
        except ValueError:
            return False
        return have > want if self.op == ">" else have < want


def parse_label_selector(text: str) -> list[LabelRequirement]:
    """Parse a label selector; syntax errors raise BadRequest like the server's 400."""
    reqs: list[LabelRequirement] = []
    for part in _split_top(text):
        if m := re.fullmatch(rf"({_KEY})\s+(in|notin)\s+\(([^()]*)\)", part):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(LabelRequirement(m.group(1), m.group(2), values))
        elif m := re.fullmatch(rf"!\s*({_KEY})", part):
            reqs.append(LabelRequirement(m.group(1), "!"))
        elif m := re.fullmatch(rf"({_KEY})\s*(==|!=|=|>|<)\s*({_VALUE})", part):
            key, op, val = m.groups()
            if op in "<>" and not val.lstrip("-").isdigit():
                raise BadRequest(f"unable to parse requirement: for 'gt', 'lt' operators, the value must be an integer: {part!r}")
            reqs.append(LabelRequirement(key, "=" if op == "==" else op, frozenset([val])))
        elif re.fullmatch(_KEY, part):
            reqs.append(LabelRequirement(part, "exists"))
        else:
            raise BadRequest(f"unable to parse requirement: invalid label selector: {part!r}")
    return reqs


_FIELD_PATHS = {"source": "source.component"}


@dataclass(frozen=True)
class FieldRequirement:
    """One requirement of a field selector: ``path`` equals (or not) ``value``."""

    path: str
    equal: bool
    value: str

    def matches(self, obj: Obj) -> bool:
        return (_field_value(obj, self.path) == self.value) == self.equal


def parse_field_selector(text: str, kind: Kind) -> list[FieldRequirement]:
    """Parse a field selector; fields the kind does not support raise BadRequest (as the server does)."""
    allowed = {"metadata.name", "metadata.namespace", *kind.fields}
    reqs: list[FieldRequirement] = []
    for part in _split_top(text):
        m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        name, op, val = m.groups()
        if name not in allowed:
            raise BadRequest(f"field label not supported: {name}")
        reqs.append(FieldRequirement(_FIELD_PATHS.get(name, name), op != "!=", val))
    return reqs


def _field_value(obj: Obj, path: str) -> str:
    cur: Any = obj
    for key in path.split("."):
        cur = cur.get(key) if isinstance(cur, dict) else None
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


# --------------------------------------------------------------------------------------------------
# Identities and the object store
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who a request runs as."""

    name: str
    groups: tuple[str, ...]
    uid: str = ""
    service_account: bool = False

    @property
    def anonymous(self) -> bool:
        return self.name == "system:anonymous"


ANONYMOUS = Identity("system:anonymous", ("system:unauthenticated",))


@dataclass(frozen=True)
class Attrs:
    """Authorization attributes of one request (what RBAC sees)."""

    verb: str
    namespace: str = ""
    group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""  # set for non-resource requests

    @property
    def resource_request(self) -> bool:
        return not self.path


@dataclass
class _UserEntry:
    name: str
    token: str
    groups: tuple[str, ...]
    identities: tuple[str, ...]


@dataclass
class _ServiceAccountEntry:
    namespace: str
    name: str
    token: str


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


class _Snapshot:
    """An immutable view of all objects and kinds; replaced wholesale by ``load``."""

    def __init__(self, kinds: list[Kind], objects: dict[tuple[str, str], dict[tuple[str, str], Obj]], rv: int):
        self.kinds = kinds
        self.by_path: dict[tuple[str, str, str], Kind] = {(k.group, k.version, k.plural): k for k in kinds}
        self.objects = objects
        self.rv = rv
        self.namespaces = {name for _, name in objects.get(("", "namespaces"), {})}
        self.rolebindings: dict[str, list[Obj]] = {}
        for (ns, _), rb in sorted(objects.get(("rbac.authorization.k8s.io", "rolebindings"), {}).items()):
            self.rolebindings.setdefault(ns, []).append(rb)

    def items(self, group: str, plural: str) -> dict[tuple[str, str], Obj]:
        return self.objects.get((group, plural), {})

    def get(self, group: str, plural: str, ns: str, name: str) -> Obj | None:
        return self.items(group, plural).get((ns, name))

    def group_versions(self) -> dict[str, list[str]]:
        """group -> served versions, in registration order (first is preferred)."""
        out: dict[str, list[str]] = {}
        for k in self.kinds:
            versions = out.setdefault(k.group, [])
            if k.version not in versions:
                versions.append(k.version)
        return out

    # ---- RBAC -------------------------------------------------------------------------------------

    def grants(self, ident: Identity, namespace: str) -> Iterator[tuple[str, Obj, Obj, list[Obj]]]:
        """(binding kind, binding, matched subject, rules) for every binding that applies to ``ident``."""
        for crb in self.items("rbac.authorization.k8s.io", "clusterrolebindings").values():
            subject = _matching_subject(crb, ident, "")
            if subject is not None:
                yield "ClusterRoleBinding", crb, subject, self._role_rules(crb, "")
        # RoleBindings count only where the namespace exists: deleting a namespace deletes its bindings.
        if namespace and namespace in self.namespaces:
            for rb in self.rolebindings.get(namespace, []):
                subject = _matching_subject(rb, ident, namespace)
                if subject is not None:
                    yield "RoleBinding", rb, subject, self._role_rules(rb, namespace)

    def _role_rules(self, binding: Obj, namespace: str) -> list[Obj]:
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "Role":
            role = self.get("rbac.authorization.k8s.io", "roles", namespace, ref.get("name", ""))
        else:
            role = self.get("rbac.authorization.k8s.io", "clusterroles", "", ref.get("name", ""))
        return list((role or {}).get("rules") or [])

    def authorize(self, ident: Identity, attrs: Attrs) -> tuple[bool, str]:
        """RBAC decision and the reason text a SubjectAccessReview reports."""
        for bkind, binding, subject, rules in self.grants(ident, attrs.namespace):
            if any(_rule_allows(r, attrs) for r in rules):
                meta = binding["metadata"]
                where = f"{meta['name']}/{meta['namespace']}" if bkind == "RoleBinding" else meta["name"]
                who = subject.get("name", "")
                if subject.get("kind") == "ServiceAccount":
                    who = f"{who}/{subject.get('namespace') or meta.get('namespace', '')}"
                ref = binding.get("roleRef") or {}
                return True, (
                    f'RBAC: allowed by {bkind} "{where}" of {ref.get("kind")} "{ref.get("name")}" '
                    f'to {subject.get("kind")} "{who}"'
                )
        return False, ""

    def project_visible(self, ident: Identity, ns: str) -> bool:
        """OpenShift lists a project when the user may get it or is bound to any role in it."""
        if ns not in self.namespaces:
            return False
        for attrs in (
            Attrs("get", ns, "", "namespaces", name=ns),
            Attrs("get", ns, "project.openshift.io", "projects", name=ns),
        ):
            if self.authorize(ident, attrs)[0]:
                return True
        return any(_matching_subject(rb, ident, ns) is not None for rb in self.rolebindings.get(ns, []))


def _matching_subject(binding: Obj, ident: Identity, binding_ns: str) -> Obj | None:
    for subject in binding.get("subjects") or []:
        kind, name = subject.get("kind"), subject.get("name")
        sa_ns = subject.get("namespace") or binding_ns
        if (
            (kind == "User" and name == ident.name)
            or (kind == "Group" and name in ident.groups)
            or (kind == "ServiceAccount" and f"system:serviceaccount:{sa_ns}:{name}" == ident.name)
        ):
            return dict(subject)
    return None


def _rule_allows(rule: Obj, attrs: Attrs) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        return any(
            u == "*" or u == attrs.path or (u.endswith("*") and attrs.path.startswith(u[:-1]))
            for u in rule.get("nonResourceURLs") or []
        )
    if rule.get("nonResourceURLs"):
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.group not in groups:
        return False
    wanted = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = rule.get("resources") or []
    if not ("*" in resources or wanted in resources or (attrs.subresource and f"*/{attrs.subresource}" in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _forbidden_message(ident: Identity, attrs: Attrs, kind: Kind | None) -> str:
    if not attrs.resource_request:
        return f'forbidden: User "{ident.name}" cannot {attrs.verb} path "{attrs.path}"'
    gr = kind.group_resource if kind else (f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource)
    head = f'{gr} "{attrs.name}" is forbidden' if attrs.name else f"{gr} is forbidden"
    res = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return f'{head}: User "{ident.name}" cannot {attrs.verb} resource "{res}" in API group "{attrs.group}" {scope}'


# --------------------------------------------------------------------------------------------------
# Protobuf (kubectl >= 1.32 posts access reviews as protobuf)
# --------------------------------------------------------------------------------------------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise BadRequest("truncated protobuf varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _pb_fields(buf: bytes) -> dict[int, list[bytes | int]]:
    """Field number -> values; length-delimited fields stay bytes (decode nested messages again)."""
    out: dict[int, list[bytes | int]] = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        value: bytes | int
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i : i + length], i + length
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise BadRequest(f"unsupported protobuf wire type {wire}")
        out.setdefault(num, []).append(value)
    return out


def _pb_str(fields: dict[int, list[bytes | int]], num: int) -> str:
    values = fields.get(num) or []
    return values[-1].decode() if values and isinstance(values[-1], bytes) else ""


def _pb_msg(fields: dict[int, list[bytes | int]], num: int) -> dict[int, list[bytes | int]] | None:
    values = fields.get(num) or []
    return _pb_fields(values[-1]) if values and isinstance(values[-1], bytes) else None


def decode_review_protobuf(body: bytes) -> Obj:
    """Turn a protobuf access/rules/self-subject review into the JSON shape (only the fields we need).

    The envelope is ``k8s\\x00`` + runtime.Unknown{1: TypeMeta{1: apiVersion, 2: kind}, 2: raw object}.
    Field numbers come from k8s.io/api/authorization/v1 generated.proto.
    """
    if not body.startswith(b"k8s\x00"):
        raise BadRequest("protobuf body without the k8s envelope")
    unknown = _pb_fields(body[4:])
    type_meta = _pb_msg(unknown, 1) or {}
    raw = _pb_msg(unknown, 2) or {}
    obj: Obj = {"apiVersion": _pb_str(type_meta, 1), "kind": _pb_str(type_meta, 2), "spec": {}}
    spec = _pb_msg(raw, 2) or {}
    if obj["kind"] == "SelfSubjectRulesReview":
        obj["spec"] = {"namespace": _pb_str(spec, 1)}
    elif obj["kind"] in ("SelfSubjectAccessReview", "SubjectAccessReview"):
        if (ra := _pb_msg(spec, 1)) is not None:
            names = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
            obj["spec"]["resourceAttributes"] = {n: _pb_str(ra, i) for i, n in enumerate(names, 1) if _pb_str(ra, i)}
        if (nra := _pb_msg(spec, 2)) is not None:
            obj["spec"]["nonResourceAttributes"] = {"path": _pb_str(nra, 1), "verb": _pb_str(nra, 2)}
        if obj["kind"] == "SubjectAccessReview":
            obj["spec"]["user"] = _pb_str(spec, 3)
            obj["spec"]["groups"] = [g.decode() for g in spec.get(4, []) if isinstance(g, bytes)]
    return obj


# --------------------------------------------------------------------------------------------------
# Requests, replies, faults
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRecord:
    """One served request. ``user`` is None when the token was unknown; anonymous is ``system:anonymous``."""

    method: str
    path: str
    query: dict[str, list[str]]
    user: str | None
    status: int


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int | None
    delay: float
    method: str | None
    remaining: int | None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    stall: bool = False
    truncate: bool = False
    hits: int = 0  # requests it fired on (counted on arrival, before any delay)


@dataclass
class Reply:
    status: int
    body: Any  # JSON-able, or bytes for text
    content_type: str = "application/json"
    fault: _Fault | None = None  # an injected fault that also changes how the reply goes on the wire


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_reply(code: int, message: str, details: Obj | None = None, reason: str | None = None) -> Reply:
    """A ``v1 Status`` failure body, as the API server sends for every error."""
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, "Unknown"),
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return Reply(code, body)


def _not_found(kind: Kind, name: str) -> Reply:
    return status_reply(
        404, f'{kind.group_resource} "{name}" not found', {"name": name, "group": kind.group, "kind": kind.plural}
    )


def _no_resource() -> Reply:
    return status_reply(404, "the server could not find the requested resource", {})


def _method_not_allowed() -> Reply:
    return status_reply(405, "the server does not allow this method on the requested resource", {})


def _encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(data["start"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("continue key is not valid: illegal base64 data or invalid JSON") from None


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


class FakeOpenShift:
    """A read-only OpenShift API server on 127.0.0.1 (TLS), loaded with plain Kubernetes dicts."""

    def __init__(self, domain: str = DEFAULT_DOMAIN) -> None:
        self.domain = domain
        self.request_log: list[RequestRecord] = []
        self._lock = threading.RLock()
        self._users: dict[str, _UserEntry] = {}
        self._service_accounts: dict[str, _ServiceAccountEntry] = {}
        self._tokens: dict[str, str] = {}  # token -> user name
        self._fixtures: list[Obj] = []
        self._logs: dict[tuple[str, str], str] = {}
        self._faults: list[_Fault] = []
        self._rv = 1000
        self._snapshot = self._build([])
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: Path | None = None
        self._stopping = threading.Event()
        self.url = ""
        self.ca_path = Path()

    # ---- identities -------------------------------------------------------------------------------

    def add_user(self, name: str, *, token: str, groups: Iterable[str] = (), identities: Iterable[str] | None = None) -> None:
        """Register a user and its bearer token; also stores a User (and Group objects for its groups)."""
        idents = tuple(identities) if identities is not None else (f"Students:{name}",)
        with self._lock:
            if name in self._users:  # a re-added user's old token stops working
                self._tokens.pop(self._users[name].token, None)
            self._users[name] = _UserEntry(name, token, tuple(groups), idents)
            self._tokens[token] = name
            self._snapshot = self._build(self._fixtures)

    def add_service_account(self, namespace: str, name: str, *, token: str) -> None:
        """Register a ServiceAccount token (user ``system:serviceaccount:<ns>:<name>``)."""
        full = f"system:serviceaccount:{namespace}:{name}"
        with self._lock:
            self._service_accounts[full] = _ServiceAccountEntry(namespace, name, token)
            self._tokens[token] = full

    def identity(self, token: str | None) -> Identity | None:
        """The identity a bearer token stands for (None: unknown token, answered with 401)."""
        if not token:
            return ANONYMOUS
        with self._lock:
            name = self._tokens.get(token)
            if name is None:
                return None
            if name in self._service_accounts:
                sa = self._service_accounts[name]
                uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"serviceaccounts/{sa.namespace}/{sa.name}"))
                return Identity(
                    name,
                    ("system:serviceaccounts", f"system:serviceaccounts:{sa.namespace}", "system:authenticated"),
                    uid,
                    True,
                )
            user = self._users[name]
        snap = self._snapshot
        # Group objects are the source of truth for membership on OpenShift; add_user groups are merged in.
        member_of = [
            g["metadata"]["name"] for g in snap.items("user.openshift.io", "groups").values() if name in (g.get("users") or [])
        ]
        groups = list(dict.fromkeys([*user.groups, *member_of, "system:authenticated", "system:authenticated:oauth"]))
        stored = snap.get("user.openshift.io", "users", "", name) or {}
        return Identity(name, tuple(groups), (stored.get("metadata") or {}).get("uid", ""))

    # ---- objects ----------------------------------------------------------------------------------

    def load(self, objects: Iterable[Obj]) -> None:
        """Replace every stored object with ``objects`` (users, tokens, logs and faults stay)."""
        fixtures = [copy.deepcopy(o) for o in _flatten(objects)]
        snapshot = self._build(fixtures)  # validates before anything is replaced
        with self._lock:
            self._fixtures = fixtures
            self._snapshot = snapshot

    def reset(self, objects: Iterable[Obj] = ()) -> None:
        """Load ``objects`` and clear the request log and faults: a clean state for one test."""
        self.load(objects)
        self.clear_faults()
        self.clear_log()

    def set_pod_log(self, namespace: str, pod: str, text: str) -> None:
        """What ``pods/<pod>/log`` answers (the pod itself must be loaded)."""
        with self._lock:
            self._logs[(namespace, pod)] = text

    def objects(self, api_version: str, kind: str) -> list[Obj]:
        """Stored objects of one kind (deep copies), for assertions on what the fake serves."""
        snap = self._snapshot
        for k in snap.kinds:
            if k.api_version == api_version and k.kind == kind:
                return [copy.deepcopy(o) for _, o in sorted(snap.items(k.group, k.plural).items())]
        raise KeyError(f"unknown kind {api_version} {kind}")

    def _build(self, fixtures: list[Obj]) -> _Snapshot:
        kinds = list(KINDS)
        for obj in fixtures:
            if obj.get("kind") == "CustomResourceDefinition":
                for k in _kind_from_crd(obj):
                    if not any((x.group, x.version, x.plural) == (k.group, k.version, k.plural) for x in kinds):
                        kinds.append(k)
        by_kind = {(k.api_version, k.kind): k for k in kinds}
        objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        with self._lock:
            users = list(self._users.values())
            self._rv += 1
            rv = self._rv

        def put(obj: Obj, *, builtin: bool) -> None:
            nonlocal rv
            api_version, kind_name = obj.get("apiVersion", ""), obj.get("kind", "")
            if api_version in REMOVED_API_VERSIONS:
                raise ValueError(
                    f"{kind_name} uses {api_version}, which current clusters no longer serve; use the current apiVersion"
                )
            kind = by_kind.get((api_version, kind_name))
            if kind is None:
                raise ValueError(
                    f"unknown kind {api_version} {kind_name}: add it to KINDS in this module "
                    "or load a CustomResourceDefinition fixture for it"
                )
            if not kind.stored:
                raise ValueError(f"{kind_name} is computed by the server; it cannot be loaded")
            meta = obj.setdefault("metadata", {})
            if not meta.get("name"):
                raise ValueError(f"{kind_name} without metadata.name: {obj!r:.200}")
            if kind.namespaced and not meta.get("namespace"):
                raise ValueError(f"namespaced {kind_name} {meta['name']!r} needs metadata.namespace")
            if not kind.namespaced:
                meta.pop("namespace", None)
            bucket = objects.setdefault((kind.group, kind.plural), {})
            key = _key(obj)
            if key in bucket and not builtin and not bucket[key].get("_builtin"):
                raise ValueError(f"duplicate {kind_name} {'/'.join(filter(None, key))}")
            rv += 1
            self._normalise(obj, kind, rv)
            if builtin:
                obj["_builtin"] = True
            bucket[key] = obj

        for obj in [*_builtin_cluster_roles(), *_builtin_cluster_role_bindings()]:
            put(obj, builtin=True)
        for obj in fixtures:
            put(copy.deepcopy(obj), builtin=False)
        # Objects OpenShift always has, unless the fixtures provide their own.
        if ("", "cluster") not in objects.get(("config.openshift.io", "ingresses"), {}):
            put(
                {
                    "apiVersion": "config.openshift.io/v1",
                    "kind": "Ingress",
                    "metadata": {"name": "cluster"},
                    "spec": {"domain": self.domain},
                },
                builtin=True,
            )
        for user in users:
            if ("", user.name) not in objects.get(("user.openshift.io", "users"), {}):
                put(
                    {
                        "apiVersion": "user.openshift.io/v1",
                        "kind": "User",
                        "metadata": {"name": user.name},
                        "identities": list(user.identities),
                        "groups": list(user.groups),
                    },
                    builtin=True,
                )
            for group in user.groups:
                if group.startswith("system:"):
                    continue  # virtual groups have no Group object
                existing = objects.get(("user.openshift.io", "groups"), {}).get(("", group))
                if existing is None:
                    put(
                        {
                            "apiVersion": "user.openshift.io/v1",
                            "kind": "Group",
                            "metadata": {"name": group},
                            "users": [user.name],
                        },
                        builtin=True,
                    )
                elif user.name not in (existing.get("users") or []):
                    existing["users"] = [*(existing.get("users") or []), user.name]
        for bucket in objects.values():
            for obj in bucket.values():
                obj.pop("_builtin", None)
        with self._lock:
            self._rv = max(self._rv, rv)
        return _Snapshot(kinds, objects, rv)

    def _normalise(self, obj: Obj, kind: Kind, rv: int) -> None:
        """Fill what a real server adds, and drop what it never returns."""
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind.group}/{kind.plural}/{ns}/{name}")))
        meta.setdefault("resourceVersion", str(rv))
        meta.setdefault("creationTimestamp", DEFAULT_CREATION)
        if kind.plural == "secrets" and kind.group == "":
            data = obj.setdefault("data", {}) or {}
            for k, v in (obj.pop("stringData", None) or {}).items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
            obj.setdefault("type", "Opaque")
        elif kind.plural == "namespaces" and kind.group == "":
            meta.setdefault("labels", {}).setdefault("kubernetes.io/metadata.name", name)
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj.setdefault("status", {"phase": "Active"})
        elif kind.plural == "routes":
            self._admit_route(obj, ns, name)
        status = obj.get("status")
        if kind.omit_zero_status and isinstance(status, dict):
            for f in kind.omit_zero_status:
                if status.get(f) == 0:
                    del status[f]

    def _admit_route(self, obj: Obj, ns: str, name: str) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("host", f"{name}-{ns}.{self.domain}")
        spec.setdefault("wildcardPolicy", "None")
        to = spec.get("to")
        if isinstance(to, dict):
            to.setdefault("kind", "Service")
            to.setdefault("weight", 100)
        # A route without status is one the default router admitted.
        if "status" not in obj:
            obj["status"] = {
                "ingress": [
                    {
                        "host": spec["host"],
                        "routerName": "default",
                        "wildcardPolicy": "None",
                        "routerCanonicalHostname": f"router-default.{self.domain}",
                        "conditions": [
                            {
                                "type": "Admitted",
                                "status": "True",
                                "lastTransitionTime": obj["metadata"]["creationTimestamp"],
                            }
                        ],
                    }
                ]
            }

    # ---- faults and log ---------------------------------------------------------------------------

    def inject(
        self,
        path_regex: str,
        *,
        status: int | None = None,
        delay: float = 0.0,
        method: str | None = None,
        times: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        drop: bool = False,
        stall: bool = False,
        truncate: bool = False,
    ) -> _Fault:
        """Make requests whose path matches ``path_regex`` (re.search) wait ``delay`` s and/or answer ``status``.

        ``times`` limits how often the fault fires (None: until ``clear_faults``). First match wins.
        ``body``/``headers`` go with ``status``; ``drop``, ``stall`` and ``truncate`` misbehave on the wire
        (the same keywords as every other fake: tests/fakes/faults.py).
        """
        fault = _Fault(
            re.compile(path_regex), status, delay, method.upper() if method else None, times,
            body=body, headers=dict(headers or {}), drop=drop, stall=stall, truncate=truncate,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def clear_log(self) -> None:
        with self._lock:
            self.request_log.clear()

    def calls(self, path_regex: str = "", method: str | None = None) -> list[RequestRecord]:
        """Logged requests whose path matches ``path_regex`` (and method), for call-budget assertions."""
        with self._lock:
            log = list(self.request_log)
        return [r for r in log if re.search(path_regex, r.path) and (method is None or r.method == method.upper())]

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if (fault.method is None or fault.method == method) and fault.pattern.search(path):
                    if fault.remaining is not None:
                        if fault.remaining <= 0:
                            continue
                        fault.remaining -= 1
                    fault.hits += 1
                    return fault
        return None

    # ---- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve TLS on 127.0.0.1 on a free port from a daemon thread; a fresh CA per server."""
        if self._httpd is not None:
            return
        self._tmpdir = Path(tempfile.mkdtemp(prefix="fake-openshift-"))
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self.ca_path = self._tmpdir / "ca.crt"
        ca.cert_pem.write_to_path(str(self.ca_path))
        self._stopping.clear()
        self._httpd = _HTTPServer(self, ctx)
        self.url = f"https://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openshift", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, drop open connections and remove the CA files. Safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on an injected delay
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> FakeOpenShift:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_kubeconfig(
        self,
        path: str | Path,
        *,
        token: str,
        context: str = "fake",
        insecure: bool = False,
        namespace: str | None = None,
    ) -> Path:
        """Write a kubeconfig for this server and ``token`` (CA by file path, so no temp PEM files)."""
        if not self.url:
            raise RuntimeError("start() the server before writing a kubeconfig")
        cluster: Obj = {"server": self.url}
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        else:
            cluster["certificate-authority"] = str(self.ca_path)
        ctx: Obj = {"cluster": context, "user": context}
        if namespace:
            ctx["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": {"token": token}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
        }
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump(config, sort_keys=False))
        return out

    # ---- request handling -------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[Reply, str | None]:
        """Answer one request; returns the reply and the user name for the log."""
        split = urlsplit(raw_path)
        path = unquote(split.path) or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        ident = self.identity(token) if (token or not auth) else None
        user = ident.name if ident else None
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.status is not None:
                reply = status_reply(fault.status, f"injected fault: HTTP {fault.status}")
                if fault.body is not None:
                    reply.body = fault.body
                reply.fault = fault
                return reply, user
        if ident is None:
            return status_reply(401, "Unauthorized"), user
        try:
            reply = self._route(method, path, query, headers, body, ident)
        except BadRequest as exc:
            reply = status_reply(400, str(exc))
        reply.fault = fault
        return reply, user

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes, ident: Identity
    ) -> Reply:
        parts = [p for p in path.split("/") if p]
        snap = self._snapshot
        resource_prefix: tuple[str, str, list[str]] | None = None
        if len(parts) >= 3 and parts[0] == "api":
            resource_prefix = ("", parts[1], parts[2:])
        elif len(parts) >= 4 and parts[0] == "apis":
            resource_prefix = (parts[1], parts[2], parts[3:])
        if resource_prefix is None:
            if method != "GET":
                return _method_not_allowed()
            attrs = Attrs("get", path=path)
            if not snap.authorize(ident, attrs)[0]:
                return status_reply(403, _forbidden_message(ident, attrs, None), {})
            return self._non_resource(parts, snap)
        group, version, rest = resource_prefix
        return self._resource(method, group, version, rest, query, headers, body, ident, snap)

    # ---- discovery and other non-resource paths ---------------------------------------------------

    def _non_resource(self, parts: list[str], snap: _Snapshot) -> Reply:
        path = "/" + "/".join(parts)
        if path in ("/healthz", "/livez", "/readyz"):
            return Reply(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return Reply(200, KUBE_VERSION)
        if path == "/.well-known/oauth-authorization-server":
            issuer = f"https://oauth-openshift.{self.domain}"
            return Reply(
                200,
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/oauth/authorize",
                    "token_endpoint": f"{issuer}/oauth/token",
                    "scopes_supported": [
                        "user:check-access",
                        "user:full",
                        "user:info",
                        "user:list-projects",
                        "user:list-scoped-projects",
                    ],
                    "response_types_supported": ["code", "token"],
                    "grant_types_supported": ["authorization_code", "implicit"],
                    "code_challenge_methods_supported": ["plain", "S256"],
                },
            )
        versions = snap.group_versions()
        if path == "/api":
            return Reply(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": self.url.removeprefix("https://")}
                    ],
                },
            )
        if path == "/api/v1":
            return Reply(200, self._resource_list(snap, "", "v1"))
        if path == "/apis":
            groups = [self._api_group(g, vs) for g, vs in versions.items() if g]
            return Reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in versions and parts[1]:
            return Reply(200, {"kind": "APIGroup", "apiVersion": "v1", **self._api_group(parts[1], versions[parts[1]])})
        if len(parts) == 3 and parts[0] == "apis" and parts[2] in versions.get(parts[1], []) and parts[1]:
            return Reply(200, self._resource_list(snap, parts[1], parts[2]))
        return _no_resource()

    @staticmethod
    def _api_group(group: str, versions: list[str]) -> Obj:
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": dict(entries[0])}

    @staticmethod
    def _resource_list(snap: _Snapshot, group: str, version: str) -> Obj:
        resources = [entry for k in snap.kinds if (k.group, k.version) == (group, version) for entry in k.discovery()]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    # ---- resource requests ------------------------------------------------------------------------

    def _resource(
        self,
        method: str,
        group: str,
        version: str,
        rest: list[str],
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        ident: Identity,
        snap: _Snapshot,
    ) -> Reply:
        path_ns = ""
        if rest[0] == "namespaces" and len(rest) > 2 and rest[2] not in ("status", "finalize"):
            path_ns, rest = rest[1], rest[2:]
        resource = rest[0]
        name = rest[1] if len(rest) > 1 else ""
        subresource = "/".join(rest[2:])
        ns = path_ns
        if (group, resource) in (("", "namespaces"), ("project.openshift.io", "projects")) and name:
            ns = name  # RBAC sees a namespace (and OpenShift a project) as living in itself
        kind = snap.by_path.get((group, version, resource))
        is_review = kind is not None and resource in REVIEW_PLURALS

        # Read-only by design: every write, and watches, are refused before anything else.
        if method == "POST" and is_review and not name:
            verb = "create"
        elif method != "GET" or _truthy(query.get("watch")):
            return _method_not_allowed()
        else:
            verb = "get" if name else "list"

        attrs = Attrs(verb, ns, group, resource, subresource, name)
        allowed, _ = snap.authorize(ident, attrs)
        if not allowed and kind is not None and resource == "projects" and name:
            allowed = snap.project_visible(ident, name)
        if not allowed:
            details: Obj = {"group": group, "kind": resource}
            if name:
                details = {"name": name, **details}
            return status_reply(403, _forbidden_message(ident, attrs, kind), details)

        if kind is None or (path_ns and not kind.namespaced):
            return _no_resource()
        if kind.namespaced and name and not path_ns:
            return _no_resource()
        if verb == "create":
            return self._review(kind, headers, body, ident, snap)
        if kind.verbs == _CREATE_ONLY:
            return _method_not_allowed()
        if resource == "projectrequests":
            if name:
                return _method_not_allowed()
            return Reply(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        if resource == "projects":
            if name:
                obj = _project(snap, name) if name in snap.namespaces else None
                return self._one(kind, obj, name, subresource, query)
            return self._list(
                kind,
                [_project(snap, n) for n in sorted(snap.namespaces) if snap.project_visible(ident, n)],
                query,
                snap,
            )
        if group == "user.openshift.io" and resource == "users" and name == "~":
            return Reply(200, self._me(ident, snap))
        if name:
            return self._one(kind, snap.get(kind.group, kind.plural, path_ns, name), name, subresource, query)
        items = [o for (ons, _), o in snap.items(kind.group, kind.plural).items() if not path_ns or ons == path_ns]
        return self._list(kind, items, query, snap)

    def _one(self, kind: Kind, obj: Obj | None, name: str, subresource: str, query: dict[str, list[str]]) -> Reply:
        if obj is None:
            return _not_found(kind, name)
        if subresource == "log" and kind.plural == "pods" and kind.group == "":
            text = self._logs.get(_key(obj), "")
            if tail := (query.get("tailLines") or [""])[0]:
                if not tail.isdigit():
                    raise BadRequest(f"tailLines must be a non-negative integer: {tail!r}")
                lines = text.splitlines(keepends=True)
                text = "".join(lines[-int(tail) :]) if int(tail) > 0 else ""
            return Reply(200, text.encode(), "text/plain")
        if subresource and subresource not in kind.subresources:
            return _no_resource()
        return Reply(200, {**obj, "apiVersion": kind.api_version, "kind": kind.kind})

    def _list(self, kind: Kind, items: list[Obj], query: dict[str, list[str]], snap: _Snapshot) -> Reply:
        label_sel = (query.get("labelSelector") or [""])[0]
        field_sel = (query.get("fieldSelector") or [""])[0]
        label_reqs = parse_label_selector(label_sel)
        field_reqs = parse_field_selector(field_sel, kind)
        if label_reqs or field_reqs:
            items = [
                o
                for o in items
                if all(r.matches((o.get("metadata") or {}).get("labels") or {}) for r in label_reqs)
                and all(r.matches(o) for r in field_reqs)
            ]
        # etcd returns keys in byte order of "<namespace>/<name>"; continue tokens resume after the last key.
        items = sorted(items, key=lambda o: "/".join(_key(o)))
        if token := (query.get("continue") or [""])[0]:
            start = _decode_continue(token)
            items = [o for o in items if "/".join(_key(o)) > start]
        meta: Obj = {"resourceVersion": str(snap.rv)}
        try:
            limit = int((query.get("limit") or ["0"])[0] or 0)
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        if 0 < limit < len(items):
            rest = len(items) - limit
            items = items[:limit]
            meta["continue"] = _encode_continue(snap.rv, "/".join(_key(items[-1])))
            if not (label_reqs or field_reqs):  # the real server cannot count through selectors
                meta["remainingItemCount"] = rest
        out = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
        return Reply(200, {"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": meta, "items": out})

    def _me(self, ident: Identity, snap: _Snapshot) -> Obj:
        """``users/~``: the stored User, or a virtual one built from the request (service accounts)."""
        stored = None if ident.service_account else snap.get("user.openshift.io", "users", "", ident.name)
        if stored is not None:
            return {**stored, "apiVersion": "user.openshift.io/v1", "kind": "User"}
        meta: Obj = {"name": ident.name, "creationTimestamp": None}
        if ident.uid:
            meta["uid"] = ident.uid
        return {
            "kind": "User",
            "apiVersion": "user.openshift.io/v1",
            "metadata": meta,
            "identities": None,
            "groups": sorted(set(ident.groups)),
        }

    # ---- reviews ----------------------------------------------------------------------------------

    def _review(self, kind: Kind, headers: dict[str, str], body: bytes, ident: Identity, snap: _Snapshot) -> Reply:
        ctype = headers.get("content-type", "application/json").split(";")[0].strip()
        if ctype == PROTOBUF:
            req = decode_review_protobuf(body)
        else:
            try:
                req = json.loads(body or b"{}")
            except ValueError as exc:
                raise BadRequest(f"invalid JSON body: {exc}") from None
            if not isinstance(req, dict):
                raise BadRequest("body must be a JSON object")
        spec = req.get("spec") or {}
        out: Obj = {
            "kind": kind.kind,
            "apiVersion": kind.api_version,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
        }
        if kind.plural == "selfsubjectreviews":
            user_info: Obj = {"username": ident.name, "groups": list(ident.groups)}
            if ident.uid:
                user_info["uid"] = ident.uid
            if not ident.service_account:
                user_info["extra"] = {"scopes.authorization.openshift.io": ["user:full"]}
            out.pop("spec")
            out["status"] = {"userInfo": user_info}
        elif kind.plural == "selfsubjectrulesreviews":
            out["status"] = self._rules(ident, str(spec.get("namespace") or ""), snap)
        else:
            subject = ident
            if kind.plural == "subjectaccessreviews":
                if not spec.get("user") and not spec.get("groups"):
                    return status_reply(
                        422,
                        "SubjectAccessReview.authorization.k8s.io is invalid: spec.user: "
                        'Invalid value: "": at least one of user or group must be specified',
                    )
                subject = Identity(str(spec.get("user") or ""), tuple(spec.get("groups") or ()))
            attrs = _review_attrs(spec)
            allowed, reason = snap.authorize(subject, attrs)
            status: Obj = {"allowed": allowed}
            if reason:
                status["reason"] = reason
            out["status"] = status
        return Reply(201, out)

    @staticmethod
    def _rules(ident: Identity, namespace: str, snap: _Snapshot) -> Obj:
        resource_rules: list[Obj] = []
        non_resource: list[Obj] = []
        for _, _, _, rules in snap.grants(ident, namespace):
            for r in rules:
                if r.get("nonResourceURLs"):
                    non_resource.append({"verbs": list(r.get("verbs") or []), "nonResourceURLs": list(r["nonResourceURLs"])})
                else:
                    entry = {k: list(r.get(k) or []) for k in ("verbs", "apiGroups", "resources")}
                    if r.get("resourceNames"):
                        entry["resourceNames"] = list(r["resourceNames"])
                    resource_rules.append(entry)
        return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}


def _review_attrs(spec: Obj) -> Attrs:
    if ra := spec.get("resourceAttributes"):
        return Attrs(
            str(ra.get("verb") or ""),
            str(ra.get("namespace") or ""),
            str(ra.get("group") or ""),
            str(ra.get("resource") or ""),
            str(ra.get("subresource") or ""),
            str(ra.get("name") or ""),
        )
    nra = spec.get("nonResourceAttributes") or {}
    return Attrs(str(nra.get("verb") or ""), path=str(nra.get("path") or "/"))


def _project(snap: _Snapshot, name: str) -> Obj:
    ns = snap.get("", "namespaces", "", name) or {}
    meta = {k: v for k, v in (ns.get("metadata") or {}).items() if k != "namespace"}
    return {
        "kind": "Project",
        "apiVersion": "project.openshift.io/v1",
        "metadata": meta,
        "spec": ns.get("spec") or {"finalizers": ["kubernetes"]},
        "status": ns.get("status") or {"phase": "Active"},
    }


def _truthy(values: list[str] | None) -> bool:
    return values is not None and bool(values) and values[-1].lower() in ("true", "1")


def _flatten(objects: Iterable[Obj]) -> Iterator[Obj]:
    """Accept ``kind: List`` wrappers as kubectl does."""
    for obj in objects:
        if obj is None:
            continue
        if isinstance(obj.get("items"), list) and str(obj.get("kind", "")).endswith("List"):
            yield from _flatten(obj["items"])
        else:
            yield obj


# --------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive clients must not make stop() wait
    request_queue_size = 256  # the default 5 drops bursts; clients then wait 1 s for a SYN retry
    allow_reuse_address = True

    def __init__(self, fake: FakeOpenShift, ssl_ctx: ssl.SSLContext) -> None:
        self.fake = fake
        self.ssl_ctx = ssl_ctx
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # clients hang up, fail handshakes, or we closed them in stop(): not worth a traceback
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body hit Nagle + delayed ACK: ~45 ms per request
    timeout = IDLE_TIMEOUT
    server: _HTTPServer

    def setup(self) -> None:
        raw: socket.socket = self.request
        with self.server.connections_lock:
            self.server.connections.add(raw)
        self._raw = raw
        raw.settimeout(10)
        try:
            # Handshake here, in the connection's thread, so a slow client cannot stall accept().
            self.request = self.server.ssl_ctx.wrap_socket(raw, server_side=True)
        except OSError:
            with self.server.connections_lock:
                self.server.connections.discard(raw)
            raise
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self._raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
                if sum(map(len, chunks)) > MAX_BODY:
                    return None
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        method = self.command
        body = self._body()
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        user: str | None = None
        if body is None:
            reply = status_reply(413, "request entity too large")
            self.close_connection = True
        else:
            try:
                reply, user = self.server.fake.handle(method, self.path, headers, body)
            except Exception as exc:  # a bug in the fake must surface as a 500, not a hung client
                reply = status_reply(500, f"fake API server error: {type(exc).__name__}: {exc}")
        body_out = reply.body
        payload = body_out if isinstance(body_out, bytes) else json.dumps(body_out, separators=(",", ":")).encode()
        fake = self.server.fake
        with fake._lock:
            fake.request_log.append(
                RequestRecord(method, unquote(split.path), parse_qs(split.query, keep_blank_values=True), user, reply.status)
            )
        fault = reply.fault
        if fault is not None and write_faulty(
            self, status=reply.status, content_type=reply.content_type, payload=payload, headers=fault.headers,
            drop=fault.drop, stall=fault.stall, truncate=fault.truncate, stopping=fake._stopping,
        ):
            return
        self.send_response(reply.status)
        for name, value in (fault.headers if fault is not None else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


# --------------------------------------------------------------------------------------------------
# Helpers for pytest fixtures (the lead wires them up in conftest.py)
# --------------------------------------------------------------------------------------------------

# name, token, groups: an admin (via OpenShift's cluster-admins binding) and two students.
STANDARD_USERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("admin", "tok-admin", ("system:cluster-admins",)),
    ("user1", "tok-user1", ("litemaas-admins",)),
    ("user2", "tok-user2", ("litemaas-admins",)),
)
STANDARD_SERVICE_ACCOUNTS: tuple[tuple[str, str, str], ...] = (("ai501", "grader", "tok-grader"),)


def add_standard_users(srv: FakeOpenShift) -> None:
    """Register STANDARD_USERS and STANDARD_SERVICE_ACCOUNTS."""
    for name, token, groups in STANDARD_USERS:
        srv.add_user(name, token=token, groups=groups)
    for ns, name, token in STANDARD_SERVICE_ACCOUNTS:
        srv.add_service_account(ns, name, token=token)


def running_server(objects: Iterable[Obj] = (), *, domain: str = DEFAULT_DOMAIN) -> Generator[FakeOpenShift, None, None]:
    """Generator for a pytest fixture: a started server with the standard users, stopped afterwards.

    In conftest.py::

        fake_openshift = pytest.fixture(scope="session")(kube_api.running_server)

    Tests sharing it call ``srv.reset(objects)`` first.
    """
    srv = FakeOpenShift(domain=domain)
    add_standard_users(srv)
    srv.load(objects)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
