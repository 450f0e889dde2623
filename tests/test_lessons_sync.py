"""The lesson texts and the checks stay in step: anchors, check ids, rubric coverage, placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maas_lab.engine.registry import GROUPS, LESSONS, load_checks
from maas_lab.lesson_text import PLACEHOLDERS, lessons_dir

ROOT = Path(__file__).resolve().parents[1]
RUBRIC = ROOT.parent / "shared" / "spec" / "rubric.md"
CHECK_ID = re.compile(r"`([1-5]\.[a-z][a-z0-9-]+)`")
ANCHOR = re.compile(r'<a id="([a-z0-9-]+)"></a>')
# Placeholders the course writes literally (never substituted), as in the course's own lessons.
LITERAL_PLACEHOLDERS = {"<YOUR-COPIED-API-KEY>", "<model-name>", "<namespace>"}

# The rubric's check ids, kept here so the test also runs where the spec folder is not beside the project.
RUBRIC_IDS = {
    "1.logged-in", "1.can-create-project", "1.shared-models-ready", "1.canopy-running",
    "2.namespace", "2.no-default-secrets", "2.keys-consistent", "2.postgres-ready", "2.litellm-ready", "2.backend-ready",
    "2.frontend-ready", "2.routes", "2.backend-healthy", "2.litellm-healthy", "2.oauth", "2.admin-login",
    "3.models-created", "3.models-in-sync", "3.pricing", "3.restricted-model", "3.user-budget", "3.key-defaults",
    "3.analytics-viewed", "3.audit-viewed", "3.role-assigned",
    "4.subscriptions", "4.restricted-approved", "4.first-key", "4.multi-model-key", "4.keys-used", "4.two-models-called",
    "4.usage-viewed", "4.playground", "4.key-works",
    "5.canopy-key", "5.llamastack-provider", "5.token-is-student-key", "5.backend-model", "5.rolled-out",
    "5.traffic-through-maas", "5.gitops-test",
}


def lesson_texts() -> dict[str, str]:
    load_checks()  # registers the groups that are not lessons (env)
    return {Path(lesson.file).name: (ROOT / lesson.file).read_text("utf-8") for lesson in (*LESSONS.values(), *GROUPS.values())}


def test_every_lesson_ref_resolves_to_an_anchor_above_a_heading() -> None:
    texts = lesson_texts()
    for check in load_checks().values():
        file, _, anchor = check.lesson_ref.partition("#")
        text = texts[Path(file).name]
        lines = text.splitlines()
        marker = f'<a id="{anchor}"></a>'
        assert marker in lines, f"{check.id}: {check.lesson_ref} has no anchor"
        following = lines[lines.index(marker) + 1]
        assert following.startswith("#"), f"{check.id}: the anchor {anchor} is not directly above a heading"


def test_every_check_id_named_in_the_lessons_exists() -> None:
    checks = load_checks()
    for name, text in lesson_texts().items():
        unknown = set(CHECK_ID.findall(text)) - set(checks)
        assert not unknown, f"{name} names checks that do not exist: {sorted(unknown)}"


def test_every_rubric_check_is_defined_and_named_by_its_lesson() -> None:
    checks = load_checks()
    assert set(checks) >= RUBRIC_IDS
    named = {check_id for text in lesson_texts().values() for check_id in CHECK_ID.findall(text)}
    assert named >= RUBRIC_IDS, f"not named by any lesson: {sorted(RUBRIC_IDS - named)}"


@pytest.mark.skipif(not RUBRIC.exists(), reason="the course spec is not beside the project")
def test_rubric_ids_match_the_spec() -> None:
    assert set(CHECK_ID.findall(RUBRIC.read_text("utf-8"))) == RUBRIC_IDS


def test_each_graded_step_names_its_checks_and_the_grading_command() -> None:
    checks = load_checks()
    texts = lesson_texts()
    for check in checks.values():
        file, _, anchor = check.lesson_ref.partition("#")
        text = texts[Path(file).name]
        section = text.split(f'<a id="{anchor}"></a>', 1)[1]
        section = ANCHOR.split(section, 1)[0]
        assert f"`{check.id}`" in section, f"{check.id} is not named in its section {anchor}"
        command = f"maas-lab check {check.lesson}" if isinstance(check.lesson, int) else "maas-lab smoke"
        assert command in section or f"maas-lab explain {check.id}" in section


def test_only_placeholders_the_renderer_fills() -> None:
    for name, text in lesson_texts().items():
        used = set(re.findall(r"<[A-Z][A-Z_]+>", text))
        assert used <= set(PLACEHOLDERS), f"{name} uses unknown placeholders {sorted(used - set(PLACEHOLDERS))}"
        assert "apps.<CLUSTER_DOMAIN>" not in text, f"{name} writes a double apps."


def test_lessons_ship_with_the_package() -> None:
    assert (lessons_dir() / "2-deploy-litemaas.md").is_file()
