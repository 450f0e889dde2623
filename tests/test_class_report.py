"""The class page in a real headless Chromium (Debian's `chromium`, driven by Playwright).

The page is opened from disk as an instructor would open it; every request the browser makes is recorded, and
anything but the page itself fails the test. The figures on the page are compared with gradebook.json, computed
here independently of the renderer.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maas_lab.gradebook import merge, write_aggregates
from maas_lab.report.json_ import report_to_dict
from tests.cohort import API_DOWN, HOSTILE, as_dicts, cohort
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import reference_world
from tests.lab import Lab
from tests.test_gradebook import shards_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Quiet, offline, no GPU: the browser is not to phone home while the test counts its requests.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
COHORT = 60

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gradebook of a merged, sharded run of a class of 60: what an instructor opens after `gradebook merge`."""
    root = tmp_path_factory.mktemp("class")
    merge(shards_of(as_dicts(cohort(COHORT)), 3, root), root / "grades")
    return root / "grades"


class Visit:
    """One page load with every request, console message and dialog recorded."""

    def __init__(self, browser: Any, page_file: Path) -> None:
        self.url = page_file.as_uri()
        self.context = browser.new_context(viewport={"width": 1300, "height": 900})
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type in ("error", "warning") and self.problems.append(message.text))
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on("dialog", lambda dialog: (self.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        self.page.goto(self.url, wait_until="load")

    def _route(self, route: Any) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    def texts(self, selector: str) -> list[str]:
        return [text.strip() for text in self.page.locator(selector).all_inner_texts()]

    def visible_users(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "#student-table tbody tr", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.user)"
        )


@pytest.fixture
def visit(browser: Any, gradebook: Path) -> Iterator[Visit]:
    opened = Visit(browser, gradebook / "report.html")
    yield opened
    opened.context.close()


def reports_of(gradebook: Path) -> dict[str, dict[str, Any]]:
    reports: dict[str, dict[str, Any]] = json.loads((gradebook / "gradebook.json").read_text("utf-8"))["reports"]
    return reports


def results(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for lesson in report["lessons"] for r in lesson["checks"]]


def test_the_page_loads_offline_without_a_console_error(visit: Visit, gradebook: Path, tmp_path: Path) -> None:
    assert visit.requests == [visit.url]  # the page itself, nothing else: no CDN, no font, no image
    assert visit.problems == []
    assert visit.page.title() == "maas-lab class report"
    text = visit.page.inner_text("body")
    assert "{user}" not in text and "`" not in text
    screenshot = tmp_path / "class-report.png"
    visit.page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nclass report screenshot: {screenshot}")
    assert screenshot.stat().st_size > 10_000


def test_the_figures_equal_gradebook_json(visit: Visit, gradebook: Path) -> None:
    reports = reports_of(gradebook)
    outcomes = Counter(r["outcome"] for r in reports.values())
    assert visit.page.inner_text('[data-count="students"]') == str(len(reports)) == str(COHORT)
    for outcome in ("pass", "fail", "could_not_grade"):
        assert visit.page.inner_text(f'[data-outcome="{outcome}"]') == str(outcomes[outcome])
    assert min(outcomes.values()) >= 2  # the class really is mixed

    # every check, in lesson order, with its count of each status and its pass rate over the measured students
    ids = [r["id"] for r in results(next(iter(reports.values())))]
    assert visit.page.eval_on_selector_all("#checks tr[data-check]", "rows => rows.map(r => r.dataset.check)") == ids
    for check_id in ids:
        statuses = Counter(next(r["status"] for r in results(report) if r["id"] == check_id) for report in reports.values())
        row = f'#checks tr[data-check="{check_id}"]'
        for status in ("pass", "fail", "pending", "skip", "error"):
            assert visit.page.inner_text(f'{row} td[data-status="{status}"]') == str(statuses[status]), (check_id, status)
        measured = sum(statuses.values()) - statuses["error"]
        assert visit.page.inner_text(f"{row} td[data-rate]") == f"{statuses['pass'] / measured * 100:.0f}%"

    # the score distribution: graded students by tenth of their score
    graded = [r for r in reports.values() if r["outcome"] != "could_not_grade"]
    bands = Counter(min(int(100 * r["score"] / r["max_score"] // 10), 10) for r in graded)
    for band in range(11):
        assert visit.page.inner_text(f'#distribution [data-bucket="{band * 10}"] .n') == str(bands[band])

    # per lesson: complete means every required check passed
    for number in range(1, 6):
        complete = sum(
            all(c["status"] == "pass" for c in lesson["checks"] if c["required"])
            for report in reports.values()
            for lesson in report["lessons"]
            if lesson["lesson"] == number
        )
        assert visit.page.inner_text(f'#lessons tr[data-lesson="{number}"] td[data-state="complete"]') == str(complete)
        measured = [
            100 * lesson["score"] / lesson["max_score"]
            for report in reports.values()
            for lesson in report["lessons"]
            if lesson["lesson"] == number and not any(c["status"] == "error" for c in lesson["checks"] if c["required"])
        ]
        assert visit.page.inner_text(f'#lessons tr[data-lesson="{number}"] td[data-mean]') == f"{sum(measured) / len(measured):.0f}%"

    # one row a student, with the score of their report
    for user, report in reports.items():
        row = f'#student-table tr[data-user="{user}"]'
        assert visit.page.inner_text(f"{row} td:nth-child(3)") == f"{report['score']:g}/{report['max_score']:g}"


def test_errors_are_grouped_by_cause(visit: Visit, gradebook: Path) -> None:
    reports = reports_of(gradebook)
    causes = visit.page.locator("#errors tr.cause")
    # three causes: LiteMaaS unreachable from the grader (6 students), the API server (2), one crashed check
    assert causes.count() == 3
    first = causes.nth(0)
    unreachable = {u for u, r in reports.items() if any(c["message"] == f"could not connect to litemaas-{u}-maas.apps.cluster-x7k2p.example.com"
                                                         for c in results(r))}
    assert len(unreachable) == 6
    assert first.locator("td[data-students]").inner_text() == "6"
    assert first.locator(".message").inner_text() == "could not connect to litemaas-<user>-maas.apps.cluster-x7k2p.example.com"
    assert first.locator("td[data-results]").inner_text() == str(
        sum(1 for u in unreachable for c in results(reports[u]) if c["status"] == "error")
    )
    api = causes.nth(1)
    assert api.locator("td[data-students]").inner_text() == "2"
    assert api.locator(".message").inner_text() == API_DOWN  # the same words for everyone: nothing to mask
    assert "internal error in 4.keys-used" in causes.nth(2).inner_text()


def test_the_student_table_sorts(visit: Visit, gradebook: Path) -> None:
    reports = reports_of(gradebook)
    by_score = sorted(reports, key=lambda u: (reports[u]["score"], u))
    visit.page.click('#student-table th[data-key="score"] button')
    assert visit.visible_users() == by_score
    assert visit.page.get_attribute('#student-table th[data-key="score"]', "aria-sort") == "ascending"
    visit.page.click('#student-table th[data-key="score"] button')
    assert visit.visible_users() == sorted(reports, key=lambda u: (-reports[u]["score"], [-ord(ch) for ch in u]))
    visit.page.click('#student-table th[data-key="user"] button')
    assert visit.visible_users() == sorted(reports)
    assert visit.page.get_attribute('#student-table th[data-key="score"]', "aria-sort") == "none"
    visit.page.click('#student-table th[data-key="error"] button')
    errors = [sum(c["status"] == "error" for c in results(reports[u])) for u in visit.visible_users()]
    assert errors == sorted(errors) and errors[-1] > 0


def test_the_student_table_filters(visit: Visit, gradebook: Path) -> None:
    reports = reports_of(gradebook)
    visit.page.select_option("#outcome-filter", "could_not_grade")
    expected = [u for u in sorted(reports) if reports[u]["outcome"] == "could_not_grade"]
    assert visit.visible_users() == expected
    assert visit.page.inner_text("#shown") == f"{len(expected)} of {COHORT} students"
    visit.page.select_option("#outcome-filter", "")
    # a check id in the checks table lists who is stuck at it
    visit.page.click('#checks button[data-filter="2.routes"]')
    stuck = [u for u in sorted(reports) if any(c["id"] == "2.routes" and c["status"] in ("fail", "pending") for c in results(reports[u]))]
    assert stuck and visit.visible_users() == stuck
    assert visit.page.input_value("#filter") == "2.routes"
    visit.page.fill("#filter", "student00")
    assert visit.visible_users() == [f"student00{i}" for i in range(1, 10)]
    visit.page.fill("#filter", "")
    assert len(visit.visible_users()) == COHORT


def test_a_students_failing_checks_and_hints_read_as_text(visit: Visit, gradebook: Path) -> None:
    reports = reports_of(gradebook)
    hostile = next(u for u, r in reports.items() if any(c["message"] == HOSTILE for c in results(r)))
    row = visit.page.locator(f'#student-table tr[data-user="{hostile}"]')
    row.locator("summary").click()
    item = row.locator("li.fail")
    assert item.locator("code").first.inner_text() == "3.models-created"
    assert "model <script>alert(1)</script>\"><img src=x onerror=alert(2)> is not available" in item.inner_text()
    assert item.locator(".message code").inner_text() == "available"  # backticks became code
    assert "hint:" in item.inner_text()
    assert visit.problems == []  # no dialog opened, no image tried to load
    assert visit.requests == [visit.url]
    canopy = next(u for u, r in reports.items() if any(c["id"] == "1.canopy-running" and c["status"] == "fail" for c in results(r)))
    row = visit.page.locator(f'#student-table tr[data-user="{canopy}"]')
    row.locator("summary").click()
    assert f"Canopy from the earlier modules runs in {canopy}-canopy." in row.inner_text()


def test_a_page_of_really_graded_students(browser: Any, lab: Lab, tmp_path: Path) -> None:
    """Reports the grader made against the fakes, real messages and hints included, render as cleanly."""
    complete = report_to_dict(lab.grade())
    world = reference_world()
    OMISSIONS["2.backend-ready"](world)
    lab.load(world)
    broken = report_to_dict(lab.grade())
    write_aggregates(tmp_path, {"user1": complete, "user2": broken})
    visit = Visit(browser, tmp_path / "report.html")
    try:
        assert visit.requests == [visit.url] and visit.problems == []
        assert visit.page.inner_text('[data-outcome="pass"]') == "1" and visit.page.inner_text('[data-outcome="fail"]') == "1"
        row = visit.page.locator('#student-table tr[data-user="user2"]')
        row.locator("summary").click()
        backend = next(c for c in results(broken) if c["id"] == "2.backend-ready")
        assert backend["message"] in row.inner_text()
        assert "`" not in visit.page.inner_text("body") and "{user}" not in visit.page.inner_text("body")
    finally:
        visit.context.close()
