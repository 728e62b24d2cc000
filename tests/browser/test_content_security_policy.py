"""The strict Content-Security-Policy breaks nothing: every demo role walks its pages in Chromium
(the links reachable from its home page, breadth first) and the browser reports no policy
violation and no console error. A canary proves the collector sees a violation when there is one."""

from __future__ import annotations

from collections import deque
from typing import Any
from urllib.parse import urlsplit

import pytest

from matchmaker.demo.accounts import DEMO_ACCOUNTS
from matchmaker.demo.loader import load
from models import db

pytestmark = pytest.mark.browser

PAGES_PER_ROLE = 12
# Links that change state, download a file or leave the HTML pages.
SKIP = ("/auth/logout", ".pdf", "/export", "/attachments/", "/language")

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _violations(driver: Any) -> list[str]:
    return list(driver.execute_script("return window.__cspViolations || [];"))


def _walk(ui: Any, start: str) -> dict[str, list[str]]:
    """Visit up to PAGES_PER_ROLE same-site pages from ``start``; the violations seen on each."""
    seen: dict[str, list[str]] = {}
    queue = deque([start])
    while queue and len(seen) < PAGES_PER_ROLE:
        path = queue.popleft()
        if path in seen:
            continue
        ui.driver.get(ui.site.url + path)
        ui.find("footer.site-footer, body.record")
        seen[path] = _violations(ui.driver)
        for link in ui.driver.find_elements("css selector", "a[href]"):
            parts = urlsplit(link.get_attribute("href") or "")
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc == urlsplit(ui.site.url).netloc and not any(s in target for s in SKIP) \
                    and target not in seen:
                queue.append(target)
    return seen


def test_main_pages_of_every_role_run_without_policy_violations(ui, live_site, browser):
    with live_site.app.app_context():
        load()
        db.session.commit()
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COLLECT_VIOLATIONS})

    # The canary: an inline style injected into a page is reported.
    ui.go("/")
    browser.execute_script("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>');")
    ui.wait().until(lambda d: _violations(d), "the collector saw no violation from an inline style")
    canary_messages = len(ui.console_errors())

    visited: dict[str, list[str]] = dict(_walk(ui, "/"))
    for spec in DEMO_ACCOUNTS:
        ui.login(spec["email"], spec["password"])
        home = ui.path()
        for path, found in _walk(ui, home).items():
            visited[f"{spec['role']} {path}"] = found
        ui.go(home)
        ui.shot(f"home-{spec['role']}")
        ui.logout()

    problems = {page: found for page, found in visited.items() if found}
    assert len(visited) >= 4 * PAGES_PER_ROLE // 2, sorted(visited)
    assert problems == {}, problems
    assert ui.console_errors()[canary_messages:] == []
