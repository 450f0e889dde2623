"""Every error maas-lab raises on purpose.

    MaasLabError
    ├── UsageError            bad flag, unknown lesson or check id, unreadable file     → exit 2
    ├── ProfileError          a profile that does not validate                          → exit 3
    └── CollectError          the grader could not read evidence (never the student's fault) → check `error`
        ├── ClusterUnreachable    DNS, refused connection, timeout on the API server
        ├── CredentialsRejected   the grader's own cluster credentials got a 401        → exit 3
        ├── Forbidden             a 403 the setup does not explain (names the permission)
        ├── ApiServerError        the API server answered 5xx or 429 (after one retry)
        ├── ServiceUnreachable    DNS, refused connection or timeout on LiteMaaS/LiteLLM
        ├── TLSVerifyFailed       certificate verification failed (hint: --ca-bundle)
        ├── ServiceError          an unexpected answer from LiteMaaS or LiteLLM
        └── RunTimedOut           the run's --timeout ran out (before or during a request)

Messages never contain secret values: they are built from names, hosts and status codes only.
"""

from __future__ import annotations


class MaasLabError(Exception):
    """Base class; `str(error)` is a sentence meant for the user."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class UsageError(MaasLabError):
    """The command line or an input file is wrong (exit 2)."""


class ProfileError(MaasLabError):
    """The lab profile does not validate (exit 3)."""


class CollectError(MaasLabError):
    """Evidence could not be read; the checks that need it become `error`."""


class ClusterUnreachable(CollectError):
    hint = "Check the API server URL in your kubeconfig and your network (oc whoami --show-server)."


class CredentialsRejected(CollectError):
    hint = "Your cluster token was rejected (expired?). Log in again with `oc login` and rerun."


class Forbidden(CollectError):
    hint = "The grader's credentials lack a read permission; ask your instructor."


class ApiServerError(CollectError):
    hint = "The API server had a problem of its own (not your work); rerun in a minute."


class ServiceUnreachable(CollectError):
    hint = "The service did not answer; check the Route/URL, or pass --litemaas-url / --litellm-url."


class TLSVerifyFailed(CollectError):
    hint = "TLS verification failed: pass --ca-bundle PATH with the cluster's CA (or --insecure on a lab cluster)."


class ServiceError(CollectError):
    hint = "The service answered unexpectedly; retry, and tell your instructor if it persists."


class RunTimedOut(CollectError):
    hint = "The run's --timeout ran out; rerun with a larger --timeout."
