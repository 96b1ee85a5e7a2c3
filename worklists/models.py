"""Tables of the worklists beyond the task rows: the clerks' saved inbox filters, the badge counters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.models import Base, BigId, UtcDateTime, utcnow


class SavedFilter(Base):
    """An inbox filter a clerk saved for themself, or shared with one of their groups."""

    __tablename__ = "saved_filters"
    __table_args__ = (
        Index("ix_saved_filters_owner", "tenant_id", "owner_id"),
        Index("ix_saved_filters_group", "tenant_id", "shared_with"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner: Mapped[str] = mapped_column(String(150))
    name: Mapped[str] = mapped_column(String(60))
    # the group it is shared with (its members see it), or None: the owner's own
    shared_with: Mapped[str | None] = mapped_column(String(64), nullable=True)
    query: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TaskCount(Base):
    """Signed counts of open tasks (``worklists.task_counts``): written only by triggers on
    ``tasks`` and folded by ``task_counts.fold``; the badge counts sum them."""

    __tablename__ = "task_counts"
    __table_args__ = (Index("ix_task_counts_key", "tenant_id", "kind", "name"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))  # lane | assignee | delegated
    name: Mapped[str] = mapped_column(String(150))  # the lane ('' for none), the assignee, the delegator
    status: Mapped[str] = mapped_column(String(16))
    due_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # UTC days since 1970
    warn_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n: Mapped[int] = mapped_column(Integer)


class TaskCandidateCount(Base):
    """Signed counts of open tasks per candidate group or user (``worklists.task_counts``):
    written only by triggers on ``tasks`` from the task's candidate lists, folded with the
    other counters. ``sig`` names the task's whole candidate set, so that a task named by
    several of one person's groups is counted once in their views."""

    __tablename__ = "task_candidate_counts"
    __table_args__ = (Index("ix_task_candidate_counts_key", "tenant_id", "kind", "name"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # group | user (as in task_candidates)
    name: Mapped[str] = mapped_column(String(150))  # the candidate group or user
    lane: Mapped[str] = mapped_column(String(100))  # the task's lane group ('' for none)
    sig: Mapped[str] = mapped_column(Text)  # the task's candidate lists as stored
    status: Mapped[str] = mapped_column(String(16))
    due_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # UTC days since 1970
    warn_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n: Mapped[int] = mapped_column(Integer)
