"""The accessibility statement (ウェブアクセシビリティ方針) shows the latest axe-core run and claims no
more than it tested; form errors are announced by a summary that links to fields that name them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.challenge_helpers import form_data, reembeds  # noqa: F401  (autouse fixture)
from tests.pages import get_page, page_text, post_page

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "data" / "accessibility" / "axe-results.json"
VENDORED = ROOT / "tests" / "browser" / "vendor" / "axe-core" / "VERSION.json"


def _check(endpoint: str, role: str, language: str, width: str, *violations: tuple[str, str]) -> dict:
    return {"endpoint": endpoint, "rule": "/" + endpoint, "path": "/" + endpoint, "role": role, "language": language,
            "width": width, "title": f"{endpoint} ({language})",
            "violations": [{"rule": rule, "impact": impact, "help": "", "targets": ["#x"]} for rule, impact in violations]}


def _results(tmp_path: Path, checks: list[dict]) -> Path:
    path = tmp_path / "axe.json"
    path.write_text(json.dumps({
        "tool": {"name": "axe-core", "version": "9.9.9", "tags": ["wcag2aa"], "failing_impacts": ["serious", "critical"]},
        "browser": "Chromium 1", "tested_at": "2026-12-07T12:00+09:00", "data": "demo",
        "roles": ["anonymous", "municipal"], "languages": ["ja", "en"], "widths": {"desktop": 1280, "mobile": 375}, "max_pages_per_role": 40,
        "pages": {}, "checks": checks,
    }), encoding="utf-8")
    return path


def test_the_footer_links_to_the_statement_in_both_languages(client):
    page = get_page(client, "public.index")
    link = page.select_one("footer #footer-accessibility")
    assert link is not None and link.get_text(strip=True) == "ウェブアクセシビリティ方針"
    statement = get_page(client, "public.accessibility")
    assert statement.h1.get_text(strip=True) == "ウェブアクセシビリティ方針"
    assert "JIS X 8341-3:2016" in page_text(statement)
    assert statement.select_one("#a11y-conformance b").get_text(strip=True) == "一部準拠"
    client.post("/language", data={"locale": "en", "next": "/"})
    english = get_page(client, "public.accessibility")
    assert english.h1.get_text(strip=True) == "Web accessibility policy"
    assert english.select_one("#a11y-conformance b").get_text(strip=True) == "Partially conforming"
    assert english.select_one("footer #footer-accessibility").get_text(strip=True) == "Web accessibility policy"


def test_the_table_sums_each_kind_of_page_and_a_serious_violation_fails_it(app, client, tmp_path):
    app.config["ACCESSIBILITY_RESULTS"] = str(_results(tmp_path, [
        _check("public.index", "anonymous", "ja", "desktop", ("region", "moderate")),
        _check("public.index", "anonymous", "en", "mobile"),
        _check("public.index", "municipal", "ja", "mobile", ("color-contrast", "serious")),
        _check("auth.login", "anonymous", "ja", "desktop", ("heading-order", "moderate"), ("empty-table-header", "minor")),
    ]))
    page = get_page(client, "public.accessibility")
    rows = {row["data-endpoint"]: [cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
            for row in page.select("#a11y-table tbody tr")}
    assert rows["public.index"][0] == "public.index (ja)"
    assert rows["public.index"][2:7] == ["ログインしていない利用者、自治体職員", "3", "1", "1", "0"]
    assert rows["public.index"][7].startswith("不合格") and "color-contrast" in rows["public.index"][7]
    assert rows["auth.login"][3:7] == ["1", "0", "1", "1"] and rows["auth.login"][7].startswith("合格")
    assert "深刻・重大な問題が1件見つかりました" in page_text(page.select_one("#a11y-summary"))
    assert page.select_one("#a11y-tool").get_text(strip=True) == "axe-core 9.9.9"
    assert "令和8年12月7日" in page.select_one("#a11y-tested-at").get_text()


def test_without_a_run_the_statement_says_so(app, client, tmp_path):
    app.config["ACCESSIBILITY_RESULTS"] = str(tmp_path / "none.json")
    page = get_page(client, "public.accessibility")
    assert page.select_one("#a11y-no-results") is not None and page.select_one("#a11y-table") is None


def test_the_committed_results_come_from_the_vendored_axe_and_pass():
    results = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert results["tool"]["version"] == json.loads(VENDORED.read_text(encoding="utf-8"))["version"]
    assert set(results["roles"]) == {"anonymous", "municipal", "company", "coordinator", "admin"}
    assert {c["language"] for c in results["checks"]} == {"ja", "en"}
    assert {c["width"] for c in results["checks"]} == {"desktop", "mobile"}
    failing = [(c["path"], v["rule"]) for c in results["checks"] for v in c["violations"]
               if v["impact"] in ("serious", "critical")]
    assert failing == []


def test_form_errors_are_summarised_with_links_and_tied_to_their_fields(client, login_as):
    login_as("municipal")
    page = post_page(client, "municipality.new_challenge", data=form_data(title="", budget_min="たくさん"))
    summary = page.select_one("#error-summary")
    assert summary["role"] == "alert" and summary.has_attr("autofocus") and summary["tabindex"] == "-1"
    links = {a["href"]: a.get_text(strip=True) for a in summary.select("a")}
    assert links["#title"].endswith("課題名を入力してください。")
    assert "#budget_min" in links
    for name in ("title", "budget_min"):
        field = page.select_one(f"#{name}")
        assert field["aria-invalid"] == "true"
        described = field["aria-describedby"].split()
        assert f"{name}-error" in described and all(page.select_one(f"#{ident}") for ident in described)
    assert "課題名を入力してください。" in page.select_one("#title-error").get_text()
    untouched = page.select_one("#background")
    assert untouched["aria-invalid"] == "false" and "background-error" not in untouched.get("aria-describedby", "")
