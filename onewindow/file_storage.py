"""Where the bytes of case files live, behind one small interface.

A store writes a file from a readable stream inside the caller's unit of work and reads it
back as an iterator of chunks — never the whole file in memory:

* :class:`FolderStore` — a local folder (the embedded single-process run, SQLite);
* :class:`DatabaseStore` — rows of ``ow_file_chunks`` (256 KiB each) in the database, for
  PostgreSQL deployments with several app processes: nothing depends on one machine's disk.

An S3-compatible store is the path for large deployments (same three methods over an object
store); none ships, as none could be tested here.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from sqlalchemy import select

from .models import FileChunk

CHUNK = 256 * 1024


class FileStore(Protocol):
    name: str

    def write(self, uow, file_id: int, stream: BinaryIO) -> None:
        """Store the stream's bytes under ``file_id``; undone if ``uow`` rolls back."""

    def read(self, session_factory, file_id: int) -> Iterator[bytes]:
        """The file's bytes, a chunk at a time."""

    def delete(self, uow, file_id: int) -> None:
        """Forget the file's bytes (with the unit of work's commit)."""


class FolderStore:
    name = "folder"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, file_id: int) -> Path:
        return self.root / f"{file_id // 1000:06d}" / f"{file_id}.bin"

    def write(self, uow, file_id: int, stream: BinaryIO) -> None:
        path = self._path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with open(partial, "wb") as out:
            while chunk := stream.read(CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        # The file appears under its name only once the row that names it is committed.
        uow.after_commit(lambda: os.replace(partial, path))
        uow.after_rollback(lambda: partial.unlink(missing_ok=True))

    def read(self, session_factory, file_id: int) -> Iterator[bytes]:
        with open(self._path(file_id), "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def delete(self, uow, file_id: int) -> None:
        uow.after_commit(lambda: self._path(file_id).unlink(missing_ok=True))


class DatabaseStore:
    name = "database"

    def write(self, uow, file_id: int, stream: BinaryIO) -> None:
        conn = uow.session.connection()
        table = FileChunk.__table__
        seq = 0
        while chunk := stream.read(CHUNK):
            conn.execute(table.insert().values(file_id=file_id, seq=seq, data=chunk))
            seq += 1

    def read(self, session_factory, file_id: int) -> Iterator[bytes]:
        """One short query per chunk: a slow reader holds no transaction open."""
        table = FileChunk.__table__
        seq = 0
        while True:
            session = session_factory()
            try:
                data = session.execute(select(table.c.data).where(table.c.file_id == file_id, table.c.seq == seq)).scalar()
                session.rollback()
            finally:
                session.close()
            if data is None:
                return
            yield bytes(data)
            seq += 1

    def delete(self, uow, file_id: int) -> None:
        uow.session.execute(FileChunk.__table__.delete().where(FileChunk.__table__.c.file_id == file_id))


def store_for(kind: str, folder: str | os.PathLike | None = None) -> FileStore:
    if kind == "database":
        return DatabaseStore()
    if kind == "folder":
        if folder is None:
            raise ValueError("a folder store needs its folder")
        return FolderStore(folder)
    raise ValueError(f"unknown file storage {kind!r}: folder or database")
