"""One student's run: settings → snapshot → checks → report. The CLI and the roster grader both call this."""

from __future__ import annotations

import time
from collections.abc import Iterable

import httpx

from maas_lab.engine.model import Report
from maas_lab.engine.runner import run
from maas_lab.errors import CollectError, ProfileError, UsageError
from maas_lab.evidence.http import make_client
from maas_lab.evidence.kube import KubeClient
from maas_lab.evidence.retry import UNBOUNDED, Deadline
from maas_lab.evidence.snapshot import Snapshot
from maas_lab.profile import Profile, load_profile
from maas_lab.settings import Settings


def build_snapshot(
    settings: Settings,
    profile: Profile,
    *,
    transport: httpx.BaseTransport | None = None,
    kube: KubeClient | None = None,
    deadline: Deadline = UNBOUNDED,
) -> tuple[Snapshot, CollectError | None]:
    """A snapshot with preflight done; a grader-side preflight failure is returned, not raised."""
    http = make_client(verify=settings.verify, timeout=settings.request_timeout, transport=transport, deadline=deadline)
    failure: CollectError | None = None
    if kube is None:
        try:
            kube = KubeClient.from_kubeconfig(
                settings.kubeconfig, settings.context, timeout=settings.request_timeout, deadline=deadline
            )
        except CollectError as exc:
            failure = exc
    snapshot = Snapshot(settings, profile, kube=kube, http=http)
    if kube is not None and kube.insecure:
        snapshot.note("the kubeconfig skips TLS verification of the API server")
    if failure is None:
        try:
            snapshot.preflight()
        except CollectError as exc:
            failure = exc
    return snapshot, failure


def grade(
    settings: Settings,
    lessons: list[int],
    *,
    only: Iterable[str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Report:
    """Grade one student. An invalid profile still yields a report (every check `error`, outcome could_not_grade)."""
    deadline = time.monotonic() + settings.timeout
    try:
        profile = load_profile(settings.profile)
        profile_error: CollectError | None = None
    except ProfileError as exc:
        profile = load_profile("ai501").model_copy(update={"name": settings.profile})
        profile_error = CollectError(str(exc), hint="Fix the profile file (see `maas-lab --help` and the rubric).")
    snapshot, failure = build_snapshot(settings, profile, transport=transport, deadline=Deadline(deadline))
    try:
        return run(
            lessons,
            snapshot,
            profile,
            only=only,
            preflight_error=profile_error or failure,
            deadline=deadline,
        )
    finally:
        snapshot.close()


def could_not_grade(settings: Settings, lessons: list[int], message: str) -> Report:
    """A report with every check `error`, for a student the grader could not even start on."""
    try:
        profile = load_profile(settings.profile)
    except (ProfileError, UsageError):
        profile = load_profile("ai501")
    snapshot = Snapshot(settings, profile, kube=None, http=make_client())
    try:
        return run(lessons, snapshot, profile, preflight_error=CollectError(message))
    finally:
        snapshot.close()
