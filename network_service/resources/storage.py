"""Library files on disk: checked, named at random, kept outside any web root, tied to the transaction.

A file is accepted only if its extension is on the list AND its first bytes (its "magic") match that type;
office documents must also be the zip archive their format says, text must be UTF-8 without NUL bytes. Nothing
the uploader sent decides where the file goes: it is stored as ``secrets.token_hex(16)`` under ``UPLOAD_DIR``.

A file written during a request stays only if the request commits: the session remembers what it wrote and
removes it again when the transaction ends without a commit. A deleted resource's file is removed only after
the commit, so a rolled-back delete keeps its file.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from network_service.db import session
from network_service.errors import InvalidInput

CHUNK = 64 * 1024

# extension -> (content type sent on download, label)
TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}
TEXT_TYPES = {"txt", "md", "csv"}
OOXML_FOLDERS = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
ODF_TYPES = {"odt", "ods", "odp"}
ALLOWED_LABEL = "PDF, PNG, JPEG, GIF, WebP, TXT, MD, CSV, DOCX, XLSX, PPTX, ODT, ODS, ODP"

_PENDING_WRITES = "mentornet.resources.written"
_PENDING_DELETES = "mentornet.resources.to_delete"


def upload_dir() -> Path:
    configured = current_app.config.get("UPLOAD_DIR")
    directory = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def max_bytes() -> int:
    return int(current_app.config.get("RESOURCE_MAX_BYTES") or 10 * 1024 * 1024)


def path_of(stored_name: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", stored_name or ""):  # never a path from the database either
        raise ValueError("not a stored file name")
    return upload_dir() / stored_name


def clean_filename(filename: str | None) -> str:
    """The uploader's file name without any directory part, control characters or leading dots."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '<>:"|?*')
    name = name.strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def extension_of(filename: str) -> str:
    _stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


def human_size(size: int) -> str:
    """A size for people, with the number in the viewer's locale ("10.0 MB", "10,0 MB")."""
    if size >= 1024 * 1024:
        return format_decimal(round(size / (1024 * 1024), 1), format="#,##0.0") + " MB"
    if size >= 1024:
        return format_decimal(round(size / 1024)) + " KB"
    return format_decimal(size) + " B"


@dataclass
class StoredFile:
    stored_name: str
    original_filename: str
    content_type: str
    size: int
    sha256: str


def _bad_type() -> InvalidInput:
    return InvalidInput(
        _(
            "This file type cannot be added. Allowed are: %(types)s, and the file's content must match its "
            "name's ending.",
            types=ALLOWED_LABEL,
        ),
        field="file",
    )


def _magic_ok(ext: str, head: bytes) -> bool:
    if ext == "pdf":
        return head.startswith(b"%PDF-")
    if ext == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in {"jpg", "jpeg"}:
        return head.startswith(b"\xff\xd8\xff")
    if ext == "gif":
        return head.startswith((b"GIF87a", b"GIF89a"))
    if ext == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if ext in OOXML_FOLDERS or ext in ODF_TYPES:
        return head.startswith(b"PK\x03\x04")
    if ext in TEXT_TYPES:
        return b"\x00" not in head
    return False


def _archive_ok(ext: str, path: Path) -> bool:
    """An office document is a zip archive with the parts its format requires (read, never extracted)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) > 10_000:
                return False
            if ext in OOXML_FOLDERS:
                return "[Content_Types].xml" in names and any(n.startswith(OOXML_FOLDERS[ext]) for n in names)
            if "mimetype" not in names:
                return False
            with archive.open("mimetype") as member:
                declared = member.read(100).decode("ascii", "replace").strip()
            return declared == TYPES[ext]
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError):
        return False


def save_upload(stream: BinaryIO, filename: str | None) -> StoredFile:
    """Check and store an upload; raises InvalidInput (nothing left on disk) when it is refused.

    The file is written under its random name while it is read (never more than ``RESOURCE_MAX_BYTES``), and
    removed again if any check fails or the transaction does not commit."""
    original = clean_filename(filename)
    if not original:
        raise InvalidInput(_("Choose a file to upload."), field="file")
    ext = extension_of(original)
    if ext not in TYPES:
        raise _bad_type()
    limit = max_bytes()
    stored_name = secrets.token_hex(16)
    path = path_of(stored_name)
    digest = hashlib.sha256()
    size = 0
    head = b""
    decoder = codecs.getincrementaldecoder("utf-8")() if ext in TEXT_TYPES else None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(
                        _(
                            "The file is too large: at most %(limit)s can be uploaded.",
                            limit=human_size(limit),
                        ),
                        field="file",
                    )
                if len(head) < 64:
                    head += chunk[: 64 - len(head)]
                if decoder is not None:
                    if b"\x00" in chunk:
                        raise _bad_type()
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        raise InvalidInput(
                            _("A text file must be saved as UTF-8 text."), field="file"
                        ) from None
                digest.update(chunk)
                out.write(chunk)
            if decoder is not None:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    raise InvalidInput(_("A text file must be saved as UTF-8 text."), field="file") from None
        if size == 0:
            raise InvalidInput(_("The file is empty."), field="file")
        if not _magic_ok(ext, head):
            raise _bad_type()
        if (ext in OOXML_FOLDERS or ext in ODF_TYPES) and not _archive_ok(ext, path):
            raise _bad_type()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    session.info.setdefault(_PENDING_WRITES, []).append(path)
    return StoredFile(stored_name, original, TYPES[ext], size, digest.hexdigest())


def delete_after_commit(stored_name: str | None) -> None:
    if stored_name:
        session.info.setdefault(_PENDING_DELETES, []).append(path_of(stored_name))


@event.listens_for(Session, "after_commit")
def _after_commit(session_: Session) -> None:
    if (
        session_.in_nested_transaction()
    ):  # releasing a SAVEPOINT fires after_commit too; wait for the real one
        return
    session_.info.pop(_PENDING_WRITES, None)  # committed: the files belong to their rows now
    for path in session_.info.pop(_PENDING_DELETES, []):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session_: Session, transaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    # The outermost transaction ended without a commit (after_commit has already emptied the list otherwise):
    # remove what it wrote, keep what it meant to delete.
    for path in session_.info.pop(_PENDING_WRITES, []):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    session_.info.pop(_PENDING_DELETES, None)
