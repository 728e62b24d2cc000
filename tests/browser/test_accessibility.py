"""Accessibility, proven (JIS X 8341-3:2016 / WCAG 2.x AA): axe-core in every main page of every role.

The roles are the public (not logged in) and the four demo accounts. Each role's main pages are the
kinds of page (one per endpoint) that its links reach from its home page, breadth first, plus the
pages a person types or is sent to (login, registration, an unknown address). Every page is checked
in Japanese and in English, at desktop width and at the 375 px of a small phone, in one browser.
The run fails on any serious or critical violation, naming the rule, the page and the nodes; the
whole result goes to tests/artifacts/axe-results.json and, when MATCHMAKER_AXE_RESULTS names a
file (``make accessibility``), into the file the accessibility statement shows
(data/accessibility/axe-results.json).
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from matchmaker.demo.accounts import DEMO_ACCOUNTS
from matchmaker.demo.loader import load
from matchmaker.i18n import JST
from models import Match, db
from tests.browser import axe
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

LANGUAGES = ("ja", "en")
WIDTHS = {"desktop": 1280, "mobile": 375}
ROLES = ("anonymous", "municipal", "company", "coordinator", "admin")
MAX_PAGES_PER_ROLE = 80
# Links that change state, download a file, leave the HTML pages or only redirect.
SKIP_ENDPOINTS = {"auth.logout", "records.record_pdf", "records.selection_docx", "records.selection_xlsx",
                  "coordinator.export", "matches.attachment",
                  "public.set_language", "matches.open_notification", "admin.personal_data_export",
                  "matches.for_challenge_json", "matches.for_solution_json", "static"}
# The API answers JSON and CSV, never a page; /api/docs shows the third-party Swagger UI, which
# fails axe (contrast, nested controls, target size) and is out of the statement's scope.
SKIP_PATHS = ("/api/v1/", "/api/docs")
# Pages a person reaches without a link of the role's pages: typed, bookmarked or sent by mail.
EXTRA_PAGES = {"anonymous": ["/auth/login", "/auth/register", "/no-such-page"]}
# The pages each role must have reached, so that a broken link cannot shrink the run unnoticed.
REQUIRED = {
    "anonymous": {"public.index", "public.challenges", "public.challenge", "matches.cases", "matches.case",
                  "auth.login", "auth.register", "public.accessibility"},
    "municipal": {"municipality.dashboard", "municipality.new_challenge", "matches.mine", "matches.match",
                  "matches.challenge_proposals", "matches.notifications", "auth.settings",
                  "municipality.evaluation_sheet", "records.inquiry", "auth.handover_page"},
    "company": {"company.dashboard", "company.solution", "matches.for_solution", "matches.mine", "matches.match",
                "matches.proposal", "records.inquiry"},
    "coordinator": {"coordinator.dashboard", "coordinator.board", "records.inquiry", "auth.handover_page",
                    "admin.exposure"},
    "admin": {"admin.dashboard", "admin.users", "admin.organisations", "admin.audit"},
}
# Not an axe rule (axe does not test reflow): this test's own check of WCAG 2.1 1.4.10, at both widths.
REFLOW_RULE = "reflow"
REFLOW_HELP = "Content must fit the width of the screen without scrolling sideways, except inside a scrolling box (WCAG 1.4.10)"
CHROME_ARGS_NOTE = "headless Chromium (Debian) with --no-sandbox --disable-background-networking"


@dataclass(frozen=True)
class Check:
    endpoint: str
    rule: str  # the URL rule, e.g. /challenges/<int:challenge_id>
    path: str
    role: str
    language: str
    width: str
    title: str
    violations: list[dict[str, Any]]


def _endpoint(site: Any, path: str) -> tuple[str, str] | None:
    """The kind of page at ``path`` and its URL rule (None for an address no view answers).

    A kind is an endpoint, except that a match page counts once per stage and a record once per
    kind of record: what they show differs that much."""
    adapter = site.app.url_map.bind("localhost")
    try:
        rule, args = adapter.match(urlsplit(path).path, method="GET", return_rule=True)
    except HTTPException:
        return None
    kind = str(rule.endpoint)
    if kind == "records.record":
        kind += f" ({args['kind']})"
    elif kind == "matches.match":
        with site.app.app_context():
            match = db.session.get(Match, args["match_id"])
            kind += f" ({match.stage if match else '?'})"
    return kind, str(rule.rule)


def _open(ui: Any, path: str) -> None:
    ui.driver.get(ui.site.url + path)
    ui.find("footer.site-footer, body.record")


def _skipped(key: str, path: str) -> bool:
    return key.split(" ")[0] in SKIP_ENDPOINTS or urlsplit(path).path.startswith(SKIP_PATHS)


def _discover(ui: Any, role: str, home: str) -> dict[str, tuple[str, str]]:
    """One path per endpoint reachable from ``home``: {endpoint: (rule, path)}."""
    site_host = urlsplit(ui.site.url).netloc
    pages: dict[str, tuple[str, str]] = {}
    queue = deque([home, *EXTRA_PAGES.get(role, [])])
    while queue and len(pages) < MAX_PAGES_PER_ROLE:
        path = queue.popleft()
        matched = _endpoint(ui.site, path)
        key, rule = matched if matched else ("(not found)", urlsplit(path).path)
        if key in pages or _skipped(key, path):
            continue
        _open(ui, path)
        pages[key] = (rule, path)
        for link in ui.driver.find_elements("css selector", "a[href]"):
            parts = urlsplit(link.get_attribute("href") or "")
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            found = _endpoint(ui.site, target)
            if parts.netloc == site_host and found and found[0] not in pages \
                    and not _skipped(found[0], target):
                queue.append(target)
    return pages


def _set_width(driver: Any, width: str) -> None:
    """Lay the page out at ``width`` as a desktop window or, narrow, as a phone (the viewport meta applies)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": WIDTHS[width], "height": 1000 if width == "desktop" else 812, "deviceScaleFactor": 1,
        "mobile": width != "desktop"})
    # Let the page's resize handlers run (scroll-tables.js) before anything is measured.
    driver.execute_async_script("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));")
    assert driver.execute_script("return matchMedia(arguments[0]).matches;", f"(width: {WIDTHS[width]}px)"), \
        f"the page is {driver.execute_script('return innerWidth;')}px wide, not {WIDTHS[width]}px"


OVERFLOW = """
const limit = arguments[0] + 1;
const scrolls = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
  const s = getComputedStyle(p).overflowX; if (s === "auto" || s === "scroll" || s === "hidden") return true; }
  return false; };
const name = el => el.id ? "#" + el.id : el.tagName.toLowerCase() + [...el.classList].map(c => "." + c).join("");
const out = [];
for (const el of document.body.querySelectorAll("*")) {
  const parent = el.parentElement;
  if (el.getBoundingClientRect().right > limit && parent.getBoundingClientRect().right <= limit && !scrolls(el))
    out.push(`${name(parent)} > ${name(el)}`);
}
return out.slice(0, 10);
"""


def _overflow(driver: Any, width: str) -> list[str]:
    """Elements that stick out of the viewport sideways (WCAG 1.4.10 Reflow), outside a scrolling box:
    each as "parent > element", the outermost one that does."""
    return list(driver.execute_script(OVERFLOW, WIDTHS[width]))


def _check_page(ui: Any, role: str, language: str, endpoint: str, rule: str, path: str) -> list[Check]:
    _open(ui, path)
    return _measure(ui, role, language, endpoint, rule, path)


def _measure(ui: Any, role: str, language: str, endpoint: str, rule: str, path: str) -> list[Check]:
    """axe and the reflow check on the page now shown, at each width."""
    title = str(ui.driver.title).split(" | ")[0]
    lang = ui.driver.execute_script("return document.documentElement.lang;")
    assert lang == language, f"{path} for {role} says lang={lang!r}, not {language!r}"
    checks = []
    for width in WIDTHS:
        _set_width(ui.driver, width)
        found = axe.run(ui.driver)
        wide = _overflow(ui.driver, width)
        if wide:
            found.append(axe.Violation(REFLOW_RULE, "serious", REFLOW_HELP, tuple(wide)))
        checks.append(Check(endpoint, rule, path, role, language, width, title,
                            [{"rule": v.rule, "impact": v.impact, "help": v.help, "targets": list(v.targets)}
                             for v in found]))
    _set_width(ui.driver, "desktop")
    return checks


def _switch_language(ui: Any, code: str) -> None:
    _open(ui, "/")
    ui.switch_language(code)


def _browser_version(driver: Any) -> str:
    return str(driver.capabilities.get("browserVersion", "?"))


def _write_results(checks: list[Check], pages: dict[str, dict[str, tuple[str, str]]], browser: Any) -> dict[str, Any]:
    results = {
        "tool": {"name": "axe-core", "version": axe.version(), "tags": list(axe.TAGS),
                 "failing_impacts": list(axe.FAILING_IMPACTS)},
        "browser": f"Chromium {_browser_version(browser)} ({CHROME_ARGS_NOTE})",
        "tested_at": datetime.now(JST).isoformat(timespec="minutes"),
        "data": "demo data (flask demo load)",
        "roles": list(ROLES), "languages": list(LANGUAGES), "widths": WIDTHS, "max_pages_per_role": MAX_PAGES_PER_ROLE,
        "pages": {role: sorted(found) for role, found in pages.items()},
        "checks": [asdict(c) for c in checks],
    }
    text = json.dumps(results, ensure_ascii=False, indent=1) + "\n"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-results.json").write_text(text, encoding="utf-8")
    if os.environ.get("MATCHMAKER_AXE_RESULTS"):
        Path(os.environ["MATCHMAKER_AXE_RESULTS"]).write_text(text, encoding="utf-8")
    return results


def _login(ui: Any, role: str) -> str:
    spec = next(s for s in DEMO_ACCOUNTS if s["role"] == role)
    ui.login(spec["email"], spec["password"])
    return str(ui.path())


def test_axe_reports_an_injected_violation_with_rule_page_and_node(ui, live_site):
    """The canary: axe sees what it should on one of our pages, a failure names where, and the run's
    own verdict (the function the crawl ends with) fails on an injected violation and on reflow."""
    ui.go("/")
    assert axe.failing(axe.run(ui.driver)) == [], "the canary needs a page without violations"
    ui.driver.execute_script(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<button id=\"canary-button\"></button><p id=\"canary-text\">薄い文字の説明文です</p>');"
        "document.getElementById('canary-text').style.color = '#bbb';")
    found = {v.rule: v for v in axe.failing(axe.run(ui.driver))}
    assert found["button-name"].impact == "critical"
    assert found["button-name"].targets == ("#canary-button",)
    assert "color-contrast" in found and found["color-contrast"].targets == ("#canary-text",)
    assert found["button-name"].describe("/ (anonymous, ja, desktop)").startswith(
        "/ (anonymous, ja, desktop): [critical] button-name — ")
    # The run's own verdict, on the same page measured as every page is: passes before, fails after.
    ui.go("/")
    assert_no_failing_violation(_measure(ui, "anonymous", "ja", "public.index", "/", "/"))
    ui.driver.execute_script(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<button id=\"canary-button\"></button>');"
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<p id=\"canary-wide\">横に広い</p>');"
        "document.getElementById('canary-wide').style.minWidth = '900px';")  # CSSOM: the CSP refuses style=""
    with pytest.raises(AssertionError) as failed:
        assert_no_failing_violation(_measure(ui, "anonymous", "ja", "public.index", "/", "/"))
    report = str(failed.value)
    assert "/ (anonymous, ja, desktop): [critical] button-name" in report
    assert "/ (anonymous, ja, mobile): [serious] reflow" in report and "#canary-wide" in report


def test_every_main_page_of_every_role_passes_axe(ui, live_site, browser):
    live_site.app.config["DEMO_MODE"] = True  # the landing page then lists the demo accounts too
    with live_site.app.app_context():
        load()
        db.session.commit()
    checks: list[Check] = []
    pages: dict[str, dict[str, tuple[str, str]]] = {}
    for role in ROLES:
        home = "/" if role == "anonymous" else _login(ui, role)
        pages[role] = _discover(ui, role, home)
        for language in LANGUAGES:
            if language != "ja":
                _switch_language(ui, language)
            for endpoint, (rule, path) in pages[role].items():
                checks.extend(_check_page(ui, role, language, endpoint, rule, path))
        _switch_language(ui, "ja")
        if role != "anonymous":
            ui.logout()
    _write_results(checks, pages, browser)

    reached = {role: {key.split(" ")[0] for key in found} for role, found in pages.items()}
    missing = {role: sorted(REQUIRED[role] - reached[role]) for role in ROLES if REQUIRED[role] - reached[role]}
    assert missing == {}, f"pages no longer reached: {missing}"
    assert_no_failing_violation(checks)


def assert_no_failing_violation(checks: list[Check]) -> None:
    """The verdict of the run: any serious or critical violation (or a reflow failure) fails it."""
    problems = []
    for check in checks:
        where = f"{check.path} ({check.role}, {check.language}, {check.width})"
        problems += [axe.Violation(v["rule"], v["impact"], v["help"], tuple(v["targets"])).describe(where)
                     for v in check.violations if v["impact"] in axe.FAILING_IMPACTS]
    assert problems == [], f"{len(problems)} serious or critical violations:\n" + "\n".join(problems)
