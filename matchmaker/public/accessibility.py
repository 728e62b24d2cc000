"""The result table of the accessibility statement (ウェブアクセシビリティ方針), read from the file that
the browser test writes (tests/browser/test_accessibility.py; ``make accessibility`` refreshes the
committed copy, data/accessibility/axe-results.json). The page states only what that run checked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

FAILING = ("critical", "serious")
IMPACTS = ("critical", "serious", "moderate", "minor")


@dataclass
class PageResult:
    """One kind of page (one endpoint): every role, language and width it was checked in."""

    endpoint: str
    rule: str
    titles: dict[str, str] = field(default_factory=dict)  # language → the page's title as tested
    roles: list[str] = field(default_factory=list)
    checks: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(IMPACTS, 0))
    rules: set[str] = field(default_factory=set)

    @property
    def passed(self) -> bool:
        return not any(self.counts[impact] for impact in FAILING)

    def title(self, locale: str) -> str:
        return self.titles.get(locale) or next(iter(self.titles.values()), self.endpoint)


@dataclass
class Results:
    tool: str
    version: str
    tags: list[str]
    browser: str
    tested_at: datetime
    roles: list[str]
    languages: list[str]
    widths: dict[str, int]
    max_pages_per_role: int
    pages: list[PageResult]

    @property
    def checks(self) -> int:
        return sum(page.checks for page in self.pages)

    @property
    def failing(self) -> int:
        return sum(page.counts[impact] for page in self.pages for impact in FAILING)

    def total(self, impact: str) -> int:
        return sum(page.counts[impact] for page in self.pages)


def load(path: Path) -> Results | None:
    """The results in ``path`` summed per kind of page; None when no run has written the file."""
    if not path.exists():
        return None
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    pages: dict[str, PageResult] = {}
    for check in raw["checks"]:
        page = pages.setdefault(check["endpoint"], PageResult(check["endpoint"], check["rule"]))
        page.titles.setdefault(check["language"], check["title"])
        if check["role"] not in page.roles:
            page.roles.append(check["role"])
        page.checks += 1
        for violation in check["violations"]:
            page.counts[violation["impact"]] = page.counts.get(violation["impact"], 0) + 1
            page.rules.add(violation["rule"])
    return Results(
        tool=raw["tool"]["name"], version=raw["tool"]["version"], tags=list(raw["tool"]["tags"]),
        browser=raw["browser"], tested_at=datetime.fromisoformat(raw["tested_at"]),
        roles=list(raw["roles"]), languages=list(raw["languages"]), widths=dict(raw["widths"]),
        max_pages_per_role=int(raw.get("max_pages_per_role", 0)),
        pages=sorted(pages.values(), key=lambda p: p.rule),
    )
