"""`-v/--verbose`: on stderr, what the grader discovered and from where, and how long each phase took.

The discovery sites call `found(what, value, source)` (one line each); nothing is printed unless a command enabled
it. Only names are ever passed here (files, contexts, users, hosts, Secret names and keys), never a value read from
a Secret or a token, so nothing can leak through it; URLs lose any user:password part all the same.

Phases: connect/preflight (kubeconfig, API server, the user and domain), collect (time spent in cluster and HTTP
reads, measured around the two functions that make them), checks (the verdicts, the rest of the grading time),
render. Reads happen lazily while the checks run, so collect is measured inside the checks' time and taken out
of it. Timings are per thread: `grade --jobs N` prints each student's own.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

LOGGER = logging.getLogger("maas_lab")
P = ParamSpec("P")
R = TypeVar("R")

_said: set[str] = set()
_lock = threading.Lock()
_clock = threading.local()  # .last: when the previous phase ended; .io: seconds in reads since then


class _Stderr(logging.Handler):
    """Writes to the sys.stderr of the moment (a test runner swaps it between runs)."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError, ValueError):  # a closed stream: verbose output is never worth a crash
            sys.stderr.write(self.format(record) + "\n")


_handler = _Stderr()
_handler.setFormatter(logging.Formatter("maas-lab: %(message)s"))


def enable(on: bool) -> None:
    """Turn verbose output on (or off) for this run, and start its clock."""
    with _lock:
        _said.clear()
    if _handler not in LOGGER.handlers:
        LOGGER.addHandler(_handler)
    LOGGER.propagate = False
    LOGGER.setLevel(logging.INFO if on else logging.WARNING)
    restart_clock()


def enabled() -> bool:
    return LOGGER.isEnabledFor(logging.INFO)


def say(message: str) -> None:
    """One line, once per run (discovery repeats itself: ten checks ask for the same URL)."""
    if not enabled():
        return
    with _lock:
        if message in _said:
            return
        _said.add(message)
    LOGGER.info(message)


def found(what: str, value: object, source: str) -> None:
    say(f"{what}: {value} (from {source})")


def credential(reader: str, what: str) -> None:
    """Which credential a reader uses, by name: `credential("LiteLLM", "master-key from Secret litemaas-litellm")`."""
    say(f"{reader} credential: {what}")


def litemaas_credentials(secret: str, *, keys: set[str]) -> None:
    """LiteMaaS is read with the admin API key, and as the student with a JWT signed by the backend's secret."""
    admin = f"admin API key from Secret {secret} key admin-api-keys" if "admin-api-keys" in keys else f"no admin API key in Secret {secret}"
    student = f"student JWT signed with Secret {secret} key jwt-secret" if "jwt-secret" in keys else "no student JWT (no jwt-secret)"
    credential("LiteMaaS", f"{admin}; {student}")


def service_url(service: str, value: str, source: str) -> None:
    url({"litemaas": "LiteMaaS URL", "litellm": "LiteLLM URL"}.get(service, service), value, source)


def url(what: str, value: str, source: str) -> None:
    found(what, without_userinfo(value), source)


def without_userinfo(value: str) -> str:
    parts = urlsplit(value)
    if parts.username is None and parts.password is None:
        return value
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# -- where the kubeconfig came from -------------------------------------------------------------------------


def kubeconfig(files: list[str], option: str | None, context: str | None, configs: list[dict[str, Any]]) -> None:
    """The kubeconfig file(s), the context and the kubeconfig user entry it names, and where each choice came from.

    `option` is where the files came from ("--kubeconfig", "KUBECONFIG", or None for the default file); like
    kubectl, the first file to set a current-context or to define a context wins.
    """
    if not enabled():
        return
    found("kubeconfig", ", ".join(files), option or "the default location")
    name = context or next((str(c["current-context"]) for c in configs if c.get("current-context")), "")
    found("context", name or "none", "--context" if context else "the kubeconfig's current-context")
    entries = (e for c in configs for e in c.get("contexts") or [] if e.get("name") == name)
    entry: dict[str, Any] = next(entries, {})
    user = (entry.get("context") or {}).get("user")
    if user:
        found("kubeconfig user entry", user, f"context {name}")


def in_cluster() -> None:
    found("kubeconfig", "none: the pod's service account token", "in-cluster (KUBERNETES_SERVICE_HOST)")


def option_source(value: str | None, flag: str, env: str) -> str:
    """`--user` or `MAAS_LAB_USER`: the CLI receives both through one parameter."""
    return env if value is not None and os.environ.get(env) == value else flag


# -- phases -----------------------------------------------------------------------------------------------------


def restart_clock() -> None:
    _clock.last = time.monotonic()
    _clock.io = 0.0


def phase(name: str, *, reads_inside: bool = False, who: str | None = None) -> None:
    """End a phase: print the time since the previous one. `reads_inside`: split out the reads made during it.

    `who`: the student, when several are graded at once.
    """
    now = time.monotonic()
    elapsed = now - getattr(_clock, "last", now)
    reads = getattr(_clock, "io", 0.0)
    _clock.last, _clock.io = now, 0.0
    if not enabled():
        return
    whose = f" ({who})" if who else ""
    if reads_inside:
        LOGGER.info("time collect%s: %.3f s (cluster and HTTP reads)", whose, reads)
        elapsed -= reads
    LOGGER.info("time %s%s: %.3f s", name, whose, max(0.0, elapsed))


def collecting(function: Callable[P, R]) -> Callable[P, R]:
    """Count the time spent in `function` (a cluster or HTTP read) as collect time."""

    @functools.wraps(function)
    def timed(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            _clock.io = getattr(_clock, "io", 0.0) + time.monotonic() - started

    return timed
