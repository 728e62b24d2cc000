"""人事異動 handover: everything open of a leaving staff member moves to a successor of the same
municipality in one audited step, the companies hear who their new contact is, each match has a
continuity dossier for its parties and the coordinators, and the board shows what stalled since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import url_for
from sqlalchemy import select

from matchmaker.records import pdf
from matchmaker.services import handover
from models import AuditEvent, MatchEvent, Notification, Pilot, Sounding, db
from tests import pipeline_factories as pf
from tests.pages import get_page, page_text, post_page


class Desk:
    """A municipality with a leaver and a successor; the leaver holds a challenge, two open matches
    (one in a pilot whose plan they agreed), a closed match, and a sounding without results."""

    def __init__(self) -> None:
        self.pair = pf.make_pair(status="published")
        self.municipality = self.pair.municipality
        self.leaver = self.pair.owner
        self.successor = pf.make_user("municipal", organisation=self.municipality, name="後任 花子",
                                      department="企画課")
        self.pair.challenge.author_id = self.leaver.id
        self.match = pf.make_match(self.pair.challenge, self.pair.solution, stage="proposal")
        self.proposal = pf.make_proposal(self.match, author=self.pair.company_user, title="見守りアプリの提案")
        other_company = pf.make_company()
        self.other_company_user = pf.make_user("company", organisation=other_company)
        self.pilot_match = pf.make_match(self.pair.challenge, pf.make_solution(other_company), stage="pilot")
        assert self.pilot_match.pilot is not None
        self.pilot_match.pilot.created_by_id = self.leaver.id
        self.closed = pf.make_match(self.pair.challenge, pf.make_solution(pf.make_company()), stage="closed")
        self.sounding = pf.make_sounding(self.pair.challenge, created_by_id=self.leaver.id)
        db.session.commit()


@pytest.fixture()
def desk(app: Any) -> Desk:
    return Desk()


def test_handover_moves_everything_open_and_notifies(client: Any, login_as: Any, desk: Desk) -> None:
    coordinator = login_as("coordinator")
    page = get_page(client, "auth.handover_page", organisation_id=desk.municipality.id, leaver=desk.leaver.id)
    listed = {(li["data-kind"], int(li["data-id"])) for li in page.select("#open-work li")}
    assert listed == {("challenge", desk.pair.challenge.id), ("match", desk.match.id), ("match", desk.pilot_match.id),
                      ("pilot", desk.pilot_match.pilot_id), ("sounding", desk.sounding.id)}

    post_page(client, "auth.handover_page", {"leaver": desk.leaver.id, "successor": desk.successor.id,
                                             "reason": "令和9年4月1日付 人事異動"}, organisation_id=desk.municipality.id)
    db.session.expire_all()
    assert desk.pair.challenge.author_id == desk.successor.id
    assert db.session.get(Pilot, desk.pilot_match.pilot_id).created_by_id == desk.successor.id  # type: ignore[union-attr]
    assert db.session.get(Sounding, desk.sounding.id).created_by_id == desk.successor.id  # type: ignore[union-attr]
    assert handover.open_work(desk.leaver).total == 0
    lines = db.session.scalars(select(MatchEvent.match_id).where(MatchEvent.kind == "handover")).all()
    assert sorted(lines) == sorted([desk.match.id, desk.pilot_match.id])  # not the closed match
    summary = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.handover")).one()
    assert summary.actor_id == coordinator.id and summary.object_id == desk.leaver.id
    assert summary.details["successor_id"] == desk.successor.id and summary.reason == "令和9年4月1日付 人事異動"
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "match.handover")).all()

    told = db.session.scalars(select(Notification).where(Notification.kind == "match.handover")).all()
    assert {n.user_id for n in told} == {desk.pair.company_user.id, desk.other_company_user.id}
    assert all("後任 花子" in n.body and "企画課" in n.body for n in told)
    assert db.session.scalars(select(Notification).where(Notification.user_id == desk.successor.id)).all()


def test_handover_takes_what_the_leaver_opened_elsewhere_and_leaves_colleagues_work(client: Any, login_as: Any,
                                                                                   desk: Desk) -> None:
    """A match the leaver opened (an invitation) on a colleague's challenge moves with them; the
    colleague's challenge and its other matches, and the leaver's closed challenge, stay."""
    colleague = pf.make_user("municipal", organisation=desk.municipality)
    theirs = pf.make_challenge(desk.municipality, status="published", author_id=colleague.id)
    invited = pf.make_match(theirs, pf.make_solution(pf.make_company()), origin="municipality_invite",
                            created_by_id=desk.leaver.id)
    untouched = pf.make_match(theirs, pf.make_solution(pf.make_company()), created_by_id=colleague.id)
    closed = pf.make_challenge(desk.municipality, status="closed", author_id=desk.leaver.id)
    db.session.commit()
    work = handover.open_work(desk.leaver)
    assert invited in work.matches and untouched not in work.matches and closed not in work.challenges
    login_as("coordinator")
    post_page(client, "auth.handover_page", {"leaver": desk.leaver.id, "successor": desk.successor.id},
              organisation_id=desk.municipality.id)
    db.session.expire_all()
    assert (invited.created_by_id, untouched.created_by_id) == (desk.successor.id, colleague.id)
    assert (theirs.author_id, closed.author_id) == (colleague.id, desk.leaver.id)
    handed = set(db.session.scalars(select(MatchEvent.match_id).where(MatchEvent.kind == "handover")))
    assert invited.id in handed and untouched.id not in handed
    assert handover.open_work(desk.leaver).total == 0


def test_a_staff_member_of_the_municipality_may_hand_over(client: Any, login_as: Any, desk: Desk) -> None:
    login_as(pf.make_user("municipal", organisation=desk.municipality))
    post_page(client, "auth.handover_page", {"leaver": desk.leaver.id, "successor": desk.successor.id},
              organisation_id=desk.municipality.id)
    db.session.expire_all()
    assert desk.pair.challenge.author_id == desk.successor.id


def test_successor_of_another_municipality_is_refused(client: Any, login_as: Any, desk: Desk) -> None:
    stranger = pf.make_user("municipal", organisation=pf.make_municipality())
    login_as("coordinator")
    page = get_page(client, "auth.handover_page", organisation_id=desk.municipality.id)
    assert str(stranger.id) not in {o["value"] for o in page.select("#successor option")}
    page = post_page(client, "auth.handover_page", {"leaver": desk.leaver.id, "successor": stranger.id},
                     organisation_id=desk.municipality.id)
    assert page.select("#handover-form .error, #handover-form [aria-invalid=true]")
    with pytest.raises(handover.FieldError):
        handover.hand_over(desk.successor, desk.municipality, desk.leaver, stranger)
    db.session.rollback()
    db.session.expire_all()
    assert desk.pair.challenge.author_id == desk.leaver.id
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("%.handover"))).all()
    assert not db.session.scalars(select(Notification).where(Notification.kind == "match.handover")).all()


def test_staff_of_another_municipality_cannot_hand_over(client: Any, login_as: Any, desk: Desk) -> None:
    outsider = login_as(pf.make_user("municipal", organisation=pf.make_municipality()))
    response = client.post(url_for("auth.handover_page", organisation_id=desk.municipality.id),
                           data={"leaver": desk.leaver.id, "successor": desk.successor.id})
    assert response.status_code == 403
    with pytest.raises(PermissionError):
        handover.hand_over(outsider, desk.municipality, desk.leaver, desk.successor)
    db.session.expire_all()
    assert desk.pair.challenge.author_id == desk.leaver.id
    # Nor may they hand their own municipality's work to someone of this one.
    with pytest.raises(handover.FieldError):
        handover.hand_over(outsider, outsider.organisation, outsider, desk.successor)


def test_dossier_shows_history_commitments_and_contacts_to_the_parties_only(client: Any, login_as: Any,
                                                                            desk: Desk) -> None:
    login_as("coordinator")
    post_page(client, "auth.handover_page", {"leaver": desk.leaver.id, "successor": desk.successor.id},
              organisation_id=desk.municipality.id)
    for viewer in (desk.successor, desk.pair.company_user, pf.make_user("coordinator")):
        login_as(viewer)
        page = get_page(client, "records.record", kind="dossier", ident=desk.match.id)
        text = page_text(page)
        assert "後任 花子" in page_text(page.select_one("#dossier-contacts"))  # type: ignore[arg-type]
        assert desk.leaver.name in page_text(page.select_one("#dossier-contacts"))  # type: ignore[arg-type]
        assert "見守りアプリの提案" in page_text(page.select_one("#dossier-commitments"))  # type: ignore[arg-type]
        assert "見守りアプリの提案" in page_text(page.select_one("#dossier-open-decisions"))  # type: ignore[arg-type]
        assert page.select("#dossier-documents a") and page.select("#dossier-history article")
        assert desk.pair.challenge.title in text
    for outsider in (desk.other_company_user, pf.make_user("municipal", organisation=pf.make_municipality())):
        login_as(outsider)
        response = client.get(url_for("records.record", kind="dossier", ident=desk.match.id))
        assert response.status_code == 404
        assert "後任 花子" not in response.get_data(as_text=True)


def test_board_shows_matches_stalled_since_the_transfer(client: Any, login_as: Any, desk: Desk) -> None:
    coordinator = login_as("coordinator")
    handover.hand_over(coordinator, desk.municipality, desk.leaver, desk.successor)
    db.session.commit()
    long_ago = datetime.now(UTC) - timedelta(days=handover.STALLED_AFTER_HANDOVER_DAYS + 1)
    for event in db.session.scalars(select(MatchEvent)):  # the matches were created before the transfer
        event.at = long_ago if event.kind == "handover" else long_ago - timedelta(days=30)
    # The pilot match moved on after the transfer: it is not stalled.
    db.session.add(MatchEvent(match_id=desk.pilot_match.id, at=datetime.now(UTC), kind="pilot.report"))
    db.session.commit()
    page = get_page(client, "coordinator.board")
    rows = {int(tr["data-match"]) for tr in page.select("#stalled-after-handover tr[data-match]")}
    assert rows == {desk.match.id}
    link = page.select_one(f"#stalled-after-handover tr[data-match='{desk.match.id}'] a.handover-page")
    assert link["href"] == url_for("auth.handover_page", organisation_id=desk.municipality.id, _external=False)



@pytest.mark.skipif(pdf.unavailable_reason() is not None, reason="WeasyPrint cannot load pango (make pdf)")
def test_dossier_pdf(client: Any, login_as: Any, desk: Desk) -> None:
    login_as(desk.pair.company_user)
    response = client.get(url_for("records.record_pdf", kind="dossier", ident=desk.match.id))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


def test_a_newcomer_finds_the_handover_from_the_dashboard(client: Any, login_as: Any, desk: Desk) -> None:
    login_as(desk.successor)
    page = get_page(client, "municipality.dashboard")
    assert page.select_one("#handover-link")["href"] == url_for(  # type: ignore[index]
        "auth.handover_page", organisation_id=desk.municipality.id, _external=False)
