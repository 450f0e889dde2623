"""One collection for a class: each kind LISTed once cluster-wide, split by namespace into every student's view.

A SelfSubjectAccessReview per kind asks whether the invoking credential may list it across namespaces; where it
may not, that kind falls back to today's per-namespace reads. Cluster-wide facts (the apps domain, the OAuth
issuer, projects, Users, Groups, OAuthClients, the shared models in `ai501`) are read once per run. What is per student
stays per student: access reviews on a student's behalf, and their LiteMaaS, LiteLLM and Routes.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from maas_lab.evidence.http import HttpAnswer, request
from maas_lab.evidence.kube import KINDS, PAGE_SIZE, ApiFailure, KubeClient
from maas_lab.evidence.sources import Auth

T = TypeVar("T")
PROJECTS = "/apis/project.openshift.io/v1/projects"
GROUPS = "/apis/user.openshift.io/v1/groups"
PAGINATED = frozenset({PROJECTS, GROUPS})
# Cluster-wide GETs whose answer is the same for every student.
SHARED_GETS = frozenset({"/apis/config.openshift.io/v1/ingresses/cluster", "/.well-known/oauth-authorization-server", *PAGINATED})
# Cluster-scoped kinds a student's snapshot GETs by name: answered from one LIST of the kind.
BY_NAME = {
    "/apis/user.openshift.io/v1/users/": ("user.openshift.io", "users"),
    "/apis/oauth.openshift.io/v1/oauthclients/": ("oauth.openshift.io", "oauthclients"),
}


def _group_of(prefix: str) -> str:
    return "" if prefix == "/api/v1" else prefix.split("/")[2]


class Cohort:
    """Reads shared by every student of a run; each made at most once, failures remembered like answers."""

    def __init__(self, kube: KubeClient, http: httpx.Client) -> None:
        self.kube = kube
        self.http = http
        self.server = kube.server
        self._memo: dict[Any, tuple[bool, Any]] = {}
        self._locks: dict[Any, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def once(self, key: Any, produce: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks[key]
        with lock:  # a second student asking waits for the first answer instead of asking again
            if key not in self._memo:
                try:
                    self._memo[key] = (True, produce())
                except Exception as exc:
                    self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def may_list(self, group: str, plural: str) -> bool:
        """May the invoking credential LIST this kind in every namespace? (one SelfSubjectAccessReview a kind)"""

        def ask() -> bool:
            spec = {"resourceAttributes": {"verb": "list", "group": group, "resource": plural}}
            try:
                body = self.kube.review("SelfSubjectAccessReview", spec)
            except ApiFailure:
                return False
            return bool((body.get("status") or {}).get("allowed"))

        return self.once(("may-list", group, plural), ask)

    def list_all(self, path: str) -> list[dict[str, Any]]:
        """Every item at `path` across namespaces, page by page (`limit`/`continue`)."""
        items: list[dict[str, Any]] = []
        params = {"limit": str(PAGE_SIZE)}
        while True:
            page = self.kube.get(path, params)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            params = {**params, "continue": token}

    def by_namespace(self, plural: str) -> dict[str, list[dict[str, Any]]] | None:
        """The kind's items split by namespace, or None where the credential may not list it cluster-wide."""
        prefix = KINDS[plural]
        if not self.may_list(_group_of(prefix), plural):
            return None

        def read() -> dict[str, list[dict[str, Any]]] | None:
            try:
                items = self.list_all(f"{prefix}/{plural}")
            except ApiFailure as failure:
                if failure.status == 404:
                    return {}  # the kind is not installed here (optional CRD)
                return None  # refused after all: per-namespace reads
            split: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for item in items:
                split[str((item.get("metadata") or {}).get("namespace") or "")].append(item)
            return dict(split)

        return self.once(("by-namespace", plural), read)

    def by_name(self, group: str, plural: str, path: str) -> dict[str, dict[str, Any]] | None:
        if not self.may_list(group, plural):
            return None

        def read() -> dict[str, dict[str, Any]] | None:
            try:
                return {str(i["metadata"]["name"]): i for i in self.list_all(path)}
            except ApiFailure:
                return None

        return self.once(("by-name", plural), read)

    def shared_get(self, path: str) -> dict[str, Any]:
        if path in PAGINATED:  # paginated like any LIST, and made once however large the class
            return self.once(("get", path), lambda: {"items": self.list_all(path)})
        return self.once(("get", path), lambda: self.kube.get(path))

    def view(self) -> CohortSource:
        return CohortSource(self)

    def close(self) -> None:
        self.kube.close()


class CohortSource:
    """One student's view of the class-wide reads; what the cohort cannot answer is read per namespace."""

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort
        self.server = cohort.server

    def get(self, path: str) -> dict[str, Any]:
        if path in SHARED_GETS:
            return self.cohort.shared_get(path)
        for prefix, (group, plural) in BY_NAME.items():
            name = path[len(prefix) :]
            if path.startswith(prefix) and name and "/" not in name and name != "~":
                known = self.cohort.by_name(group, plural, prefix.rstrip("/"))
                if known is None:
                    break
                if name not in known:
                    raise ApiFailure(404, f'{plural}.{group} "{name}" not found', path)
                return known[name]
        return self.cohort.kube.get(path)

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        split = self.cohort.by_namespace(plural)
        if split is None:
            return self.cohort.kube.list(plural, namespace)
        return list(split.get(namespace, []))

    def review(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self.cohort.kube.review(kind, spec)

    def fetch(
        self, method: str, url: str, *, params: dict[str, Any] | None, auth: Auth | None, json_body: Any
    ) -> HttpAnswer:
        headers = {"Authorization": f"{auth[0]} {auth[1]}"} if auth else None
        return request(self.cohort.http, method, url, params=params, headers=headers, json_body=json_body)

    def close(self) -> None:
        return None  # the connections are the class's, closed once at the end of the run
