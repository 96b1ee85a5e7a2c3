"""Personal data (个人信息, GB/T 35273-2020): what it is, how it is masked, who may read it.

This module is the one owner of the policy; every use case that lets data leave the server
(case and task views, case lists, the trail, incidents, prefill, the resident registry) masks
through it, and the web pages call the same use cases.

**What is personal data** — classified by what a value *contains*, at any depth of a dict:

* any string containing a valid GB 11643 identity number (18 characters, province, date, check
  character), also inside a longer value — a disability certificate number is the identity
  number plus two digits — or inside free text (``申请人110102196604111942已有证``);
* mobile phone numbers (11 digits, ``1[3-9]…``) and landline numbers (``010-66012345``);
* any other run of 12 or more digits (bank card and account numbers, other long numbers
  derived from a person);
* house-level address parts (``3号院2号楼1单元501``) in any text;
* by key, whatever the content: ``id_number`` / ``*_id_number`` (identity numbers),
  keys containing ``phone`` or ``mobile``, ``bank``, ending in ``account`` (``account_no``…),
  ``address``, and ``birth``
  (birth dates).

**Masking cannot be undone**

* identity number → region code and last four (``110102********1234``), wherever it occurs
  in a value; the rest of the value stays (``110102********194223``);
* phone → first three and last four digits (``138****5678``); landline → area code and the
  last two digits;
* long numbers and account keys → ``*`` except the last four digits;
* addresses → the street part is kept, house, building, unit and room become ``****``;
* birth dates → the year only (``1966-**-**``); the resident registry answers ``age`` and no
  birth date. With the year and the masked identity number about 33 numbers remain possible
  (365 days, one in eleven passes the check character), and none can be confirmed without
  the registry, which refuses the same roles.

**Who has the right** (:func:`may_read_personal_data`): intake (the window verifies
identities) and admins anywhere in their tenant; clerks and supervisors while one of the case's
open tasks is theirs or ready in their group. Everyone else — auditors, designers, other
departments' clerks — gets the masked form. Every full read is a ``pii.read`` trail event
(which fields, never values). Designers read only the cases they started themselves (their test
cases), masked like everyone without the right (:func:`may_read_case`).

**The trail** hashes the masked form only (:func:`mask_personal_data` before hashing): the
append-only table never holds a full value. **Incident messages** are masked for every reader.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterable

from .identity_numbers import id_number_problem, mask_id_number

PII_ROLES = ("intake", "admin")
MASK = "****"

# A run of digits (possibly with one X/x: the identity number's check character) long enough
# to hold personal data.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{7,}(?:[Xx][0-9]*)?(?![0-9])")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"(?<![0-9])(0[1-9][0-9]{1,2})[- ]?([0-9]{5,6})([0-9]{2})(?![0-9])")
# House-level address parts: numbers of courtyards, buildings, units, floors, rooms.
_HOUSE_PART = re.compile(r"[0-9]+(?:号院|号楼|号|单元|室|层|栋|幢|户|院)(?:[0-9]+(?:号院|号楼|号|单元|室|层|栋|幢|户|院)?|-[0-9]+)*")
# Cheap pre-filter on canonical JSON text: could anything in it be personal data?
MAY_HOLD = re.compile(r"[0-9]{7}|[0-9]号|单元|phone|mobile|account|bank_card|address|birth|id_number")


# -- classification by key -------------------------------------------------------------------
def key_kind(key: Any) -> str | None:
    """The kind of personal data a key names, or None."""
    if not isinstance(key, str):
        return None
    k = key.lower()
    if k == "id_number" or k.endswith("_id_number"):
        return "id_number"
    if "birth" in k:
        return "birth_date"
    if "phone" in k or "mobile" in k:
        return "phone"
    if "bank" in k or k.endswith("account") or "account_n" in k or "card_number" in k:
        return "account"
    if "address" in k:
        return "address"
    return None


# -- masking ------------------------------------------------------------------------------------
def _is_id_number(text: str) -> bool:
    return text[17] in "0123456789Xx" and id_number_problem(text) is None


def _mask_digit_run(run: str) -> str:
    digits = run.upper()
    for i in range(0, len(digits) - 17):
        window = digits[i:i + 18]
        if window[:17].isdigit() and _is_id_number(window):
            return run[:i] + mask_id_number(window) + _mask_digit_run_tail(run[i + 18:])
    if _MOBILE.match(run):
        return run[:3] + "****" + run[-4:]
    if len(run) >= 12:
        return "*" * (len(run) - 4) + run[-4:]
    return run


def _mask_digit_run_tail(rest: str) -> str:
    return _mask_digit_run(rest) if len(rest) >= 12 else rest


def mask_text(text: str) -> str:
    """``text`` with every identity number, phone, long number and house address part masked."""
    if len(text) < 7 and "号" not in text:
        return text
    out = _DIGIT_RUN.sub(lambda m: _mask_digit_run(m.group(0)), text)
    out = _LANDLINE.sub(lambda m: m.group(1) + "-" + "*" * len(m.group(2)) + m.group(3), out)
    out = _HOUSE_PART.sub(MASK, out)
    return out


def mask_phone(number: str | None) -> str | None:
    if not number:
        return number
    text = str(number)
    if len(text) < 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def mask_address(address: str | None) -> str | None:
    """The street part stays; from the first number on, ``****``."""
    if not address:
        return address
    text = str(address)
    match = re.search(r"[0-9０-９]", text)
    if match:
        return text[:match.start()] + MASK
    return text[:6] + MASK if len(text) > 6 else text


def mask_birth_date(value: Any) -> Any:
    if value is None or value == "":
        return value
    text = str(value)
    match = re.match(r"^([0-9]{4})", text)
    return f"{match.group(1)}-**-**" if match else "*" * len(text)


def _mask_by_kind(kind: str, value: str) -> str:
    if kind == "id_number":
        if "*" in value:
            return value
        return mask_id_number(value) if len(value) == 18 else mask_text(value) if mask_text(value) != value else mask_id_number(value)
    if kind == "phone":
        return mask_text(value) if mask_text(value) != value else mask_phone(value)
    if kind == "account":
        digits = re.sub(r"[^0-9]", "", value)
        return "*" * max(len(digits) - 4, 4) + digits[-4:] if len(digits) >= 8 else "*" * len(value)
    if kind == "address":
        return mask_address(value)
    if kind == "birth_date":
        return mask_birth_date(value)
    return mask_text(value)


def mask_personal_data(data: Any) -> tuple[Any, list[str]]:
    """A copy of ``data`` with all personal data masked, and the paths that were masked.

    Containers are copied only where something changed, so data without personal data costs
    one walk and no allocation.
    """
    masked: list[str] = []
    return _mask(data, "", masked, None), masked


def _mask(value: Any, path: str, masked: list[str], kind: str | None) -> Any:
    if isinstance(value, str):
        if kind and value and "*" not in value:
            new = _mask_by_kind(kind, value)
        else:
            new = mask_text(value)
        if new != value:
            masked.append(path or "value")
            return new
        return value
    if isinstance(value, dict):
        out = None
        for key, item in value.items():
            new = _mask(item, f"{path}.{key}" if path else str(key), masked, key_kind(key) or kind)
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out
    if isinstance(value, (list, tuple)):
        out = None
        for i, item in enumerate(value):
            new = _mask(item, f"{path}[{i}]", masked, kind)
            if new is not item:
                if out is None:
                    out = list(value)
                out[i] = new
        return value if out is None else out
    if isinstance(value, int) and not isinstance(value, bool) and kind in ("phone", "account", "id_number"):
        masked.append(path or "value")
        return _mask_by_kind(kind, str(value))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**11:
        text = mask_text(str(value))
        if text != str(value):
            masked.append(path or "value")
            return text
    if isinstance(value, date) and kind == "birth_date":
        masked.append(path or "value")
        return mask_birth_date(value.isoformat())
    return value


def full_value_paths(data: Any) -> list[str]:
    """Paths of unmasked personal data in ``data`` (what a full view would reveal)."""
    return mask_personal_data(data)[1]


# -- who may read -------------------------------------------------------------------------------
def has_pii_role(actor) -> bool:
    """Roles that read full personal data anywhere in their tenant (the resident registry too)."""
    return actor.has_role(*PII_ROLES)


def may_read_personal_data(actor, open_tasks: Iterable = ()) -> bool:
    """May ``actor`` read the full personal data of a case whose open tasks are ``open_tasks``?

    Intake clerks and admins may; a clerk or supervisor may while one of the case's open tasks
    is assigned to them or is ready in one of their groups. Nobody else.
    """
    if has_pii_role(actor):
        return True
    if not actor.has_role("clerk", "supervisor"):
        return False
    for task in open_tasks:
        if task.assignee == actor.username:
            return True
        if task.assignee is None and task.group is not None and task.group in actor.groups:
            return True
    return False


CASE_READ_ROLES = ("intake", "clerk", "supervisor", "auditor", "admin")


def may_read_case(actor, started_by: str | None) -> bool:
    """Every role of the tenant reads its cases (masked without the right), except designers:
    they read their own test cases only."""
    if actor.has_role(*CASE_READ_ROLES):
        return True
    return actor.has_role("designer") and started_by == actor.username


def personal_data_view(uow, actor, data: Any, *, tenant_id: int, case_id: int | None, open_tasks: Iterable = (),
                       via: str, at=None) -> Any:
    """``data`` as ``actor`` may see it: in full if entitled, masked otherwise.

    Revealing a full value records a ``pii.read`` event (which fields, never the values) in
    ``uow``; the caller commits it with its read.
    """
    masked, paths = mask_personal_data(data)
    if not paths:
        return data
    if not may_read_personal_data(actor, open_tasks):
        return masked
    uow.record("pii.read", tenant_id, case_id=case_id, actor=actor.username, at=at, data={"fields": paths, "via": via})
    return data


def mask_case_view(view: dict) -> dict:
    """A case view (``workflows.cases.case_view``) with its data masked: what a page shows to
    anyone; :func:`workflows.cases.get_case` reveals the data to those entitled."""
    view = dict(view)
    view["data"] = mask_personal_data(view.get("data") or {})[0]
    return view
