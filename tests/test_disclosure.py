"""Disclosure versions (開示版): marked passages and 非公開 fields are blacked out with their reason,
for every role that may open the record; those who may not see the record get the same 404."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from flask import url_for

from matchmaker.records import pdf
from matchmaker.services import disclosure
from models import DialogueNote, PilotUpdate
from models import db as models_db
from tests import pipeline_factories as pf
from tests.pages import get_page

SECRET = "単価は1台当たり12万円"
APPROACH = f"通いの場にタブレットを置きます。〔非公開:法人等情報〕{SECRET}〔/非公開〕。操作研修を行います。"


def test_segments_split_marked_passages() -> None:
    parts = disclosure.segments(APPROACH)
    assert [(p.withheld, p.reason) for p in parts] == [(False, None), (True, "corporate"), (False, None)]
    assert parts[1].text == SECRET
    assert disclosure.released(APPROACH) == "通いの場にタブレットを置きます。。操作研修を行います。"
    assert disclosure.plain(APPROACH) == APPROACH.replace("〔非公開:法人等情報〕", "").replace("〔/非公開〕", "")


@pytest.mark.parametrize(("text", "reason"), [
    ("〔非公開：個人情報〕山田太郎〔/非公開〕", "personal"), ("〔非公開:deliberative〕案〔/非公開〕", "deliberative"),
    ("〔非公開〕理由なし〔/非公開〕", "unspecified"), ("〔非公開:秘密〕不明な理由〔/非公開〕", "unspecified"),
])
def test_reason_names_and_codes(text: str, reason: str) -> None:
    assert [p.reason for p in disclosure.segments(text) if p.withheld] == [reason]


def test_unclosed_marker_withholds_the_rest() -> None:
    parts = disclosure.segments("公開部分〔非公開:法人等情報〕ここから先は全部")
    assert disclosure.released("公開部分〔非公開:法人等情報〕ここから先は全部") == "公開部分"
    assert parts[-1].withheld and parts[-1].text == "ここから先は全部"


def test_withheld_field_ignores_its_text() -> None:
    field = disclosure.disclose("proposal", "cost_estimate", "概算費用", 3_000_000)
    assert field.disclosure == "withheld" and field.segments[0].withheld and field.reasons == ["corporate"]


def _proposal_with_secret() -> tuple[pf.Pair, Any]:
    pair = pf.make_pair()
    match = pf.make_match(pair.challenge, pair.solution, stage="proposal")
    proposal = pf.make_proposal(match, pair.company_user, approach=APPROACH, cost_estimate=3_456_000)
    models_db.session.commit()
    return pair, proposal


def open_as(client: Any, login_as: Any, pair: pf.Pair, who: str, kind: str, ident: int) -> tuple[Any, str]:
    """The disclosure version as ``who`` (owner, company or another role) sees it: the page and its HTML."""
    login_as({"owner": pair.owner, "company": pair.company_user}.get(who, who))
    page = get_page(client, "records.record", kind=kind, ident=ident)
    return page, str(page)


@pytest.mark.parametrize("who", ["owner", "company", "coordinator"])
def test_proposal_disclosure_version_per_role(db: Any, client: Any, login_as: Any, who: str) -> None:
    pair, proposal = _proposal_with_secret()
    page, html = open_as(client, login_as, pair, who, "proposal_disclosure", proposal.id)
    assert SECRET not in html and "3,456,000" not in html and "345.6万" not in html
    assert "通いの場にタブレットを置きます。" in html and "操作研修を行います。" in html
    reasons = [span["data-reason"] for span in page.select(".redacted")]
    assert reasons == ["corporate", "corporate"]  # the marked passage and the withheld cost
    assert "法人等情報" in page.select_one(".redaction-reason").get_text()
    full = get_page(client, "records.record", kind="proposal", ident=proposal.id)
    assert SECRET in str(full)  # the full record still holds it for those entitled to it


@pytest.mark.parametrize("who", ["other_company", "other_municipal", "anonymous"])
def test_disclosure_version_is_no_backdoor(db: Any, client: Any, login_as: Any, who: str) -> None:
    _, proposal = _proposal_with_secret()
    if who == "anonymous":
        response = client.get(f"/records/proposal_disclosure/{proposal.id}")
        assert response.status_code == 302
        return
    login_as("company" if who == "other_company" else "municipal")
    get_page(client, "records.record", expected_status=404, kind="proposal_disclosure", ident=proposal.id)


def test_dialogue_disclosure_version(db: Any, client: Any, login_as: Any) -> None:
    pair = pf.make_pair()
    sounding = pf.make_sounding(pair.challenge)
    match = pf.make_match(pair.challenge, pair.solution, stage="sounding")
    booking = pf.make_booking(sounding, sounding.slots[0], match)
    models_db.session.add(DialogueNote(booking=booking, author=pair.owner,
                                       body="〔非公開:審議・検討情報〕来年度の予算化は未定〔/非公開〕と伝えた。"))
    models_db.session.commit()
    login_as(pair.company_user)
    page = get_page(client, "records.record", kind="dialogue_disclosure", ident=booking.id)
    assert "来年度の予算化は未定" not in str(page) and "と伝えた。" in str(page)
    assert [s["data-reason"] for s in page.select(".redacted")] == ["deliberative"]


# --- the other records: challenges, pilot plans and reports, Q&A ------------------------------------

REVIEW = "予算課と調整中のため公開は4月以降に"
BUDGET_NOTE = "財政課ヒアリングで減額の可能性あり"


def _pilot_with_secrets() -> tuple[pf.Pair, Any]:
    pair = pf.make_pair()
    pilot = pf.make_pilot(reported=True, created_by_id=pair.owner.id,
                          cost_sharing=f"端末は市が用意する。〔非公開:法人等情報〕{SECRET}〔/非公開〕",
                          budget_request_recorded_on=date(2026, 10, 1), budget_request_amount=4_800_000,
                          budget_request_note=BUDGET_NOTE)
    match = pf.make_match(pair.challenge, pair.solution, stage="pilot", pilot=pilot)
    models_db.session.add(PilotUpdate(pilot=pilot, author=pair.company_user,
                                      body="3か所で開始。〔非公開:個人情報〕参加者の山田花子さん〔/非公開〕が最初に登録。"))
    models_db.session.commit()
    return pair, match


@pytest.mark.parametrize("who", ["owner", "company", "coordinator"])
def test_pilot_disclosure_version_per_role(db: Any, client: Any, login_as: Any, who: str) -> None:
    pair, match = _pilot_with_secrets()
    page, html = open_as(client, login_as, pair, who, "pilot_disclosure", match.id)
    for hidden in (SECRET, BUDGET_NOTE, "山田花子", pair.owner.name, "480万", "4,800,000"):
        assert hidden not in html, hidden
    assert "市内の通いの場3か所で参加記録アプリを試行する。" in html and "参加率が目標を上回った。" in html
    assert "通いの場の参加率（%）：8 → 12 ／ 12.5" in html  # KPIs are public, actuals included
    assert [s["data-reason"] for s in page.select(".redacted")] == [
        "corporate", "personal", "deliberative", "personal"]  # cost passage, update passage, budget, author
    assert get_page(client, "records.record", kind="pilot", ident=match.id) is not None


def test_challenge_disclosure_withholds_review_comment_and_author(db: Any, client: Any, login_as: Any) -> None:
    pair = pf.make_pair(review_comment=REVIEW)
    models_db.session.commit()
    login_as(pair.company_user)  # a published challenge's disclosure version shows what was published
    page = get_page(client, "records.record", kind="challenge_disclosure", ident=pair.challenge.id)
    html = str(page)
    assert REVIEW not in html and pair.owner.name not in html
    assert pair.challenge.problem in html
    classes = {s.h2.contents[0].strip(): s["data-disclosure"] for s in page.select(".disclosed-field")}
    assert classes["課題"] == "public" and classes["コーディネーターの確認コメント"] == "withheld"
    assert [s["data-reason"] for s in page.select(".redacted")] == ["personal", "deliberative"]
    assert page.select_one("#inquiries-link") is None  # a challenge holds no company's information


def test_qa_disclosure_is_the_municipal_sides_and_hides_askers(db: Any, client: Any, login_as: Any) -> None:
    pair = pf.make_pair()
    pf.make_question(pair.challenge, pair.company_user, answered=True,
                     body="〔非公開:法人等情報〕当社のAI画像判定を使う前提で〔/非公開〕、写真データは提供されますか。")
    pf.make_question(pair.challenge, pair.company_user)
    models_db.session.commit()
    login_as(pair.owner)
    page = get_page(client, "records.record", kind="qa_disclosure", ident=pair.challenge.id)
    html = str(page)
    for hidden in ("当社のAI画像判定", pair.company.name, pair.company_user.name):
        assert hidden not in html, hidden
    assert "写真データは提供されますか。" in html and "CSV形式で、氏名を除いた匿名化データを提供します。" in html
    assert "（未回答）" in html
    assert [s["data-reason"] for s in page.select(".redacted")] == [
        "corporate", "personal", "corporate", "corporate", "personal"]
    login_as(pair.company_user)  # the asker is refused: the record is the municipality's
    get_page(client, "records.record", expected_status=403, kind="qa_disclosure", ident=pair.challenge.id)


@pytest.mark.skipif(pdf.unavailable_reason() is not None, reason="WeasyPrint cannot load pango")
def test_disclosure_pdf_leaves_the_withheld_text_out(db: Any, client: Any, login_as: Any) -> None:
    from pypdf import PdfReader

    pair, match = _pilot_with_secrets()
    login_as(pair.owner)
    response = client.get(url_for("records.record_pdf", kind="pilot_disclosure", ident=match.id))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.get_data())).pages)
    assert "開示版" in text and "審議・検討情報" in text and "参加率が目標を上回った" in text
    assert BUDGET_NOTE not in text and "山田花子" not in text


def test_sounding_results_draft_leaves_out_withheld_passages_and_names(db: Any, client: Any, login_as: Any) -> None:
    pair = pf.make_pair()
    sounding = pf.make_sounding(pair.challenge)
    bookings = []
    for slot in sounding.slots:
        company = pf.make_company()
        solution = pf.make_solution(company)
        bookings.append(pf.make_booking(sounding, slot, pf.make_match(pair.challenge, solution, stage="sounding")))
    models_db.session.add(DialogueNote(booking=bookings[0], author=pair.owner,
                                       body="見守りは通いの場から始めたいとの意見。〔非公開:法人等情報〕月額800円で提供可能〔/非公開〕"))
    models_db.session.commit()
    login_as(pair.owner)
    page = get_page(client, "matches.sounding_results", sounding_id=sounding.id, draft="1")
    draft = page.select_one("#results-form textarea").get_text()
    assert "月額800円" not in draft and "見守りは通いの場から始めたいとの意見。" in draft
    assert "・事業者A：見守りは通いの場から始めたいとの意見。" in draft and "・事業者B：（対話の記録なし）" in draft
    assert all(b.organisation.name not in draft for b in bookings)
    assert "2者と個別対話" in draft and page.select_one("#draft-notice") is not None
    models_db.session.expire_all()
    assert models_db.session.get(type(sounding), sounding.id).results_published_at is None  # a draft publishes nothing
    plain = get_page(client, "matches.sounding_results", sounding_id=sounding.id)
    assert plain.select_one("#results-form textarea").get_text().strip() == ""


def test_letters_never_run_out() -> None:
    from matchmaker.services.sounding import _letter

    assert [_letter(n) for n in (0, 1, 25, 26, 27, 701, 702)] == ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"]


def test_sounding_results_draft_names_no_participant_inside_a_note(db: Any, client: Any, login_as: Any) -> None:
    pair = pf.make_pair()
    sounding = pf.make_sounding(pair.challenge)
    first = pf.make_booking(sounding, sounding.slots[0], pf.make_match(pair.challenge, pair.solution, stage="sounding"))
    other = pf.make_company(name="株式会社テスト見守り")
    second = pf.make_booking(sounding, sounding.slots[1],
                             pf.make_match(pair.challenge, pf.make_solution(other), stage="sounding"))
    models_db.session.add_all([
        DialogueNote(booking=first, author=pair.owner, body=f"{pair.company.name}は月額制を提案。"),
        DialogueNote(booking=second, author=pair.owner, body=f"{other.name}からは、{pair.company.name}と同じく紙との併用を求める意見。"),
    ])
    models_db.session.commit()
    login_as(pair.owner)
    draft = get_page(client, "matches.sounding_results", sounding_id=sounding.id,
                     draft="1").select_one("#results-form textarea").get_text()
    assert pair.company.name not in draft and other.name not in draft
    assert "・事業者A：事業者Aは月額制を提案。" in draft
    assert "・事業者B：事業者Bからは、事業者Aと同じく紙との併用を求める意見。" in draft


def test_staff_are_told_how_to_withhold_a_passage_where_they_write_and_release(db: Any, client: Any,
                                                                            login_as: Any) -> None:
    """The markup is explained on the dialogue note form and the disclosure version, to the municipal
    side only (a company's view of the same pages does not offer it)."""
    pair = pf.make_pair()
    sounding = pf.make_sounding(pair.challenge)
    booking = pf.make_booking(sounding, sounding.slots[0], pf.make_match(pair.challenge, pair.solution,
                                                                         stage="sounding"))
    models_db.session.commit()
    login_as(pair.owner)
    form = get_page(client, "matches.booking", booking_id=booking.id)
    hint = form.select_one("#note-form textarea")["aria-describedby"]
    assert "〔非公開:法人等情報〕" in form.select_one(f"#{hint.split()[-1]}").get_text()
    record = get_page(client, "records.record", kind="dialogue_disclosure", ident=booking.id)
    assert "〔/非公開〕" in record.select_one("#withhold-help").get_text()
    pf.switch_user(login_as, pair.company_user)
    assert "〔非公開:法人等情報〕" not in str(get_page(client, "matches.booking", booking_id=booking.id))
    assert get_page(client, "records.record", kind="dialogue_disclosure", ident=booking.id).select_one(
        "#withhold-help") is None
