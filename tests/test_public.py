"""The landing page and the public challenge page."""

from __future__ import annotations

import sys
import types
from datetime import date

from flask import url_for

from tests import factories
from tests.challenge_helpers import reembeds  # noqa: F401  (autouse fixture)
from tests.pages import get_page, page_text

DEMO = [
    {"role": "municipal", "email": "city@demo.example.jp", "password": "demo-pass-city", "name": "神戸 花子",
     "organisation": "デモ市"},
    {"role": "coordinator", "email": "desk@demo.example.jp", "password": "demo-pass-desk", "name": "公民 連",
     "organisation": ""},
]


def test_landing_page_explains_the_service_counts_and_lists_the_latest(client, db):
    org = factories.make_municipality()
    factories.make_municipality()
    factories.make_challenge(organisation=org, title="公開中の課題その一")
    factories.make_challenge(organisation=org, title="公開中の課題その二")
    factories.make_challenge(organisation=org, title="誰にも見せない下書き", status="draft")
    factories.make_challenge(organisation=org, title="募集を終えた課題", status="closed")
    factories.make_solution()
    factories.make_solution(active=False)
    db.session.commit()
    page = get_page(client, "public.index")
    assert "自治体が抱える地域の課題" in page_text(page.find(class_="hero"))
    assert page.find(id="stat-challenges").b.text == "2"
    assert page.find(id="stat-municipalities").b.text == "2"
    assert page.find(id="stat-solutions").b.text == "1"
    latest = page_text(page.find(id="latest"))
    assert "公開中の課題その一" in latest and "公開中の課題その二" in latest
    assert "誰にも見せない下書き" not in page_text(page) and "募集を終えた課題" not in latest
    search_form = page.find("form", role="search")
    assert search_form["action"] == url_for("public.challenges", _external=False)
    assert search_form.find("input", attrs={"name": "q"})
    assert page.find(id="demo-accounts") is None


def test_demo_accounts_are_shown_in_demo_mode(app, client, monkeypatch):
    module = types.ModuleType("matchmaker.demo.accounts")
    module.DEMO_ACCOUNTS = DEMO  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "matchmaker.demo.accounts", module)
    app.config["DEMO_MODE"] = True
    box = get_page(client, "public.index").find(id="demo-accounts")
    text = page_text(box)
    assert "city@demo.example.jp" in text and "demo-pass-city" in text and "デモ市" in text
    assert "自治体職員" in text and "コーディネーター" in text
    app.config["DEMO_MODE"] = False
    assert get_page(client, "public.index").find(id="demo-accounts") is None


def test_demo_mode_without_the_demo_module_shows_nothing(app, client, monkeypatch):
    monkeypatch.setitem(sys.modules, "matchmaker.demo.accounts", None)  # import raises ImportError
    app.config["DEMO_MODE"] = True
    page = get_page(client, "public.index")
    assert page.find(id="demo-accounts") is None
    assert page.find(id="stats")


def test_challenge_page_shows_every_section_in_japanese_dates(client, db):
    challenge = factories.make_challenge(
        deadline=date(2027, 1, 15), fiscal_year=2027, budget_min=1_000_000, budget_max=3_000_000,
        sdgs=[3, 11], constraints="",
    )
    db.session.commit()
    page = get_page(client, "public.challenge", challenge_id=challenge.id)
    body = page.find(id="challenge-body")
    headings = [dt.get_text(strip=True) for dt in body.find_all("dt")]
    assert headings == ["背景・現状", "課題", "原因", "対象者", "目指す姿・KPI", "制約", "提供できるもの",
                        "予算・年度", "連携手法", "分野", "SDGs", "締切", "担当課"]
    text = page_text(body)
    assert "令和9年1月15日" in text
    assert "令和9年度（2027年度）" in text
    assert "100万円〜300万円" in text
    assert "実証実験" in text and "業務委託" in text and "介護予防・フレイル" in text
    assert "3. すべての人に健康と福祉を" in text
    assert "保健福祉局 高齢福祉課" in text
    assert page_text(body.find(id="section-constraints").find_next("dd")) == "記載なし"
    rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in body.find("table").tbody.find_all("tr")]
    assert rows[0] == ["通いの場の参加率", "8%", "12%"]
    assert page.find(id="accepting")


def test_challenge_page_leaves_a_place_for_other_areas(client, db):
    challenge = factories.make_challenge()
    db.session.commit()
    source = client.application.jinja_env.loader.get_source(client.application.jinja_env, "public/challenge.html")[0]
    assert "{% block challenge_extras %}{% endblock %}" in source
    assert '{% include "matches/_challenge_panel.html" ignore missing %}' in source
    get_page(client, "public.challenge", challenge_id=challenge.id)


def test_a_past_deadline_shows_the_challenge_as_no_longer_accepting(client, db):
    challenge = factories.make_challenge(deadline=date(2020, 4, 1))
    db.session.commit()
    page = get_page(client, "public.challenge", challenge_id=challenge.id)
    assert page.find(id="not-accepting") and not page.find(id="accepting")
    assert "令和2年4月1日" in page_text(page)


def test_unknown_challenge_is_404(client):
    get_page(client, "public.challenge", expected_status=404, challenge_id=999)


def test_pages_render_in_english_too(client, login_as, db):
    user = login_as("municipal")
    challenge = factories.make_challenge(organisation=user.organisation, status="draft", fiscal_year=2027)
    factories.make_challenge(title="公開中の英語表示テスト")
    db.session.commit()
    client.post(url_for("public.set_language"), data={"locale": "en", "next": "/"})
    for endpoint, values in [("public.index", {}), ("public.challenges", {"q": "通いの場"}),
                             ("public.challenge", {"challenge_id": challenge.id}),
                             ("municipality.edit_challenge", {"challenge_id": challenge.id}),
                             ("municipality.dashboard", {})]:
        page = get_page(client, endpoint, **values)
        assert page.html["lang"] == "en", endpoint
    assert "FY2027" in page_text(get_page(client, "public.challenge", challenge_id=challenge.id))
