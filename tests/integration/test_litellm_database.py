"""maas-lab's LiteLLM reader against the real LiteLLM 1.81.0 with PostgreSQL: users, keys by user with their
hashes, spend logs, budgets and models, the way the lessons read them.

A module fixture sets up one course-like student (a LiteMaaS-style user with budget and limits, keys named as
LiteMaaS names them, calls from curl, a browser and the grader itself, a denied call, a spent budget) and a
classmate, then waits once for LiteLLM's batch write of the spend rows.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from maas_lab import USER_AGENT
from maas_lab.errors import ServiceError
from maas_lab.evidence import litellm as litellm_module
from maas_lab.evidence.litellm import LiteLLM
from maas_lab.evidence.sensitive import Redactor, Sensitive
from maas_lab.evidence.services import CredentialRejected, Fetch, error_message
from maas_lab.lessons import keys as lesson_keys
from maas_lab.lessons.common import parse_time
from tests.fakes import litellm as ll
from tests.test_fake_fidelity import differences, shape_of

from .conftest import MOCK_COSTS, SECRET_NAME, RealStack

pytestmark = pytest.mark.integration

LITELLM_VERSION = "1.81.0"  # what LiteMaaS v0.4.0 ships
CURL = "curl/8.1.2"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
GPT, LLAMA = "mock-gpt-4o", "mock-llama-3-8b"


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def call_cost(model: str) -> float:
    prompt, completion = MOCK_COSTS[model]
    return 10 * prompt + 20 * completion


STUDENT_SPEND = 3 * call_cost(GPT) + call_cost(LLAMA)  # the course's successful calls (curl, maas-lab, tiny; browser)


@dataclass
class Course:
    """What the module fixture made: ids, keys (plaintext, set-up side only) and how the calls were answered."""

    student: str
    classmate: str
    email: str
    keys: dict[str, str] = field(default_factory=dict)  # role -> sk-…
    aliases: dict[str, str] = field(default_factory=dict)  # role -> key_alias
    answers: dict[str, int] = field(default_factory=dict)  # call -> HTTP status

    def token(self, role: str) -> str:
        return sha256(self.keys[role])


def _litemaas_key(stack: RealStack, course: Course, role: str, name: str, models: list[str], **fields: Any) -> None:
    """A key as LiteMaaS creates it: alias `<name>_<8 hex>`, the LiteMaaS user id, LiteMaaS's metadata."""
    alias = lesson_keys.alias_prefix(name) + secrets.token_hex(4)
    metadata = {"created_by": "litemaas", "model_count": len(models), "legacy_request": False}
    course.keys[role] = stack.new_key(course.student, key_alias=alias, models=models, metadata=metadata, **fields)
    course.aliases[role] = alias


@pytest.fixture(scope="module")
def course(stack: RealStack, run_id: str, fetch: Fetch) -> Course:
    course = Course(student=str(uuid.uuid4()), classmate=str(uuid.uuid4()), email=f"student-{run_id}")
    # LiteMaaS mirrors its users with their UUID, username as alias and email, and makes keys itself.
    stack.new_user(
        course.student,
        user_alias=course.email,
        user_email=course.email,
        user_role="internal_user",
        max_budget=50,
        tpm_limit=20000,
        rpm_limit=60,
        auto_create_key=False,
    )
    stack.new_user(course.classmate, user_alias=f"classmate-{run_id}", user_email=f"classmate-{run_id}", user_role="proxy_admin")
    course.keys["classmate"] = stack.new_key(course.classmate, key_alias=f"theirs_{run_id}", models=[GPT])

    _litemaas_key(stack, course, "first", "my-first-key", [GPT])
    _litemaas_key(stack, course, "multi", "multi-model-key", [GPT, LLAMA], max_budget=5)
    _litemaas_key(stack, course, "blocked", "revoked key", [GPT])
    _litemaas_key(stack, course, "tiny", "tiny-budget", [GPT], max_budget=0.0001)
    _litemaas_key(stack, course, "expired", "expired", [GPT], duration="1s")
    stack.post("/key/block", {"key": course.keys["blocked"]})

    course.answers = make_calls(stack.base_url, stack.master_key, course.keys, fetch)
    successes = sum(1 for status in course.answers.values() if status == 200) - 1  # not the classmate's
    stack.wait_for_spend(course.student, successes, STUDENT_SPEND)
    return course


# call -> (key role, model, User-Agent); the grader's own call and the second tiny-budget call come after
CALLS = {
    "curl on gpt": ("first", GPT, CURL),
    "browser on llama": ("multi", LLAMA, BROWSER),
    "denied model": ("first", LLAMA, CURL),
    "blocked key": ("blocked", GPT, CURL),
    "tiny budget, first": ("tiny", GPT, CURL),
    "classmate": ("classmate", GPT, CURL),
}


def make_calls(base_url: str, master_key: Sensitive, keys: dict[str, str], fetch: Fetch) -> dict[str, int]:
    """The course's traffic against a proxy (the real one or the fake): call -> HTTP status."""
    answers: dict[str, int] = {}
    body = {"model": GPT, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=base_url, timeout=30.0, trust_env=False) as client:
        for name, (role, model, agent) in CALLS.items():
            headers = {"Authorization": f"Bearer {keys[role]}", "User-Agent": agent}
            answers[name] = client.post("/v1/chat/completions", json={**body, "model": model}, headers=headers).status_code
        # The grader's own one-token call (4.key-works), with maas-lab's User-Agent.
        grader = LiteLLM(fetch, base_url, master_key, secret_name=SECRET_NAME)
        answers["maas-lab on gpt"] = grader.chat_with_key(Sensitive(keys["multi"]), GPT).status
        # The spend of the first call is counted at once: the next call is over the budget.
        headers = {"Authorization": f"Bearer {keys['tiny']}", "User-Agent": CURL}
        answers["tiny budget, second"] = client.post("/v1/chat/completions", json=body, headers=headers).status_code
    return answers


def spend_around_today(api: LiteLLM, user_id: str) -> list[dict[str, Any]]:
    """The user's spend rows from yesterday to tomorrow: the module fixture made its calls just now."""
    today = datetime.now(UTC).date()
    return api.spend_logs(user_id, since=today - timedelta(days=1), until=today + timedelta(days=1))


def stand_in_snapshot(api: LiteLLM, student_id: str) -> Any:
    """What keys.py asks of a snapshot: the LiteLLM reader and the student's id."""
    return SimpleNamespace(litellm=api, student=SimpleNamespace(id=student_id), now=datetime.now(UTC))


# -- the set-up itself behaved as a course's proxy does -----------------------------------------------------


def test_calls_answered_as_in_a_course(course: Course) -> None:
    assert course.answers == {
        "curl on gpt": 200,
        "browser on llama": 200,
        "denied model": 401,  # key_model_access_denied
        "blocked key": 401,
        "tiny budget, first": 200,
        "classmate": 200,
        "maas-lab on gpt": 200,
        "tiny budget, second": 400,  # budget_exceeded
    }


# -- health ----------------------------------------------------------------------------------------------


def test_readiness_reports_the_database_connected(litellm_api: LiteLLM) -> None:
    answer = litellm_api.readiness()
    assert answer.status == 200
    body = answer.json_dict()
    # The two fields 2.litellm-healthy reads.
    assert (body["db"], body["litellm_version"]) == ("connected", LITELLM_VERSION)


@pytest.mark.parametrize("path", ["/health/liveliness", "/health/liveness"])
def test_liveliness_is_a_json_string(fetch: Fetch, stack: RealStack, path: str) -> None:
    answer = fetch("GET", stack.base_url + path)
    assert (answer.status, answer.body) == (200, "I'm alive!")
    assert answer.json_dict() == {}  # a string body is no dict: callers must not expect fields here


# -- users -----------------------------------------------------------------------------------------------


def test_users_reads_every_page(litellm_api: LiteLLM, course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot finds the student in /user/list when LiteMaaS is unusable; pages of 1 force several reads."""
    monkeypatch.setattr(litellm_module, "PAGE_SIZE", 1)
    users = litellm_api.users()
    ids = [u["user_id"] for u in users]
    assert len(ids) == len(set(ids)) >= 2  # at least this run's two users, and no row twice
    assert len(litellm_api.users()) == len(users)  # the same with the default page size
    student = next(u for u in users if u["user_id"] == course.student)
    # The fields Snapshot._find_student matches on and keeps.
    assert (student["user_alias"], student["user_email"], student["user_role"]) == (course.email, course.email, "internal_user")
    classmate = next(u for u in users if u["user_id"] == course.classmate)
    assert classmate["user_role"] == "proxy_admin"


def test_user_info_has_the_budget_and_limits(litellm_api: LiteLLM, course: Course) -> None:
    info = litellm_api.user_info(course.student)
    assert info is not None
    user = info["user_info"]
    # What 3.user-budget compares with the profile.
    assert (user["max_budget"], user["tpm_limit"], user["rpm_limit"]) == (50, 20000, 60)
    # LiteLLM counts the user's spend too (what its max_budget is enforced against).
    assert user["spend"] == pytest.approx(STUDENT_SPEND)
    assert sorted(k["token"] for k in info["keys"]) == sorted(course.token(role) for role in course.aliases)


def test_user_info_of_an_unknown_user_is_none(litellm_api: LiteLLM, run_id: str) -> None:
    assert litellm_api.user_info(f"nobody-{run_id}") is None  # LiteLLM answers 404 "User … not found"


# -- keys ------------------------------------------------------------------------------------------------


def test_keys_of_a_user_with_their_hashes(litellm_api: LiteLLM, course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(litellm_module, "PAGE_SIZE", 2)  # five keys: three pages
    keys = litellm_api.keys_of(course.student)
    by_token = {k["token"]: k for k in keys}
    assert len(by_token) == len(keys) == 5
    # `token` is the SHA-256 of the key: how the lessons join LiteLLM to LiteMaaS and to a Secret's token.
    assert set(by_token) == {course.token(role) for role in course.aliases}
    assert course.token("classmate") not in by_token
    first = by_token[course.token("first")]
    assert lesson_keys.is_alias_of(first["key_alias"], "my-first-key")
    assert lesson_keys.is_alias_of(by_token[course.token("blocked")]["key_alias"], "revoked key")  # sanitised name
    assert (first["user_id"], first["models"], first["metadata"]["created_by"]) == (course.student, [GPT], "litemaas")
    assert by_token[course.token("multi")]["max_budget"] == 5
    assert parse_time(first["created_at"]) is not None
    assert [k["token"] for k in litellm_api.keys_of(course.student)] == [k["token"] for k in keys]  # page size 100


def test_blocked_and_expired_keys_are_not_live(litellm_api: LiteLLM, course: Course) -> None:
    keys = {k["token"]: k for k in litellm_api.keys_of(course.student)}
    snap = stand_in_snapshot(litellm_api, course.student)
    live = {role for role in course.aliases if lesson_keys.is_live(keys[course.token(role)], snap)}
    assert live == {"first", "multi", "tiny"}
    assert keys[course.token("blocked")]["blocked"] is True
    expires = parse_time(keys[course.token("expired")]["expires"])
    assert expires is not None and expires < snap.now


def test_keys_of_a_user_without_keys(litellm_api: LiteLLM, stack: RealStack, run_id: str) -> None:
    user = f"keyless-{run_id}"
    stack.new_user(user, auto_create_key=False)
    assert litellm_api.keys_of(user) == []


# -- spend logs ------------------------------------------------------------------------------------------


def test_spend_logs_of_a_user(litellm_api: LiteLLM, course: Course) -> None:
    rows = spend_around_today(litellm_api, course.student)
    successes = [r for r in rows if r.get("status") == "success"]
    assert len(successes) == 4  # curl, browser, maas-lab, the tiny key's first call
    assert {r["user"] for r in rows} == {course.student}  # not the classmate's
    assert {r["api_key"] for r in successes} == {course.token("first"), course.token("multi"), course.token("tiny")}
    for row in successes:
        model = row["model_group"]  # the public name; `model` is the deployment (`openai/<backend>`)
        assert row["model"] == f"openai/{model}"
        assert row["spend"] == pytest.approx(call_cost(model))
        assert parse_time(row["startTime"]) is not None


def test_spend_rows_carry_the_callers_user_agent(litellm_api: LiteLLM, course: Course) -> None:
    tags = {tuple(r.get("request_tags") or []) for r in spend_around_today(litellm_api, course.student) if r.get("status") == "success"}
    assert ("User-Agent: curl", f"User-Agent: {CURL}") in tags
    assert ("User-Agent: Mozilla", f"User-Agent: {BROWSER}") in tags
    assert ("User-Agent: maas-lab", f"User-Agent: {USER_AGENT}") in tags


def test_lessons_drop_the_graders_own_calls(litellm_api: LiteLLM, course: Course) -> None:
    """What 4.keys-used, 4.two-models-called and 4.playground count: the student's successful rows only."""
    snap = stand_in_snapshot(litellm_api, course.student)
    rows = lesson_keys.successful_rows(snap, tokens=lesson_keys.student_tokens(snap))
    assert not any(tag.startswith(lesson_keys.GRADER_AGENT_TAG) for r in rows for tag in r.get("request_tags") or [])
    assert len(rows) == 3
    multi = lesson_keys.successful_rows(snap, tokens={course.token("multi")})
    assert [r["model_group"] for r in multi] == [LLAMA]  # the browser call; the grader's own call is not counted
    assert any("User-Agent: Mozilla/" in tag for tag in multi[0]["request_tags"])  # 4.playground's browser evidence
    assert lesson_keys.successful_rows(snap, tokens={course.token("blocked")}) == []
    assert {r["model_group"] for r in rows} == {GPT, LLAMA}  # 4.two-models-called


def test_spend_logs_of_a_user_without_calls(litellm_api: LiteLLM, run_id: str) -> None:
    assert spend_around_today(litellm_api, f"nobody-{run_id}") == []


# -- a student's key (4.key-works) -----------------------------------------------------------------------


def test_a_key_lists_only_its_models_and_answers(litellm_api: LiteLLM, stack: RealStack, run_id: str) -> None:
    user = f"key-works-{run_id}"  # not the course's student: its spend stays what the course made
    stack.new_user(user, auto_create_key=False)
    key = Sensitive(stack.new_key(user, models=[GPT]))
    listing = litellm_api.models_with_key(key)
    assert listing.status == 200
    assert [m["id"] for m in listing.json_dict()["data"]] == [GPT]
    answer = litellm_api.chat_with_key(key, GPT)
    assert answer.status == 200
    assert answer.headers["x-litellm-model-group"] == GPT


def test_refused_keys_say_why_without_the_key(litellm_api: LiteLLM, course: Course, run_id: str) -> None:
    blocked = litellm_api.chat_with_key(Sensitive(course.keys["blocked"]), GPT)
    assert blocked.status == 401
    assert "blocked" in error_message(blocked).lower()
    spent = litellm_api.chat_with_key(Sensitive(course.keys["tiny"]), GPT)
    assert (spent.status, spent.json_dict()["error"]["type"]) == (400, "budget_exceeded")
    assert "Budget has been exceeded" in error_message(spent)
    unknown = "sk-" + secrets.token_urlsafe(16)
    answer = litellm_api.models_with_key(Sensitive(unknown))
    assert (answer.status, answer.json_dict()["error"]["type"]) == (401, "token_not_found_in_db")
    assert unknown not in str(answer.body)  # LiteLLM shows sk-...<last 4> and the hash, never the key
    assert sha256(unknown) in error_message(answer)


def test_a_non_sk_token_is_echoed_by_litellm_and_scrubbed_by_us(litellm_api: LiteLLM) -> None:
    token = "not-a-virtual-key-" + secrets.token_hex(12)
    answer = litellm_api.models_with_key(Sensitive(token))
    assert answer.status == 401
    assert token in error_message(answer)  # LiteLLM echoes it: 4.key-works must remember it before calling
    redactor = Redactor()
    redactor.remember(token)
    assert token not in redactor.scrub(f"LiteLLM rejected the key: {error_message(answer)}")


# -- models ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def db_model(stack: RealStack, run_id: str) -> Any:
    """A model created the way LiteMaaS creates one: in LiteLLM's database, with string costs, provider and limits."""
    name = f"litemaas-model-{run_id}"
    created = stack.post(
        "/model/new",
        {
            "model_name": name,
            "litellm_params": {
                "model": "openai/backend-model",
                "api_base": "http://backend-model.invalid/v1",
                "custom_llm_provider": "openai",
                "tpm": 100000,
                "rpm": 1000,
                "api_key": "sk-fake-not-used",
                "mock_response": "hi",
                "input_cost_per_token": "0.0000001",
                "output_cost_per_token": "0.0000005",
            },
            "model_info": {"input_cost_per_token": 0.0000001, "output_cost_per_token": 0.0000005},
        },
    )
    yield name
    stack.post("/model/delete", {"id": created["model_id"]})


def test_model_info_tells_config_models_from_database_models(litellm_api: LiteLLM, db_model: str) -> None:
    models = {m["model_name"]: m for m in litellm_api.model_info()}
    for name, (prompt, completion) in MOCK_COSTS.items():
        info = models[name]["model_info"]
        assert info["db_model"] is False  # from the config file
        assert (info["input_cost_per_token"], info["output_cost_per_token"]) == pytest.approx((prompt, completion))
    stored = models[db_model]
    # What 3.models-synced keeps (db_model true), and the costs as LiteMaaS-made models carry them.
    assert stored["model_info"]["db_model"] is True
    uuid.UUID(stored["model_info"]["id"])
    assert stored["model_info"]["input_cost_per_token"] == pytest.approx(0.0000001)
    assert "api_key" not in stored["litellm_params"]  # LiteLLM never shows the upstream key


# -- the master key --------------------------------------------------------------------------------------


def test_a_wrong_master_key_is_credential_rejected(fetch: Fetch, stack: RealStack) -> None:
    """With its database LiteLLM answers 401 to an unknown key: the student's Secret is wrong, not the grader."""
    wrong = Sensitive("sk-" + secrets.token_urlsafe(16))
    api = LiteLLM(fetch, stack.base_url, wrong, secret_name=SECRET_NAME)
    for read in (api.model_info, api.users, lambda: api.keys_of("x"), lambda: api.user_info("x"), lambda: spend_around_today(api, "x")):
        with pytest.raises(CredentialRejected, match=f"rejected the master key from Secret {SECRET_NAME}") as caught:
            read()
        assert wrong.reveal() not in str(caught.value)


def test_a_missing_master_key_sends_nothing(stack: RealStack) -> None:
    sent: list[str] = []

    def recording_fetch(method: str, url: str, **_: Any) -> Any:
        sent.append(url)
        raise AssertionError("no request may be sent without a master key")

    with pytest.raises(CredentialRejected, match=f"in Secret {SECRET_NAME} is missing or empty"):
        LiteLLM(recording_fetch, stack.base_url, None, secret_name=SECRET_NAME).model_info()
    assert sent == []


@pytest.mark.parametrize("shape", ["empty", "trailing newline", "trailing space"])
def test_an_unusable_master_key_is_credential_rejected(fetch: Fetch, stack: RealStack, shape: str) -> None:
    real = stack.master_key.reveal()
    value = {"empty": "", "trailing newline": real + "\n", "trailing space": real + " "}[shape]
    with pytest.raises(CredentialRejected):
        LiteLLM(fetch, stack.base_url, Sensitive(value), secret_name=SECRET_NAME).model_info()


def test_an_unknown_route_is_a_service_error(fetch: Fetch, stack: RealStack) -> None:
    api = LiteLLM(fetch, stack.base_url + "/no-such-prefix", stack.master_key, secret_name=SECRET_NAME)
    with pytest.raises(ServiceError, match="answered 404") as caught:
        api.model_info()
    assert not isinstance(caught.value, CredentialRejected)


# -- the fake, given the same course, reads as the real proxy does ---------------------------------------


@pytest.fixture(scope="module")
def fake_course(course: Course, stack: RealStack, fetch: Fetch, db_model: str) -> Iterator[tuple[LiteLLM, dict[str, int]]]:
    """tests/fakes/litellm.py loaded with the course's users, keys and models, then sent the same calls."""
    models = [
        ll.make_model(name, db_model=False, mock_response="hi", input_cost_per_token=cost[0], output_cost_per_token=cost[1])
        for name, cost in MOCK_COSTS.items()
    ]
    models.append(
        ll.make_model(
            db_model,
            "backend-model",
            api_base="http://backend-model.invalid/v1",
            mock_response="hi",
            input_cost_per_token=0.0000001,
            output_cost_per_token=0.0000005,
            tpm=100000,
            rpm=1000,
        )
    )
    users = [
        ll.make_user(course.student, email=course.email, alias=course.email, max_budget=50, tpm_limit=20000, rpm_limit=60),
        ll.make_user(course.classmate, email="classmate", alias="classmate", role="proxy_admin"),
    ]
    models_of = {"first": [GPT], "multi": [GPT, LLAMA], "blocked": [GPT], "tiny": [GPT], "expired": [GPT]}
    keys = [
        ll.make_litemaas_key(
            course.keys[role],
            name=course.aliases[role].rsplit("_", 1)[0],
            alias_suffix=course.aliases[role].rsplit("_", 1)[1],
            user_id=course.student,
            models=models,
            max_budget={"multi": 5.0, "tiny": 0.0001}.get(role),
            blocked=True if role == "blocked" else None,
            expires="2020-01-01T00:00:00Z" if role == "expired" else None,
        )
        for role, models in models_of.items()
    ]
    keys.append(ll.make_key(course.keys["classmate"], alias="theirs", user_id=course.classmate, models=[GPT]))
    state = ll.LiteLLMState(master_key=stack.master_key.reveal(), models=models, users=users, keys=keys)
    with ll.FakeLiteLLM(state) as fake:
        answers = make_calls(fake.url, stack.master_key, course.keys, fetch)
        yield LiteLLM(fetch, fake.url, stack.master_key, secret_name=SECRET_NAME), answers


SPEND_MAPS = frozenset({"[].metadata.model_map_information.model_map_value", "[].metadata.additional_usage_values"})

READS: dict[str, Callable[[LiteLLM, Course], Any]] = {
    "readiness": lambda api, course: api.readiness().body,
    "users": lambda api, course: [u for u in api.users() if u["user_id"] in (course.student, course.classmate)],
    "user_info": lambda api, course: api.user_info(course.student),
    "keys_of": lambda api, course: api.keys_of(course.student),
    "spend_logs": lambda api, course: spend_around_today(api, course.student),
    "model_info": lambda api, course: api.model_info(),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_the_fake_answers_the_readers_reads_in_the_same_shape(
    read: str, litellm_api: LiteLLM, course: Course, fake_course: tuple[LiteLLM, dict[str, int]]
) -> None:
    fake_api, _ = fake_course
    real, fake = READS[read](litellm_api, course), READS[read](fake_api, course)
    assert differences(shape_of(real, SPEND_MAPS), shape_of(fake, SPEND_MAPS)) == []


def test_the_fake_reaches_the_same_verdict_inputs(litellm_api: LiteLLM, course: Course, fake_course: tuple[LiteLLM, dict[str, int]]) -> None:
    """What the lessons derive - call outcomes, live keys, the student's own rows, budgets - is the same."""
    fake_api, fake_answers = fake_course
    assert fake_answers == course.answers

    def derived(api: LiteLLM) -> dict[str, Any]:
        snap = stand_in_snapshot(api, course.student)
        rows = lesson_keys.successful_rows(snap, tokens=lesson_keys.student_tokens(snap))
        user = (api.user_info(course.student) or {})["user_info"]
        return {
            "live keys": sorted(k["key_alias"] for k in api.keys_of(course.student) if lesson_keys.is_live(k, snap)),
            "rows": sorted((r["api_key"], r["model_group"], tuple(r["request_tags"])) for r in rows),
            "statuses": sorted(str(r.get("status")) for r in spend_around_today(api, course.student)),
            "limits": (user["max_budget"], user["tpm_limit"], user["rpm_limit"], round(user["spend"], 9)),
        }

    assert derived(fake_api) == derived(litellm_api)


def test_spend_log_windows_answer_alike(fetch: Fetch, stack: RealStack, course: Course, fake_course: tuple[LiteLLM, dict[str, int]]) -> None:
    """The date-window forms of /spend/logs a bounded read can use: dates only, end exclusive (midnight UTC),
    `summarize=false` for rows (newest first), one bound alone ignored. The fake answers each like the proxy."""
    fake_api, _ = fake_course
    today = datetime.now(UTC).date()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    windows = {
        "rows of today": {"start_date": str(today), "end_date": str(tomorrow), "summarize": "false"},
        "end is exclusive": {"start_date": str(today), "end_date": str(today), "summarize": "false"},
        "summarised per day": {"start_date": str(today), "end_date": str(tomorrow)},
        "a time is refused": {"start_date": f"{today}T00:00:00", "end_date": str(tomorrow), "summarize": "false"},
        "one bound is ignored": {"start_date": str(today), "summarize": "false"},
    }
    auth = ("Bearer", stack.master_key.reveal())
    for name, window in windows.items():
        params = {"user_id": course.student, **window}
        real = fetch("GET", stack.base_url + "/spend/logs", params=params, auth=auth)
        fake = fetch("GET", fake_api.base_url + "/spend/logs", params=params, auth=auth)
        assert (name, fake.status) == (name, real.status)
        if isinstance(real.body, list):
            assert (name, len(fake.body)) == (name, len(real.body))
    rows = fetch("GET", stack.base_url + "/spend/logs", params={"user_id": course.student, **windows["rows of today"]}, auth=auth).body
    assert len(rows) == 4
    assert [r["startTime"] for r in rows] == sorted((r["startTime"] for r in rows), reverse=True)  # newest first
