"""The relational schema of Redwall.

Plain SQLAlchemy (no Flask): the engine, scripts, workers and the web app share it.
Every row that a user can reach carries ``tenant_id`` (a sub-district), and every
query in the use cases filters on it.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Constraint names are fixed so that Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT ids on PostgreSQL (millions of cases and tasks); SQLite needs INTEGER for rowid aliasing.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; Redwall stores aware datetimes only")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tenant(Base):
    """A sub-district (街道) served by this installation."""

    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    # Usernames are unique in the installation, so a login needs no tenant.
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship(lazy="joined")
    memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def groups(self) -> list[str]:
        return sorted(m.group.code for m in self.memberships if m.kind == "member")

    @property
    def supervised_groups(self) -> list[str]:
        return sorted(m.group.code for m in self.memberships if m.kind == "supervisor")


class Group(Base):
    """A department (科室) or the intake window; BPMN lane ids name groups."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("user_id", "group_id", "kind"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    # 'member' works the group's tasks; 'supervisor' oversees them.
    kind: Mapped[str] = mapped_column(String(20), default="member")

    user: Mapped[User] = relationship(back_populates="memberships")
    group: Mapped[Group] = relationship(lazy="joined")


class ProcessModel(Base):
    """One deployed version of a process key: the files as uploaded, immutable once written."""

    __tablename__ = "process_models"
    __table_args__ = (UniqueConstraint("tenant_id", "key", "version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(150), nullable=True)

    files: Mapped[list[ProcessModelFile]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ProcessModelFile.position"
    )


class ProcessModelFile(Base):
    __tablename__ = "process_model_files"
    __table_args__ = (UniqueConstraint("model_id", "filename"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    model: Mapped[ProcessModel] = relationship(back_populates="files")


class Case(Base):
    """A case (办件): one running or finished process instance with its engine state."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_cases_tenant_status", "tenant_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(255))
    model_version: Mapped[int] = mapped_column(Integer)
    # open | waiting_applicant | concluded | refused | terminated
    status: Mapped[str] = mapped_column(String(32), default="open")
    service_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    applicant_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # SpiffWorkflow state without the process spec (the spec is rebuilt from the model's files).
    state: Mapped[str] = mapped_column(Text)
    # Optimistic concurrency: every write is "UPDATE ... WHERE version = :seen" (workflows.cases).
    version: Mapped[int] = mapped_column(Integer, default=1)
    has_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    started_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Task(Base):
    """A user task as clerks see it: one row per ready (or finished) human task of a case."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("case_id", "spiff_id"),
        Index("ix_tasks_inbox", "tenant_id", "group", "status", "due_at", "id"),
        Index("ix_tasks_assignee", "tenant_id", "assignee", "status", "due_at", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    spiff_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    group: Mapped[str | None] = mapped_column(String(100), nullable=True)
    candidate_groups: Mapped[list] = mapped_column(JSON, default=list)
    candidate_users: Mapped[list] = mapped_column(JSON, default=list)
    # ready | claimed | completed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="ready")
    assignee: Mapped[str | None] = mapped_column(String(150), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Incident(Base):
    """A case stopped by a failing script, service call or engine error, awaiting a retry."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    spiff_task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    element_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
