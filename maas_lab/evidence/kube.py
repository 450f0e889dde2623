"""Raw-JSON reads from the Kubernetes/OpenShift API with the official client (one ApiClient per credential).

Only GET and the access-review POSTs exist here: the grader is read-only by construction.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any
from urllib.parse import urlencode

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from maas_lab import USER_AGENT
from maas_lab.errors import ClusterUnreachable, CredentialsRejected, Forbidden, UsageError

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
    """One credential, one ApiClient; every call has an explicit timeout and no hidden retries."""

    def __init__(self, api_client: k8s_client.ApiClient, *, timeout: float = DEFAULT_REQUEST_TIMEOUT) -> None:
        self._api = api_client
        self.timeout = timeout
        configuration = api_client.configuration
        configuration.retries = 0  # urllib3 would silently retry GETs on read timeouts
        self.server = str(configuration.host)
        self.insecure = not configuration.verify_ssl
        if self.insecure:
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)

    @classmethod
    def from_kubeconfig(
        cls, path: str | None, context: str | None, *, timeout: float = DEFAULT_REQUEST_TIMEOUT
    ) -> KubeClient:
        """Load `path` (or the default kubeconfig); in a pod without one, the service account."""
        kubeconfig = path or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        kubeconfig = kubeconfig.split(os.pathsep)[0]
        if not os.path.exists(kubeconfig) and path is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            configuration = k8s_client.Configuration()
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except k8s_config.ConfigException as exc:  # e.g. automountServiceAccountToken: false
                raise ClusterUnreachable(
                    f"in a pod without a usable service account token: {exc}",
                    hint="Mount the service account token (automountServiceAccountToken), or pass --kubeconfig PATH.",
                ) from None
            return cls(k8s_client.ApiClient(configuration), timeout=timeout)
        if not os.path.exists(kubeconfig):
            if path:
                raise UsageError(f"--kubeconfig {path}: no such file")
            raise ClusterUnreachable(
                f"no kubeconfig at {kubeconfig}", hint="Log in with `oc login` first, or pass --kubeconfig PATH."
            )
        try:
            api = k8s_config.new_client_from_config(config_file=kubeconfig, context=context, persist_config=False)
        except k8s_config.ConfigException as exc:
            raise UsageError(f"cannot use kubeconfig {kubeconfig}: {exc}") from None
        except yaml.YAMLError:
            raise UsageError(f"kubeconfig {kubeconfig} is not valid YAML") from None
        except (OSError, ValueError, TypeError, KeyError) as exc:  # a malformed file: say so, no traceback
            raise UsageError(f"cannot read kubeconfig {kubeconfig}: {type(exc).__name__}") from None
        return cls(api, timeout=timeout)

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
        """POST an access review (the only writes the grader makes: they change nothing)."""
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
        return self._request("POST", REVIEW_PATHS[kind], body=body)

    def _request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        url = self.server.rstrip("/") + path + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        auth = self._api.configuration.auth_settings().get("BearerToken")
        if auth and auth.get("value"):
            headers["Authorization"] = str(auth["value"])
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._api.rest_client.request(
                method=method,
                url=url,
                headers=headers,
                body=body,
                _request_timeout=(min(5.0, self.timeout), self.timeout),
            )
            status = int(response.status)
            data = getattr(response, "data", None)
            if data is None:
                data = response.read()
        except ApiException as exc:  # older clients raise for non-2xx
            status, data = int(exc.status or 0), (exc.body or b"")
        except urllib3.exceptions.SSLError:
            raise ClusterUnreachable(
                f"TLS verification failed for the API server {self.server}",
                hint="Your kubeconfig's certificate authority does not match the server; log in again with `oc login`.",
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(f"the API server {self.server} did not answer ({type(exc).__name__})") from None
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        if 200 <= status < 300:
            try:
                parsed = json.loads(text)
            except ValueError:
                raise ClusterUnreachable(f"the API server answered {path} with something that is not JSON") from None
            return parsed if isinstance(parsed, dict) else {"value": parsed}
        message = _status_message(text) or f"HTTP {status}"
        if status == 401:
            raise CredentialsRejected(f"the API server {self.server} rejected the grader's credentials (401)")
        raise ApiFailure(status, message, path)


def _status_message(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def forbidden(failure: ApiFailure) -> Forbidden:
    return Forbidden(f"permission denied: {failure.message}")
