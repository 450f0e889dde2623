"""Reports, `list` and `explain` as a student reads them: any width, nothing cut, bonus apart, one line a cause."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from maas_lab.catalogue import readable_evidence, template_values
from maas_lab.cli import app
from maas_lab.engine.model import Report, Status
from maas_lab.engine.registry import filled, load_checks
from maas_lab.report import render
from maas_lab.report.table import STACK_BELOW, render_table
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import World
from tests.lab import Lab


def cli(*args: str, columns: int = 120, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns), **(env or {})}, catch_exceptions=False)


def squeeze(text: str) -> str:
    """The text without any whitespace or table borders: a message folded over lines reads as one again."""
    return re.sub(r"[\s│┃]", "", text)


@pytest.fixture
def mixed(lab: Lab, world: World) -> Report:
    """A report with every kind of row: passes, a failure with a long message, skips behind it, bonus points."""
    OMISSIONS["2.no-default-secrets"](world)
    OMISSIONS["3.models-created"](world)
    lab.load(world)
    return lab.grade([1, 2, 3])


@pytest.mark.parametrize("width", [60, 80, 99, 100, 120, 160])
def test_no_message_is_cut_at_any_width(mixed: Report, width: int) -> None:
    text = render_table(mixed, width=width)
    # only commands may overflow (the terminal soft-wraps them; a copied command stays whole)
    assert max(len(line) for line in text.splitlines() if "maas-lab " not in line) <= width
    # a table row folds its message over lines of the result column only: read that column top to bottom
    cells = [line.split("│") for line in text.splitlines()]
    flat = squeeze("".join(c[3] for c in cells if len(c) == 6)) if "┃ check" in text else squeeze(text)
    for result in mixed.results:
        assert result.check.id in text
        assert squeeze(result.message) in flat, f"{result.check.id}'s message is cut at {width} columns"
    stacked = width < STACK_BELOW
    assert ("┃ check" in text) is not stacked  # narrow terminals get one block a check, not a squeezed table


def test_bonus_points_are_shown_apart_in_text_and_unchanged_in_json(lab: Lab) -> None:
    report = lab.grade()
    bonus = sum(r.points for r in report.results if not r.check.required)
    required = sum(r.points for r in report.results if r.check.required)
    assert bonus > 0 and report.score == required + bonus
    table = render_table(report, width=120)
    assert f"Total: {required:g}/{report.max_score:g} +{bonus:g} bonus — PASS" in table
    assert re.search(rf"/{report.max_score:g}\b", table) and f"{report.score:g}/{report.max_score:g}" not in table
    markdown = render(report, "markdown")
    assert f"— {required:g}/{report.max_score:g} +{bonus:g} bonus" in markdown.splitlines()[0]
    data = json.loads(render(report, "json"))
    assert data["score"] == report.score and data["max_score"] == report.max_score  # JSON keeps the contract's sums


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return tmp_path


@pytest.mark.parametrize("format_", ["table", "markdown"])
def test_a_run_wide_cause_is_one_line_with_one_hint(no_cluster: Path, format_: str) -> None:
    result = cli("check", "all", "--format", format_, env={"HOME": str(no_cluster)})
    assert result.exit_code == 3
    count = sum(1 for c in load_checks().values() if isinstance(c.lesson, int))  # every lesson's, not smoke's env.*
    lines = [line for line in result.stdout.splitlines() if "could not run" in line]
    assert len(lines) == 1 and f"{count} checks could not run: no kubeconfig" in lines[0]
    todo = result.stdout.split("What to do next")[1]
    assert "oc login" in todo
    assert "2.routes" not in result.stdout and todo.count("\n") <= 4  # one hint, no wall of ids


def test_many_checks_sharing_a_hint_are_counted_not_listed(lab: Lab, world: World) -> None:
    OMISSIONS["2.namespace"](world)
    lab.load(world)
    report = lab.grade([2])
    text = render_table(report, width=120)
    todo = text.split("What to do next:")[1]
    for line in todo.splitlines():
        assert len(re.findall(r"\b\d\.[a-z][\w-]*", line.split(":")[0])) <= 4, line


def test_hints_point_at_the_lesson_section_command(mixed: Report) -> None:
    text = render_table(mixed, width=120)
    assert "     see maas-lab lesson 2 --section step-3-replace-every-changeme\n         maas-lab explain 2.no-default-secrets\n" in text
    assert "lessons/2-deploy-litemaas.md" not in text
    assert "maas-lab lesson 2 --section step-3-replace-every-changeme" in render(mixed, "markdown")


# -- list ----------------------------------------------------------------------------------------------------------


def listed_ids(text: str) -> list[str]:
    return re.findall(r"^(?:│ )?(\d\.[a-z][\w-]*)\b", text, re.MULTILINE)


@pytest.mark.parametrize("columns", [60, 80, 160])
def test_list_in_the_order_check_reports_with_titles_filled(columns: int) -> None:
    result = cli("list", columns=columns)
    assert result.exit_code == 0, result.stderr
    lesson_checks = [c for c in load_checks() if c[0].isdigit()]
    assert listed_ids(result.stdout) == lesson_checks  # lesson order, as `check` shows them (then smoke's env.*)
    assert "{user}" not in result.stdout and "<USER_NAME>-maas" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= columns
    cells = [line.split("│") for line in result.stdout.splitlines()]
    titles = squeeze("".join(c[3] for c in cells if len(c) == 7)) if columns >= 100 else squeeze(result.stdout)
    values = template_values(None, None)  # the profile's names and numbers, <USER_NAME> for the user
    for check in load_checks().values():  # titles whole and filled, even when folded over lines
        assert squeeze(filled(check, values).title) in titles
    assert "{key_default_budget}" not in result.stdout and "defaultmaxbudget10,maximum25" in titles
    named = cli("list", "1", "--user", "user7", columns=columns).stdout
    assert "user7-maas" in named and "{user}" not in named


def test_list_evidence_names_read_as_words() -> None:
    out = cli("list", "3", columns=200).stdout
    assert "POST_" not in out and "GET_" not in out
    assert "admin usage analytics page" in out and "admin audit page" in out
    assert readable_evidence("LiteMaaS activity (key reveal) POST_/api/v1/api-keys/:id/reveal") == "LiteMaaS activity (key reveal) api keys reveal"


def test_list_shows_the_points_of_a_profile_file(tmp_path: Path) -> None:
    import yaml

    from maas_lab.profile import load_profile

    profile = tmp_path / "p.yaml"
    data = load_profile("ai501").model_dump()
    profile.write_text(yaml.safe_dump({**data, "name": "x", "points": {"required": 5, "bonus": 2, "2.routes": 9}}))
    out = cli("list", "2", "--profile", str(profile), columns=200).stdout
    assert re.search(r"│ 2\.routes\s+│ 9\s", out) and re.search(r"│ 2\.namespace\s+│ 5\s", out)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("name: x\npoints: {required: 5, bonus: 2, 2.routes: 9}\n")
    assert cli("list", "--profile", str(invalid)).exit_code == 3  # validated as `check` would: exit 3
    missing = cli("list", "--profile", str(tmp_path / "none.yaml"))
    assert missing.exit_code == 2 and "cannot read profile" in missing.stderr


# -- explain -------------------------------------------------------------------------------------------------------


def test_explain_points_at_the_lesson_command() -> None:
    out = cli("explain", "1.can-create-project").stdout
    assert "Read it:     maas-lab lesson 1 --section check-you-are-ready" in out
    assert "<USER_NAME>-maas" in out and "{user}" not in out


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("2.route", "2.routes"), ("routes", "2.routes"), ("2.nmespace", "2.namespace"), ("nothing-like-it", None)],
)
def test_explain_an_unknown_id_suggests_close_ones_and_list(typed: str, suggested: str | None) -> None:
    result = cli("explain", typed)
    assert result.exit_code == 2 and result.stdout == ""
    assert "maas-lab list" in result.stderr
    if suggested:
        assert f"did you mean {suggested}" in result.stderr


def test_statuses_in_stacked_rows_keep_their_symbols(mixed: Report) -> None:
    text = render_table(mixed, width=70)
    for result in mixed.results:
        if result.status is Status.FAIL:
            assert re.search(rf"✘ {re.escape(result.check.id)}  0/", text)
