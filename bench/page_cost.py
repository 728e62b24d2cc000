"""CPU time of the public pages an anonymous reader asks for, rendered and from the page cache.

Usage: python bench/page_cost.py [--rounds 5] [--database-url URL]

Builds a fresh database with the demo data (``flask db upgrade`` and ``flask demo load``; SQLite
in a temporary folder unless ``--database-url`` names an empty PostgreSQL database), then asks
every public page of the load benchmark's anonymous mix (the landing page, the challenge list with
and without search words, each published challenge, the case library and each case) through the
app in this process, ``--rounds`` times with ``PAGE_CACHE_SECONDS=0`` (rendered each time) and
with the cache on. Prints CPU milliseconds of this process per page (p50/p95 and mean) and the
statements sent to the database per page. CPU time, not wall time: the figure moves little with
what else the machine is doing, which wall-clock latency under load does not. On PostgreSQL the
server's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


if __name__ == "__main__":
    main()
