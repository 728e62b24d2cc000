"""CPU time of the public pages an anonymous reader asks for, rendered and from the page cache,
and of the pages the load benchmark's signed-in users ask for.

Usage: python bench/page_cost.py [--rounds 5] [--database-url URL]

Builds a fresh database with the demo data (``flask db upgrade`` and ``flask demo load``; SQLite
in a temporary folder unless ``--database-url`` names an empty PostgreSQL database), then asks
every public page of the load benchmark's anonymous mix (the landing page, the challenge list with
and without search words, each published challenge, the case library and each case) through the
app in this process, ``--rounds`` times with ``PAGE_CACHE_SECONDS=0`` (rendered each time) and
with the cache on. Prints CPU milliseconds of this process per page (p50/p95 and mean) and the
statements sent to the database per page. Then, signed in as the demo municipal and company
accounts, each page of the load benchmark's municipal and company mix (dashboards, a challenge with
its recommendations, the proposals received, a profile's recommended challenges, the proposal
form), ``--rounds`` times: CPU ms (p50) and statements per kind of page. CPU time, not wall time:
the figure moves little with what else the machine is doing, which wall-clock latency under load
does not. On PostgreSQL the server's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import SEARCH_WORDS, percentile, prepare_database
from bench.machine import machine_header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a temporary SQLite file)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    env = {**os.environ, "DATABASE_URL": url, "MATCHMAKER_SECRET_KEY": "bench", "MATCHMAKER_DAILY_JOBS": "off",
           "MATCHMAKER_UPLOAD_FOLDER": str(tmp / "uploads")}
    prepare_database(env)

    from sqlalchemy import event, select

    from matchmaker import create_app
    from matchmaker.services import matches as match_service
    from models import Challenge, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
                      "SECRET_KEY": "bench", "DAILY_JOBS": False, "EMBED_ON_START": False,
                      "UPLOAD_FOLDER": str(tmp / "uploads"), "INDEX_REFRESH_SECONDS": 0})
    with app.app_context():
        challenges = db.session.scalars(select(Challenge.id).where(Challenge.status == "published")).all()
        cases = [m.id for m in match_service.cases(match_service.CaseFilter(text="", domain=""))]
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    paths = ["/", "/challenges", *(f"/challenges?q={w}" for w in SEARCH_WORDS),
             *(f"/challenges/{i}" for i in challenges), "/matches/cases", *(f"/matches/cases/{i}" for i in cases)]
    print(machine_header())
    print(f"# {len(paths)} public pages ({len(challenges)} challenges, {len(cases)} cases), {args.rounds} rounds, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}")
    client = app.test_client()
    for path in paths:  # warm: the fitted index, templates, the tokeniser
        client.get(path)
    for label, seconds in (("rendered every time", 0.0), ("page cache on", 60.0)):
        app.config["PAGE_CACHE_SECONDS"] = seconds
        cpu: list[float] = []
        queries = 0
        for _ in range(args.rounds):
            for path in paths:
                before = len(statements)
                started = time.process_time()
                response = client.get(path)
                cpu.append((time.process_time() - started) * 1000)
                queries += len(statements) - before
                assert response.status_code == 200, (path, response.status_code)
        print(f"{label:<22} CPU ms per page: p50 {percentile(cpu, 50):6.2f}  p95 {percentile(cpu, 95):6.2f}"
              f"  mean {statistics.fmean(cpu):6.2f}   statements per page {queries / len(cpu):5.1f}")
    signed_in(app, statements, args.rounds)


def signed_in(app: Any, statements: list[str], rounds: int) -> None:
    """CPU ms (p50) and statements per kind of page for the demo municipal and company accounts."""
    from sqlalchemy import select

    from models import Challenge, Solution, User, db

    with app.app_context():
        users = {role: db.session.scalar(select(User).where(User.role == role, User.email.like(f"{role}@%")))
                 for role in ("municipal", "company")}
        own = db.session.scalars(select(Challenge.id).where(
            Challenge.organisation_id == users["municipal"].organisation_id, Challenge.status == "published")).all()[:3]
        profiles = db.session.scalars(select(Solution.id).where(
            Solution.organisation_id == users["company"].organisation_id)).all()[:3]
        published = db.session.scalars(select(Challenge.id).where(Challenge.status == "published")).all()[:5]
        plans = {
            "municipal": ["/municipality/", "/matches/mine", *(f"/challenges/{i}" for i in own),
                          *(f"/matches/challenges/{i}/solutions" for i in own),
                          *(f"/matches/challenges/{i}/proposals" for i in own)],
            "company": ["/company/", "/matches/mine", *(f"/matches/solutions/{i}/challenges" for i in profiles),
                        *(f"/challenges/{i}" for i in published),
                        *(f"/matches/challenges/{i}/propose" for i in published[:3])],
        }
        ids = {role: user.get_id() for role, user in users.items()}
    app.config["PAGE_CACHE_SECONDS"] = 60.0
    print(f"# signed in: {rounds} rounds; CPU ms p50 and statements per page")
    for role, paths in plans.items():
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = ids[role], True
        for path in paths:  # warm
            client.get(path)
        cost: dict[str, list[tuple[float, int]]] = collections.defaultdict(list)
        for _ in range(rounds):
            for path in paths:
                before = len(statements)
                started = time.process_time()
                response = client.get(path)
                spent = (time.process_time() - started) * 1000
                assert response.status_code == 200, (role, path, response.status_code)
                cost[re.sub(r"/\d+", "/<id>", path)].append((spent, len(statements) - before))
        for page, seen in cost.items():
            print(f"{role:<10} GET {page:<38} {statistics.median(c for c, _ in seen):6.2f} ms"
                  f"  {statistics.median(n for _, n in seen):4.0f} statements")


if __name__ == "__main__":
    main()
