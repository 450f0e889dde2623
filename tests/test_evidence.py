"""Grading behaviour that depends on how evidence is read: recipes, credentials, converging states, grader-side failures,
TLS, call budgets. Real kubernetes and httpx clients against the loopback fakes; the keys helpers also as pure functions
of what they read."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from maas_lab.engine.model import Outcome, Status
from maas_lab.evidence.services import CredentialRejected
from maas_lab.evidence.values import same_number
from maas_lab.lessons.common import rollout
from maas_lab.lessons.keys import (
    alias_prefix,
    find_keys,
    is_alias_of,
    is_live,
    key_verdict,
    recently_created,
    spend_window_start,
    student_activity,
    student_tokens,
    successful_rows,
)
from maas_lab.profile import KeySpec
from tests.fakes import litellm as fl
from tests.fakes.faults import issue_tls_files
from tests.fakes.litemaas import FakeLiteMaaS
from tests.fixtures.cluster import HOUR, USER, iso, kustomize_litemaas
from tests.fixtures.world import KEYS, STUDENT_ID, World
from tests.lab import Lab, result, statuses

MAAS = f"{USER}-maas"
LESSON_2 = [2]


def not_helm(o: dict) -> bool:  # type: ignore[type-arg]
    return o["metadata"].get("namespace") == MAAS and o["kind"] not in ("Namespace", "RoleBinding")


def test_kustomize_install_is_graded_like_helm(lab: Lab, world: World) -> None:
    world.drop(not_helm)
    world.objects += kustomize_litemaas(USER, {k: v for k, v in world.secrets.items() if not k.startswith("key:")}, world.now - 5 * HOUR)
    world.litemaas.oauth_client_id = "litemaas-oauth-client"
    lab.load(world)
    report = lab.grade([2, 3, 4])
    assert {c: s for c, s in statuses(report).items() if s is not Status.PASS} == {"4.key-works": Status.SKIP}
    assert "OAuthClient litemaas-oauth-client" in result(report, "2.oauth").message


def test_a_release_with_another_name_and_a_second_install(lab: Lab, world: World) -> None:
    from tests.fixtures.cluster import helm_litemaas

    other = helm_litemaas(USER, {k: v for k, v in world.secrets.items() if not k.startswith("key:")}, world.now - 5 * HOUR, release="demo")
    world.objects += [o for o in other if o["kind"] != "Namespace"]
    lab.load(world)
    report = lab.grade(LESSON_2)
    assert report.outcome is Outcome.PASS
    assert any("grading the Helm release litemaas" in note and "demo" in note for note in report.notes)


def test_a_rollout_in_progress_is_pending_not_fail(lab: Lab, world: World) -> None:
    deploy = world.find("Deployment", "litemaas-litellm", MAAS)
    deploy["metadata"]["generation"] = 3
    deploy["status"].update(updatedReplicas=0, readyReplicas=0, availableReplicas=0, observedGeneration=3)
    deploy["status"]["conditions"][1].update(reason="ReplicaSetUpdated", lastUpdateTime=iso(world.now - timedelta(seconds=40)))
    lab.load(world)
    report = lab.grade(LESSON_2)
    assert result(report, "2.litellm-ready").status is Status.PENDING
    assert result(report, "2.litellm-healthy").status is Status.SKIP
    assert "waiting for 2.litellm-ready" in result(report, "2.litellm-healthy").message
    assert report.outcome is Outcome.FAIL and report.exit_code == 1


def test_a_rollout_stuck_past_its_deadline_fails(lab: Lab, world: World) -> None:
    deploy = world.find("Deployment", "litemaas-backend", MAAS)
    deploy["status"].update(readyReplicas=0, availableReplicas=0)
    deploy["status"]["conditions"][1].update(reason="ProgressDeadlineExceeded", message='ReplicaSet "x" has timed out progressing.')
    lab.load(world)
    verdict = result(lab.grade(LESSON_2), "2.backend-ready")
    assert verdict.status is Status.FAIL and "timed out" in verdict.message


def test_a_rollout_is_pending_only_while_it_began_less_than_its_deadline_ago() -> None:
    """The rubric's boundary: a rollout that began exactly progressDeadlineSeconds ago is no longer converging."""
    workload = {
        "metadata": {"name": "litemaas-litellm", "creationTimestamp": iso(NOW - timedelta(seconds=600)), "generation": 1},
        "spec": {"replicas": 1, "progressDeadlineSeconds": 600, "selector": {"matchLabels": {"app": "litellm"}}},
        "status": {"observedGeneration": 1},
    }

    def verdict(now: datetime) -> Any:
        snap = SimpleNamespace(now=now, find=lambda plural, namespace, name: workload, objects=lambda plural, namespace: [])
        return rollout(snap, "Deployment", MAAS, "litemaas-litellm", what="LiteLLM")  # type: ignore[arg-type]

    within, at_deadline = verdict(NOW - timedelta(seconds=1)), verdict(NOW)
    assert (within.status, within.message) == (Status.PENDING, "LiteLLM is rolling out (0/1 ready)")
    assert (at_deadline.status, at_deadline.message) == (Status.FAIL, "LiteLLM is not ready: 0/1 ready, 0/1 updated, 0/1 available")


def test_missing_secret_permission_is_error_and_could_not_grade(lab: Lab, world: World) -> None:
    binding = next(o for o in world.objects if o["kind"] == "RoleBinding" and o["metadata"].get("namespace") == MAAS)
    binding["roleRef"]["name"] = "view"  # view may not read Secrets
    lab.load(world)
    report = lab.grade(LESSON_2)
    verdict = result(report, "2.no-default-secrets")
    assert verdict.status is Status.ERROR and "secrets" in verdict.message
    assert report.outcome is Outcome.COULD_NOT_GRADE and report.exit_code == 3


def test_route_missing_skips_the_http_checks(lab: Lab, world: World) -> None:
    world.drop(lambda o: o["kind"] == "Route" and o["metadata"]["name"] == "litemaas")
    lab.load(world)
    report = lab.grade(LESSON_2)
    assert result(report, "2.routes").status is Status.FAIL
    assert result(report, "2.backend-healthy").status is Status.SKIP
    assert lab.litemaas.request_log == []


def test_a_router_503_is_the_students_side(lab: Lab) -> None:
    lab.litemaas.inject(r"^/api/v1/health$", status=503, body="<html>Application is not available</html>")
    verdict = result(lab.grade(LESSON_2), "2.backend-healthy")
    assert verdict.status is Status.FAIL and "503" in verdict.message


def test_an_unreachable_service_is_an_error(lab: Lab) -> None:
    report = lab.grade(LESSON_2, litellm_url="http://127.0.0.1:9")
    verdict = result(report, "2.litellm-healthy")
    assert verdict.status is Status.ERROR and "127.0.0.1" in verdict.message
    assert report.outcome is Outcome.COULD_NOT_GRADE


def test_tls_verification_failure_hints_at_ca_bundle(lab: Lab, world: World, tmp_path: Path) -> None:
    tls_cert, ca_file = issue_tls_files(tmp_path)
    with FakeLiteMaaS(world.litemaas, tls_cert=tls_cert) as secure:
        from maas_lab.grading import grade

        settings = lab.settings(litemaas_url=secure.url, litellm_url=lab.litellm.url)
        untrusted = result(grade(settings, LESSON_2), "2.backend-healthy")
        assert untrusted.status is Status.ERROR and "--ca-bundle" in (untrusted.hint or "")
        trusted = grade(settings.with_(ca_bundle=str(ca_file)), LESSON_2)
        assert result(trusted, "2.backend-healthy").status is Status.PASS
        assert result(grade(settings.with_(insecure=True), LESSON_2), "2.backend-healthy").status is Status.PASS


def test_unusable_admin_key_falls_back_to_a_jwt_found_through_litellm(lab: Lab, world: World) -> None:
    world.set_secret("litemaas-backend", "admin-api-keys", "changeme")
    lab.load(world)
    report = lab.grade([2, 3, 4])
    assert result(report, "2.keys-consistent").status is Status.FAIL
    assert {c: s for c, s in statuses(report).items() if s is not Status.PASS} == {
        "2.keys-consistent": Status.FAIL, "2.no-default-secrets": Status.FAIL, "4.key-works": Status.SKIP}
    assert {r.auth for r in lab.litemaas.request_log} <= {"jwt", "none"}


def test_a_refused_admin_key_is_retried_once_with_the_jwt(lab: Lab, world: World) -> None:
    world.litemaas.admin_api_keys = ["ltm_admin_rotated-but-pods-not-restarted"]
    lab.load(world)
    report = lab.grade([2, 3])
    assert report.outcome is Outcome.PASS
    refused = [r for r in lab.litemaas.request_log if r.auth == "bad"]
    assert len(refused) == 1  # one 401, then every admin read with the JWT


def test_never_logged_in(lab: Lab, world: World) -> None:
    world.litemaas.users = [u for u in world.litemaas.users if u["id"] != STUDENT_ID]
    world.litellm.users = [u for u in world.litellm.users if u["user_id"] != STUDENT_ID]
    lab.load(world)
    report = lab.grade([2, 3])
    verdict = result(report, "2.admin-login")
    assert verdict.status is Status.FAIL and "log in to LiteMaaS once" in verdict.message
    assert result(report, "3.pricing").status is Status.SKIP


def test_rotated_master_key_without_restart(lab: Lab, world: World) -> None:
    world.set_secret("litemaas-backend", "admin-api-keys", "")
    world.litellm.master_key = "sk-the-running-pod-still-has-the-old-one"
    lab.load(world)
    verdict = result(lab.grade(LESSON_2), "2.admin-login")
    assert verdict.status is Status.FAIL and "pods not restarted" in (verdict.hint or "")


def test_jwt_rejected_uses_the_litellm_role(lab: Lab, world: World) -> None:
    world.set_secret("litemaas-backend", "admin-api-keys", "")
    world.litemaas.jwt_secret = "the-backend-runs-with-another-secret"
    lab.load(world)
    report = lab.grade(LESSON_2)
    assert result(report, "2.admin-login").status is Status.PASS
    assert any("read from LiteLLM" in note for note in report.notes)


def test_spend_not_flushed_yet_is_pending(lab: Lab, world: World) -> None:
    token = fl.hash_key(KEYS["my-first-key"][0])
    world.litellm.spend_logs = [r for r in world.litellm.spend_logs if r["api_key"] != token]
    world.litellm_key("my-first-key")["created_at"] = iso(world.now - timedelta(seconds=30))
    lab.load(world)
    verdict = result(lab.grade([4]), "4.keys-used")
    assert verdict.status is Status.PENDING and "rerun in a minute" in (verdict.hint or "")


def test_key_works_with_the_students_key(lab: Lab, world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MY_KEY", KEYS["multi-model-key"][0])
    report = lab.grade([4], api_key_env="MY_KEY")
    assert result(report, "4.key-works").status is Status.PASS
    chats = lab.litellm.requests_matching(r"^/v1/chat/completions$", "POST")
    assert len(chats) == 1 and b'"max_tokens": 1' in chats[0].body.replace(b'"max_tokens":1', b'"max_tokens": 1')
    monkeypatch.setenv("MY_KEY", "sk-NotAKeyAnyoneHasXXXXXX")
    lab.load(world)
    verdict = result(lab.grade([4], api_key_env="MY_KEY"), "4.key-works")
    assert verdict.status is Status.FAIL and "sk-NotAKeyAnyoneHasXXXXXX" not in verdict.message


def test_grading_a_student_who_does_not_exist_on_their_behalf(lab: Lab, openshift, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin = openshift.write_kubeconfig(tmp_path / "admin", token="tok-admin")
    report = lab.grade([1], kubeconfig=str(admin), user="ghost", on_behalf=True)
    assert result(report, "1.logged-in").status is Status.FAIL
    present = lab.grade([1], kubeconfig=str(admin), user=USER, on_behalf=True)
    assert statuses(present)["1.logged-in"] is Status.PASS and statuses(present)["1.can-create-project"] is Status.PASS


def test_each_request_is_made_once_and_does_not_grow_with_the_checks(lab: Lab) -> None:
    lab.grade()
    everything = [*lab.litemaas.request_log, *lab.litellm.request_log]
    repeated = {k: n for k, n in Counter((r.method, r.url, r.auth) for r in everything).items() if n > 1}
    assert repeated == {}
    kube = Counter((r.method, r.path, repr(sorted(r.query.items())) if isinstance(r.query, dict) else r.query)
                   for r in lab.openshift.request_log if r.method == "GET")
    assert max(kube.values()) == 1
    first = len(everything)
    lab.litemaas.clear_log()
    lab.litellm.clear_log()
    lab.grade(only=["4.keys-used", "4.two-models-called", "4.playground", "4.first-key", "4.multi-model-key"])
    assert len([*lab.litemaas.request_log, *lab.litellm.request_log]) < first


def test_the_grader_never_writes(lab: Lab) -> None:
    lab.grade()
    for record in lab.openshift.request_log:
        assert record.method == "GET" or record.path.endswith(("accessreviews", "rulesreviews")), record.path
    for record in lab.litemaas.request_log:
        assert record.method == "GET" or (record.method, record.path, record.auth) == ("POST", "/api/auth/login", "none")
        assert (record.user_agent or "").startswith("maas-lab/")
        assert not (record.path == "/api/v1/admin/audit" and record.auth == "jwt")
    for record in lab.litellm.request_log:
        assert record.method == "GET" and record.path != "/health"
        assert (record.user_agent or "").startswith("maas-lab/")


# -- how a LiteMaaS key is recognised in LiteLLM, and when a key counts: pure functions --------------------------

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_a_key_alias_is_the_sanitised_name_and_eight_hex_digits() -> None:
    assert alias_prefix("Old key.v2") == "Old_key_v2_"  # capitals kept, anything outside [A-Za-z0-9_-] becomes _
    assert is_alias_of("Old_key_v2_0a1b2c3d", "Old key.v2")
    for other in ("Old_key_v2_0A1B2C3D", "Old_key_v2_0a1b2c3", "Old_key_v2_0a1b2c3d4", "Old-key-v2_0a1b2c3d", "Old_key_v2_"):
        assert not is_alias_of(other, "Old key.v2"), other


def test_a_budget_is_the_same_number_only_within_a_billionth() -> None:
    assert same_number(5, 5.0) and same_number("5", 5) and same_number(5 + 1e-10, 5)
    assert not same_number(5.5, 5) and not same_number(-5, 5) and not same_number(1e-9, 0)
    assert not same_number(None, 5) and not same_number("five", 5)


def test_a_litellm_key_is_live_until_blocked_or_expired() -> None:
    snap = SimpleNamespace(now=NOW)  # is_live reads the snapshot's clock only
    assert is_live({"blocked": None, "expires": None}, snap)  # type: ignore[arg-type]
    assert is_live({"expires": iso(NOW + timedelta(seconds=1))}, snap)  # type: ignore[arg-type]
    assert not is_live({"blocked": True, "expires": None}, snap)  # type: ignore[arg-type]
    assert not is_live({"blocked": True, "expires": iso(NOW + HOUR)}, snap)  # type: ignore[arg-type]
    assert not is_live({"expires": iso(NOW)}, snap)  # type: ignore[arg-type]
    assert not is_live({"expires": iso(NOW - HOUR)}, snap)  # type: ignore[arg-type]


def test_a_key_is_recently_created_for_less_than_two_minutes() -> None:
    snap = SimpleNamespace(now=NOW)  # recently_created reads the snapshot's clock only
    assert recently_created(snap, {"created_at": iso(NOW - timedelta(seconds=119))})  # type: ignore[arg-type]
    assert not recently_created(snap, {"created_at": iso(NOW - timedelta(seconds=120))})  # type: ignore[arg-type]
    assert not recently_created(snap, {"created_at": iso(NOW - HOUR)})  # type: ignore[arg-type]
    assert not recently_created(snap, {"created_at": None}) and not recently_created(snap, None)  # type: ignore[arg-type]


def _readings(*, litellm_keys: Any = (), api_keys: Any = (), rows: Any = (), activity: Any = None, audit: Any = None) -> Any:
    """What keys.py reads from a snapshot, for one student: the calls it makes are recorded in `asked`."""
    asked: list[tuple[Any, ...]] = []

    def spend_logs(user_id: str, *, since: Any, until: Any) -> list[dict[str, Any]]:
        asked.append(("spend", user_id, since, until))
        return [dict(r) for r in rows]

    def my_activity(action: str) -> list[dict[str, Any]]:
        if activity is None:
            raise CredentialRejected("the student's JWT was refused")
        return [r for r in activity if r["action"] == action]

    def audit_rows(action: str, *, user_id: str | None = None) -> list[dict[str, Any]] | None:
        asked.append(("audit", action, user_id))
        return None if audit is None else [r for r in audit if r["action"] == action]

    return SimpleNamespace(
        now=NOW,
        student=SimpleNamespace(id=STUDENT_ID),
        asked=asked,
        litellm=SimpleNamespace(keys_of=lambda user_id: list(litellm_keys) if user_id == STUDENT_ID else [], spend_logs=spend_logs),
        student_litemaas=SimpleNamespace(my_api_keys=lambda: [dict(k) for k in api_keys]),
        litemaas=SimpleNamespace(my_activity=my_activity, audit=audit_rows),
    )


def test_spend_is_read_from_the_oldest_key_or_ninety_days_back() -> None:
    dated = [{"token": "t1", "created_at": iso(NOW - HOUR)}, {"token": "t2", "created_at": iso(NOW - timedelta(days=3))}]
    assert spend_window_start(_readings(litellm_keys=dated)) == (NOW - timedelta(days=3)).date()
    undated = [*dated, {"token": "t3", "created_at": None}]
    assert spend_window_start(_readings(litellm_keys=undated)) == (NOW - timedelta(days=90)).date()
    assert spend_window_start(_readings()) == (NOW - timedelta(days=90)).date()
    assert student_tokens(_readings(litellm_keys=[*undated, {"token": None}, {"key_alias": "x"}])) == {"t1", "t2", "t3"}


def test_successful_rows_are_the_students_own_successes_of_those_keys() -> None:
    tag = "User-Agent: curl/8.5.0"
    rows = [
        {"id": 1, "api_key": "t1", "status": "failure", "request_tags": [tag]},
        {"id": 2, "api_key": "t9", "status": "success", "request_tags": [tag]},
        {"id": 3, "api_key": "t1", "status": "success", "request_tags": ["User-Agent: maas-lab/1.0.0"]},
        {"id": 4, "api_key": "t1", "status": "success", "request_tags": [tag]},
        {"id": 5, "api_key": "t1", "request_tags": None},
    ]
    snap = _readings(litellm_keys=[{"token": "t1", "created_at": iso(NOW - HOUR)}], rows=rows)
    assert [r["id"] for r in successful_rows(snap, tokens={"t1"})] == [4, 5]
    assert snap.asked == [("spend", STUDENT_ID, (NOW - HOUR).date(), NOW.date())]
    assert successful_rows(snap, tokens=set()) == [] and len(snap.asked) == 1  # nothing to read for no key


def test_activity_falls_back_to_the_admin_audit_of_the_student_only() -> None:
    mine = {"action": "USER_UPDATE", "userId": STUDENT_ID, "id": 1}
    theirs = {"action": "USER_UPDATE", "userId": "someone-else", "id": 2}
    own = _readings(activity=[mine, {"action": "OTHER", "userId": STUDENT_ID, "id": 3}])
    assert student_activity(own, "USER_UPDATE") == [mine] and own.asked == []
    fallback = _readings(audit=[theirs, mine, {"action": "OTHER", "userId": STUDENT_ID, "id": 3}])
    assert student_activity(fallback, "USER_UPDATE") == [mine]
    assert fallback.asked == [("audit", "USER_UPDATE", STUDENT_ID)]
    with pytest.raises(CredentialRejected):  # neither the JWT nor an admin key: the student's side, said by the runner
        student_activity(_readings(), "USER_UPDATE")


def _key(name: str, models: list[str], **fields: Any) -> dict[str, Any]:
    return {"name": name, "models": models, "isActive": True, "keyPrefix": "sk-abc", **fields}


def test_a_key_matches_by_name_models_and_budget_and_finds_its_litellm_twin() -> None:
    spec = KeySpec(name="multi key", models=["B", "A"], max_budget=5)
    twin = {"key_alias": "multi_key_0a1b2c3d", "models": ["A", "B"], "token": "t1"}
    twins = [{"key_alias": None, "models": ["A", "B"]}, {"key_alias": "multi_key_0a1b2c3e", "models": ["A"]},
             {"key_alias": "other_key_0a1b2c3d", "models": ["A", "B"]}, twin]
    api_keys = [_key("multi key", ["A", "B"], isActive=False), _key("multi key", ["A"]), _key("multi key", []),
                _key("multi key", ["A", "B"], maxBudget=6), _key("multi key", ["C", "A"]), {"name": "multi key", "models": ["A", "B"]},
                _key("multi key", ["B", "A"], maxBudget="5")]
    snap = _readings(litellm_keys=twins, api_keys=api_keys)
    matches, problems = find_keys(snap, spec)
    assert [(m.litemaas, m.litellm, m.token, m.label) for m in matches] == [(api_keys[-1], twin, "t1", "multi key (sk-abc)")]
    assert problems == ["it is not active (revoked?)", "its models are A, expected A, B", "its models are none, expected A, B",
                        "its max budget is 6, expected 5", "its models are A, C, expected A, B", "it is not active (revoked?)"]
    verdict = key_verdict(snap, spec)
    assert (verdict.status, verdict.message, dict(verdict.evidence)) == (Status.PASS, "active key multi key with B, A", {"key": "multi key (sk-abc)"})
    wrong = key_verdict(_readings(litellm_keys=twins, api_keys=api_keys[:4] + api_keys[:1]), spec)
    assert (wrong.status, wrong.message) == (Status.FAIL, "key multi key found, but it is not active (revoked?); its max budget is 6, "
                                             "expected 5; its models are A, expected A, B; its models are none, expected A, B")
    assert key_verdict(_readings(api_keys=[_key("other", ["A", "B"])]), spec).message == "no key named multi key"
    assert find_keys(_readings(api_keys=[_key("first", ["A"])]), KeySpec(name="first", models=["A"]))[0][0].litellm is None
