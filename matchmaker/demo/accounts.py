"""The demo accounts: one per role, shown on the landing page in demo mode (MATCHMAKER_DEMO=1).

The passwords are public: they exist only in a database that `flask demo load` filled. They are
passphrases that the password policy (matchmaker/services/passwords.py) accepts, like any other. The municipal account belongs to the first municipality of
organisations.jsonl with at least two demo challenges, the company account to the first company
with at least two demo solution profiles, so both see their own work at once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEMO_DIR = Path(__file__).resolve().parent
EMAIL_DOMAIN = "demo.matchmaker.jp"
MIN_OWN_ITEMS = 2


def _jsonl(name: str) -> Iterator[dict[str, Any]]:
    path = DEMO_DIR / name
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def first_organisation_with(kind: str, items_file: str, at_least: int = MIN_OWN_ITEMS) -> str | None:
    """The first organisation of ``kind`` in organisations.jsonl owning ``at_least`` rows of ``items_file``."""
    owned = Counter(row.get("organisation") for row in _jsonl(items_file))
    for organisation in _jsonl("organisations.jsonl"):
        if organisation.get("kind") == kind and owned[organisation.get("name")] >= at_least:
            return str(organisation["name"])
    return None


def first_department_of(organisation: str | None) -> str | None:
    """The contact department of the organisation's first demo challenge (the demo user works there)."""
    for row in _jsonl("challenges.jsonl"):
        if row.get("organisation") == organisation and row.get("contact_department"):
            return str(row["contact_department"])
    return None


DEMO_MUNICIPALITY = first_organisation_with("municipality", "challenges.jsonl")
DEMO_COMPANY = first_organisation_with("company", "solutions.jsonl")

# Read by the landing page (matchmaker.public.views.demo_accounts) and by the demo loader.
DEMO_ACCOUNTS: list[dict[str, Any]] = [
    {
        "role": "admin",
        "email": f"admin@{EMAIL_DOMAIN}",
        "password": "quiet lantern harbour",
        "name": "佐藤 美咲",
        "organisation": None,
    },
    {
        "role": "coordinator",
        "email": f"coordinator@{EMAIL_DOMAIN}",
        "password": "paper bridge autumn",
        "name": "高橋 健一",
        "organisation": None,
    },
    {
        "role": "municipal",
        "email": f"municipal@{EMAIL_DOMAIN}",
        "password": "river town morning",
        "name": "中村 由紀",
        "organisation": DEMO_MUNICIPALITY,
        "department": first_department_of(DEMO_MUNICIPALITY),
    },
    {
        "role": "company",
        "email": f"company@{EMAIL_DOMAIN}",
        "password": "green field sprout",
        "name": "小林 大輔",
        "organisation": DEMO_COMPANY,
    },
]
