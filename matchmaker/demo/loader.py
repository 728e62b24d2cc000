"""`flask demo load`: the demo organisations, challenges, solution profiles and accounts.

The rows come from the .jsonl files next to this module and go through the same importer as
`flask import`, as the system (audit rows without an actor). The data was written as of
``BASE_DATE``; every date moves by (today − BASE_DATE) and every fiscal year by the fiscal years
between them, so deadlines never lie in the past of a fresh demo.

Then ``matchmaker.demo.pipeline`` adds matches at every stage of the pipeline inside the same
transaction, through the real services, and ``matchmaker.demo.vectors`` stores the vectors shipped
with the demo texts. The model never runs here: whatever the bundle lacks (another encoder, an
edited text) is embedded by the site's background runner, so `make run` never waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import func, select

from matchmaker.demo.accounts import DEMO_ACCOUNTS, DEMO_DIR
from matchmaker.i18n import JST, fiscal_year_of
from matchmaker.services import audit
from matchmaker.services.importer import ImportReport, Kind, SourceRow, import_rows, read_file
from models import Challenge, Match, Organisation, Solution, User, db
from models.codes import ChallengeStatus

BASE_DATE = date(2026, 11, 22)  # the day the demo data describes as "today"
FILES: dict[Kind, str] = {
    "organisations": "organisations.jsonl", "challenges": "challenges.jsonl", "solutions": "solutions.jsonl",
}


@dataclass
class DemoData:
    """What the loader wrote; the pipeline builds on it."""

    today: date
    shift: timedelta
    organisations: list[Organisation] = field(default_factory=list)
    challenges: list[Challenge] = field(default_factory=list)
    solutions: list[Solution] = field(default_factory=list)
    accounts: dict[str, User] = field(default_factory=dict)  # role → user
    reports: dict[Kind, ImportReport] = field(default_factory=dict)
    vectors_seeded: int = 0  # slots stored from the bundled demo vectors

    def rejections(self) -> list[str]:
        return [f"{FILES[kind]} 行 {r.line}: {r.message}"
                for kind, report in self.reports.items() for r in report.rejected]


def load(today: date | None = None) -> DemoData:
    """Write the demo data into the current session; the caller commits."""
    today = today or datetime.now(JST).date()
    demo = DemoData(today=today, shift=today - BASE_DATE)
    years = fiscal_year_of(today) - fiscal_year_of(BASE_DATE)
    for kind, name in FILES.items():
        rows = read_file(DEMO_DIR / name, kind)
        if kind == "challenges":
            rows = [shifted(row, demo.shift, years) for row in rows]
        report = import_rows(kind, rows, actor=None, schedule_vectors=False, source=f"demo/{name}")
        demo.reports[kind] = report
        getattr(demo, kind).extend(report.created)
    date_publication(demo.challenges, today)
    demo.accounts = create_accounts()
    from matchmaker.demo import pipeline  # it builds on DemoData, defined here

    pipeline.load(demo)
    from matchmaker.demo import vectors

    demo.vectors_seeded = vectors.seed([*demo.challenges, *demo.solutions])
    return demo


def shifted(row: SourceRow, shift: timedelta, years: int) -> SourceRow:
    """The row with its deadline moved by ``shift`` and its fiscal year by ``years``."""
    values = dict(row.values)
    if isinstance(values.get("deadline"), str):
        try:
            values["deadline"] = (date.fromisoformat(values["deadline"]) + shift).isoformat()
        except ValueError:
            pass  # the importer reports it
    if isinstance(values.get("fiscal_year"), int):
        values["fiscal_year"] += years
    return replace(row, values=values)


def date_publication(challenges: list[Challenge], today: date) -> None:
    """Published and closed challenges were published some weeks before their deadline, in the past."""
    for i, challenge in enumerate(challenges):
        if challenge.status not in (ChallengeStatus.PUBLISHED.value, ChallengeStatus.CLOSED.value):
            continue
        published = today - timedelta(days=1 + (i * 5) % 30)
        if challenge.deadline is not None:
            published = min(published, challenge.deadline - timedelta(days=45))
        challenge.published_at = datetime.combine(published, time(10, 0), JST)
        if challenge.status == ChallengeStatus.CLOSED.value:
            closed = min(today, (challenge.deadline or published) + timedelta(days=14))
            challenge.closed_at = datetime.combine(max(closed, published + timedelta(days=1)), time(17, 0), JST)


def create_accounts() -> dict[str, User]:
    """One account per role (``DEMO_ACCOUNTS``); an account that already exists is kept as it is."""
    accounts: dict[str, User] = {}
    for spec in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.email == spec["email"]))
        if user is None:
            organisation = None
            if spec.get("organisation"):
                organisation = db.session.scalar(select(Organisation).where(Organisation.name == spec["organisation"]))
                if organisation is None:
                    raise LookupError(f"demo organisation {spec['organisation']!r} was not loaded")
            user = User(email=spec["email"], name=spec["name"], role=spec["role"], organisation=organisation,
                        department=spec.get("department"))
            user.set_password(spec["password"])
            db.session.add(user)
            db.session.flush()
            audit.record(None, "user.created", user, to_state=user.role, source="demo")
        accounts[spec["role"]] = user
    return accounts


# --- the command -------------------------------------------------------------------------------

demo_cli = AppGroup("demo", help="デモデータ")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="課題が1件でもあれば何もしません（make run 用）。")
def load_command(if_empty: bool) -> None:
    """デモ用の組織・課題・ソリューション・アカウントを読み込みます。"""
    if if_empty and db.session.scalar(select(func.count(Challenge.id))):
        click.echo(_("課題が既に登録されているため、デモデータは読み込みません。"))
        return
    demo = load()
    for line in demo.rejections():
        click.echo(_("読み込めなかった行: %(line)s", line=line), err=True)
    db.session.commit()
    click.echo(_("デモデータを読み込みました: 組織 %(organisations)d、課題 %(challenges)d、"
                 "ソリューション %(solutions)d（日付を %(days)+d 日ずらしました）。",
                 organisations=len(demo.organisations), challenges=len(demo.challenges),
                 solutions=len(demo.solutions), days=demo.shift.days))
    matches = db.session.scalar(select(func.count(Match.id))) or 0
    if matches:
        click.echo(_("提案から導入・終了まで、各段階のマッチ %(n)d 件があります。", n=matches))
    for spec in DEMO_ACCOUNTS:
        click.echo(f"  {spec['role']:<12} {spec['email']:<32} {spec['password']}")
    slots = 2 * (len(demo.challenges) + len(demo.solutions))
    if demo.vectors_seeded < slots:
        click.echo(_("推薦に使うベクトルは、サイトの起動後にバックグラウンドで計算されます"
                     "（すぐに計算するには flask --app wsgi embeddings sync）。"))
    else:
        click.echo(_("推薦に使うベクトルは、デモに同梱のもの（%(n)d 件）を使いました。", n=demo.vectors_seeded))


@demo_cli.command("export-vectors")
def export_vectors_command() -> None:
    """デモの課題・ソリューションの保存済みベクトルを、デモに同梱するファイルに書き出します。"""
    from matchmaker.demo import vectors

    entities = [*db.session.scalars(select(Challenge)), *db.session.scalars(select(Solution))]
    n = vectors.export(entities)
    click.echo(_("%(n)d 件のベクトルを %(path)s に書き出しました。", n=n, path=vectors.BUNDLE))
