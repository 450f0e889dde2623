"""Property: whatever the student wrote into a ConfigMap or a Secret, the checks that read it answer pass, fail,
pending or skip, never error (an error would blame the grader for the student's data)."""

from __future__ import annotations

import base64
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maas_lab.engine.model import Status
from tests.fixtures.cluster import USER
from tests.fixtures.world import World, reference_world
from tests.lab import Lab

STUDENT_SIDE = {Status.PASS, Status.FAIL, Status.PENDING, Status.SKIP}
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Keys Canopy and Llama Stack read, so that generated mappings often reach the code that looks deeper.
KNOWN_KEYS = ["providers", "inference", "provider_id", "provider_type", "remote::vllm", "config", "url", "base_url", "api_token",
              "summarization", "summarize", "information-search", "enabled", "model", "endpoint", "LLAMA_STACK_URL"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
                    st.sampled_from(["remote::vllm", "${env.API_TOKEN}", "http://llama-stack-service:8321/v1", "sk-x"]))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), inner, max_size=4)),
                         max_leaves=12)
yaml_texts = st.one_of(documents.map(lambda d: yaml.safe_dump(d)), st.text(max_size=60))


def _graded(lab: Lab, world: World, lessons: list[int], only: list[str]) -> dict[str, Status]:
    lab.load(world)
    report = lab.grade(lessons, only=only)
    return {r.check.id: r.status for r in report.results}


@PROPERTY
@given(text=yaml_texts)
def test_any_llama_stack_config_is_graded_not_errored(lab: Lab, text: str) -> None:
    world = reference_world()
    world.find("ConfigMap", "ogx-config", f"{USER}-canopy")["data"]["config.yaml"] = text
    found = _graded(lab, world, [5], ["1.canopy-running", "5.llamastack-provider", "5.token-is-student-key", "5.backend-model", "5.rolled-out"])
    assert set(found.values()) <= STUDENT_SIDE, found


@PROPERTY
@given(text=yaml_texts)
def test_any_canopy_backend_config_is_graded_not_errored(lab: Lab, text: str) -> None:
    world = reference_world()
    world.find("ConfigMap", "canopy-config", f"{USER}-canopy")["data"]["canopy-config.yaml"] = text
    found = _graded(lab, world, [5], ["5.backend-model", "5.rolled-out"])
    assert set(found.values()) <= STUDENT_SIDE, found


secret_values = st.one_of(
    st.text(max_size=30).map(lambda t: base64.b64encode(t.encode()).decode()),  # any text
    st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()),  # binary, not UTF-8
    st.text(max_size=12),  # not base64 at all
    st.just(""),
    st.sampled_from(["Y2hhbmdlbWU=", base64.b64encode(b"ltm_admin_").decode(), base64.b64encode(b" sk-x \n").decode()]),
)
SECRET_KEYS = {
    "litemaas-backend": ["jwt-secret", "admin-api-keys", "litellm-api-key", "oauth-client-id"],
    "litemaas-litellm": ["master-key"],
    "litemaas-postgresql": ["password"],
}


@st.composite
def secret_data(draw: Any, keys: list[str]) -> dict[str, str]:
    """Some of the expected keys (others missing), each with a value of any shape, plus a stray key."""
    present = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    data = {key: draw(secret_values) for key in present}
    if draw(st.booleans()):
        data[draw(st.text(min_size=1, max_size=8))] = draw(secret_values)
    return data


@PROPERTY
@given(name=st.sampled_from(sorted(SECRET_KEYS)), data=st.data())
def test_any_release_secret_is_graded_not_errored(lab: Lab, name: str, data: st.DataObject) -> None:
    world = reference_world()
    world.find("Secret", name, f"{USER}-maas")["data"] = data.draw(secret_data(SECRET_KEYS[name]))
    found = _graded(lab, world, [2], ["2.no-default-secrets", "2.keys-consistent", "2.oauth", "2.admin-login"])
    assert set(found.values()) <= STUDENT_SIDE, found


@PROPERTY
@given(data=st.data())
def test_any_token_secret_is_graded_not_errored(lab: Lab, data: st.DataObject) -> None:
    world = reference_world()
    world.find("Secret", "llama-fp8-maas-token", f"{USER}-test")["data"] = data.draw(secret_data(["api_token"]))
    found = _graded(lab, world, [5], ["5.gitops-test"])
    assert set(found.values()) <= STUDENT_SIDE, found
