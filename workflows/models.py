"""The relational schema of Redwall.

Plain SQLAlchemy (no Flask): the engine, scripts, workers and the web app share it.
Every row that a user can reach carries ``tenant_id`` (a sub-district), and every
query in the use cases filters on it.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
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
    true,
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


def new_token_key() -> str:
    """A user's random key, named by every token and session of the user: a token cannot be
    inherited by another user (even one given a reused id), and changing the key revokes them all."""
    import secrets

    return secrets.token_hex(16)


class User(Base):
    __tablename__ = "users"
    # AUTOINCREMENT on SQLite: a deleted user's id is never given to the next user.
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    # Usernames are unique in the installation, so a login needs no tenant.
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    token_key: Mapped[str] = mapped_column(String(32), default=new_token_key)

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
    #: False: stored to be viewed and edited, never started (no executable process in it).
    executable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

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
        # inbox and case lists filter by applicant (one resident's cases)
        Index("ix_cases_tenant_applicant", "tenant_id", "applicant_id", "id"),
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
    # Head of the case's trail chain (workflows.trail): the last event's seq and hash, so an
    # append needs no search and whole-chain deletion shows against the case row.
    trail_seq: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    trail_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


#: An open task that names candidate groups or users (the partial indexes of the badge counts).
HAS_CANDIDATES = {
    "postgresql": "status IN ('ready', 'claimed') AND (candidate_groups::text <> '[]' OR candidate_users::text <> '[]')",
    "sqlite": "status IN ('ready', 'claimed') AND (candidate_groups <> '[]' OR candidate_users <> '[]')",
}


class Task(Base):
    """A user task as clerks see it: one row per ready (or finished) human task of a case."""

    __tablename__ = "tasks"
    __table_args__ = (
        # (case_id, spiff_id) also serves every lookup by case.
        UniqueConstraint("case_id", "spiff_id"),
        # Inbox access paths (worklists/inbox.py): one index per path and sort order, so a page
        # is an index range read in order, never a sort of a whole group. warn_at and service_code
        # ride along (PostgreSQL INCLUDE): badge counts and service filters stay index-only scans.
        Index("ix_tasks_inbox", "tenant_id", "group", "status", "due_at", "id", postgresql_include=["warn_at", "service_code"]),
        Index("ix_tasks_inbox_created", "tenant_id", "group", "status", "created_at", "id"),
        Index("ix_tasks_assignee", "tenant_id", "assignee", "status", "due_at", "id"),
        Index("ix_tasks_tenant", "tenant_id", "status", "due_at", "id", postgresql_include=["group", "warn_at"]),
        Index(
            "ix_tasks_delegated", "tenant_id", "delegated_by", "status", "due_at", "id",
            postgresql_where=text("delegated_by IS NOT NULL"), sqlite_where=text("delegated_by IS NOT NULL"),
        ),
        # badge counts: the tasks warned today, counted exactly (worklists.task_counts)
        Index("ix_tasks_warn", "tenant_id", "warn_at", postgresql_include=["group", "status", "due_at"],
              postgresql_where=text("warn_at IS NOT NULL"), sqlite_where=text("warn_at IS NOT NULL")),
        # badge counts: the open tasks naming candidates that are due or warned today, counted
        # exactly (the predicates, word for word, are what the badge query repeats)
        Index("ix_tasks_candidates_due", "tenant_id", "due_at",
              postgresql_where=text(HAS_CANDIDATES["postgresql"]), sqlite_where=text(HAS_CANDIDATES["sqlite"])),
        Index("ix_tasks_candidates_warn", "tenant_id", "warn_at",
              postgresql_where=text(HAS_CANDIDATES["postgresql"]), sqlite_where=text(HAS_CANDIDATES["sqlite"])),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    spiff_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    group: Mapped[str | None] = mapped_column(String(100), nullable=True)
    candidate_groups: Mapped[list] = mapped_column(JSON, default=list)
    candidate_users: Mapped[list] = mapped_column(JSON, default=list)
    # ready | claimed | completed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="ready")
    assignee: Mapped[str | None] = mapped_column(String(150), nullable=True)
    # Set while the assignee works the task for a colleague, who gets it back on resolution.
    delegated_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    # The case's service (fixed for the case's life), copied so inbox filters need no join.
    service_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Handling operations (worklists.handling): ``user`` for a BPMN user task, ``sign`` for a
    # co-signer's task (加签) added to the task ``parent_id``; a sign task has no engine task.
    kind: Mapped[str] = mapped_column(String(8), default="user", server_default=text("'user'"))
    parent_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    # What the clerk must know about the task: the reason it was sent back (退回), the signer's brief.
    note: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    # 催办: how often the task was urged, and when last.
    urged_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    urged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Operation state: signers pending (``before``/``after``/``parallel``), data held for signers,
    # a signer's opinion.
    handling: Mapped[dict | None] = mapped_column(JSON, nullable=True)


# Highest priority first, then oldest: a DESC key needs the column objects, hence outside the class.
Index("ix_tasks_inbox_priority", Task.tenant_id, Task.group, Task.status, Task.priority.desc(), Task.id)


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


# -- the case trail (办事留痕, workflows.trail) ---------------------------------------------------
class TrailEvent(Base):
    """One state change, append-only and hash-chained per case (or per tenant for case-less events).

    ``data`` is the canonical JSON text that was hashed, kept verbatim so verification hashes
    the stored bytes. On PostgreSQL a trigger refuses UPDATE and DELETE (migration 0003).
    No foreign keys: the trail must outlive and never depend on what it describes.
    """

    __tablename__ = "trail_events"
    __table_args__ = (
        Index("uq_trail_events_chain", "tenant_id", "case_id", "seq", unique=True),
        Index(
            "uq_trail_events_tenant_chain", "tenant_id", "seq", unique=True,
            sqlite_where=text("case_id IS NULL"), postgresql_where=text("case_id IS NULL"),
        ),
        # BRIN on PostgreSQL: almost free to maintain on an append-only table in time order;
        # only the daily anchors search by time.
        Index("ix_trail_events_at", "at", postgresql_using="brin"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigId)
    case_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(150), nullable=True)
    task_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class TrailHead(Base):
    """Head of a tenant's chain of case-less events (deployments, users, registry reads)."""

    __tablename__ = "trail_heads"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class TrailAnchor(Base):
    """A day's anchor: the heads of every chain that grew that day, chained to the previous anchor.

    Removing a whole case (its events and its row) leaves an anchored head pointing at nothing.
    """

    __tablename__ = "trail_anchors"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    day: Mapped[date] = mapped_column(Date)
    events: Mapped[int] = mapped_column(Integer)
    heads: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LoginFailure(Base):
    """Failed logins counted per username and per client address, shared by every process."""

    __tablename__ = "login_failures"
    __table_args__ = (UniqueConstraint("scope", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # pair | user | spread | address (people.logins)
    key: Mapped[str] = mapped_column(String(255))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class TaskCandidate(Base):
    """A group or user that may work an open task besides its lane's group (set at run time).

    The JSON columns of ``tasks`` keep the lists for display; this side table lets the inbox
    find a clerk's candidate tasks through an index. Rows live while their task is open.
    """

    __tablename__ = "task_candidates"
    __table_args__ = (Index("ix_task_candidates_lookup", "tenant_id", "kind", "name", "task_id"),)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # group | user
    name: Mapped[str] = mapped_column(String(150), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))


# -- handling operations (worklists.handling) ----------------------------------------------------
class CaseCopy(Base):
    """A case copied to a user (抄送): read-only access to that case, listed as ``scope=cc``."""

    __tablename__ = "case_copies"
    __table_args__ = (
        UniqueConstraint("case_id", "username"),
        Index("ix_case_copies_inbox", "tenant_id", "username", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    username: Mapped[str] = mapped_column(String(150))
    copied_by: Mapped[str] = mapped_column(String(150))
    comment: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CaseUrging(Base):
    """A case urged (催办) by a supervisor or the intake clerk who received it."""

    __tablename__ = "case_urgings"
    __table_args__ = (Index("ix_case_urgings_tenant_at", "tenant_id", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    urged_by: Mapped[str] = mapped_column(String(150))
    comment: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    # the open tasks urged and their holders: [{"task_id", "assignee", "group"}]
    targets: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseSuspension(Base):
    """A case suspended (挂起) by a supervisor or admin, and its resumption (恢复)."""

    __tablename__ = "case_suspensions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    previous_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(2000))
    suspended_by: Mapped[str] = mapped_column(String(150))
    suspended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resumed_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    resumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# -- timers, deadlines and supervision (workflows.timers, .deadlines, .supervision) ---------------
class Timer(Base):
    """A moment at which the engine must act on a case, stored with its due time.

    Kinds: ``bpmn`` (a waiting BPMN timer event, ``spiff_id`` names its task), ``warning``,
    ``overdue`` and ``red`` (the supervision thresholds of the case's deadline) and ``retry``
    (a failed service task tried again after a back-off). Schedulers claim due rows
    (pending → claimed); a worker fires a row once (claimed → fired) in the same transaction
    as the case step it causes, so a redelivered or duplicated dispatch changes nothing.
    """

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "status", "due_at"),
        Index("ix_timers_case", "case_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16))
    spiff_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    element_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # pending | claimed | fired | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # retry timers: the attempt this row makes (1, 2, ...); others 0
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    fired_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseClock(Base):
    """The deadline clock of a case (承诺时限): running, paused while the applicant supplies
    materials (补正), stopped when the case ends; and the supervision levels it reached.

    A row exists for cases with a time limit and for cases that ever waited for the applicant.
    """

    __tablename__ = "case_clocks"
    __table_args__ = (Index("ix_case_clocks_tenant_warned", "tenant_id", "warned_at"),)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    time_limit_working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # or a limit in calendar minutes (emergencies, 应急), and what was left of it while paused
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remaining_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    warn_working_days: Mapped[int] = mapped_column(Integer, default=1)
    red_after_working_days: Mapped[int] = mapped_column(Integer, default=3)
    # running | paused | stopped
    state: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    red_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # while paused: working days left after the pause day (negative: already overdue)
    remaining_working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # [[paused_at, resumed_at], ...] as ISO strings, for handling time in working hours
    pauses: Mapped[list] = mapped_column(JSON, default=list)
    # none | warning | yellow | red
    level: Mapped[str] = mapped_column(String(16), default="none")
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    seriously_overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class CalendarOverride(Base):
    """A day whose working status differs from the holiday library (or that it does not know).

    ``tenant_id`` NULL: for the whole installation (e.g. next year's State Council schedule
    before the library knows it); a tenant's row wins over an installation row.
    """

    __tablename__ = "calendar_overrides"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), nullable=True)
    day: Mapped[date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(150), nullable=True)


class SchedulerHeartbeat(Base):
    """A running scheduler (``redwall scheduler`` or the embedded thread) and how it keeps up."""

    __tablename__ = "scheduler_heartbeats"
    name: Mapped[str] = mapped_column(String(150), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed: Mapped[int] = mapped_column(BigInteger, default=0)
    # lateness of the oldest timer it claimed in its last pass, in milliseconds
    lag_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class CasePress(Base):
    """A supervisor's pressing (督办) of a case: who pressed, when, why, and the department's answer."""

    __tablename__ = "case_presses"
    __table_args__ = (Index("ix_case_presses_case", "tenant_id", "case_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # the department (group) the case was with when it was pressed: whose clerks answer
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    pressed_by: Mapped[str] = mapped_column(String(150))
    pressed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(150), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CaseMigration(Base):
    """A run moving the running cases of a process key from one version to another (issue 12).

    Each case is moved in its own transaction, which also writes its :class:`CaseMigrationItem`;
    the run is resumed by processing the cases of the old version that have no item yet.
    """

    __tablename__ = "case_migrations"
    __table_args__ = (Index("ix_case_migrations_key", "tenant_id", "process_key", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    process_key: Mapped[str] = mapped_column(String(255))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    from_model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id"))
    to_model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id"))
    # {"old_element_id": "new_element_id"}; the cases asked for (None: every running case)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    case_ids: Mapped[list | None] = mapped_column(JSON, nullable=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # running | done | interrupted (an error stopped it; resuming continues)
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    batch_size: Mapped[int] = mapped_column(Integer, default=100)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CaseMigrationItem(Base):
    """What a migration run did with one case: migrated, can_migrate (dry run), blocked, stale, failed."""

    __tablename__ = "case_migration_items"
    __table_args__ = (UniqueConstraint("run_id", "case_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("case_migrations.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    # why not (blocked, stale, failed), as {"code": ..., "element_id": ..., "message": ...}
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
