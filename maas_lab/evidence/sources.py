"""Where a snapshot's raw answers come from: one seam, three sources and a recorder.

The snapshot asks a source for raw answers (`get(path)`, `list(plural, namespace)`, `review(kind, spec)`,
`fetch(method, url, …)`) and never knows which source it has:

    LiveSource    one student, per-namespace reads (the cluster and the student's services)
    CohortSource  answers from cluster-wide LISTs made once for a whole class (maas_lab.evidence.cohort)
    BundleSource  answers from an evidence bundle; a missing answer is an error, never a fetch
    Recorder      wraps any source and keeps every answer it hands out, for the bundle
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any, Protocol

import httpx

from maas_lab import errors
from maas_lab.errors import ClusterUnreachable, CollectError, MaasLabError
from maas_lab.evidence.http import HttpAnswer, request
from maas_lab.evidence.kube import KINDS, REVIEW_PATHS, ApiFailure, KubeClient
from maas_lab.evidence.sensitive import sha256_hex

Auth = tuple[str, str]  # (scheme, credential)
# Response headers a bundle keeps (what a check may read); cookies and the rest stay out.
KEPT_HEADERS = frozenset({"content-type", "location", "www-authenticate", "retry-after"})


class Source(Protocol):
    server: str

    def get(self, path: str) -> dict[str, Any]: ...

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]: ...

    def review(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]: ...

    def fetch(
        self, method: str, url: str, *, params: dict[str, Any] | None, auth: Auth | None, json_body: Any
    ) -> HttpAnswer: ...

    def close(self) -> None: ...


def list_path(plural: str, namespace: str) -> str:
    return f"{KINDS[plural]}/namespaces/{namespace}/{plural}"


def credential_id(auth: Auth | None) -> str | None:
    """Which credential a request carried, stable across runs, without the credential.

    A JWT is minted afresh each run (its `iat` changes), so it is known by its claims minus the times.
    """
    if auth is None:
        return None
    token = auth[1]
    parts = token.split(".")
    if token.startswith("eyJ") and len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            claims = None
        if isinstance(claims, dict):
            stable = {k: v for k, v in claims.items() if k not in ("iat", "exp", "nbf")}
            return "jwt:" + sha256_hex(json.dumps(stable, sort_keys=True))
    from maas_lab.evidence.sensitive import Sensitive  # stand-ins hash to the value they replace

    return Sensitive(token).sha256


def http_key(method: str, url: str, params: dict[str, Any] | None, auth: Auth | None, json_body: Any) -> str:
    """The bundle's key of one HTTP answer: method, URL with its (non-secret) query, credential hash, body."""
    query = "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
    key = f"{method} {url}" + (f"?{query}" if query else "")
    credential = credential_id(auth)
    if credential:
        key += f" auth={credential}"
    if json_body is not None:
        key += " body=" + json.dumps(json_body, sort_keys=True, separators=(",", ":"))
    return key


def review_key(kind: str, spec: dict[str, Any]) -> str:
    return f"POST {REVIEW_PATHS[kind]} " + json.dumps(spec, sort_keys=True, separators=(",", ":"))


class LiveSource:
    """Today's reads: the cluster per namespace with one credential, the student's services over one client."""

    def __init__(self, kube: KubeClient | None, http: httpx.Client, *, own_http: bool = True) -> None:
        self.kube = kube
        self.http = http
        self._own_http = own_http
        self.server = kube.server if kube is not None else ""

    def _kube(self) -> KubeClient:
        if self.kube is None:
            raise ClusterUnreachable("no cluster connection")
        return self.kube

    def get(self, path: str) -> dict[str, Any]:
        return self._kube().get(path)

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        return self._kube().list(plural, namespace)

    def review(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self._kube().review(kind, spec)

    def fetch(
        self, method: str, url: str, *, params: dict[str, Any] | None, auth: Auth | None, json_body: Any
    ) -> HttpAnswer:
        headers = {"Authorization": f"{auth[0]} {auth[1]}"} if auth else None
        return request(self.http, method, url, params=params, headers=headers, json_body=json_body)

    def close(self) -> None:
        if self._own_http:
            self.http.close()
        if self.kube is not None:
            self.kube.close()


# -- recording and replaying ------------------------------------------------------------------------------


def _failure_record(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ApiFailure):
        return {"status": exc.status, "message": exc.message}
    hint = getattr(exc, "hint", None) if isinstance(exc, MaasLabError) and type(exc).hint != exc.hint else None
    return {"error": type(exc).__name__, "message": str(exc), **({"hint": hint} if hint else {})}


def _raise_recorded(record: dict[str, Any], path: str) -> None:
    if "status" in record and "body" not in record and "answer" not in record:
        raise ApiFailure(int(record["status"]), str(record.get("message") or ""), path)
    if "error" in record:
        kind = getattr(errors, str(record["error"]), None)
        if not (isinstance(kind, type) and issubclass(kind, MaasLabError)):
            kind = CollectError
        raise kind(str(record.get("message") or ""), hint=record.get("hint"))


class Recorder:
    """Wraps a source; keeps every answer (and every refusal) it hands out, keyed as the bundle keys them."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.server = inner.server
        self.kube: dict[str, Any] = {}
        self.http: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _keep(self, table: dict[str, Any], key: str, produce: Any) -> Any:
        try:
            value = produce()
        except (ApiFailure, MaasLabError) as exc:
            with self._lock:
                table[key] = _failure_record(exc)
            raise
        with self._lock:
            table[key] = value
        return value

    def get(self, path: str) -> dict[str, Any]:
        return self._keep(self.kube, f"GET {path}", lambda: {"answer": self.inner.get(path)})["answer"]  # type: ignore[no-any-return]

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        key = f"LIST {list_path(plural, namespace)}"
        return self._keep(self.kube, key, lambda: {"items": self.inner.list(plural, namespace)})["items"]  # type: ignore[no-any-return]

    def review(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        key = review_key(kind, spec)
        return self._keep(self.kube, key, lambda: {"answer": self.inner.review(kind, spec)})["answer"]  # type: ignore[no-any-return]

    def fetch(
        self, method: str, url: str, *, params: dict[str, Any] | None, auth: Auth | None, json_body: Any
    ) -> HttpAnswer:
        key = http_key(method, url, params, auth, json_body)

        def send() -> dict[str, Any]:
            answer = self.inner.fetch(method, url, params=params, auth=auth, json_body=json_body)
            headers = {k: v for k, v in answer.headers.items() if k.lower() in KEPT_HEADERS}
            record = {"url": answer.url, "status": answer.status, "headers": headers, "body": answer.body}
            if not answer.is_json:  # a text body stays text on regrade (a management API's non-JSON 200 is an error)
                record["is_json"] = False
            return record

        return _answer_of(self._keep(self.http, key, send))

    def close(self) -> None:
        self.inner.close()


class BundleSource:
    """Answers from an evidence bundle. A question the live run did not ask is a grader-side error."""

    def __init__(self, kube: dict[str, Any], http: dict[str, Any], *, server: str = "") -> None:
        self._kube = kube
        self._http = http
        self.server = server

    def _answer(self, key: str, path: str) -> dict[str, Any]:
        record = self._kube.get(key)
        if not isinstance(record, dict):
            raise CollectError(f"the evidence bundle has no answer for {key}")
        _raise_recorded(record, path)
        return record

    def get(self, path: str) -> dict[str, Any]:
        return dict(self._answer(f"GET {path}", path)["answer"])

    def list(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        path = list_path(plural, namespace)
        return list(self._answer(f"LIST {path}", path)["items"])

    def review(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(self._answer(review_key(kind, spec), REVIEW_PATHS[kind])["answer"])

    def fetch(
        self, method: str, url: str, *, params: dict[str, Any] | None, auth: Auth | None, json_body: Any
    ) -> HttpAnswer:
        key = http_key(method, url, params, auth, json_body)
        record = self._http.get(key)
        if not isinstance(record, dict):
            raise CollectError(f"the evidence bundle has no answer for {key.split(' auth=')[0]}")
        _raise_recorded(record, url)
        return _answer_of(record)

    def close(self) -> None:
        return None


def _answer_of(record: dict[str, Any]) -> HttpAnswer:
    return HttpAnswer(
        str(record["url"]),
        int(record["status"]),
        record.get("body"),
        dict(record.get("headers") or {}),
        is_json=bool(record.get("is_json", True)),
    )
