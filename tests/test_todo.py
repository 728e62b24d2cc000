"""「対応が必要なこと」 on the municipal and company dashboards (matchmaker/services/todo.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bs4 import BeautifulSoup
from flask import url_for as _url_for
from sqlalchemy import event

from matchmaker.i18n import format_era_date
from matchmaker.services import todo
from matchmaker.services.challenges import JST, local_today
from models import Match, PilotUpdate, Proposal, Question, Sounding
from tests.pages import get_page, page_text, post_page
from tests.pipeline_factories import (
    Pair,
    make_booking,
    make_match,
    make_pair,
    make_pilot,
    make_proposal,
    make_question,
    make_solution,
    make_sounding,
    make_user,
    switch_user,
)


def url_for(endpoint: str, **values: Any) -> str:
    """The site-relative URL the pages link to (outside a request url_for would be absolute)."""
    return _url_for(endpoint, _external=False, **values)


def todo_rows(page: BeautifulSoup) -> dict[tuple[str, int], Any]:
    section = page.find(id="todo")
    if section is None:
        return {}
    return {(row["data-kind"], int(row["data-object"])): row for row in section.find("tbody").find_all("tr")}


def instant(day: date, hour: int = 10) -> datetime:
    """A stored instant at ``hour`` o'clock Japan time on ``day``."""
    return datetime.combine(day, time(hour), tzinfo=JST).astimezone(UTC)


@contextmanager
def counted_queries(db: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# --- municipality --------------------------------------------------------------------------------


@dataclass
class MunicipalScene:
    pair: Pair
    proposal: Proposal
    question: Question
    sounding: Sounding
    pilot_match: Match


def municipal_scene(today: date) -> MunicipalScene:
    """One item of each kind for the pair's municipality, next to look-alikes that need nothing."""
    pair = make_pair()
    challenge = pair.challenge
    match = make_match(challenge, pair.solution, stage="proposal")
    proposal = make_proposal(match, pair.company_user, submitted_at=instant(today - timedelta(days=3)))
    # Needs nothing: a shortlisted proposal, and a submitted one on a match that has closed.
    make_proposal(make_match(challenge, make_solution(), stage="proposal"), status="shortlisted")
    make_proposal(make_match(challenge, make_solution(), stage="closed"))
    question = make_question(challenge, pair.company_user, asked_at=instant(today - timedelta(days=2)))
    make_question(challenge, pair.company_user, answered=True)
    sounding = make_sounding(challenge, starts_on=today - timedelta(days=12), ends_on=today - timedelta(days=5),
                             entry_deadline=today - timedelta(days=14))
    make_booking(sounding, sounding.slots[0], match)
    # Needs nothing: a sounding still in its dialogue period, and a finished one with results.
    make_sounding(challenge, starts_on=today - timedelta(days=2), ends_on=today,
                  entry_deadline=today - timedelta(days=3))
    make_sounding(challenge, starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=20),
                  entry_deadline=today - timedelta(days=31), results_summary="2社と対話した。",
                  results_published_at=instant(today - timedelta(days=18)))
    pilot_match = make_match(challenge, make_solution(pair.company), stage="pilot",
                             pilot=make_pilot(starts_on=today - timedelta(days=120), ends_on=today - timedelta(days=1)))
    # Needs nothing: a running pilot, and an ended one that is reported.
    make_match(challenge, make_solution(), stage="pilot", pilot=make_pilot(starts_on=today - timedelta(days=10)))
    make_match(challenge, make_solution(), stage="pilot",
               pilot=make_pilot(starts_on=today - timedelta(days=90), ends_on=today - timedelta(days=3), reported=True))
    return MunicipalScene(pair, proposal, question, sounding, pilot_match)


def test_no_section_when_nothing_needs_action(db: Any, client: Any, login_as: Any) -> None:
    make_pair()  # a bystander: the recommender warns on an index of one challenge (see the report)
    pair = make_pair()
    make_match(pair.challenge, pair.solution, stage="recommended")
    login_as(pair.owner)
    page = get_page(client, "municipality.dashboard")
    assert page.find(id="todo") is None
    assert "対応が必要なこと" not in page_text(page)
    login_as(pair.company_user)
    assert get_page(client, "company.dashboard").find(id="todo") is None


def test_municipal_dashboard_lists_what_to_act_on(db: Any, client: Any, login_as: Any) -> None:
    today = local_today()
    scene = municipal_scene(today)
    other = municipal_scene(today)  # another municipality with the same backlog
    db.session.commit()
    login_as(scene.pair.owner)
    page = get_page(client, "municipality.dashboard")

    rows = todo_rows(page)
    assert list(rows) == [("proposal_decision", scene.proposal.id), ("question", scene.question.id),
                          ("sounding_results", scene.sounding.id), ("pilot_report", scene.pilot_match.id)]
    section = page.find(id="todo")
    assert section.find("h2").get_text() == "対応が必要なこと（4件）"
    # At the top: before the budget warnings, the deadlines and the challenge list.
    assert section.find_all_previous("section") == []
    title, company = scene.pair.challenge.title, scene.pair.company.name

    def cells(key: tuple[str, int]) -> tuple[str, str, str, str]:
        row = rows[key]
        date_cell, label_cell, challenge_cell = row.find_all("td")
        return (date_cell.get_text(" ", strip=True), label_cell.get_text(strip=True),
                challenge_cell.get_text(" ", strip=True), challenge_cell.find("a")["href"])

    assert cells(("proposal_decision", scene.proposal.id)) == (
        f"{format_era_date(today - timedelta(days=3))} 提出日", "提案の選考", f"{title} {company}",
        url_for("matches.challenge_proposals", challenge_id=scene.pair.challenge.id))
    assert cells(("question", scene.question.id)) == (
        f"{format_era_date(today - timedelta(days=2))} 質問日", "質問への回答", f"{title} {company}",
        url_for("matches.questions", challenge_id=scene.pair.challenge.id, _anchor=f"q-{scene.question.id}"))
    assert cells(("sounding_results", scene.sounding.id)) == (
        f"{format_era_date(today - timedelta(days=5))} 対話期間の終了", "サウンディング結果の公表",
        f"{title} 参加 1社", url_for("matches.sounding_results", sounding_id=scene.sounding.id))
    assert cells(("pilot_report", scene.pilot_match.id)) == (
        f"{format_era_date(today - timedelta(days=1))} 実証終了", "実証実験の結果報告", f"{title} {company}",
        url_for("matches.pilot_report", match_id=scene.pilot_match.id))
    assert format_era_date(today).startswith("令和")
    assert other.pair.company.name not in page_text(section)

    switch_user(login_as, other.pair.owner)
    assert list(todo_rows(get_page(client, "municipality.dashboard"))) == [
        ("proposal_decision", other.proposal.id), ("question", other.question.id),
        ("sounding_results", other.sounding.id), ("pilot_report", other.pilot_match.id)]


def test_municipal_items_disappear_once_acted_on(db: Any, client: Any, login_as: Any) -> None:
    scene = municipal_scene(local_today())
    db.session.commit()
    login_as(scene.pair.owner)

    def kinds() -> list[str]:
        return [kind for kind, _id in todo_rows(get_page(client, "municipality.dashboard"))]

    assert kinds() == ["proposal_decision", "question", "sounding_results", "pilot_report"]
    post_page(client, "matches.shortlist_proposal", proposal_id=scene.proposal.id)
    assert kinds() == ["question", "sounding_results", "pilot_report"]
    post_page(client, "matches.answer_question", {f"q{scene.question.id}-answer": "CSV形式で提供します。"},
              question_id=scene.question.id)
    assert kinds() == ["sounding_results", "pilot_report"]
    post_page(client, "matches.sounding_results", {"summary": "1社と対話し、参加記録の電子化に関心が示された。"},
              sounding_id=scene.sounding.id)
    assert kinds() == ["pilot_report"]
    kpi = scene.pilot_match.pilot.kpis[0]
    post_page(client, "matches.pilot_report", {"verdict": "success", "summary": "参加率が目標を上回った。",
                                               "actuals-0-kpi_id": str(kpi.id), "actuals-0-actual": "12.5"},
              match_id=scene.pilot_match.id)
    assert get_page(client, "municipality.dashboard").find(id="todo") is None


def test_declining_a_proposal_also_clears_it(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    proposal = make_proposal(make_match(pair.challenge, pair.solution, stage="proposal"))
    db.session.commit()
    login_as(pair.owner)
    assert list(todo_rows(get_page(client, "municipality.dashboard"))) == [("proposal_decision", proposal.id)]
    post_page(client, "matches.decline_proposal", {"reason": "今年度は予算の見込みがないため。"}, proposal_id=proposal.id)
    assert get_page(client, "municipality.dashboard").find(id="todo") is None


# --- company -------------------------------------------------------------------------------------


@dataclass
class CompanyScene:
    pair: Pair
    sounding: Sounding
    shortlisted: Proposal
    invited: Proposal
    pilot_match: Match


def company_scene(today: date) -> CompanyScene:
    """One item of each kind for the pair's company, next to look-alikes that need nothing."""
    pair = make_pair()
    company = pair.company
    # Invited to an open sounding (the match is at 'sounding'), not booked yet.
    make_match(pair.challenge, pair.solution, stage="sounding", origin="municipality_invite")
    sounding = make_sounding(pair.challenge, entry_deadline=today + timedelta(days=6))
    # Needs nothing: a sounding whose entry deadline passed, and a sounding of a challenge it only follows.
    make_sounding(pair.challenge, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=3),
                  entry_deadline=today - timedelta(days=1))
    followed = make_match(make_pair().challenge, make_solution(company), stage="recommended")
    make_sounding(followed.challenge)
    # Shortlisted; invited with no sounding opened yet; invited and already booked (needs nothing).
    shortlisted = make_proposal(make_match(make_pair().challenge, make_solution(company), stage="proposal"),
                                status="shortlisted", decided_at=instant(today - timedelta(days=4)))
    invited = make_proposal(make_match(make_pair().challenge, make_solution(company), stage="sounding"),
                            status="invited", decided_at=instant(today - timedelta(days=2)))
    booked_match = make_match(make_pair().challenge, make_solution(company), stage="sounding")
    make_proposal(booked_match, status="invited", decided_at=instant(today - timedelta(days=9)))
    booked = make_sounding(booked_match.challenge)
    make_booking(booked, booked.slots[0], booked_match)
    make_proposal(make_match(make_pair().challenge, make_solution(company), stage="proposal"))  # submitted
    # A pilot started 40 days ago without an update from the company; the municipality's update does not count.
    pilot_match = make_match(make_pair().challenge, make_solution(company), stage="pilot",
                             pilot=make_pilot(starts_on=today - timedelta(days=40)))
    owner = make_user("municipal", organisation=pilot_match.challenge.organisation)
    pilot_match.pilot.updates.append(PilotUpdate(author_id=owner.id, body="市の側の経過",
                                                 created_at=instant(today - timedelta(days=1))))
    # Needs nothing: a pilot started 10 days ago, and one with a company update 20 days ago.
    make_match(make_pair().challenge, make_solution(company), stage="pilot",
               pilot=make_pilot(starts_on=today - timedelta(days=10)))
    updated = make_match(make_pair().challenge, make_solution(company), stage="pilot",
                         pilot=make_pilot(starts_on=today - timedelta(days=60)))
    updated.pilot.updates.append(PilotUpdate(author_id=pair.company_user.id, body="2か月目",
                                             created_at=instant(today - timedelta(days=20))))
    return CompanyScene(pair, sounding, shortlisted, invited, pilot_match)


def test_company_dashboard_lists_what_to_act_on(db: Any, client: Any, login_as: Any) -> None:
    today = local_today()
    scene = company_scene(today)
    other = company_scene(today)
    db.session.commit()
    login_as(scene.pair.company_user)
    page = get_page(client, "company.dashboard")

    rows = todo_rows(page)
    assert list(rows) == [("sounding_invitation", scene.sounding.id), ("proposal_followup", scene.shortlisted.id),
                          ("proposal_followup", scene.invited.id), ("pilot_update", scene.pilot_match.id)]
    assert page.find(id="todo").find_all_previous("section") == []

    def text(key: tuple[str, int]) -> str:
        return " ".join(rows[key].get_text(" ").split())

    def link(key: tuple[str, int]) -> str:
        return str(rows[key].find("a")["href"])

    invitation = ("sounding_invitation", scene.sounding.id)
    assert text(invitation) == (f"{format_era_date(today + timedelta(days=6))} エントリー締切 サウンディングの枠の予約 "
                                f"{scene.pair.challenge.title} {scene.pair.municipality.name}")
    assert link(invitation) == url_for("matches.sounding", sounding_id=scene.sounding.id)
    assert text(("proposal_followup", scene.shortlisted.id)).startswith(
        f"{format_era_date(today - timedelta(days=4))} 候補に選定 選考中の提案 {scene.shortlisted.challenge.title}")
    assert text(("proposal_followup", scene.invited.id)).startswith(
        f"{format_era_date(today - timedelta(days=2))} サウンディングに招待 選考中の提案")
    assert link(("proposal_followup", scene.invited.id)) == url_for("matches.proposal", proposal_id=scene.invited.id)
    pilot = ("pilot_update", scene.pilot_match.id)
    assert text(pilot) == (f"{format_era_date(today - timedelta(days=40))} 実証開始 実証実験の経過報告 "
                           f"{scene.pilot_match.challenge.title} {scene.pilot_match.challenge.organisation.name}")
    assert link(pilot) == url_for("matches.match", match_id=scene.pilot_match.id, _anchor="pilot")

    switch_user(login_as, other.pair.company_user)
    assert list(todo_rows(get_page(client, "company.dashboard"))) == [
        ("sounding_invitation", other.sounding.id), ("proposal_followup", other.shortlisted.id),
        ("proposal_followup", other.invited.id), ("pilot_update", other.pilot_match.id)]


def test_company_items_disappear_once_acted_on(db: Any, client: Any, login_as: Any) -> None:
    today = local_today()
    scene = company_scene(today)
    db.session.commit()
    login_as(scene.pair.company_user)

    def keys() -> list[tuple[str, int]]:
        return list(todo_rows(get_page(client, "company.dashboard")))

    post_page(client, "matches.book_slot", {"book-slot_id": scene.sounding.slots[0].id,
                                            "book-solution_id": scene.pair.solution.id}, sounding_id=scene.sounding.id)
    assert [k for k, _id in keys()] == ["proposal_followup", "proposal_followup", "pilot_update"]
    post_page(client, "matches.pilot_update", {"body": "40日目：参加者が120名になった。"},
              match_id=scene.pilot_match.id)
    assert keys() == [("proposal_followup", scene.shortlisted.id), ("proposal_followup", scene.invited.id)]
    # The shortlisted proposal is withdrawn; the invited one's municipality opens a sounding, and the
    # item becomes an invitation to book it.
    post_page(client, "matches.withdraw_proposal", proposal_id=scene.shortlisted.id)
    opened = make_sounding(scene.invited.challenge)
    db.session.commit()
    assert keys() == [("sounding_invitation", opened.id)]


def test_an_update_older_than_the_interval_is_due_again(db: Any, client: Any, login_as: Any) -> None:
    today = local_today()
    make_pair()  # a bystander, as above
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="pilot",
                       pilot=make_pilot(starts_on=today - timedelta(days=90)))
    last = today - timedelta(days=todo.UPDATE_INTERVAL_DAYS)
    match.pilot.updates.append(PilotUpdate(author_id=pair.company_user.id, body="前回", created_at=instant(last, 9)))
    db.session.commit()
    login_as(pair.company_user)
    row = todo_rows(get_page(client, "company.dashboard"))[("pilot_update", match.id)]
    assert row.find("td").get_text(" ", strip=True) == f"{format_era_date(last)} 前回の経過報告"
    match.pilot.updates[0].created_at = instant(last + timedelta(days=1), 0)
    db.session.commit()
    assert get_page(client, "company.dashboard").find(id="todo") is None


def test_one_query_per_kind(db: Any, app: Any) -> None:
    today = local_today()
    municipal, company = municipal_scene(today), company_scene(today)
    db.session.commit()
    municipality_id, company_id = municipal.pair.municipality.id, company.pair.company.id
    with app.test_request_context():
        with counted_queries(db) as statements:
            items = todo.for_municipality(municipality_id, today)
        assert (len(items), len([s for s in statements if s.startswith("SELECT")])) == (4, 5)  # 5 kinds
        with counted_queries(db) as statements:
            items = todo.for_company(company_id, today)
        assert (len(items), len([s for s in statements if s.startswith("SELECT")])) == (4, 4)  # 4 kinds


def test_english_labels(db: Any, client: Any, login_as: Any) -> None:
    scene = municipal_scene(local_today())
    db.session.commit()
    login_as(scene.pair.owner)
    client.post("/language", data={"locale": "en", "next": "/"})
    section = get_page(client, "municipality.dashboard").find(id="todo")
    assert section.find("h2").get_text() == "Needs your action (4)"
    assert "Decide on a proposal" in page_text(section)
    assert "対応" not in page_text(section)
