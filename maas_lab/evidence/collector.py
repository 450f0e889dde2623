"""The collector: picks where a student's raw answers come from, fills their snapshot, and keeps what it read.

    live_source   one student's own kubeconfig/context (today's per-namespace reads)
    Cohort.view   a class-wide collection (maas_lab.evidence.cohort)
    read_bundle   an evidence bundle (maas_lab.evidence.bundle)

`collect` builds the snapshot on one of them and resolves who and where (preflight); `capture` writes the
bundle of everything a Recorder saw.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx

from maas_lab.errors import CollectError, UsageError
from maas_lab.evidence.bundle import bundle_dict, write_bundle
from maas_lab.evidence.kube import KubeClient
from maas_lab.evidence.retry import UNBOUNDED, Deadline
from maas_lab.evidence.snapshot import Snapshot
from maas_lab.evidence.sources import LiveSource, Recorder, Source
from maas_lab.profile import Profile
from maas_lab.settings import Settings


def live_source(
    settings: Settings, http: httpx.Client, *, own_http: bool, deadline: Deadline = UNBOUNDED
) -> tuple[LiveSource, CollectError | None]:
    """Today's reads with the settings' own kubeconfig/context; a grader-side failure is returned, not raised."""
    try:
        kube = KubeClient.from_kubeconfig(
            settings.kubeconfig, settings.context, timeout=settings.request_timeout, deadline=deadline
        )
    except CollectError as exc:
        return LiveSource(None, http, own_http=own_http), exc
    return LiveSource(kube, http, own_http=own_http), None


def collect(
    settings: Settings, profile: Profile, source: Source, failure: CollectError | None = None, *, now: datetime | None = None
) -> tuple[Snapshot, CollectError | None]:
    """A snapshot on `source` with preflight done; a grader-side preflight failure is returned, not raised."""
    snapshot = Snapshot(settings, profile, source=source, now=now)
    kube = getattr(source, "kube", None)
    if isinstance(kube, KubeClient) and kube.insecure:
        snapshot.note("the kubeconfig skips TLS verification of the API server")
    if failure is None:
        try:
            snapshot.preflight()
        except CollectError as exc:
            failure = exc
    return snapshot, failure


def capture(recorder: Recorder, snapshot: Snapshot, lessons: list[int], evidence: Path) -> None:
    """Write the bundle of what `recorder` saw to `<evidence>/<user>.json.gz`."""
    if snapshot.user_or_none is None:
        return  # preflight never learnt whom it graded: nothing worth keeping
    target = evidence / f"{snapshot.user}.json.gz"
    bundle = bundle_dict(
        recorder,
        settings=snapshot.settings,
        profile=snapshot.profile,
        user=snapshot.user,
        cluster_domain=snapshot.domain_or_none,
        captured_at=snapshot.now,
        lessons=lessons,
        known_secrets=snapshot.redactor.known(),
        notes=snapshot.notes,
    )
    try:
        write_bundle(target, bundle)
    except OSError as exc:
        raise UsageError(f"cannot write the evidence bundle {target}: {exc.strerror or exc}") from None
