"""Proposals: the deadline rule, the one-open-proposal rule, withdraw, decisions and page permissions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from matchmaker.services import matches as match_service
from matchmaker.services import proposals as proposal_service
from matchmaker.services.errors import FieldError
from models import AuditEvent, Match, Notification, Proposal
from tests.pages import get_page, page_text, post_page
from tests.pipeline_factories import make_match, make_pair, make_proposal, make_user, switch_user

VALUES = {"title": "参加記録アプリによる見守り", "approach": "QRコードで出欠を記録する。", "schedule": "5〜8月に実証",
          "cost_estimate": 1_500_000, "needs_from_municipality": "会場の紹介"}


def _form(pair: Any, **overrides: Any) -> dict[str, Any]:
    data = {"solution_id": pair.solution.id, "title": VALUES["title"], "approach": VALUES["approach"],
            "schedule": VALUES["schedule"], "cost_estimate": "150万", "needs_from_municipality": "会場の紹介"}
    data.update(overrides)
    return data


def test_submit_moves_the_match_to_proposal_and_tells_the_owner(db: Any) -> None:
    pair = make_pair()
    proposal = proposal_service.submit(pair.challenge, pair.solution, pair.company_user, VALUES)
    db.session.commit()
    match = db.session.get(Match, proposal.match_id)
    assert match.stage == "proposal" and match.origin == "proposal"
    assert proposal.status == "submitted" and proposal.organisation_id == pair.company.id
    assert [e.kind for e in match.events] == ["created", "stage"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "proposal.submitted")) == 1
    note = db.session.scalars(select(Notification).where(Notification.user_id == pair.owner.id)).one()
    assert note.kind == "proposal.submitted" and pair.company.name in note.body


def test_late_proposal_is_refused_naming_the_deadline(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair(deadline=date.today() - timedelta(days=1))
    with pytest.raises(FieldError) as refused:
        proposal_service.submit(pair.challenge, pair.solution, pair.company_user, VALUES)
    assert "締切" in str(refused.value) and "令和" in str(refused.value)
    db.session.rollback()
    login_as(pair.company_user)
    page = post_page(client, "matches.propose", _form(pair), challenge_id=pair.challenge.id)
    refusal = page.find(id="refusal")
    assert refusal is not None and "締切" in refusal.get_text() and "過ぎている" in refusal.get_text()
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_proposal_on_the_deadline_day_is_accepted(db: Any) -> None:
    pair = make_pair(deadline=match_service.local_today())
    proposal_service.submit(pair.challenge, pair.solution, pair.company_user, VALUES)
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 1


def test_one_open_proposal_per_company_per_challenge(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    first = proposal_service.submit(pair.challenge, pair.solution, pair.company_user, VALUES)
    db.session.commit()
    # A second profile of the same company does not get round the rule.
    from tests.factories import make_solution

    other_profile = make_solution(pair.company, title="別の製品")
    db.session.commit()
    with pytest.raises(FieldError) as refused:
        proposal_service.submit(pair.challenge, other_profile, pair.company_user, VALUES)
    assert "既に" in str(refused.value)
    db.session.rollback()
    login_as(pair.company_user)
    page = post_page(client, "matches.propose", _form(pair), challenge_id=pair.challenge.id)
    assert "既に" in page.find(id="refusal").get_text()
    # After withdrawing, the company may propose again.
    proposal_service.withdraw(db.session.get(Proposal, first.id), pair.company_user)
    db.session.commit()
    post_page(client, "matches.propose", _form(pair), challenge_id=pair.challenge.id)
    statuses = sorted(db.session.scalars(select(Proposal.status)))
    assert statuses == ["submitted", "withdrawn"]


def test_the_database_backs_the_one_open_proposal_rule(db: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="proposal")
    make_proposal(match)
    db.session.commit()
    with pytest.raises(IntegrityError):
        make_proposal(match, status="shortlisted")
    db.session.rollback()
    make_proposal(match, status="withdrawn", withdrawn_at=match_service.now_utc())  # closed ones do not count
    db.session.commit()


def test_submit_through_the_page(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.company_user)
    page = post_page(client, "matches.propose", _form(pair), challenge_id=pair.challenge.id)
    proposal = db.session.scalars(select(Proposal)).one()
    assert proposal.cost_estimate == 1_500_000
    assert page.find(id="proposal-status").get_text(strip=True) == "提出済み"


def test_bad_cost_is_put_on_the_field(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.company_user)
    page = post_page(client, "matches.propose", _form(pair, cost_estimate="たくさん"), challenge_id=pair.challenge.id)
    assert "金額は数字で" in page_text(page)
    assert page.find("textarea", attrs={"name": "approach"}).get_text().strip() == VALUES["approach"]  # nothing lost


def test_decline_needs_a_reason_and_closes_the_match(db: Any) -> None:
    pair = make_pair()
    proposal = proposal_service.submit(pair.challenge, pair.solution, pair.company_user, VALUES)
    with pytest.raises(FieldError):
        proposal_service.decline(proposal, pair.owner, "  ")
    proposal_service.decline(proposal, pair.owner, "今年度は予算の見込みがないため")
    db.session.commit()
    match = proposal.match
    assert proposal.status == "declined" and proposal.decision_reason == "今年度は予算の見込みがないため"
    assert (match.stage, match.close_reason, match.closed_from) == ("closed", "rejected", "proposal")


def test_shortlist_and_invite_to_sounding(db: Any) -> None:
    pair = make_pair()
    proposal = proposal_service.submit(pair.challenge, pair.solution, pair.company_user, VALUES)
    proposal_service.shortlist(proposal, pair.owner)
    assert proposal.status == "shortlisted"
    proposal_service.invite_to_sounding(proposal, pair.owner)
    db.session.commit()
    assert proposal.status == "invited" and proposal.match.stage == "sounding"
    with pytest.raises(match_service.MoveRefused):
        proposal_service.shortlist(proposal, pair.company_user)


@pytest.mark.parametrize(("who", "status"), [
    ("company", 200), ("owner", 200), ("coordinator", 200), ("admin", 200),
    ("other_company", 404), ("other_municipality", 404),
])
def test_proposal_page_permissions(db: Any, client: Any, login_as: Any, who: str, status: int) -> None:
    pair = make_pair()
    proposal = make_proposal(make_match(pair.challenge, pair.solution, stage="proposal"))
    users = {"company": pair.company_user, "owner": pair.owner}
    user = users.get(who) or make_user({"other_company": "company", "other_municipality": "municipal"}.get(who, who))
    login_as(user)
    page = get_page(client, "matches.proposal", expected_status=status, proposal_id=proposal.id)
    if status == 200:
        assert proposal.approach in page_text(page)
        assert (page.find(id="decide") is not None) is (who in ("owner", "coordinator", "admin"))
        assert (page.find(id="withdraw") is not None) is (who == "company")


def test_anonymous_is_sent_to_login(db: Any, client: Any) -> None:
    pair = make_pair()
    proposal = make_proposal(make_match(pair.challenge, pair.solution, stage="proposal"))
    db.session.commit()
    for endpoint, values in (("matches.proposal", {"proposal_id": proposal.id}),
                             ("matches.propose", {"challenge_id": pair.challenge.id}),
                             ("matches.challenge_proposals", {"challenge_id": pair.challenge.id})):
        response = client.get(__import__("flask").url_for(endpoint, **values))
        assert response.status_code == 302 and "/auth/login" in response.location


@pytest.mark.parametrize(("action", "who"), [
    ("withdraw_proposal", "other_company"), ("withdraw_proposal", "owner"),
    ("shortlist_proposal", "company"), ("decline_proposal", "company"), ("invite_proposal", "company"),
])
def test_wrong_party_cannot_act_on_a_proposal(db: Any, client: Any, login_as: Any, action: str, who: str) -> None:
    pair = make_pair()
    proposal = make_proposal(make_match(pair.challenge, pair.solution, stage="proposal"))
    user = {"owner": pair.owner, "company": pair.company_user}.get(who) or make_user("company")
    login_as(user)
    expected = 404 if who == "other_company" else 403
    post_page(client, f"matches.{action}", {"reason": "理由"}, expected_status=expected, proposal_id=proposal.id)
    assert db.session.get(Proposal, proposal.id).status == "submitted"


def test_propose_page_is_for_companies(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(make_user("municipal"))
    get_page(client, "matches.propose", expected_status=403, challenge_id=pair.challenge.id)


def test_challenge_proposals_list(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    make_proposal(make_match(pair.challenge, pair.solution, stage="proposal"))
    login_as(pair.owner)
    page = get_page(client, "matches.challenge_proposals", challenge_id=pair.challenge.id)
    assert pair.company.name in page.find(id="proposals").get_text()
    switch_user(login_as, make_user("municipal"))
    get_page(client, "matches.challenge_proposals", expected_status=403, challenge_id=pair.challenge.id)
    switch_user(login_as, pair.company_user)
    get_page(client, "matches.challenge_proposals", expected_status=403, challenge_id=pair.challenge.id)


@pytest.mark.parametrize("action", ["withdraw_proposal", "decline_proposal"])
def test_a_decision_on_the_page_locks_the_proposal_it_loaded(db: Any, client: Any, login_as: Any, action: str) -> None:
    """The page loads the proposal with its organisation; locking it afterwards must still work
    (on PostgreSQL FOR UPDATE refuses the outer join that a refresh with the load's options sent)."""
    pair = make_pair()
    proposal_id = make_proposal(make_match(pair.challenge, pair.solution, stage="proposal")).id
    db.session.commit()
    login_as(pair.company_user if action == "withdraw_proposal" else pair.owner)
    db.session.expunge_all()  # the request loads the proposal itself, as a worker does
    post_page(client, f"matches.{action}", {"reason": "体制が整わなかったため"}, proposal_id=proposal_id)
    db.session.expunge_all()
    assert db.session.get(Proposal, proposal_id).status == ("withdrawn" if action == "withdraw_proposal" else "declined")
