"""The selection evidence pack (選定の記録): frozen at the decision, never changed afterwards, refused a
second time (also when two staff decide at once), exported as Word, Excel and PDF to the
challenge's municipality and coordinators only."""

from __future__ import annotations

import io
import re
from collections import Counter
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask, url_for
from sqlalchemy import func, select

from matchmaker.records import pdf
from matchmaker.services import evaluation, selection
from matchmaker.services import matches as match_service
from matchmaker.services.errors import FieldError
from models import AuditEvent, SelectionRecord, db
from models.evaluation import EvaluationScore
from tests import pipeline_factories as pf
from tests.pages import get_page
from tests.test_races import held_after, race

REASON = "評価の加重平均が最も高く、実証フィールドの条件を満たすため。"


def _world() -> dict[str, Any]:
    muni = pf.make_municipality()
    a, b = pf.make_user("municipal", organisation=muni), pf.make_user("municipal", organisation=muni)
    challenge = pf.make_challenge(muni, status="published")
    company, rival = pf.make_company(), pf.make_company()
    author, rival_author = pf.make_user("company", organisation=company), pf.make_user("company", organisation=rival)
    match = pf.make_match(challenge, pf.make_solution(company), stage="proposal", features={"rank": 2, "score": 0.61})
    invited = pf.make_match(challenge, pf.make_solution(rival), stage="proposal", origin="municipality_invite")
    winner = pf.make_proposal(match, author, title="見守り提案")
    loser = pf.make_proposal(invited, rival_author, title="別の提案")
    fit = evaluation.add_criterion(challenge, a, "課題の理解度", 30)
    cost = evaluation.add_criterion(challenge, a, "費用の妥当性", 10)
    for proposal, scores in ((winner, (5, 4, 3)), (loser, (2, 2, 1))):
        evaluation.set_score(proposal, fit, a, scores[0])
        evaluation.set_score(proposal, fit, b, scores[1])
        evaluation.set_score(proposal, cost, a, scores[2])
    db.session.commit()
    return {"muni": muni, "a": a, "b": b, "challenge": challenge, "match": match, "winner": winner, "loser": loser,
            "fit": fit, "cost": cost, "author": author, "company": company, "rival": rival}


def test_selecting_a_proposal_freezes_the_pack_with_an_audit_row(client: Any, login_as: Any) -> None:
    w = _world()
    login_as(w["a"])
    response = client.post(url_for("municipality.select_proposal", challenge_id=w["challenge"].id),
                           data={"proposal_id": str(w["winner"].id), "reason": REASON})
    assert response.status_code == 302
    assert response.location.endswith(url_for("records.record", kind="selection", ident=w["challenge"].id,
                                              _external=False))
    pack = db.session.scalars(select(SelectionRecord)).one()
    assert (pack.decision, pack.reason, pack.match_id) == ("selected", REASON, w["match"].id)
    data = pack.data
    assert [p["company"] for p in data["proposals"]] == [w["company"].name, w["rival"].name]
    assert [i["company"] for i in data["invited"]] == [w["rival"].name]
    assert {m["company"]: m["rank"] for m in data["matches"]} == {w["company"].name: 2, w["rival"].name: None}
    assert [c["name"] for c in data["evaluation"]["criteria"]] == ["課題の理解度", "費用の妥当性"]
    assert len(data["evaluation"]["scores"]) == 6
    winner_avg = next(a for a in data["evaluation"]["averages"] if a["proposal_id"] == w["winner"].id)
    assert winner_avg["means"] == [4.5, 3.0] and winner_avg["weighted"] == pytest.approx((30 * 4.5 + 10 * 3) / 40)
    assert data["decision"]["proposal_id"] == w["winner"].id
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "selection.frozen")).one()
    assert (event.object_id, event.actor_id, event.reason) == (pack.id, w["a"].id, REASON)


def test_a_later_edit_of_criteria_or_scores_leaves_the_pack_as_it_was(client: Any, login_as: Any) -> None:
    w = _world()
    pack = selection.select_proposal(w["winner"], w["a"], REASON)
    db.session.commit()
    frozen = pack.data
    w["fit"].name, w["fit"].weight = "書き換えた項目", 99
    evaluation.set_score(w["winner"], w["cost"], w["b"], 1)
    evaluation.set_score(w["loser"], w["fit"], w["a"], 5)
    evaluation.add_criterion(w["challenge"], w["a"], "後から足した項目", 50)
    w["winner"].title = "後から変えた題名"
    company_name, evaluator_name, challenge_title = w["company"].name, w["b"].name, w["challenge"].title
    w["company"].name, w["b"].name = "後から変えた社名", "後から変えた職員名"
    w["challenge"].title = "後から変えた課題名"
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(SelectionRecord, pack.id)
    assert again is not None and again.data == frozen
    login_as(w["a"])
    page = get_page(client, "records.record", kind="selection", ident=w["challenge"].id).get_text()
    assert "課題の理解度" in page and "書き換えた項目" not in page and "後から足した項目" not in page
    assert "見守り提案" in page and "後から変えた題名" not in page
    for before, after in ((company_name, "後から変えた社名"), (evaluator_name, "後から変えた職員名"),
                          (challenge_title, "後から変えた課題名")):
        assert before in page and after not in page, after
    assert "4.50" in page and REASON in page


def test_freezing_again_is_refused_on_the_form_and_by_adoption(client: Any, login_as: Any) -> None:
    w = _world()
    selection.select_proposal(w["winner"], w["a"], REASON)
    db.session.commit()
    with pytest.raises(FieldError):
        selection.select_proposal(w["loser"], w["b"], "別の理由")
    db.session.rollback()
    login_as(w["b"])
    response = client.post(url_for("municipality.select_proposal", challenge_id=w["challenge"].id),
                           data={"proposal_id": str(w["loser"].id), "reason": "別の理由"})
    assert response.status_code == 200
    assert "既に確定しています" in response.get_data(as_text=True)
    # an adoption later on the same challenge stands, and the pack keeps the selection, unchanged
    (pack,) = db.session.scalars(select(SelectionRecord)).all()
    frozen = (pack.data, pack.frozen_at, pack.match_id)
    match_service.adopt(w["match"], w["a"], fiscal_year=2027, route="proposal", amount=900_000)
    db.session.commit()
    db.session.expire_all()
    (pack,) = db.session.scalars(select(SelectionRecord)).all()
    assert pack.decision == "selected" and pack.reason == REASON
    assert (pack.data, pack.frozen_at, pack.match_id) == frozen


def test_a_selection_needs_a_reason(client: Any, login_as: Any) -> None:
    w = _world()
    login_as(w["a"])
    response = client.post(url_for("municipality.select_proposal", challenge_id=w["challenge"].id),
                           data={"proposal_id": str(w["winner"].id), "reason": "  "})
    assert response.status_code == 200 and "選定の理由を入力してください" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SelectionRecord)) == 0


def test_the_first_adoption_freezes_the_pack(app: Any) -> None:
    w = _world()
    match_service.adopt(w["match"], w["a"], fiscal_year=2027, route="negotiated", amount=800_000,
                        contract_kind="other", negotiated_ground="1", note="少額のため随意契約とする。")
    db.session.commit()
    pack = db.session.scalars(select(SelectionRecord)).one()
    assert (pack.decision, pack.reason) == ("adopted", "少額のため随意契約とする。")
    assert pack.data["decision"]["route"] == "negotiated" and pack.data["decision"]["amount"] == 800_000
    assert pack.data["decision"]["proposal_id"] == w["winner"].id
    from matchmaker.records import selection as pack_document
    assert pack_document.title(pack) == "随意契約理由書（案）"


def test_word_and_excel_carry_the_frozen_pack(client: Any, login_as: Any) -> None:
    from docx import Document
    from openpyxl import load_workbook

    w = _world()
    selection.select_proposal(w["winner"], w["a"], "=HYPERLINK(\"x\") " + REASON)
    db.session.commit()
    login_as(w["a"])
    response = client.get(url_for("records.selection_docx", ident=w["challenge"].id))
    assert response.status_code == 200 and response.mimetype.endswith("wordprocessingml.document")
    document = Document(io.BytesIO(response.get_data()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "選定理由書（案）" in text and REASON in text and "令和" in text
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert w["challenge"].title in cells and w["company"].name in cells and "4.50" in cells and "課題の理解度" in cells

    response = client.get(url_for("records.selection_xlsx", ident=w["challenge"].id))
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["概要", "recommended", "matches", "invited", "proposals", "criteria", "averages",
                                   "scores"]
    summary = {row[0]: row[1] for row in workbook["概要"].iter_rows(values_only=True)}
    assert summary["選定の理由"].startswith("'=HYPERLINK"), "a formula is neutralised"
    scores = list(workbook["scores"].iter_rows(values_only=True))
    assert scores[0] == ("提案", "評価者", "評価項目", "点数") and len(scores) == 7
    averages = list(workbook["averages"].iter_rows(values_only=True))
    assert averages[0] == ("提案", "課題の理解度", "費用の妥当性", "評価者数", "加重平均")
    assert averages[1][1:] == ("4.50", "3.00", 2, "4.12")  # 4.125 as %.2f
    exports = db.session.scalars(select(AuditEvent.to_state).where(AuditEvent.action == "selection.exported")).all()
    assert sorted(exports) == ["docx", "xlsx"]


def test_only_the_municipality_and_coordinators_see_the_pack(client: Any, login_as: Any) -> None:
    w = _world()
    selection.select_proposal(w["winner"], w["a"], REASON)
    db.session.commit()
    ident = w["challenge"].id
    for user, expected in ((w["b"], 200), (pf.make_user("coordinator"), 200), (w["author"], 404),
                           (pf.make_user("municipal", organisation=pf.make_municipality()), 404)):
        login_as(user)
        for endpoint, values in (("records.record", {"kind": "selection"}), ("records.selection_docx", {}),
                                 ("records.selection_xlsx", {})):
            response = client.get(url_for(endpoint, ident=ident, **values))
            assert response.status_code == expected, (user.role, endpoint)
            if expected == 404:
                assert REASON not in response.get_data(as_text=True)


@pytest.mark.skipif(pdf.unavailable_reason() is not None, reason="WeasyPrint cannot load pango (make pdf)")
def test_the_pdf_has_era_dates_and_page_numbers(client: Any, login_as: Any) -> None:
    from tests.test_records import pdf_text, squash

    w = _world()
    selection.select_proposal(w["winner"], w["a"], REASON)
    db.session.commit()
    login_as(w["a"])
    response = client.get(url_for("records.record_pdf", kind="selection", ident=w["challenge"].id))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages, texts = pdf_text(response.get_data())
    everything = " ".join(texts)
    assert squash(REASON) in squash(everything) and re.search(r"令和\d+年\d+月\d+日", everything)
    for number, text in enumerate(texts, start=1):
        assert f"{number} / {pages}" in text


def test_two_staff_deciding_at_once_freeze_one_pack(app: Flask, db: Any, backend: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if backend != "postgresql":
        pytest.skip("a real race needs PostgreSQL (TEST_DATABASE_URL)")
    w = _world()
    deciders = [w["a"], w["b"]] + [pf.make_user("municipal", organisation=w["muni"]) for _ in range(4)]
    db.session.commit()
    url = url_for("municipality.select_proposal", challenge_id=w["challenge"].id)
    choices = [w["winner"].id, w["loser"].id]
    with held_after(monkeypatch, selection, "record_of", len(deciders)):
        outcomes = race(app, list(deciders), lambda i, c: c.post(url, data={
            "proposal_id": str(choices[i % 2]), "reason": f"{REASON}（{i}）"}))
    assert Counter(o.status for o in outcomes) == Counter({302: 1, 200: len(deciders) - 1})
    assert all("既に確定しています" in o.text for o in outcomes if o.status == 200)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SelectionRecord)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "selection.frozen")) == 1
    assert db.session.scalar(select(func.count()).select_from(EvaluationScore)) == 6


def test_the_match_page_and_the_sheet_link_the_pack_for_the_municipality_only(client: Any, login_as: Any) -> None:
    w = _world()
    login_as(w["a"])
    assert get_page(client, "matches.match", match_id=w["match"].id).select_one("#selection-pack-link") is None
    selection.select_proposal(w["winner"], w["a"], REASON)
    db.session.commit()
    link = get_page(client, "matches.match", match_id=w["match"].id).select_one("#selection-pack-link a")
    assert link["href"] == url_for("records.record", kind="selection", ident=w["challenge"].id, _external=False)
    sheet = get_page(client, "municipality.evaluation_sheet", challenge_id=w["challenge"].id)
    assert sheet.select_one("#selection-link") is not None and sheet.select_one("#selection-form") is None
    login_as(w["author"])
    assert get_page(client, "matches.match", match_id=w["match"].id).select_one("#selection-pack-link") is None


@pytest.mark.parametrize("proposal_id", ["9" * 40, "\x00", "-1", "１２", ""])
def test_hostile_selection_posts_are_refused_on_the_form(client: Any, login_as: Any, proposal_id: str) -> None:
    """The fuzz test's world already has a frozen pack (its sheet shows no form), so the hostile values
    are sent here: an unknown proposal or a NUL in the reason is a message, never a 500."""
    w = _world()
    login_as(w["a"])
    url = url_for("municipality.select_proposal", challenge_id=w["challenge"].id)
    response = client.post(url, data={"proposal_id": proposal_id, "reason": "理由\x00" + "あ" * 6000})
    assert response.status_code == 200 and response.get_data(as_text=True).count('aria-invalid="true"') >= 1
    assert db.session.scalar(select(func.count()).select_from(SelectionRecord)) == 0
    # the hostile id alone (with a good reason): refused on its own field, nothing frozen
    response = client.post(url, data={"proposal_id": proposal_id, "reason": REASON})
    assert response.status_code == 200
    field = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one("#selection-form #proposal_id")
    assert field is not None and field["aria-invalid"] == "true"
    assert db.session.scalar(select(func.count()).select_from(SelectionRecord)) == 0
    response = client.post(url, data={"proposal_id": str(w["winner"].id), "reason": "理由\x00です"})
    assert response.status_code == 302
    assert db.session.scalars(select(SelectionRecord)).one().reason == "理由です"
