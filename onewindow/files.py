"""Files on a case: scans of the materials, attachments on tasks (上传, 查看, 下载).

* **Types by content, never by name**: PDF (``%PDF-``), JPEG, PNG (opened with Pillow under
  its decompression-bomb guard: at most :data:`MAX_PIXELS` pixels, the image parsed and
  checked whole), OFD (a ZIP package with ``OFD.xml`` at its root). Anything else → 415.
* **Sizes**: at most ``max_file_bytes`` a file and ``max_case_bytes`` for all the files of a
  case (→ 413). The case row is locked while the total is checked and the file written, so
  concurrent uploads to one case can never pass the limit together; nothing is half-written
  (row, bytes and trail event commit together or not at all).
* **Who**: the window (intake, admin) uploads to and reads any case of its tenant; auditors list;
  a clerk or supervisor lists the files of a case one of whose tasks is (or was) in their
  groups (supervisors: the groups they supervise) or was theirs, and uploads while such a task is
  open. A file's *content* is personal data in full, so it goes only to those who may read the
  case's personal data now (intake, admins, the clerks working it; ``workflows.personal_data``);
  the others get 403 and keep the list and the trail. Designers handle no files (403). Any other
  case, and another tenant's → 404.
* **Trail**: each upload (``file.uploaded``) and download (``file.downloaded``) is an event of
  the case with the file's SHA-256 in its hashed data: an auditor can prove a file was not swapped.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from sqlalchemy import func, or_, select

from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge, UnsupportedType
from workflows.models import Case, Task
from workflows.personal_data import may_read_personal_data

from .catalogue import load_catalogue
from .file_storage import FileStore
from .models import CaseFile

MAX_PIXELS = 40_000_000  # 40 megapixels: an A3 page scanned at 600 dpi is about 70 % of it
TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "application/ofd": "ofd"}
PREVIEW_TYPES = ("image/jpeg", "image/png")  # shown on the page in an <img>: images cannot run script
INLINE_TYPES = PREVIEW_TYPES + ("application/pdf",)  # opened in the browser's own viewer; OFD is downloaded
WRITERS_ALWAYS = ("intake", "admin")
READERS_ALWAYS = ("intake", "admin", "auditor")
OPEN_STATUSES = ("open", "waiting_applicant", "suspended")


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 10 * 1024 * 1024
    max_case_bytes: int = 50 * 1024 * 1024


def file_view(row: CaseFile) -> dict:
    return {"id": row.id, "case_id": row.case_id, "task_id": row.task_id, "name": row.name, "size": row.size,
            "sha256": row.sha256, "content_type": row.content_type, "material_code": row.material_code,
            "uploaded_by": row.uploaded_by, "uploaded_at": row.uploaded_at,
            "previewable": row.content_type in PREVIEW_TYPES, "viewable": row.content_type in INLINE_TYPES}


# -- what a file is ----------------------------------------------------------------------------
def clean_name(name: str | None, content_type: str) -> str:
    """The name shown and offered on download: no path, no control characters, the right extension."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{(stem or 'file')[:150]}.{TYPES[content_type]}"


def _image_ok(stream: BinaryIO, expected: str) -> None:
    from PIL import Image

    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=["PNG" if expected == "image/png" else "JPEG"]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise UnsupportedType(f"the image has {width}×{height} pixels; at most {MAX_PIXELS:,} are accepted",
                                          {"file": ["an image of at most 40 megapixels"]})
                image.verify()  # the whole file parsed: chunks, checksums
    except UnsupportedType:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsupportedType("the image is a decompression bomb", {"file": ["an image of at most 40 megapixels"]}) from None
    except Exception:  # noqa: BLE001 — any parser error: not an image we accept
        raise UnsupportedType("the image is damaged or not what it claims to be", {"file": ["a readable JPEG or PNG"]}) from None


def _ofd_ok(stream: BinaryIO) -> None:
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UnsupportedType("the OFD package cannot be read", {"file": ["a readable OFD document"]}) from None
    if "OFD.xml" not in names:
        raise UnsupportedType("a ZIP file that is not an OFD document", {"file": ["PDF, JPEG, PNG or OFD"]})


def judge_type(stream: BinaryIO) -> str:
    """The content type of the stream's bytes (PDF, JPEG, PNG, OFD), or :class:`UnsupportedType`."""
    stream.seek(0)
    head = stream.read(16)
    if head.startswith(b"%PDF-"):
        kind = "application/pdf"
    elif head.startswith(b"\xff\xd8\xff"):
        kind = "image/jpeg"
        _image_ok(stream, kind)
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "image/png"
        _image_ok(stream, kind)
    elif head.startswith(b"PK\x03\x04"):
        kind = "application/ofd"
        _ofd_ok(stream)
    else:
        raise UnsupportedType("only PDF, JPEG, PNG and OFD files are accepted (judged by their content)",
                              {"file": ["PDF, JPEG, PNG or OFD"]})
    stream.seek(0)
    return kind


def measure(stream: BinaryIO, limit: int) -> tuple[int, str]:
    """(size, SHA-256) read a chunk at a time; :class:`TooLarge` as soon as ``limit`` is passed."""
    stream.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"a file may have at most {limit // (1024 * 1024)} MB", {"file": [f"at most {limit} bytes"]})
        digest.update(chunk)
    stream.seek(0)
    return size, digest.hexdigest()


# -- who ---------------------------------------------------------------------------------------
def _case(session, actor: Actor, case_id: int, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id, Case.tenant_id == actor.tenant_id)
    if lock and session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a write as the transaction's first statement takes the
        # database's write lock (waiting its turn), so the total read next is the latest.
        table = Case.__table__
        session.execute(table.update().where(table.c.id == case_id, table.c.tenant_id == actor.tenant_id)
                        .values(version=table.c.version))
    elif lock:
        query = query.with_for_update()
    case = session.scalar(query)
    if case is None:
        raise NotFound(f"case {case_id} does not exist")
    return case


def _task_rights(actor: Actor, open_only: bool):
    groups = set(actor.groups if actor.has_role("clerk") else ()) | set(
        actor.supervised_groups if actor.has_role("supervisor") else ())
    clauses = [Task.assignee == actor.username]
    if not open_only:
        clauses.append(Task.completed_by == actor.username)
    if groups:
        clauses.append(Task.group.in_(sorted(groups)))
    return or_(*clauses)


def _involved(session, actor: Actor, case_id: int, open_only: bool) -> bool:
    query = select(Task.id).where(Task.case_id == case_id, _task_rights(actor, open_only))
    if open_only:
        query = query.where(Task.status.in_(("ready", "claimed")))
    return session.scalar(query.limit(1)) is not None


def _may_read(session, actor: Actor, case_id: int) -> None:
    if actor.has_role(*READERS_ALWAYS):
        return
    if not actor.has_role("clerk", "supervisor"):
        raise Forbidden("your roles do not allow reading case files")
    if not _involved(session, actor, case_id, open_only=False):
        raise NotFound(f"case {case_id} does not exist")


def _may_write(session, actor: Actor, case_id: int) -> None:
    if actor.has_role(*WRITERS_ALWAYS):
        return
    if not actor.has_role("clerk", "supervisor"):
        raise Forbidden("your roles do not allow attaching files")
    if not _involved(session, actor, case_id, open_only=True):
        if _involved(session, actor, case_id, open_only=False):
            raise Forbidden("files are attached while one of the case's tasks is yours to work")
        raise NotFound(f"case {case_id} does not exist")


# -- use cases -----------------------------------------------------------------------------------
def upload_file(ctx: EngineContext, actor: Actor, store: FileStore, limits: Limits, case_id: int,
                stream: BinaryIO, filename: str | None, material_code: str | None = None,
                task_id: int | None = None) -> dict:
    """Attach a file to a case; the stream must be seekable (Flask spools uploads to disk)."""
    if not actor.has_role(*WRITERS_ALWAYS, "clerk", "supervisor"):
        raise Forbidden("your roles do not allow attaching files")
    material_code = (material_code or "").strip() or None
    size, sha256 = measure(stream, limits.max_file_bytes)
    if size == 0:
        raise InvalidInput("the file is empty", {"file": ["a file with content"]})
    content_type = judge_type(stream)
    with ctx.unit_of_work() as uow:
        s = uow.session
        case = _case(s, actor, case_id, lock=True)  # uploads to one case queue here (the case limit)
        _may_write(s, actor, case_id)
        if case.status not in OPEN_STATUSES:
            raise Conflict(f"the case is {case.status}: files are attached while it is open")
        if material_code is not None:
            codes = _material_codes(case.service_code)
            if material_code not in codes:
                raise InvalidInput(f"{material_code!r} is not a material of this service",
                                   {"material_code": [f"one of {', '.join(sorted(codes)) or '(none)'}"]})
        if task_id is not None and s.scalar(select(Task.id).where(Task.id == task_id, Task.case_id == case_id)) is None:
            raise InvalidInput("the task is not a task of this case", {"task_id": ["a task of this case"]})
        used = s.scalar(select(func.coalesce(func.sum(CaseFile.size), 0)).where(CaseFile.case_id == case_id)) or 0
        if used + size > limits.max_case_bytes:
            raise TooLarge(f"the case's files may have at most {limits.max_case_bytes // (1024 * 1024)} MB together "
                           f"({used} bytes are used)", {"file": ["the case has no room for this file"]})
        row = CaseFile(tenant_id=actor.tenant_id, case_id=case_id, task_id=task_id, name=clean_name(filename, content_type),
                       size=size, sha256=sha256, content_type=content_type, material_code=material_code,
                       storage=store.name, uploaded_by=actor.username, uploaded_at=ctx.clock())
        s.add(row)
        s.flush()
        stream.seek(0)
        store.write(uow, row.id, stream)
        view = file_view(row)
        uow.record("file.uploaded", actor.tenant_id, case_id=case_id, task_id=task_id, actor=actor.username, at=row.uploaded_at,
                   data={"file_id": row.id, "name": row.name, "size": size, "sha256": sha256,
                         "content_type": content_type, "material_code": material_code})
        uow.commit()
    return view


def _material_codes(service_code: str | None) -> set[str]:
    if not service_code:
        return set()
    try:
        return {m["code"] for m in load_catalogue().service(service_code).materials}
    except NotFound:
        return set()


def _may_read_any(actor: Actor) -> None:
    if not actor.has_role(*READERS_ALWAYS, "clerk", "supervisor"):
        raise Forbidden("your roles do not allow reading case files")


def list_files(ctx: EngineContext, actor: Actor, case_id: int) -> list[dict]:
    _may_read_any(actor)
    with ctx.unit_of_work() as uow:
        s = uow.session
        _case(s, actor, case_id)
        _may_read(s, actor, case_id)
        rows = s.scalars(select(CaseFile).where(CaseFile.case_id == case_id).order_by(CaseFile.id)).all()
        return [file_view(r) for r in rows]


def may_upload(ctx: EngineContext, actor: Actor, case_id: int) -> bool:
    """For pages: show the upload form?"""
    with ctx.unit_of_work() as uow:
        try:
            case = _case(uow.session, actor, case_id)
            _may_write(uow.session, actor, case_id)
        except (NotFound, Forbidden):
            return False
        return case.status in OPEN_STATUSES


def _may_read_content(session, actor: Actor, case_id: int) -> bool:
    open_tasks = session.scalars(select(Task).where(Task.case_id == case_id, Task.status.in_(("ready", "claimed")))).all()
    return may_read_personal_data(actor, open_tasks)


def may_open(ctx: EngineContext, actor: Actor, case_id: int) -> bool:
    """For pages: may the actor open the files' content (previews, downloads) now?"""
    with ctx.unit_of_work() as uow:
        return _may_read_content(uow.session, actor, case_id)


def open_file(ctx: EngineContext, actor: Actor, stores: dict[str, FileStore], file_id: int,
              read_sessions=None) -> tuple[dict, Iterator[bytes]]:
    """The file's description and its bytes (an iterator); the download is in the trail first.

    ``read_sessions``: a session factory for reading the chunks while the response streams
    (independent of the request's session); the context's by default.
    """
    _may_read_any(actor)
    with ctx.unit_of_work() as uow:
        s = uow.session
        row = s.scalar(select(CaseFile).where(CaseFile.id == file_id, CaseFile.tenant_id == actor.tenant_id))
        if row is None:
            raise NotFound(f"file {file_id} does not exist")
        try:
            _may_read(s, actor, row.case_id)
        except NotFound:
            raise NotFound(f"file {file_id} does not exist") from None
        # A scan is personal data in full (an identity card, a bank book): its content goes only to
        # those who may read the case's personal data now (workflows.personal_data); the others see
        # the list — names, sizes, SHA-256 — and the trail, which proves the file was not swapped.
        if not _may_read_content(s, actor, row.case_id):
            raise Forbidden("a file's content is personal data: it is for those working the case, the window "
                            "and administrators; its list and SHA-256 are yours to read")
        view = file_view(row)
        store = stores.get(row.storage)
        if store is None:
            raise Conflict(f"the file is kept in the {row.storage!r} store, which this installation does not configure")
        uow.record("file.downloaded", actor.tenant_id, case_id=row.case_id, actor=actor.username, at=ctx.clock(),
                   data={"file_id": row.id, "sha256": row.sha256, "size": row.size})
        uow.commit()
    return view, store.read(read_sessions or ctx.session_factory, file_id)
