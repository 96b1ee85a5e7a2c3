"""The window's acceptance decision is checked whole before anything is written."""
from __future__ import annotations

import pytest

from workflows.errors import InvalidInput
from desks.window import acceptance_data


def test_accept_needs_nothing_more():
    assert acceptance_data("accept") == {"acceptance": "accept"}
    assert acceptance_data("accept", delivery_method="door") == {"acceptance": "accept", "delivery_method": "door"}


def test_a_refusal_needs_its_reason():
    assert acceptance_data("refuse", refusal_reason=" 非本街道户籍 ")["refusal_reason"] == "非本街道户籍"
    for reason in (None, "", "   "):
        with pytest.raises(InvalidInput) as raised:
            acceptance_data("refuse", refusal_reason=reason)
        assert set(raised.value.errors["decision"]) == {"refusal_reason"}
    with pytest.raises(InvalidInput):
        acceptance_data("refuse", refusal_reason="理" * 2001)


def test_the_one_time_notice_lists_everything_missing():
    data = acceptance_data("supplement", missing_materials=["户口簿", " ", "照片 "])
    assert data == {"acceptance": "supplement", "missing_materials": ["户口簿", "照片"]}
    for missing in (None, [], ["", "  "]):
        with pytest.raises(InvalidInput) as raised:
            acceptance_data("supplement", missing_materials=missing)
        assert "missing_materials" in raised.value.errors["decision"]
    with pytest.raises(InvalidInput):
        acceptance_data("supplement", missing_materials=["x" * 201])
    with pytest.raises(InvalidInput):
        acceptance_data("supplement", missing_materials=["材料"] * 51)


def test_unknown_decisions_and_delivery_methods_are_named():
    with pytest.raises(InvalidInput) as raised:
        acceptance_data("maybe", delivery_method="drone")
    assert set(raised.value.errors["decision"]) == {"acceptance", "delivery_method"}
