"""Public sounding results and the pipeline's figures under /api/v1: what the challenge page shows
of a sounding (never one whose results are not published, never of a draft), and the board's
funnel as counts only, equal to the coordinators' own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from matchmaker.services import board
from models import Sounding, db
from tests import factories
from tests import pipeline_factories as pf
from tests.pages import get_page
from tests.test_api import API, Demo, demo, get_json  # noqa: F401  (the fixture)


def test_soundings_are_the_published_results_the_page_shows(client: Any, demo: Demo) -> None:  # noqa: F811
    challenge = demo.published[0]
    published = db.session.scalar(select(Sounding).where(Sounding.title == "公表済みのサウンディング"))
    assert published is not None
    pf.make_booking(published, published.slots[0], demo.running)
    db.session.commit()
    items = get_json(client, f"/challenges/{challenge.id}/soundings").json["items"]
    assert [(s["title"], s["participants"], s["summary"]) for s in items] == [
        ("公表済みのサウンディング", 1, "6社と対話し、事業化の見込みを確認した。")]
    assert set(items[0]) == {"id", "title", "starts_on", "ends_on", "participants", "summary", "published_at"}
    assert items[0]["starts_on"] == published.starts_on.isoformat()
    panel = get_page(client, "public.challenge", challenge_id=challenge.id).find(id="sounding-results")
    assert "6社と対話し" in panel.get_text() and "結果を公表していない" not in panel.get_text()
    response = get_json(client, f"/challenges/{challenge.id}/soundings")
    assert demo.running.solution.organisation.name.encode() not in response.data, "how many, not which companies"
    assert response.headers["Cache-Control"] == "public, max-age=60" and "ETag" in response.headers
    assert get_json(client, f"/challenges/{demo.published[1].id}/soundings").json["items"] == []


def test_a_draft_s_sounding_results_are_not_found(client: Any, db: Any, demo: Demo) -> None:  # noqa: F811
    pf.make_sounding(demo.draft, title="下書きのサウンディング", results_summary="非公開の概要",
                     results_published_at=datetime.now(UTC))
    db.session.commit()
    response = get_json(client, f"/challenges/{demo.draft.id}/soundings", 404)
    assert response.mimetype == "application/problem+json" and "非公開の概要".encode() not in response.data
    get_json(client, f"/challenges/{2**40}/soundings", 404)


def test_the_funnel_is_the_boards_in_counts_only(client: Any, demo: Demo) -> None:  # noqa: F811
    response = get_json(client, "/funnel")
    body = response.json
    board_funnel = get_json(client, "/board", Authorization=demo.as_("coordinator")["Authorization"]).json["funnel"]
    assert body == board_funnel
    expected = board.funnel_for(board.BoardFilters())
    assert body["total"] == expected.total == 3 and body["closed"] == 0
    stages = {s["stage"]: s for s in body["stages"]}
    assert (stages["pilot"]["current"], stages["adopted"]["current"]) == (2, 1)
    assert stages["pilot"]["reached"] == 3, "the adopted match went through a pilot"
    for name in (demo.adopted.solution.organisation.name, demo.adopted.solution.title, demo.published[1].title):
        assert name.encode() not in response.data
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_the_funnel_of_an_empty_site_is_zeros(client: Any, db: Any) -> None:
    factories.make_challenge()
    db.session.commit()
    body = get_json(client, "/funnel").json
    assert body["total"] == 0 and all(s["current"] == s["reached"] == 0 for s in body["stages"])
    assert body["pilot_adoption_rate"] is None
