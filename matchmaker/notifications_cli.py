"""`flask --app wsgi notifications …`: digests, new-challenge alerts, deadline and budget reminders.

Meant for cron (times in Japan):

    0 7 * * *   flask --app wsgi notifications remind-deadlines
    5 7 * * *   flask --app wsgi notifications budget-warnings
    10 7 * * *  flask --app wsgi notifications notify-new-challenges
    30 7 * * *  flask --app wsgi notifications send-digests --frequency daily
    30 7 * * 1  flask --app wsgi notifications send-digests --frequency weekly
    */10 * * * * flask --app wsgi notifications deliver      # only with SMTP: retry failed mail

Every command commits once and is safe to run twice, or on several hosts at the same moment: each
holds the ``notifications`` lock (`matchmaker.locks`; the site's own daily run takes it too), so
runs follow one another, and what was sent is recorded and never repeats.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from matchmaker.locks import named_lock
from models import db

notifications_cli = AppGroup("notifications", help="通知メール（まとめ送信・新着課題・締切・予算要求の確認）を送ります。")


LOCK_WAIT_SECONDS = 600


def _one_at_a_time(command: Callable[..., None]) -> Callable[..., None]:
    """Run the command while holding the ``notifications`` lock (waiting for another run to end)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with named_lock("notifications", wait=LOCK_WAIT_SECONDS) as held:
            if not held:
                raise click.ClickException(
                    f"別の通知の送信が {LOCK_WAIT_SECONDS} 秒以上続いています。後でもう一度実行してください。")
            command(*args, **kwargs)

    return wrapper


def _finish() -> None:
    """Commit, then deliver over SMTP (if configured) what this run wrote."""
    db.session.commit()
    current_app.extensions["jobs"].wait()


@notifications_cli.command("send-digests")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True,
              help="まとめて送る対象の利用者（毎日／毎週を選んだ人）。")
@_one_at_a_time
def send_digests(frequency: str) -> None:
    """まだメールで送っていない未読のお知らせを、利用者ごとに1通にまとめて送ります。"""
    from matchmaker.services.mail import send_digests as run

    report = run(frequency)
    _finish()
    click.echo(f"{frequency}: {report.mails} 通のメールに {report.notifications} 件のお知らせをまとめました。")


@notifications_cli.command("notify-new-challenges")
@click.option("--top", "top_n", type=click.IntRange(1, 50), default=5, show_default=True,
              help="推薦順位がこの順位以内のソリューションを持つ企業に知らせます。")
@_one_at_a_time
def notify_new_challenges(top_n: int) -> None:
    """前回以降に公開された課題を、適合度の高いソリューションを持つ企業に知らせます（同じ通知は二度送りません）。"""
    from matchmaker.services.new_challenges import notify_new_challenges as run

    result = run(top_n=top_n)
    _finish()
    click.echo(f"新着課題 {result.challenges} 件について、{result.companies} 社に知らせました。")


@notifications_cli.command("remind-deadlines")
@_one_at_a_time
def remind_deadlines() -> None:
    """提案締切・サウンディングのエントリー締切・実証実験の終了の7日前と前日に知らせます。"""
    from matchmaker.services.deadlines import send_deadline_reminders

    sent = send_deadline_reminders()
    _finish()
    click.echo(f"締切のお知らせを {sent} 件送りました。")


@notifications_cli.command("budget-warnings")
@_one_at_a_time
def budget_warnings() -> None:
    """予算要求が登録されていない実証実験を、自治体の担当者とコーディネーターに一度だけ知らせます。"""
    from matchmaker.services.deadlines import send_budget_warnings

    sent = send_budget_warnings()
    _finish()
    click.echo(f"予算要求の確認を {sent} 件送りました。")


@notifications_cli.command("deliver")
def deliver() -> None:
    """SMTP で未送信・送信失敗のメールを送ります（SMTP 未設定ならメールは送信箱に保管されます）。"""
    from matchmaker.services.mail import deliver_pending, smtp_configured

    if not smtp_configured():
        click.echo("SMTP が設定されていません（MATCHMAKER_SMTP_HOST）。メールは送信箱に保管されています。")
        return
    click.echo(f"{deliver_pending()} 通送りました。")
