"""`flask demo load`: enough realistic data, one account per role, dates that never go stale, the
bundled vectors instead of encoding."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from flask import url_for
from sqlalchemy import func, select

from matchmaker.demo import accounts as demo_accounts
from matchmaker.demo import loader
from matchmaker.services import vectors
from models import AuditEvent, Challenge, Organisation, Solution, StoredVector, User


def count(db, *columns, where=()):
    return db.session.scalar(select(*columns).where(*where))


def test_demo_load_fills_an_empty_site(runner, db, client):
    result = runner.invoke(args=["demo", "load", "--if-empty"])

    assert result.exit_code == 0, result.output
    assert "読み込めなかった行" not in result.output  # every row of the demo files is valid
    assert count(db, func.count(Challenge.id)) >= 40
    municipalities = count(db, func.count(func.distinct(Challenge.organisation_id)))
    assert municipalities >= 25
    assert count(db, func.count(Solution.id)) >= 80
    solution_domains = {d for domains in db.session.scalars(select(Solution.domains)) for d in domains}
    assert len(solution_domains) >= 10
    assert count(db, func.count(Challenge.id), where=[Challenge.status == "published"]) >= 20
    assert count(db, func.count(AuditEvent.id), where=[AuditEvent.action == "challenge.imported",
                                                        AuditEvent.actor_id.is_(None)]) >= 40
    # Every slot gets the vector bundled with the demo: nothing is left for the model to encode.
    slots = 2 * (count(db, func.count(Challenge.id)) + count(db, func.count(Solution.id)))
    assert count(db, func.count(StoredVector.id)) == slots
    assert not db.session.info.get("jobs_after_commit")
    assert vectors.sync_all_vectors() == 0

    roles = {spec["role"] for spec in demo_accounts.DEMO_ACCOUNTS}
    assert roles == {"admin", "coordinator", "municipal", "company"}
    for spec in demo_accounts.DEMO_ACCOUNTS:
        assert len(spec["password"]) >= 10 and spec["email"].endswith("@demo.matchmaker.jp")
        assert spec["email"] in result.output and spec["password"] in result.output
        response = client.post(url_for("auth.login"), data={"email": spec["email"], "password": spec["password"]})
        assert response.status_code == 302, spec["email"]
        with client.session_transaction() as session:
            user = db.session.get(User, int(session["_user_id"].partition(":")[0]))
        assert (user.email, user.role, user.name) == (spec["email"], spec["role"], spec["name"])
        client.post(url_for("auth.logout"))


def test_demo_accounts_belong_to_organisations_with_several_items(runner, db):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    municipal = db.session.scalar(select(User).where(User.role == "municipal"))
    company = db.session.scalar(select(User).where(User.role == "company"))
    assert municipal.organisation.name == demo_accounts.DEMO_MUNICIPALITY
    assert municipal.organisation.is_municipality and municipal.department
    assert count(db, func.count(Challenge.id), where=[Challenge.organisation_id == municipal.organisation_id]) >= 2
    assert company.organisation.name == demo_accounts.DEMO_COMPANY and company.organisation.is_company
    assert count(db, func.count(Solution.id), where=[Solution.organisation_id == company.organisation_id]) >= 2
    admin = db.session.scalar(select(User).where(User.role == "admin"))
    assert admin.organisation_id is None


def test_if_empty_does_nothing_once_challenges_exist_and_a_second_load_duplicates_nothing(runner, db):
    assert runner.invoke(args=["demo", "load", "--if-empty"]).exit_code == 0
    before = [count(db, func.count(m.id)) for m in (Organisation, Challenge, Solution, User)]

    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert again.exit_code == 0 and "デモデータは読み込みません" in again.output
    forced = runner.invoke(args=["demo", "load"])
    assert forced.exit_code == 0

    assert [count(db, func.count(m.id)) for m in (Organisation, Challenge, Solution, User)] == before


def test_dates_move_with_today_and_published_challenges_have_a_past_publication_date(app, db):
    with (loader.DEMO_DIR / "challenges.jsonl").open(encoding="utf-8") as handle:
        first = json.loads(handle.readline())
    today = loader.BASE_DATE + timedelta(days=200)  # 2027-06-10: one fiscal year later

    demo = loader.load(today=today)
    db.session.commit()

    assert demo.rejections() == []
    challenge = demo.challenges[0]
    assert challenge.title == first["title"]
    assert challenge.deadline == date.fromisoformat(first["deadline"]) + timedelta(days=200)
    assert challenge.fiscal_year == first["fiscal_year"] + 1
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(days=1)
    for row in demo.challenges:
        if row.status in ("published", "closed"):
            published = row.published_at if row.published_at.tzinfo else row.published_at.replace(tzinfo=UTC)
            assert published < now
            if row.deadline is not None:
                assert published.date() < row.deadline
        else:
            assert row.published_at is None


def test_bundled_vectors_are_never_mixed_with_another_encoder(app, db):
    app.config["MATCHMAKER_ENCODER"] = "hash:64"
    demo = loader.load()
    assert demo.vectors_seeded == 0
    assert count(db, func.count(StoredVector.id)) == 0
    db.session.rollback()
