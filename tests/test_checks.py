"""Every check against the real grader, the real kubernetes and httpx clients, and the loopback fakes:
the reference solution passes everything; each single-step omission fails exactly the check that grades it."""

from __future__ import annotations

import pytest

from maas_lab.engine.model import Outcome, Status
from maas_lab.engine.registry import load_checks
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import World
from tests.lab import Lab, result, statuses

# Checks whose failing fixture needs more than a mutated world (they are tested in their own test below).
SPECIAL = {"1.logged-in", "4.key-works"}


def test_the_reference_solution_gets_full_marks(lab: Lab) -> None:
    report = lab.grade()
    assert {c: s for c, s in statuses(report).items() if s is not Status.PASS} == {"4.key-works": Status.SKIP}
    assert report.outcome is Outcome.PASS
    # 37 required checks x 2 points; bonus: 3.role-assigned, 4.playground, 5.gitops-test (4.key-works not requested)
    assert report.max_score == 74.0
    assert report.score == 74.0 + 3.0
    assert all(r.hint is None for r in report.results if r.status is Status.PASS)


def test_every_check_has_a_failing_fixture() -> None:
    lessons = {c.id for c in load_checks().values() if isinstance(c.lesson, int)}  # env.*: tests/test_smoke.py
    assert set(OMISSIONS) | SPECIAL == lessons


@pytest.mark.parametrize("check_id", sorted(OMISSIONS))
def test_each_omission_fails_its_check(lab: Lab, world: World, check_id: str) -> None:
    OMISSIONS[check_id](world)
    lab.load(world)
    lesson = int(check_id[0])
    report = lab.grade([lesson])
    verdict = result(report, check_id)
    assert verdict.status is Status.FAIL, f"{check_id}: {verdict.status.value}: {verdict.message}"
    assert verdict.hint, f"{check_id} failed without a hint"
    assert verdict.points == 0
    assert report.outcome is (Outcome.FAIL if verdict.check.required else Outcome.PASS)
