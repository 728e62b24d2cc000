"""Proposal attachments: an allow-list of types checked by content (magic bytes; the OOXML content
type; a readable ZIP directory) AND agreeing with the extension, size-limited, stored outside the
web root under random names, and removed again if the transaction that created them rolls back.

Anything else — HTML, SVG, scripts, executables, whatever the name says — is refused; and what is
accepted is served as a download under a sandbox policy (matchmaker/matches/proposal_views.py),
so even a file that is two formats at once never runs in the site's origin."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from matchmaker.services import audit
from matchmaker.services.errors import FieldError
from models import ProposalAttachment, User, db
from models.proposal import Proposal

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
OOXML_MAIN_TYPES: dict[str, str] = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}
CONTENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "zip": "application/zip",
}
IMAGE_MAGIC: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
}
ZIP_MAX_ENTRIES = 10_000
_CONTENT_TYPES_XML_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """A file as the form received it."""

    filename: str
    stream: IO[bytes]


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "proposals"


def extension_of(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def display_name(filename: str) -> str:
    """The original name without any path, control characters or excess length."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-200:] or "file"


def _is_zip(data: bytes) -> bool:
    """A ZIP whose directory reads, as offices send them (not an empty or a self-extracting one)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return 0 < len(archive.infolist()) <= ZIP_MAX_ENTRIES
    except (zipfile.BadZipFile, RuntimeError, ValueError, OSError):
        return False


def content_matches(ext: str, head: bytes, data: bytes) -> bool:
    """Whether the bytes are what the extension claims (magic bytes; OOXML content type)."""
    if ext == "pdf":
        return head.startswith(b"%PDF-")
    if ext in ("doc", "xls", "ppt"):
        return head.startswith(OLE_MAGIC)
    if ext in IMAGE_MAGIC:
        return head.startswith(IMAGE_MAGIC[ext])
    if ext == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if ext == "zip":
        return _is_zip(data)
    if ext in OOXML_MAIN_TYPES:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                info = archive.getinfo("[Content_Types].xml")
                if info.file_size > _CONTENT_TYPES_XML_LIMIT:
                    return False
                types = archive.read(info).decode("utf-8", "replace")
        except (zipfile.BadZipFile, KeyError, RuntimeError, ValueError, OSError):
            return False
        return OOXML_MAIN_TYPES[ext] in types
    return False


def check(upload: Upload) -> tuple[str, bytes]:
    """Read and check one upload; returns (extension, bytes) or raises FieldError on 'attachments'."""
    name = display_name(upload.filename)
    ext = extension_of(name)
    if ext not in CONTENT_TYPES:
        raise FieldError("attachments", _l("「%(name)s」は添付できない形式です。PDF、Word、Excel、PowerPoint、画像（PNG・JPEG・GIF・WebP）、ZIPのファイルを選んでください。",
                                           name=name))
    limit = max_bytes()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise FieldError("attachments", _l("「%(name)s」は大きすぎます（上限 %(mb)d MB）。", name=name,
                                           mb=limit // (1024 * 1024)))
    if not data:
        raise FieldError("attachments", _l("「%(name)s」は空のファイルです。", name=name))
    if not content_matches(ext, data[:16], data):
        raise FieldError("attachments", _l("「%(name)s」の中身が拡張子（.%(ext)s）と一致しません。ファイルを確認してください。",
                                           name=name, ext=ext))
    return ext, data


def store(proposal: Proposal, upload: Upload, user: User) -> ProposalAttachment:
    """Check and write one file, add its row; the file is deleted again if the session rolls back."""
    if len(proposal.attachments) >= MAX_FILES:
        raise FieldError("attachments", _l("添付できるのは%(n)dファイルまでです。", n=MAX_FILES))
    ext, data = check(upload)
    root = upload_root()
    root.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(20)
    path = root / stored_name
    with open(path, "xb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
    db.session.info.setdefault("written_files", []).append(str(path))
    attachment = ProposalAttachment(
        proposal=proposal, original_name=display_name(upload.filename), stored_name=stored_name,
        content_type=CONTENT_TYPES[ext], size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=user.id,
    )
    db.session.add(attachment)
    db.session.flush()
    audit.record(user, "attachment.uploaded", attachment, proposal_id=proposal.id, name=attachment.original_name)
    return attachment


def path_of(attachment: ProposalAttachment) -> Path:
    return upload_root() / attachment.stored_name


def record_download(attachment: ProposalAttachment, user: Any) -> None:
    audit.record(user, "attachment.downloaded", attachment, proposal_id=attachment.proposal_id,
                 name=attachment.original_name)


@event.listens_for(Session, "after_commit")
def _forget_written(session: Session) -> None:
    session.info.pop("written_files", None)


@event.listens_for(Session, "after_rollback")
def _remove_written(session: Session) -> None:
    for name in session.info.pop("written_files", []):
        Path(name).unlink(missing_ok=True)
