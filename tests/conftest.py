"""Shared fixtures: a clean environment, the three loopback fakes (session-wide), a Lab to grade a World."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.kube_api import FakeOpenShift, running_server
from tests.fakes.litellm import FakeLiteLLM
from tests.fakes.litemaas import FakeLiteMaaS
from tests.fixtures.cluster import DOMAIN
from tests.fixtures.world import World, reference_world
from tests.lab import Lab


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's cluster, profile or colour settings."""
    for name in list(os.environ):
        if name.startswith("MAAS_LAB_") or name in ("KUBECONFIG", "NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", os.environ.get("HOME", "/nonexistent"))


@pytest.fixture(scope="session")
def openshift() -> Iterator[FakeOpenShift]:
    yield from running_server(domain=DOMAIN)


@pytest.fixture(scope="session")
def litemaas_fake() -> Iterator[FakeLiteMaaS]:
    with FakeLiteMaaS() as fake:
        yield fake


@pytest.fixture(scope="session")
def litellm_fake() -> Iterator[FakeLiteLLM]:
    with FakeLiteLLM() as fake:
        yield fake


@pytest.fixture(scope="session")
def kubeconfig(openshift: FakeOpenShift, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(openshift.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", token="tok-user1"))


@pytest.fixture
def world() -> World:
    return reference_world()


@pytest.fixture
def lab(openshift: FakeOpenShift, litemaas_fake: FakeLiteMaaS, litellm_fake: FakeLiteLLM, kubeconfig: Path, world: World) -> Lab:
    lab = Lab(openshift, litemaas_fake, litellm_fake, kubeconfig)
    lab.load(world)
    return lab
