"""`report.html`: the class page an instructor opens first, from the gradebook's JSON reports.

One self-contained file: inline CSS, a little inline JavaScript for sorting and filtering, and a
Content-Security-Policy that forbids every fetch, so the page works offline and a student-controlled string
can never load anything. Every string from a report is escaped; errors (the grader's side) are grouped by cause
and kept apart from failures (the student's side).
"""

from __future__ import annotations

import html
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from maas_lab.engine.registry import load_checks

STATUSES = ("pass", "fail", "pending", "skip", "error")
OUTCOMES = ("pass", "fail", "could_not_grade")
OUTCOME_LABELS = {"pass": "passed", "fail": "not passed yet", "could_not_grade": "could not grade"}
LESSON_STATES = ("complete", "converging", "incomplete", "could_not_grade")
LESSON_STATE_LABELS = {
    "complete": "complete",
    "converging": "converging (pending)",
    "incomplete": "incomplete",
    "could_not_grade": "could not grade",
}
WEAK_SPOTS = 5
EXAMPLE_USERS = 8
FEW_CHECKS = 6

# A cause is the message with what varies per student masked: the user name, ids, then numbers.
_HEX_ID = re.compile(r"\b(?=[0-9a-f-]*\d)[0-9a-f]{8}(?:-?[0-9a-f]{4}){3}-?[0-9a-f]{12}\b|\b(?=[0-9a-f]*\d)[0-9a-f]{16,}\b", re.I)
_NUMBER = re.compile(r"\d+")
_USER_MARK, _ID_MARK, _NUMBER_MARK = "\x00u\x00", "\x00i\x00", "\x00n\x00"
_CODE = re.compile(r"`([^`\n]+)`")


def inline(text: str, user: str | None = None) -> str:
    """Escaped text with `code` spans; `{user}` filled with `user`, or shown as a placeholder class-wide."""
    escaped = _CODE.sub(r"<code>\1</code>", html.escape(text))
    return escaped.replace("{user}", html.escape(user) if user else "<var>&lt;user&gt;</var>")


def error_cause(message: str, user: str) -> str:
    """The message with the student's name, ids and numbers masked: equal causes give equal strings."""
    text = message.replace("\x00", "")
    if user:
        text = re.sub(re.escape(user), _USER_MARK, text, flags=re.I)
    return _NUMBER.sub(_NUMBER_MARK, _HEX_ID.sub(_ID_MARK, text))


def _masked_html(text: str) -> str:
    return (
        inline(text)
        .replace(_USER_MARK, "<var>&lt;user&gt;</var>")
        .replace(_ID_MARK, "<var>&lt;id&gt;</var>")
        .replace(_NUMBER_MARK, "<var>&lt;N&gt;</var>")
    )


@dataclass
class _CheckStats:
    id: str
    lesson: int
    title: str
    required: bool
    max_points: float
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def graded(self) -> int:
        """Students the grader could measure on this check: an `error` is not the student's."""
        return sum(self.counts.values()) - self.counts["error"]

    @property
    def pass_rate(self) -> float | None:
        return self.counts["pass"] / self.graded if self.graded else None

    @property
    def stuck(self) -> int:
        """Students held up at this very step; a skip is held up by an earlier one, so it does not count."""
        return self.counts["fail"] + self.counts["pending"]


@dataclass
class _Cause:
    key: str
    shown: set[str] = field(default_factory=set)  # the message with only the user masked; one value → show it
    users: set[str] = field(default_factory=set)
    checks: Counter[str] = field(default_factory=Counter)
    hints: Counter[str] = field(default_factory=Counter)

    @property
    def results(self) -> int:
        return sum(self.checks.values())


def _id_key(check_id: str) -> tuple[int, str]:
    lesson, _, rest = check_id.partition(".")
    return (int(lesson) if lesson.isdigit() else 99, rest)


def _results(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [result for lesson in report["lessons"] for result in lesson["checks"]]


def check_columns(reports: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every check id any report holds, by lesson, then in the order the lesson teaches them."""
    lesson_order = {check_id: index for index, check_id in enumerate(load_checks())}
    lesson_of: dict[str, int] = {}
    for report in reports:
        for lesson in report["lessons"]:
            for result in lesson["checks"]:
                lesson_of.setdefault(result["id"], lesson["lesson"])
    # an id this version no longer knows (a gradebook from an older release) goes last in its lesson
    return sorted(lesson_of, key=lambda c: (lesson_of[c], lesson_order.get(c, len(lesson_order)), c))


def _check_stats(reports: Mapping[str, Mapping[str, Any]]) -> list[_CheckStats]:
    stats: dict[str, _CheckStats] = {}
    for report in reports.values():
        for lesson in report["lessons"]:
            for result in lesson["checks"]:
                entry = stats.get(result["id"])
                if entry is None:
                    entry = stats[result["id"]] = _CheckStats(
                        result["id"], lesson["lesson"], str(result.get("title", "")), bool(result.get("required", True)), 0.0
                    )
                entry.max_points = max(entry.max_points, float(result["max_points"]))
                entry.counts[result["status"]] += 1
    return [stats[check_id] for check_id in check_columns(reports.values())]


def _lesson_state(checks: list[Mapping[str, Any]]) -> str:
    statuses = {c["status"] for c in checks if c.get("required", True)}
    if "error" in statuses:
        return "could_not_grade"
    if "fail" in statuses:
        return "incomplete"
    if "pending" in statuses:
        return "converging"
    return "incomplete" if "skip" in statuses else "complete"


def _causes(reports: Mapping[str, Mapping[str, Any]]) -> list[_Cause]:
    causes: dict[str, _Cause] = {}
    for user, report in reports.items():
        for result in _results(report):
            if result["status"] != "error":
                continue
            message = str(result.get("message", ""))
            key = error_cause(message, user)
            cause = causes.setdefault(key, _Cause(key))
            cause.shown.add(re.sub(re.escape(user), _USER_MARK, message.replace("\x00", ""), flags=re.I) if user else message)
            cause.users.add(user)
            cause.checks[result["id"]] += 1
            if result.get("hint"):
                cause.hints[re.sub(re.escape(user), _USER_MARK, str(result["hint"]), flags=re.I) if user else str(result["hint"])] += 1
    return sorted(causes.values(), key=lambda c: (-len(c.users), -c.results, c.key))


def _percent(score: float, max_score: float) -> float:
    return 100.0 * score / max_score if max_score else 0.0


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _bar(counts: Mapping[str, int], order: tuple[str, ...], total: int) -> str:
    """A stacked bar; the colours are the classes of the statuses, the numbers are in the table beside it."""
    parts = "".join(
        f'<span class="{key}" style="width:{counts.get(key, 0) / total * 100:.2f}%"></span>' for key in order if counts.get(key, 0)
    )
    return f'<div class="stack" aria-hidden="true">{parts}</div>' if total else ""


def _fmt(value: float) -> str:
    return f"{value:g}"


# -- sections ---------------------------------------------------------------------------------------------------


def _summary(reports: Mapping[str, Mapping[str, Any]]) -> str:
    outcomes = Counter(str(r["outcome"]) for r in reports.values())
    cards = [f'<div class="card"><b data-count="students">{len(reports)}</b><span>students</span></div>']
    for outcome in OUTCOMES:
        cards.append(
            f'<div class="card {outcome}"><b data-outcome="{outcome}">{outcomes[outcome]}</b><span>{OUTCOME_LABELS[outcome]}</span></div>'
        )
    with_pending = sum(1 for r in reports.values() if any(c["status"] == "pending" for c in _results(r)))
    cards.append(f'<div class="card pending"><b data-count="with-pending">{with_pending}</b><span>with pending checks</span></div>')
    return f'<section id="summary" class="cards">{"".join(cards)}</section>'


def _distribution(reports: Mapping[str, Mapping[str, Any]]) -> str:
    graded = [r for r in reports.values() if r["outcome"] != "could_not_grade"]
    percents = [_percent(float(r["score"]), float(r["max_score"])) for r in graded]
    buckets = Counter(min(int(p // 10), 10) for p in percents)  # 0-9 %, …, 90-99 %, and 100 % (bonus points may pass it)
    tallest = max(buckets.values(), default=0) or 1
    bars = []
    for bucket in range(11):
        label = "≥100%" if bucket == 10 else f"{bucket * 10}–{bucket * 10 + 9}%"
        count = buckets[bucket]
        bars.append(
            f'<div class="col" data-bucket="{bucket * 10}"><span class="n">{count}</span>'
            f'<span class="bar" style="height:{count / tallest * 100:.1f}%"></span><span class="label">{label}</span></div>'
        )
    left_out = len(reports) - len(graded)
    if percents:
        mean, median = statistics.fmean(percents), statistics.median(percents)
        stats = f"Mean {mean:.0f}%, median {median:.0f}% of the points (bonus included), over {len(graded)} graded student(s)."
    else:
        stats = "No student could be graded yet."
    if left_out:
        stats += f" {left_out} student(s) could not be graded and are left out (see errors by cause)."
    return (
        '<section id="distribution"><h2>Score distribution</h2>'
        f'<div class="histogram" role="img" aria-label="students per score band">{"".join(bars)}</div>'
        f"<p class=\"muted\">{stats}</p></section>"
    )


def _lessons(reports: Mapping[str, Mapping[str, Any]]) -> str:
    titles: dict[int, str] = {}
    states: dict[int, Counter[str]] = {}
    scores: dict[int, list[float]] = {}
    for report in reports.values():
        for lesson in report["lessons"]:
            number = lesson["lesson"]
            titles.setdefault(number, str(lesson.get("title", "")))
            state = _lesson_state(lesson["checks"])
            states.setdefault(number, Counter())[state] += 1
            scores.setdefault(number, [])
            if state != "could_not_grade":  # a check the grader could not measure is not a zero
                scores[number].append(_percent(float(lesson.get("score", 0)), float(lesson.get("max_score", 0))))
    rows = []
    for number in sorted(titles):
        counts = states[number]
        total = sum(counts.values())
        cells = "".join(f'<td class="num{"" if counts[s] else " zero"}" data-state="{s}">{counts[s]}</td>' for s in LESSON_STATES)
        rows.append(
            f'<tr data-lesson="{number}"><td>{number}</td><td>{inline(titles[number])}</td>{cells}'
            f'<td class="num" data-mean>{f"{statistics.fmean(scores[number]):.0f}%" if scores[number] else "—"}</td>'
            f'<td class="wide">{_bar(counts, LESSON_STATES, total)}</td></tr>'
        )
    heads = "".join(f'<th class="num">{LESSON_STATE_LABELS[s]}</th>' for s in LESSON_STATES)
    return (
        '<section id="lessons"><h2>Lessons</h2>'
        '<p class="muted">Complete: every required check passes. Converging: only pending checks are left. '
        "Could not grade: the grader hit an error (not the student's fault); those students are left out of the mean.</p>"
        f'<table><thead><tr><th>#</th><th>lesson</th>{heads}<th class="num">mean score</th><th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _checks(stats: list[_CheckStats]) -> str:
    # ranked by the students stuck at the step itself, so the root of a chain of skips comes first
    weak = sorted((s for s in stats if s.required and s.stuck), key=lambda s: (-s.stuck / s.graded, s.lesson, s.id))[:WEAK_SPOTS]
    callout = ""
    if weak:
        items = "".join(
            f'<li data-check="{html.escape(s.id)}"><b>{s.stuck} of {s.graded}</b> stuck at <code>{html.escape(s.id)}</code> '
            f'{inline(s.title)} <span class="muted">({s.counts["fail"]} fail, {s.counts["pending"]} pending, '
            f"{_rate(s.pass_rate)} pass)</span></li>"
            for s in weak
        )
        callout = f'<div class="callout" id="weak-spots"><h3>Where the class struggles</h3><ol>{items}</ol></div>'
    rows = []
    lesson = None
    for s in stats:
        if s.lesson != lesson:
            lesson = s.lesson
            rows.append(f'<tr class="group"><th colspan="{len(STATUSES) + 4}">Lesson {lesson}</th></tr>')
        cells = "".join(
            f'<td class="num{"" if s.counts[status] else " zero"}" data-status="{status}">{s.counts[status]}</td>' for status in STATUSES
        )
        bonus = "" if s.required else ' <span class="tag">bonus</span>'
        rows.append(
            f'<tr data-check="{html.escape(s.id)}"><td><button type="button" class="link" data-filter="{html.escape(s.id)}" '
            f'title="list the students who fail it or are pending">{html.escape(s.id)}</button></td>'
            f"<td>{inline(s.title)}{bonus}</td>{cells}"
            f'<td class="num" data-rate>{_rate(s.pass_rate)}</td>'
            f'<td class="wide">{_bar(s.counts, STATUSES, sum(s.counts.values()))}</td></tr>'
        )
    heads = "".join(f'<th class="num"><span class="dot {status}"></span>{status}</th>' for status in STATUSES)
    return (
        '<section id="checks"><h2>Checks, in lesson order</h2>'
        f"{callout}"
        '<p class="muted">Pass rate = pass / (students − error): a grader error is not counted against anyone. '
        "Skip means a prerequisite did not pass. Click a check id to list the students who fail it or are pending on it.</p>"
        f'<table><thead><tr><th>check</th><th>title</th>{heads}<th class="num">pass rate</th><th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _errors(causes: list[_Cause]) -> str:
    if not causes:
        return '<section id="errors"><h2>Errors by cause</h2><p class="muted">No grader-side error: every check was measured.</p></section>'
    rows = []
    for cause in causes:
        users = sorted(cause.users)
        examples = ", ".join(html.escape(u) for u in users[:EXAMPLE_USERS])
        if len(users) > EXAMPLE_USERS:
            examples += f" and {len(users) - EXAMPLE_USERS} more"
        message = _masked_html(next(iter(cause.shown)) if len(cause.shown) == 1 else cause.key)
        checks = ", ".join(f"<code>{html.escape(c)}</code>" for c in sorted(cause.checks, key=_id_key))
        if len(cause.checks) > FEW_CHECKS:
            checks = f"<details><summary>{len(cause.checks)} checks</summary>{checks}</details>"
        hint = f'<div class="hint"><b>hint:</b> {_masked_html(cause.hints.most_common(1)[0][0])}</div>' if cause.hints else ""
        rows.append(
            f'<tr class="cause"><td class="num" data-students>{len(users)}</td><td class="num" data-results>{cause.results}</td>'
            f'<td><div class="message">{message}</div>{hint}</td><td>{checks}</td><td class="muted">{examples}</td></tr>'
        )
    return (
        '<section id="errors"><h2>Errors by cause</h2>'
        '<p class="muted">Grader-side problems (permissions, network, the grader itself), never counted as a fail. '
        "Messages are grouped with what differs between students masked: their name (<var>&lt;user&gt;</var>), ids "
        "(<var>&lt;id&gt;</var>) and numbers (<var>&lt;N&gt;</var>). One row is one problem to fix on the grader's side.</p>"
        '<table><thead><tr><th class="num">students</th><th class="num">results</th><th>cause</th><th>checks</th><th>who</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _student_row(user: str, report: Mapping[str, Any], stats: Mapping[str, _CheckStats]) -> str:
    results = _results(report)
    counts = Counter(str(r["status"]) for r in results)
    score, max_score = float(report["score"]), float(report["max_score"])
    percent = _percent(score, max_score)
    outcome = str(report["outcome"])
    items = []
    for result in results:
        status = result["status"]
        if status not in ("fail", "pending"):
            continue  # skips follow from a failed prerequisite; errors are listed by cause above
        title = str(result.get("title") or (stats[result["id"]].title if result["id"] in stats else ""))
        hint = f'<div class="hint"><b>hint:</b> {inline(str(result["hint"]), user)}</div>' if result.get("hint") else ""
        items.append(
            f'<li class="{status}"><code>{html.escape(result["id"])}</code> <span class="tag {status}">{status}</span> '
            f'{inline(title, user)}<div class="message">{inline(str(result.get("message", "")), user)}</div>{hint}</li>'
        )
    if items:
        ids = ", ".join(html.escape(r["id"]) for r in results if r["status"] in ("fail", "pending"))
        detail = f"<details><summary>{ids}</summary><ul>{''.join(items)}</ul></details>"
    else:
        detail = '<span class="muted">—</span>'
    errors = f"{counts['error']} (see causes)" if counts["error"] else "0"
    return (
        f'<tr data-user="{html.escape(user)}" data-outcome="{html.escape(outcome)}">'
        f"<td>{html.escape(user)}</td>"
        f'<td data-sort="{OUTCOMES.index(outcome) if outcome in OUTCOMES else 9}"><span class="tag {html.escape(outcome)}">'
        f"{html.escape(OUTCOME_LABELS.get(outcome, outcome))}</span></td>"
        f'<td class="num" data-sort="{score:g}">{_fmt(score)}/{_fmt(max_score)}</td>'
        f'<td class="num" data-sort="{percent:.4f}">{percent:.0f}%</td>'
        f'<td class="num" data-sort="{counts["fail"]}">{counts["fail"]}</td>'
        f'<td class="num" data-sort="{counts["pending"]}">{counts["pending"]}</td>'
        f'<td class="num" data-sort="{counts["error"]}">{errors}</td>'
        f"<td>{detail}</td></tr>"
    )


def _students(reports: Mapping[str, Mapping[str, Any]], stats: list[_CheckStats]) -> str:
    by_id = {s.id: s for s in stats}
    rows = "".join(_student_row(user, reports[user], by_id) for user in sorted(reports))
    columns = [("user", "text"), ("outcome", "number"), ("score", "number"), ("%", "number"),
               ("fail", "number"), ("pending", "number"), ("error", "number")]
    heads = "".join(
        f'<th data-key="{name}" data-type="{kind}" aria-sort="none"><button type="button">{html.escape(name)}</button></th>'
        for name, kind in columns
    )
    options = "".join(f'<option value="{o}">{OUTCOME_LABELS[o]}</option>' for o in OUTCOMES)
    return (
        '<section id="students"><h2>Students</h2>'
        '<div class="filters"><label>Filter '
        '<input id="filter" type="search" placeholder="user, check id, message…" autocomplete="off"></label>'
        f'<label>Outcome <select id="outcome-filter"><option value="">all</option>{options}</select></label>'
        f'<span id="shown" class="muted">{len(reports)} of {len(reports)} students</span></div>'
        f'<table id="student-table" class="sortable"><thead><tr>{heads}<th>failing and pending checks, with hints</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def render_class_page(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """The page for `reports` ({user: JSON report}); the same reports always give the same bytes."""
    reports = {user: reports[user] for user in sorted(reports)}
    stats = _check_stats(reports)
    generated = max((str(r.get("generated_at", "")) for r in reports.values()), default="")
    profiles = sorted({str((r.get("target") or {}).get("profile", "")) for r in reports.values()} - {""})
    versions = sorted({str((r.get("tool") or {}).get("version", "")) for r in reports.values()} - {""})
    about = " · ".join(
        part
        for part in (
            f"{len(reports)} student(s)",
            f"profile {', '.join(profiles)}" if profiles else "",
            f"latest report {generated}" if generated else "",
            f"maas-lab {', '.join(versions)}" if versions else "",
        )
        if part
    )
    body = (
        "".join((_summary(reports), _distribution(reports), _lessons(reports), _checks(stats), _errors(_causes(reports)),
                 _students(reports, stats)))
        if reports
        else '<p class="muted">No student graded yet.</p>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>maas-lab class report</title>
<style>{_CSS}</style></head><body>
<header><h1>Class report</h1><p class="muted">{html.escape(about)}</p></header>
{body}
<script>{_SCRIPT}</script>
</body></html>
"""


_CSS = """
:root{--pass:#2e7d32;--fail:#c62828;--pending:#1565c0;--skip:#9e9e9e;--error:#7b1fa2;--line:#dde1e6;--muted:#5f6b7a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:1.5rem 2rem 4rem;max-width:1280px;
  color:#1d2733;background:#fff}
h1{margin:0 0 .2rem;font-size:1.6rem} h2{margin:2.2rem 0 .6rem;font-size:1.2rem;border-bottom:2px solid var(--line);padding-bottom:.25rem}
h3{margin:0 0 .4rem;font-size:1rem}
.muted{color:var(--muted)}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f5;padding:0 .25em;border-radius:3px}
var{font-style:normal;font-family:ui-monospace,monospace;background:#fff3cd;padding:0 .2em;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{background:#f6f8fa;font-weight:600;white-space:nowrap}
#student-table thead th{position:sticky;top:0;z-index:1}
tr.group th{background:#eef1f4;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.wide{width:22%;min-width:140px} .wide .stack{margin-top:.3rem} td.zero{color:#b0b8c1}
.cards{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1rem}
.card{border:1px solid var(--line);border-left:5px solid #607d8b;border-radius:6px;padding:.5rem .9rem;min-width:120px}
.card b{display:block;font-size:1.6rem} .card span{color:var(--muted)}
.card.pass{border-left-color:var(--pass)} .card.fail{border-left-color:var(--fail)}
.card.could_not_grade{border-left-color:var(--error)} .card.pending{border-left-color:var(--pending)}
.histogram{display:flex;align-items:flex-end;gap:6px;height:180px;padding:0 0 1.6rem;border-bottom:1px solid var(--line);max-width:760px}
.histogram .col{flex:1;display:flex;flex-direction:column;justify-content:flex-end;align-items:stretch;height:100%;position:relative}
.histogram .bar{background:#4f7cac;border-radius:3px 3px 0 0;min-height:1px}
.histogram .n{text-align:center;font-size:12px;color:var(--muted)}
.histogram .label{position:absolute;bottom:-1.45rem;left:0;right:0;text-align:center;font-size:11px;color:var(--muted)}
.stack{display:flex;height:12px;border-radius:3px;overflow:hidden;background:#eceff1}
.stack span{display:block;height:100%}
:is(.stack,.dot,.tag):is(.pass,.complete),.stack :is(.pass,.complete){background:var(--pass)}
:is(.dot,.tag):is(.fail,.incomplete),.stack :is(.fail,.incomplete){background:var(--fail)}
:is(.dot,.tag):is(.pending,.converging),.stack :is(.pending,.converging){background:var(--pending)}
:is(.dot,.tag).skip,.stack .skip{background:var(--skip)}
:is(.dot,.tag):is(.error,.could_not_grade),.stack :is(.error,.could_not_grade){background:var(--error)}
.dot{display:inline-block;width:.7em;height:.7em;border-radius:50%;margin-right:.3em;vertical-align:baseline}
.tag{display:inline-block;border-radius:10px;padding:0 .5em;font-size:12px;color:#fff;background:#607d8b;white-space:nowrap}
.callout{border:1px solid #f3c4c4;background:#fff6f6;border-radius:6px;padding:.6rem 1rem;margin:.6rem 0 1rem}
.callout ol{margin:.2rem 0;padding-left:1.3rem}
.message{color:#33404d} .hint{color:var(--muted);font-size:13px}
tr.cause .message{font-weight:600} tr.cause code{white-space:nowrap}
details summary{cursor:pointer;color:#33404d} details ul{margin:.3rem 0;padding-left:1.1rem} details li{margin:.25rem 0}
.filters{display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap;margin:.4rem 0}
input[type=search]{width:22rem;padding:.3rem .5rem;border:1px solid #b8c0c8;border-radius:4px;font:inherit}
select{padding:.25rem;font:inherit}
th button{all:unset;cursor:pointer} th button::after{content:" ↕";color:#9aa5b1}
th[aria-sort=ascending] button::after{content:" ▲";color:#1d2733} th[aria-sort=descending] button::after{content:" ▼";color:#1d2733}
button.link{all:unset;cursor:pointer;font:12.5px ui-monospace,monospace;color:#0b5cad;text-decoration:underline dotted;white-space:nowrap}
"""

# Sorting by any column of the students table (by its data-sort value when it has one), the filter box and the
# outcome menu; a check id in the checks table fills the filter. No data travels through innerHTML.
_SCRIPT = """
(function () {
  var table = document.getElementById('student-table');
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var filter = document.getElementById('filter');
  var outcome = document.getElementById('outcome-filter');
  var shown = document.getElementById('shown');
  function value(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
    return numeric ? parseFloat(raw) : raw.trim().toLowerCase();
  }
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (head, index) {
    var button = head.querySelector('button');
    if (!button) { return; }
    button.addEventListener('click', function () {
      var ascending = head.getAttribute('aria-sort') !== 'ascending';
      var numeric = head.getAttribute('data-type') === 'number';
      var sorted = rows.slice().sort(function (a, b) {
        var x = value(a, index, numeric), y = value(b, index, numeric);
        var order = x < y ? -1 : x > y ? 1 : 0;
        if (order === 0) { order = value(a, 0, false) < value(b, 0, false) ? -1 : 1; }
        return ascending ? order : -order;
      });
      Array.prototype.forEach.call(heads, function (other) {
        if (other.hasAttribute('aria-sort')) { other.setAttribute('aria-sort', 'none'); }
      });
      head.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      sorted.forEach(function (row) { body.appendChild(row); });
    });
  });
  function apply() {
    var words = filter.value.trim().toLowerCase().split(/\\s+/).filter(Boolean);
    var wanted = outcome.value;
    var count = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var visible = (!wanted || row.getAttribute('data-outcome') === wanted) &&
        words.every(function (word) { return text.indexOf(word) !== -1; });
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count + ' of ' + rows.length + ' students';
  }
  filter.addEventListener('input', apply);
  outcome.addEventListener('change', apply);
  Array.prototype.forEach.call(document.querySelectorAll('button[data-filter]'), function (button) {
    button.addEventListener('click', function () {
      filter.value = button.getAttribute('data-filter');
      outcome.value = '';
      apply();
      document.getElementById('students').scrollIntoView();
    });
  });
})();
"""
