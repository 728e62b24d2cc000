"""The demo pipeline (matchmaker/demo/pipeline.py): `flask demo load` leaves matches at every stage,
made through the services, with the budget warning, stalled items, the case library and pages that
show something real to each demo account."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import url_for
from sqlalchemy import func, select

from matchmaker.demo import accounts as demo_accounts
from matchmaker.demo import pipeline
from matchmaker.i18n import fiscal_year_of
from matchmaker.services import board, deadlines, fiscal
from matchmaker.services import matches as match_service
from matchmaker.services.challenges import local_today
from models import (
    AuditEvent,
    Challenge,
    DialogueNote,
    Match,
    MatchEvent,
    Pilot,
    PilotUpdate,
    Proposal,
    Question,
    Solution,
    Sounding,
    SoundingBooking,
    User,
)
from models.match import CLOSE_REASONS, MATCH_TRANSITIONS, PROCUREMENT_ROUTES
from models.proposal import OPEN_STATUSES
from tests.pages import get_page, page_text


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.fixture()
def demo(runner: Any, db: Any) -> dict[str, User]:
    """The demo as `flask demo load` writes it; returns the demo accounts by role."""
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return {user.role: user for user in db.session.scalars(
        select(User).where(User.email.in_([spec["email"] for spec in demo_accounts.DEMO_ACCOUNTS])))}


def all_(db: Any, model: Any, *where: Any) -> list[Any]:
    return list(db.session.scalars(select(model).where(*where).order_by(model.id)))


def test_every_stage_is_present_with_the_data_it_implies(demo: dict[str, User], db: Any) -> None:
    matches = all_(db, Match)
    stages = Counter(m.stage for m in matches)
    assert 12 <= len(matches) <= 20
    assert set(stages) == {"recommended", "proposal", "sounding", "pilot", "adopted", "closed"}
    assert len({m.challenge.organisation_id for m in matches}) >= 8
    assert len({d for m in matches for d in m.challenge.domains}) >= 8

    # Recommended: interest expressed by a company and a company approached by a municipality.
    assert {m.origin for m in matches if m.stage == "recommended"} >= {"company_interest", "municipality_invite"}

    # Proposals: submitted, shortlisted, and declined with a reason (the match closed as 不採択).
    statuses = Counter(p.status for p in all_(db, Proposal))
    assert statuses["submitted"] >= 2 and statuses["shortlisted"] >= 1
    declined = [p for p in all_(db, Proposal, Proposal.status == "declined") if p.match.close_reason == "rejected"]
    assert len(declined) == 1 and declined[0].decision_reason and declined[0].decided_by_id
    assert declined[0].match.stage == "closed" and declined[0].match.close_note == declined[0].decision_reason

    # Soundings: open ones with slots and bookings, private notes from both sides, one with its results.
    soundings = all_(db, Sounding)
    today = local_today()
    open_ones = [s for s in soundings if s.results_published_at is None]
    assert len(open_ones) >= 2
    for found in open_ones:
        assert found.entry_deadline >= today and len(found.slots) >= 3 and found.bookings
        assert any(not slot.bookings for slot in found.slots)  # a free slot left to book
    finished = [s for s in soundings if s.results_published_at is not None]
    assert len(finished) == 1 and finished[0].results_summary and finished[0].ends_on < today
    authors = {note.author.role for note in all_(db, DialogueNote)}
    assert authors == {"municipal", "company"}

    # Pilots: KPIs with baseline, target and unit; progress updates; a results report with actual values.
    pilots = all_(db, Pilot)
    for pilot in pilots:
        assert pilot.kpis and all(k.unit and k.target is not None for k in pilot.kpis)
        assert sum(k.baseline is not None for k in pilot.kpis) >= 1
    assert db.session.scalar(select(func.count(PilotUpdate.id))) >= 5
    reported = [p for p in pilots if p.reported_at is not None]
    assert len(reported) >= 2
    assert all(p.verdict and p.report_summary and all(k.actual is not None for k in p.kpis) for p in reported)
    assert any(p.match.stage == "pilot" for p in reported)  # a finished pilot waiting for adoption

    # Adopted: fiscal year, procurement route and amount; one through a pilot, one straight from a proposal.
    adopted = [m for m in matches if m.stage == "adopted"]
    assert len(adopted) >= 2
    for match in adopted:
        assert match.adopted_fiscal_year in (fiscal_year_of(today) - 1, fiscal_year_of(today))
        assert match.procurement_route in PROCUREMENT_ROUTES and match.adoption_amount > 0 and match.adopted_at
    assert {m.pilot is not None for m in adopted} == {True, False}

    # Closed: a reason code and its text, from several stages.
    closed = [m for m in matches if m.stage == "closed"]
    assert all(m.close_reason in CLOSE_REASONS and m.close_note for m in closed)
    assert len({m.closed_from for m in closed}) >= 3

    # Questions and answers on published challenges, one still waiting for its answer.
    questions = all_(db, Question)
    assert sum(q.is_answered for q in questions) >= 3 and any(not q.is_answered for q in questions)
    assert all(q.challenge.status == "published" for q in questions)


def test_the_pipeline_was_written_by_the_services_and_dated_in_the_past(demo: dict[str, User], db: Any) -> None:
    now = datetime.now(UTC)
    matches = all_(db, Match)
    events = all_(db, MatchEvent)
    by_match: dict[int, list[MatchEvent]] = {m.id: [] for m in matches}
    for item in sorted(events, key=lambda e: (aware(e.at), e.id)):
        by_match[item.match_id].append(item)
    for match in matches:
        history = by_match[match.id]
        assert history[0].kind == "created" and history[0].actor_id is not None, match
        assert all(aware(e.at) < now for e in history)
        stage = history[0].to_stage
        for change in (e for e in history if e.kind == "stage"):  # every change along an allowed edge
            assert change.from_stage == stage and (stage, change.to_stage) in MATCH_TRANSITIONS, match
            stage = change.to_stage
        assert stage == match.stage
    spread = {aware(e.at).date() for e in events}
    assert len(spread) > 30 and (local_today() - min(spread)).days > 300  # stories from months ago to yesterday

    # Audit rows as the services write them, marked as demo data.
    actions = Counter(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id.is_not(None))))
    assert actions["match.created"] == len(matches)
    assert actions["match.stage"] == sum(e.kind == "stage" for e in events)
    for action in ("proposal.submitted", "sounding.booked", "pilot.planned", "pilot.reported", "question.answered"):
        assert actions[action] >= 1, action
    sources = {row.details.get("source") for row in all_(db, AuditEvent, AuditEvent.action.like("match.%"))}
    assert sources == {"demo"}

    # The extra staff cannot log in; the deadlines of what is still open lie in the future.
    staff = all_(db, User, User.email.like(f"%@staff.{demo_accounts.EMAIL_DOMAIN}"))
    assert len(staff) == len(pipeline.STAFF) and not any(u.check_password("") for u in staff)
    for match in matches:
        if match.stage in ("recommended", "proposal"):
            assert match.challenge.status == "published" and match.challenge.deadline > local_today()


def test_the_demo_accounts_take_part_in_several_matches(demo: dict[str, User], db: Any) -> None:
    municipal, company = demo["municipal"], demo["company"]
    own = all_(db, Match, Match.challenge_id.in_(
        select(Challenge.id).where(Challenge.organisation_id == municipal.organisation_id)))
    assert len(own) >= 3 and {m.stage for m in own} >= {"recommended", "proposal", "sounding"}
    to_review = [p for m in own for p in all_(db, Proposal, Proposal.match_id == m.id) if p.status == "submitted"]
    assert to_review
    assert any(q.challenge.organisation_id == municipal.organisation_id and not q.is_answered
               for q in all_(db, Question))

    theirs = all_(db, Match, Match.solution_id.in_(
        select(Solution.id).where(Solution.organisation_id == company.organisation_id)))
    assert len(theirs) >= 3
    assert all_(db, Proposal, Proposal.organisation_id == company.organisation_id, Proposal.status.in_(OPEN_STATUSES))
    booking = all_(db, SoundingBooking, SoundingBooking.organisation_id == company.organisation_id)[0]
    assert booking.sounding.entry_deadline >= local_today() and booking.notes
    assert {note.author_id for note in booking.notes} >= {company.id}


def test_the_budget_warning_and_stalled_items_come_from_the_services(demo: dict[str, User], db: Any,
                                                                      app: Any) -> None:
    today = local_today()
    warnings = deadlines.budget_warnings_for(demo["coordinator"])
    next_year = [w for w in warnings if fiscal_year_of(w.ends_on) == fiscal_year_of(today) + 1]
    assert len(next_year) == 1, warnings  # the pilot that ends next fiscal year without a budget request
    warning = next_year[0]
    assert warning.recorded_on is None and warning.check.status in ("due", "missed")
    assert warning.check.budget_year == fiscal_year_of(today) + 1
    pilot = db.session.get(Match, warning.match_id).pilot
    assert pilot.budget_request_recorded_on is None and pilot.updates
    # The pilots that did ask in time are not flagged.
    requested = all_(db, Pilot, Pilot.budget_request_recorded_on.is_not(None))
    assert requested and all(
        fiscal.check_budget(p.starts_on, p.ends_on, p.budget_request_recorded_on, today).status == "ok"
        for p in requested)

    stalled_after = app.config["STALLED_AFTER_DAYS"]
    items = board.board_items(board.BoardFilters(stalled_only=True), datetime.now(UTC), stalled_after)
    assert len(items) >= 2 and all(i.stalled and i.idle_days >= stalled_after for i in items)
    assert len({i.match.stage for i in items}) >= 2
    everything = board.board_items(board.BoardFilters(), datetime.now(UTC), stalled_after)
    assert len(everything) > len(items)

    result = board.funnel_for(board.BoardFilters())
    assert [s.reached > 0 for s in result.stages] == [True] * len(board.PIPELINE)
    assert result.pilots_decided >= 2 and result.pilots_adopted >= 1


def test_the_case_library_lists_the_adopted_and_reported_cases(demo: dict[str, User], db: Any, client: Any) -> None:
    cases = match_service.cases()
    adopted = [m for m in all_(db, Match) if m.stage == "adopted"]
    assert adopted and set(adopted) <= set(cases)
    assert any(m.stage == "pilot" for m in cases)  # a reported pilot

    text = page_text(get_page(client, "matches.cases"))
    for match in adopted:
        assert match.challenge.title in text
        page = page_text(get_page(client, "matches.case", match_id=match.id))
        assert match.solution.title in page


def login(client: Any, role: str) -> None:
    spec = next(s for s in demo_accounts.DEMO_ACCOUNTS if s["role"] == role)
    response = client.post(url_for("auth.login"), data={"email": spec["email"], "password": spec["password"]})
    assert response.status_code == 302, role


def test_pages_render_for_each_demo_account(demo: dict[str, User], db: Any, client: Any) -> None:
    municipal, company = demo["municipal"], demo["company"]

    login(client, "municipal")
    assert client.get(url_for("municipality.dashboard")).status_code == 200
    mine = get_page(client, "matches.mine")
    assert len(mine.select("article.match-row")) >= 3
    proposal = next(p for p in all_(db, Proposal, Proposal.status == "submitted")
                    if p.challenge.organisation_id == municipal.organisation_id)
    page = page_text(get_page(client, "matches.match", match_id=proposal.match_id))
    assert proposal.title in page
    assert proposal.title in page_text(get_page(client, "matches.proposal", proposal_id=proposal.id))
    own_sounding = next(s for s in all_(db, Sounding) if s.challenge.organisation_id == municipal.organisation_id)
    assert own_sounding.title in page_text(get_page(client, "matches.sounding", sounding_id=own_sounding.id))
    client.post(url_for("auth.logout"))

    login(client, "company")
    assert client.get(url_for("company.dashboard")).status_code == 200
    mine = get_page(client, "matches.mine")
    assert len(mine.select("article.match-row")) >= 3 and mine.select_one("#my-proposals")
    booking = all_(db, SoundingBooking, SoundingBooking.organisation_id == company.organisation_id)[0]
    page = page_text(get_page(client, "matches.booking", booking_id=booking.id))
    assert booking.notes[0].body[:20] in page
    page = page_text(get_page(client, "matches.match", match_id=booking.match_id))
    assert booking.sounding.challenge.title in page
    client.post(url_for("auth.logout"))

    for role in ("coordinator", "admin"):
        login(client, role)
        home = get_page(client, "coordinator.dashboard" if role == "coordinator" else "admin.dashboard")
        if role == "coordinator":
            assert home.select_one("#budget-warnings [data-status]") is not None
        board_page = get_page(client, "coordinator.board")
        assert board_page.select(".board-card.stalled") and board_page.select("#stalled-items tr[data-match]")
        assert board_page.select_one("#budget-warnings") is not None
        stalled = int(board_page.select(".board-card.stalled")[0]["data-match"])
        assert client.get(url_for("matches.match", match_id=stalled)).status_code == 200
        client.post(url_for("auth.logout"))

    finished = next(s for s in all_(db, Sounding) if s.results_published_at is not None)
    page = get_page(client, "public.challenge", challenge_id=finished.challenge_id)
    assert finished.results_summary[:20] in page_text(page)


def test_a_second_load_adds_no_pipeline(demo: dict[str, User], runner: Any, db: Any) -> None:
    counted = (Match, MatchEvent, Proposal, Sounding, Question, User, AuditEvent)
    before = [db.session.scalar(select(func.count(model.id))) for model in counted]
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert [db.session.scalar(select(func.count(model.id))) for model in counted] == before


def test_the_demo_shows_a_handover_stalled_since_the_transfer(demo: dict[str, User], db: Any, client: Any,
                                                               login_as: Any) -> None:
    from matchmaker.services import handover

    stalled = handover.stalled_since_handover(datetime.now(UTC))
    assert stalled and all(item.match.challenge.title == pipeline.YOKOHAMA_SEWER for item in stalled)
    login_as(demo["coordinator"])
    page = get_page(client, "coordinator.board")
    assert page.select(f"#stalled-after-handover tr[data-match='{stalled[0].match.id}']")
    dossier = get_page(client, "records.record", kind="dossier", ident=stalled[0].match.id)
    assert "中村 恵子" in page_text(dossier.select_one("#dossier-contacts"))  # type: ignore[arg-type]


def test_the_demo_shows_a_third_party_inquiry_awaiting_the_company(demo: dict[str, User], db: Any,
                                                                    client: Any) -> None:
    from models import DisclosureInquiry

    inquiry = db.session.scalars(select(DisclosureInquiry).join(User, DisclosureInquiry.started_by_id == User.id)
                                 .where(User.organisation_id == demo["municipal"].organisation_id)).one()
    assert inquiry.record_kind == "dialogue_disclosure" and inquiry.company_view is None
    assert "約300万円" not in inquiry.document_text and "■■■■〔非公開：法人等情報〕" in inquiry.document_text
    login(client, "municipal")  # 旭川市 finds it on its dashboard and on the dialogue's disclosure version
    dashboard = get_page(client, "municipality.dashboard")
    assert dashboard.select(f"#todo tr[data-kind='disclosure_release'][data-object='{inquiry.id}']")
    record = get_page(client, "records.record", kind="dialogue_disclosure", ident=inquiry.record_id)
    assert record.select_one("#inquiries-link a") is not None
    page = get_page(client, "records.inquiry", inquiry_id=inquiry.id)
    assert page.select_one("#inquiry-status")["data-status"] == "awaiting"


def test_the_demo_has_frozen_selection_records_a_coordinator_finds_from_the_board(
        demo: dict[str, User], db: Any, client: Any) -> None:
    from models import SelectionRecord

    packs = all_(db, SelectionRecord)
    kobe = next(p for p in packs if p.challenge.organisation.name == "神戸市")
    assert kobe.decision == "adopted" and "第2号" in kobe.reason
    assert [c["name"] for c in kobe.data["evaluation"]["criteria"]] == ["課題の理解度", "実現可能性", "費用の妥当性",
                                                                       "個人情報の取扱い"]
    assert kobe.data["evaluation"]["averages"][0]["weighted"] == pytest.approx(4.5)
    assert len({s["evaluator"] for s in kobe.data["evaluation"]["scores"]}) == 2  # two evaluators, averaged
    assert len(packs) >= 2  # every demo adoption froze its challenge's record
    login(client, "coordinator")
    board_page = get_page(client, "coordinator.board")
    assert board_page.select_one(f'a[href="{url_for("matches.match", match_id=kobe.match_id, _external=False)}"]')
    match_page = get_page(client, "matches.match", match_id=kobe.match_id)
    href = match_page.select_one("#selection-pack-link a")["href"]
    pack_page = page_text(get_page(client, "records.record", kind="selection", ident=kobe.challenge_id))
    assert href.endswith(f"/records/selection/{kobe.challenge_id}")
    assert "随意契約理由書（案）" in pack_page and "個人情報の取扱い" in pack_page
