"""One-off notifications: newly published challenges to companies that rank high for them, deadline
reminders, and the upcoming-deadlines list per role. None of them ever repeats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from matchmaker.services import deadlines, vectors
from matchmaker.services.challenges import local_today
from matchmaker.services.new_challenges import notify_new_challenges
from models import Notification
from tests.pages import get_page
from tests.pipeline_factories import (
    make_booking,
    make_challenge,
    make_company,
    make_match,
    make_pair,
    make_pilot,
    make_solution,
    make_sounding,
    make_user,
)


@dataclass(frozen=True)
class Hit:
    id: int
    score: float
    rank: int


class FakeRecommender:
    def __init__(self, ranking: dict[int, list[int]]) -> None:
        self.ranking = ranking
        self.asked: list[int] = []

    def solutions_for(self, challenge_id: int, k: int = 10, **_: object) -> list[Hit]:
        self.asked.append(challenge_id)
        ids = self.ranking.get(challenge_id)
        if ids is None:
            raise KeyError(challenge_id)
        return [Hit(sid, 1.0 - i / 10, i + 1) for i, sid in enumerate(ids)][:k]


def _notified(db, kind: str) -> list[tuple[int, str]]:
    db.session.expire_all()
    rows = db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
    return [(n.user_id, n.subject) for n in rows]


def test_companies_ranking_in_the_top_n_are_told_once(db):
    challenge = make_challenge(title="新着の課題")
    companies = [make_company() for _ in range(4)]
    staff = [make_user("company", organisation=c) for c in companies]
    best = make_solution(companies[0])
    second_of_first = make_solution(companies[0])
    third = make_solution(companies[1])
    low = make_solution(companies[2])  # ranks 4th: outside the top 3
    ranker = FakeRecommender({challenge.id: [best.id, second_of_first.id, third.id, low.id]})
    result = notify_new_challenges(top_n=3, recommender=ranker)
    assert (result.challenges, result.companies) == (1, 2)
    told = _notified(db, "challenge.recommended")
    assert sorted(user for user, _s in told) == sorted([staff[0].id, staff[1].id])  # company 0 once, not twice
    assert "新着の課題" in told[0][1]
    again = notify_new_challenges(top_n=3, recommender=ranker)
    assert (again.challenges, again.companies) == (0, 0)
    assert len(_notified(db, "challenge.recommended")) == 2


def test_only_recently_published_challenges_are_announced(db):
    old = make_challenge(published_at=datetime.now(UTC) - timedelta(days=60))
    draft = make_challenge(status="draft")
    fresh = make_challenge()
    solution = make_solution()
    make_user("company", organisation=solution.organisation)
    ranker = FakeRecommender({c.id: [solution.id] for c in (old, draft, fresh)})
    assert notify_new_challenges(recommender=ranker).challenges == 1
    assert ranker.asked == [fresh.id]


def test_a_challenge_not_yet_in_the_index_is_tried_again_next_run(db):
    challenge = make_challenge()
    solution = make_solution()
    make_user("company", organisation=solution.organisation)
    assert notify_new_challenges(recommender=FakeRecommender({})).companies == 0
    assert notify_new_challenges(recommender=FakeRecommender({challenge.id: [solution.id]})).companies == 1


def test_the_real_ranker_tells_the_fitting_company_first(db, runner):
    challenge = make_challenge()  # frailty: 通いの場
    fit = make_solution()  # the factory's profile is about 通いの場 too
    unrelated = make_solution(
        title="イノシシ・シカ用 IoT捕獲わなセンサー", summary="わなの作動を猟友会のスマートフォンに通知する。",
        target_users="農林水産課、猟友会", track_record="中山間地の3町で導入", evidence="見回り回数が減った。",
        domains=["agriculture"], collaboration_forms=["outsourcing"], regions=["北海道"])
    fit_staff = make_user("company", organisation=fit.organisation)
    make_user("company", organisation=unrelated.organisation)
    for entity in (challenge, fit, unrelated):
        vectors.schedule_reembed(entity)
    db.session.commit()  # the eager job runner embeds them
    result = runner.invoke(args=["notifications", "notify-new-challenges", "--top", "1"])
    assert result.exit_code == 0, result.output
    assert [user for user, _s in _notified(db, "challenge.recommended")] == [fit_staff.id]


# --- deadlines -------------------------------------------------------------------------------------


def test_upcoming_deadlines_concern_each_role(db):
    today = local_today()
    pair = make_pair(deadline=today + timedelta(days=5))
    make_match(pair.challenge, pair.solution, stage="recommended")
    sounding = make_sounding(pair.challenge, entry_deadline=today + timedelta(days=8))
    pilot_match = make_match(make_challenge(pair.municipality, deadline=None), pair.solution, stage="pilot",
                             pilot=make_pilot(starts_on=today - timedelta(days=90), ends_on=today + timedelta(days=12)))
    make_challenge(deadline=today + timedelta(days=40))  # outside the window
    owner_kinds = [(d.kind, d.object_id) for d in deadlines.upcoming_deadlines(pair.owner, today)]
    assert owner_kinds == [("proposal", pair.challenge.id), ("sounding_entry", sounding.id),
                           ("pilot_end", pilot_match.id)]
    company = deadlines.upcoming_deadlines(pair.company_user, today)
    assert [d.kind for d in company] == ["proposal", "sounding_entry", "pilot_end"]
    assert company[0].days_left == 5
    assert deadlines.upcoming_deadlines(make_user("municipal"), today) == []
    assert deadlines.upcoming_deadlines(make_user("company"), today) == []
    # Once the company has booked, the entry deadline no longer concerns it.
    make_booking(sounding, sounding.slots[0], make_match(pair.challenge, make_solution(pair.company), stage="sounding"))
    assert "sounding_entry" not in [d.kind for d in deadlines.upcoming_deadlines(pair.company_user, today)]


def test_deadline_reminders_go_out_a_week_before_and_the_day_before_each_once(db):
    today = local_today()
    pair = make_pair(deadline=today + timedelta(days=7))
    make_match(pair.challenge, pair.solution, stage="recommended")
    assert deadlines.send_deadline_reminders(today - timedelta(days=1)) == 0  # 8 days: too early
    assert deadlines.send_deadline_reminders(today) == 1
    assert deadlines.send_deadline_reminders(today) == 0
    assert deadlines.send_deadline_reminders(today + timedelta(days=3)) == 0  # still the 7-day reminder
    assert deadlines.send_deadline_reminders(today + timedelta(days=6)) == 1  # the day before
    assert deadlines.send_deadline_reminders(today + timedelta(days=6)) == 0
    told = _notified(db, "deadline.proposal")
    assert [user for user, _s in told] == [pair.company_user.id, pair.company_user.id]
    assert "あと7日" in told[0][1] and "あと1日" in told[1][1]


def test_a_late_first_run_sends_only_the_nearest_reminder(db):
    today = local_today()
    pair = make_pair()
    make_match(pair.challenge, pair.solution, stage="pilot",
               pilot=make_pilot(starts_on=today - timedelta(days=60), ends_on=today + timedelta(days=1)))
    assert deadlines.send_deadline_reminders(today) == 1
    assert deadlines.send_deadline_reminders(today) == 0
    told = sorted(user for user, _s in _notified(db, "deadline.pilot_end"))
    assert told == sorted([pair.owner.id, pair.company_user.id])


def test_coordinator_dashboard_lists_upcoming_deadlines(client, login_as, db):
    today = local_today()
    pair = make_pair(title="締切が近い課題", deadline=today + timedelta(days=3))
    login_as("coordinator")
    page = get_page(client, "coordinator.dashboard")
    row = page.select_one(f"#upcoming-deadlines [data-kind='proposal'][data-object='{pair.challenge.id}']")
    assert row is not None and "締切が近い課題" in row.get_text() and "令和" in row.get_text()


def test_deadline_dates_are_in_the_window_only(db):
    today = date(2026, 5, 1)
    make_challenge(deadline=today + timedelta(days=31))
    assert deadlines.upcoming_deadlines(make_user("coordinator"), today) == []
