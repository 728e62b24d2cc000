"""Print views and PDFs of the records a municipality files.

Each record answers exactly as its page does: the same loader, so the same 404 for whoever may not
know it exists, and the same login requirement. ``RECORDS`` is the table of contents: kind → how
to load it and which template prints it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import abort, current_app, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from matchmaker.auth import viewable_or_404
from matchmaker.matches.timeline import timeline
from matchmaker.matches.views import load_match
from matchmaker.public.presenters import challenge_sections
from matchmaker.records import bp, disclosures, pdf
from matchmaker.records import selection as selection_pack
from matchmaker.records.documents import Document
from matchmaker.services import audit, clarity, fiscal, handover, pilots, procurement, selection
from matchmaker.services.budget_pack import budget_pack
from matchmaker.services.challenges import local_today
from models import Challenge, Proposal, SelectionRecord, SoundingBooking, db
from models.match import MatchStage

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class RecordKind:
    title: Any  # a lazy string: the document's name, in the reader's language
    load: Callable[[int], Document]
    needs_login: bool = True


def _challenge(ident: int) -> Document:
    item = viewable_or_404(Challenge, ident)
    return Document("records/challenge.html", item.id, url_for("public.challenge", challenge_id=item.id), {
        "challenge": item, "sections": challenge_sections(item), "kpis": clarity.parse_kpis(item.kpis)})


def _proposal(ident: int) -> Document:
    item = viewable_or_404(Proposal, ident)
    return Document("records/proposal.html", item.id, url_for("matches.proposal", proposal_id=item.id),
                    {"proposal": item})


def _dialogue(ident: int) -> Document:
    item = viewable_or_404(SoundingBooking, ident)
    return Document("records/dialogue.html", item.id, url_for("matches.booking", booking_id=item.id),
                    {"booking": item})


def _pilot(ident: int) -> Document:
    item = load_match(ident)
    if item.pilot is None:
        abort(404)
    return Document("records/pilot.html", item.id, url_for("matches.match", match_id=item.id, _anchor="pilot"),
                    {"match": item, "pilot": item.pilot})


def _adoption(ident: int) -> Document:
    item = load_match(ident)
    if item.stage != MatchStage.ADOPTED.value:
        abort(404)
    return Document("records/adoption.html", item.id, url_for("matches.match", match_id=item.id, _anchor="adoption"),
                    {"match": item, "pilot": item.pilot})


def _budget_pack(ident: int) -> Document:
    item = load_match(ident)
    if item.pilot is None:
        abort(404)
    if not pilots.can_view_budget_pack(item, current_user):
        abort(403)
    return Document("records/budget_pack.html", item.id, url_for("matches.match", match_id=item.id, _anchor="pilot"),
                    {"match": item, "pilot": item.pilot, "pack": budget_pack(item, local_today()),
                     "milestone_labels": fiscal.MILESTONE_LABELS, "route_options": procurement.ROUTE_OPTIONS})


def _dossier(ident: int) -> Document:
    """引継書: history, commitments, open decisions, contacts and documents of one match, for the
    parties and the coordinators (the match's own loader: 404 for everyone else)."""
    item = load_match(ident)
    return Document("records/dossier.html", item.id, url_for("matches.match", match_id=item.id),
                    {"match": item, "pilot": item.pilot, "items": timeline(item, current_user),
                     "dossier": handover.dossier(item, current_user)})


def selection_record_or_404(ident: int) -> SelectionRecord:
    """The challenge's frozen pack: its municipality and coordinators; 404 for everyone else and
    while nothing is frozen (a company never learns whether one exists)."""
    challenge = db.session.get(Challenge, ident)
    item = selection.visible_record(challenge, current_user) if challenge is not None else None
    if item is None:
        abort(404)
    return item


def _selection(ident: int) -> Document:
    item = selection_record_or_404(ident)
    return Document("records/selection.html", item.challenge_id,
                    url_for("matches.match", match_id=item.match_id),
                    {"pack": item, "heading": selection_pack.title(item), "facts": selection_pack.facts(item),
                     "tables": selection_pack.tables(item)})


RECORDS: dict[str, RecordKind] = {
    "challenge": RecordKind(_l("課題記録"), _challenge, needs_login=False),
    "proposal": RecordKind(_l("提案書"), _proposal),
    "dialogue": RecordKind(_l("サウンディング個別対話記録"), _dialogue),
    "pilot": RecordKind(_l("実証実験 計画・結果報告書"), _pilot),
    "adoption": RecordKind(_l("導入記録"), _adoption),
    "proposal_disclosure": RecordKind(_l("提案書（開示版）"), disclosures.document("proposal_disclosure")),
    "dialogue_disclosure": RecordKind(_l("サウンディング個別対話記録（開示版）"), disclosures.document("dialogue_disclosure")),
    "challenge_disclosure": RecordKind(_l("課題記録（開示版）"), disclosures.document("challenge_disclosure")),
    "pilot_disclosure": RecordKind(_l("実証実験 計画・結果報告書（開示版）"), disclosures.document("pilot_disclosure")),
    "qa_disclosure": RecordKind(_l("質疑応答記録（開示版）"), disclosures.document("qa_disclosure")),
    "budget_pack": RecordKind(_l("予算要求資料（実証実験）"), _budget_pack),
    "dossier": RecordKind(_l("引継書（マッチの継続性の記録）"), _dossier),
    "selection": RecordKind(_l("選定の記録（公平性）"), _selection),
}


def _load(kind: str, ident: int) -> tuple[RecordKind, Document]:
    record = RECORDS.get(kind)
    if record is None:
        abort(404)
    if record.needs_login and not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    return record, record.load(ident)


def _render(kind: str, record: RecordKind, document: Document, *, for_pdf: bool) -> str:
    return render_template(
        document.template, for_pdf=for_pdf, kind=kind, doc_kind=str(record.title), back_url=document.back_url,
        record_no=_("%(kind)s 第%(n)d号", kind=record.title, n=document.number), printed_on=local_today(),
        pdf_url=url_for("records.record_pdf", kind=kind, ident=document.number), **document.context,
    )


@bp.route("/<kind>/<int:ident>")
def record(kind: str, ident: int) -> str:
    """The A4 print view (the browser's print dialog prints it as the PDF looks)."""
    record_kind, document = _load(kind, ident)
    return _render(kind, record_kind, document, for_pdf=False)


@bp.route("/<kind>/<int:ident>.pdf")
def record_pdf(kind: str, ident: int) -> Response | tuple[str, int]:
    record_kind, document = _load(kind, ident)
    if pdf.unavailable_reason() is not None:
        return render_template("records/unavailable.html", back_url=document.back_url,
                               print_url=url_for("records.record", kind=kind, ident=ident)), 503
    body = pdf.html_to_pdf(_render(kind, record_kind, document, for_pdf=True))
    response = Response(body, mimetype="application/pdf")
    # RFC 6266: an ASCII fallback name and the real (Japanese) one.
    filename = quote(f"{record_kind.title}_{document.number}.pdf")
    response.headers["Content-Disposition"] = f"attachment; filename={kind}-{document.number}.pdf; " \
                                              f"filename*=UTF-8''{filename}"
    return response


def _download(ident: int, suffix: str, mimetype: str, write: Callable[[SelectionRecord], bytes]) -> Response:
    kind, document = _load("selection", ident)
    item: SelectionRecord = document.context["pack"]
    body = write(item)
    audit.record(current_user, "selection.exported", item, to_state=suffix)
    db.session.commit()
    response = Response(body, mimetype=mimetype)
    filename = quote(f"{kind.title}_{ident}.{suffix}")
    response.headers["Content-Disposition"] = f"attachment; filename=selection-{ident}.{suffix}; " \
                                              f"filename*=UTF-8''{filename}"
    return response


@bp.route("/selection/<int:ident>.docx")
def selection_docx(ident: int) -> Response:
    """The 選定理由書 / 随意契約理由書 draft as Word."""
    return _download(ident, "docx", DOCX, selection_pack.to_docx)


@bp.route("/selection/<int:ident>.xlsx")
def selection_xlsx(ident: int) -> Response:
    """The pack's data as Excel: a summary sheet and one sheet per table."""
    return _download(ident, "xlsx", XLSX, selection_pack.to_xlsx)
