"""A class of students on the loopback fakes: one OpenShift, one LiteMaaS and one LiteLLM serving every student.

Each student's world is the reference world (or a broken, empty, converging one) renamed from `user1` to the
student's name. LiteMaaS and LiteLLM answer each student's Route host from that student's own state (like one
router in front of many installs); hosts in `hang` never answer in time.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.fakes.appserver import Request, Response, json_response
from tests.fakes.kube_api import FakeOpenShift
from tests.fakes.litellm import FakeLiteLLM
from tests.fakes.litemaas import FakeLiteMaaS
from tests.fixtures.cluster import DOMAIN, USER, iso, now_utc
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import World, reference_world

STATES = ("complete", "empty", "broken", "converging")
HANG_SECONDS = 60.0


def renamed(value: Any, new: str, old: str = USER) -> Any:
    """A deep copy of `value` with `old` replaced by `new` in every string (keys too) and dataclass field."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {renamed(k, new, old): renamed(v, new, old) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v, new, old) for v in value]
    if isinstance(value, tuple):
        return tuple(renamed(v, new, old) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: renamed(getattr(value, f.name), new, old) for f in dataclasses.fields(value) if f.init})
    return value


def template(state: str, now: datetime) -> World:
    """The world of `user1` in one of STATES."""
    world = reference_world(now)
    if state == "broken":
        for check_id in ("2.backend-ready", "2.keys-consistent"):
            OMISSIONS[check_id](world)
    elif state == "empty":  # logged in, nothing done: no project, no install
        world.drop(lambda o: str(o["metadata"].get("namespace") or o["metadata"]["name"]).startswith(f"{USER}-"))
    elif state == "converging":  # LiteLLM is rolling out: pending, retry later
        deploy = world.find("Deployment", "litemaas-litellm", f"{USER}-maas")
        deploy["metadata"]["generation"] = 3
        deploy["status"].update(updatedReplicas=0, readyReplicas=0, availableReplicas=0, observedGeneration=3)
        deploy["status"]["conditions"][1].update(reason="ReplicaSetUpdated", lastUpdateTime=iso(world.now - timedelta(seconds=40)))
    return world


def user_object(name: str) -> dict[str, Any]:
    return {"apiVersion": "user.openshift.io/v1", "kind": "User", "metadata": {"name": name}, "identities": [f"Students:{name}"], "groups": []}


@dataclass
class Cohort:
    """Every student's objects merged (shared ones once), and their services' states by Route host."""

    states: dict[str, str]
    objects: list[dict[str, Any]] = field(default_factory=list)
    litemaas: dict[str, Any] = field(default_factory=dict)
    litellm: dict[str, Any] = field(default_factory=dict)

    def hosts(self, user: str) -> tuple[str, str]:
        return f"litemaas-{user}-maas.{DOMAIN}", f"litemaas-litellm-{user}-maas.{DOMAIN}"


def build_cohort(states: dict[str, str], now: datetime | None = None) -> Cohort:
    """`states`: user name → one of STATES."""
    now = now or now_utc()
    templates = {state: template(state, now) for state in set(states.values())}
    cohort = Cohort(states)
    seen: set[tuple[str, str, str]] = set()
    for user, state in states.items():
        world = renamed(templates[state], user)
        for obj in [*world.objects, user_object(user)]:
            key = (obj["kind"], str(obj["metadata"].get("namespace") or ""), obj["metadata"]["name"])
            if key not in seen:  # ai501, user2-maas, cluster bindings: shared by every world
                seen.add(key)
                cohort.objects.append(obj)
        if state != "empty":
            litemaas_host, litellm_host = cohort.hosts(user)
            cohort.litemaas[litemaas_host] = world.litemaas
            cohort.litellm[litellm_host] = world.litellm
    return cohort


class _ByHost:
    """Mixin: the fake's `state` is the one of the request's Host; hosts in `hang` wait HANG_SECONDS first."""

    states: dict[str, Any]
    hang: set[str]
    _local: threading.local
    _fallback: Any
    _stopping: threading.Event

    @property
    def state(self) -> Any:
        return getattr(self._local, "state", None) or self._fallback

    @state.setter
    def state(self, value: Any) -> None:
        self._fallback = value

    def route(self, request: Request) -> Response | None:
        host = (request.header("host") or "").split(":")[0]
        if host in self.hang:
            self._stopping.wait(HANG_SECONDS)
        self._local.state = self.states.get(host)
        if self._local.state is None:  # what the OpenShift router answers for a host nobody serves
            return json_response(503, {"detail": "Application is not available"})
        return None


def _init(fake: Any) -> None:
    fake.states, fake.hang, fake._local, fake._fallback = {}, set(), threading.local(), None


class CohortLiteMaaS(_ByHost, FakeLiteMaaS):
    def __init__(self, **server_kw: Any) -> None:
        _init(self)
        super().__init__(**server_kw)

    def handle(self, request: Request) -> Response:
        return self.route(request) or super().handle(request)


class CohortLiteLLM(_ByHost, FakeLiteLLM):
    def __init__(self, **server_kw: Any) -> None:
        _init(self)
        super().__init__(**server_kw)

    def handle(self, request: Request) -> Response:
        return self.route(request) or super().handle(request)


class HostTransport(httpx.BaseTransport):
    """Every student's Route hosts to the two fakes, keeping the Host header (like the OpenShift router)."""

    def __init__(self, litemaas_url: str, litellm_url: str) -> None:
        self.targets = {"litemaas-litellm-": httpx.URL(litellm_url), "litemaas-": httpx.URL(litemaas_url)}
        self.inner = httpx.HTTPTransport(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        base = next((url for prefix, url in self.targets.items() if host.startswith(prefix) and host.endswith(DOMAIN)), None)
        if base is None:
            raise httpx.ConnectError(f"no route to {host}", request=request)
        request.url = request.url.copy_with(scheme=base.scheme, host=base.host, port=base.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def serve(cohort: Cohort, openshift: FakeOpenShift, litemaas: CohortLiteMaaS, litellm: CohortLiteLLM) -> None:
    openshift.reset(cohort.objects)
    litemaas.states, litellm.states = cohort.litemaas, cohort.litellm
    for fake in (litemaas, litellm):
        fake.clear_log()
        fake.hang = set()


__all__ = ["STATES", "Cohort", "CohortLiteLLM", "CohortLiteMaaS", "HostTransport", "build_cohort", "renamed", "serve"]
