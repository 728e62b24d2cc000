"""Disclosure versions (開示版): marked passages and 非公開 fields are blacked out with their reason,
for every role that may open the record; those who may not see the record get the same 404."""

from __future__ import annotations

from typing import Any

import pytest

from matchmaker.services import disclosure
from models import DialogueNote
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


@pytest.mark.parametrize("who", ["owner", "company", "coordinator"])
def test_proposal_disclosure_version_per_role(db: Any, client: Any, login_as: Any, who: str) -> None:
    pair, proposal = _proposal_with_secret()
    login_as({"owner": pair.owner, "company": pair.company_user}.get(who, who))
    page = get_page(client, "records.record", kind="proposal_disclosure", ident=proposal.id)
    html = str(page)
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
