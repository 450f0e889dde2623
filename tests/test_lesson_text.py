"""`maas-lab lesson N` in a terminal of 60, 80 and 120 columns: what a student copies arrives whole.

Every code line of every lesson must come out as one line, unbroken; every key of a table (its first column,
the names students type into files) must come out whole on one line; diagrams are outlined, answers hidden.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from maas_lab.cli import app
from maas_lab.engine.registry import LESSONS
from maas_lab.lesson_text import HIDDEN_ANSWER, fill, lesson_path, lessons_dir, section, section_ids

NAMES = ["--user", "user1", "--cluster-domain", "apps.example.com"]
WIDTHS = (60, 80, 120)
ANSI = re.compile(r"\x1b\[")


def cli(*args: str, columns: int = 80) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)}, catch_exceptions=False)


def source(number: int) -> str:
    return fill(lesson_path(number).read_text("utf-8"), user="user1", domain="apps.example.com")


def code_lines(markdown: str) -> list[str]:
    """Every non-blank line inside a fenced block that is not a diagram, as written."""
    lines: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        match = re.match(r"\s*(```+)\s*([\w-]*)", line)
        if fence is None:
            if match:
                fence = "mermaid" if match.group(2) == "mermaid" else match.group(1)
        elif match and not match.group(2):
            fence = None
        elif fence != "mermaid" and line.strip():
            lines.append(line.rstrip())
    return lines


def table_keys(markdown: str) -> list[str]:
    """The first cell of each table row, as the reader sees it (no backticks or bold markers)."""
    keys = []
    in_table = False
    for line in markdown.splitlines():
        if re.match(r"\|\s*-{3,}", line):
            in_table = True
        elif in_table and line.startswith("|"):
            keys.append(line.strip("|").split("|")[0].strip().replace("`", "").replace("**", ""))
        elif not line.startswith("|"):
            in_table = False
    return [k for k in keys if k]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("number", sorted(LESSONS))
def test_code_lines_and_table_keys_arrive_whole(number: int, width: int) -> None:
    result = cli("lesson", str(number), *NAMES, columns=width)
    assert result.exit_code == 0, result.stderr
    shown = {line.rstrip() for line in result.stdout.splitlines()}
    text = source(number)
    expected = code_lines(text)
    assert expected, "every lesson has commands to copy"
    broken = [line for line in expected if line not in shown]
    assert broken == [], f"code lines broken or missing at {width} columns: {broken[:3]}"
    for key in table_keys(text):
        assert any(key in line for line in shown), f"table key {key!r} cut at {width} columns"


@pytest.mark.parametrize("width", WIDTHS)
def test_everything_but_code_fits_the_terminal(width: int) -> None:
    """Prose, tables, outlines and stacked rows are wrapped to the width; only code lines may overflow."""
    from maas_lab.lesson_text import cells, for_terminal

    for number in sorted(LESSONS):
        code = set(code_lines(for_terminal(source(number))))  # expected-output blocks included
        out = cli("lesson", str(number), *NAMES, "--answers", columns=width).stdout
        too_wide = [line for line in out.splitlines() if cells(line) > width and line.rstrip() not in code]
        assert too_wide == [], f"lesson {number} at {width} columns: {too_wide[:2]}"


def test_a_word_longer_than_the_line_is_folded_not_lost() -> None:
    from maas_lab.lesson_text import plain, wrap

    long = "x" * 50
    lines = [plain(line) for line in wrap([("see ", ""), (long, "1"), (" then more", "")], 20)]
    assert all(len(line) <= 20 for line in lines)
    assert " ".join(lines).replace(" ", "") == ("see" + long + "thenmore")


def test_lesson_2_keys_stack_on_a_narrow_terminal_and_stay_a_table_on_a_wide_one() -> None:
    narrow = cli("lesson", "2", *NAMES, columns=60).stdout
    assert "backend.auth.litellmApiKey\n" in narrow  # the key alone on its line, its details under it
    assert "    What to put there: exactly the same value as masterKey" in narrow
    wide = cli("lesson", "2", *NAMES, columns=120).stdout
    assert re.search(r"│ backend\.auth\.litellmApiKey\s+│", wide)


def test_the_long_helm_install_line_is_one_line_at_80_columns() -> None:
    out = cli("lesson", "2", *NAMES, columns=80).stdout
    helm = [line for line in out.splitlines() if line.startswith("helm install litemaas")]
    assert helm and "-f my-values.yaml --set route.enabled=true" in helm[0] and len(helm[0]) > 80


def test_diagrams_are_outlined_not_printed_as_source() -> None:
    out = cli("lesson", "2", *NAMES).stdout
    assert "flowchart" not in out and "-->" not in out and "<br/>" not in out
    assert "Diagram" in out and "litemaas-backend (API) → litemaas-litellm (OpenAI-compatible proxy)" in out


def test_knowledge_check_answers_are_hidden_unless_asked() -> None:
    hidden = cli("lesson", "2", *NAMES, columns=120).stdout
    assert "Answer:" not in hidden and "The default branch keeps moving" not in hidden
    assert hidden.count(HIDDEN_ANSWER.strip("*()").split(":")[0]) == 4  # the four questions stay, folded
    assert "Why clone LiteMaaS with --branch v0.4.0" in hidden
    shown = cli("lesson", "2", *NAMES, "--answers", columns=120).stdout
    assert "Answer:" in shown and "The default branch keeps" in shown
    assert "slow first start is normal" in hidden  # a troubleshooting fold is not an answer: it shows either way


def test_one_section_by_its_anchor() -> None:
    out = cli("lesson", "2", *NAMES, "--section", "step-4-install-with-helm", columns=200).stdout
    assert out.lstrip().startswith("🚀 Step 4") or "Step 4: Install with Helm" in out.splitlines()[0]
    assert "helm install litemaas deployment/helm/litemaas -n user1-maas -f my-values.yaml" in out
    assert "Step 3:" not in out and "Step 5:" not in out and "Knowledge Check" not in out


def test_every_section_a_check_points_at_exists() -> None:
    from maas_lab.engine.registry import load_checks

    for check in load_checks().values():
        anchor = check.lesson_ref.partition("#")[2]
        file = lesson_path(check.lesson) if isinstance(check.lesson, int) else lessons_dir() / Path(check.lesson_ref).name.partition("#")[0]
        text = file.read_text("utf-8")
        assert anchor in section_ids(text), check.id
        assert section(text, anchor).strip()


def test_an_unknown_section_exits_2_listing_the_ids() -> None:
    result = cli("lesson", "2", *NAMES, "--section", "step-99")
    assert result.exit_code == 2 and result.stdout == ""
    assert "no section 'step-99'" in result.stderr and "step-4-install-with-helm" in result.stderr


def test_a_cluster_domain_without_apps_is_warned_about() -> None:
    result = cli("lesson", "2", "--user", "u1", "--cluster-domain", "example.com", "--raw")
    assert result.exit_code == 0
    assert "does not start with `apps.`" in result.stderr and "apps.example.com" in result.stderr
    assert cli("lesson", "2", *NAMES, "--raw").stderr == ""


def test_no_color_and_the_renderer_on_a_colour_terminal() -> None:
    from maas_lab.lesson_text import for_terminal, render

    text = for_terminal(source(2), answers=False)
    assert ANSI.search(render(text, width=80, color=True))
    assert not ANSI.search(render(text, width=80, color=False))
    result = cli("lesson", "2", *NAMES, "--no-color")
    assert result.exit_code == 0 and not ANSI.search(result.stdout)


def test_on_a_terminal_the_lesson_goes_through_the_pager(tmp_path: Path) -> None:
    """A real pty, and $PAGER a command that keeps what it is given."""
    import os
    import pty
    import subprocess
    import sys

    paged = tmp_path / "paged.txt"
    master, slave = pty.openpty()
    env = {**os.environ, "PAGER": f"cat > {paged}", "COLUMNS": "80", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "maas_lab", "lesson", "2", *NAMES], stdin=slave, stdout=slave, stderr=slave,
                               env=env, cwd=Path(__file__).resolve().parent.parent)
    os.close(slave)
    try:
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    text = ANSI_ANY.sub("", paged.read_text("utf-8"))
    assert "Deploy LiteMaaS" in text and "Knowledge Check" in text
    assert any(line.startswith("helm install litemaas deployment/helm/litemaas -n user1-maas -f my-values.yaml --set")
               for line in text.splitlines())


ANSI_ANY = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
