"""Raw-JSON reads from the Kubernetes/OpenShift API with the official client (one ApiClient per credential).

Only GET and the access-review POSTs exist here: the grader is read-only by construction.
"""

from __future__ import annotations

import json
import os
import ssl
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from maas_lab import USER_AGENT, verbose
from maas_lab.errors import ApiServerError, ClusterUnreachable, CredentialsRejected, Forbidden, RunTimedOut, UsageError
from maas_lab.evidence import retry
from maas_lab.evidence.retry import UNBOUNDED, Deadline, Reset

DEFAULT_REQUEST_TIMEOUT = 10.0
PAGE_SIZE = 500

# plural → API path prefix; namespaced kinds only (cluster-scoped reads name their path).
KINDS: dict[str, str] = {
    "pods": "/api/v1",
    "services": "/api/v1",
    "secrets": "/api/v1",
    "configmaps": "/api/v1",
    "persistentvolumeclaims": "/api/v1",
    "serviceaccounts": "/api/v1",
    "deployments": "/apis/apps/v1",
    "statefulsets": "/apis/apps/v1",
    "routes": "/apis/route.openshift.io/v1",
    "inferenceservices": "/apis/serving.kserve.io/v1beta1",
    "llamastackdistributions": "/apis/llamastack.io/v1alpha1",
    "applications": "/apis/argoproj.io/v1alpha1",  # always argoproj.io: plain "applications" is ambiguous
    "sealedsecrets": "/apis/bitnami.com/v1alpha1",
}

REVIEW_PATHS = {
    "SelfSubjectAccessReview": "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    "SubjectAccessReview": "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    "SelfSubjectRulesReview": "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
}


class ApiFailure(Exception):
    """A non-2xx answer the caller may interpret (403 on a missing namespace is the student's side)."""

    def __init__(self, status: int, message: str, path: str) -> None:
        super().__init__(f"{path}: {status} {message}")
        self.status = status
        self.message = message
        self.path = path


class KubeClient:
    """One credential, one ApiClient; every call has an explicit timeout, the run's deadline and no hidden retries."""

    def __init__(
        self,
        api_client: k8s_client.ApiClient,
        *,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
        deadline: Deadline = UNBOUNDED,
    ) -> None:
        self._api = api_client
        self.timeout = timeout
        self.deadline = deadline
        configuration = api_client.configuration
        self.server = str(configuration.host)
        verbose.found("API server", self.server, "the credentials")
        self.insecure = not configuration.verify_ssl
        if self.insecure:
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | None,
        context: str | None,
        *,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
        deadline: Deadline = UNBOUNDED,
    ) -> KubeClient:
        """Load `path` (or $KUBECONFIG, or ~/.kube/config); in a pod without one, the service account.

        Like kubectl, a list of files joined by the path separator is merged (the first file to name a cluster,
        context, user or the current context wins).
        """
        source = _source(path)
        files = [os.path.expanduser(p) for p in source.value.split(os.pathsep) if p]
        existing = [f for f in files if os.path.exists(f)]
        configuration = k8s_client.Configuration()
        if not existing and source.option is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except k8s_config.ConfigException as exc:
                raise ClusterUnreachable(  # e.g. automountServiceAccountToken: false
                    f"in a pod without a usable service account token: {exc}",
                    hint="Mount the service account token (automountServiceAccountToken), or pass --kubeconfig PATH.",
                ) from None
            verbose.in_cluster()
            return cls(_api_client(configuration), timeout=timeout, deadline=deadline)
        if not existing:
            if source.option is None:
                raise ClusterUnreachable(
                    f"no kubeconfig at {source.value}", hint="Log in with `oc login` first, or pass --kubeconfig PATH."
                )
            raise UsageError(f"{source.describe()}: no such file")
        configs = [_read_kubeconfig(f, source) for f in existing]
        verbose.kubeconfig(existing, source.option, context, configs)
        if context is None:  # kubectl: the first file that sets current-context wins (the loader keeps the last)
            context = next((str(c["current-context"]) for c in configs if c.get("current-context")), None)
        try:
            k8s_config.load_kube_config(
                config_file=os.pathsep.join(existing),
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        except k8s_config.ConfigException as exc:
            raise UsageError(" ".join(f"cannot use {source.describe()}: {exc}".split())) from None  # one line
        except Exception as exc:  # the loader on a file of the wrong shape: say which file, never a traceback
            raise UsageError(f"cannot use {source.describe()}: {type(exc).__name__} while reading it") from None
        return cls(_api_client(configuration), timeout=timeout, deadline=deadline)

    def close(self) -> None:
        self._api.close()

    # -- reads --------------------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def list(self, plural: str, namespace: str, *, label_selector: str | None = None) -> list[dict[str, Any]]:
        """Every item of a namespaced kind, following `continue` tokens."""
        path = f"{KINDS[plural]}/namespaces/{namespace}/{plural}"
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {"limit": str(PAGE_SIZE)}
        if label_selector:
            params["labelSelector"] = label_selector
        while True:
            page = self.get(path, params)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            params = {**params, "continue": token}

    def review(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        """POST an access review (the only writes the grader makes: they change nothing, so they count as reads)."""
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
        return self._request("POST", REVIEW_PATHS[kind], body=body)

    @verbose.collecting
    def _request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Every call here reads, so a transient failure (reset, 429, 502-504) is retried once; nothing else is."""
        url = self.server.rstrip("/") + path + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        auth = self._api.configuration.auth_settings().get("BearerToken")
        if auth and auth.get("value"):
            headers["Authorization"] = str(auth["value"])
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode("utf-8")
        try:
            status, data, _ = retry.with_one_retry(
                lambda: self._send(method, url, headers, payload),
                retryable=True,  # every call here reads, the access reviews included
                deadline=self.deadline,
                status=lambda answer: answer[0],
                headers=lambda answer: answer[2],
            )
        except Reset as reset:
            raise ClusterUnreachable(f"the API server {self.server} dropped the connection ({reset}), twice") from None
        text = data.decode("utf-8", "replace")
        if 200 <= status < 300:
            try:
                parsed = json.loads(text)
            except ValueError:
                raise ClusterUnreachable(f"the API server answered {path} with something that is not JSON") from None
            return parsed if isinstance(parsed, dict) else {"value": parsed}
        message = _status_message(text) or f"HTTP {status}"
        if status == 401:
            raise CredentialsRejected(f"the API server {self.server} rejected the grader's credentials (401)")
        if status >= 500 or status == 429:
            raise ApiServerError(f"the API server {self.server} answered {path} with {status}: {message[:200]}")
        raise ApiFailure(status, message, path)

    def _send(
        self, method: str, url: str, headers: dict[str, str], payload: bytes | None
    ) -> tuple[int, bytes, dict[str, str]]:
        """One attempt: one connection at most, bounded by min(request bound, time the run has left)."""
        bound = self.deadline.bound(self.timeout, f"the API server {self.server}")
        started = time.monotonic()
        try:
            response = self._api.rest_client.pool_manager.request(
                method,
                url,
                headers=headers,
                body=payload,
                timeout=urllib3.Timeout(connect=min(5.0, bound), read=bound),
                retries=False,  # urllib3 would otherwise retry on its own, behind our back
                preload_content=False,
            )
            try:
                chunks = []
                for chunk in response.stream(64 * 1024):
                    chunks.append(chunk)
                    if time.monotonic() - started > bound:  # a body that trickles in never ends otherwise
                        raise TimeoutError("the answer did not end in time")
            finally:
                response.release_conn()
            return int(response.status), b"".join(chunks), dict(response.headers)
        except urllib3.exceptions.MaxRetryError as exc:  # not raised with retries=False; kept for safety
            raise self._translate(exc.reason or exc, bound) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate(exc, bound) from None

    def _translate(self, exc: BaseException, bound: float) -> Exception:
        if isinstance(exc, urllib3.exceptions.SSLError | ssl.SSLError):
            return ClusterUnreachable(
                f"TLS verification failed for the API server {self.server}",
                hint="Your kubeconfig's certificate authority does not match the server; log in again with `oc login`.",
            )
        if isinstance(exc, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return ClusterUnreachable(f"could not connect to the API server {self.server}")
        if isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError):
            if bound < self.timeout:
                return RunTimedOut(f"the run's --timeout was reached while waiting for the API server {self.server}")
            return ClusterUnreachable(f"the API server {self.server} did not answer within {bound:g} s")
        if isinstance(exc, urllib3.exceptions.ProtocolError | ConnectionError):
            return Reset(type(exc).__name__)
        return ClusterUnreachable(f"the API server {self.server} did not answer ({type(exc).__name__})")


class _Source:
    """Where the kubeconfig path came from, so that a message blames the right thing."""

    def __init__(self, value: str, option: str | None) -> None:
        self.value = value
        self.option = option  # "--kubeconfig", "KUBECONFIG", or None for the default file

    def describe(self) -> str:
        files = [p for p in self.value.split(os.pathsep) if p]
        if self.option == "KUBECONFIG":
            return f"KUBECONFIG ({', '.join(files)})"
        if self.option is None:
            return f"kubeconfig {self.value}"
        return f"--kubeconfig {self.value}"


def _source(path: str | None) -> _Source:
    environment = os.environ.get("KUBECONFIG")
    if path is None:
        if environment:
            return _Source(environment, "KUBECONFIG")
        return _Source(os.path.expanduser("~/.kube/config"), None)
    # The CLI fills --kubeconfig from KUBECONFIG itself: the same value means it came from there.
    return _Source(path, "KUBECONFIG" if path == environment else "--kubeconfig")


def _read_kubeconfig(file: str, source: _Source) -> dict[str, Any]:
    """One kubeconfig file, checked for the shape the loader assumes (it would raise TypeError and the like)."""
    where = f"{source.describe()}: {file}" if source.option == "KUBECONFIG" else source.describe()
    try:
        raw = Path(file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror or type(exc).__name__}") from None
    if b"\0" in raw:
        raise UsageError(f"{where} is a binary file, not a kubeconfig")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{where} is not UTF-8 text, so not a kubeconfig") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise UsageError(f"{where} is not valid YAML") from None
    if not isinstance(data, dict):
        found = "empty" if data is None else f"a YAML {_yaml_kind(data)}"
        raise UsageError(f"{where} is not a kubeconfig: it is {found}, not a mapping with clusters, contexts and users")
    for section, inner in (("clusters", "cluster"), ("contexts", "context"), ("users", "user")):
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get(inner, {}), dict) for e in entries
        ):
            raise UsageError(f"{where} is not a kubeconfig: `{section}` must be a list of {{name, {inner}}} entries")
    if not isinstance(data.get("current-context", ""), str | None):
        raise UsageError(f"{where} is not a kubeconfig: `current-context` must be a name")
    return data


def _yaml_kind(data: object) -> str:
    if isinstance(data, list):
        return "list"
    if isinstance(data, str):
        return "string"
    return "scalar"


def _api_client(configuration: k8s_client.Configuration) -> k8s_client.ApiClient:
    # Set before the ApiClient builds its urllib3 pool, which reads it once (setting it later changes nothing).
    configuration.retries = False
    return k8s_client.ApiClient(configuration)


def _status_message(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def forbidden(failure: ApiFailure) -> Forbidden:
    return Forbidden(f"permission denied: {failure.message}")
