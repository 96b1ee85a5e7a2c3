"""Working days (工作日): what deadlines, warnings and handling times are counted in.

Whether a day is a working day, first rule that applies:

1. the tenant's own override row for that day (``calendar_overrides``);
2. an installation-wide override row (``tenant_id`` NULL), e.g. next year's State Council
   holiday schedule entered before the library knows it;
3. the ``chinesecalendar`` library, for the years it knows (2004–2026 in the pinned 1.11.0):
   statutory holidays are not working days, adjusted weekend working days (调休) are;
4. otherwise Monday to Friday. A year that neither the library nor the override table covers
   never raises: it falls back to weekends, is logged once, and ``coverage()`` (shown by
   ``GET /api/ops/health``) names it.

Counting rules (the ones statutory periods use): a period of *n* working days starts the day
after its start day, which is not counted, and ends at the end of the *n*-th working day,
23:59:59 in the tenant's time zone. Working *hours* (handling-time metrics) are office hours on
working days, by default 09:00–12:00 and 13:30–17:30 (7 h a day; ``REDWALL_OFFICE_HOURS``).

The override rows are read into a snapshot that is reloaded after ``ttl`` seconds (60 by
default), so a change made through another process is seen within a minute, and at once in
the process that made it.
"""
from __future__ import annotations

import logging
import threading
import time as _time
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from chinese_calendar import constants as _library
from sqlalchemy import select

from .models import CalendarOverride, Tenant
from .tenancy import script_tenant, tenant_scope  # noqa: F401  (the engine sets the tenant around each run)

log = logging.getLogger(__name__)

LIBRARY_HOLIDAYS: dict[date, str] = dict(_library.holidays)
LIBRARY_WORKDAYS: dict[date, str] = dict(_library.workdays)
LIBRARY_FIRST_YEAR = min(d.year for d in LIBRARY_HOLIDAYS)
LIBRARY_LAST_YEAR = max(d.year for d in LIBRARY_HOLIDAYS)
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: Longest shift (in working days) a deadline may ask for: about ten years.
MAX_WORKING_DAYS = 2600
END_OF_DAY = time(23, 59, 59)

def library_knows(year: int) -> bool:
    return LIBRARY_FIRST_YEAR <= year <= LIBRARY_LAST_YEAR


@dataclass(frozen=True)
class OfficeHours:
    """The periods of a working day that count as working hours (local wall-clock times)."""

    periods: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))

    @classmethod
    def parse(cls, text: str) -> "OfficeHours":
        """``"09:00-12:00,13:30-17:30"`` → OfficeHours; raises ValueError when malformed."""
        periods = []
        for part in text.split(","):
            start, _, end = part.strip().partition("-")
            a, b = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
            if b <= a:
                raise ValueError(f"office hours period {part.strip()!r} ends before it starts")
            periods.append((a, b))
        if not periods:
            raise ValueError("no office hours given")
        return cls(tuple(sorted(periods)))

    @property
    def seconds_per_day(self) -> int:
        return sum(_seconds(b) - _seconds(a) for a, b in self.periods)

    def seconds_between(self, a: time, b: time) -> int:
        """Office seconds between two wall-clock times of the same day."""
        lo, hi = _seconds(a), _seconds(b)
        return sum(max(0, min(hi, _seconds(pb)) - max(lo, _seconds(pa))) for pa, pb in self.periods)


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


class TenantCalendar:
    """The working-day calendar of one tenant at one snapshot of the override table."""

    def __init__(self, overrides: dict[date, bool], zone: ZoneInfo, office_hours: OfficeHours,
                 on_fallback: Callable[[int], None] | None = None):
        self.overrides = overrides
        self.zone = zone
        self.office_hours = office_hours
        self._override_years = {d.year for d in overrides}
        self._on_fallback = on_fallback
        self._prefix: dict[int, list[int]] = {}
        self._lock = threading.Lock()

    # -- days -----------------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = self.local_date(day)
        status = self.overrides.get(day)
        if status is not None:
            return status
        if LIBRARY_FIRST_YEAR <= day.year <= LIBRARY_LAST_YEAR:
            return day in LIBRARY_WORKDAYS or (day.weekday() < 5 and day not in LIBRARY_HOLIDAYS)
        if day.year not in self._override_years and self._on_fallback is not None:
            self._on_fallback(day.year)
        return day.weekday() < 5

    def knows(self, year: int) -> str:
        """``library``, ``overrides`` or ``weekends only``: where ``year``'s days come from."""
        if library_knows(year):
            return "library"
        return "overrides" if year in self._override_years else "weekends only"

    def shift(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (before it if ``n`` < 0); ``day`` itself for 0."""
        n = _check_days(n)
        step = 1 if n > 0 else -1
        left = abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
        return day

    def count(self, after: date, through: date) -> int:
        """Working days in (``after``, ``through``]; negative when ``through`` is earlier."""
        one = timedelta(days=1)
        if through >= after:
            return self._count_from(after + one, through + one)
        return -self._count_from(through + one, after + one)

    def _count_from(self, first: date, stop: date) -> int:
        """Working days in [``first``, ``stop``), through per-year prefix sums."""
        head = self._year_prefix(first.year)
        if first.year == stop.year:
            return self._year_prefix(stop.year)[stop.timetuple().tm_yday - 1] - head[first.timetuple().tm_yday - 1]
        total = head[-1] - head[first.timetuple().tm_yday - 1]
        for year in range(first.year + 1, stop.year):
            total += self._year_prefix(year)[-1]
        if stop.month == 1 and stop.day == 1:
            return total  # nothing of the stop year counts (and it need not be known)
        return total + self._year_prefix(stop.year)[stop.timetuple().tm_yday - 1]

    def _year_prefix(self, year: int) -> list[int]:
        prefix = self._prefix.get(year)
        if prefix is None:
            day = date(year, 1, 1)
            running, prefix = 0, [0]
            while day.year == year:
                running += self.is_working_day(day)
                prefix.append(running)
                day += timedelta(days=1)
            with self._lock:
                self._prefix[year] = prefix
        return prefix

    # -- instants ---------------------------------------------------------------------------
    def local_date(self, moment: datetime) -> date:
        return _aware(moment).astimezone(self.zone).date()

    def end_of_day(self, day: date) -> datetime:
        return datetime.combine(day, END_OF_DAY, self.zone).astimezone(timezone.utc)

    def start_of_day(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone).astimezone(timezone.utc)

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """End of the ``working_days``-th working day after ``start``'s day (start day not counted)."""
        return self.end_of_day(self.shift(self.local_date(start), working_days))

    def working_days_left(self, at: datetime, deadline: datetime) -> int:
        """Working days after ``at``'s day up to the deadline's day; negative once it has passed."""
        left = self.count(self.local_date(at), self.local_date(deadline))
        if left == 0 and at > deadline:
            return -1  # same day, but past 23:59:59
        return left

    def working_seconds(self, start: datetime, end: datetime) -> int:
        """Office-hours seconds on working days between two instants (0 if ``end`` <= ``start``)."""
        start, end = _aware(start).astimezone(self.zone), _aware(end).astimezone(self.zone)
        if end <= start:
            return 0
        hours = self.office_hours
        first, last = start.date(), end.date()
        if first == last:
            return hours.seconds_between(start.time(), end.time()) if self.is_working_day(first) else 0
        total = hours.seconds_between(start.time(), time.max) if self.is_working_day(first) else 0
        total += hours.seconds_between(time(0), end.time()) if self.is_working_day(last) else 0
        whole = self.count(first, last - timedelta(days=1))  # the days strictly between
        return total + whole * hours.seconds_per_day


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; give a time zone")
    return moment


def _check_days(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"a number of working days must be a whole number, not {n!r}")
    if abs(n) > MAX_WORKING_DAYS:
        raise ValueError(f"{n} working days is too far (limit {MAX_WORKING_DAYS})")
    return n


@dataclass
class _Snapshot:
    loaded_at: float
    installation: dict[date, bool] = field(default_factory=dict)
    tenants: dict[int, dict[date, bool]] = field(default_factory=dict)
    zones: dict[int, str] = field(default_factory=dict)
    calendars: dict[int | None, TenantCalendar] = field(default_factory=dict)


class WorkingCalendar:
    """Every tenant's working-day calendar: the library plus the override table, cached.

    ``session_factory`` is used only when a calendar is needed outside a unit of work (script
    helpers evaluated by the engine); use cases pass their own session.
    """

    def __init__(self, session_factory: Callable | None = None, ttl: float = 60.0,
                 office_hours: OfficeHours | None = None, default_timezone: str = DEFAULT_TIMEZONE):
        self._session_factory = session_factory
        self.ttl = ttl
        self.office_hours = office_hours or OfficeHours()
        self.default_timezone = default_timezone
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        self._warned_years: set[int] = set()

    # -- access ---------------------------------------------------------------------------
    def for_tenant(self, tenant_id: int | None, session=None) -> TenantCalendar:
        """The calendar of ``tenant_id`` (None: the installation's), reloading a stale snapshot."""
        snapshot = self._fresh(session)
        calendar = snapshot.calendars.get(tenant_id)
        if calendar is None:
            overrides = dict(snapshot.installation)
            if tenant_id is not None:
                overrides.update(snapshot.tenants.get(tenant_id, {}))
            zone = ZoneInfo(snapshot.zones.get(tenant_id, self.default_timezone) if tenant_id else self.default_timezone)
            calendar = TenantCalendar(overrides, zone, self.office_hours, self._fallback_used)
            snapshot.calendars[tenant_id] = calendar
        return calendar

    def invalidate(self) -> None:
        """Forget the snapshot: the next use reads the override table again."""
        self._snapshot = None

    def refresh(self, session=None) -> None:
        self._snapshot = self._load(session)

    def coverage(self, session=None, today: date | None = None) -> dict:
        """Which years are known, from where; and the years near today that fall back to weekends."""
        snapshot = self._fresh(session)
        override_years = sorted({d.year for d in snapshot.installation} | {
            d.year for days in snapshot.tenants.values() for d in days
        })
        installation_years = {d.year for d in snapshot.installation}
        today = today or datetime.now(timezone.utc).date()
        near = range(today.year - 1, today.year + 2)
        fallback = [y for y in near if not library_knows(y) and y not in installation_years]
        return {
            "library": "chinesecalendar",
            "library_years": [LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR],
            "override_years": override_years,
            "weekends_only_years": fallback,
        }

    # -- internals ------------------------------------------------------------------------
    def _fresh(self, session) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is None or _time.monotonic() - snapshot.loaded_at > self.ttl:
            with self._lock:
                snapshot = self._snapshot
                if snapshot is None or _time.monotonic() - snapshot.loaded_at > self.ttl:
                    snapshot = self._snapshot = self._load(session)
        return snapshot

    def _load(self, session) -> _Snapshot:
        if session is not None:
            return self._read(session.connection())
        if self._session_factory is None:
            return _Snapshot(loaded_at=_time.monotonic())
        try:
            bind = self._session_factory().get_bind()
            with bind.connect() as conn:
                return self._read(conn)
        except Exception:  # an unreadable table must not stop a case; retry soon
            log.exception("could not read the calendar overrides; using the library and weekends")
            return _Snapshot(loaded_at=_time.monotonic() - self.ttl + 5)

    def _read(self, conn) -> _Snapshot:
        snapshot = _Snapshot(loaded_at=_time.monotonic())
        rows = conn.execute(select(CalendarOverride.tenant_id, CalendarOverride.day, CalendarOverride.working))
        for tenant_id, day, working in rows:
            target = snapshot.installation if tenant_id is None else snapshot.tenants.setdefault(tenant_id, {})
            target[day] = bool(working)
        snapshot.zones = {tid: tz for tid, tz in conn.execute(select(Tenant.id, Tenant.timezone)) if tz}
        return snapshot

    def _fallback_used(self, year: int) -> None:
        if year not in self._warned_years:
            self._warned_years.add(year)
            log.warning(
                "the working-day calendar does not know %s (library %s–%s, no override rows): "
                "counting Monday to Friday; add the year's holidays with `redwall calendar import`",
                year, LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR,
            )


# -- helpers for BPMN scripts and timer expressions ----------------------------------------------
def script_helpers(calendar: WorkingCalendar) -> dict[str, Callable]:
    """``working_days(n, start=None)`` and ``is_working_day(day=None)`` for process designers.

    ``working_days(3)`` is an ISO 8601 time for ``<bpmn:timeDate>``: the end of the third
    working day after today (after ``start``'s day if given: an ISO string, date or datetime,
    e.g. a case's acceptance time kept in the case data).
    """

    def current() -> TenantCalendar:
        return calendar.for_tenant(script_tenant.get())

    def working_days(n, start=None) -> str:
        cal = current()
        moment = _moment(start, cal.zone)
        return cal.deadline(moment, _check_days(n)).astimezone(cal.zone).isoformat()

    def is_working_day(day=None) -> bool:
        cal = current()
        return cal.is_working_day(cal.local_date(_moment(day, cal.zone)))

    return {"working_days": working_days, "is_working_day": is_working_day}


def _moment(value, zone: ZoneInfo) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date or time") from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(12), zone)
    raise TypeError(f"expected a date, a time or an ISO 8601 string, not {type(value).__name__}")


# -- use cases: the override table ---------------------------------------------------------------
def parse_override_rows(lines: Iterable[str]) -> list[tuple[date, bool, str]]:
    """Rows of ``YYYY-MM-DD,holiday|workday[,name]`` (``#`` comments and blank lines ignored).

    Raises ValueError naming the first bad line.
    """
    rows = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            day = date.fromisoformat(parts[0])
            kind = parts[1].lower()
        except (ValueError, IndexError):
            raise ValueError(f"line {number}: expected 'YYYY-MM-DD,holiday|workday[,name]', got {raw.strip()!r}") from None
        if kind not in ("holiday", "workday"):
            raise ValueError(f"line {number}: the second field must be 'holiday' or 'workday', not {parts[1]!r}")
        rows.append((day, kind == "workday", ",".join(parts[2:])[:100]))
    return rows


def _may_edit(actor, installation: bool) -> None:
    from .errors import Forbidden

    if not actor.has_role("admin"):
        raise Forbidden("only admins may change the working-day calendar")
    if installation and actor.user_id != 0:
        raise Forbidden("installation-wide calendar days are set from the command line")


def set_overrides(ctx, actor, rows: list[tuple[date, bool, str]], installation: bool = False) -> int:
    """Declare days working (True) or not (False) for the actor's tenant, or for every tenant.

    Replaces existing rows for the same days; returns how many days were written.
    """
    _may_edit(actor, installation)
    tenant_id = None if installation else actor.tenant_id
    scope = CalendarOverride.tenant_id.is_(None) if installation else CalendarOverride.tenant_id == tenant_id
    with ctx.unit_of_work() as uow:
        s = uow.session
        days = [day for day, _, _ in rows]
        for start in range(0, len(days), 500):
            s.execute(CalendarOverride.__table__.delete().where(scope, CalendarOverride.day.in_(days[start:start + 500])))
        now = ctx.clock()
        for day, working, name in rows:
            s.add(CalendarOverride(tenant_id=tenant_id, day=day, working=working, name=name or "",
                                   created_at=now, created_by=actor.username))
        uow.record(
            "calendar.days_set", actor.tenant_id, actor=actor.username, at=now,
            data={"scope": "installation" if installation else "tenant",
                  "days": {d.isoformat(): ("workday" if w else "holiday") for d, w, _ in rows[:400]},
                  "count": len(rows)},
        )
        uow.commit()
    ctx.calendar.invalidate()
    return len(rows)


def remove_overrides(ctx, actor, days: list[date], installation: bool = False) -> int:
    """Forget override rows: those days follow the library (or weekends) again."""
    _may_edit(actor, installation)
    scope = CalendarOverride.tenant_id.is_(None) if installation else CalendarOverride.tenant_id == actor.tenant_id
    with ctx.unit_of_work() as uow:
        removed = uow.session.execute(
            CalendarOverride.__table__.delete().where(scope, CalendarOverride.day.in_(days))
        ).rowcount
        uow.record("calendar.days_removed", actor.tenant_id, actor=actor.username, at=ctx.clock(),
                   data={"scope": "installation" if installation else "tenant",
                         "days": [d.isoformat() for d in days[:400]], "removed": removed})
        uow.commit()
    ctx.calendar.invalidate()
    return removed


def year_view(ctx, actor, year: int, installation: bool = False) -> dict:
    """Every non-working weekday and working weekend day of ``year`` for the actor's tenant (or the
    whole installation), and where the year's data comes from."""
    if not 1900 <= year <= 2200:
        from .errors import InvalidInput

        raise InvalidInput("year out of range", {"year": ["between 1900 and 2200"]})
    with ctx.unit_of_work() as uow:
        calendar = ctx.calendar.for_tenant(None if installation else actor.tenant_id, uow.session)
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        working = calendar.is_working_day(day)
        if working != (day.weekday() < 5):
            name = LIBRARY_HOLIDAYS.get(day) or LIBRARY_WORKDAYS.get(day) or ""
            days.append({"day": day, "working": working, "name": name,
                         "source": "override" if day in calendar.overrides else "library"})
        day += timedelta(days=1)
    return {"year": year, "source": calendar.knows(year), "working_days": calendar.count(date(year - 1, 12, 31), date(year, 12, 31)),
            "exceptions": days}
