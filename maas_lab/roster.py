"""`maas-lab grade`: grade a class. One collection for the cohort, students graded concurrently under one bound,
each with its own deadline; each student's file written when done, the aggregates at most every 2 s.
"""

from __future__ import annotations

import csv
import io
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from maas_lab import verbose
from maas_lab.engine.model import Outcome, Report
from maas_lab.errors import CollectError, MaasLabError, UsageError
from maas_lab.evidence.bundle import read_bundle
from maas_lab.evidence.cohort import Cohort
from maas_lab.evidence.collector import live_source
from maas_lab.evidence.http import make_client
from maas_lab.evidence.kube import KubeClient
from maas_lab.evidence.sources import LiveSource, Source
from maas_lab.gradebook import read_students, write_aggregates, write_student
from maas_lab.grading import could_not_grade, grade_bundle, grade_source, resolve_profile
from maas_lab.profile import load_profile
from maas_lab.report.json_ import report_to_dict
from maas_lab.settings import Settings

ROSTER_FIELDS = ("user", "context", "kubeconfig", "cluster_domain")
SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@")


@dataclass(frozen=True)
class RosterRow:
    user: str
    context: str | None = None
    kubeconfig: str | None = None
    cluster_domain: str | None = None


def read_roster(path: Path) -> list[RosterRow]:
    """CSV with a header (`user` required), or YAML with a list of the same keys."""
    try:
        text = path.read_text("utf-8-sig")  # -sig: spreadsheets often save CSV with a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise UsageError(f"cannot read roster {path}: {reason}") from None
    numbered: list[tuple[int, object]]
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise UsageError(f"roster {path} is not valid YAML") from None
        if not isinstance(data, list):
            raise UsageError(f"roster {path} must be a YAML list of rows with a `user` key")
        numbered = list(enumerate(data, start=1))
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "user" not in [f.strip() for f in reader.fieldnames]:
            raise UsageError(f"roster {path} needs a header line with a `user` column (user,context,kubeconfig,cluster_domain)")
        numbered = []
        for cells in reader:
            if None in cells:  # DictReader files surplus cells under None: a misplaced comma, say so
                raise UsageError(f"roster {path}, line {reader.line_num}: more cells than the header has columns")
            numbered.append((reader.line_num, cells))
    where = "item" if path.suffix.lower() in (".yaml", ".yml") else "line"
    rows: list[RosterRow] = []
    seen: set[str] = set()
    for number, raw in numbered:
        if not isinstance(raw, dict):
            raise UsageError(f"roster {path}, {where} {number}: not a mapping")
        values = {str(k).strip(): (str(v).strip() if v is not None else "") for k, v in raw.items()}
        # a column name may hold any character (a newline, say): quote the odd ones so the message stays one line
        unknown = sorted(name if name.isprintable() else repr(name) for name in set(values) - set(ROSTER_FIELDS))
        if unknown:
            raise UsageError(
                f"roster {path}, {where} {number}: unknown column(s) {', '.join(unknown)} (known: {', '.join(ROSTER_FIELDS)})"
            )
        user = values.get("user", "")
        if not user:
            raise UsageError(f"roster {path}, {where} {number}: empty user")
        if not set(user) <= SAFE_NAME or user.startswith("."):
            raise UsageError(f"roster {path}, {where} {number}: {user!r} is not a valid user name")
        if user in seen:
            raise UsageError(f"roster {path}, {where} {number}: {user} appears twice")
        seen.add(user)
        kubeconfig = values.get("kubeconfig") or None
        if kubeconfig and not Path(kubeconfig).expanduser().is_absolute():
            kubeconfig = str(path.parent / kubeconfig)  # relative to the roster, like paths in a kubeconfig
        rows.append(RosterRow(user, values.get("context") or None, kubeconfig, values.get("cluster_domain") or None))
    if not rows:
        raise UsageError(f"roster {path} has no students")
    return rows


def settings_for(base: Settings, row: RosterRow) -> Settings:
    own_credentials = bool(row.kubeconfig or row.context)
    return base.with_(
        user=row.user,
        kubeconfig=row.kubeconfig or base.kubeconfig,
        context=row.context or base.context,
        cluster_domain=row.cluster_domain or base.cluster_domain,
        on_behalf=not own_credentials,
    )


# -- shards -------------------------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (1-based), or `auto/N` with I from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job, 0-based)."""
    index, _, count = text.partition("/")
    try:
        total = int(count)
        number = int(os.environ["JOB_COMPLETION_INDEX"]) + 1 if index == "auto" else int(index)
    except KeyError:
        raise UsageError("--shard auto/N needs JOB_COMPLETION_INDEX (set by an Indexed Job)") from None
    except ValueError:
        raise UsageError(f"--shard {text}: expected I/N such as 2/4 (or auto/N)") from None
    if total < 1 or not 1 <= number <= total:
        raise UsageError(f"--shard {text}: I must be between 1 and N")
    return number, total


def shard_of(rows: list[RosterRow], number: int, total: int) -> list[RosterRow]:
    """The number-th of `total` contiguous slices of the roster sorted by user name (every row in exactly one)."""
    ordered = sorted(rows, key=lambda r: r.user)
    return ordered[(number - 1) * len(ordered) // total : number * len(ordered) // total]


# -- the gradebook ------------------------------------------------------------------------------------------

AGGREGATE_INTERVAL = 2.0


class Gradebook:
    """The files in --out DIR. Each student's file is written when they are done (atomically); the aggregate
    files at most every AGGREGATE_INTERVAL seconds and at the end, so the writes grow linearly with the class."""

    def __init__(self, directory: Path, reports: dict[str, dict[str, Any]] | None = None) -> None:
        self.directory = directory
        self.reports: dict[str, dict[str, Any]] = dict(reports or {})
        self._written_at = 0.0
        self._dirty = bool(self.reports)
        try:
            (directory / "students").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write the gradebook to {directory}: {exc.strerror or exc}") from None

    def add(self, user: str, report: dict[str, Any]) -> None:
        self.reports[user] = report
        self._dirty = True
        self._guard(lambda: write_student(self.directory, user, report))

    def flush(self, *, force: bool = False) -> None:
        if force or (self._dirty and time.monotonic() - self._written_at >= AGGREGATE_INTERVAL):
            self._guard(lambda: write_aggregates(self.directory, self.reports))
            self._written_at = time.monotonic()
            self._dirty = False

    def _guard(self, write: Callable[[], None]) -> None:
        try:
            write()
        except OSError as exc:
            raise UsageError(f"cannot write the gradebook to {self.directory}: {exc.strerror or exc}") from None

    def tally(self) -> dict[str, int]:
        return {o.value: sum(1 for r in self.reports.values() if r.get("outcome") == o.value) for o in Outcome}


# -- the run ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What a progress display shows after each student."""

    user: str
    report: dict[str, Any]
    done: int
    total: int
    in_flight: int
    tally: dict[str, int]


GRACE = 2.0  # after a student's deadline, how long the run waits before abandoning them


@dataclass
class Options:
    jobs: int = 8
    resume: bool = False
    save_evidence: bool = False
    from_evidence: Path | None = None
    transport: httpx.BaseTransport | None = None


class Grader:
    """Grades one roster row; the class-wide collection is made once and shared by every row that uses it."""

    def __init__(self, base: Settings, lessons: list[int], out: Path, options: Options) -> None:
        self.base = base
        self.lessons = lessons
        self.out = out
        self.options = options
        self.profile, self.profile_error = resolve_profile(base)
        self.http = make_client(verify=base.verify, timeout=base.request_timeout, transport=options.transport)
        self._cohort: Cohort | None = None
        self._cohort_error: CollectError | None = None
        self._lock = threading.Lock()

    def cohort(self) -> tuple[Cohort | None, CollectError | None]:
        with self._lock:
            if self._cohort is None and self._cohort_error is None:
                try:
                    kube = KubeClient.from_kubeconfig(self.base.kubeconfig, self.base.context, timeout=self.base.request_timeout)
                    self._cohort = Cohort(kube, self.http)
                except CollectError as exc:
                    self._cohort_error = exc
            return self._cohort, self._cohort_error

    def grade(self, row: RosterRow) -> Report:
        verbose.restart_clock()  # each student runs on a thread of its own: their phases start here
        settings = settings_for(self.base, row)
        if self.options.from_evidence is not None:
            return grade_bundle(self.options.from_evidence / f"{row.user}.json.gz", settings, self.lessons)
        failure: CollectError | None
        if settings.on_behalf:
            cohort, failure = self.cohort()
            source: Source = cohort.view() if cohort is not None else LiveSource(None, self.http, own_http=False)
        else:  # the row's own kubeconfig/context: today's per-namespace reads with that credential
            source, failure = live_source(settings, self.http, own_http=False)
        evidence = self.out / "evidence" if self.options.save_evidence else None
        return grade_source(
            settings, self.lessons, source, profile=self.profile, profile_error=self.profile_error, failure=failure, evidence=evidence
        )

    def close(self) -> None:
        self.http.close()
        if self._cohort is not None:
            self._cohort.close()


def grade_roster(
    base: Settings,
    rows: list[RosterRow],
    lessons: list[int],
    out: Path,
    *,
    options: Options | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Gradebook:
    """Grade every row, `jobs` at a time. One student's failure never stops the others; a student past their
    deadline (--timeout) is recorded as not graded and abandoned, not awaited. Ctrl-C (KeyboardInterrupt)
    leaves valid files: the aggregates are written before it propagates."""
    options = options or Options()
    if options.from_evidence is not None:  # a bundle of another schema or profile: refused before anything is graded
        profile = load_profile(base.profile)
        for row in rows:
            read_bundle(options.from_evidence / f"{row.user}.json.gz", profile)
    # --resume on a folder no run has written yet simply grades everyone
    done_before = read_students(out) if options.resume and (out / "students").is_dir() else {}
    book = Gradebook(out, {u: r for u, r in done_before.items() if u in {row.user for row in rows}})
    pending = deque(row for row in rows if row.user not in book.reports)
    total = len(rows)
    grader = Grader(base, lessons, out, options)
    finished: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    running: dict[str, tuple[float, Settings]] = {}

    def work(row: RosterRow, settings: Settings) -> None:
        try:
            report = grader.grade(row)
        except MaasLabError as exc:
            report = could_not_grade(settings, lessons, str(exc))
        except Exception as exc:  # isolate: a crash for one student is recorded, not fatal
            report = could_not_grade(settings, lessons, f"internal error: {type(exc).__name__}")
        finished.put((row.user, report_to_dict(report)))

    def record(user: str, report: dict[str, Any]) -> None:
        running.pop(user, None)
        book.add(user, report)
        if progress is not None:
            progress(Progress(user, report, len(book.reports), total, len(running), book.tally()))
        book.flush()

    try:
        while pending or running:
            while pending and len(running) < options.jobs:
                row = pending.popleft()
                settings = settings_for(base, row)
                running[row.user] = (time.monotonic() + settings.timeout + GRACE, settings)
                # daemon: a student whose services hang must not keep the process alive (Ctrl-C, the end of the run)
                threading.Thread(target=work, args=(row, settings), name=f"grade-{row.user}", daemon=True).start()
            try:
                user, report = finished.get(timeout=0.2)
            except queue.Empty:
                pass
            else:
                if user in running:  # a result after the deadline is dropped: the student was already recorded
                    record(user, report)
            now = time.monotonic()
            for user, (deadline, settings) in list(running.items()):
                if now > deadline:
                    message = f"grading {user} did not finish within --timeout {settings.timeout:g} s (a service did not answer)"
                    record(user, report_to_dict(could_not_grade(settings, lessons, message)))
            book.flush()
    finally:  # also on Ctrl-C: whatever is graded is in the aggregates
        book.flush(force=True)
        grader.close()
    return book


def summary(book: Gradebook) -> dict[str, int]:
    return book.tally()


def evidence_rows(directory: Path) -> list[RosterRow]:
    """One row a bundle in DIR (`<user>.json.gz`), for `grade --from-evidence DIR` without a roster."""
    if not directory.is_dir():
        raise UsageError(f"--from-evidence {directory}: not a directory of evidence bundles")
    rows = [RosterRow(p.name[: -len(".json.gz")]) for p in sorted(directory.glob("*.json.gz"))]
    if not rows:
        raise UsageError(f"--from-evidence {directory}: no <user>.json.gz bundle in it")
    return rows
