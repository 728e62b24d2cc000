"""The outbox: every mail the service wrote. In the embedded default (no SMTP server) this is where
mail stays, so administrators can read what users were told. Administrators only; read-only."""

from __future__ import annotations

from flask import current_app, render_template, request
from sqlalchemy import Select, func, select

from matchmaker.admin.views import bp
from matchmaker.args import page_arg, text_arg
from matchmaker.services.mail import smtp_configured, template_helpers
from models import OutboxMail, db
from models.outbox import MAIL_STATUSES


def outbox_query(status: str, q: str) -> Select[tuple[OutboxMail]]:
    query = select(OutboxMail).order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
    if status in MAIL_STATUSES:
        query = query.where(OutboxMail.status == status)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(func.lower(OutboxMail.to_address).like(pattern) | func.lower(OutboxMail.subject).like(pattern))
    return query


@bp.route("/outbox")
def outbox() -> str:
    status = request.args.get("status", "")
    q = text_arg("q")
    page = db.paginate(outbox_query(status, q), page=page_arg(),
                       per_page=int(current_app.config["PAGE_SIZE"]), error_out=False)
    counts: dict[str, int] = {status: n for status, n in db.session.execute(
        select(OutboxMail.status, func.count(OutboxMail.id)).group_by(OutboxMail.status))}
    return render_template("admin/outbox.html", page=page, status=status, q=q, counts=counts,
                           statuses=MAIL_STATUSES, smtp=smtp_configured(), **template_helpers())


@bp.route("/outbox/<int:mail_id>")
def outbox_mail(mail_id: int) -> str:
    mail = db.get_or_404(OutboxMail, mail_id)
    return render_template("admin/outbox_mail.html", mail=mail, smtp=smtp_configured(), **template_helpers())
