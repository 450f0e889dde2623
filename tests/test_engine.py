"""The engine on synthetic checks: prerequisite order, skip/pending propagation, errors, scoring, outcome."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from maas_lab.engine import registry, runner
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


def test_student_work_missing_fails_and_prerequisite_missing_skips_naming_the_check(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    from maas_lab.engine.model import PrerequisiteMissing, StudentWorkMissing

    def missing(_: Snapshot) -> Verdict:
        raise StudentWorkMissing("no install in user1-maas", hint="Install it.", namespace="user1-maas")

    def waiting(_: Snapshot) -> Verdict:
        raise PrerequisiteMissing("2.a", "project user1-maas not found")

    checks = [make("2.a", missing), make("2.b", waiting), make("3.c", waiting)]
    by_id = {r.check.id: r for r in grade(monkeypatch, snapshot, checks, lessons=[2, 3]).results}
    assert (by_id["2.a"].status, by_id["2.a"].message, by_id["2.a"].hint) == (Status.FAIL, "no install in user1-maas", "Install it.")
    assert by_id["2.a"].evidence == {"namespace": "user1-maas"}
    assert (by_id["2.b"].status, by_id["2.b"].message) == (Status.SKIP, "needs 2.a: project user1-maas not found")
    assert by_id["2.b"].hint == "Fix 2.a first (maas-lab explain 2.a)." and by_id["2.b"].evidence == {"prerequisite": "2.a"}
    assert by_id["3.c"].message == "needs 2.a (lesson 2): project user1-maas not found"


def test_failed_prerequisite_skip_says_which_and_how(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    checks = [make("2.a", lambda s: failed("no")), make("3.b", lambda s: passed("b"), needs=("2.a",))]
    skipped_ = next(r for r in grade(monkeypatch, snapshot, checks, lessons=[2, 3]).results if r.check.id == "3.b")
    assert skipped_.message == "needs 2.a (lesson 2), which did not pass (fail)"
    assert skipped_.hint == "Fix 2.a first (maas-lab explain 2.a)." and skipped_.evidence == {"prerequisite": "2.a"}
    checks = [make("2.a", lambda s: pending("soon")), make("3.b", lambda s: passed("b"), needs=("2.a",))]
    waiting = next(r for r in grade(monkeypatch, snapshot, checks, lessons=[2, 3]).results if r.check.id == "3.b")
    assert waiting.message == "waiting for 2.a (lesson 2); retry in a minute" and waiting.evidence == {"prerequisite": "2.a"}


def test_verdict_helpers_keep_what_they_are_given() -> None:
    from maas_lab.engine.model import errored, skipped

    assert pending("rolling out") == Verdict(Status.PENDING, "rolling out", "The work is still converging; retry in a minute.", {})
    assert pending("x", "wait", a=1) == Verdict(Status.PENDING, "x", "wait", {"a": 1})
    assert errored("x", "h", a=1) == Verdict(Status.ERROR, "x", "h", {"a": 1})
    assert skipped("x", "h", a=1) == Verdict(Status.SKIP, "x", "h", {"a": 1})
    assert failed("x", "h", a=1) == Verdict(Status.FAIL, "x", "h", {"a": 1})
    assert passed("x", a=1) == Verdict(Status.PASS, "x", None, {"a": 1})
    assert passed("x").passed and not failed("x").passed


def test_results_carry_points_hints_and_titles_filled(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    titled = Check("2.a", 2, "Project {user}-maas exists; budget {user_max_budget}", "In {user}-maas.", lambda s: failed("no"),
                   "Set TPM {user_tpm}.", "lessons/2-deploy-litemaas.md#x", "K8s {user}-canopy")
    verdict_hint = Check("2.b", 2, "t {nope}", "", lambda s: failed("no", hint="own {user_tpm}"), "default", "x", "e")
    passing = Check("2.c", 2, "t", "", lambda s: passed("ok"), "never shown", "x", "e", required=False)
    by_id = {r.check.id: r for r in grade(monkeypatch, snapshot, [titled, verdict_hint, passing]).results}
    assert by_id["2.a"].check.title == "Project user1-maas exists; budget 50"
    assert by_id["2.a"].check.description == "In user1-maas." and by_id["2.a"].check.evidence == "K8s user1-canopy"
    assert by_id["2.a"].hint == "Set TPM 20000." and (by_id["2.a"].points, by_id["2.a"].max_points) == (0.0, 2.0)
    assert by_id["2.b"].check.title == "t {nope}" and by_id["2.b"].hint == "own {user_tpm}"  # a verdict's own hint is already final
    assert by_id["2.c"].hint is None and (by_id["2.c"].points, by_id["2.c"].max_points) == (1.0, 1.0)
    assert by_id["2.c"].duration >= 0.0


def test_fill_leaves_unknown_or_stray_braces_alone() -> None:
    assert registry.fill("a {x} b", {"x": "1"}) == "a 1 b"
    assert registry.fill("a {y} b", {"x": "1"}) == "a {y} b"
    assert registry.fill("a {x", {"x": "1"}) == "a {x"
    assert registry.fill("a {x.y} {0}", {"x": "1"}) == "a {x.y} {0}"


def test_a_run_past_its_deadline_errors_the_remaining_checks(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    monkeypatch.setattr(runner, "load_checks", lambda: {"2.a": make("2.a", lambda s: passed("a"))})
    report = runner.run([2], snapshot, snapshot.profile, deadline=0.0)
    assert [r.status for r in report.results] == [Status.ERROR] and "--timeout" in report.results[0].message
    assert report.results[0].hint == "Rerun with a larger --timeout."
    on_time = runner.run([2], snapshot, snapshot.profile, deadline=float("inf"))
    assert [r.status for r in on_time.results] == [Status.PASS]


def test_only_grades_the_named_checks_and_their_prerequisites_silently(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    calls: list[str] = []

    def record(name: str) -> Callable[[Snapshot], Verdict]:
        return lambda s: (calls.append(name), passed(name))[1]

    checks = {c.id: c for c in [make("2.a", record("a")), make("2.b", record("b"), needs=("2.a",)), make("2.c", record("c"))]}
    monkeypatch.setattr(runner, "load_checks", lambda: checks)
    report = runner.run([2], snapshot, snapshot.profile, only=["2.b"])
    assert [r.check.id for r in report.results] == ["2.b"] and calls == ["a", "b"]
    assert report.lessons[0].title == "Deploy LiteMaaS" and report.target.user == "user1" and report.target.profile == "ai501"


def test_report_outcome_and_scores() -> None:
    from maas_lab.engine.model import CheckResult, LessonReport, Report, Target

    def result_(status: Status, required: bool = True, points: float = 0.0) -> CheckResult:
        check = make("2.a", lambda s: passed(""), required=required)
        return CheckResult(check, status, "", None, points, 2.0, {})

    def report(*results: CheckResult) -> Report:
        return Report("0", snapshot_time(), Target(None, None, "p"), [LessonReport(2, "t", list(results))])

    assert report(result_(Status.PASS, points=2.0), result_(Status.ERROR, required=False)).outcome is Outcome.PASS
    assert report(result_(Status.PASS), result_(Status.ERROR)).exit_code == 3
    assert report(result_(Status.SKIP)).exit_code == 1
    assert report(result_(Status.PASS, points=2.0), result_(Status.FAIL, required=False, points=0.0)).max_score == 2.0
    assert report(result_(Status.PASS, points=2.0), result_(Status.PASS, points=2.0)).score == 4.0
    assert result_(Status.PASS).passed and not result_(Status.SKIP).passed


def snapshot_time():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)


def test_registry_lookups() -> None:
    from maas_lab.errors import UsageError

    assert registry.parse_lessons("all") == [1, 2, 3, 4, 5] and registry.parse_lessons(" ALL ") == [1, 2, 3, 4, 5]
    assert registry.parse_lessons("3, 2,3") == [2, 3]
    for bad in ("6", "0", "x", "2,", "-1"):
        with pytest.raises(UsageError, match="choose 1-5 or 'all'"):
            registry.parse_lessons(bad)
    assert registry.get_check("2.routes").id == "2.routes"
    with pytest.raises(UsageError, match=r"unknown check id '2.route'; checks of that lesson: 2.namespace, "):
        registry.get_check("2.route")
    with pytest.raises(UsageError) as error:
        registry.get_check("9.x")
    assert str(error.value) == "unknown check id '9.x'"
    assert sorted(["10.a", "2.b", "x.y", "2.a"], key=registry.id_sort_key) == ["2.a", "2.b", "10.a", "x.y"]
    assert len(registry.LESSONS) == 5 and list(registry.LESSONS) == [1, 2, 3, 4, 5] and registry.LESSONS[2].title == "Deploy LiteMaaS"
    routes = registry.load_checks()["2.routes"]
    assert routes.lesson == 2 and routes.lesson_ref == "lessons/2-deploy-litemaas.md#step-4-install-with-helm"
    assert routes.title.startswith("Both Routes") and routes.description.startswith("Students and applications")
    assert routes.needs == ("2.namespace",) and routes.required
    assert not registry.load_checks()["3.role-assigned"].required
    api = registry.load_checks()["env.api-server"]
    assert api.lesson == "env" and api.lesson_ref == "lessons/lab-environment.md#api-server"
    assert registry.group("env").title == "Lab environment" and registry.group(2).title == "Deploy LiteMaaS"
    assert list(registry.GROUPS) == ["env"] and len(registry.GROUPS) == 1
    assert sorted(["env", 3, 1], key=registry.group_sort_key) == [1, 3, "env"]


def test_a_duplicate_check_id_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    registry.load_checks()
    logged_in = next(entry for entry in registry._REGISTERED if entry[0] == "1.logged-in")
    monkeypatch.setattr(registry, "_REGISTERED", [*registry._REGISTERED, logged_in])
    with pytest.raises(RuntimeError, match=r"duplicate check id 1\.logged-in"):
        registry.load_checks()


def test_each_exception_keeps_its_words(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    from maas_lab.engine.model import PrerequisiteMissing

    def bug(_: Snapshot) -> Verdict:
        raise KeyError("spec")

    def absent_with_hint(_: Snapshot) -> Verdict:
        raise Unavailable("no Route litemaas", hint="See 2.routes.")

    def absent(_: Snapshot) -> Verdict:
        raise Unavailable("no Route litemaas")

    checks = [make("2.a", bug), make("2.b", absent_with_hint), make("2.c", absent)]
    by_id = {r.check.id: r for r in grade(monkeypatch, snapshot, checks).results}
    assert by_id["2.a"].message == "internal error in 2.a: KeyError: 'spec'"
    assert by_id["2.a"].hint == "This is a grader bug, not your fault; please report it with the output of `maas-lab --version`."
    assert (by_id["2.b"].message, by_id["2.b"].hint) == ("no Route litemaas", "See 2.routes.")
    assert (by_id["2.c"].message, by_id["2.c"].hint) == ("no Route litemaas", "hint 2.c")
    waiting = runner.evaluate(make("3.x", lambda s: (_ for _ in ()).throw(PrerequisiteMissing("2.z", "not yet"))), snapshot)
    assert waiting.message == "needs 2.z: not yet"


def test_a_preflight_error_keeps_its_words(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    monkeypatch.setattr(runner, "load_checks", lambda: {"2.a": make("2.a", lambda s: passed("a"))})
    report = runner.run([2], snapshot, snapshot.profile, preflight_error=ServiceUnreachable("cluster down"))
    assert (report.results[0].message, report.results[0].hint) == ("cluster down", ServiceUnreachable.hint)


def test_a_registered_check_is_built_with_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check(...)(function)` records the check (and hands the function back); `load_checks` builds it from the record."""
    monkeypatch.setattr(registry, "_REGISTERED", list(registry._REGISTERED))

    def probe(_: Snapshot) -> Verdict:
        """The probe answers.

        Why it matters,
            over two lines."""
        return passed("fine")

    assert registry.check("env.probe", lesson_ref="probe", hint="Fix the probe.", evidence="a probe", needs=("env.api-server",))(probe) is probe
    built = registry.load_checks()["env.probe"]
    assert (built.lesson, built.title, built.description, built.function, built.hint, built.lesson_ref, built.evidence, built.needs,
            built.required) == ("env", "The probe answers.", "Why it matters, over two lines.", probe, "Fix the probe.",
                                "lessons/lab-environment.md#probe", "a probe", ("env.api-server",), True)


def test_the_course_mappings_are_read_from_the_course_package_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """LESSONS and GROUPS name an attribute of COURSE_PACKAGE, read at each use, not when the mapping is made."""
    import sys
    import types

    from maas_lab.engine.model import Lesson

    lessons = registry._FromCourse[int]("LESSONS")
    groups = registry._FromCourse[str]("GROUPS")
    course = types.ModuleType("another_course")
    course.LESSONS = {7: Lesson(7, "Serve a model", "lessons/7-serve.md")}  # type: ignore[attr-defined]
    course.GROUPS = {"lab": Lesson("lab", "The lab", "lessons/lab.md")}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "another_course", course)
    monkeypatch.setattr(registry, "COURSE_PACKAGE", "another_course")
    assert (list(lessons), len(lessons), lessons[7].title) == ([7], 1, "Serve a model")
    assert (list(groups), len(groups), groups["lab"].title) == (["lab"], 1, "The lab")
    assert list(registry.LESSONS) == [7] and registry.group("lab").file == "lessons/lab.md"


def test_a_check_starting_exactly_at_the_deadline_still_runs(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    """The deadline is the last moment a check may start: only a start after it is refused."""
    monkeypatch.setattr(runner, "load_checks", lambda: {"2.a": make("2.a", lambda s: passed("a"))})
    monkeypatch.setattr(runner.time, "monotonic", lambda: 100.0)
    assert [r.status for r in runner.run([2], snapshot, snapshot.profile, deadline=100.0).results] == [Status.PASS]
    assert [r.status for r in runner.run([2], snapshot, snapshot.profile, deadline=99.5).results] == [Status.ERROR]


def test_a_cycle_is_named_check_by_check() -> None:
    checks = {"2.a": make("2.a", lambda s: passed(""), needs=("2.b",)), "2.b": make("2.b", lambda s: passed(""), needs=("2.a",))}
    with pytest.raises(RuntimeError) as cycle:
        runner.order_checks(["2.a"], checks)
    assert str(cycle.value) == "prerequisite cycle: 2.a -> 2.b -> 2.a"


def test_checks_without_prerequisites_run_by_lesson_number_then_name() -> None:
    checks = {c.id: c for c in [make("2.b", lambda s: passed("")), make("2.a", lambda s: passed(""))]}
    checks["10.a"] = Check("10.a", 10, "t", "", lambda s: passed(""), "h", "x", "e")
    assert [c.id for c in runner.order_checks(["10.a", "2.b", "2.a"], checks)] == ["2.a", "2.b", "10.a"]


def test_every_prerequisite_must_pass_not_only_the_first(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    checks = [make("2.a", lambda s: passed("a")), make("2.b", lambda s: failed("no")), make("2.c", lambda s: passed("c"), needs=("2.a", "2.b"))]
    skipped_ = next(r for r in grade(monkeypatch, snapshot, checks).results if r.check.id == "2.c")
    assert (skipped_.status, skipped_.message) == (Status.SKIP, "needs 2.b, which did not pass (fail)")


def test_a_checks_duration_is_the_time_it_took(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    clock = iter([100.0, 102.5])  # a fake clock: the check starts at 100 s and ends at 102.5 s
    monkeypatch.setattr(runner.time, "monotonic", lambda: next(clock))
    (result,) = grade(monkeypatch, snapshot, [make("2.a", lambda s: passed("a"))]).results
    assert result.duration == 2.5


def test_the_report_says_who_what_and_when(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    from datetime import UTC

    from maas_lab import __version__

    snapshot.note("the kubeconfig skips TLS verification")
    report = grade(monkeypatch, snapshot, [make("2.a", lambda s: passed("a"))])
    assert report.tool_version == __version__ and report.notes == ["the kubeconfig skips TLS verification"]
    assert report.generated_at.tzinfo is UTC and report.generated_at.microsecond == 0
    assert (report.target.user, report.target.cluster_domain, report.target.profile) == ("user1", "apps.example.com", "ai501")


def test_results_come_in_the_order_the_lesson_teaches_them(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    checks = [make("2.routes", lambda s: passed("r")), make("2.namespace", lambda s: passed("n")), make("2.admin", lambda s: passed("a"))]
    assert [r.check.id for r in grade(monkeypatch, snapshot, checks).results] == ["2.routes", "2.namespace", "2.admin"]


def test_lessons_come_before_the_other_groups_in_one_report(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    env = Check("env.probe", "env", "t", "", lambda s: passed("p"), "h", "lessons/lab-environment.md#probe", "e")
    checks = {c.id: c for c in [env, make("3.b", lambda s: passed("b")), make("2.a", lambda s: passed("a"))]}
    monkeypatch.setattr(runner, "load_checks", lambda: checks)
    report = runner.run([], snapshot, snapshot.profile, only=["env.probe", "3.b", "2.a"])
    assert [(lesson.lesson, lesson.title) for lesson in report.lessons] == [(2, "Deploy LiteMaaS"), (3, "Admin configuration"), ("env", "Lab environment")]


def test_points_a_profile_sets_for_one_check_are_used(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    from maas_lab.profile import Points

    points = Points.model_validate({"required": 2, "bonus": 1, "2.routes": 5})
    profile = snapshot.profile.model_copy(update={"points": points})
    monkeypatch.setattr(runner, "load_checks", lambda: {"2.routes": make("2.routes", lambda s: passed("r"))})
    (result,) = runner.run([2], snapshot, profile).results
    assert (result.points, result.max_points) == (5.0, 5.0)


def test_the_check_a_result_shows_is_filled_for_the_student(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    titled = Check("2.a", 2, "t", "", lambda s: passed("ok"), "Open {user}-maas.", "lessons/2-deploy-litemaas.md#x", "e")
    (result,) = grade(monkeypatch, snapshot, [titled]).results
    assert result.check.hint == "Open user1-maas."


def test_an_unknown_user_stays_a_placeholder() -> None:
    values = registry.template_values(load_profile(None), None)
    assert values["user"] == "{user}" and registry.fill("Open {user}-maas.", values) == "Open {user}-maas."


def test_an_ids_head_is_before_its_first_dot_and_a_check_may_lack_a_docstring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTERED", list(registry._REGISTERED))

    def bare(_: Snapshot) -> Verdict:
        return passed("fine")

    registry.check("env.probe.v2", lesson_ref="probe", hint="h", evidence="e")(bare)
    built = registry.load_checks()["env.probe.v2"]
    assert (built.lesson, built.title, built.description, built.lesson_ref) == ("env", "", "", "lessons/lab-environment.md#probe")
    assert sorted(["env.b.a", "env.a.z", "2.b.c"], key=registry.id_sort_key) == ["2.b.c", "env.a.z", "env.b.a"]


def test_checks_load_in_the_order_the_course_names_its_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever module was imported first (`smoke` by `maas-lab smoke`), the lessons come first, the lab environment last."""
    registry.load_checks()
    smoke_first = sorted(registry._REGISTERED, key=lambda entry: entry[2].__module__ != "maas_lab.smoke")
    monkeypatch.setattr(registry, "_REGISTERED", smoke_first)
    ids = list(registry.load_checks())
    assert ids[:3] == ["1.logged-in", "1.can-create-project", "1.shared-models-ready"]
    assert ids[-2:] == ["env.roster-users", "env.roster-canopy"]


def test_a_grader_side_failure_keeps_its_words_and_its_own_hint(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    def unreachable(_: Snapshot) -> Verdict:
        raise ServiceUnreachable("could not connect to litemaas-user1-maas.apps.example.com")

    (result,) = grade(monkeypatch, snapshot, [make("2.a", unreachable)]).results
    assert (result.status, result.message) == (Status.ERROR, "could not connect to litemaas-user1-maas.apps.example.com")
    assert result.hint == ServiceUnreachable.hint


def test_a_check_the_deadline_refused_says_so(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    monkeypatch.setattr(runner, "load_checks", lambda: {"2.a": make("2.a", lambda s: passed("a"))})
    (result,) = runner.run([2], snapshot, snapshot.profile, deadline=float("-inf")).results
    assert (result.status, result.message) == (Status.ERROR, "the run's --timeout was reached before this check ran")


def test_a_check_is_handed_the_students_snapshot(monkeypatch: pytest.MonkeyPatch, snapshot: Snapshot) -> None:
    (result,) = grade(monkeypatch, snapshot, [make("2.a", lambda s: passed(f"graded {s.user_or_none}"))]).results
    assert (result.status, result.message) == (Status.PASS, "graded user1")
