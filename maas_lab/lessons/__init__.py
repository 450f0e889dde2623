"""The course: its lessons (titles, texts) and one module of checks a lesson, plus the lab environment's own checks
(`maas-lab smoke`). `common` and `keys` hold what several lessons share. The engine reads `LESSONS`, `GROUPS`,
`MODULES` and `template_values` from here and knows nothing else of the course."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maas_lab.engine.model import Lesson

if TYPE_CHECKING:
    from maas_lab.profile import Profile

LESSONS: dict[int, Lesson] = {
    1: Lesson(1, "Understanding MaaS", "lessons/1-understanding-maas.md"),
    2: Lesson(2, "Deploy LiteMaaS", "lessons/2-deploy-litemaas.md"),
    3: Lesson(3, "Admin configuration", "lessons/3-admin-configuration.md"),
    4: Lesson(4, "User experience", "lessons/4-user-experience.md"),
    5: Lesson(5, "Canopy integration", "lessons/5-canopy-integration.md"),
}

# Check groups that are not lessons: "env" (`maas-lab smoke`) grades the lab environment itself, not a student.
GROUPS: dict[str, Lesson] = {
    "env": Lesson("env", "Lab environment", "lessons/lab-environment.md"),
}

# One module a lesson; importing one registers its checks.
LESSON_MODULES = (
    "maas_lab.lessons.l1_readiness",
    "maas_lab.lessons.l2_deploy",
    "maas_lab.lessons.l3_admin",
    "maas_lab.lessons.l4_user",
    "maas_lab.lessons.l5_canopy",
)
ENV_MODULE = "maas_lab.smoke"
MODULES = (*LESSON_MODULES, ENV_MODULE)


def template_values(profile: Profile) -> dict[str, str]:
    """What the checks' titles and hints may name with `{placeholder}`: the profile's names and numbers, so that
    another course's profile shows its own."""
    models = profile.litemaas_models
    priced = models[0] if models else None
    budgets, keys = profile.budgets, profile.keys
    open_models = [m.name for m in models if not m.restricted]
    return {
        "open_models": " and ".join(open_models),
        "restricted_models": ", ".join(m.name for m in models if m.restricted),
        "price_example": f"{priced.input_per_million:g} input / {priced.output_per_million:g} output for {priced.name}" if priced else "",
        "user_max_budget": f"{budgets.user.max_budget:g}",
        "user_tpm": str(budgets.user.tpm),
        "user_rpm": str(budgets.user.rpm),
        "key_default_budget": f"{budgets.key_defaults.max_budget:g}",
        "key_max_budget": f"{budgets.key_maximums.max_budget:g}",
        "first_key": keys.first.name,
        "first_key_models": " and ".join(keys.first.models),
        "multi_key": keys.multi.name,
        "multi_key_models": " and ".join(keys.multi.models),
        "multi_key_budget": f"{keys.multi.max_budget:g}" if keys.multi.max_budget is not None else "none",
        "second_model": keys.multi.models[-1],
        "canopy_key": keys.canopy.name,
        "canopy_key_models": " and ".join(keys.canopy.models),
        "canopy_model": profile.canopy.model,
        "gitops_secret": profile.gitops.secret,
        "gitops_key": profile.gitops.key,
        "shared_namespace": profile.namespaces.shared,
    }
