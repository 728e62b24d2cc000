"""Journey 2 (issue 4): one match from proposal to adoption, with the company, the municipality and
a coordinator, ending in the public case library read by an anonymous visitor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from matchmaker.i18n import fiscal_year_of
from matchmaker.services.challenges import local_today
from tests import factories
from tests.browser import cast

pytestmark = pytest.mark.browser

CHALLENGE = "高齢者の通いの場への参加が途切れ、フレイルの兆しに気づけない"
OTHER_FRAILTY_CHALLENGE = "介護予防教室の参加者が固定化し、新しい参加者が増えない"
PROPOSAL = "QR出欠記録による通いの場の欠席者見守り"
SOUNDING = "通いの場の見守りに関するサウンディング型市場調査"
PRIVATE_NOTE = "個別対話：既存の名簿データの取り込み方法と、ボランティアの操作研修の回数を確認した。"
RESULTS = "参加事業者は1社。QRコードによる出欠記録は会場の負担が小さく、実証が可能との意見を得た。"
PILOT = "市内の通いの場3か所で、QR出欠記録と欠席者の自動連絡を4か月試行する。"
REPORT = "欠席者への連絡までの日数が7日以内になり、参加率も目標を上回った。"
PDF_NAME = "提案概要.pdf"


@dataclass(frozen=True)
class Journey2:
    officer: cast.Account
    company: cast.Account
    coordinator: cast.Account


def _set_up(live_site: Any) -> Journey2:
    today = local_today()
    with live_site.app.app_context():
        city = factories.make_municipality(name="あおば市", prefecture="兵庫県", population=180000)
        officer = cast.municipal_staff(city, "tanaka@city.aoba.example.jp", "田中 花子")
        cast.published_challenge(city, title=CHALLENGE, deadline=today + timedelta(days=30),
                                 domains=["frailty", "welfare"], fiscal_year=fiscal_year_of(today) + 1)
        # Another town's challenge in the same field: its page links to finished cases (ヨコ展開).
        town = factories.make_municipality(name="みどり町", prefecture="岐阜県", population=24000)
        cast.published_challenge(town, title=OTHER_FRAILTY_CHALLENGE, domains=["frailty"])
        firm = factories.make_company(name="株式会社かよいテック", prefecture="大阪府")
        seller = cast.company_staff(firm, "sato@kayoi.example.jp", "佐藤 健")
        cast.profile(seller, **cast.FITTING_PROFILE)
        coordinator = cast.coordinator()
        cast.commit()
        return Journey2(cast.account(officer), cast.account(seller), cast.account(coordinator))


def _small_pdf(folder: Path) -> Path:
    path = folder / PDF_NAME
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                     b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
                     b"trailer << /Root 1 0 R >>\n%%EOF\n")
    return path


def _stage(ui: Any) -> str:
    return str(ui.find("h1 + p.meta [data-stage]").get_attribute("data-stage"))


def _download_head(ui: Any, link_text: str) -> str:
    """Fetch an attachment link with the browser's own session; return its first bytes as text."""
    links = [a for a in ui.find_all("#attachments a") if a.text.strip() == link_text]
    assert links, f"no attachment link {link_text!r} on {ui.path()}"
    link = links[0]
    return str(ui.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'})"
        ".then(r => r.ok ? r.arrayBuffer() : Promise.reject(r.status))"
        ".then(b => done(String.fromCharCode(...new Uint8Array(b).slice(0, 8))))"
        ".catch(e => done('error ' + e));", link.get_attribute("href")))


def test_one_match_from_proposal_to_adoption(ui: Any, live_site: Any, tmp_path: Path) -> None:
    people = _set_up(live_site)
    live_site.wait_for_jobs()
    today = local_today()
    next_fy = fiscal_year_of(today) + 1

    # --- the company proposes, with a PDF ------------------------------------------------------
    ui.login(people.company.email, people.company.password)
    ui.click_link("公開中の課題", "nav")
    ui.click_link(CHALLENGE, "main")
    ui.wait_for_text(CHALLENGE, "h1")
    ui.wait_for_text("提案受付中", "h1 + p.meta")
    ui.click_and_load("#propose")
    ui.wait_for_text("提案する", "h1")
    ui.choose("solution_id", label=cast.FITTING_PROFILE["title"])
    ui.fill("title", PROPOSAL)
    ui.fill("approach", "通いの場の出欠をQRコードで記録し、欠席が2回続いた方を地域包括支援センターに自動で知らせます。"
                        "センターは1週間以内に電話か訪問で声をかけ、参加の継続を支えます。")
    ui.fill("schedule", "1か月目 準備と操作研修、2〜5か月目 実証、6か月目 効果検証と報告")
    ui.fill("cost_estimate", "1800000")
    ui.fill("needs_from_municipality", "実証する通いの場3か所の紹介、参加者名簿（匿名化）、センター職員との月1回の打合せ")
    ui.fill("attachments", str(_small_pdf(tmp_path)))
    ui.shot("company-proposal-form")
    ui.press("提案を提出する", "#proposal-form")
    ui.expect_flash("提案を提出しました。自治体に通知されます。")
    ui.wait_for_text(PROPOSAL, "h1")
    assert ui.text("#proposal-status") == "提出済み"
    assert _stage(ui) == "proposal"
    ui.wait_for_text(PDF_NAME, "#attachments")
    assert "180万円" in ui.text("#cost")
    ui.shot("company-proposal-submitted")
    ui.logout()

    # --- the municipality shortlists, downloads the PDF, invites to sounding --------------------
    ui.login(people.officer.email, people.officer.password)
    ui.wait_for_text("1", "#nav-notifications .badge")
    ui.click_link(CHALLENGE, "#status-published")
    ui.click_link("届いた提案を見る", "#pipeline-manage")
    ui.wait_for_text("届いた提案", "h1")
    ui.wait_for_text(PROPOSAL, "#proposals")
    ui.wait_for_text("株式会社かよいテック", "#proposals")
    ui.shot("municipality-proposals")
    ui.click_link(PROPOSAL, "#proposals")
    assert _download_head(ui, PDF_NAME).startswith("%PDF-1.4"), "the owner cannot download the attachment"
    ui.press("候補に選ぶ", "#decide")
    ui.expect_flash("提案を候補に選びました。")
    assert ui.text("#proposal-status") == "候補に選定"
    ui.press("サウンディングに招待する", "#decide")
    ui.expect_flash("サウンディングに招待しました。")
    assert ui.text("#proposal-status") == "サウンディングに招待"
    assert _stage(ui) == "sounding"
    ui.shot("municipality-invited-to-sounding")

    # --- the municipality opens a sounding with one slot ----------------------------------------
    ui.click_link("自治体ダッシュボード", "nav")
    ui.click_link(CHALLENGE, "#status-published")
    ui.click_link("サウンディングを開く", "#pipeline-manage")
    ui.fill_form({
        "title": SOUNDING,
        "description": "欠席者の見守りの進め方、個人情報の扱い、費用の目安について1社ずつ対話します。",
        "starts_on": (today + timedelta(days=7)).isoformat(),
        "ends_on": (today + timedelta(days=21)).isoformat(),
        "entry_deadline": (today + timedelta(days=5)).isoformat(),
    }, "#sounding-form")
    ui.shot("municipality-sounding-form")
    ui.press("サウンディングを開く", "#sounding-form")
    ui.expect_flash("サウンディングを開きました。対話の枠を追加してください。")
    ui.wait_for_text(SOUNDING, "h1")
    ui.wait_for_text("まだ枠がありません。", "#slots")
    ui.fill_form({"slot-day": (today + timedelta(days=8)).isoformat(), "slot-start": "14:00",
                  "slot-end": "15:00", "slot-place": "あおば市役所 3階 会議室A", "slot-capacity": "1"}, "#add-slot")
    ui.press("枠を追加", "#add-slot")
    ui.expect_flash("枠を追加しました。")
    ui.wait_for_text("あおば市役所 3階 会議室A", "#slots")
    slot_label = ui.text("#slots tr.slot td")
    assert "14:00" in slot_label, slot_label
    ui.shot("municipality-sounding-with-slot")
    ui.logout()

    # --- the company books the slot, from its notification --------------------------------------
    ui.login(people.company.email, people.company.password)
    ui.click_and_load("#nav-notifications")
    ui.wait_for_text("サウンディングに招待されました", "ul.notifications")
    ui.shot("company-notifications")
    ui.click_link(f"「{CHALLENGE}」のサウンディングに招待されました", "ul.notifications")
    ui.wait_for_text(CHALLENGE, "h1")
    ui.click_link(SOUNDING, "#soundings")
    ui.wait_for_text(SOUNDING, "h1")
    ui.tick("book-slot_id", ui.find("#slots tr.slot").get_attribute("data-id"))
    ui.choose("book-solution_id", label=cast.FITTING_PROFILE["title"])
    ui.shot("company-booking-form")
    ui.press("予約する", "#book-form")
    ui.expect_flash("枠を予約しました。")
    ui.wait_for_text("個別対話：株式会社かよいテック", "h1")
    ui.wait_for_text("まだ記録はありません。", "#notes")
    ui.shot("company-booked")
    ui.logout()

    # --- the municipality records the dialogue and publishes the results summary ----------------
    ui.login(people.officer.email, people.officer.password)
    ui.click_link(CHALLENGE, "#status-published")
    ui.click_link(SOUNDING, "#soundings")
    ui.click_link("株式会社かよいテック", "#slots")
    ui.fill("body", PRIVATE_NOTE, "#note-form")
    ui.press("記録を追加", "#note-form")
    ui.expect_flash("記録を追加しました。")
    ui.wait_for_text(PRIVATE_NOTE, "#notes")
    ui.shot("municipality-dialogue-notes")
    ui.click_link(SOUNDING, "main p.meta")
    ui.click_and_load("#results-link")
    ui.wait_for_text("参加事業者数 1", "main")
    ui.fill("summary", RESULTS, "#results-form")
    ui.press("公表する", "#results-form")
    ui.expect_flash("実施結果概要を公表しました。課題のページに表示されます。")
    ui.wait_for_text(CHALLENGE, "h1")
    ui.wait_for_text(RESULTS, "#sounding-results")
    ui.shot("municipality-results-published")

    # --- the municipality agrees the pilot plan with KPIs ---------------------------------------
    ui.click_and_load("#nav-matches")
    ui.wait_for_text(CHALLENGE, "#stage-sounding")
    ui.click_link(CHALLENGE, "#stage-sounding")
    assert _stage(ui) == "sounding"
    ui.wait_for_text(SOUNDING, "#timeline")
    ui.click_and_load("#plan-pilot")
    pilot_start, pilot_end = today + timedelta(days=30), today + timedelta(days=150)
    ui.fill_form({
        "summary": PILOT,
        "starts_on": pilot_start.isoformat(), "ends_on": pilot_end.isoformat(),
        "kpis-0-name": "通いの場の参加率", "kpis-0-unit": "%", "kpis-0-baseline": "8", "kpis-0-target": "12",
        "kpis-1-name": "欠席者への連絡までの日数", "kpis-1-unit": "日", "kpis-1-baseline": "45", "kpis-1-target": "7",
        "responsibilities": "市：会場の調整と参加者への説明。企業：アプリの提供、ボランティアへの操作研修。",
        "cost_sharing": "実証期間の利用料は企業が負担し、QRコードの印刷は市が負担する。",
    }, "#pilot-form")
    ui.shot("municipality-pilot-plan")
    ui.press("計画を登録して実証実験へ進む", "#pilot-form")
    ui.expect_flash("実証実験の計画を登録しました。")
    assert _stage(ui) == "pilot"
    ui.wait_for_text("通いの場の参加率", "#pilot table.kpis")
    ui.wait_for_text("欠席者への連絡までの日数", "#pilot table.kpis")
    ui.wait_for_text("予算要求 未登録", "#pilot")
    ui.shot("match-in-pilot")
    ui.logout()

    # --- a coordinator watches the board and records the budget request -------------------------
    ui.login(people.coordinator.email, people.coordinator.password)
    ui.click_link("パイプラインボード", "#coordinator-links")
    ui.wait_for_text("パイプラインボード", "h1")
    pilot_column = '#board .board-column[data-stage="pilot"]'
    ui.wait_for_text("あおば市 × 株式会社かよいテック", pilot_column)
    ui.shot("coordinator-board")
    ui.click_and_load(f"{pilot_column} .board-card a")
    ui.wait_for_text(CHALLENGE, "h1")
    ui.click_and_load("#budget-request")
    ui.wait_for_text("予算要求の登録", "h1")
    ui.fill_form({"recorded_on": today.isoformat(), "amount": "2400000",
                  "note": "財政課に新規事業として要求。12月査定予定。"}, "#budget-form")
    ui.shot("coordinator-budget-request")
    ui.press("登録する", "#budget-form")
    ui.expect_flash("予算要求を登録しました。")
    assert not ui.find_all("#no-budget-request")
    ui.wait_for_text("予算要求", "#pilot")
    ui.logout()

    # --- the municipality reports the results and records the adoption --------------------------
    ui.login(people.officer.email, people.officer.password)
    ui.click_and_load("#nav-matches")
    ui.click_link(CHALLENGE, "#stage-pilot")
    ui.click_and_load("#pilot-report")
    ui.wait_for_text("通いの場の参加率", "#actuals")
    ui.fill("actuals-0-actual", "12.5", "#report-form")
    ui.fill("actuals-1-actual", "6", "#report-form")
    ui.tick("verdict", "success", "#report-form")
    ui.fill("summary", REPORT, "#report-form")
    ui.shot("municipality-pilot-report")
    ui.press("結果報告を登録する", "#report-form")
    ui.expect_flash("結果報告を登録しました。事例集に掲載されます。")
    ui.wait_for_text("結果：成功", "#pilot")
    ui.wait_for_text("12.5", "#pilot table.kpis")

    ui.click_and_load("#adopt")
    ui.wait_for_text("導入を記録する", "h1")
    ui.choose("fiscal_year", value=str(next_fy), within="#adopt-form")
    ui.tick("procurement_route", "proposal", "#adopt-form")
    ui.fill("amount", "2400000", "#adopt-form")
    ui.fill("adopted_on", today.isoformat(), "#adopt-form")
    ui.fill("note", "公募型プロポーザルで契約。市内全120か所に広げる。", "#adopt-form")
    ui.shot("municipality-adoption-form")
    ui.press("導入を記録する", "#adopt-form")
    ui.expect_flash("導入を記録しました。事例集に掲載されます。")
    assert _stage(ui) == "adopted"
    adoption = ui.wait_for_text("プロポーザル", "#adoption")
    assert f"{next_fy}年度" in adoption and "240万円" in adoption, adoption
    for event in ("提案", "サウンディング", "実証実験", "導入"):
        assert event in ui.text("#timeline"), f"{event!r} missing from the timeline"
    ui.shot("match-adopted")
    ui.logout()

    # --- an anonymous visitor finds the case from a similar challenge (ヨコ展開) -----------------
    ui.click_link("公開中の課題", "nav")
    ui.click_link(OTHER_FRAILTY_CHALLENGE, "main")
    ui.wait_for_text(CHALLENGE, "#related-cases")
    ui.click_link("事例集をすべて見る", "#related-cases")
    ui.wait_for_text("事例集", "h1")
    case = ui.wait_for_text(CHALLENGE, "article.case")
    assert "導入" in case and "成功" in case and "株式会社かよいテック" in case, case
    ui.shot("public-case-library")
    ui.click_link(CHALLENGE, "article.case")
    ui.wait_for_text(CHALLENGE, "h1")
    ui.wait_for_text("成功", "#verdict")
    ui.wait_for_text("12.5", "#case-pilot table.kpis")
    adoption = ui.wait_for_text("プロポーザル", "#case-adoption")
    assert "240万円" in adoption
    page = ui.text("main")
    for private in (PRIVATE_NOTE, PROPOSAL, PDF_NAME):
        assert private not in page, f"{private!r} shows in the public case"
    assert re.search(r"令和\d+年\d+月\d+日", ui.text("#case-pilot")), "the pilot period is not in the era style"
    ui.shot("public-case")

    assert ui.console_errors() == []
