"""A lab for end-to-end tests: the three loopback fakes loaded with one World, and the real grader pointed at them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from maas_lab.engine.model import Report, Status
from maas_lab.grading import grade
from maas_lab.report.json_ import load_schema, report_to_dict
from maas_lab.settings import Settings
from tests.fakes.kube_api import FakeOpenShift
from tests.fakes.litellm import FakeLiteLLM
from tests.fakes.litemaas import FakeLiteMaaS
from tests.fixtures.world import World

SCHEMA = load_schema()


class RouteTransport(httpx.BaseTransport):
    """Sends requests for Route hosts to the loopback fakes, keeping the Host header (like the OpenShift router)."""

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = routes
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.routes.get(request.url.host)
        if target is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        base = httpx.URL(target)
        request.url = request.url.copy_with(scheme=base.scheme, host=base.host, port=base.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class Lab:
    def __init__(self, openshift: FakeOpenShift, litemaas: FakeLiteMaaS, litellm: FakeLiteLLM, kubeconfig: Path) -> None:
        self.openshift = openshift
        self.litemaas = litemaas
        self.litellm = litellm
        self.kubeconfig = kubeconfig
        self.world: World | None = None
        self.route_redirects: dict[str, str] = {}  # service ("litemaas", "litellm") → another server, for TLS faults

    def load(self, world: World) -> None:
        self.world = world
        self.openshift.reset(world.objects)
        self.litemaas.load(world.litemaas)
        self.litemaas.clear_log()
        self.litemaas.clear_faults()
        self.litellm.load(world.litellm)
        self.litellm.clear_log()
        self.litellm.clear_faults()

    def routes(self) -> dict[str, str]:
        assert self.world is not None
        suffix = f"{self.world.user}-maas.{self.world.domain}"
        litemaas = self.route_redirects.get("litemaas", self.litemaas.url)
        litellm = self.route_redirects.get("litellm", self.litellm.url)
        return {
            f"litemaas-{suffix}": litemaas,
            f"litemaas-litellm-{suffix}": litellm,
            f"litellm-{suffix}": litellm,  # the Kustomize recipe's LiteLLM Route
        }

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {"kubeconfig": str(self.kubeconfig), "timeout": 60.0}
        values.update(overrides)
        return Settings(**values)

    def grade(self, lessons: Iterable[int] = (1, 2, 3, 4, 5), *, only: Iterable[str] | None = None, **overrides: Any) -> Report:
        report = grade(self.settings(**overrides), list(lessons), only=only, transport=RouteTransport(self.routes()))
        jsonschema.validate(report_to_dict(report), SCHEMA)  # every report a test produces honours the contract
        return report


def statuses(report: Report) -> dict[str, Status]:
    return {r.check.id: r.status for r in report.results}


def result(report: Report, check_id: str) -> Any:
    return next(r for r in report.results if r.check.id == check_id)
