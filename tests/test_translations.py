"""Japanese is the source language; English must be complete."""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.pages import get_page, page_text

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [
    ("matchmaker/**.py", "python"),
    ("models/**.py", "python"),
    ("templates/**.html", "jinja2"),
]


def _searched(path: str) -> bool:
    """Every folder but hidden ones (.venv, .git): Babel's default also skips folders whose name
    starts with "_", which left templates/_macros and templates/_partials unchecked."""
    return not os.path.basename(path).startswith(".")


def source_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS, options_map={"templates/**.html": {}},
        directory_filter=_searched,
    ):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, filename)
    return found


def test_every_japanese_string_has_an_english_translation() -> None:
    with open(ROOT / "matchmaker/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalog
        if message.id and (message.string if isinstance(message.string, str) else all(message.string))
        and not message.fuzzy
    }
    missing = {msgid: where for msgid, where in source_messages().items() if msgid not in translated}
    assert not missing, f"{len(missing)} strings lack English, e.g. {list(missing.items())[:10]}"


def test_user_can_switch_to_english_and_back(client) -> None:
    page = get_page(client, "public.index")
    assert page.html["lang"] == "ja"
    client.post("/language", data={"locale": "en", "next": "/"})
    page = get_page(client, "public.index")
    assert page.html["lang"] == "en"
    assert "Public–private co-creation" in page_text(page)
    assert "官民共創マッチング" not in page_text(page)
    client.post("/language", data={"locale": "ja", "next": "/"})
    assert get_page(client, "public.index").html["lang"] == "ja"


def test_prefectures_read_in_the_reader_s_language(client, db) -> None:
    from tests import factories

    challenge = factories.make_challenge(factories.make_municipality(name="テスト市", prefecture="兵庫県"))
    db.session.commit()
    client.post("/language", data={"locale": "en", "next": "/"})
    listing = get_page(client, "public.challenges")
    assert "Hyogo" in page_text(listing) and "兵庫県" not in page_text(listing)
    assert "(Hyogo)" in page_text(get_page(client, "public.challenge", challenge_id=challenge.id)).replace("（", "(").replace("）", ")")
    client.post("/language", data={"locale": "ja", "next": "/"})
    assert "兵庫県" in page_text(get_page(client, "public.challenges"))


def test_template_strings_follow_the_request_s_locale_and_force_locale(app) -> None:
    """Templates look the catalogue up once per request and locale (matchmaker.templating): a
    locale forced inside the request, and its end, are still followed, and the strings stay
    format strings that autoescaping templates escape."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = "{{ _('受付中') }}|{{ _('%(name)s 様', name=who) }}|{{ _('100%%') }}"
    with app.test_request_context("/", headers={"Accept-Language": "ja"}):
        assert render_template_string(page, who="<b>") == "受付中|&lt;b&gt; 様|100%"
        with force_locale("en"):
            assert render_template_string(page, who="<b>") == "Open|Dear &lt;b&gt;|100%"
        assert render_template_string(page, who="田中") == "受付中|田中 様|100%"
        with force_locale("en"):
            plain = "{% autoescape false %}" + page + "{% endautoescape %}"
            assert render_template_string(plain, who="<b>") == "Open|Dear <b>|100%"
