"""The message catalogues are complete and compiled: no clerk reads an untranslated English id.

For each domain (``messages``: server/ and its templates; ``forms``: the form problems and
labels, FORMS_SOURCES in the Makefile) the strings the code marks are extracted in memory the
way ``make translations`` does, and every catalogue under server/translations/<locale>/ must
translate each of them (not fuzzy, not empty). Each ``.po`` is compiled in memory and must equal
the committed ``.mo`` that Flask-Babel loads (so nobody forgets ``make translations``), and its
placeholders must agree with the message ids.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "server" / "translations"
DOMAINS = ("messages", "forms")
# the Makefile's BABEL_KEYWORDS on top of Babel's defaults (_, gettext, ngettext, N_, pgettext …)
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2),
            "lazy_pgettext": ((1, "c"), 2)}


def forms_sources() -> list[Path]:
    """FORMS_SOURCES of the Makefile: one list for `make translations` and for this test."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^FORMS_SOURCES\s*:?=\s*(.+)$", makefile, re.MULTILINE)
    assert match, "the Makefile defines no FORMS_SOURCES"
    return [REPO / name for name in match.group(1).replace("$(wildcard", "").replace(")", "").split()]


def extracted(domain: str) -> dict[tuple[str, str | None], str]:
    """(message id, context) -> where it is used, as `make translations` extracts the domain."""
    found: dict[tuple[str, str | None], str] = {}

    def add(filename: str, lineno: int, message, context) -> None:
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault((msgid, context), f"{filename}:{lineno}")

    if domain == "forms":
        for path in forms_sources():
            if path.exists():
                for lineno, message, _comments, context in extract_from_file("python", str(path), keywords=KEYWORDS):
                    add(path.relative_to(REPO).as_posix(), lineno, message, context)
    else:
        with open(TRANSLATIONS / "babel.cfg", encoding="utf-8") as cfg:
            method_map, options_map = parse_mapping_cfg(cfg)
        for filename, lineno, message, _comments, context in extract_from_dir(
                str(REPO / "server"), method_map, options_map, keywords=KEYWORDS):
            add(f"server/{filename}", lineno, message, context)
    return found


def shown(path: Path) -> str:
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def catalogues() -> list[Path]:
    return sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))


def test_the_forms_sources_are_not_extracted_into_messages():
    messages = {where.split(":")[0] for where in extracted("messages").values()}
    forms = {p.relative_to(REPO).as_posix() for p in forms_sources()}
    assert not messages & forms


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_marked_string_has_a_chinese_translation(domain):
    used = extracted(domain)
    po = TRANSLATIONS / "zh" / "LC_MESSAGES" / f"{domain}.po"
    if not used:
        return
    assert po.exists(), f"{len(used)} strings are marked for the {domain} domain but {po.relative_to(REPO)} " \
                        "does not exist: run `make translations` and translate them"
    check_catalogue_covers(po, used)


def check_catalogue_covers(po: Path, used: dict) -> None:
    with open(po, "rb") as f:
        catalogue = read_po(f)
    problems = []
    for (msgid, context), where in sorted(used.items(), key=lambda item: item[1]):
        message = catalogue.get(msgid, context=context)
        strings = [] if message is None else (list(message.string) if isinstance(message.string, (tuple, list))
                                               else [message.string])
        if message is None:
            problems.append(f"{where}: {msgid!r} is not in the catalogue (run `make translations`)")
        elif message.fuzzy:
            problems.append(f"{where}: {msgid!r} is fuzzy (check the guess, then remove the fuzzy flag)")
        elif not all(strings):
            problems.append(f"{where}: {msgid!r} has no translation")
    assert not problems, f"{shown(po)}: {len(problems)} problem(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("po", catalogues(), ids=lambda p: p.relative_to(TRANSLATIONS).as_posix())
def test_each_catalogue_is_compiled_and_its_placeholders_agree(po):
    with open(po, "rb") as f:
        catalogue = read_po(f)
    assert not catalogue.fuzzy, f"{po.name}'s header is marked fuzzy: pybabel compile would skip the whole file"
    errors = [f"{message.id!r}: {'; '.join(map(str, errs))}" for message, errs in catalogue.check()]
    assert not errors, f"{po.relative_to(REPO)}:\n" + "\n".join(errors)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)  # what `pybabel compile` writes (fuzzy entries left out)
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo.relative_to(REPO)} is missing: run `make translations`"
    assert mo.read_bytes() == compiled.getvalue(), f"{mo.relative_to(REPO)} is older than its .po: run `make translations`"


def test_the_checks_catch_a_missing_a_fuzzy_and_an_empty_translation(tmp_path):
    po = tmp_path / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  '#, fuzzy\nmsgid "Claim"\nmsgstr "认领"\n\nmsgid "Submit"\nmsgstr ""\n\n'
                  'msgid "Inbox"\nmsgstr "待办"\n', encoding="utf-8")
    used = {("Claim", None): "a.py:1", ("Submit", None): "a.py:2", ("Inbox", None): "a.py:3",
            ("Sign out", None): "a.py:4"}
    with pytest.raises(AssertionError) as caught:
        check_catalogue_covers(po, used)
    text = str(caught.value)
    assert "3 problem(s)" in text and "'Claim' is fuzzy" in text and "'Submit' has no translation" in text
    assert "'Sign out' is not in the catalogue" in text and "Inbox" not in text
