"""`flask import challenges|solutions|organisations`: good rows land, bad rows are named and leave nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from matchmaker.services import importer
from models import AuditEvent, Challenge, Organisation, Solution
from models.codes import lg_code_check_digit
from tests import factories

CHALLENGE_HEADER = ["organisation", "title", "problem", "kpis", "budget_min", "budget_max", "fiscal_year",
                    "collaboration_forms", "domains", "sdgs", "deadline", "status"]


def lg_code(first_five: str) -> str:
    return first_five + str(lg_code_check_digit(first_five))


def write_csv(path: Path, header: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
                              for line in lines) + "\n", encoding="utf-8")
    return path


def run(runner: Any, *args: Any) -> Any:
    return runner.invoke(args=["import", *[str(a) for a in args]])


def count(db: Any, model: Any, *where: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)))


def titles(db: Any, model: Any) -> set[str]:
    return set(db.session.scalars(select(model.title)))


def test_csv_good_rows_land_and_each_bad_row_is_named_with_its_line(runner, db, tmp_path):
    city = factories.make_municipality(name="豊岡市")
    factories.make_company(name="株式会社ヨコテン")
    db.session.commit()
    path = write_csv(tmp_path / "challenges.csv", CHALLENGE_HEADER, [
        # line 2, spanning lines 2–3: a KPI cell with a line break
        ["豊岡市", "コウノトリ米の販路拡大", "販路が限られる", "販売額: 1億円 →\n2億円", "1,000,000", "3000000",
         "2027", "pilot;業務委託", "農業・鳥獣害;economy", "2;8", "2027-01-31", "published"],
        ["豊岡市", "", "", "", "", "", "", "", "", "", "", ""],  # line 4: no title
        ["豊岡市", "予算が逆転", "", "", "5000000", "1000000", "", "", "", "", "", ""],  # line 5
        ["未登録町", "存在しない自治体", "", "", "", "", "", "", "", "", "", ""],  # line 6
        ["豊岡市", "不正な日付と分野", "", "", "", "", "", "", "宇宙開発", "18", "2027-02-30", "公開"],  # line 7
        ["株式会社ヨコテン", "企業は課題を出せない", "", "", "", "", "", "", "", "", "", ""],  # line 8
        ["豊岡市", "城崎温泉の混雑緩和", "", "", "", "", "令和9年度", "", "観光・交流", "", "2027/3/1", "下書き"],
    ])

    result = run(runner, "challenges", path, "--no-embed")

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "行 4: title: 必須項目です。値を入力してください。" in lines
    assert any(line.startswith("行 5: budget_max: 予算の上限は下限") for line in lines)
    assert any(line.startswith("行 6: organisation: 組織「未登録町」が登録されていません") for line in lines)
    line7 = next(line for line in lines if line.startswith("行 7: "))
    for problem in ("domains: 選択肢にない値です: 宇宙開発", "sdgs: 1〜17の番号", "deadline: 日付は YYYY-MM-DD",
                    "status: 選択肢にない値です: 公開"):
        assert problem in line7
    assert any(line.startswith("行 8: organisation: 「株式会社ヨコテン」は自治体として登録されていません") for line in lines)
    assert not any(line.startswith(("行 2:", "行 3:", "行 9:")) for line in lines)
    assert "課題: 取り込み 2件、スキップ 0件、却下 5件" in lines

    assert titles(db, Challenge) == {"コウノトリ米の販路拡大", "城崎温泉の混雑緩和"}
    rice = db.session.scalar(select(Challenge).where(Challenge.title == "コウノトリ米の販路拡大"))
    assert rice.organisation_id == city.id
    assert (rice.budget_min, rice.budget_max, rice.fiscal_year) == (1_000_000, 3_000_000, 2027)
    assert rice.collaboration_forms == ["pilot", "outsourcing"]
    assert rice.domains == ["agriculture", "economy"]
    assert rice.sdgs == [2, 8]
    assert rice.kpis == "販売額: 1億円 →\n2億円"
    assert rice.status == "published" and rice.published_at is not None
    onsen = db.session.scalar(select(Challenge).where(Challenge.title == "城崎温泉の混雑緩和"))
    assert (onsen.fiscal_year, onsen.deadline.isoformat(), onsen.status) == (2027, "2027-03-01", "draft")
    assert count(db, AuditEvent, AuditEvent.action == "challenge.imported", AuditEvent.actor_id.is_(None)) == 2


def test_jsonl_rows_with_lists_as_arrays(runner, db, tmp_path):
    factories.make_company(name="株式会社ミライケア")
    db.session.commit()
    good = {"organisation": "株式会社ミライケア", "title": "見守りセンサー", "summary": "高齢者宅の見守り",
            "price_min": 100000, "price_max": 500000, "lead_time_weeks": 4, "regions": ["兵庫県", "大阪"],
            "maturity": "提供中", "collaboration_forms": ["pilot"], "domains": ["welfare", "福祉・見守り"]}
    path = write_jsonl(tmp_path / "solutions.jsonl", [
        good,                                                     # line 1
        "{not json",                                              # line 2
        "",                                                       # line 3: blank, skipped
        {**good, "title": "価格が逆", "price_min": 9, "price_max": 1, "colour": "red"},  # line 4
        {**good, "title": "分野なし", "domains": [], "maturity": "量産"},  # line 5
        {**good, "title": "地域が文字列", "regions": "北海道;沖縄県", "lead_time_weeks": "six"},  # line 6
    ])

    result = run(runner, "solutions", path, "--no-embed")

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("行 2: JSON として読み取れません") for line in lines)
    line4 = next(line for line in lines if line.startswith("行 4: "))
    assert "colour: 不明な項目です" in line4 and "price_max: 価格の上限は下限" in line4
    line5 = next(line for line in lines if line.startswith("行 5: "))
    assert "maturity: 選択肢にない値です: 量産" in line5 and "domains: 1つ以上指定してください" in line5
    assert any(line.startswith("行 6: lead_time_weeks: 整数で指定してください") for line in lines)
    assert "ソリューション: 取り込み 1件、スキップ 0件、却下 4件" in lines
    solution = db.session.scalar(select(Solution))
    assert solution.title == "見守りセンサー"
    assert solution.regions == ["大阪府", "兵庫県"]
    assert solution.maturity == "in_service" and solution.domains == ["welfare"]
    assert count(db, Solution) == 1


def test_csv_saved_by_excel_in_cp932_with_japanese_labels(runner, db, tmp_path):
    factories.make_company(name="株式会社ヤマト農機")
    db.session.commit()
    header = ["organisation", "title", "summary", "maturity", "collaboration_forms", "domains", "regions", "price_min"]
    path = write_csv(tmp_path / "excel.csv", header, [
        ["株式会社ヤマト農機", "獣害対策わなセンサー", "わなの作動を通知する", "実証済み", "実証実験；共同研究",
         "農業・鳥獣害", "全国", "１２０，０００円"],
    ], encoding="cp932")
    assert "獣害".encode("cp932") in path.read_bytes()

    result = run(runner, "solutions", path, "--no-embed")

    assert result.exit_code == 0, result.output
    solution = db.session.scalar(select(Solution))
    assert (solution.title, solution.maturity) == ("獣害対策わなセンサー", "piloted")
    assert solution.collaboration_forms == ["pilot", "joint_research"]
    assert solution.domains == ["agriculture"] and solution.regions == [] and solution.price_min == 120_000


def test_utf8_with_bom_and_unknown_column_refuses_the_whole_file(runner, db, tmp_path):
    factories.make_municipality(name="豊岡市")
    db.session.commit()
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefforganisation,title,budjet\r\n豊岡市,課題A,100\r\n".encode())

    result = run(runner, "challenges", path, "--no-embed")

    assert result.exit_code == 1
    assert "不明な列があります: budjet" in result.output
    assert count(db, Challenge) == 0


def test_create_orgs_creates_municipalities_only_with_a_valid_code(runner, db, tmp_path):
    header = ["organisation", "organisation_prefecture", "organisation_lg_code", "title", "domains"]
    path = write_csv(tmp_path / "new.csv", header, [
        ["海山町", "三重県", lg_code("24999"), "漁港の担い手不足", "economy"],         # line 2: creates 海山町
        ["海山町", "三重県", lg_code("24999"), "海岸の漂着ごみ", "environment"],      # line 3: reuses it
        ["川谷村", "三重県", "249990", "検査数字が違う", "economy"],                   # line 4
        ["野原町", "", lg_code("24888"), "都道府県がない", "economy"],                 # line 5
        ["森町", "静岡県", lg_code("22777"), "分野が不正で組織も作られない", "forestry"],  # line 6
    ])

    without = run(runner, "challenges", path, "--no-embed")
    assert without.exit_code == 1
    assert "組織「海山町」が登録されていません（--create-orgs で作成できます）" in without.output
    assert count(db, Organisation) == 0

    result = run(runner, "challenges", path, "--create-orgs", "--no-embed")

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("行 4: organisation_lg_code: 全国地方公共団体コード") for line in lines)
    assert any(line.startswith("行 5: organisation_prefecture: 必須項目です") for line in lines)
    assert any(line.startswith("行 6: domains: 選択肢にない値です: forestry") for line in lines)
    assert "作成した組織: 海山町" in lines
    org = db.session.scalar(select(Organisation))
    assert (org.name, org.kind, org.prefecture, org.lg_code) == ("海山町", "municipality", "三重県", lg_code("24999"))
    assert count(db, Organisation) == 1 and count(db, Challenge, Challenge.organisation_id == org.id) == 2
    assert count(db, AuditEvent, AuditEvent.action == "organisation.imported") == 1


def test_create_orgs_for_companies(runner, db, tmp_path):
    path = write_jsonl(tmp_path / "companies.jsonl", [
        {"organisation": "合同会社しまなみラボ", "organisation_prefecture": "愛媛県", "organisation_size": "スタートアップ",
         "title": "島しょ部の買い物代行", "maturity": "prototype", "domains": ["transport"]},
        {"organisation": "株式会社誤番号", "organisation_prefecture": "東京都",
         "organisation_corporate_number": "1234567890123", "title": "A", "maturity": "idea", "domains": ["health"]},
    ])

    result = run(runner, "solutions", path, "--create-orgs", "--no-embed")

    assert result.exit_code == 1
    assert "行 2: organisation_corporate_number: 法人番号" in result.output
    org = db.session.scalar(select(Organisation))
    assert (org.name, org.kind, org.size, org.prefecture) == ("合同会社しまなみラボ", "company", "startup", "愛媛県")
    assert count(db, Solution) == 1


def test_a_row_that_fails_while_writing_leaves_nothing_behind(app, db, tmp_path, monkeypatch):
    """The failure comes after the row's organisation and challenge were flushed: the savepoint undoes both."""
    real_record = importer.audit.record

    def failing_record(actor, action, obj, **kwargs):
        if getattr(obj, "title", "") == "壊れる行":
            raise IntegrityError("INSERT", {}, Exception("simulated constraint violation"))
        return real_record(actor, action, obj, **kwargs)

    monkeypatch.setattr(importer.audit, "record", failing_record)
    rows = [
        importer.SourceRow(1, {"organisation": "前の町", "organisation_prefecture": "長野県",
                               "organisation_lg_code": lg_code("20901"), "title": "よい行1"}),
        importer.SourceRow(2, {"organisation": "壊れる町", "organisation_prefecture": "長野県",
                               "organisation_lg_code": lg_code("20902"), "title": "壊れる行"}),
        importer.SourceRow(3, {"organisation": "後の町", "organisation_prefecture": "長野県",
                               "organisation_lg_code": lg_code("20903"), "title": "よい行2"}),
    ]

    report = importer.import_rows("challenges", rows, create_orgs=True, schedule_vectors=False)
    db.session.commit()

    assert [(r.line, r.status) for r in report.results] == [(1, "imported"), (2, "rejected"), (3, "imported")]
    assert "simulated constraint violation" in report.results[1].message
    assert report.created_organisations == ["前の町", "後の町"]
    assert set(db.session.scalars(select(Organisation.name))) == {"前の町", "後の町"}
    assert titles(db, Challenge) == {"よい行1", "よい行2"}


def test_dry_run_saves_nothing_and_a_second_import_skips_what_exists(runner, db, tmp_path):
    factories.make_municipality(name="豊岡市")
    db.session.commit()
    path = write_csv(tmp_path / "c.csv", ["organisation", "title"], [["豊岡市", "課題A"], ["豊岡市", "課題B"]])

    dry = run(runner, "challenges", path, "--dry-run", "--no-embed")
    assert dry.exit_code == 0 and "試行（--dry-run）のため、何も保存していません。" in dry.output
    assert "課題: 取り込み 2件" in dry.output
    db.session.rollback()
    assert count(db, Challenge) == 0

    assert run(runner, "challenges", path, "--no-embed").exit_code == 0
    again = run(runner, "challenges", path, "--no-embed")
    assert again.exit_code == 0
    assert "行 2: スキップ（同じ課題名の課題が「豊岡市」に登録済みです。）" in again.output
    assert "課題: 取り込み 0件、スキップ 2件、却下 0件" in again.output
    assert count(db, Challenge) == 2


def test_import_organisations(runner, db, tmp_path):
    path = write_jsonl(tmp_path / "orgs.jsonl", [
        {"name": "宮津市", "kind": "自治体", "lg_code": "26205", "prefecture": "京都府", "population": 16000},
        {"name": "株式会社テンキ", "kind": "company", "prefecture": "京都", "size": "sme",
         "corporate_number": "1180301018771"},
        {"name": "番号なし市", "kind": "municipality", "prefecture": "京都府", "size": "large"},
    ])

    result = run(runner, "organisations", path)

    assert result.exit_code == 1
    line3 = next(line for line in result.output.splitlines() if line.startswith("行 3: "))
    assert "lg_code: 必須項目です" in line3 and "size: 自治体には指定できません" in line3
    city = db.session.scalar(select(Organisation).where(Organisation.name == "宮津市"))
    assert city.lg_code == lg_code("26205") and city.population == 16000
    company = db.session.scalar(select(Organisation).where(Organisation.kind == "company"))
    assert (company.prefecture, company.corporate_number) == ("京都府", "1180301018771")


@pytest.mark.parametrize("name", ["challenges.txt", "missing.csv"])
def test_unreadable_files_are_refused(runner, tmp_path, name):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("organisation,title\n")
    result = run(runner, "challenges", path)
    assert result.exit_code != 0
    assert ".csv または .jsonl" in result.output or "does not exist" in result.output


def test_imported_rows_are_scheduled_for_embedding_after_commit(app, db):
    org = factories.make_municipality(name="豊岡市")
    rows = [importer.SourceRow(1, {"organisation": "豊岡市", "title": "課題A"}),
            importer.SourceRow(2, {"organisation": "豊岡市"})]

    report = importer.import_rows("challenges", rows)

    queued = db.session.info.get("batches_after_commit", {})
    assert [list(items) for _, items in queued.values()] == [[("challenge", report.created[0].id)]]
    assert report.created[0].organisation_id == org.id
    db.session.rollback()
