"""Identity numbers of residents (GB 11643-1999) and credit codes of organisations (GB 32100-2015).

Person numbers are checked and masked by the engine's :mod:`workflows.identity_numbers`
(one rule everywhere: registry, forms, trail); this module adds what the registry needs
on top: the birth date and sex a number encodes, and organisations' credit codes.
"""
from __future__ import annotations

from datetime import date

from workflows import identity_numbers


class InvalidIdentityNumber(ValueError):
    """The text is not a valid identity number or credit code; the message says why (for a clerk)."""


check_character = identity_numbers.check_character


def normalize(number: str) -> str:
    return (number or "").strip().upper()


def validate(number: str, today: date | None = None) -> str:
    """The normalised number (upper-case ``X``), or :class:`InvalidIdentityNumber` saying why."""
    problem = identity_numbers.id_number_problem(number, today)
    if problem:
        raise InvalidIdentityNumber(problem)
    return identity_numbers.normalise_id_number(number)


def is_valid(number: str, today: date | None = None) -> bool:
    return identity_numbers.id_number_problem(number, today) is None


def birth_date(number: str) -> date:
    """The birth date encoded in a valid number."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex(number: str) -> str:
    """``male`` or ``female`` from the parity of the sequence number (17th character)."""
    return "male" if int(number[16]) % 2 else "female"


def mask(number: str | None) -> str | None:
    """``110102********1234``: region code and last four kept, the birth date and sequence hidden."""
    return identity_numbers.mask_id_number(number) if number else number


# -- unified social credit codes of organisations (统一社会信用代码, GB 32100-2015) -------------
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def credit_code_check_character(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """The normalised 18-character credit code, or :class:`InvalidIdentityNumber` saying why."""
    value = normalize(code)
    if len(value) != 18:
        raise InvalidIdentityNumber(f"a unified social credit code has 18 characters, this has {len(value)}")
    bad = sorted({c for c in value if c not in _USCC_CHARS})
    if bad:
        raise InvalidIdentityNumber(f"characters {''.join(bad)} do not occur in credit codes")
    expected = credit_code_check_character(value[:17])
    if value[17] != expected:
        raise InvalidIdentityNumber(f"check character is {value[17]}, the code gives {expected}")
    return value
