"""The README's install and test command lines, run as written in a fresh copy of the tree.

They build virtualenvs and install from the package index, so they take a minute: marked `slow` (deselect with
`-m "not slow"` while iterating); `nox -s tests` and `.ci/run` run them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
pytestmark = pytest.mark.slow


def bash_blocks() -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", README, re.DOTALL)]


def command_line(starting: str) -> str:
    found = [block for block in bash_blocks() if block.startswith(starting)]
    assert len(found) == 1, f"the README has no single ```bash block starting with {starting!r}"
    return found[0]


@pytest.fixture(scope="module")
def fresh_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project as a fresh checkout has it: no virtualenvs, caches or build output."""
    tree = tmp_path_factory.mktemp("checkout") / "maas-lab"
    ignore = shutil.ignore_patterns(".git", ".venv*", ".nox", "__pycache__", "*.egg-info", ".*_cache", "build", "dist")
    shutil.copytree(ROOT, tree, ignore=ignore)
    return tree


def run(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # the interpreter running the tests stands for `python3` (the one a fresh machine has may be older)
    interpreter_dir = str(Path(sys.executable).parent)
    env = {"PATH": f"{interpreter_dir}:/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(["bash", "-c", line.replace("python3 ", f"{sys.executable} ", 1)],
                          cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_the_venv_install_line_installs_a_working_maas_lab(fresh_tree: Path) -> None:
    line = command_line("python3 -m venv .venv &&")
    result = run(line, fresh_tree)
    assert result.returncode == 0, result.stderr[-3000:]
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert version and f"maas-lab {version.group(1)}" in result.stdout  # the demo's report: a sample student graded
    assert "PASS" in result.stdout
    listed = subprocess.run([fresh_tree / ".venv/bin/maas-lab", "lesson", "2", "--user", "u1", "--cluster-domain", "apps.x.example.com",
                             "--section", "step-4-install-with-helm", "--raw"], capture_output=True, text=True, check=False)
    assert listed.returncode == 0 and "u1-maas" in listed.stdout  # the lesson texts are in the installed wheel


def test_the_test_line_installs_nox_and_the_sessions_pick_a_python(fresh_tree: Path) -> None:
    line = command_line("python3 -m venv .venv-nox &&")
    assert line.endswith(".venv-nox/bin/nox -s tests")
    # everything but the suite itself (it would run this test again): install nox, list the sessions
    result = run(line.replace("nox -s tests", "nox --list"), fresh_tree)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^\* tests\b", result.stdout, re.MULTILINE)
    # a Python that is not there fails the session, it is not skipped as a success
    missing = run(".venv-nox/bin/nox -s lint --force-python 3.99", fresh_tree)
    assert missing.returncode != 0
    assert "3.99 not found" in missing.stdout + missing.stderr
    chosen = run(".venv-nox/bin/python -c 'import noxfile; print(noxfile.PYTHON, noxfile.pick_python((3, 10), lambda n: None))'",
                 fresh_tree)
    assert chosen.returncode == 0, chosen.stderr
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert chosen.stdout.split() == [running, "3.11"]  # the running Python; with none supported, one that fails
