"""Tables of the one window (``ow_*``), in the engine's metadata (``workflows.models.Base``).

* ``ow_intakes``: one row per case started through the service catalogue — how many form
  fields the clerk typed and how many came prefilled, and from where; proactive cases carry
  an ``origin_key`` that makes the daily job idempotent.
* ``ow_ratings``: the citizen's rating of a case (好差评), one per case; a bad one points to
  its follow-up case.
* ``ow_audits``: the auditors' queue: concluded cases to review, and the finding recorded.
* ``ow_job_runs``: which daily job ran for which tenant and day (the scheduler runs each once).
* ``ow_event_photos``: the photo of a reported grid event.
* ``ow_case_files``: files attached to a case (scans of materials, attachments on tasks);
  their bytes live in a :mod:`onewindow.file_storage` store — ``ow_file_chunks`` when the
  store is the database.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflows.models import Base, BigId, UtcDateTime, utcnow


class Intake(Base):
    """How a catalogue case was received: typed against prefilled fields (the article's figures)."""

    __tablename__ = "ow_intakes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "origin_key"),
        Index("ix_ow_intakes_service", "tenant_id", "service_code", "id"),
        Index("ix_ow_intakes_applicant", "tenant_id", "applicant_id", "service_code"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    service_code: Mapped[str] = mapped_column(String(64))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("dc_people.id"))
    # window (at the intake window) | proactive (找上门, started by the daily job) | bulk (bulk entry)
    origin: Mapped[str] = mapped_column(String(16), default="window")
    # proactive cases: "<rule>:<resident>:<occasion>", unique per tenant (reruns create nothing)
    origin_key: Mapped[str | None] = mapped_column(String(120), nullable=True)
    total_fields: Mapped[int] = mapped_column(SmallInteger)
    prefilled_fields: Mapped[int] = mapped_column(SmallInteger)
    typed_fields: Mapped[int] = mapped_column(SmallInteger)
    # {field: source} of the values that came prefilled and were kept
    sources: Mapped[dict] = mapped_column(JSON, default=dict)
    received_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # the short code printed on the receipt; with the case number it opens the public progress page
    progress_code: Mapped[str | None] = mapped_column(String(16), nullable=True)


class Rating(Base):
    """A citizen's rating of a case (好差评, GB/T 39734-2020): 5 非常满意 … 1 非常不满意."""

    __tablename__ = "ow_ratings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    rated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # a bad rating (1-2) is followed up in a case of its own
    follow_up_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)


class Audit(Base):
    """A concluded case in the auditors' queue and, once reviewed, the finding."""

    __tablename__ = "ow_audits"
    __table_args__ = (Index("ix_ow_audits_queue", "tenant_id", "status", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    service_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # pending | done
    status: Mapped[str] = mapped_column(String(16), default="pending")
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # the trail verification the auditor's finding rests on
    trail_valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    trail_checked: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # compliant | irregular
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    finding: Mapped[str | None] = mapped_column(Text, nullable=True)
    audited_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    audited_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class JobRun(Base):
    """A daily job's run for a tenant and day; the unique key makes the scheduler run it once."""

    __tablename__ = "ow_job_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "job", "day"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    job: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    result: Mapped[dict] = mapped_column(JSON, default=dict)


class EventPhoto(Base):
    """The photo a grid worker took of an event (kept apart from the case's engine state)."""

    __tablename__ = "ow_event_photos"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseFile(Base):
    """A file on a case: who uploaded it when, its SHA-256, the material it stands for."""

    __tablename__ = "ow_case_files"
    __table_args__ = (Index("ix_ow_case_files_case", "case_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    material_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # folder | database: where the bytes are (a deployment may change its store; old files stay readable)
    storage: Mapped[str] = mapped_column(String(16))
    uploaded_by: Mapped[str] = mapped_column(String(150))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FileChunk(Base):
    """The bytes of a file kept in the database, in chunks read and written one at a time."""

    __tablename__ = "ow_file_chunks"
    file_id: Mapped[int] = mapped_column(ForeignKey("ow_case_files.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


ONEWINDOW_TABLES = tuple(m.__table__ for m in (Intake, Rating, Audit, JobRun, EventPhoto, CaseFile, FileChunk))
