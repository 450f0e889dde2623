"""Who is graded and on which cluster: the user of the credentials, the apps domain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from maas_lab import verbose
from maas_lab.errors import UsageError
from maas_lab.evidence.kube import ApiFailure
from maas_lab.evidence.sources import Source

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


def user_of(account: dict[str, Any] | None) -> str:
    """The user name of `users/~`; a service account (or nobody) cannot say which student to grade."""
    name = str(((account or {}).get("metadata") or {}).get("name") or "")
    if not name or name.startswith(SERVICE_ACCOUNT_PREFIX):
        raise UsageError(f"these credentials belong to {name or 'no user'}; pass --user NAME to say which student to grade")
    verbose.found("user", name, "users/~ of the credentials")
    return name


def discover_domain(source: Source, note: Callable[[str], None]) -> str | None:
    """`spec.domain` of ingresses/cluster, else the OAuth issuer's host minus `oauth-openshift.`, else a guess."""
    try:
        domain = (source.get("/apis/config.openshift.io/v1/ingresses/cluster").get("spec") or {}).get("domain")
        if domain:
            verbose.found("apps domain", domain, "ingresses.config.openshift.io/cluster")
            return str(domain)
    except ApiFailure:
        pass  # ordinary users may not read cluster config; the OAuth issuer is public
    try:
        issuer = str(source.get("/.well-known/oauth-authorization-server").get("issuer") or "")
        host = urlparse(issuer).hostname or ""
        if host.startswith("oauth-openshift."):
            verbose.found("apps domain", host[len("oauth-openshift.") :], f"the OAuth issuer {issuer}")
            return host[len("oauth-openshift.") :]
    except ApiFailure:
        pass
    host = urlparse(source.server).hostname or ""
    if host.startswith("api."):
        verbose.found("apps domain", f"apps.{host[4:]}", "a guess from the API server's host name")
        note(f"apps domain guessed from the API server name: apps.{host[4:]} (pass --cluster-domain if wrong)")
        return f"apps.{host[4:]}"
    note("the apps domain is unknown; pass --cluster-domain to check Route hosts")
    verbose.found("apps domain", "unknown", "nowhere: no ingress domain, OAuth issuer or api. host")
    return None
