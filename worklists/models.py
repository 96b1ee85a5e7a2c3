"""Tables of the worklists beyond the task rows: the clerks' saved inbox filters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
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
