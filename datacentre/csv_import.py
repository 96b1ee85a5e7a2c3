"""Import of the data centre from CSV files: validated per row, upserted on natural keys.

``redwall import <kind> <file.csv> --tenant <code>``. One file holds one kind; import the
kinds in this order, since rows refer to earlier kinds by their keys:
grid_cells → buildings → houses → people → vehicles, parking_spaces, organisations, certificates.

Files are UTF-8 (a byte-order mark, as Excel writes it, is fine) or GB 18030/GBK; the first
line names the columns. ``*`` marks a required column; a column left out of the file keeps
what the registry holds (on update) or takes the default (on insert); an empty cell clears.

=================  =============================================================================
kind               columns (key first)
=================  =============================================================================
grid_cells         code*, name, community, lat, lon
buildings          code*, kind* (courtyard|apartment|office|public), address*, grid_code*, name,
                   lat, lon, floors, has_parking
houses             code*, building_code*, address*, unit, area_m2
people             id_number*, name*, hukou_local*, sex, birth_date, ethnicity, phone, hukou_address,
(or residents)     house_code, household_no, relation_to_head, marital_status, disability_grade (1–4),
                   disability_kind, low_income_status, status, attr.<name> (free attributes)
vehicles           plate*, owner_id_number*, kind (car|ev|motorcycle|truck)
parking_spaces     code*, grid_code*, kind* (street|public_lot|residential|shared), capacity*, name,
                   building_code, lat, lon
organisations      credit_code*, name*, kind*, address, grid_code, legal_representative, phone
certificates       type* + number* (the key together), holder_id_number*, issued_on*, valid_from,
                   valid_until, status (valid|superseded|revoked), issued_by, issuing_case_number,
                   data.<name> (what the certificate states, e.g. data.grade)
=================  =============================================================================

Values: dates ``2024-03-01`` (also ``20240301``, ``2024/3/1``); booleans ``1/0``, ``true/false``,
``yes/no``, ``是/否``; identity numbers are checked against their GB 11643 check character,
and a given ``sex``/``birth_date`` must agree with the number (left empty, they are taken
from it); credit codes against their GB 32100 check character. ``attr.*`` (``data.*``) columns
together replace a resident's free attributes (a certificate's data). A certificate without
``valid_from`` is valid from ``issued_on``.

A row with any problem is rejected with a reason per column (a key repeated in the file is
rejected from its second row on, a reference to a key the registry lacks too); the other rows are upserted:
new keys inserted, changed rows updated, identical rows left alone, so importing the same
file twice changes nothing. The whole file is one transaction: it is applied completely
or, if anything fails (or ``strict`` is asked and some row is rejected), not at all.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable

from sqlalchemy import bindparam, select, text as sql_text, tuple_
from sqlalchemy.exc import IntegrityError

from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.models import Case
from workflows.unit_of_work import UnitOfWork

from . import identity
from .certificates import CERTIFICATE_STATUSES
from .models import Building, Certificate, GridCell, House, Organisation, ParkingSpace, Person, Vehicle

IMPORT_ROLES = ("admin",)
MAX_ROWS = 1_000_000
_CHUNK = 900  # keys per IN (...) lookup: well under SQLite's and PostgreSQL's parameter limits
# From this many keys on, one pass over the tenant's rows beats many IN (...) lookups, and it
# does not depend on planner statistics, which are stale right after a bulk load.
_WHOLE_TENANT = 5000

BUILDING_KINDS = ("courtyard", "apartment", "office", "public")
PARKING_KINDS = ("street", "public_lot", "residential", "shared")
VEHICLE_KINDS = ("car", "ev", "motorcycle", "truck")
ORGANISATION_KINDS = ("enterprise", "individual_business", "social_organisation", "public_institution", "government", "other")
SEXES = ("male", "female")
PERSON_STATUSES = ("active", "moved_out", "deceased")
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other")
MARITAL_STATUSES = ("single", "married", "divorced", "widowed")
DISABILITY_KINDS = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
LOW_INCOME_STATUSES = ("minimum_living", "low_income", "extreme_poverty")

# -- value parsers: each accepts the text of a cell or an already typed value -----------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(max_len: int) -> Callable[[Any], str]:
    def parse(value):
        value = str(value).strip()
        if len(value) > max_len:
            raise ValueError(f"at most {max_len} characters")
        if _CONTROL.search(value):
            raise ValueError("control characters are not allowed")
        return value

    return parse


def code(max_len: int = 40) -> Callable[[Any], str]:
    pattern = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")

    def parse(value):
        value = str(value).strip()
        if len(value) > max_len or not pattern.match(value):
            raise ValueError(f"a code is letters, digits, - _ . / (at most {max_len})")
        return value

    return parse


def choice(values: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value):
        value = str(value).strip().lower()
        if value not in values:
            raise ValueError(f"choose from {', '.join(values)}")
        return value

    return parse


_TRUE = {"1", "true", "yes", "y", "t", "是", "有"}
_FALSE = {"0", "false", "no", "n", "f", "否", "无"}


def boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("yes/no: 1/0, true/false, yes/no or 是/否")


def integer(low: int, high: int) -> Callable[[Any], int]:
    def parse(value):
        if isinstance(value, bool):
            raise ValueError("a whole number")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError("a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"between {low} and {high}")
        return number

    return parse


def decimal(low: float, high: float) -> Callable[[Any], float]:
    def parse(value):
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError("a number") from None
        if not math.isfinite(number) or not low <= number <= high:
            raise ValueError(f"between {low} and {high}")
        return number

    return parse


_DATE = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$")


def day(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value).strip()
    match = _DATE.match(raw)
    if not match or (raw.isdigit() and len(raw) != 8):
        raise ValueError("a date like 2024-03-01")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError(f"{raw} is not a date") from None


def id_number(value) -> str:
    try:
        return identity.validate(str(value))
    except identity.InvalidIdentityNumber as exc:
        raise ValueError(str(exc)) from None


def credit_code(value) -> str:
    try:
        return identity.validate_credit_code(str(value))
    except identity.InvalidIdentityNumber as exc:
        raise ValueError(str(exc)) from None


_PHONE = re.compile(r"^\+?\d{7,15}$")


def phone(value) -> str:
    raw = re.sub(r"[\s\-()]", "", str(value))
    if not _PHONE.match(raw):
        raise ValueError("a phone number: 7 to 15 digits")
    return raw


_PLATE = re.compile(r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{5,6}$")


def plate(value) -> str:
    raw = re.sub(r"[\s·\-.]", "", str(value)).upper()
    if not _PLATE.match(raw):
        raise ValueError("a plate like 京A12345 (province, letter, 5 or 6 letters/digits)")
    return raw


def certificate_type(value) -> str:
    raw = str(value).strip().lower()
    if not re.match(r"^[a-z][a-z0-9_]{1,39}$", raw):
        raise ValueError("a type name: lower-case letters, digits and _")
    return raw


# -- what each kind of file holds ---------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str  # the CSV column
    attr: str  # the model attribute
    parse: Callable[[Any], Any]
    required: bool = False
    blank: Any = None  # the value of an empty cell


@dataclass(frozen=True)
class Reference:
    """A column naming a row of another kind by its key, stored as that row's id."""

    name: str
    attr: str
    model: type
    key_attr: str
    parse: Callable[[Any], Any]
    required: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    key: tuple[str, ...]  # model attributes of the natural key (with tenant_id)
    columns: tuple[Column, ...]
    references: tuple[Reference, ...] = ()
    extra_prefix: str | None = None  # e.g. "attr." → a JSON column
    extra_attr: str | None = None
    finish: Callable[[dict, dict], None] | None = None  # cross-column checks: (values, errors)

    @property
    def known_columns(self) -> set[str]:
        return {c.name for c in self.columns} | {r.name for r in self.references}

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required] + [r.name for r in self.references if r.required]

    def key_columns(self) -> list[str]:
        by_attr = {c.attr: c.name for c in self.columns}
        return [by_attr[a] for a in self.key]


def _finish_person(values: dict, errors: dict) -> None:
    number = values.get("id_number")
    if number is None:
        return
    born, sex = identity.birth_date(number), identity.sex(number)
    if values.get("birth_date") not in (None, born):
        errors["birth_date"] = f"the identity number says {born.isoformat()}"
    if values.get("sex") not in (None, sex):
        errors["sex"] = f"the identity number says {sex}"
    values["birth_date"], values["sex"] = born, sex
    if values.get("disability_kind") and not values.get("disability_grade"):
        errors["disability_kind"] = "a disability kind needs a disability_grade"


def _finish_certificate(values: dict, errors: dict) -> None:
    # Without a start of its own a certificate is valid from the day it was issued.
    values["valid_from"] = values.get("valid_from") or values.get("issued_on")
    start = values.get("valid_from") or values.get("issued_on")
    if values.get("valid_until") and start and values["valid_until"] < start:
        errors["valid_until"] = "before valid_from"


_COORDS = (Column("lat", "lat", decimal(-90, 90)), Column("lon", "lon", decimal(-180, 180)))

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "grid_cells", GridCell, ("code",),
            (Column("code", "code", code(), True), Column("name", "name", text(200), blank=""),
             Column("community", "community", text(100), blank=""), *_COORDS),
        ),
        Kind(
            "buildings", Building, ("code",),
            (Column("code", "code", code(), True), Column("kind", "kind", choice(BUILDING_KINDS), True),
             Column("address", "address", text(300), True), Column("name", "name", text(200), blank=""), *_COORDS,
             Column("floors", "floors", integer(1, 200), blank=1), Column("has_parking", "has_parking", boolean, blank=False)),
            (Reference("grid_code", "grid_cell_id", GridCell, "code", code(), True),),
        ),
        Kind(
            "houses", House, ("code",),
            (Column("code", "code", code(), True), Column("address", "address", text(300), True),
             Column("unit", "unit", text(40), blank=""), Column("area_m2", "area_m2", decimal(1, 100000))),
            (Reference("building_code", "building_id", Building, "code", code(), True),),
        ),
        Kind(
            "people", Person, ("id_number",),
            (Column("id_number", "id_number", id_number, True), Column("name", "name", text(100), True),
             Column("hukou_local", "hukou_local", boolean, True), Column("sex", "sex", choice(SEXES)),
             Column("birth_date", "birth_date", day), Column("ethnicity", "ethnicity", text(20), blank=""),
             Column("phone", "phone", phone), Column("hukou_address", "hukou_address", text(300), blank=""),
             Column("household_no", "household_no", text(40)), Column("relation_to_head", "relation_to_head", choice(RELATIONS)),
             Column("marital_status", "marital_status", choice(MARITAL_STATUSES)),
             Column("disability_grade", "disability_grade", integer(1, 4)),
             Column("disability_kind", "disability_kind", choice(DISABILITY_KINDS)),
             Column("low_income_status", "low_income_status", choice(LOW_INCOME_STATUSES)),
             Column("status", "status", choice(PERSON_STATUSES), blank="active")),
            (Reference("house_code", "house_id", House, "code", code()),),
            extra_prefix="attr.", extra_attr="attributes", finish=_finish_person,
        ),
        Kind(
            "vehicles", Vehicle, ("plate",),
            (Column("plate", "plate", plate, True), Column("kind", "kind", choice(VEHICLE_KINDS), blank="car")),
            (Reference("owner_id_number", "owner_id", Person, "id_number", id_number, True),),
        ),
        Kind(
            "parking_spaces", ParkingSpace, ("code",),
            (Column("code", "code", code(), True), Column("kind", "kind", choice(PARKING_KINDS), True),
             Column("capacity", "capacity", integer(0, 100000), True), Column("name", "name", text(200), blank=""), *_COORDS),
            (Reference("grid_code", "grid_cell_id", GridCell, "code", code(), True),
             Reference("building_code", "building_id", Building, "code", code())),
        ),
        Kind(
            "organisations", Organisation, ("credit_code",),
            (Column("credit_code", "credit_code", credit_code, True), Column("name", "name", text(200), True),
             Column("kind", "kind", choice(ORGANISATION_KINDS), True), Column("address", "address", text(300), blank=""),
             Column("legal_representative", "legal_representative", text(100), blank=""), Column("phone", "phone", phone)),
            (Reference("grid_code", "grid_cell_id", GridCell, "code", code()),),
        ),
        Kind(
            "certificates", Certificate, ("type", "number"),
            (Column("type", "type", certificate_type, True), Column("number", "number", text(64), True),
             Column("issued_on", "issued_on", day, True), Column("valid_from", "valid_from", day),
             Column("valid_until", "valid_until", day), Column("status", "status", choice(CERTIFICATE_STATUSES), blank="valid"),
             Column("issued_by", "issued_by", text(100), blank="")),
            (Reference("holder_id_number", "holder_id", Person, "id_number", id_number, True),
             Reference("issuing_case_number", "issuing_case_id", Case, "number", text(40))),
            extra_prefix="data.", extra_attr="data", finish=_finish_certificate,
        ),
    )
}
ALIASES = {"residents": "people", "organizations": "organisations", "grid": "grid_cells", "parking": "parking_spaces"}


def kind_named(name: str) -> Kind:
    kind = KINDS.get(ALIASES.get(name, name))
    if kind is None:
        raise InvalidInput(f"unknown kind {name!r}", {"kind": [f"choose from {', '.join(KINDS)}"]})
    return kind


# -- the report -----------------------------------------------------------------------------------
@dataclass
class RejectedRow:
    row: int  # line of the file (the header is line 1)
    key: str
    errors: dict[str, str]


@dataclass
class ImportReport:
    kind: str
    source: str = ""
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    applied: bool = False

    def summary(self) -> dict:
        return {"kind": self.kind, "source": self.source, "rows": self.rows, "inserted": self.inserted,
                "updated": self.updated, "unchanged": self.unchanged, "rejected": len(self.rejected), "applied": self.applied}


# -- reading --------------------------------------------------------------------------------------
def decode(data: bytes | str) -> str:
    """UTF-8 (with or without BOM), else GB 18030 (a superset of GBK, what Chinese Excel writes)."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InvalidInput("the file is neither UTF-8 nor GB 18030 text") from None


def read_csv(kind: Kind, data: bytes | str) -> tuple[list[str], list[tuple[int, dict]]]:
    """The header and ``(line, row)`` pairs; a wrong header refuses the whole file."""
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidInput("the file is empty; the first line must name the columns") from None
    except csv.Error as exc:
        raise InvalidInput(f"line 1 is not CSV: {exc}") from None
    check_header(kind, header)
    rows = []
    try:
        line = reader.line_num
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"at most {MAX_ROWS} rows per file")
            if len(record) > len(header):
                rows.append((start, {"__width__": f"{len(record)} cells, the header names {len(header)}"}))
                continue
            rows.append((start, dict(zip(header, record))))
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num} is not CSV: {exc}") from None
    return header, rows


def check_header(kind: Kind, header: list[str]) -> None:
    problems = {}
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        problems["duplicate"] = duplicates
    unknown = [h for h in header if h not in kind.known_columns and not (kind.extra_prefix and h.startswith(kind.extra_prefix) and len(h) > len(kind.extra_prefix))]
    if unknown:
        problems["unknown"] = unknown
    missing = [c for c in kind.required_columns if c not in header]
    if missing:
        problems["missing"] = missing
    if problems:
        raise InvalidInput(
            f"the header does not fit a {kind.name} file", {"columns": problems, "expected": sorted(kind.known_columns)}
        )


# -- validating and upserting ------------------------------------------------------------------------
def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _validate(kind: Kind, header: set[str], raw: dict) -> tuple[dict, dict, dict]:
    """``(values, references, errors)`` of one row."""
    values, refs, errors = {}, {}, {}
    if "__width__" in raw:
        return values, refs, {"row": raw["__width__"]}
    for col in kind.columns:
        if col.name not in header:
            continue
        cell = raw.get(col.name)
        if _is_blank(cell):
            if col.required:
                errors[col.name] = "required"
            values[col.attr] = col.blank
            continue
        try:
            values[col.attr] = col.parse(cell)
        except ValueError as exc:
            errors[col.name] = str(exc)
    for ref in kind.references:
        if ref.name not in header:
            continue
        cell = raw.get(ref.name)
        if _is_blank(cell):
            if ref.required:
                errors[ref.name] = "required"
            refs[ref.name] = None
            continue
        try:
            refs[ref.name] = ref.parse(cell)
        except ValueError as exc:
            errors[ref.name] = str(exc)
    if kind.extra_prefix:
        extras = {
            name[len(kind.extra_prefix):]: str(value).strip()
            for name, value in raw.items()
            if name.startswith(kind.extra_prefix) and not _is_blank(value)
        }
        if any(name.startswith(kind.extra_prefix) for name in header):
            if any(len(v) > 500 for v in extras.values()):
                errors[kind.extra_prefix + "*"] = "at most 500 characters each"
            values[kind.extra_attr] = extras
    if kind.finish:
        kind.finish(values, errors)
    return values, refs, errors


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _unknown_reference(ref: Reference, target) -> str:
    table = ref.model.__tablename__
    if not table.startswith("dc_"):
        return f"no {table[:-1]} {target} in this tenant"
    return f"{target} is not in the registry (import the {table[3:]} first)"


def _id_map(session, tenant_id: int, ref: Reference, keys: set) -> dict:
    column = getattr(ref.model, ref.key_attr)
    if len(keys) >= _WHOLE_TENANT:
        rows = session.execute(select(column, ref.model.id).where(ref.model.tenant_id == tenant_id))
        return {key: row_id for key, row_id in rows if key in keys}
    found = {}
    for chunk in _chunks(sorted(keys)):
        rows = session.execute(select(column, ref.model.id).where(ref.model.tenant_id == tenant_id, column.in_(chunk)))
        found.update((key, row_id) for key, row_id in rows)
    return found


def _existing(session, tenant_id: int, kind: Kind, keys: list[tuple], attrs: list[str]) -> dict[tuple, dict]:
    model = kind.model
    key_cols = [getattr(model, a) for a in kind.key]
    wanted = [model.id] + [getattr(model, a) for a in attrs]
    n = len(key_cols)
    found = {}
    if len(keys) >= _WHOLE_TENANT:
        wanted_keys = set(keys)
        for row in session.execute(select(*key_cols, *wanted).where(model.tenant_id == tenant_id)):
            key = tuple(row[:n])
            if key in wanted_keys:
                found[key] = {"id": row[n], **dict(zip(attrs, row[n + 1:]))}
        return found
    for chunk in _chunks(keys):
        condition = key_cols[0].in_([k[0] for k in chunk]) if n == 1 else tuple_(*key_cols).in_(chunk)
        for row in session.execute(select(*key_cols, *wanted).where(model.tenant_id == tenant_id, condition)):
            found[tuple(row[:n])] = {"id": row[n], **dict(zip(attrs, row[n + 1:]))}
    return found


def upsert_rows(
    uow: UnitOfWork,
    tenant_id: int,
    kind: Kind,
    header: list[str],
    rows: Iterable[tuple[int, dict]],
    report: ImportReport,
    now: datetime,
) -> None:
    """Validate ``rows`` and upsert the good ones in the caller's unit of work (no commit)."""
    s = uow.session
    header_set = set(header)
    key_names = kind.key_columns()
    parsed: list[tuple[int, dict, dict, tuple]] = []
    first_line: dict[tuple, int] = {}
    for line, raw in rows:
        report.rows += 1
        values, refs, errors = _validate(kind, header_set, raw)
        key = tuple(values.get(a) for a in kind.key)
        shown_key = "/".join(str(raw.get(n, "") or "").strip() for n in key_names)
        if not errors and key in first_line:
            errors[key_names[-1]] = f"also in row {first_line[key]}; a key may appear once per file"
        if errors:
            report.rejected.append(RejectedRow(line, shown_key, errors))
            continue
        first_line[key] = line
        parsed.append((line, values, refs, key))

    # References: one lookup per referenced kind, then rows naming unknown keys are rejected.
    maps = {}
    for ref in kind.references:
        wanted = {refs[ref.name] for _, _, refs, _ in parsed if refs.get(ref.name) is not None}
        maps[ref.name] = _id_map(s, tenant_id, ref, wanted) if wanted else {}
    good = []
    for line, values, refs, key in parsed:
        errors = {}
        for ref in kind.references:
            if ref.name not in refs:
                continue
            target = refs[ref.name]
            if target is None:
                values[ref.attr] = None
            elif target in maps[ref.name]:
                values[ref.attr] = maps[ref.name][target]
            else:
                errors[ref.name] = _unknown_reference(ref, target)
        if errors:
            report.rejected.append(RejectedRow(line, "/".join(str(k) for k in key), errors))
            continue
        good.append((values, key))
    if not good:
        return

    attrs = sorted({a for values, _ in good for a in values} - set(kind.key))
    existing = _existing(s, tenant_id, kind, [k for _, k in good], attrs)
    inserts, updates = [], []
    for values, key in good:
        current = existing.get(key)
        if current is None:
            inserts.append({**values, "tenant_id": tenant_id, "updated_at": now})
        elif any(current[a] != values[a] for a in attrs):
            updates.append({**{f"b_{a}": values[a] for a in attrs}, "b_id": current["id"], "b_updated_at": now})
        else:
            report.unchanged += 1
    table = kind.model.__table__
    if inserts:
        if "created_at" in table.c:
            for row in inserts:
                row["created_at"] = now
        s.execute(table.insert(), inserts)
        report.inserted += len(inserts)
        if len(inserts) >= _WHOLE_TENANT and s.get_bind().dialect.name == "postgresql":
            # Fresh planner statistics (ANALYZE sees this transaction's rows), so the lookups
            # and searches that follow use the indexes instead of scanning.
            s.execute(sql_text(f"ANALYZE {table.name}"))
    if updates:
        statement = (
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values({a: bindparam(f"b_{a}") for a in [*attrs, "updated_at"]})
        )
        s.execute(statement, updates)
        report.updated += len(updates)


def import_csv(
    ctx: EngineContext,
    actor: Actor,
    kind_name: str,
    data: bytes | str,
    source: str = "",
    strict: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import one CSV file of ``kind_name`` into the caller's tenant (admins only).

    Returns the report: counts and every rejected row with a reason per column. Nothing is
    written on ``dry_run``, or with ``strict`` when any row is rejected.
    """
    if not actor.has_role(*IMPORT_ROLES):
        raise Forbidden("only administrators import registry data")
    kind = kind_named(kind_name)
    header, rows = read_csv(kind, data)
    report = ImportReport(kind=kind.name, source=source)
    with ctx.unit_of_work() as uow:
        now = ctx.clock()
        try:
            upsert_rows(uow, actor.tenant_id, kind, header, rows, report, now)
            uow.session.flush()
        except IntegrityError as exc:
            # Our own checks ran first, so this is a concurrent import of the same keys.
            raise Conflict("another import wrote the same keys at the same time; run the import again") from exc
        if dry_run or (strict and report.rejected):
            return report
        uow.record("datacentre.imported", actor.tenant_id, actor=actor.username, at=now, data=report.summary() | {"applied": True})
        uow.commit()
        report.applied = True
    return report
