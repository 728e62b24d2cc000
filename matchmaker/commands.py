"""The command line (`flask --app wsgi <group> <command>`): one click group per area.

``register`` is the registry: an area adds its group with one line there. Commands commit once,
like views, and load the ranking stack only when they run (building the app for `flask db
upgrade` must stay fast).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select

from matchmaker.services.import_files import Kind
from models import Challenge, Solution, StoredVector, db

Direction = Literal["solutions", "challenges"]


SWEEP_WAIT_SECONDS = 3600  # a command waits this long for a sweep another process is running


def register(app: Flask) -> None:
    from matchmaker.demo.loader import demo_cli
    from matchmaker.notifications_cli import notifications_cli

    app.cli.add_command(import_cli)
    app.cli.add_command(recommend_cli)
    app.cli.add_command(embeddings_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(worker)


@click.command("worker")
@click.option("--burst", is_flag=True, help="キューが空になったら終了します（テスト・一括処理向け）。")
def worker(burst: bool) -> None:
    """Redis のジョブキュー（REDIS_URL）を処理します：ベクトル計算・メール送信・毎朝の通知。"""
    from matchmaker.jobs import run_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["JOB_RUNNER"] != "rq":
        raise click.ClickException("REDIS_URL が設定されていません。ジョブはサイトの中で実行されています。")
    run_worker(app, burst=burst)


# --- import ----------------------------------------------------------------------------------

import_cli = AppGroup("import", help="CSV または JSONL ファイルから取り込みます（形式は docs/import.md）。")

_file_argument = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_dry_run_option = click.option("--dry-run", is_flag=True, help="検査だけ行い、何も保存しません。")
_no_embed_option = click.option(
    "--no-embed", is_flag=True,
    help="ベクトルの計算を後回しにします（大量の取り込み後に flask embeddings sync でまとめて計算）。",
)
_create_orgs_option = click.option(
    "--create-orgs", is_flag=True,
    help="未登録の組織を名前で作成します（organisation_prefecture などの列を使います）。",
)


@import_cli.command("challenges")
@_file_argument
@_create_orgs_option
@_dry_run_option
@_no_embed_option
def import_challenges(file: Path, create_orgs: bool, dry_run: bool, no_embed: bool) -> None:
    """課題を取り込みます。"""
    run_import("challenges", file, create_orgs=create_orgs, dry_run=dry_run, embed=not no_embed)


@import_cli.command("solutions")
@_file_argument
@_create_orgs_option
@_dry_run_option
@_no_embed_option
def import_solutions(file: Path, create_orgs: bool, dry_run: bool, no_embed: bool) -> None:
    """ソリューションを取り込みます。"""
    run_import("solutions", file, create_orgs=create_orgs, dry_run=dry_run, embed=not no_embed)


@import_cli.command("organisations")
@_file_argument
@_dry_run_option
def import_organisations(file: Path, dry_run: bool) -> None:
    """組織（自治体・企業）を取り込みます。"""
    run_import("organisations", file, create_orgs=False, dry_run=dry_run)


def run_import(kind: Kind, path: Path, *, create_orgs: bool, dry_run: bool, embed: bool = False) -> None:
    """Import, print one line per rejected (or skipped) row and a summary; exit 1 on any rejection."""
    from matchmaker.services import importer

    try:
        report = importer.import_file(path, kind, create_orgs=create_orgs, schedule_vectors=embed and not dry_run)
    except importer.ImportFileError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    for result in report.results:
        if result.status == "rejected":
            click.echo(_("行 %(line)d: %(reason)s", line=result.line, reason=result.message))
        elif result.status == "skipped":
            click.echo(_("行 %(line)d: スキップ（%(reason)s）", line=result.line, reason=result.message))
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    what = {"challenges": _("課題"), "solutions": _("ソリューション"), "organisations": _("組織")}[kind]
    click.echo(_("%(what)s: 取り込み %(imported)d件、スキップ %(skipped)d件、却下 %(rejected)d件",
                 what=what, imported=report.count("imported"), skipped=report.count("skipped"),
                 rejected=report.count("rejected")))
    if report.created_organisations:
        click.echo(_("作成した組織: %(names)s", names="、".join(report.created_organisations)))
    if dry_run:
        click.echo(_("試行（--dry-run）のため、何も保存していません。"))
    elif embed and report.created:
        current_app.extensions["jobs"].wait()  # the vectors of the new rows, queued at commit
    if report.rejected:
        raise click.exceptions.Exit(1)


# --- recommend -------------------------------------------------------------------------------

recommend_cli = AppGroup("recommend", help="推薦ランキングを表示します。")
_top_option = click.option("--top", default=10, show_default=True, type=click.IntRange(1, 500), help="表示する件数")
_json_option = click.option("--json", "as_json", is_flag=True, help="JSON で出力します。")


@recommend_cli.command("challenge")
@click.argument("challenge_id", type=int)
@_top_option
@_json_option
def recommend_for_challenge(challenge_id: int, top: int, as_json: bool) -> None:
    """課題に合うソリューションを表示します。"""
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None:
        raise click.ClickException(_("課題 %(id)d は登録されていません。", id=challenge_id))
    index = _fresh_index(as_json)
    hits = _ask(index.recommender.solutions_for, challenge_id, top)
    rows = _rows(Solution, [h.id for h in hits])
    _print_ranking(challenge, [(h, rows[h.id]) for h in hits if h.id in rows][:top], "solutions", as_json)


@recommend_cli.command("solution")
@click.argument("solution_id", type=int)
@_top_option
@_json_option
@click.option("--include-unpublished", is_flag=True, help="公開中でない課題も含めます。")
def recommend_for_solution(solution_id: int, top: int, as_json: bool, include_unpublished: bool) -> None:
    """ソリューションに合う課題（既定では公開中のもの）を表示します。"""
    solution = db.session.get(Solution, solution_id)
    if solution is None:
        raise click.ClickException(_("ソリューション %(id)d は登録されていません。", id=solution_id))
    if not solution.active:
        raise click.ClickException(_("ソリューション %(id)d は無効化されているため推薦の対象外です。", id=solution_id))
    index = _fresh_index(as_json)
    hidden = 0 if include_unpublished else db.session.scalar(
        select(func.count(Challenge.id)).where(Challenge.status != "published")) or 0
    hits = _ask(index.recommender.challenges_for, solution_id, top + hidden)
    rows = _rows(Challenge, [h.id for h in hits])
    shown = [(h, rows[h.id]) for h in hits
             if h.id in rows and (include_unpublished or rows[h.id].status == "published")]
    _print_ranking(solution, shown[:top], "challenges", as_json)


@recommend_cli.command("outcomes")
def recommend_outcomes() -> None:
    """成果からの学習：ラベル数、オフライン評価（課題ごとのグループ交差検証）、有効かどうかを JSON で表示します。"""
    from matchmaker.services import outcomes

    click.echo(json.dumps(outcomes.model().report(), ensure_ascii=False, indent=2))


def _fresh_index(quiet: bool) -> Any:
    """Embed what an import just added, then the fitted recommender over the current rows."""
    from matchmaker.services import vectors

    written = vectors.sync_all_vectors(wait=SWEEP_WAIT_SECONDS)
    if written and not quiet:
        click.echo(_("%(n)d スロットのベクトルを計算しました。", n=written))
    return vectors.fitted_index()


def _ask(method: Any, item_id: int, k: int) -> list[Any]:
    try:
        return list(method(item_id, k))
    except KeyError:
        raise click.ClickException(_("ID %(id)d はランキングの対象に含まれていません。", id=item_id)) from None


def _rows(model: Any, ids: list[int]) -> dict[int, Any]:
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


def _print_ranking(query: Any, ranked: list[tuple[Any, Any]], direction: Direction, as_json: bool) -> None:
    from matchmaker.services.recommend import reason_lines

    items = []
    for rank, (hit, row) in enumerate(ranked, start=1):
        items.append({
            "rank": rank,
            "id": row.id,
            "score": round(float(hit.score), 4),
            "title": row.title,
            "organisation": row.organisation.name,
            "reasons": [_jsonable(reason) for reason in hit.reasons],
            "reason_text": [Markup(line).striptags() for line in reason_lines(hit, direction, query, row)],
            "channels": _jsonable(getattr(hit, "channels", {})),
        })
    if as_json:
        kind = "challenge" if isinstance(query, Challenge) else "solution"
        payload = {"query": {"kind": kind, "id": query.id, "title": query.title}, "results": items}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if direction == "solutions":
        click.echo(_("課題 %(id)d「%(title)s」に合うソリューション（上位 %(n)d 件）",
                     id=query.id, title=query.title, n=len(items)))
    else:
        click.echo(_("ソリューション %(id)d「%(title)s」に合う課題（上位 %(n)d 件）",
                     id=query.id, title=query.title, n=len(items)))
    if not items:
        click.echo(_("該当するものはありません。"))
    for item in items:
        click.echo(f"{item['rank']:>3}. {item['score']:.3f}  #{item['id']} {item['title']}（{item['organisation']}）")
        for line in item["reason_text"]:
            click.echo(f"       ・{line}")


def _jsonable(value: Any) -> Any:
    """Dataclasses, tuples and numpy scalars of the ranking library as plain JSON values."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    try:
        return round(float(value), 6)
    except (TypeError, ValueError):
        return str(value)


# --- embeddings ------------------------------------------------------------------------------

embeddings_cli = AppGroup("embeddings", help="保存済みベクトルの計算と状態確認。")


@embeddings_cli.command("sync")
def embeddings_sync() -> None:
    """未計算・古いベクトルを計算します。"""
    from matchmaker.services import vectors

    started = time.perf_counter()
    written = vectors.sync_all_vectors(wait=SWEEP_WAIT_SECONDS)
    click.echo(_("%(n)d スロットを計算しました（%(seconds).1f 秒、モデル: %(model)s）。",
                 n=written, seconds=time.perf_counter() - started, model=vectors.encoder().model_id))


@embeddings_cli.command("status")
def embeddings_status() -> None:
    """モデルごとの保存済みベクトル数と、現在のモデルで未計算・古いスロットの数を表示します。"""
    from matchmaker.services import vectors

    current = vectors.encoder().model_id
    counts = db.session.execute(
        select(StoredVector.model_id, StoredVector.entity_type, func.count(StoredVector.id))
        .group_by(StoredVector.model_id, StoredVector.entity_type).order_by(StoredVector.model_id)
    ).all()
    per_model: dict[str, dict[str, int]] = {}
    for model_id, entity_type, n in counts:
        per_model.setdefault(model_id, {})[entity_type] = n
    if not per_model:
        click.echo(_("保存済みのベクトルはありません。"))
    for model_id, by_type in per_model.items():
        mark = _("（現在のモデル）") if model_id == current else ""
        click.echo(_("%(model)s%(mark)s: 課題 %(challenges)d、ソリューション %(solutions)d",
                     model=model_id, mark=mark, challenges=by_type.get("challenge", 0),
                     solutions=by_type.get("solution", 0)))
    missing, stale, fresh = _slot_states(vectors, current)
    click.echo(_("現在のモデル %(model)s: 最新 %(fresh)d、未計算 %(missing)d、古い %(stale)d（テキスト変更後）",
                 model=current, fresh=fresh, missing=missing, stale=stale))


def _slot_states(vectors: Any, model_id: str) -> tuple[int, int, int]:
    """How many slots the current model lacks, holds for an older text, or holds up to date."""
    stored = {
        (kind, entity_id, slot): digest
        for kind, entity_id, slot, digest in db.session.execute(
            select(StoredVector.entity_type, StoredVector.entity_id, StoredVector.slot, StoredVector.text_hash)
            .where(StoredVector.model_id == model_id))
    }
    missing = stale = fresh = 0
    for model in (Challenge, Solution):
        entity: Any
        for entity in db.session.scalars(select(model)):
            for slot, (_role, text) in vectors.embedding_texts(vectors.document_for(entity)).items():
                digest = stored.get((vectors.entity_type(entity), entity.id, slot))
                if digest is None:
                    missing += 1
                elif digest != vectors.text_hash(text):
                    stale += 1
                else:
                    fresh += 1
    return missing, stale, fresh
