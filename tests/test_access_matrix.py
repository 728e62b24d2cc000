"""Access control, generated: every endpoint × every actor × every object state that matters.

``GET_POLICY`` declares, for each endpoint that answers GET, the status each of the eight actors
gets, per state of the object the URL names (a challenge in each status, a match at each stage, an
active or withdrawn profile...). ``POST_POLICY`` declares who is refused each form post; a refused
post must answer the refusal and change nothing in the database. Both tables are checked against
``app.url_map``: an endpoint added tomorrow and missing from them fails ``test_every_endpoint_is_declared``.

Objects of another organisation answer 404 (their existence is not revealed), never their contents:
every 404 and 403 here is also checked not to show the object's title.

The expected codes: 200 shown, 302 sent to the login page (anonymous, deactivated), 403 refused
(wrong role for a page that names no private object), 404 hidden.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask, g, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from matchmaker.services import api_tokens, attachments, selection
from models import (
    Challenge,
    DialogueNote,
    DisclosureInquiry,
    Match,
    Organisation,
    OutboxMail,
    Solution,
    User,
    db,
)
from tests import pipeline_factories as pf

ACTORS: tuple[str, ...] = (
    "anonymous", "owner", "other_municipality", "company", "other_company", "coordinator", "admin", "deactivated",
)
SECRET = "非公開の検討メモ"  # in every private object's text: a refusal must never show it

CHALLENGE_STATES = ("draft", "in_review", "published", "closed")
MATCH_STAGES = ("recommended", "proposal", "sounding", "pilot", "adopted", "closed")


@dataclass
class World:
    """One instance of everything a URL can name, in every state, with an actor of each kind."""

    users: dict[str, User | None] = field(default_factory=dict)
    challenges: dict[str, Challenge] = field(default_factory=dict)
    matches: dict[str, Match] = field(default_factory=dict)
    solutions: dict[str, Solution] = field(default_factory=dict)
    municipality: Organisation | None = None
    company: Organisation | None = None
    ids: dict[str, int] = field(default_factory=dict)


def build_world() -> World:
    world = World()
    muni = pf.make_municipality()
    other_muni = pf.make_municipality()
    company = pf.make_company()
    other_company = pf.make_company()
    world.municipality, world.company = muni, company
    world.users = {
        "anonymous": None,
        "owner": pf.make_user("municipal", organisation=muni),
        "other_municipality": pf.make_user("municipal", organisation=other_muni),
        "company": pf.make_user("company", organisation=company),
        "other_company": pf.make_user("company", organisation=other_company),
        "coordinator": pf.make_user("coordinator"),
        "admin": pf.make_user("admin"),
        "deactivated": pf.make_user("municipal", organisation=muni, active=False),
    }
    for status in CHALLENGE_STATES:
        world.challenges[status] = pf.make_challenge(muni, status=status, title=f"{SECRET}（{status}の課題）")
    world.solutions["active"] = pf.make_solution(company, title=f"{SECRET}（公開中の製品）")
    world.solutions["inactive"] = pf.make_solution(company, title=f"{SECRET}（取り下げた製品）", active=False)
    published = world.challenges["published"]
    for stage in MATCH_STAGES:
        solution = pf.make_solution(company, title=f"{SECRET}（{stage}の製品）")
        world.matches[stage] = pf.make_match(published, solution, stage=stage)
    proposal_match = world.matches["proposal"]
    proposal = pf.make_proposal(proposal_match, world.users["company"], title=f"{SECRET}（提案）")
    upload = FileStorage(io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"),
                         filename="提案書.pdf", content_type="application/pdf")
    attachment = attachments.store(proposal, upload, world.users["company"])
    question = pf.make_question(published, world.users["company"], answered=True)
    unanswered = pf.make_question(published, world.users["company"])
    sounding = pf.make_sounding(published, title=f"{SECRET}（サウンディング）")
    booking = pf.make_booking(sounding, sounding.slots[0], world.matches["sounding"])
    db.session.add(DialogueNote(booking=booking, author=world.users["owner"], body=SECRET))
    # the published challenge's frozen selection evidence pack (the other challenges have none)
    selection.freeze(published, world.matches["adopted"], world.users["owner"], decision="adopted", reason=SECRET)
    notification = pf.make_notification(world.users["company"], subject=SECRET)
    api_token = api_tokens.issue(world.users["company"], name=SECRET, scope="write", days=30).token
    mail = OutboxMail(user_id=world.users["company"].id, to_address=world.users["company"].email, subject=SECRET,
                      body=SECRET, kind="immediate", status="sent", sent_at=datetime.now(UTC))
    db.session.add(mail)
    inquiry = DisclosureInquiry(record_kind="proposal_disclosure", record_id=proposal.id, challenge=published,
                                organisation=company, open_key=f"proposal_disclosure:{proposal.id}:{company.id}",
                                title=SECRET, document_text=SECRET, deadline=date.today() + timedelta(days=14),
                                started_by_id=world.users["owner"].id)
    db.session.add(inquiry)
    db.session.flush()
    world.ids = {"proposal": proposal.id, "attachment": attachment.id, "question": question.id,
                 "unanswered": unanswered.id, "sounding": sounding.id, "booking": booking.id,
                 "notification": notification.id, "mail": mail.id, "inquiry": inquiry.id, "api_token": api_token.id, "municipality": muni.id,
                 "other_municipality": other_muni.id, "company_user": world.users["company"].id}
    db.session.commit()
    return world


Args = Callable[[World, str], dict[str, Any]]


def none(world: World, state: str) -> dict[str, Any]:
    return {}


def challenge(world: World, state: str) -> dict[str, Any]:
    return {"challenge_id": world.challenges[state].id}


def solution(world: World, state: str) -> dict[str, Any]:
    return {"solution_id": world.solutions[state].id}


def match(world: World, state: str) -> dict[str, Any]:
    return {"match_id": world.matches[state].id}


def by_id(key: str, name: str) -> Args:
    return lambda world, state: {name: world.ids[key]}


def record(kind: str, source: str) -> Args:
    def args(world: World, state: str) -> dict[str, Any]:
        ident = world.matches[state].id if source == "match" else (
            world.challenges[state].id if source == "challenge" else world.ids[source])
        return {"kind": kind, "ident": ident}
    return args


def challenge_ident(world: World, state: str) -> dict[str, Any]:
    return {"ident": world.challenges[state].id}


def export(kind: str, fmt: str) -> Args:
    return lambda world, state: {"kind": kind, "fmt": fmt}


# Status codes per actor, in the order of ACTORS.
OPEN = "200 200 200 200 200 200 200 200"
LOGGED_IN = "302 200 200 200 200 200 200 302"
ADMIN_ONLY = "302 403 403 403 403 403 200 302"
COORDINATION = "302 403 403 403 403 200 200 302"
MUNICIPAL = "302 200 200 403 403 403 403 302"
COMPANY = "302 403 403 200 200 403 403 302"
SIGNED_IN_ELSEWHERE = "200 303 303 303 303 303 303 200"  # login and registration send the signed-in home
HIDDEN = "302 404 404 404 404 404 404 302"  # the URL names nothing anyone may see (yet)
# A challenge that is not published (draft, in review): its municipality and the coordinators; to
# everyone else it does not exist, on its public URL too.
PRIVATE_CHALLENGE = "302 200 404 404 404 200 200 302"
PRIVATE_CHALLENGE_PAGE = "404 200 404 404 404 200 200 404"
# The municipal side of a published challenge or of an organisation: its staff and the coordinators.
OWNER_SIDE = "302 200 403 403 403 200 200 302"
# A match and what hangs on it: the two parties and the coordinators; others do not learn it exists.
PARTIES = "302 200 404 200 404 200 200 302"
PARTIES_MUNICIPAL_SIDE = "302 200 404 403 404 200 200 302"  # a decision of the municipality's
NOT_AT_THIS_STAGE = "302 403 404 403 404 403 403 302"  # the parties see why; outsiders still get 404
SELECTION_PACK = "302 200 404 404 404 200 200 302"  # the municipality's and the coordinators' only
OWN_PROFILE = "302 403 403 200 403 403 200 302"  # its company edits it; an administrator may
HIDDEN_PROFILE = "302 404 404 200 404 404 200 302"  # a withdrawn profile: its company and administrators


@dataclass(frozen=True)
class Rule:
    args: Args
    expected: dict[str, str]  # state → one status per actor ("-" when the URL names no object)


def by_status(published: str, private: str) -> dict[str, str]:
    """Codes for a challenge in each status: published and closed alike, draft and in review alike."""
    return {"draft": private, "in_review": private, "published": published, "closed": published}


def by_stage(at: tuple[str, ...], codes: str, elsewhere: str) -> dict[str, str]:
    """Codes for a match at each stage: ``codes`` at the stages in ``at``, ``elsewhere`` at the others."""
    return {stage: codes if stage in at else elsewhere for stage in MATCH_STAGES}


API_HIDDEN = "404 404 404 404 404 404 404 404"
PACK_STATES = {**dict.fromkeys(CHALLENGE_STATES, HIDDEN), "published": SELECTION_PACK}  # only it has a pack
API_UNAUTHENTICATED = "401 401 401 401 401 401 401 401"

GET_POLICY: dict[str, Rule] = {
    # Public pages
    "public.index": Rule(none, {"-": OPEN}),
    "public.challenges": Rule(none, {"-": OPEN}),
    "public.accessibility": Rule(none, {"-": OPEN}),
    "public.open_data": Rule(none, {"-": OPEN}),
    "public.api_docs": Rule(none, {"-": OPEN}),
    "public.challenge": Rule(challenge, by_status(OPEN, PRIVATE_CHALLENGE_PAGE)),
    "records.record": Rule(record("challenge", "challenge"), by_status(OPEN, PRIVATE_CHALLENGE_PAGE)),
    "records.record_pdf": Rule(record("challenge", "challenge"), by_status(OPEN, PRIVATE_CHALLENGE_PAGE)),
    "matches.cases": Rule(none, {"-": OPEN}),
    "matches.case": Rule(match, by_stage(("adopted",), OPEN, API_HIDDEN)),
    "static": Rule(lambda world, state: {"filename": "css/app.css"}, {"-": OPEN}),
    # The open-data API answers as to the public, whoever asks.
    "api-docs.openapi_json": Rule(none, {"-": OPEN}),
    "api_v1.challenges": Rule(none, {"-": OPEN}),
    "api_v1.challenge": Rule(challenge, by_status(OPEN, API_HIDDEN)),
    "api_v1.questions": Rule(challenge, by_status(OPEN, API_HIDDEN)),
    "api_v1.cases": Rule(none, {"-": OPEN}),
    "api_v1.case": Rule(match, by_stage(("adopted",), OPEN, API_HIDDEN)),
    "api_v1.soundings": Rule(challenge, by_status(OPEN, API_HIDDEN)),
    "api_v1.funnel": Rule(none, {"-": OPEN}),
    "api_v1.open_challenges_csv": Rule(none, {"-": OPEN}),
    "api_v1.open_challenges_json": Rule(none, {"-": OPEN}),
    "api_v1.open_cases_csv": Rule(none, {"-": OPEN}),
    "api_v1.open_cases_json": Rule(none, {"-": OPEN}),
    # A session cookie signs no one in to the token endpoints (tests/test_api_access.py: with tokens).
    "api_v1_token.me": Rule(none, {"-": API_UNAUTHENTICATED}),
    "api_v1_token.my_challenges": Rule(none, {"-": API_UNAUTHENTICATED}),
    "api_v1_token.my_solutions": Rule(none, {"-": API_UNAUTHENTICATED}),
    "api_v1_token.challenge_recommendations": Rule(challenge, by_status(API_UNAUTHENTICATED, API_UNAUTHENTICATED)),
    "api_v1_token.solution": Rule(solution, {"active": API_UNAUTHENTICATED, "inactive": API_UNAUTHENTICATED}),
    "api_v1_token.solution_recommendations": Rule(solution, {"active": API_UNAUTHENTICATED}),
    "api_v1_token.board": Rule(none, {"-": API_UNAUTHENTICATED}),
    "api_v1_token.match": Rule(match, dict.fromkeys(MATCH_STAGES, API_UNAUTHENTICATED)),
    # Accounts
    "auth.login": Rule(none, {"-": SIGNED_IN_ELSEWHERE}),
    "auth.login_second_factor": Rule(none, {"-": "302 302 302 302 302 302 302 302"}),
    "auth.register": Rule(none, {"-": SIGNED_IN_ELSEWHERE}),
    "auth.settings": Rule(none, {"-": LOGGED_IN}),
    "auth.change_password": Rule(none, {"-": LOGGED_IN}),
    "auth.api_tokens_page": Rule(none, {"-": LOGGED_IN}),
    "auth.two_factor": Rule(none, {"-": "302 404 404 404 404 200 200 302"}),
    "auth.contract_limits": Rule(by_id("municipality", "organisation_id"), {"-": OWNER_SIDE}),
    "auth.fiscal_calendar": Rule(by_id("municipality", "organisation_id"), {"-": OWNER_SIDE}),
    "auth.handover_page": Rule(by_id("municipality", "organisation_id"), {"-": OWNER_SIDE}),
    # Municipality
    "municipality.dashboard": Rule(none, {"-": MUNICIPAL}),
    "municipality.new_challenge": Rule(none, {"-": MUNICIPAL}),
    "municipality.edit_challenge": Rule(challenge, by_status("302 403 403 403 403 403 403 302",
                                                            "302 200 404 403 403 403 403 302")),
    # 評価シート: only the challenge's own municipal staff; another municipality does not learn it exists
    "municipality.evaluation_sheet": Rule(challenge, by_status("302 200 404 403 403 403 403 302",
                                                              "302 200 404 403 403 403 403 302")),
    # Company
    "company.dashboard": Rule(none, {"-": COMPANY}),
    "company.new_solution": Rule(none, {"-": COMPANY}),
    "company.solution": Rule(solution, {"active": LOGGED_IN, "inactive": HIDDEN_PROFILE}),
    "company.edit_solution": Rule(solution, {"active": OWN_PROFILE, "inactive": HIDDEN_PROFILE}),
    # Coordination
    "coordinator.dashboard": Rule(none, {"-": COORDINATION}),
    "coordinator.board": Rule(none, {"-": COORDINATION}),
    "coordinator.review": Rule(challenge, dict.fromkeys(CHALLENGE_STATES, COORDINATION)),
    "coordinator.edit_challenge": Rule(challenge, {**dict.fromkeys(CHALLENGE_STATES, COORDINATION),
                                                   "closed": "302 403 403 403 403 403 403 302"}),
    "coordinator.export": Rule(export("matches", "csv"), {"-": COORDINATION}),
    # Administration (the audit log and the exposure figures are the coordinators' too)
    "admin.dashboard": Rule(none, {"-": ADMIN_ONLY}),
    "admin.audit": Rule(none, {"-": COORDINATION}),
    "admin.exposure": Rule(none, {"-": COORDINATION}),
    "admin.users": Rule(none, {"-": ADMIN_ONLY}),
    "admin.user": Rule(by_id("company_user", "user_id"), {"-": ADMIN_ONLY}),
    "admin.personal_data_export": Rule(by_id("company_user", "user_id"), {"-": ADMIN_ONLY}),
    "admin.new_user": Rule(none, {"-": ADMIN_ONLY}),
    "admin.organisations": Rule(none, {"-": ADMIN_ONLY}),
    "admin.edit_organisation": Rule(by_id("municipality", "organisation_id"), {"-": ADMIN_ONLY}),
    "admin.outbox": Rule(none, {"-": ADMIN_ONLY}),
    "admin.outbox_mail": Rule(by_id("mail", "mail_id"), {"-": ADMIN_ONLY}),
    # Recommendations: a challenge's for its municipality, a profile's for its company
    "matches.for_challenge": Rule(challenge, by_status(OWNER_SIDE, PRIVATE_CHALLENGE)),
    "matches.for_challenge_json": Rule(challenge, by_status(OWNER_SIDE, PRIVATE_CHALLENGE)),
    "matches.for_solution": Rule(solution, {"active": "302 403 403 200 403 200 200 302", "inactive": HIDDEN_PROFILE}),
    "matches.for_solution_json": Rule(solution, {"active": "302 403 403 200 403 200 200 302",
                                                 "inactive": HIDDEN_PROFILE}),
    # Pipeline (coordinators and administrators have the board instead of 'my matches')
    "matches.mine": Rule(none, {"-": "302 200 200 200 200 303 303 302"}),
    "matches.match": Rule(match, dict.fromkeys(MATCH_STAGES, PARTIES)),
    "matches.challenge_proposals": Rule(challenge, by_status(OWNER_SIDE, PRIVATE_CHALLENGE)),
    "matches.propose": Rule(challenge, by_status("302 403 403 200 200 403 403 302", "302 403 404 404 404 403 403 302")),
    "matches.proposal": Rule(by_id("proposal", "proposal_id"), {"-": PARTIES}),
    "matches.attachment": Rule(by_id("attachment", "attachment_id"), {"-": PARTIES}),
    "matches.questions": Rule(challenge, by_status("302 200 403 200 200 200 200 302", PRIVATE_CHALLENGE)),
    "matches.new_sounding": Rule(challenge, by_status(OWNER_SIDE, PRIVATE_CHALLENGE)),
    "matches.sounding": Rule(by_id("sounding", "sounding_id"), {"-": LOGGED_IN}),
    "matches.sounding_results": Rule(by_id("sounding", "sounding_id"), {"-": OWNER_SIDE}),
    "matches.booking": Rule(by_id("booking", "booking_id"), {"-": PARTIES}),
    "matches.notifications": Rule(none, {"-": LOGGED_IN}),
    # Opening one's own notification marks it read and follows its link.
    "matches.open_notification": Rule(by_id("notification", "notification_id"),
                                      {"-": "302 404 404 303 404 404 404 302"}),
    "matches.plan_pilot": Rule(match, by_stage(("proposal", "sounding"), PARTIES_MUNICIPAL_SIDE, NOT_AT_THIS_STAGE)),
    "matches.pilot_report": Rule(match, by_stage(("pilot",), PARTIES_MUNICIPAL_SIDE, NOT_AT_THIS_STAGE)),
    "matches.budget_request": Rule(match, by_stage(("pilot",), PARTIES_MUNICIPAL_SIDE, NOT_AT_THIS_STAGE)),
    "matches.adopt": Rule(match, by_stage(("proposal", "sounding", "pilot"), PARTIES_MUNICIPAL_SIDE,
                                          NOT_AT_THIS_STAGE)),
    "matches.close": Rule(match, by_stage(("recommended", "proposal", "sounding", "pilot"), PARTIES,
                                          NOT_AT_THIS_STAGE)),
    # Printable records: the parties of the record and the coordinators; a record the match does not
    # have yet (a pilot plan before the pilot) does not exist.
    "records.record#proposal": Rule(record("proposal", "proposal"), {"-": PARTIES}),
    "records.record#dialogue": Rule(record("dialogue", "booking"), {"-": PARTIES}),
    "records.record#pilot": Rule(record("pilot", "match"), by_stage(("pilot", "adopted"), PARTIES, HIDDEN)),
    "records.record#adoption": Rule(record("adoption", "match"), by_stage(("adopted",), PARTIES, HIDDEN)),
    "records.record#proposal_disclosure": Rule(record("proposal_disclosure", "proposal"), {"-": PARTIES}),
    "records.record#dialogue_disclosure": Rule(record("dialogue_disclosure", "booking"), {"-": PARTIES}),
    "records.record#challenge_disclosure": Rule(record("challenge_disclosure", "challenge"),
                                                by_status(LOGGED_IN, PRIVATE_CHALLENGE)),
    "records.record#pilot_disclosure": Rule(record("pilot_disclosure", "match"),
                                            by_stage(("pilot", "adopted"), PARTIES, HIDDEN)),
    # All questions of a challenge with their askers withheld: a record of the municipal side
    "records.record#qa_disclosure": Rule(record("qa_disclosure", "challenge"), by_status(OWNER_SIDE, PRIVATE_CHALLENGE)),
    # 第三者意見照会: the list and the start form are the municipal side's; an inquiry is also its company's
    "records.inquiries#proposal_disclosure": Rule(record("proposal_disclosure", "proposal"),
                                                  {"-": PARTIES_MUNICIPAL_SIDE}),
    "records.inquiries#qa_disclosure": Rule(record("qa_disclosure", "challenge"),
                                            by_status(OWNER_SIDE, PRIVATE_CHALLENGE)),
    "records.inquiry": Rule(by_id("inquiry", "inquiry_id"), {"-": PARTIES}),
    "records.record#dossier": Rule(record("dossier", "match"), {stage: PARTIES for stage in MATCH_STAGES}),
    "records.record#budget_pack": Rule(record("budget_pack", "match"), by_stage(
        ("pilot", "adopted"), PARTIES_MUNICIPAL_SIDE, HIDDEN)),
    # 選定の記録: the challenge's municipality and coordinators, never a company; none frozen yet → 404
    "records.record#selection": Rule(record("selection", "challenge"), PACK_STATES),
    "records.selection_docx": Rule(challenge_ident, PACK_STATES),
    "records.selection_xlsx": Rule(challenge_ident, PACK_STATES),
}


def endpoint_of(key: str) -> str:
    return key.split("#", 1)[0]


def log_in(client: FlaskClient, user: User | None) -> None:
    with client.session_transaction() as session:
        session.clear()
        if user is not None:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    g.pop("_login_user", None)


def status_of(response: Any) -> int:
    """302 only for a redirect to the login page; any other redirect is reported as 303."""
    if response.status_code == 302:
        return 302 if "/auth/login" in (response.location or "") else 303
    return int(response.status_code)


def check_get(client: FlaskClient, world: World, key: str, rule: Rule) -> list[str]:
    failures = []
    for state, codes in rule.expected.items():
        url = url_for(endpoint_of(key), **rule.args(world, state))
        for actor, expected in zip(ACTORS, codes.split(), strict=True):
            log_in(client, world.users[actor])
            response = client.get(url)
            got = status_of(response)
            if got != int(expected):
                failures.append(f"{key} [{state}] {actor}: expected {expected}, got {got} ({url})")
            elif got in (403, 404) and SECRET in response.get_data(as_text=True):
                failures.append(f"{key} [{state}] {actor}: the refusal shows the object ({url})")
            response.close()
    return failures


@pytest.mark.parametrize("key", sorted(GET_POLICY))
def test_get(app: Flask, client: FlaskClient, key: str) -> None:
    world = build_world()
    failures = check_get(client, world, key, GET_POLICY[key])
    assert not failures, "\n".join(failures)


ALLOWED = "ok"  # may do it: what happens then is the business of the feature's own tests


@dataclass(frozen=True)
class PostRule:
    args: Args
    state: str  # the object's state: one where the action is possible, so a refusal is about who asks
    expected: str  # per actor: the refusal's status, or "ok"


def stage(name: str) -> Args:
    return lambda world, state: match(world, name)


def challenge_in(status: str) -> Args:
    return lambda world, state: challenge(world, status)


def solution_in(name: str) -> Args:
    return lambda world, state: solution(world, name)


def proposal_args(world: World, state: str) -> dict[str, Any]:
    return {"proposal_id": world.ids["proposal"]}


# Codes per actor for a form post; "ok" for those who may.
OK_FOR_ALL_SIGNED_IN = "302 ok ok ok ok ok ok 302"
OK_FOR_COORDINATION = "302 403 403 403 403 ok ok 302"
OK_FOR_ADMIN = "302 403 403 403 403 403 ok 302"
OK_FOR_OWNER_SIDE = "302 ok 403 403 403 ok ok 302"
OK_FOR_MUNICIPAL_PARTY = "302 ok 404 403 404 ok ok 302"
OK_FOR_PARTIES = "302 ok 404 ok 404 ok ok 302"

POST_POLICY: dict[str, PostRule] = {
    # Anyone: the language, logging in and registering (the limits on these are tested elsewhere)
    "public.set_language": PostRule(none, "-", "ok ok ok ok ok ok ok ok"),
    "auth.login": PostRule(none, "-", "ok ok ok ok ok ok ok ok"),
    "auth.register": PostRule(none, "-", "ok ok ok ok ok ok ok ok"),
    "auth.login_second_factor": PostRule(none, "-", "302 302 302 302 302 302 302 302"),
    "auth.logout": PostRule(none, "-", OK_FOR_ALL_SIGNED_IN),
    "auth.settings": PostRule(none, "-", OK_FOR_ALL_SIGNED_IN),
    "auth.change_password": PostRule(none, "-", OK_FOR_ALL_SIGNED_IN),
    "auth.api_tokens_page": PostRule(none, "-", OK_FOR_ALL_SIGNED_IN),
    "auth.revoke_api_token": PostRule(by_id("api_token", "token_id"), "-", "302 404 404 ok 404 404 404 302"),
    "auth.two_factor": PostRule(none, "-", "302 404 404 404 404 ok ok 302"),
    "auth.disable_two_factor": PostRule(none, "-", "302 404 404 404 404 ok ok 302"),
    "auth.contract_limits": PostRule(by_id("municipality", "organisation_id"), "-", OK_FOR_OWNER_SIDE),
    "auth.fiscal_calendar": PostRule(by_id("municipality", "organisation_id"), "-", OK_FOR_OWNER_SIDE),
    "auth.handover_page": PostRule(by_id("municipality", "organisation_id"), "-", OK_FOR_OWNER_SIDE),
    "matches.mark_notifications_read": PostRule(none, "-", OK_FOR_ALL_SIGNED_IN),
    # The token endpoints: a session cookie signs no one in (tests/test_api_access.py: with tokens)
    "api_v1_token.create_challenge": PostRule(none, "-", API_UNAUTHENTICATED),
    "api_v1_token.submit_challenge": PostRule(challenge_in("draft"), "-", API_UNAUTHENTICATED),
    "api_v1_token.create_solution": PostRule(none, "-", API_UNAUTHENTICATED),
    # Municipality
    "municipality.clarity_check": PostRule(none, "-", "302 ok ok 403 403 403 403 302"),
    "municipality.new_challenge": PostRule(none, "-", "302 ok ok 403 403 403 403 302"),
    "municipality.edit_challenge": PostRule(challenge_in("draft"), "-", "302 ok 404 403 403 403 403 302"),
    "municipality.move_challenge": PostRule(challenge_in("draft"), "-", "302 ok 404 403 403 403 403 302"),
    "municipality.add_criterion": PostRule(challenge_in("published"), "-", "302 ok 404 403 403 403 403 302"),
    "municipality.score_proposal": PostRule(challenge_in("published"), "-", "302 ok 404 403 403 403 403 302"),
    "municipality.select_proposal": PostRule(challenge_in("published"), "-", "302 ok 404 403 403 403 403 302"),
    # Company
    "company.new_solution": PostRule(none, "-", "302 403 403 ok ok 403 403 302"),
    "company.edit_solution": PostRule(solution_in("active"), "-", "302 403 403 ok 403 403 ok 302"),
    "company.deactivate_solution": PostRule(solution_in("active"), "-", "302 403 403 ok 403 403 ok 302"),
    "company.reactivate_solution": PostRule(solution_in("inactive"), "-", "302 404 404 ok 404 404 ok 302"),
    # Coordination
    "coordinator.clarity_check": PostRule(none, "-", OK_FOR_COORDINATION),
    "coordinator.edit_challenge": PostRule(challenge_in("in_review"), "-", OK_FOR_COORDINATION),
    "coordinator.move_challenge": PostRule(challenge_in("in_review"), "-", OK_FOR_COORDINATION),
    "coordinator.review": PostRule(challenge_in("in_review"), "-", OK_FOR_COORDINATION),
    # Administration
    "admin.new_user": PostRule(none, "-", OK_FOR_ADMIN),
    "admin.user": PostRule(by_id("company_user", "user_id"), "-", OK_FOR_ADMIN),
    "admin.deactivate_user": PostRule(by_id("company_user", "user_id"), "-", OK_FOR_ADMIN),
    "admin.reactivate_user": PostRule(by_id("company_user", "user_id"), "-", OK_FOR_ADMIN),
    "admin.erase_user": PostRule(by_id("company_user", "user_id"), "-", OK_FOR_ADMIN),
    "admin.edit_organisation": PostRule(by_id("municipality", "organisation_id"), "-", OK_FOR_ADMIN),
    # Pipeline: acting on a recommendation of another organisation's challenge or profile
    "matches.act": PostRule(none, "-", "302 ok 403 ok 403 ok ok 302"),
    "matches.propose": PostRule(challenge_in("published"), "-", "302 403 403 ok ok 403 403 302"),
    "matches.questions": PostRule(challenge_in("published"), "-", "302 ok 403 ok ok ok ok 302"),
    "matches.answer_question": PostRule(by_id("unanswered", "question_id"), "-", OK_FOR_OWNER_SIDE),
    "matches.shortlist_proposal": PostRule(proposal_args, "-", OK_FOR_MUNICIPAL_PARTY),
    "matches.invite_proposal": PostRule(proposal_args, "-", OK_FOR_MUNICIPAL_PARTY),
    "matches.decline_proposal": PostRule(proposal_args, "-", OK_FOR_MUNICIPAL_PARTY),
    "matches.withdraw_proposal": PostRule(proposal_args, "-", "302 403 404 ok 404 ok ok 302"),
    "matches.new_sounding": PostRule(challenge_in("published"), "-", OK_FOR_OWNER_SIDE),
    "matches.add_slot": PostRule(by_id("sounding", "sounding_id"), "-", OK_FOR_OWNER_SIDE),
    "matches.sounding_results": PostRule(by_id("sounding", "sounding_id"), "-", OK_FOR_OWNER_SIDE),
    "matches.book_slot": PostRule(by_id("sounding", "sounding_id"), "-", "302 403 403 ok ok 403 403 302"),
    "matches.booking": PostRule(by_id("booking", "booking_id"), "-", OK_FOR_PARTIES),
    "matches.plan_pilot": PostRule(stage("proposal"), "-", OK_FOR_MUNICIPAL_PARTY),
    "matches.pilot_update": PostRule(stage("pilot"), "-", OK_FOR_PARTIES),
    "matches.pilot_report": PostRule(stage("pilot"), "-", OK_FOR_MUNICIPAL_PARTY),
    "matches.budget_request": PostRule(stage("pilot"), "-", OK_FOR_MUNICIPAL_PARTY),
    "matches.adopt": PostRule(stage("pilot"), "-", OK_FOR_MUNICIPAL_PARTY),
    "matches.close": PostRule(stage("proposal"), "-", OK_FOR_PARTIES),
    # 第三者意見照会: staff start it and record the release; only the company states its view
    "records.inquiries": PostRule(record("proposal_disclosure", "proposal"), "-", OK_FOR_MUNICIPAL_PARTY),
    "records.inquiry": PostRule(by_id("inquiry", "inquiry_id"), "-", "302 403 404 ok 404 403 403 302"),
    "records.release_inquiry": PostRule(by_id("inquiry", "inquiry_id"), "-", OK_FOR_MUNICIPAL_PARTY),
}

# What a form carries, so that a post is refused for who sends it, not for a missing field.
POST_DATA: dict[str, Callable[[World], dict[str, Any]]] = {
    "matches.act": lambda world: {"challenge_id": world.challenges["published"].id,
                                  "solution_id": world.solutions["active"].id, "direction": "challenge"},
    "matches.answer_question": lambda world: {"answer": "CSV形式で提供します。"},
    "matches.booking": lambda world: {"body": "対話の記録です。"},
    "records.inquiries": lambda world: {"organisation_id": world.company.id if world.company else 0},
    "records.inquiry": lambda world: {"view": "consent"},
    "matches.pilot_update": lambda world: {"body": "3か所で開始しました。"},
    "matches.close": lambda world: {"reason": "rejected", "note": "今回は見送ります。"},
    "admin.erase_user": lambda world: {"confirm_email": world.users["company"].email},
    "municipality.move_challenge": lambda world: {"to": "in_review"},
    "coordinator.move_challenge": lambda world: {"to": "published"},
}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove that a refused post changed nothing."""
    db.session.rollback()
    rows = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(select(table).order_by(*order))]
    return rows


def check_post(client: FlaskClient, world: World, key: str, rule: PostRule) -> list[str]:
    failures = []
    url = url_for(endpoint_of(key), **rule.args(world, rule.state))
    data = POST_DATA.get(key, lambda world: {})(world)
    for actor, expected in zip(ACTORS, rule.expected.split(), strict=True):
        if expected == ALLOWED:
            continue
        before = snapshot()
        log_in(client, world.users[actor])
        response = client.post(url, data=data)
        got = status_of(response)
        body = response.get_data(as_text=True)
        response.close()
        changed = sorted(name for name, rows in snapshot().items() if rows != before[name])
        if got != int(expected):
            failures.append(f"POST {key} {actor}: expected {expected}, got {got} ({url})")
        if changed:
            failures.append(f"POST {key} {actor}: the refused post changed {', '.join(changed)}")
        if SECRET in body:
            failures.append(f"POST {key} {actor}: the refusal shows the object ({url})")
    return failures


@pytest.mark.parametrize("key", sorted(POST_POLICY))
def test_refused_post_changes_nothing(app: Flask, client: FlaskClient, key: str) -> None:
    world = build_world()
    failures = check_post(client, world, key, POST_POLICY[key])
    assert not failures, "\n".join(failures)


def test_every_endpoint_is_declared(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    """A route added tomorrow fails here until its row is in the tables; a row without a route too."""
    from matchmaker.records.views import RECORDS

    gets = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}
    assert gets == {endpoint_of(key) for key in GET_POLICY}, "GET endpoints and GET_POLICY differ"
    assert posts == set(POST_POLICY), "POST endpoints and POST_POLICY differ"
    variants = {key.split("#", 1)[1] for key in GET_POLICY if key.startswith("records.record#")}
    assert variants | {"challenge"} == set(RECORDS), "every printable record kind has its row"
    get_cases = sum(len(rule.expected) for rule in GET_POLICY.values()) * len(ACTORS)
    post_cases = len(POST_POLICY) * len(ACTORS)
    with capsys.disabled():
        print(f"\naccess matrix: {len(gets | posts)} endpoints, {get_cases} GET cases (endpoint × actor × state)"
              f" and {post_cases} POST cases, per database")
