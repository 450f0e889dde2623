"""Shell completion: lesson numbers for check/lesson/list, check ids (env.* included) for explain, cheap to run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from typer.testing import CliRunner

from maas_lab import completion
from maas_lab.cli import app
from maas_lab.engine.registry import load_checks

# The evidence layer (pydantic is left out: Typer itself imports it where it is installed).
HEAVY = ("kubernetes", "httpx", "urllib3")


def test_lesson_numbers_and_all() -> None:
    assert completion.lessons("") == ["1", "2", "3", "4", "5", "all"]
    assert completion.lessons("a") == ["all"]
    assert completion.lessons("3") == ["3"]
    assert completion.lessons("9") == []
    assert completion.lesson_numbers("") == ["1", "2", "3", "4", "5"]


def test_a_lesson_list_completes_after_the_comma() -> None:
    assert completion.lessons("2,") == ["2,1", "2,3", "2,4", "2,5"]
    assert completion.lessons("2,3,") == ["2,3,1", "2,3,4", "2,3,5"]
    assert completion.lessons("2,4") == ["2,4"]


def test_list_also_offers_smoke() -> None:
    assert completion.list_groups("") == ["1", "2", "3", "4", "5", "all", "smoke"]
    assert completion.list_groups("s") == ["smoke"]


def test_check_ids_are_every_registered_check() -> None:
    assert sorted(completion.all_check_ids()) == sorted(load_checks())
    assert completion.check_ids("2.ro") == ["2.routes"]
    env = completion.check_ids("env.")
    assert "env.default-storage" in env and all(c.startswith("env.") for c in env)
    assert set(env) == {c for c in load_checks() if c.startswith("env.")}


def complete(words: str, *, shell: str = "bash") -> tuple[list[str], list[str]]:
    """Run the real completion protocol in a fresh interpreter: the candidates, and the heavy modules it imported."""
    script = textwrap.dedent(
        f"""
        import sys
        from maas_lab.cli import app
        try:
            app(prog_name="maas-lab")
        except SystemExit:
            pass
        sys.stderr.write(",".join(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
        """
    )
    env = {**os.environ, "_MAAS_LAB_COMPLETE": f"complete_{shell}", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    if shell == "zsh":
        env["_TYPER_COMPLETE_ARGS"] = words
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split(), [m for m in done.stderr.strip().split(",") if m]


def test_bash_completes_check_ids_without_loading_the_evidence_layer() -> None:
    candidates, heavy = complete("maas-lab explain env.default")
    assert candidates == ["env.default-storage"]
    assert heavy == [], f"completion imported {heavy}"


def test_bash_completes_lessons_for_each_command() -> None:
    assert complete("maas-lab check ")[0] == ["1", "2", "3", "4", "5", "all"]
    assert complete("maas-lab lesson ")[0] == ["1", "2", "3", "4", "5"]
    assert complete("maas-lab list sm")[0] == ["smoke"]


def test_zsh_completes_too() -> None:
    candidates, _ = complete("maas-lab explain 1.log", shell="zsh")
    assert any("1.logged-in" in c for c in candidates)


def test_show_completion_prints_a_script() -> None:
    result = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="maas-lab")
    assert result.exit_code == 0, result.output
    assert "_MAAS_LAB_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _maas_lab_completion maas-lab" in result.stdout


def test_the_completion_options_are_in_the_help() -> None:
    result = CliRunner().invoke(app, ["--help"], prog_name="maas-lab")
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
