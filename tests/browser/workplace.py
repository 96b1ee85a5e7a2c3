"""Shared steps of the web workplace's browser tests: residents to apply for, and the
interaction counter of the acceptance-time measurement."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from sqlalchemy import exists, select

CARE_SUBSIDY = "severe_disability_care_subsidy"

# Keystroke-Level Model (Card, Moran & Newell; the operator times of Kieras's KLM guide):
# a skilled typist's keystroke, pointing with the mouse, and the mental preparation before
# each field or choice. A Chinese character typed through a pinyin input method costs about
# three keystrokes (syllable + choice); digits and Latin letters one each.
KLM_KEYSTROKE = 0.28
KLM_POINT = 1.1
KLM_MENTAL = 1.35
PINYIN_KEYS_PER_HANZI = 3


def keystrokes(text: str) -> int:
    return sum(PINYIN_KEYS_PER_HANZI if "\u4e00" <= ch <= "\u9fff" else 1 for ch in text)


@dataclass
class Interactions:
    """Counts what a clerk does: clicks, typed fields (and their keystrokes), submitting keys."""

    page: object
    clicks: int = 0
    typed_fields: int = 0
    keys: int = 0
    typed_keystrokes: int = 0
    started: float = field(default_factory=time.perf_counter)
    log: list[str] = field(default_factory=list)

    def click(self, selector: str) -> None:
        self.page.locator(selector).first.click()
        self.clicks += 1
        self.log.append(f"click {selector}")

    def type(self, selector: str, text: str) -> None:
        self.page.locator(selector).first.fill(text)
        self.typed_fields += 1
        self.typed_keystrokes += keystrokes(text)
        self.log.append(f"type {selector} ({len(text)} characters)")

    def select(self, selector: str, value: str) -> None:
        self.page.locator(selector).first.select_option(value)
        self.clicks += 1
        self.log.append(f"choose {value} in {selector}")

    def press(self, selector: str, key: str) -> None:
        self.page.locator(selector).first.press(key)
        self.keys += 1
        self.log.append(f"press {key} in {selector}")

    @property
    def total(self) -> int:
        return self.clicks + self.typed_fields + self.keys

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def klm_seconds(self) -> float:
        """A person's time by the Keystroke-Level Model (the browser's own time says nothing of it)."""
        return round(self.total * KLM_MENTAL + self.clicks * KLM_POINT
                     + (self.typed_keystrokes + self.keys) * KLM_KEYSTROKE, 1)

    def figures(self) -> dict:
        return {"interactions": self.total, "clicks": self.clicks, "typed_fields": self.typed_fields,
                "submitting_keys": self.keys, "typed_keystrokes": self.typed_keystrokes,
                "browser_seconds": round(self.elapsed, 2), "klm_seconds": self.klm_seconds, "steps": self.log}


_GIVEN: set[int] = set()  # residents handed to a test already (each test applies for its own)


def care_subsidy_applicants(app, count: int = 1, from_the_end: bool = False) -> list[dict]:
    """Residents with a disability certificate of grade 1 or 2 and no case yet (eligible, not applied).

    ``from_the_end``: the highest ids, leaving the first ones (whose names the window's search
    lists among its first 20) to the tests that search by name."""
    from datacentre.models import Certificate, Person
    from server.extensions import db
    from workflows.models import Case

    with app.app_context():
        rows = db.session.execute(
            select(Person.id, Person.name, Person.id_number)
            .where(Person.disability_grade.in_((1, 2)), Person.hukou_local.is_(True),
                   exists().where(Certificate.holder_id == Person.id, Certificate.type == "disability_certificate"),
                   ~exists().where(Case.applicant_id == Person.id), Person.id.not_in(_GIVEN or {0}))
            .order_by(Person.id.desc() if from_the_end else Person.id).limit(count)
        ).all()
        db.session.remove()
    assert len(rows) == count, "the demo data has too few residents for the care subsidy"
    _GIVEN.update(r.id for r in rows)
    return [{"id": r.id, "name": r.name, "id_number": r.id_number} for r in rows]


def case_id_from(url: str) -> int:
    found = re.search(r"/cases/(\d+)", url)
    assert found, url
    return int(found.group(1))
