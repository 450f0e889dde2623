"""The commands a student types first start fast: nothing heavy is imported for them.

Time is not asserted (machines are shared; `benchmarks/bench_startup.py` prints the figures); what is asserted is
the cause of a slow start: the HTTP client, the Kubernetes client and pydantic stay unimported (and for `lesson`,
rich and any Markdown parser).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("httpx", "kubernetes", "pydantic")
# Runs the CLI in-process, then prints which heavy modules it left in sys.modules.
PROBE = """
import sys
from maas_lab.cli import app
try:
    app(sys.argv[1:], prog_name="maas-lab")
except SystemExit:
    pass
print("LOADED:" + ",".join(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""
# The same, with one light check registered in place of the lesson modules: `list` and `explain` themselves
# (the CLI, the catalogue, the profile's points, the report layout) import nothing heavy, whatever the checks do.
PROBE_WITHOUT_LESSONS = """
import sys
import maas_lab.lessons
from maas_lab.engine import registry
from maas_lab.engine.model import passed
maas_lab.lessons.MODULES = ()

@registry.check("2.routes", lesson_ref="step-4-install-with-helm", hint="Install with Routes.", evidence="K8s Routes")
def routes(snap):
    \"\"\"Both Routes are admitted for {{user}}.\"\"\"
    return passed("ok")
""" + PROBE


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["check", "--help"],
        ["lesson", "2", "--user", "u1", "--cluster-domain", "apps.example.com"],
        ["lesson", "2", "--section", "step-4-install-with-helm", "--user", "u1", "--cluster-domain", "apps.example.com", "--raw"],
        ["list"],
        ["list", "smoke"],
        ["explain", "2.routes"],
        ["explain", "env.models-ready"],
        ["explain", "2.nope"],
    ],
)
def test_fast_commands_import_nothing_heavy(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED:")]
    assert loaded, result.stderr[-2000:]
    assert loaded[-1] == "LOADED:", f"{' '.join(args)} imported {loaded[-1][7:]}"
    assert result.stdout.strip() or "unknown check id" in result.stderr  # and it did its job


@pytest.mark.parametrize(
    "args",
    [
        ["lesson", "2", "--user", "u1", "--cluster-domain", "apps.example.com"],
        ["lesson", "5", "--answers", "--no-color", "--user", "u1", "--cluster-domain", "apps.example.com"],
    ],
)
def test_a_lesson_is_rendered_without_a_markdown_parser_or_rich(args: list[str]) -> None:
    """The lesson's own renderer writes the text: Markdown parsing and rich's console would double the start-up."""
    renderers = ("markdown_it", "rich")
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY + renderers), *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED:")]
    assert loaded, result.stderr[-2000:]
    assert loaded[-1] == "LOADED:", f"{' '.join(args)} imported {loaded[-1][7:]}"
    assert "helm" in result.stdout or "Canopy" in result.stdout  # and the lesson was shown


@pytest.mark.parametrize("args", [["list"], ["list", "2", "--user", "u1"], ["explain", "2.routes"], ["explain", "2.route"]])
def test_list_and_explain_themselves_import_nothing_heavy(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE_WITHOUT_LESSONS.format(heavy=HEAVY), *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED:")]
    assert loaded, result.stderr[-2000:]
    assert loaded[-1] == "LOADED:", f"{' '.join(args)} imported {loaded[-1][7:]}"
    assert "2.routes" in result.stdout + result.stderr
