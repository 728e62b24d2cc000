"""Open-data downloads (/api/v1/open-data/*): they parse back with csv and json, hold exactly what
the public pages show (never a draft), keep their columns, neutralise formulas in CSV cells, say
their licence, and cache like the other public endpoints; the オープンデータ page links them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import url_for

from tests import factories
from tests.pages import get_page
from tests.test_api import API, Demo, demo  # noqa: F401  (the fixture)

# The published columns, written out here on purpose: a change to them must change this test and
# docs/api.md, never slip through (columns are only added at the end).
CHALLENGE_COLUMNS = [
    "id", "title", "status", "state", "organisation_id", "organisation", "prefecture", "domains",
    "collaboration_forms", "sdgs", "background", "problem", "causes", "affected", "target_state", "kpis",
    "constraints", "offerings", "budget_min", "budget_max", "fiscal_year", "deadline", "contact_department",
    "published_at", "closed_at", "url",
]
CASE_COLUMNS = [
    "id", "stage", "challenge_id", "challenge_title", "organisation_id", "organisation", "prefecture", "domains",
    "collaboration_forms", "problem", "solution_title", "solution_summary", "company", "pilot_starts_on",
    "pilot_ends_on", "pilot_summary", "pilot_verdict", "pilot_report_summary", "kpis", "kpis_achieved",
    "adoption_fiscal_year", "procurement_route", "adoption_amount", "close_reason", "close_note", "url",
]
LICENSE_LINK = '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'


def download(client: Any, name: str) -> Any:
    response = client.get(f"{API}/open-data/{name}")
    assert response.status_code == 200, (name, response.data[:300])
    assert response.headers["Link"] == LICENSE_LINK
    assert response.headers["Content-Disposition"] == f'attachment; filename="matchmaker-{name}"'
    return response


def csv_rows(response: Any) -> tuple[list[str], list[dict[str, str]]]:
    data = response.data
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so that Excel opens Japanese"
    assert data.endswith(b"\r\n"), "CRLF after every record"
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def test_challenges_csv_is_the_public_list_with_stable_columns(client: Any, demo: Demo) -> None:  # noqa: F811
    response = download(client, "challenges.csv")
    header, rows = csv_rows(response)
    assert header == CHALLENGE_COLUMNS
    public = {c.id for c in demo.published} | {demo.closed.id, demo.expired.id}
    assert [int(r["id"]) for r in rows] == sorted(public)
    for hidden in (demo.draft, demo.in_review):
        assert hidden.title.encode() not in response.data
    # the header line ends in CRLF, as every record does
    assert response.data.split(b"\r\n", 1)[0] == b"\xef\xbb\xbf" + ",".join(CHALLENGE_COLUMNS).encode()
    first = next(r for r in rows if int(r["id"]) == demo.published[1].id)
    assert (first["organisation"], first["prefecture"], first["domains"], first["state"]) == \
        ("神戸テスト市", "兵庫県", "frailty", "open")
    assert first["sdgs"] == "3;11" and first["budget_max"] == str(demo.published[1].budget_max)
    assert first["published_at"].endswith("+09:00") and first["closed_at"] == ""
    assert first["url"] == url_for("public.challenge", challenge_id=demo.published[1].id, _external=True)
    closed = next(r for r in rows if int(r["id"]) == demo.closed.id)
    assert (closed["status"], closed["state"]) == ("closed", "closed")


def test_challenges_json_items_are_the_api_records(client: Any, demo: Demo) -> None:  # noqa: F811
    response = download(client, "challenges.json")
    body = json.loads(response.data)
    assert (body["dataset"], body["license"], body["license_url"]) == (
        "challenges", "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/")
    assert "matchmaker" in body["attribution"] and body["count"] == len(body["items"]) == 9
    for item in body["items"]:
        assert item == client.get(f"{API}/challenges/{item['id']}").json
    ids = {item["id"] for item in body["items"]}
    assert demo.draft.id not in ids and demo.in_review.id not in ids


def test_a_draft_is_never_in_the_files_even_for_its_owner(client: Any, login_as: Any, demo: Demo) -> None:  # noqa: F811
    login_as("municipal", organisation=demo.draft.organisation)
    get_page(client, "public.challenge", challenge_id=demo.draft.id)  # the owner sees it on the page
    for name in ("challenges.csv", "challenges.json", "cases.csv", "cases.json"):
        data = download(client, name).data
        assert demo.draft.title.encode() not in data and demo.in_review.title.encode() not in data, name


def test_formulas_are_neutralised_in_csv_and_kept_as_typed_in_json(client: Any, db: Any, demo: Demo) -> None:  # noqa: F811
    item = factories.make_challenge(title='=HYPERLINK("http://example.invalid","押して")',
                                    problem="＋1 全角の式", contact_department="@担当課")
    db.session.commit()
    _, rows = csv_rows(download(client, "challenges.csv"))
    row = next(r for r in rows if int(r["id"]) == item.id)
    assert row["title"] == "'" + item.title
    assert row["problem"] == "'＋1 全角の式" and row["contact_department"] == "'@担当課"
    body = json.loads(download(client, "challenges.json").data)
    assert next(i for i in body["items"] if i["id"] == item.id)["title"] == item.title


def test_cases_are_the_case_library_in_its_order(client: Any, demo: Demo) -> None:  # noqa: F811
    header, rows = csv_rows(download(client, "cases.csv"))
    assert header == CASE_COLUMNS
    page = get_page(client, "matches.cases")
    assert [int(r["id"]) for r in rows] == [int(card["data-id"]) for card in page.find_all("article", class_="case")]
    assert {int(r["id"]) for r in rows} == {demo.adopted.id, demo.reported.id}, "a running pilot is not a case"
    adopted = next(r for r in rows if int(r["id"]) == demo.adopted.id)
    assert (adopted["stage"], adopted["adoption_fiscal_year"], adopted["procurement_route"],
            adopted["adoption_amount"]) == ("adopted", "2027", "proposal", "2400000")
    reported = next(r for r in rows if int(r["id"]) == demo.reported.id)
    assert reported["pilot_verdict"] == "success" and reported["kpis_achieved"] == "1"
    assert reported["kpis"] == "通いの場の参加率 [%]: baseline=8, target=12, actual=12.5, achieved=yes"
    assert reported["adoption_amount"] == "" and reported["company"] == demo.reported.solution.organisation.name
    body = json.loads(download(client, "cases.json").data)
    assert body["dataset"] == "cases" and body["license"] == "CC BY 4.0"
    assert [i["id"] for i in body["items"]] == [int(r["id"]) for r in rows]
    assert body["items"][0] == client.get(f"{API}/cases/{body['items'][0]['id']}").json


def test_files_are_cached_with_an_etag_like_the_other_public_endpoints(client: Any, db: Any, demo: Demo) -> None:  # noqa: F811
    for name in ("challenges.csv", "challenges.json", "cases.csv", "cases.json"):
        path = f"{API}/open-data/{name}"
        first = client.get(path)
        assert first.headers["Cache-Control"] == "public, max-age=60", name
        assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304, name
    etag = client.get(f"{API}/open-data/challenges.csv").headers["ETag"]
    demo.published[0].title = "題名を変えた課題"
    db.session.commit()
    changed = client.get(f"{API}/open-data/challenges.csv", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "題名を変えた課題".encode() in changed.data


def test_an_empty_site_gives_a_header_only_file(client: Any, db: Any) -> None:
    header, rows = csv_rows(download(client, "cases.csv"))
    assert header == CASE_COLUMNS and rows == []
    assert json.loads(download(client, "challenges.json").data)["items"] == []


def test_the_open_data_page_states_the_licence_and_links_the_downloads(client: Any, demo: Demo) -> None:  # noqa: F811
    footer = get_page(client, "public.index").find(id="footer-open-data")
    assert footer["href"] == "/open-data"
    assert get_page(client, "public.challenges").find(id="open-data-link")["href"] == "/open-data"
    page = get_page(client, "public.open_data")
    license_link = page.find(id="open-data-license-link")
    assert license_link["href"] == "https://creativecommons.org/licenses/by/4.0/" and "CC BY 4.0" in license_link.text
    links = [a["href"] for a in page.find(id="open-data-downloads").find_all("a", download=True)]
    assert links == [f"{API}/open-data/challenges.csv", f"{API}/open-data/challenges.json",
                     f"{API}/open-data/cases.csv", f"{API}/open-data/cases.json"]
    counts = [td.text for td in page.find(id="open-data-downloads").select("tbody td:nth-of-type(1)")]
    assert counts == ["9", "2"]
    for href in links:
        assert client.get(href).status_code == 200
    for count, name in zip(counts, ("challenges.csv", "cases.csv"), strict=True):
        assert int(count) == len(csv_rows(download(client, name))[1]), "the page counts the files' rows"
    client.post(url_for("public.set_language"), data={"locale": "en"})
    english = get_page(client, "public.open_data")
    assert english.h1.text == "Open data" and "CC BY 4.0" in english.find(id="open-data-license-link").text
