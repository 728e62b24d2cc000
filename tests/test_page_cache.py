"""Public pages kept rendered for visitors who are not signed in (matchmaker/page_cache.py): served
again while the public data is unchanged, rendered anew when it changes, never to members, each
visitor with their own CSRF token, and not swallowing flashed messages."""

from __future__ import annotations

import re

from flask import url_for
from sqlalchemy import event

from matchmaker.page_cache import cache_of
from models.base import utcnow
from tests import factories
from tests.challenge_helpers import reembeds  # noqa: F401  (autouse fixture)
from tests.pages import page_text
from tests.pipeline_factories import make_match, make_pair, make_question

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def count_queries(db) -> list[str]:
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


def test_a_second_anonymous_visit_is_served_from_the_cache_with_one_query(app, client, db):
    pair = make_pair(title="駅前の放置自転車を減らしたい")
    db.session.commit()
    path = url_for("public.challenge", challenge_id=pair.challenge.id)
    first = client.get(path)
    assert first.status_code == 200 and "駅前の放置自転車を減らしたい" in first.text
    statements = count_queries(db)
    second = client.get(path)
    assert second.status_code == 200
    assert CSRF.sub("", second.text) == CSRF.sub("", first.text)
    assert len(statements) == 1 and "count" in statements[0].lower()  # the fingerprint only
    assert cache_of(app).hits == 1


def test_between_two_checks_a_kept_page_is_served_without_a_query_and_a_change_shows_after_the_check(
        app, client, db, monkeypatch):
    from matchmaker import page_cache

    clock = [1000.0]
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: clock[0])
    app.config["PAGE_CACHE_CHECK_SECONDS"] = 1.0
    pair = make_pair(title="古い題名の課題")
    db.session.commit()
    path = url_for("public.challenge", challenge_id=pair.challenge.id)
    assert "古い題名の課題" in client.get(path).text
    pair.challenge.title = "新しい題名の課題"
    db.session.commit()
    statements = count_queries(db)
    clock[0] += 0.5
    assert "古い題名の課題" in client.get(path).text  # within the check interval: the kept page
    assert statements == []
    clock[0] += 0.6
    assert "新しい題名の課題" in client.get(path).text
    assert any("count(challenge.id)" in statement for statement in statements)  # the check, then the page


def test_a_change_to_a_published_challenge_is_shown_at_once(client, db):
    pair = make_pair(title="古い題名の課題")
    db.session.commit()
    path = url_for("public.challenge", challenge_id=pair.challenge.id)
    listing = url_for("public.challenges")
    assert "古い題名の課題" in client.get(path).text and "古い題名の課題" in client.get(listing).text
    pair.challenge.title = "新しい題名の課題"
    db.session.commit()
    assert "新しい題名の課題" in client.get(path).text
    assert "新しい題名の課題" in client.get(listing).text


def test_publishing_withdrawing_and_answering_change_the_public_pages(client, db, login_as):
    pair = make_pair(title="まだ下書きの課題", status="draft")
    db.session.commit()
    listing = url_for("public.challenges")
    assert "まだ下書きの課題" not in client.get(listing).text
    pair.challenge.status, pair.challenge.published_at = "published", utcnow()
    db.session.commit()
    assert "まだ下書きの課題" in client.get(listing).text
    question = make_question(pair.challenge, pair.company_user, body="現地調査は可能ですか")
    db.session.commit()
    path = url_for("public.challenge", challenge_id=pair.challenge.id)
    before = client.get(path).text
    question.answer = "平日であれば可能です"
    question.answered_at = utcnow()
    db.session.commit()
    after = client.get(path).text
    assert before != after and "平日であれば可能です" in after
    pair.challenge.status, pair.challenge.published_at = "draft", None
    db.session.commit()
    assert "まだ下書きの課題" not in client.get(listing).text


def test_editing_a_draft_or_proposing_keeps_the_cache(app, client, db):
    pair = make_pair(title="公開中の課題")
    draft = factories.make_challenge(pair.municipality, title="編集中の下書き", status="draft")
    db.session.commit()
    listing = url_for("public.challenges")
    client.get(listing)
    draft.title = "編集中の下書き(改)"
    make_match(pair.challenge, pair.solution, stage="proposal")
    db.session.commit()
    hits = cache_of(app).hits
    assert "公開中の課題" in client.get(listing).text
    assert cache_of(app).hits == hits + 1


def test_members_never_get_the_anonymous_page_and_never_fill_the_cache(app, client, db, login_as):
    pair = make_pair()
    db.session.commit()
    path = url_for("public.index")
    anonymous = client.get(path).text
    assert "ログアウト" not in anonymous
    user = login_as(pair.owner)
    member = client.get(path).text
    assert "ログアウト" in member and user.name in member
    entries = len(cache_of(app))
    client.get(url_for("public.challenges"))
    assert len(cache_of(app)) == entries


def test_each_visitor_gets_their_own_csrf_token_and_the_language_switch_works(app, db):
    factories.make_challenge(factories.make_municipality(), title="言語切替の確認用")
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    path = "/challenges"

    def fresh(call, *args, **kwargs):  # a server gives each request its own app context (and g)
        with app.app_context():
            return call(*args, **kwargs)

    one = CSRF.search(fresh(first.get, path).text).group(1)
    page = fresh(second.get, path).text
    assert cache_of(app).hits == 1
    two = CSRF.search(page).group(1)
    assert one != two
    switched = fresh(second.post, "/language", data={"csrf_token": two, "locale": "en", "next": path})
    assert switched.status_code == 302
    english = fresh(second.get, path).text
    assert 'lang="en"' in english and "言語切替の確認用" in english
    assert 'lang="ja"' in fresh(first.get, path).text


def test_a_flashed_message_is_shown_not_lost_to_a_cached_page(client, db):
    db.session.commit()
    client.get("/")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "ご登録ありがとうございました")]
    assert "ご登録ありがとうございました" in page_text_of(client.get("/").text)
    assert "ご登録ありがとうございました" not in client.get("/").text


def test_an_entry_older_than_the_limit_is_rendered_again(app, client, db):
    client.get("/matches/cases")
    app.config["PAGE_CACHE_SECONDS"] = 0.000001
    hits = cache_of(app).hits
    client.get("/matches/cases")
    assert cache_of(app).hits == hits


def page_text_of(html: str) -> str:
    from bs4 import BeautifulSoup

    return page_text(BeautifulSoup(html, "html.parser"))
