"""The sample bundles shipped in maas_lab/samples/ (for `maas-lab demo`), made from the test worlds.

Regenerate them after a change to the worlds, the checks or the bundle format:

    MAAS_LAB_REGENERATE_SAMPLES=1 pytest tests/test_samples.py

Without it, the tests check that the shipped bundles load and grade as the sample they stand for.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from maas_lab.cli import app
from maas_lab.engine.model import Outcome, Status
from maas_lab.grading import grade, grade_bundle
from maas_lab.samples import SAMPLES, SAMPLES_DIR, sample_path
from maas_lab.settings import Settings
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import World, reference_world
from tests.lab import Lab, RouteTransport, statuses
from tests.test_bundles import planted

LESSONS = [1, 2, 3, 4, 5]


def sample_world(name: str) -> World:
    """complete: the reference solution; half-done: lessons 1-2 done, 3 under way, 4-5 not started;
    broken: an install that does not work (backend crashing, LiteLLM key wrong, Route not admitted)."""
    world = reference_world()
    if name == "half-done":
        for check_id in sorted(OMISSIONS):
            if check_id.startswith(("4.", "5.")) or check_id in ("3.pricing", "3.restricted-model", "3.key-defaults", "3.audit-viewed"):
                OMISSIONS[check_id](world)
    elif name == "broken":
        for check_id in ("2.backend-ready", "2.keys-consistent", "2.routes", "2.no-default-secrets"):
            OMISSIONS[check_id](world)
    return world


def capture(lab: Lab, name: str, target: Path) -> None:
    world = sample_world(name)
    lab.load(world)
    with tempfile.TemporaryDirectory() as directory:
        grade(lab.settings(), LESSONS, transport=RouteTransport(lab.routes()), evidence=Path(directory))
        shutil.move(Path(directory) / "user1.json.gz", target)
    text = gzip.decompress(target.read_bytes()).decode()
    for secret, value in planted(world).items():
        assert value not in text, f"{secret} in the {name} sample"


@pytest.mark.skipif(not os.environ.get("MAAS_LAB_REGENERATE_SAMPLES"), reason="set MAAS_LAB_REGENERATE_SAMPLES=1 to rewrite the samples")
@pytest.mark.parametrize("name", SAMPLES)
def test_regenerate_sample(lab: Lab, name: str) -> None:
    capture(lab, name, SAMPLES_DIR / f"{name}.json.gz")


@pytest.mark.parametrize("name", SAMPLES)
def test_a_fresh_sample_grades_like_the_shipped_one(lab: Lab, tmp_path: Path, name: str) -> None:
    """The shipped bundle is current: what the test world gives today is what the shipped sample gives."""
    fresh = tmp_path / f"{name}.json.gz"
    capture(lab, name, fresh)
    shipped, today = grade_bundle(sample_path(name), Settings(), None), grade_bundle(fresh, Settings(), None)
    assert statuses(shipped) == statuses(today), f"the {name} sample is stale: regenerate it (see this module's docstring)"


def test_the_samples_are_what_they_say() -> None:
    complete = grade_bundle(sample_path("complete"), Settings(), None)
    assert complete.outcome is Outcome.PASS
    half = statuses(grade_bundle(sample_path("half-done"), Settings(), None))
    assert all(s is Status.PASS for c, s in half.items() if c.startswith(("1.", "2.")))
    assert {s for c, s in half.items() if c.startswith("4.")} <= {Status.FAIL, Status.SKIP}
    broken = grade_bundle(sample_path("broken"), Settings(), None)
    assert broken.outcome is Outcome.FAIL
    assert statuses(broken)["2.backend-ready"] is Status.FAIL


@pytest.mark.parametrize(("name", "code"), [("complete", 0), ("half-done", 1), ("broken", 1)])
def test_demo_prints_the_real_report(name: str, code: int) -> None:
    result = CliRunner().invoke(app, ["demo", name])
    assert result.exit_code == code, result.stderr
    assert "Total:" in result.stdout and "1.logged-in" in result.stdout
    as_json = CliRunner().invoke(app, ["demo", name, "--format", "json"])
    assert '"schema_version": 1' in as_json.stdout and '"user": "user1"' in as_json.stdout


def test_check_from_a_sample_and_an_unknown_sample() -> None:
    result = CliRunner().invoke(app, ["check", "2", "--from-evidence", "sample:broken", "--format", "markdown"])
    assert result.exit_code == 1 and "2.backend-ready" in result.stdout
    unknown = CliRunner().invoke(app, ["demo", "finished"])
    assert unknown.exit_code == 2 and "unknown sample" in unknown.stderr and unknown.stderr.count("\n") <= 2
