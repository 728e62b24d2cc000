"""What each role sees in each disclosure version (開示版), on one challenge that has all five records.

Every record holds a passage marked 非公開 and a field whose default class is 非公開. For each kind ×
role the table says the answer: 200 (the version, with every withheld text absent and its reason
printed), 403 (the municipal side's record, refused to a company) or 404 (the record's own 404:
its existence is not revealed); an anonymous reader is sent to the login page. The link to the
第三者意見照会 shows to the municipal side and coordinators/administrators only, and only on a
record that holds a company's information.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import url_for

from models import DialogueNote, PilotUpdate
from models import db as models_db
from tests import pipeline_factories as pf
from tests.pages import get_page

KINDS = ("challenge_disclosure", "proposal_disclosure", "dialogue_disclosure", "pilot_disclosure", "qa_disclosure")
ROLES = ("owner", "colleague", "party", "other_company", "other_municipal", "coordinator", "admin", "anonymous")

OK, REFUSED, HIDDEN, LOGIN = 200, 403, 404, 302
OWNER_SIDE = {"owner": OK, "colleague": OK, "coordinator": OK, "admin": OK}
EXPECTED: dict[str, dict[str, int]] = {
    # A published challenge: every signed-in reader may ask for its disclosure version.
    "challenge_disclosure": {**OWNER_SIDE, "party": OK, "other_company": OK, "other_municipal": OK, "anonymous": LOGIN},
    "proposal_disclosure": {**OWNER_SIDE, "party": OK, "other_company": HIDDEN, "other_municipal": HIDDEN,
                            "anonymous": LOGIN},
    "dialogue_disclosure": {**OWNER_SIDE, "party": OK, "other_company": HIDDEN, "other_municipal": HIDDEN,
                            "anonymous": LOGIN},
    "pilot_disclosure": {**OWNER_SIDE, "party": OK, "other_company": HIDDEN, "other_municipal": HIDDEN,
                         "anonymous": LOGIN},
    # The Q&A record holds unpublished questions and who asked: the municipal side's only.
    "qa_disclosure": {**OWNER_SIDE, "party": REFUSED, "other_company": REFUSED, "other_municipal": REFUSED,
                      "anonymous": LOGIN},
}

# (text that must never appear, the reason code printed for it) per kind.
WITHHELD: dict[str, list[tuple[str, str]]] = {
    "challenge_disclosure": [("審議中のコメント：予算課と調整中", "deliberative"), ("担当職員の氏名", "personal"),
                             ("協議中の庁内案", "deliberative")],
    "proposal_disclosure": [("単価は1台当たり12万円", "corporate"), ("3,456,000", "corporate")],
    "dialogue_disclosure": [("来年度の予算化は未定", "deliberative")],
    "pilot_disclosure": [("費用の内訳は非公開", "corporate"), ("財政課ヒアリングで減額", "deliberative"),
                         ("参加者の山田花子さん", "personal")],
    "qa_disclosure": [("当社のAI画像判定", "corporate"), ("質問した株式会社", "corporate"), ("質問した担当者", "personal")],
}
RELEASED = {
    "challenge_disclosure": "市内の高齢者の通いの場への参加が減っている。",
    "proposal_disclosure": "操作研修を行います。",
    "dialogue_disclosure": "と伝えた。",
    "pilot_disclosure": "市内の通いの場3か所で参加記録アプリを試行する。",
    "qa_disclosure": "写真データは提供されますか。",
}
HOLDS_COMPANY_INFORMATION = {"proposal_disclosure", "dialogue_disclosure", "pilot_disclosure", "qa_disclosure"}


@dataclass
class Records:
    pair: pf.Pair
    idents: dict[str, int]


@pytest.fixture()
def records(db: Any) -> Records:
    owner_name = "担当職員の氏名"
    pair = pf.make_pair(status="published", problem="市内の高齢者の通いの場への参加が減っている。",
                        review_comment="審議中のコメント：予算課と調整中",
                        constraints="〔非公開:審議・検討情報〕協議中の庁内案〔/非公開〕個人情報の持出しは不可。")
    pair.owner.name = owner_name
    pair.company.name = "質問した株式会社"
    pair.company_user.name = "質問した担当者"
    proposal_match = pf.make_match(pair.challenge, pair.solution, stage="proposal")
    proposal = pf.make_proposal(proposal_match, pair.company_user, cost_estimate=3_456_000,
                                approach="タブレットを置きます。〔非公開:法人等情報〕単価は1台当たり12万円〔/非公開〕。操作研修を行います。")
    sounding = pf.make_sounding(pair.challenge)
    booking = pf.make_booking(sounding, sounding.slots[0], proposal_match)
    models_db.session.add(DialogueNote(booking=booking, author=pair.owner,
                                       body="〔非公開:審議・検討情報〕来年度の予算化は未定〔/非公開〕と伝えた。"))
    pilot = pf.make_pilot(reported=True, created_by_id=pair.owner.id,
                          cost_sharing="端末は市が用意する。〔非公開:法人等情報〕費用の内訳は非公開〔/非公開〕",
                          budget_request_recorded_on=date(2026, 10, 1), budget_request_amount=4_800_000,
                          budget_request_note="財政課ヒアリングで減額の可能性あり")
    pilot_match = pf.make_match(pair.challenge, pf.make_solution(pair.company), stage="pilot", pilot=pilot)
    models_db.session.add(PilotUpdate(pilot=pilot, author=pair.company_user,
                                      body="開始。〔非公開:個人情報〕参加者の山田花子さん〔/非公開〕が最初に登録。"))
    pf.make_question(pair.challenge, pair.company_user, answered=True,
                     body="〔非公開:法人等情報〕当社のAI画像判定を使う前提で〔/非公開〕、写真データは提供されますか。")
    models_db.session.commit()
    return Records(pair, {"challenge_disclosure": pair.challenge.id, "proposal_disclosure": proposal.id,
                          "dialogue_disclosure": booking.id, "pilot_disclosure": pilot_match.id,
                          "qa_disclosure": pair.challenge.id})


def _reader(role: str, pair: pf.Pair) -> Any:
    if role == "owner":
        return pair.owner
    if role == "colleague":
        return pf.make_user("municipal", organisation=pair.municipality)
    if role == "party":
        return pair.company_user
    if role == "other_company":
        return pf.make_user("company", organisation=pf.make_company())
    if role == "other_municipal":
        return pf.make_user("municipal")
    return role  # coordinator, admin: a new user of that role


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_each_disclosure_version_as_the_table_says(records: Records, client: Any, login_as: Any,
                                                                  kind: str, role: str) -> None:
    expected = EXPECTED[kind][role]
    ident = records.idents[kind]
    if role != "anonymous":
        login_as(_reader(role, records.pair))
    response = client.get(url_for("records.record", kind=kind, ident=ident))
    assert response.status_code == expected, (kind, role, response.status_code)
    if expected == LOGIN:
        assert "/auth/login" in response.location
    if expected != OK:
        assert client.get(url_for("records.record_pdf", kind=kind, ident=ident)).status_code == expected
        return
    page = get_page(client, "records.record", kind=kind, ident=ident)
    html = str(page)
    for text, _reason in WITHHELD[kind]:
        assert text not in html, (kind, role, text)
    assert RELEASED[kind] in html
    reasons = {span["data-reason"] for span in page.select(".redacted")}
    assert {reason for _text, reason in WITHHELD[kind]} <= reasons
    printed = " ".join(r.get_text() for r in page.select(".redaction-reason"))
    for label, code in (("法人等情報", "corporate"), ("個人情報", "personal"), ("審議・検討情報", "deliberative")):
        assert (label in printed) == (code in reasons), (kind, role, label)
    may_ask = role in OWNER_SIDE and kind in HOLDS_COMPANY_INFORMATION
    assert (page.select_one("#inquiries-link a") is not None) == may_ask, (kind, role)
