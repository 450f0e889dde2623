"""Lesson 4 — User experience: subscriptions, approval, keys, calls, usage page, playground."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

from maas_lab.engine.model import Verdict, failed, passed, pending, skipped
from maas_lab.engine.registry import check
from maas_lab.evidence.services import error_message
from maas_lab.evidence.values import parse_time
from maas_lab.lessons.common import maas_install
from maas_lab.lessons.keys import (
    SPEND_HINT,
    KeyMatch,
    find_keys,
    key_verdict,
    recently_created,
    student_activity,
    student_tokens,
    successful_rows,
)

if TYPE_CHECKING:
    from maas_lab.evidence.snapshot import Snapshot

USAGE_ACTION = "POST_/api/v1/usage/analytics"
REVEAL_ACTION = "POST_/api/v1/api-keys/:id/reveal"
PLAYGROUND_WINDOW = timedelta(seconds=60)


def subscriptions(snap: Snapshot) -> Verdict:
    """You have active subscriptions to {open_models}.

    A key can only include models you hold an active subscription to.
    """
    wanted = [m.name for m in snap.profile.litemaas_models if not m.restricted]
    active = {s.get("modelId") for s in snap.student_litemaas.my_subscriptions() if s.get("status") == "active"}
    missing = [name for name in wanted if name not in active]
    if missing:
        return failed(f"no active subscription to {', '.join(missing)}", active=sorted(str(a) for a in active))
    return passed(f"active subscriptions to {', '.join(wanted)}")


check(
    "4.subscriptions",
    lesson_ref="step-1-subscribe-to-models",
    hint="In Models, subscribe to {open_models}.",
    evidence="LiteMaaS subscriptions",
    needs=("2.admin-login",),
)(subscriptions)


def restricted_approved(snap: Snapshot) -> Verdict:
    """Your restricted-model subscription became active through an admin approval.

    The approval workflow is how a MaaS team controls access to expensive models; a self-edited status proves nothing.
    """
    student = snap.student
    restricted = [m.name for m in snap.profile.litemaas_models if m.restricted]
    subs = {s.get("modelId"): s for s in snap.litemaas.admin_subscriptions(student.id) if s.get("userId") == student.id}
    approvals = snap.litemaas.audit("SUBSCRIPTION_APPROVED")
    if approvals is None:
        approvals = student_activity(snap, "SUBSCRIPTION_APPROVED")
    for name in restricted:
        sub = subs.get(name)
        if sub is None:
            return failed(f"no subscription to {name}", hint=f"Subscribe to {name} in Models; it will wait for approval.")
        if sub.get("status") == "pending":
            return failed(f"your {name} subscription is still pending", hint="Approve it in Administrator › Subscriptions.")
        if sub.get("status") != "active":
            return failed(f"your {name} subscription is {sub.get('status')}")
        sub_id = str(sub.get("id"))
        if not any(row.get("resourceId") == sub_id or sub_id in json.dumps(row.get("metadata") or {}) for row in approvals):
            return failed(
                f"your {name} subscription is active, but no admin approval is recorded",
                hint="Set it back (cancel and subscribe again), then approve it in Administrator › Subscriptions.",
            )
    return passed(f"{', '.join(restricted)} approved by an admin")


check(
    "4.restricted-approved",
    lesson_ref="step-2-request-the-restricted-model",
    hint=(
        "Subscribe to {restricted_models} (it waits as pending), then approve it in Administrator › Subscriptions — "
        "do not edit its status."
    ),
    evidence="LiteMaaS admin subscriptions + audit SUBSCRIPTION_APPROVED",
    needs=("3.restricted-model",),
)(restricted_approved)


def first_key(snap: Snapshot) -> Verdict:
    """Active key `{first_key}` with {first_key_models}.

    A key is how applications reach models: scoped to models, tracked for spend.
    """
    return key_verdict(snap, snap.profile.keys.first)


check(
    "4.first-key",
    lesson_ref="step-3-create-your-first-key",
    hint="In API Keys, create a key named {first_key} with the model(s) {first_key_models}.",
    evidence="LiteMaaS API keys",
    needs=("4.subscriptions",),
)(first_key)


def multi_model_key(snap: Snapshot) -> Verdict:
    """Active key `{multi_key}` with {multi_key_models} and max budget {multi_key_budget}.

    One key can reach several models; its own budget caps what it may spend.
    """
    return key_verdict(snap, snap.profile.keys.multi)


check(
    "4.multi-model-key",
    lesson_ref="step-4-create-a-multi-model-key",
    hint="Create a key named {multi_key} with {multi_key_models} and a max budget of {multi_key_budget}.",
    evidence="LiteMaaS API keys",
    needs=("4.subscriptions",),
)(multi_model_key)


def _usage(snap: Snapshot, match: KeyMatch) -> tuple[int, bool]:
    if match.token is None:
        return 0, False
    rows = successful_rows(snap, tokens={match.token})
    return len(rows), recently_created(snap, match.litellm)


def keys_used(snap: Snapshot) -> Verdict:
    """Both keys have successful requests recorded.

    Spend rows prove the key works end to end: LiteLLM authenticated it and the model answered.
    """
    unused: list[str] = []
    waiting: list[str] = []
    counts: dict[str, int] = {}
    for spec in (snap.profile.keys.first, snap.profile.keys.multi):
        matches, _ = find_keys(snap, spec)
        best = max(_usage(snap, m) for m in matches)  # 4.first-key and 4.multi-model-key passed: one match at least
        counts[spec.name] = best[0]
        if best[0] == 0:
            (waiting if any(_usage(snap, m)[1] for m in matches) else unused).append(spec.name)
    if unused:
        return failed(f"no successful request recorded for {', '.join(unused)}", requests=counts)
    if waiting:
        return pending(f"no usage recorded yet for {', '.join(waiting)} (created less than 2 minutes ago)", SPEND_HINT, requests=counts)
    return passed("both keys have successful requests", requests=counts)


check(
    "4.keys-used",
    lesson_ref="step-5-call-the-models",
    hint="Call LiteLLM with each key (curl …/v1/chat/completions with Authorization: Bearer <key>). " + SPEND_HINT,
    evidence="LiteLLM /spend/logs (the key's token, status success, not maas-lab's)",
    needs=("4.first-key", "4.multi-model-key"),
)(keys_used)


def two_models_called(snap: Snapshot) -> Verdict:
    """Successful requests on at least two different models with your keys.

    One endpoint, many models: LiteLLM routes by the `model` field.
    """
    rows = successful_rows(snap, tokens=student_tokens(snap))
    models = sorted({str(r.get("model_group")) for r in rows if r.get("model_group")})
    if len(models) >= 2:
        return passed(f"successful requests on {', '.join(models)}", models=models)
    return failed(f"successful requests on {len(models)} model(s){': ' + models[0] if models else ''}", models=models)


check(
    "4.two-models-called",
    lesson_ref="step-5-call-the-models",
    hint="Send a chat completion to a second model (e.g. {second_model} with {multi_key}). " + SPEND_HINT,
    evidence="LiteLLM /spend/logs (model_group)",
    needs=("2.admin-login",),
)(two_models_called)


def usage_viewed(snap: Snapshot) -> Verdict:
    """You opened your usage page.

    Consumers see their own spend per key and model: the other half of chargeback.
    """
    rows = student_activity(snap, USAGE_ACTION)
    if rows:
        return passed(f"you opened your usage page ({len(rows)} time(s))")
    return failed("no record of you opening the Usage page")


check(
    "4.usage-viewed",
    lesson_ref="step-6-check-your-usage",
    hint="Open the Usage page of the LiteMaaS UI and pick a date range.",
    evidence="LiteMaaS activity POST_/api/v1/usage/analytics",
    needs=("2.admin-login",),
)(usage_viewed)


def playground(snap: Snapshot) -> Verdict:
    """You used the chat playground from your browser.

    The playground calls LiteLLM from the browser with one of your keys (a heuristic: browser evidence only).
    """
    reveals = [r for r in student_activity(snap, REVEAL_ACTION) if "Mozilla/" in str(r.get("userAgent") or "")]
    if not reveals:
        return failed("no key was revealed from a browser")
    first_reveal = min((t for t in (parse_time(r.get("createdAt")) for r in reveals) if t), default=None)
    for row in successful_rows(snap, tokens=student_tokens(snap)):
        browser = any("User-Agent: Mozilla/" in str(tag) for tag in row.get("request_tags") or [])
        started = parse_time(row.get("startTime"))
        if browser and started and first_reveal and started >= first_reveal - PLAYGROUND_WINDOW:
            return passed(f"playground request on {row.get('model_group')}")
    return failed("a key was revealed in the browser, but no browser request was recorded after it")


check(
    "4.playground",
    lesson_ref="step-7-try-the-playground",
    hint="Open the Chatbot playground in the LiteMaaS UI, pick one of your keys and send a message.",
    evidence="LiteMaaS activity (key reveal from a browser) + LiteLLM spend rows with a browser User-Agent",
    needs=("2.admin-login",),
    required=False,
)(playground)


def key_works(snap: Snapshot) -> Verdict:
    """With --api-key-env VAR: your key lists models and answers a one-token chat.

    The same call your applications make.
    """
    key = snap.settings.student_api_key()
    if key is None:
        return skipped("not requested: pass --api-key-env VAR", hint="Run: maas-lab check 4 --api-key-env MY_KEY_VARIABLE")
    maas_install(snap)
    snap.redactor.remember(key.reveal())
    listing = snap.litellm.models_with_key(key)
    if not listing.ok:
        return failed(f"LiteLLM rejected the key {key.fingerprint}: {error_message(listing)}", key=key.fingerprint)
    models = [str(m.get("id")) for m in listing.json_dict().get("data") or [] if isinstance(m, dict)]
    if not models:
        return failed(f"the key {key.fingerprint} reaches no model", key=key.fingerprint)
    answer = snap.litellm.chat_with_key(key, models[0])
    if answer.ok:
        return passed(f"key {key.fingerprint} lists {len(models)} model(s) and {models[0]} answered", key=key.fingerprint, models=models)
    return failed(f"chat on {models[0]} answered {answer.status}: {error_message(answer)}", key=key.fingerprint)


check(
    "4.key-works",
    lesson_ref="step-5-call-the-models",
    hint="Check the key in the variable you named: it must be an active LiteMaaS key (sk-…) with at least one model.",
    evidence="LiteLLM /v1/models and a one-token chat with your key",
    required=False,
)(key_works)
