"""`flask recommend` and `flask embeddings`: rankings right after an import, with the real encoder."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from models import Challenge, Solution, StoredVector
from tests import factories
from tests.test_import import run as run_import
from tests.test_import import write_jsonl

pytestmark = pytest.mark.slow

FRAILTY = "通いの場 参加記録アプリ"


def small_market(tmp_path, runner, db):
    """One frailty challenge, one fitting profile and two that do not fit, imported from files."""
    factories.make_municipality(name="丹波篠山市", prefecture="兵庫県")
    factories.make_company(name="株式会社かよいば")
    factories.make_company(name="株式会社アグリドローン")
    factories.make_company(name="株式会社ゆけむり")
    db.session.commit()
    challenges = write_jsonl(tmp_path / "c.jsonl", [{
        "organisation": "丹波篠山市", "title": "通いの場に来なくなった高齢者のフレイル進行を早く見つけたい",
        "problem": "通いの場の欠席が続く高齢者の心身の変化に気づけず、フレイルが進行してから支援につながる。",
        "affected": "75歳以上の一人暮らし高齢者、地域包括支援センター", "domains": ["frailty"],
        "collaboration_forms": ["pilot"], "status": "published", "budget_min": 500000, "budget_max": 2000000,
    }, {
        "organisation": "丹波篠山市", "title": "黒大豆畑のシカ被害を減らしたい", "status": "draft",
        "problem": "シカによる食害で黒大豆の収量が落ちている。", "domains": ["agriculture"],
    }])
    solutions = write_jsonl(tmp_path / "s.jsonl", [
        {"organisation": "株式会社アグリドローン", "title": "農薬散布ドローン", "maturity": "in_service",
         "summary": "ドローンで水田に農薬を散布し、作業時間を短縮する。", "domains": ["agriculture"]},
        {"organisation": "株式会社かよいば", "title": FRAILTY, "maturity": "in_service",
         "summary": "通いの場の出欠をQRコードで記録し、欠席が続く高齢者を地域包括支援センターに知らせてフレイルを防ぐ。",
         "domains": ["frailty"], "collaboration_forms": ["pilot"], "price_min": 800000, "price_max": 2400000},
        {"organisation": "株式会社ゆけむり", "title": "温泉街の混雑予報", "maturity": "piloted",
         "summary": "観光客の人流データから温泉街の混雑を予報し、分散を促す。", "domains": ["tourism"]},
    ])
    assert run_import(runner, "challenges", challenges, "--no-embed").exit_code == 0
    assert run_import(runner, "solutions", solutions, "--no-embed").exit_code == 0
    return (db.session.scalar(select(Challenge).where(Challenge.status == "published")),
            db.session.scalar(select(Solution).where(Solution.title == FRAILTY)))


def test_recommend_challenge_json_ranks_the_fitting_solution_first(runner, db, tmp_path):
    challenge, fitting = small_market(tmp_path, runner, db)
    assert db.session.scalar(select(func.count(StoredVector.id))) == 0  # imported with --no-embed

    result = runner.invoke(args=["recommend", "challenge", str(challenge.id), "--top", "3", "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"] == {"kind": "challenge", "id": challenge.id, "title": challenge.title}
    top = payload["results"][0]
    assert (top["rank"], top["id"], top["title"], top["organisation"]) == (1, fitting.id, FRAILTY, "株式会社かよいば")
    assert len(payload["results"]) == 3
    assert all(0.0 <= r["score"] <= 1.0 for r in payload["results"])
    # One score per pair: the profile's own list shows this challenge with the same number.
    back = runner.invoke(args=["recommend", "solution", str(fitting.id), "--top", "3", "--json"])
    assert back.exit_code == 0, back.output
    same_pair = [r for r in json.loads(back.stdout)["results"] if r["id"] == challenge.id]
    assert same_pair and same_pair[0]["score"] == top["score"]
    assert top["reasons"] and {"kind", "field", "query_field", "phrases", "weight"} <= set(top["reasons"][0])
    assert top["reason_text"]
    assert db.session.scalar(select(func.count(StoredVector.id))) > 0  # the command embedded what was missing


def test_recommend_solution_lists_published_challenges_as_text(runner, db, tmp_path):
    challenge, fitting = small_market(tmp_path, runner, db)

    result = runner.invoke(args=["recommend", "solution", str(fitting.id), "--top", "5"])

    assert result.exit_code == 0, result.output
    assert f"ソリューション {fitting.id}「{FRAILTY}」に合う課題（上位 1 件）" in result.output
    assert "  1. " in result.output and f"#{challenge.id} {challenge.title}（丹波篠山市）" in result.output
    assert "黒大豆" not in result.output  # a draft is not recommended to companies

    with_drafts = runner.invoke(args=["recommend", "solution", str(fitting.id), "--include-unpublished", "--json"])
    assert len(json.loads(with_drafts.stdout)["results"]) == 2


def test_recommend_unknown_id_fails_in_japanese(runner):
    result = runner.invoke(args=["recommend", "challenge", "999"])
    assert result.exit_code != 0 and "課題 999 は登録されていません" in result.output


def test_embeddings_sync_and_status(runner, db, tmp_path):
    small_market(tmp_path, runner, db)

    before = runner.invoke(args=["embeddings", "status"])
    assert before.exit_code == 0, before.output
    assert "保存済みのベクトルはありません" in before.output and "最新 0、" in before.output

    synced = runner.invoke(args=["embeddings", "sync"])
    assert synced.exit_code == 0, synced.output
    written = int(synced.output.split("スロット")[0].strip())
    assert written > 0

    after = runner.invoke(args=["embeddings", "status"])
    assert f"最新 {written}、未計算 0、古い 0" in after.output

    solution = db.session.scalar(select(Solution).where(Solution.title == FRAILTY))
    solution.summary += " 参加者の歩数も記録する。"
    db.session.commit()
    stale = runner.invoke(args=["embeddings", "status"])
    assert "古い 0" not in stale.output
    assert runner.invoke(args=["embeddings", "sync"]).output.startswith(("1 ", "2 ", "3 "))
