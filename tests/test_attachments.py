"""Proposal attachments: type checks by extension and content, size limit, storage outside the web
root under random names, and downloads only for the parties, each one audited."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import current_app, url_for
from sqlalchemy import func, select

from matchmaker import REPO_ROOT
from matchmaker.services import attachments
from matchmaker.services import proposals as proposal_service
from matchmaker.services.errors import FieldError
from models import AuditEvent, Proposal, ProposalAttachment
from tests.pages import page_text, post_page
from tests.pipeline_factories import make_pair, make_user, switch_user

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
OLE = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504


def ooxml(main_type: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         f'<Override PartName="/main.xml" ContentType="{main_type}"/></Types>')
        archive.writestr("main.xml", "<x/>")
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 10
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 14
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
HTML = b"<!doctype html><script>fetch('/auth/settings')</script>"
# Both a PDF (it starts like one) and an HTML page (a browser sniffing it would find the script).
PDF_HTML_POLYGLOT = b"%PDF-1.4\n<html><body><script>alert(document.domain)</script></body></html>\n%%EOF\n"


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("見積書/内訳.csv", "項目,金額\n")
    return buffer.getvalue()


DOCX = ooxml(attachments.OOXML_MAIN_TYPES["docx"])
XLSX = ooxml(attachments.OOXML_MAIN_TYPES["xlsx"])
PPTX = ooxml(attachments.OOXML_MAIN_TYPES["pptx"])


def upload(name: str, data: bytes) -> attachments.Upload:
    return attachments.Upload(name, io.BytesIO(data))


@pytest.mark.parametrize(("name", "data"), [
    ("提案書.pdf", PDF), ("提案書.PDF", PDF), ("体制.docx", DOCX), ("費用.xlsx", XLSX), ("説明.pptx", PPTX),
    ("旧形式.doc", OLE), ("旧形式.xls", OLE), ("旧形式.ppt", OLE),
    ("写真.png", PNG), ("写真.JPG", JPEG), ("写真.jpeg", JPEG), ("図.gif", GIF), ("図.webp", WEBP),
    ("資料一式.zip", a_zip()), ("資料一式.zip", DOCX),
])
def test_accepted_types(app: Any, name: str, data: bytes) -> None:
    ext, read = attachments.check(upload(name, data))
    assert ext == name.rsplit(".", 1)[1].lower() and read == data


@pytest.mark.parametrize(("name", "data", "message"), [
    ("提案書.pdf", b"this is not a PDF at all", "一致しません"),       # a .pdf that is not a PDF
    ("提案書.pdf", DOCX, "一致しません"),
    ("体制.docx", XLSX, "一致しません"),                                # a spreadsheet renamed .docx
    ("体制.docx", b"PK\x03\x04 not really a zip", "一致しません"),
    ("体制.docx", OLE, "一致しません"),
    ("旧形式.doc", PDF, "一致しません"),
    ("script.exe", b"MZ\x90\x00", "添付できない形式"),
    ("page.html", b"<html></html>", "添付できない形式"),
    ("noextension", PDF, "添付できない形式"),
    ("空.pdf", b"", "空のファイル"),
    ("図.svg", SVG, "添付できない形式"),
    ("図.png", SVG, "一致しません"),                                  # an SVG renamed .png
    ("提案書.pdf", HTML, "一致しません"),                              # an HTML page renamed .pdf
    ("写真.jpg", HTML, "一致しません"),
    ("図.webp", b"RIFF\x00\x00\x00\x00WAVEfmt ", "一致しません"),       # a RIFF that is not WebP
    ("資料.zip", b"PK\x03\x04 truncated", "一致しません"),
    ("資料.zip", PDF, "一致しません"),
])
def test_refused_types(app: Any, name: str, data: bytes, message: str) -> None:
    with pytest.raises(FieldError) as refused:
        attachments.check(upload(name, data))
    assert refused.value.field == "attachments" and message in str(refused.value)


def test_size_limit(app: Any) -> None:
    current_app.config["ATTACHMENT_MAX_BYTES"] = 1024
    attachments.check(upload("ok.pdf", PDF + b" " * (1024 - len(PDF))))
    with pytest.raises(FieldError) as refused:
        attachments.check(upload("big.pdf", PDF + b" " * 1024))
    assert "大きすぎます" in str(refused.value)


def _submit(pair: Any, files: list[tuple[str, bytes]]) -> Proposal:
    return proposal_service.submit(pair.challenge, pair.solution, pair.company_user, {
        "title": "提案", "approach": "内容", "schedule": "5月〜", "cost_estimate": 0,
    }, [upload(n, d) for n, d in files])


def test_stored_outside_the_web_root_under_a_random_name(db: Any) -> None:
    pair = make_pair()
    proposal = _submit(pair, [("提案書.pdf", PDF)])
    db.session.commit()
    item = proposal.attachments[0]
    path = attachments.path_of(item)
    assert path.read_bytes() == PDF
    assert "提案書" not in item.stored_name and len(item.stored_name) >= 32
    assert Path(current_app.config["UPLOAD_FOLDER"]) in path.parents
    assert (REPO_ROOT / "static") not in path.parents


def test_a_refused_file_leaves_nothing_behind(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.company_user)
    page = post_page(client, "matches.propose", {
        "solution_id": pair.solution.id, "title": "提案", "approach": "内容", "schedule": "5月〜", "cost_estimate": "0",
        "attachments": [(io.BytesIO(PDF), "good.pdf"), (io.BytesIO(b"fake"), "fake.pdf")],
    }, challenge_id=pair.challenge.id)
    assert "「fake.pdf」の中身が拡張子" in page_text(page)
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0
    root = attachments.upload_root()
    assert not root.exists() or not any(root.iterdir())


def test_upload_through_the_page(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.company_user)
    page = post_page(client, "matches.propose", {
        "solution_id": pair.solution.id, "title": "提案", "approach": "内容", "schedule": "5月〜", "cost_estimate": "0",
        "attachments": [(io.BytesIO(PDF), "提案書.pdf"), (io.BytesIO(XLSX), "費用.xlsx")],
    }, challenge_id=pair.challenge.id)
    names = [a.get_text() for a in page.find(id="attachments").find_all("a")]
    assert names == ["提案書.pdf", "費用.xlsx"]


@pytest.mark.parametrize(("who", "status"), [
    ("company", 200), ("owner", 200), ("coordinator", 200), ("admin", 200),
    ("other_company", 404), ("other_municipality", 404),
])
def test_download_permissions_and_audit(db: Any, client: Any, login_as: Any, who: str, status: int) -> None:
    pair = make_pair()
    proposal = _submit(pair, [("提案書.pdf", PDF)])
    db.session.commit()
    item = proposal.attachments[0]
    user = {"company": pair.company_user, "owner": pair.owner}.get(who) or make_user(
        {"other_company": "company", "other_municipality": "municipal"}.get(who, who))
    switch_user(login_as, user)
    response = client.get(url_for("matches.attachment", attachment_id=item.id))
    body = response.data
    response.close()  # send_file streams from an open file
    assert response.status_code == status
    downloads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "attachment.downloaded")).all()
    if status == 200:
        assert body == PDF
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert [(d.actor_id, d.object_id) for d in downloads] == [(user.id, item.id)]
    else:
        assert downloads == []


def test_anonymous_download_goes_to_login(db: Any, client: Any) -> None:
    pair = make_pair()
    proposal = _submit(pair, [("提案書.pdf", PDF)])
    db.session.commit()
    response = client.get(url_for("matches.attachment", attachment_id=proposal.attachments[0].id))
    assert response.status_code == 302 and "/auth/login" in response.location
    assert db.session.scalar(select(func.count()).select_from(ProposalAttachment)) == 1


@pytest.mark.parametrize(("name", "data"), [("提案書.pdf", PDF_HTML_POLYGLOT), ("写真.png", PNG + HTML)])
def test_a_file_that_is_also_html_is_served_so_that_it_can_never_run(db: Any, client: Any, login_as: Any,
                                                                     name: str, data: bytes) -> None:
    pair = make_pair()
    proposal = _submit(pair, [(name, data)])
    db.session.commit()
    switch_user(login_as, pair.owner)
    response = client.get(url_for("matches.attachment", attachment_id=proposal.attachments[0].id))
    response.close()
    headers = response.headers
    assert response.status_code == 200
    assert headers["Content-Disposition"].startswith("attachment")
    assert headers["Content-Type"] in ("application/pdf", "image/png"), "never text/html"
    assert headers["X-Content-Type-Options"] == "nosniff"
    policy = headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert headers["Cache-Control"] == "no-store"


def test_a_request_over_the_size_limit_gets_the_japanese_413_page(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.company_user)
    current_app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    # A raw body of 3 MB (the test client would spool a multipart body that big to a temporary file).
    response = client.post(url_for("matches.propose", challenge_id=pair.challenge.id),
                           data=b"-" * (3 * 1024 * 1024), content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "ファイルが大きすぎます" in text and "合計2 MBまで" in text
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0
