"""The engine on synthetic checks: prerequisite order, skip/pending propagation, errors, scoring, outcome."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from maas_lab.engine import runner
from maas_lab.engine.model import Check, Outcome, Status, Verdict, failed, passed, pending
from maas_lab.errors import ServiceUnreachable
from maas_lab.evidence.http import make_client
from maas_lab.evidence.services import Unavailable
from maas_lab.evidence.snapshot import Snapshot
from maas_lab.profile import load_profile
from maas_lab.settings import Settings


def make(check_id: str, function: Callable[[Snapshot], Verdict], needs: tuple[str, ...] = (), required: bool = True) -> Check:
    return Check(check_id, int(check_id[0]), f"title {check_id}", "", function, f"hint {check_id}",
                 f"lessons/2-deploy-litemaas.md#{check_id}", "test", needs, required)


@pytest.fixture
def snapshot() -> Snapshot:
    return Snapshot(Settings(user="user1", cluster_domain="apps.example.com"), load_profile(None), kube=None, http=make_client())


def grade(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot, checks: list[Check], lessons: list[int] = [2]):  # noqa: B006
    monkeypatch.setattr(runner, "load_checks", lambda: {c.id: c for c in checks})
    return runner.run(lessons, snapshot, snapshot.profile)


def test_prerequisites_run_first_and_skip_names_them(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    calls: list[str] = []

    def record(verdict: Verdict) -> Callable[[Snapshot], Verdict]:
        def function(_: Snapshot) -> Verdict:
            calls.append(verdict.message)
            return verdict
        return function

    checks = [
        make("2.b", record(passed("b")), needs=("2.a",)),
        make("2.a", record(failed("a broke"))),
        make("2.c", record(passed("c")), needs=("2.b",)),
    ]
    report = grade(monkeypatch, snapshot, checks)
    by_id = {r.check.id: r for r in report.results}
    assert calls == ["a broke"]
    assert by_id["2.b"].status is Status.SKIP and "2.a" in by_id["2.b"].message
    assert by_id["2.c"].status is Status.SKIP and "2.b" in by_id["2.c"].message
    assert by_id["2.b"].hint and "2.a" in by_id["2.b"].hint
    assert report.outcome is Outcome.FAIL and report.exit_code == 1


def test_pending_prerequisite_says_wait(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    checks = [make("2.a", lambda s: pending("rolling out")), make("2.b", lambda s: passed("x"), needs=("2.a",))]
    by_id = {r.check.id: r for r in grade(monkeypatch, snapshot, checks).results}
    assert by_id["2.a"].status is Status.PENDING and by_id["2.a"].points == 0
    assert by_id["2.b"].status is Status.SKIP and "waiting for 2.a; retry in a minute" in by_id["2.b"].message


def test_exceptions_become_error_and_the_run_goes_on(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    def boom(_: Snapshot) -> Verdict:
        raise KeyError("oops")

    def unreachable(_: Snapshot) -> Verdict:
        raise ServiceUnreachable("could not connect to litemaas-user1-maas.apps.example.com")

    def absent(_: Snapshot) -> Verdict:
        raise Unavailable("no Route litemaas")

    checks = [make("2.a", boom), make("2.b", unreachable), make("2.c", absent), make("2.d", lambda s: passed("fine"))]
    report = grade(monkeypatch, snapshot, checks)
    by_id = {r.check.id: r for r in report.results}
    assert by_id["2.a"].status is Status.ERROR and "internal error in 2.a" in by_id["2.a"].message
    assert by_id["2.b"].status is Status.ERROR and by_id["2.b"].hint
    assert by_id["2.c"].status is Status.SKIP
    assert by_id["2.d"].status is Status.PASS
    assert report.outcome is Outcome.COULD_NOT_GRADE and report.exit_code == 3


def test_scoring_bonus_and_cross_lesson_prerequisites(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    checks = [
        make("2.a", lambda s: passed("a")),
        make("3.b", lambda s: passed("b"), needs=("2.a",)),
        make("3.c", lambda s: passed("bonus"), required=False),
        make("3.d", lambda s: failed("no")),
    ]
    report = grade(monkeypatch, snapshot, checks, lessons=[3])
    assert [lesson.lesson for lesson in report.lessons] == [3]  # 2.a evaluated, not reported
    assert report.max_score == 4.0  # two required checks x 2 points
    assert report.score == 2.0 + 1.0  # 3.b plus the bonus
    assert report.outcome is Outcome.FAIL


def test_all_required_pass_gives_pass_even_with_a_failed_bonus(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    checks = [make("2.a", lambda s: passed("a")), make("2.b", lambda s: failed("no"), required=False)]
    report = grade(monkeypatch, snapshot, checks)
    assert report.outcome is Outcome.PASS and report.exit_code == 0


def test_preflight_failure_makes_every_check_error(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    monkeypatch.setattr(runner, "load_checks", lambda: {"2.a": make("2.a", lambda s: passed("a"))})
    report = runner.run([2], snapshot, snapshot.profile, preflight_error=ServiceUnreachable("cluster down"))
    assert [r.status for r in report.results] == [Status.ERROR]
    assert report.outcome is Outcome.COULD_NOT_GRADE


def test_cycles_are_refused() -> None:
    checks = {"2.a": make("2.a", lambda s: passed(""), needs=("2.b",)), "2.b": make("2.b", lambda s: passed(""), needs=("2.a",))}
    with pytest.raises(RuntimeError, match="cycle"):
        runner.order_checks(["2.a"], checks)


def test_registry_meta() -> None:
    """Unique ids, existing prerequisites, no cycles, a title, hint and evidence on every check."""
    from maas_lab.engine.registry import group, load_checks

    checks = load_checks()
    runner.order_checks(list(checks), checks)
    for check in checks.values():
        assert check.title and check.hint and check.evidence, check.id
        assert all(need in checks for need in check.needs), check.id
        assert check.lesson_ref.startswith(group(check.lesson).file), check.id
