"""Lesson 3 — Admin configuration: models, prices, restriction, budgets, key defaults, analytics, audit, roles."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from maas_lab.engine.model import Verdict, failed, passed
from maas_lab.engine.registry import check
from maas_lab.evidence.values import same_number, same_url
from maas_lab.lessons.keys import student_activity

if TYPE_CHECKING:
    from maas_lab.evidence.snapshot import Snapshot

PRICE_TOLERANCE = 1e-12  # per token
ANALYTICS_ACTION = "POST_/api/v1/admin/usage/analytics"
AUDIT_ACTION = "GET_/api/v1/admin/audit"
READONLY_ROLE = "admin-readonly"


def _models_by_id(snap: Snapshot) -> dict[str, dict[str, Any]]:
    return {str(m.get("id")): m for m in snap.student_litemaas.models()}


def models_created(snap: Snapshot) -> Verdict:
    """The lesson's models exist in LiteMaaS, available, with the right API base and backend name.

    A model in LiteMaaS is a route in LiteLLM to a model served once in the shared namespace.
    """
    models = _models_by_id(snap)
    problems = []
    for expected in snap.profile.litemaas_models:
        model = models.get(expected.name)
        if model is None:
            problems.append(f"{expected.name} not found (or not available)")
            continue
        api_base = str(model.get("apiBase") or "")
        if not same_url(api_base, expected.api_base):
            problems.append(f"{expected.name} API base is {api_base or '(none)'}")
        if model.get("backendModelName") != expected.backend_name:
            problems.append(f"{expected.name} backend model name is {model.get('backendModelName')!s}")
    names = [m.name for m in snap.profile.litemaas_models]
    if problems:
        return failed("; ".join(problems), expected=names, found=sorted(models))
    return passed(f"models {', '.join(names)} available with the right API base and backend name", models=names)


check(
    "3.models-created",
    lesson_ref="step-1-create-the-models",
    hint="In Administrator › Models, create each model with exactly the lesson's name, API base URL and backend model name.",
    evidence="LiteMaaS models (+ LiteLLM /model/info)",
    needs=("2.admin-login",),
)(models_created)


def models_in_sync(snap: Snapshot) -> Verdict:
    """Every model LiteLLM stores in its database is available in LiteMaaS.

    LiteMaaS syncs from LiteLLM; drift means users see models that do not work, or miss ones that do.
    """
    available = set(_models_by_id(snap))
    stored = sorted({str(m.get("model_name")) for m in snap.litellm.model_info() if (m.get("model_info") or {}).get("db_model")})
    missing = [name for name in stored if name not in available]
    if missing:
        return failed(f"in LiteLLM but not available in LiteMaaS: {', '.join(missing)}", litellm=stored, litemaas=sorted(available))
    if not stored:
        return failed("LiteLLM stores no models in its database", hint="Create the lesson's models in Administrator › Models.")
    return passed(f"{len(stored)} LiteLLM models, all available in LiteMaaS", models=stored)


check(
    "3.models-in-sync",
    lesson_ref="step-1-create-the-models",
    hint="Open Administrator › Models and refresh/sync so LiteMaaS and LiteLLM agree; delete models you created by mistake.",
    evidence="LiteLLM /model/info + LiteMaaS models",
    needs=("2.admin-login",),
)(models_in_sync)


def pricing(snap: Snapshot) -> Verdict:
    """Each model's input/output price equals the lesson's.

    Prices turn tokens into cost: budgets and chargeback depend on them.
    """
    models = _models_by_id(snap)
    wrong = []
    for expected in snap.profile.litemaas_models:
        model = models.get(expected.name) or {}
        for side, per_million in (("input", expected.input_per_million), ("output", expected.output_per_million)):
            value = model.get(f"{side}CostPerToken")
            if value is None:
                value = (model.get("pricing") or {}).get(side, 0)
            try:
                actual = float(value or 0)
            except (TypeError, ValueError):
                wrong.append(f"{expected.name} {side} price is {value!r}, not a number")
                continue
            if abs(actual - per_million / 1_000_000) > PRICE_TOLERANCE:
                wrong.append(f"{expected.name} {side} is {actual * 1_000_000:g}/M, expected {per_million:g}/M")
    if wrong:
        return failed("; ".join(wrong))
    return passed("all prices match the lesson")


check(
    "3.pricing",
    lesson_ref="step-2-set-the-prices",
    hint="Edit each model: the UI takes prices per million tokens (e.g. {price_example}).",
    evidence="LiteMaaS models",
    needs=("3.models-created",),
)(pricing)


def restricted_model(snap: Snapshot) -> Verdict:
    """The lesson's restricted model requires an admin approval.

    Restricted models make subscriptions wait for an admin: the gate for expensive or sensitive models.
    """
    models = _models_by_id(snap)
    restricted = [m.name for m in snap.profile.litemaas_models if m.restricted]
    open_ = [name for name in restricted if not (models.get(name) or {}).get("restrictedAccess")]
    if open_:
        return failed(f"not restricted: {', '.join(open_)}")
    return passed(f"restricted: {', '.join(restricted)}")


check(
    "3.restricted-model",
    lesson_ref="step-3-restrict-a-model",
    hint="Edit {restricted_models} in Administrator › Models and turn on 'Restricted access'.",
    evidence="LiteMaaS models",
    needs=("3.models-created",),
)(restricted_model)


def user_budget(snap: Snapshot) -> Verdict:
    """Your LiteMaaS user has the lesson's budget and limits, and LiteLLM agrees.

    LiteLLM enforces the limits; LiteMaaS only stores and pushes them.
    """
    budget = snap.profile.budgets.user
    student = snap.student
    mine = snap.litemaas.admin_user(student.id)
    theirs = (snap.litellm.user_info(student.id) or {}).get("user_info") or {}
    expected = {"max budget": budget.max_budget, "TPM": budget.tpm, "RPM": budget.rpm}
    litemaas_values = {"max budget": mine.get("maxBudget"), "TPM": mine.get("tpmLimit"), "RPM": mine.get("rpmLimit")}
    litellm_values = {"max budget": theirs.get("max_budget"), "TPM": theirs.get("tpm_limit"), "RPM": theirs.get("rpm_limit")}
    problems = [
        f"{where} {name} is {values[name]}, expected {want:g}"
        for where, values in (("LiteMaaS", litemaas_values), ("LiteLLM", litellm_values))
        for name, want in expected.items()
        if not same_number(values[name], want)
    ]
    if problems:
        return failed("; ".join(problems), litemaas=litemaas_values, litellm=litellm_values)
    summary = ", ".join(f"{name} {want:g}" for name, want in expected.items())
    return passed(f"{summary} in LiteMaaS and LiteLLM", litemaas=litemaas_values)


check(
    "3.user-budget",
    lesson_ref="step-4-set-your-budget-and-limits",
    hint="In Administrator › Users, open your user and set max budget {user_max_budget}, TPM {user_tpm} and RPM {user_rpm}.",
    evidence="LiteMaaS admin users + LiteLLM /user/info",
    needs=("2.admin-login",),
)(user_budget)


def key_defaults(snap: Snapshot) -> Verdict:
    """API-key defaults: default max budget {key_default_budget}, maximum {key_max_budget}.

    Defaults give every new key a budget; maximums stop users from raising it.
    """
    settings = snap.student_litemaas.api_key_settings()
    default = (settings.get("defaults") or {}).get("maxBudget")
    maximum = (settings.get("maximums") or {}).get("maxBudget")
    want_default = snap.profile.budgets.key_defaults.max_budget
    want_maximum = snap.profile.budgets.key_maximums.max_budget
    evidence = {"default_max_budget": default, "maximum_max_budget": maximum}
    if same_number(default, want_default) and same_number(maximum, want_maximum):
        return passed(f"key default max budget {want_default:g}, maximum {want_maximum:g}", **evidence)
    return failed(f"key default max budget is {default}, maximum {maximum} (expected {want_default:g} and {want_maximum:g})", **evidence)


check(
    "3.key-defaults",
    lesson_ref="step-5-set-api-key-defaults",
    hint=(
        "In Administrator › Settings › API key defaults, set the default max budget to {key_default_budget} "
        "and the maximum to {key_max_budget}."
    ),
    evidence="LiteMaaS admin settings",
    needs=("2.admin-login",),
)(key_defaults)


def _viewed(snap: Snapshot, action: str, page: str) -> Verdict:
    rows = student_activity(snap, action)
    if rows:
        return passed(f"you opened {page} ({len(rows)} time(s))", last=str(rows[0].get("createdAt") or ""))
    return failed(f"no record of you opening {page}")


def analytics_viewed(snap: Snapshot) -> Verdict:
    """You opened the admin usage analytics.

    Analytics are how a MaaS team sees who uses which model, and what it costs.
    """
    return _viewed(snap, ANALYTICS_ACTION, "the admin usage analytics")


check(
    "3.analytics-viewed",
    lesson_ref="step-6-explore-usage-analytics",
    hint="Open Administrator › Usage Analytics in the LiteMaaS UI and look at a date range.",
    evidence="LiteMaaS activity POST_/api/v1/admin/usage/analytics (yours, not maas-lab's)",
    needs=("2.admin-login",),
)(analytics_viewed)


def audit_viewed(snap: Snapshot) -> Verdict:
    """You opened the audit log.

    The audit log answers "who changed what, when" — the first place to look after an incident.
    """
    return _viewed(snap, AUDIT_ACTION, "the audit log")


check(
    "3.audit-viewed",
    lesson_ref="step-7-read-the-audit-log",
    hint="Open Administrator › Audit Log in the LiteMaaS UI.",
    evidence="LiteMaaS activity GET_/api/v1/admin/audit (yours, not maas-lab's)",
    needs=("2.admin-login",),
)(audit_viewed)


def role_assigned(snap: Snapshot) -> Verdict:
    """Another user holds `admin-readonly`, assigned by you.

    Read-only admins can see usage and audit without changing anything: least privilege for auditors.
    """
    student = snap.student
    readonly = [u for u in snap.litemaas.users() if str(u.get("id")) != student.id and READONLY_ROLE in (u.get("roles") or [])]
    if not readonly:
        return failed("no other user holds admin-readonly")
    # The student's own activity list empties `metadata`; the row's target (`resourceId`) is what identifies it.
    updates = student_activity(snap, "USER_UPDATE")
    for user in readonly:
        for row in updates:
            if row.get("resourceId") == user.get("id") or str(user.get("id")) in json.dumps(row.get("metadata") or {}):
                return passed(f"you gave {user.get('username')} the admin-readonly role", user=user.get("username"))
    names = ", ".join(str(u.get("username")) for u in readonly)
    return failed(f"{names} hold(s) admin-readonly, but not through a role change of yours")


check(
    "3.role-assigned",
    lesson_ref="step-8-give-a-classmate-read-only-access",
    hint="Ask a classmate to log in to your LiteMaaS, then give them the admin-readonly role in Administrator › Users.",
    evidence="LiteMaaS users + your USER_UPDATE audit rows",
    needs=("2.admin-login",),
    required=False,
)(role_assigned)
