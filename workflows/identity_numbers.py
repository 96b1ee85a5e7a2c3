"""Resident identity numbers (居民身份证号码, GB 11643-1999): validation, masking, who may read them.

A number has 18 characters: a 6-digit address code, the birth date (YYYYMMDD), a 3-digit
sequence and a check character computed over the first 17 digits (ISO 7064 MOD 11-2).

Where numbers are recognised (one rule for validation and for masking):

* **by field name**: a key ``id_number`` or ending in ``_id_number`` (``applicant_id_number``,
  ``guardian_id_number``) anywhere in a data dict, at any depth;
* **by form schema**: a JSON Schema property with ``"format": "id-number"``
  (:data:`FORMAT_CHECKER` checks it when a form is validated);
* **by content**, for masking: :mod:`workflows.personal_data` (the one policy on personal
  data) finds numbers inside any value, free text included.

Masked form: the address code and the last four characters stay, the birth date and the
rest become ``*`` (``110102********1234``), enough for a clerk to recognise a person
without exposing the number. Who may read them: :mod:`workflows.personal_data`.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterable

from jsonschema import FormatChecker

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"  # indexed by (weighted sum mod 11)
FORMAT = "id-number"
_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$")
# Province-level address codes (the first two digits): 11 Beijing … 65 Xinjiang, 71 Taiwan,
# 81 Hong Kong, 82 Macao (residence permits), 83 (Taiwan residents' permits, 2018+).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)


def check_character(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def id_number_problem(value: Any, today: date | None = None) -> str | None:
    """Why ``value`` is not a valid identity number, or None if it is one."""
    if not isinstance(value, str):
        return "an identity number is a string of 18 characters"
    number = value.strip().upper()
    if len(number) != 18:
        return "an identity number has 18 characters"
    if not _SHAPE.match(number):
        return "an identity number is 17 digits followed by a digit or X"
    if number[:2] not in _PROVINCES:
        return f"{number[:2]} is not a province code"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "the birth date in the number is not a date"
    if born.year < 1800 or born > (today or date.today()):
        return "the birth date in the number is not plausible"
    if check_character(number[:17]) != number[17]:
        return "the check digit does not match (GB 11643)"
    return None


def is_valid_id_number(value: Any) -> bool:
    return id_number_problem(value) is None


def normalise_id_number(value: str) -> str:
    """The stored form: trimmed, with an upper-case X."""
    return value.strip().upper()


def mask_id_number(value: str) -> str:
    """``110102199001011234`` → ``110102********1234`` (other lengths keep at most 6 + 4)."""
    text = str(value)
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and "*" in value


def is_id_number_key(key: Any) -> bool:
    return isinstance(key, str) and (key == "id_number" or key.endswith("_id_number"))


def id_number_problems(data: Any, path: str = "") -> dict[str, list[str]]:
    """Invalid numbers under identity-number keys (``id_number``, ``*_id_number``), by path.

    Empty or null values are left to the form's ``required`` rules.
    """
    problems: dict[str, list[str]] = {}
    _check(data, path, problems, False)
    return problems


def _check(value: Any, path: str, problems: dict, by_key: bool) -> None:
    if by_key and value not in (None, ""):
        if isinstance(value, list):
            for i, item in enumerate(value):
                _check(item, f"{path}[{i}]", problems, True)
            return
        problem = id_number_problem(value)
        if problem:
            problems.setdefault(path or "data", []).append(problem)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check(item, f"{path}.{key}" if path else str(key), problems, is_id_number_key(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]", problems, False)


# Only this format is asserted: other "format" keywords in forms stay annotations, as before.
FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks(FORMAT)
def _id_number_format(value) -> bool:
    # JSON Schema formats apply to strings only; a wrong type is the "type" keyword's business.
    return not isinstance(value, str) or is_valid_id_number(value)
