"""The snapshot: one student's evidence as the checks read it, each read once and memoised.

Checks ask the snapshot and never open a connection themselves. Ten checks that look at the same Deployments
cost one LIST; each distinct request (method, URL, query, credential) is made at most once per run. Where the raw
answers come from (the cluster, a class-wide collection, an evidence bundle) is the source's business
(maas_lab.evidence.sources); the collector (maas_lab.evidence.collector) picks the source and fills the snapshot.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from maas_lab import verbose
from maas_lab.errors import ClusterUnreachable, Forbidden
from maas_lab.evidence.discovery import discover_domain, user_of
from maas_lab.evidence.http import HttpAnswer, make_client
from maas_lab.evidence.install import Install, find_install
from maas_lab.evidence.kube import ApiFailure, KubeClient, forbidden
from maas_lab.evidence.litellm import LiteLLM
from maas_lab.evidence.litemaas import LiteMaaS, StudentUser, usable_admin_key
from maas_lab.evidence.sensitive import Redactor, Sensitive
from maas_lab.evidence.services import NamespaceAbsent, Unavailable
from maas_lab.evidence.sources import LiveSource, Source, http_key
from maas_lab.evidence.student import StudentNotFound, find_student
from maas_lab.profile import Profile
from maas_lab.settings import Settings

T = TypeVar("T")
GROUPS = "/apis/user.openshift.io/v1/groups"
# Secret keys that hold names and URLs, not secrets: they may appear in messages (everything else never does).
NOT_SECRET_KEYS = frozenset(
    {"oauth-client-id", "oauth-issuer", "oauth-callback-url", "cors-origin", "username", "ui-username"}
)


class Snapshot:
    """One student's evidence, as the checks read it."""

    def __init__(
        self,
        settings: Settings,
        profile: Profile,
        *,
        source: Source | None = None,
        kube: KubeClient | None = None,
        http: httpx.Client | None = None,
        now: datetime | None = None,
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.source: Source = source or LiveSource(kube, http or make_client())
        self.now = now or datetime.now(UTC)
        self.redactor = Redactor()
        self.notes: list[str] = []
        self._memo: dict[Any, tuple[bool, Any]] = {}
        self._user = settings.user
        self._domain = settings.cluster_domain

    # -- memoisation ---------------------------------------------------------------------------------------

    def once(self, key: Any, produce: Callable[[], T]) -> T:
        """Run `produce` once per key; a failure is remembered and raised again, not retried."""
        if key not in self._memo:
            try:
                self._memo[key] = (True, produce())
            except Exception as exc:  # remembered, re-raised to every check that asks
                self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the source's connections (a shared source keeps them for the other students)."""
        self.source.close()

    def personalise(self, text: str) -> str:
        """Fill the lessons' placeholders in a hint with the student's own names, where known."""
        if self._user:
            text = text.replace("<USER_NAME>", self._user)
        if self._domain:
            text = text.replace("<CLUSTER_DOMAIN>", self._domain)
        return text

    def redact(self, text: str) -> str:
        return self.redactor.scrub(text)

    def redact_evidence(self, evidence: dict[str, Any]) -> dict[str, Any]:
        scrubbed: dict[str, Any] = self.redactor.scrub_data(evidence)
        return scrubbed

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- who and where -----------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Resolve the user and the apps domain; grader-side failures raise (the run cannot grade)."""
        account = self.account()
        if self._user is None:
            self._user = user_of(account)
        if self._domain is None:
            self._domain = discover_domain(self.source, self.note)

    def account(self) -> dict[str, Any] | None:
        """The OpenShift User being graded (`users/~`, or `users/<name>` when grading on someone's behalf)."""

        def read() -> dict[str, Any] | None:
            path = "/apis/user.openshift.io/v1/users/~"
            if self.settings.on_behalf and self._user:
                path = f"/apis/user.openshift.io/v1/users/{self._user}"
            try:
                return self.source.get(path)
            except ApiFailure as failure:
                if failure.status == 404 and self.settings.on_behalf:
                    return None
                raise Forbidden(f"cannot read {path}: {failure.message}") from None

        return self.once(("account",), read)

    @property
    def user(self) -> str:
        if self._user is None:
            raise ClusterUnreachable("the user to grade is not known (preflight did not run)")
        return self._user

    @property
    def user_or_none(self) -> str | None:
        return self._user

    @property
    def domain_or_none(self) -> str | None:
        return self._domain

    def ns(self, role: str) -> str:
        """The student's namespace for `role`: maas, canopy, test, toolings or shared."""
        return self.profile.namespace(role, self.user)

    # -- the cluster ---------------------------------------------------------------------------------------

    def projects(self) -> set[str] | None:
        """Names of the projects the credentials can see (None where the projects API is not readable)."""

        def read() -> set[str] | None:
            try:
                body = self.source.get("/apis/project.openshift.io/v1/projects")
            except ApiFailure:
                return None
            except ClusterUnreachable:  # a slow answer for all projects must not fail the student: ask per namespace
                self.note("the list of projects did not come in time; each namespace was read instead")
                return None
            return {str(item["metadata"]["name"]) for item in body.get("items") or []}

        return self.once(("projects",), read)

    def namespace_exists(self, namespace: str) -> bool:
        projects = self.projects()
        # On someone's behalf the list holds only what the grader may see: confirm an absence by name below.
        if projects is not None and (namespace in projects or not self.settings.on_behalf):
            return namespace in projects

        def read() -> bool:
            try:
                self.source.get(f"/api/v1/namespaces/{namespace}")
                return True
            except ApiFailure as failure:
                if failure.status == 404:
                    return False
                raise forbidden(failure) from None

        return self.once(("namespace", namespace), read)

    def objects(self, plural: str, namespace: str, *, owned: bool = True) -> list[dict[str, Any]]:
        """All objects of a kind in a namespace (one LIST, reused by every check).

        In the student's own (`owned`) namespaces a 403 for a project they cannot see means "not created yet";
        anywhere else it is a missing permission of the grader.
        """

        def read() -> list[dict[str, Any]]:
            try:
                return self.source.list(plural, namespace)
            except ApiFailure as failure:
                if failure.status == 404:
                    return []  # the kind is not installed (optional CRD) or, for an admin, no such namespace
                if failure.status == 403 and owned and not self.namespace_exists(namespace):
                    raise NamespaceAbsent(f"namespace {namespace} does not exist") from None
                raise forbidden(failure) from None

        return self.once(("list", plural, namespace), read)

    def find(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.objects(plural, namespace) if o["metadata"]["name"] == name), None)

    def cluster_object(self, path: str) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            try:
                return self.source.get(path)
            except ApiFailure as failure:
                if failure.status == 404:
                    return None
                raise forbidden(failure) from None

        return self.once(("get", path), read)

    def secret(self, namespace: str, name: str) -> dict[str, Sensitive] | None:
        """A Secret's values, decoded in memory; every value is remembered so no output can show it."""
        obj = self.find("secrets", namespace, name)
        if obj is None:
            return None
        values: dict[str, Sensitive] = {}
        for key, encoded in (obj.get("data") or {}).items():
            if isinstance(encoded, dict):  # from an evidence bundle: the value's stand-in
                value = str(encoded.get("text") or "")
            else:
                try:
                    value = base64.b64decode(str(encoded)).decode("utf-8", "replace")
                except (binascii.Error, ValueError):
                    continue
            if key not in NOT_SECRET_KEYS:
                self.redactor.remember(value)
            values[key] = Sensitive(value)
        return values

    def groups(self) -> list[str]:
        """The graded user's groups: the User's own `groups`, and the Group objects that list them (OpenShift keeps
        membership there). One LIST of Groups, shared by a whole class; unreadable Groups add nothing."""

        def read() -> list[str]:
            groups = [str(g) for g in (self.account() or {}).get("groups") or []]
            try:
                listed = self.source.get(GROUPS).get("items") or []
            except ApiFailure:
                listed = []
            member_of = (str(g["metadata"]["name"]) for g in listed if self.user in (g.get("users") or []))
            return list(dict.fromkeys([*groups, *member_of]))

        return self.once(("groups",), read)

    def can(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None) -> bool:
        """An access review for the graded user (SelfSubjectAccessReview, or SubjectAccessReview on their behalf)."""
        attributes: dict[str, Any] = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace

        def review() -> bool:
            kube = self.source
            try:
                if self.settings.on_behalf:
                    groups = [*self.groups(), "system:authenticated", "system:authenticated:oauth"]
                    spec = {"user": self.user, "groups": groups, "resourceAttributes": attributes}
                    body = kube.review("SubjectAccessReview", spec)
                else:
                    body = kube.review("SelfSubjectAccessReview", {"resourceAttributes": attributes})
            except ApiFailure as failure:
                raise forbidden(failure) from None
            return bool((body.get("status") or {}).get("allowed"))

        return self.once(("can", verb, resource, group, namespace), review)

    # -- the LiteMaaS install --------------------------------------------------------------------------------

    @property
    def install(self) -> Install | None:
        def detect() -> Install | None:
            namespace = self.ns("maas")
            found = find_install(self.objects("deployments", namespace), self.objects("statefulsets", namespace))
            if found and found.note:
                self.note(found.note)
            return found

        return self.once(("install",), detect)

    def require_install(self) -> Install:
        install = self.install
        if install is None:
            raise Unavailable(f"no LiteMaaS install found in {self.ns('maas')}")
        return install

    def route_host(self, route_name: str) -> str | None:
        route = self.find("routes", self.ns("maas"), route_name)
        if route is None:
            return None
        ingress = ((route.get("status") or {}).get("ingress") or [{}])[0]
        return str((route.get("spec") or {}).get("host") or ingress.get("host") or "") or None

    def service_url(self, service: str) -> str:
        """`litemaas` or `litellm`: the override when given, else https:// + the Route host."""
        override = self.settings.litemaas_url if service == "litemaas" else self.settings.litellm_url
        if override:
            return override.rstrip("/")
        install = self.require_install()
        route_name = install.frontend_route if service == "litemaas" else install.litellm_route
        host = self.route_host(route_name)
        if host is None:
            raise Unavailable(f"no Route {route_name} in {self.ns('maas')}", hint="See 2.routes.")
        verbose.service_url(service, f"https://{host}", f"Route {route_name} in {self.ns('maas')}")
        return f"https://{host}"

    @property
    def litellm(self) -> LiteLLM:
        def build() -> LiteLLM:
            install = self.require_install()
            values = self.secret(self.ns("maas"), install.litellm_secret) or {}
            verbose.credential("LiteLLM", f"master-key from Secret {install.litellm_secret}")
            return LiteLLM(
                self.fetch, self.service_url("litellm"), values.get("master-key"), secret_name=install.litellm_secret
            )

        return self.once(("litellm",), build)

    @property
    def litemaas(self) -> LiteMaaS:
        def build() -> LiteMaaS:
            install = self.require_install()
            values = self.secret(self.ns("maas"), install.backend_secret) or {}
            verbose.litemaas_credentials(install.backend_secret, keys=set(values))
            return LiteMaaS(
                self.fetch,
                self.service_url("litemaas"),
                admin_key=usable_admin_key(values.get("admin-api-keys")),
                jwt_secret=values.get("jwt-secret"),
                secret_name=install.backend_secret,
            )

        return self.once(("litemaas",), build)

    @property
    def student_litemaas(self) -> LiteMaaS:
        """The LiteMaaS reader with the student's JWT minted (self-scoped reads, and the admin fallback)."""
        self.student  # noqa: B018  (finding the student mints the JWT)
        return self.litemaas

    @property
    def student(self) -> StudentUser:
        """The student's LiteMaaS user; raises StudentNotFound when they never logged in."""
        return self.once(("student",), lambda: find_student(self.litemaas, lambda: self.litellm, self.user))

    # -- HTTP ----------------------------------------------------------------------------------------------

    def fetch(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        auth: tuple[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpAnswer:
        """One memoised HTTP request; `auth` is (scheme, credential) and is never stored in the memo key."""
        if auth:
            self.redactor.remember(auth[1])
        key = ("http", http_key(method, url, params, auth, json_body))
        return self.once(key, lambda: self.source.fetch(method, url, params=params, auth=auth, json_body=json_body))


__all__ = ["NOT_SECRET_KEYS", "Snapshot", "StudentNotFound"]  # StudentNotFound: the checks import it from here
