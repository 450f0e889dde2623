"""`maas-lab grade --roster`: grade a cohort, one isolated run a student, the gradebook rewritten after each."""

from __future__ import annotations

import csv
import html
import io
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from maas_lab.engine.model import Outcome, Report, Status
from maas_lab.engine.registry import id_sort_key, load_checks
from maas_lab.errors import MaasLabError, UsageError
from maas_lab.files import write_atomically
from maas_lab.grading import could_not_grade, grade
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


class Gradebook:
    """The files in --out DIR; every write is atomic, so an interrupted run leaves valid files."""

    def __init__(self, directory: Path, lessons: list[int]) -> None:
        self.directory = directory
        self.lessons = lessons
        self.reports: dict[str, Report] = {}
        self._lock = threading.Lock()
        try:
            (directory / "students").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write the gradebook to {directory}: {exc.strerror or exc}") from None

    def add(self, user: str, report: Report) -> None:
        with self._lock:
            self.reports[user] = report
            try:
                write_atomically(self.directory / "students" / f"{user}.json", _json(report_to_dict(report)))
                self._rewrite()
            except OSError as exc:
                raise UsageError(f"cannot write the gradebook to {self.directory}: {exc.strerror or exc}") from None

    def _check_ids(self) -> list[str]:
        return sorted((c.id for c in load_checks().values() if c.lesson in self.lessons), key=id_sort_key)

    def _rewrite(self) -> None:
        ids = self._check_ids()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["user", "outcome", "score", "max_score", *ids])
        for user in sorted(self.reports):
            report = self.reports[user]
            cells = {r.check.id: ("" if r.status is Status.ERROR else f"{r.points:g}") for r in report.results}
            writer.writerow([user, report.outcome.value, f"{report.score:g}", f"{report.max_score:g}", *(cells.get(i, "") for i in ids)])
        write_atomically(self.directory / "gradebook.csv", buffer.getvalue())
        body = {"reports": {u: report_to_dict(self.reports[u]) for u in sorted(self.reports)}}
        write_atomically(self.directory / "gradebook.json", _json(body))
        write_atomically(self.directory / "report.html", render_html(self.reports, ids))


def _json(value: Any) -> str:
    # the same encoding as `--format json` (evidence may hold timestamps)
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"




def render_html(reports: dict[str, Report], ids: list[str]) -> str:
    """A self-contained page: per-check distribution across the cohort, then one row a student."""
    checks = load_checks()
    total = len(reports)
    outcomes = {o: sum(1 for r in reports.values() if r.outcome is o) for o in Outcome}
    rows = []
    for check_id in ids:
        statuses = [next((x.status for x in r.results if x.check.id == check_id), None) for r in reports.values()]
        counts = {s: statuses.count(s) for s in Status}
        share = (counts[Status.PASS] / total * 100) if total else 0.0
        cells = "".join(f"<td>{counts[s]}</td>" for s in Status)
        rows.append(
            f"<tr><td><code>{html.escape(check_id)}</code></td><td>{html.escape(checks[check_id].title)}</td>{cells}"
            f'<td><div class="bar"><span style="width:{share:.0f}%"></span></div> {share:.0f}%</td></tr>'
        )
    students = []
    for user in sorted(reports):
        report = reports[user]
        by_id = {x.check.id: x for x in report.results}
        # one cell a column of `ids`, so a report without some check never shifts the others
        marks = "".join(
            f'<td class="{x.status.value}" title="{html.escape(x.message)}">{"" if x.status is Status.ERROR else f"{x.points:g}"}</td>'
            if (x := by_id.get(check_id))
            else "<td></td>"
            for check_id in ids
        )
        students.append(
            f"<tr><td>{html.escape(user)}</td><td class='{report.outcome.value}'>{report.outcome.value}</td>"
            f"<td>{report.score:g}/{report.max_score:g}</td>{marks}</tr>"
        )
    status_heads = "".join(f"<th>{s.value}</th>" for s in Status)
    id_heads = "".join(f"<th><code>{html.escape(i)}</code></th>" for i in ids)
    summary = ", ".join(f"{n} {o.value}" for o, n in outcomes.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maas-lab gradebook</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}} table{{border-collapse:collapse;margin:1rem 0}}
td,th{{border:1px solid #ccc;padding:.25rem .5rem;font-size:.85rem}} th{{background:#f3f3f3}}
.bar{{display:inline-block;width:120px;height:.7rem;background:#eee;vertical-align:middle}}
.bar span{{display:block;height:100%;background:#3c8d40}}
.pass{{background:#e4f4e4}} .fail{{background:#fbe3e3}} .skip{{background:#fff7db}} .pending{{background:#e3f1fb}}
.error,.could_not_grade{{background:#efe3fb}}
</style></head><body>
<h1>maas-lab gradebook</h1>
<p>{total} student(s): {html.escape(summary)}.</p>
<h2>Per check</h2>
<table><tr><th>check</th><th>title</th>{status_heads}<th>passed</th></tr>
{''.join(rows)}
</table>
<h2>Per student</h2>
<table><tr><th>user</th><th>outcome</th><th>score</th>{id_heads}</tr>
{''.join(students)}
</table>
</body></html>
"""


def grade_roster(
    base: Settings,
    rows: list[RosterRow],
    lessons: list[int],
    out: Path,
    *,
    jobs: int = 4,
    progress: Callable[[str, Report], None] | None = None,
) -> Gradebook:
    """Grade every row (bounded concurrency); one student's failure never stops the others."""
    book = Gradebook(out, lessons)

    def one(row: RosterRow) -> tuple[str, Report]:
        settings = settings_for(base, row)
        try:
            return row.user, grade(settings, lessons)
        except MaasLabError as exc:
            return row.user, could_not_grade(settings, lessons, str(exc))
        except Exception as exc:  # isolate: a crash for one student is recorded, not fatal
            return row.user, could_not_grade(settings, lessons, f"internal error: {type(exc).__name__}")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(one, row) for row in rows]
        for future in as_completed(futures):
            user, report = future.result()
            book.add(user, report)
            if progress:
                progress(user, report)
    except BaseException:  # Ctrl-C or an unwritable gradebook: what is written stays valid; the rest is not started
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return book


def summary(book: Gradebook) -> dict[str, Any]:
    return {o.value: sum(1 for r in book.reports.values() if r.outcome is o) for o in Outcome}
