"""The snapshot: every piece of evidence a run reads, each read once and memoised.

Checks ask the snapshot and never open a connection themselves. Ten checks that look at the same Deployments
cost one LIST; each distinct request (method, URL, query, credential) is made at most once per run.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx

from maas_lab.errors import ClusterUnreachable, CollectError, Forbidden, UsageError
from maas_lab.evidence.http import HttpAnswer, request
from maas_lab.evidence.install import Install, find_install
from maas_lab.evidence.kube import ApiFailure, KubeClient, forbidden
from maas_lab.evidence.litellm import LiteLLM
from maas_lab.evidence.litemaas import LiteMaaS, StudentUser, usable_admin_key
from maas_lab.evidence.sensitive import Redactor, Sensitive
from maas_lab.evidence.services import CredentialRejected, NamespaceAbsent, Unavailable
from maas_lab.profile import Profile
from maas_lab.settings import Settings

T = TypeVar("T")
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
# Secret keys that hold names and URLs, not secrets: they may appear in messages (everything else never does).
NOT_SECRET_KEYS = frozenset(
    {"oauth-client-id", "oauth-issuer", "oauth-callback-url", "cors-origin", "username", "ui-username"}
)


class StudentNotFound(Unavailable):
    """No LiteMaaS user matches the OpenShift user: the student never logged in."""


class Snapshot:
    def __init__(
        self,
        settings: Settings,
        profile: Profile,
        *,
        kube: KubeClient | None,
        http: httpx.Client,
        now: datetime | None = None,
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.kube = kube
        self.http = http
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
        """Close the HTTP and cluster connections."""
        self.http.close()
        if self.kube is not None:
            self.kube.close()

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

    def _kube(self) -> KubeClient:
        if self.kube is None:
            raise ClusterUnreachable("no cluster connection")
        return self.kube

    def preflight(self) -> None:
        """Resolve the user and the apps domain; grader-side failures raise (the run cannot grade)."""
        account = self.account()
        if self._user is None:
            name = str(((account or {}).get("metadata") or {}).get("name") or "")
            if not name or name.startswith(SERVICE_ACCOUNT_PREFIX):
                raise UsageError(
                    f"these credentials belong to {name or 'no user'}; pass --user NAME to say which student to grade"
                )
            self._user = name
        if self._domain is None:
            self._domain = self._discover_domain()

    def account(self) -> dict[str, Any] | None:
        """The OpenShift User being graded (`users/~`, or `users/<name>` when grading on someone's behalf)."""

        def read() -> dict[str, Any] | None:
            path = "/apis/user.openshift.io/v1/users/~"
            if self.settings.on_behalf and self._user:
                path = f"/apis/user.openshift.io/v1/users/{self._user}"
            try:
                return self._kube().get(path)
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

    def _discover_domain(self) -> str | None:
        kube = self._kube()
        try:
            domain = (kube.get("/apis/config.openshift.io/v1/ingresses/cluster").get("spec") or {}).get("domain")
            if domain:
                return str(domain)
        except ApiFailure:
            pass  # ordinary users may not read cluster config; the OAuth issuer is public
        try:
            issuer = str(kube.get("/.well-known/oauth-authorization-server").get("issuer") or "")
            host = urlparse(issuer).hostname or ""
            if host.startswith("oauth-openshift."):
                return host[len("oauth-openshift.") :]
        except ApiFailure:
            pass
        host = urlparse(kube.server).hostname or ""
        if host.startswith("api."):
            self.note(f"apps domain guessed from the API server name: apps.{host[4:]} (pass --cluster-domain if wrong)")
            return f"apps.{host[4:]}"
        self.note("the apps domain is unknown; pass --cluster-domain to check Route hosts")
        return None

    def ns(self, role: str) -> str:
        """The student's namespace for `role`: maas, canopy, test, toolings or shared."""
        return self.profile.namespace(role, self.user)

    # -- the cluster ---------------------------------------------------------------------------------------

    def projects(self) -> set[str] | None:
        """Names of the projects the credentials can see (None where the projects API is not readable)."""

        def read() -> set[str] | None:
            try:
                body = self._kube().get("/apis/project.openshift.io/v1/projects")
            except ApiFailure:
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
                self._kube().get(f"/api/v1/namespaces/{namespace}")
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
                return self._kube().list(plural, namespace)
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
                return self._kube().get(path)
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
            try:
                value = base64.b64decode(str(encoded)).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                continue
            if key not in NOT_SECRET_KEYS:
                self.redactor.remember(value)
            values[key] = Sensitive(value)
        return values

    def can(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None) -> bool:
        """An access review for the graded user (SelfSubjectAccessReview, or SubjectAccessReview on their behalf)."""
        attributes: dict[str, Any] = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace

        def review() -> bool:
            kube = self._kube()
            try:
                if self.settings.on_behalf:
                    groups = list(((self.account() or {}).get("groups")) or [])
                    groups += ["system:authenticated", "system:authenticated:oauth"]
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
        return f"https://{host}"

    @property
    def litellm(self) -> LiteLLM:
        def build() -> LiteLLM:
            install = self.require_install()
            values = self.secret(self.ns("maas"), install.litellm_secret) or {}
            return LiteLLM(
                self.fetch, self.service_url("litellm"), values.get("master-key"), secret_name=install.litellm_secret
            )

        return self.once(("litellm",), build)

    @property
    def litemaas(self) -> LiteMaaS:
        def build() -> LiteMaaS:
            install = self.require_install()
            values = self.secret(self.ns("maas"), install.backend_secret) or {}
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
        return self.once(("student",), self._find_student)

    def _find_student(self) -> StudentUser:
        litemaas = self.litemaas
        wanted = self.user.lower()
        if litemaas.admin_key is not None:
            try:
                rows = litemaas.users()
            except Unavailable:
                rows = None  # the admin key was refused; find the user through LiteLLM instead
            if rows is not None:
                row = _match(rows, wanted, "username", "email", lambda r: bool(r.get("isActive", True)))
                student = StudentUser(
                    id=str(row["id"]),
                    username=str(row.get("username") or ""),
                    email=str(row.get("email") or ""),
                    roles=frozenset(str(r) for r in row.get("roles") or []),
                    litellm_role=None,
                    source="litemaas",
                )
                litemaas.act_as(student)
                return student
        row = _match(self.litellm.users(), wanted, "user_alias", "user_email", lambda r: True)
        student = StudentUser(
            id=str(row["user_id"]),
            username=str(row.get("user_alias") or self.user),
            email=str(row.get("user_email") or ""),
            roles=None,
            litellm_role=str(row.get("user_role") or "") or None,
            source="litellm",
        )
        litemaas.act_as(student)
        if litemaas.has_jwt:
            try:
                mine = _match(litemaas.users(), wanted, "username", "email", lambda r: bool(r.get("isActive", True)))
            except (CredentialRejected, StudentNotFound):
                return student
            student = StudentUser(
                id=str(mine["id"]),
                username=student.username,
                email=student.email,
                roles=frozenset(str(r) for r in mine.get("roles") or []),
                litellm_role=student.litellm_role,
                source="litemaas",
            )
        return student

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
        credential = Sensitive(auth[1]).sha256 if auth else None
        if auth:
            self.redactor.remember(auth[1])
        key = ("http", method, url, json.dumps(params or {}, sort_keys=True), credential, json.dumps(json_body))

        def send() -> HttpAnswer:
            headers = {"Authorization": f"{auth[0]} {auth[1]}"} if auth else None
            return request(self.http, method, url, params=params, headers=headers, json_body=json_body)

        return self.once(key, send)


def _match(
    rows: list[dict[str, Any]], wanted: str, name_field: str, email_field: str, active: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The active user whose name is `wanted` (case-insensitive), else the one whose email is."""
    live = [r for r in rows if active(r)]
    for field in (name_field, email_field):
        found = [r for r in live if str(r.get(field) or "").lower() == wanted]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(sorted(str(r.get(name_field)) for r in found))
            raise CollectError(f"several LiteMaaS users match {wanted}: {names}")
    raise StudentNotFound(
        f"no LiteMaaS user named {wanted}",
        hint="Log in to LiteMaaS once with your OpenShift account, then rerun.",
    )
