"""One student's run: settings → source → snapshot → checks → report. `check`, `grade` and `demo` all call this.

The source decides where the raw answers come from (the cluster, a class-wide collection, or an evidence
bundle); everything after it is the same, which is why a regrade from evidence gives the live report.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import httpx

from maas_lab import verbose
from maas_lab.engine.model import Report
from maas_lab.engine.runner import run
from maas_lab.errors import CollectError, ProfileError, UsageError
from maas_lab.evidence.bundle import read_bundle
from maas_lab.evidence.collector import capture, collect, live_source
from maas_lab.evidence.http import make_client
from maas_lab.evidence.kube import KubeClient
from maas_lab.evidence.retry import UNBOUNDED, Deadline
from maas_lab.evidence.snapshot import Snapshot
from maas_lab.evidence.sources import LiveSource, Recorder, Source
from maas_lab.profile import Profile, load_profile
from maas_lab.settings import Settings


def resolve_profile(settings: Settings) -> tuple[Profile, CollectError | None]:
    """The profile, or (for one that does not validate) the built-in one and the error every check will show."""
    try:
        return load_profile(settings.profile), None
    except ProfileError as exc:
        profile = load_profile("ai501").model_copy(update={"name": settings.profile})
        return profile, CollectError(str(exc), hint="Fix the profile file (see `maas-lab --help` and the rubric).")


def build_snapshot(
    settings: Settings,
    profile: Profile,
    *,
    transport: httpx.BaseTransport | None = None,
    kube: KubeClient | None = None,
    deadline: Deadline = UNBOUNDED,
) -> tuple[Snapshot, CollectError | None]:
    """A live snapshot with preflight done; a grader-side preflight failure is returned, not raised."""
    http = make_client(verify=settings.verify, timeout=settings.request_timeout, transport=transport, deadline=deadline)
    if kube is not None:
        source, failure = LiveSource(kube, http), None
    else:
        source, failure = live_source(settings, http, own_http=True, deadline=deadline)
    return collect(settings, profile, source, failure)


def grade_source(
    settings: Settings,
    lessons: list[int],
    source: Source,
    *,
    profile: Profile,
    profile_error: CollectError | None = None,
    failure: CollectError | None = None,
    only: Iterable[str] | None = None,
    evidence: Path | None = None,
    now: datetime | None = None,
) -> Report:
    """Grade one student from `source`; with `evidence`, also write the bundle of every answer the checks read.

    `evidence` is a directory that gets `<user>.json.gz`.
    """
    deadline = time.monotonic() + settings.timeout
    recorder = Recorder(source) if evidence is not None else None
    snapshot, failure = collect(settings, profile, recorder or source, failure, now=now)
    verbose.phase("connect/preflight", who=settings.user)
    try:
        report = run(lessons, snapshot, profile, only=only, preflight_error=profile_error or failure, deadline=deadline)
        verbose.phase("checks", reads_inside=True, who=settings.user)
    finally:
        snapshot.close()
    if recorder is not None and evidence is not None:
        capture(recorder, snapshot, lessons, evidence)
    return report


def grade(
    settings: Settings,
    lessons: list[int],
    *,
    only: Iterable[str] | None = None,
    transport: httpx.BaseTransport | None = None,
    evidence: Path | None = None,
) -> Report:
    """Grade one student live. An invalid profile still yields a report (every check `error`, could_not_grade)."""
    profile, profile_error = resolve_profile(settings)
    deadline = Deadline.after(settings.timeout)  # bounds every request in flight, not only the gap between checks
    http = make_client(verify=settings.verify, timeout=settings.request_timeout, transport=transport, deadline=deadline)
    source, failure = live_source(settings, http, own_http=True, deadline=deadline)
    return grade_source(
        settings, lessons, source, profile=profile, profile_error=profile_error, failure=failure, only=only, evidence=evidence
    )


def grade_bundle(
    path: Path, settings: Settings, lessons: list[int] | None, *, only: Iterable[str] | None = None
) -> Report:
    """Grade an evidence bundle: no cluster, no service, the answers the live run had (lessons default: the bundle's)."""
    profile = load_profile(settings.profile)
    bundle = read_bundle(path, profile)
    report = grade_source(
        bundle.settings(settings), lessons or bundle.lessons, bundle.source, profile=profile, only=only, now=bundle.captured_at
    )
    return report


def could_not_grade(settings: Settings, lessons: list[int], message: str) -> Report:
    """A report with every check `error`, for a student the grader could not even start on."""
    try:
        profile = load_profile(settings.profile)
    except (ProfileError, UsageError):
        profile = load_profile("ai501")
    snapshot = Snapshot(settings, profile, source=LiveSource(None, make_client()))
    try:
        return run(lessons, snapshot, profile, preflight_error=CollectError(message))
    finally:
        snapshot.close()
