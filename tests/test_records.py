"""Records a municipality files: the A4 print view and the PDF of a challenge, a proposal, a sounding
dialogue record, a pilot plan and report and an adoption; same permissions as the record's page."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import url_for

from matchmaker.records import pdf
from models import DialogueNote, PilotUpdate, db
from tests import pipeline_factories as pf
from tests.pages import get_page, page_text

needs_pdf = pytest.mark.skipif(pdf.unavailable_reason() is not None,
                               reason=f"WeasyPrint cannot load pango: {pdf.unavailable_reason()} (make pdf installs it)")

NOTE = "個別対話：既存の名簿データの取り込み方法と、ボランティアの操作研修の回数を確認した。"
UPDATE = "2か月目：参加者の登録が120名に達し、欠席者への連絡が平均5日で行われている。"


@dataclass
class Filed:
    pair: pf.Pair
    ids: dict[str, int]
    titles: dict[str, str]


@pytest.fixture()
def filed(app: Any) -> Filed:
    """One match that went all the way: a proposal, a dialogue with a note, a reported pilot, adopted."""
    pair = pf.make_pair(status="published")
    match = pf.make_match(pair.challenge, pair.solution, stage="adopted", adoption_note="令和9年度当初予算に計上した。")
    assert match.pilot is not None
    db.session.add(PilotUpdate(pilot=match.pilot, author=pair.owner, body=UPDATE))
    proposal = pf.make_proposal(match, author=pair.company_user)
    sounding = pf.make_sounding(pair.challenge)
    booking = pf.make_booking(sounding, sounding.slots[0], match)
    db.session.add(DialogueNote(booking=booking, author=pair.owner, body=NOTE))
    db.session.commit()
    return Filed(pair, {"challenge": pair.challenge.id, "proposal": proposal.id, "dialogue": booking.id,
                        "pilot": match.id, "adoption": match.id, "budget_pack": match.id, "dossier": match.id,
                        "proposal_disclosure": proposal.id, "dialogue_disclosure": booking.id,
                        "pilot_disclosure": match.id, "challenge_disclosure": pair.challenge.id,
                        "qa_disclosure": pair.challenge.id},
                 {"challenge": pair.challenge.title, "proposal": proposal.title, "dialogue": NOTE,
                  "pilot": UPDATE, "adoption": "令和9年度当初予算に計上した。", "budget_pack": pair.challenge.title,
                  "dossier": proposal.title, "proposal_disclosure": proposal.title, "dialogue_disclosure": NOTE,
                  "pilot_disclosure": UPDATE, "challenge_disclosure": pair.challenge.problem,
                  "qa_disclosure": pair.challenge.title})


def pdf_text(body: bytes) -> tuple[int, list[str]]:
    """The number of pages and each page's text (pypdf reads the fonts' Unicode maps)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(body))
    return len(reader.pages), [" ".join((page.extract_text() or "").split()) for page in reader.pages]


def squash(text: str) -> str:
    """Text without white space: a PDF breaks long Japanese lines wherever the line ends."""
    return re.sub(r"\s+", "", text)


KINDS = ["challenge", "proposal", "dialogue", "pilot", "adoption"]
# The packs and disclosure versions of issue 10 are filed too (the selection pack: tests/test_selection.py).
PACKS = ["budget_pack", "dossier", "proposal_disclosure", "dialogue_disclosure", "pilot_disclosure",
         "challenge_disclosure", "qa_disclosure"]


@pytest.mark.parametrize("kind", KINDS + PACKS)
def test_print_view_shows_the_record_with_its_pdf_link(client: Any, login_as: Any, filed: Filed, kind: str) -> None:
    login_as(filed.pair.owner)
    page = get_page(client, "records.record", kind=kind, ident=filed.ids[kind])
    assert filed.titles[kind] in page_text(page)
    assert page.html is not None and page.html["lang"] == "ja"
    assert page.select_one("#record-pdf")["href"] == url_for("records.record_pdf", kind=kind, ident=filed.ids[kind],
                                                           _external=False)
    assert "令和" in page.select_one(".record-printed").get_text()
    assert not page.select("[style]") and not page.select("script:not([src])"), "nothing inline (CSP)"


@needs_pdf
@pytest.mark.parametrize("kind", KINDS + PACKS)
def test_pdf_of_each_record_has_its_japanese_text_era_dates_and_page_numbers(
        client: Any, login_as: Any, filed: Filed, kind: str) -> None:
    login_as(filed.pair.owner)
    response = client.get(url_for("records.record_pdf", kind=kind, ident=filed.ids[kind]))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"%PDF-")
    pages, texts = pdf_text(body)
    everything = " ".join(texts)
    assert squash(filed.titles[kind]) in squash(everything), "the record's own text, in Japanese"
    assert re.search(r"令和\d+年\d+月\d+日", everything), "dates in the Japanese era"
    for number, text in enumerate(texts, start=1):
        assert f"{number} / {pages}" in text, f"page {number} carries no 'n / {pages}' marker: {text[-80:]!r}"


@needs_pdf
def test_a_long_dialogue_record_runs_over_pages_each_numbered(client: Any, login_as: Any, filed: Filed) -> None:
    booking_id = filed.ids["dialogue"]
    from models import SoundingBooking

    booking = db.session.get(SoundingBooking, booking_id)
    for n in range(40):
        db.session.add(DialogueNote(booking=booking, author=filed.pair.owner, body=f"第{n + 1}回の確認事項。\n" + NOTE * 2))
    db.session.commit()
    login_as(filed.pair.owner)
    pages, texts = pdf_text(client.get(url_for("records.record_pdf", kind="dialogue", ident=booking_id)).get_data())
    assert pages > 2
    assert f"1 / {pages}" in texts[0] and f"{pages} / {pages}" in texts[-1]
    assert "第40回の確認事項。" in " ".join(texts)


@needs_pdf
def test_the_pdf_speaks_the_readers_language(client: Any, login_as: Any, filed: Filed) -> None:
    login_as(filed.pair.owner)
    client.post(url_for("public.set_language"), data={"locale": "en", "next": "/"})
    _, texts = pdf_text(client.get(url_for("records.record_pdf", kind="adoption", ident=filed.ids["adoption"])).get_data())
    assert "Adoption record" in texts[0]
    assert re.search(r"\(R\d+\)", texts[0]), "English dates keep the era"


@pytest.mark.parametrize("kind", ["proposal", "dialogue", "pilot", "adoption"])
def test_another_municipality_and_another_company_cannot_see_it(client: Any, login_as: Any, filed: Filed,
                                                                kind: str) -> None:
    for stranger in ("municipal", "company"):
        pf.switch_user(login_as, stranger)
        for endpoint in ("records.record", "records.record_pdf"):
            assert client.get(url_for(endpoint, kind=kind, ident=filed.ids[kind])).status_code == 404


def test_anonymous_readers_get_the_published_challenge_only(client: Any, filed: Filed) -> None:
    assert client.get(url_for("records.record", kind="challenge", ident=filed.ids["challenge"])).status_code == 200
    response = client.get(url_for("records.record", kind="proposal", ident=filed.ids["proposal"]))
    assert response.status_code == 302 and "/auth/login" in response.location
    draft = pf.make_challenge(filed.pair.municipality, status="draft")
    db.session.commit()
    assert client.get(url_for("records.record_pdf", kind="challenge", ident=draft.id)).status_code == 404


def test_records_that_do_not_exist_yet_are_not_found(client: Any, login_as: Any) -> None:
    pair = pf.make_pair(status="published")
    match = pf.make_match(pair.challenge, pair.solution, stage="proposal")
    db.session.commit()
    login_as(pair.owner)
    assert client.get(url_for("records.record", kind="pilot", ident=match.id)).status_code == 404
    assert client.get(url_for("records.record", kind="adoption", ident=match.id)).status_code == 404
    assert client.get(url_for("records.record", kind="minutes", ident=match.id)).status_code == 404


def test_without_pango_the_pdf_link_says_what_to_do(client: Any, login_as: Any, filed: Filed,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf, "unavailable_reason", lambda: "cannot load library 'libpango-1.0-0'")
    login_as(filed.pair.owner)
    page = get_page(client, "records.record_pdf", expected_status=503, kind="proposal", ident=filed.ids["proposal"])
    assert "pango" in page_text(page)
    assert page.select_one("a.button")["href"] == url_for("records.record", kind="proposal", ident=filed.ids["proposal"],
                                                          _external=False)


def test_the_match_page_and_the_dashboard_lead_to_every_record(client: Any, login_as: Any, filed: Filed) -> None:
    login_as(filed.pair.owner)
    page = get_page(client, "matches.match", match_id=filed.ids["pilot"])
    listed = {span["data-record"] for span in page.select("#records .record-links")}
    assert listed == set(KINDS) | {"dossier"}  # the handover dossier: tests/test_handover.py
    pdfs = {a["href"] for a in page.select("#records a[href$='.pdf']")}
    assert {url_for("records.record_pdf", kind=k, ident=filed.ids[k], _external=False) for k in KINDS} <= pdfs
    dashboard = get_page(client, "municipality.dashboard")
    assert dashboard.select_one(f"tr[data-challenge='{filed.ids['challenge']}'] a.pdf-link")
