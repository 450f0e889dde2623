"""What one grading run needs to know, resolved flags > environment > profile > discovery.

Typer already gives a flag precedence over its environment variable; discovery (user from `users/~`, domain from
the cluster, URLs from Routes) happens later, in the snapshot, for whatever is still unset here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from maas_lab.errors import UsageError

if TYPE_CHECKING:  # imported when used: the CLI's start-up does not pay for hashing helpers
    from maas_lab.evidence.sensitive import Sensitive

DEFAULT_RUN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Settings:
    kubeconfig: str | None = None
    context: str | None = None
    user: str | None = None
    cluster_domain: str | None = None
    profile: str = "ai501"
    litemaas_url: str | None = None
    litellm_url: str | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    timeout: float = DEFAULT_RUN_TIMEOUT
    api_key_env: str | None = None
    on_behalf: bool = False  # roster rows without credentials: the invoking credentials grade `user`
    # `smoke` only: the student whose permissions are reviewed, the class to look for, model URLs by name
    sample_user: str | None = None
    roster_users: tuple[str, ...] = ()
    model_urls: tuple[tuple[str, str], ...] = ()

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_bundle or True

    @property
    def request_timeout(self) -> float:
        return max(1.0, min(10.0, self.timeout / 4))

    def student_api_key(self) -> Sensitive | None:
        """The key in the variable named by --api-key-env (a key is never a flag value)."""
        from maas_lab.evidence.sensitive import Sensitive

        if not self.api_key_env:
            return None
        value = os.environ.get(self.api_key_env, "").strip()
        if not value:
            raise UsageError(f"--api-key-env {self.api_key_env}: that environment variable is empty or unset")
        return Sensitive(value)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def validate(settings: Settings) -> Settings:
    if settings.ca_bundle and not os.path.isfile(settings.ca_bundle):
        raise UsageError(f"--ca-bundle {settings.ca_bundle}: no such file")
    if settings.ca_bundle:
        from maas_lab.evidence.http import tls_context  # only grading commands validate: start-up stays light

        tls_context(settings.ca_bundle)  # a file that is not PEM is a usage error now, not a traceback later
    if not settings.timeout > 0 or settings.timeout == float("inf"):
        raise UsageError("--timeout must be a positive number of seconds")
    for name in ("litemaas_url", "litellm_url"):
        url = getattr(settings, name)
        if url is not None:
            _check_url(f"--{name.replace('_', '-')}", url)
    domain = settings.cluster_domain
    if domain is not None:
        if domain.startswith(("http://", "https://")):
            raise UsageError("--cluster-domain takes a domain such as apps.example.com, not a URL")
        if not _DOMAIN.fullmatch(domain):
            raise UsageError(f"--cluster-domain {domain!r} is not a domain name such as apps.example.com")
    return settings


def warnings_for(settings: Settings) -> list[str]:
    """Settings that are allowed but probably wrong: one line each, for stderr."""
    domain = settings.cluster_domain
    if domain and not domain.lower().startswith("apps."):
        return [
            f"--cluster-domain {domain} does not start with `apps.`; Route hosts are <name>-<namespace>.{domain}"
            f" (the apps domain usually is apps.{domain})"
        ]
    return []


_DOMAIN = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


def _check_url(option: str, url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{option} must start with http:// or https://")
    import httpx  # only grading commands validate: start-up stays light

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise UsageError(f"{option} {url!r} is not a valid URL") from None
    if not parsed.host:
        raise UsageError(f"{option} {url!r} names no host")
