"""axe-core, vendored from the npm package (tests/browser/vendor/axe-core/), run inside Chromium.

The rules run are those of WCAG 2.0, 2.1 and 2.2 at levels A and AA (JIS X 8341-3:2016 is WCAG 2.0;
the later versions only add criteria) plus Deque's best practices. Every violation is kept with its
impact; a test fails on ``serious`` and ``critical`` ones and the others go into the result table of
the accessibility statement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parent / "vendor" / "axe-core"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
FAILING_IMPACTS = ("serious", "critical")
IMPACTS = ("critical", "serious", "moderate", "minor")


@cache
def source() -> str:
    return (VENDOR / "axe.min.js").read_text(encoding="utf-8")


@cache
def version() -> str:
    return str(json.loads((VENDOR / "VERSION.json").read_text(encoding="utf-8"))["version"])


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]  # the CSS selectors of the offending nodes

    def describe(self, where: str) -> str:
        shown = ", ".join(self.targets[:5]) + (f" (+{len(self.targets) - 5} more)" if len(self.targets) > 5 else "")
        return f"{where}: [{self.impact}] {self.rule} — {self.help} — {shown}"


RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"], iframes: false})
  .then(r => done(r.violations.map(v => ({
    rule: v.id, impact: v.impact || "minor", help: v.help,
    targets: v.nodes.map(n => n.target.map(t => Array.isArray(t) ? t.join(" >>> ") : t).join(" "))}))))
  .catch(e => done({error: String(e)}));
"""


def run(driver: Any) -> list[Violation]:
    """Inject axe into the page now shown (when it is not there yet) and return its violations."""
    if not driver.execute_script("return typeof window.axe === 'object';"):
        driver.execute_script(source())
    driver.set_script_timeout(60)
    found = driver.execute_async_script(RUN, list(TAGS))
    error = found.get("error") if isinstance(found, dict) else None  # axe.run threw inside the page
    assert error is None, f"axe failed on {driver.current_url}: {error}"
    return [Violation(v["rule"], v["impact"], v["help"], tuple(v["targets"])) for v in found]


def failing(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.impact in FAILING_IMPACTS]
