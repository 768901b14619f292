"""Operator text: invisible purposes, control and bidi characters (issue 8, item 9)."""

from __future__ import annotations

import pytest

from fortify.accountability.policy import check_purpose
from fortify.errors import InvalidInput, PurposeRequired, UnsafeText
from fortify.gallery.references import normalize_reference, optout_key


@pytest.mark.parametrize(
    "purpose",
    ["\u200b" * 4, "\u200b\u200c\u200d\ufeff", "  \u2060\u2060\u2060  ", "a\u200bb", "\u00a0" * 5],
)
def test_invisible_purposes_are_refused(purpose: str) -> None:
    with pytest.raises(PurposeRequired, match="visible"):
        check_purpose(purpose, None)


@pytest.mark.parametrize(
    ("purpose", "case_id", "codepoint"),
    [
        ("theft\x00 inquiry", None, "U+0000"),
        ("theft \x1b[31m inquiry", None, "U+001B"),
        ("theft \u202e yriuqni", None, "U+202E"),
        ("theft inquiry", "case\u2066 42", "U+2066"),
        ("theft inquiry", "case\x07", "U+0007"),
    ],
)
def test_control_and_bidi_characters_refused(
    purpose: str, case_id: str | None, codepoint: str
) -> None:
    with pytest.raises(UnsafeText) as exc:
        check_purpose(purpose, case_id)
    assert exc.value.code == "unsafe_text" and exc.value.details["codepoint"] == codepoint
    assert isinstance(exc.value, InvalidInput)  # a 422 with a stable code


def test_normal_purpose_is_normalised_not_refused() -> None:
    req = check_purpose("  Theft\u200b inquiry\nat the station ", " \uff23ASE-1 ")
    assert req.purpose == "Theft inquiry\nat the station" and req.case_id == "CASE-1"
    assert check_purpose("abc", "\u200b").case_id is None


def test_references_normalised_and_opt_out_key() -> None:
    assert normalize_reference(" R\u200b-7205 ") == "R-7205"
    with pytest.raises(UnsafeText):
        normalize_reference("7205\u202e")
    with pytest.raises(InvalidInput):
        normalize_reference("\u200b\u200b")
    same = {optout_key(r) for r in ("7205", "07205", "72\u200b05", "\uff17\uff12\uff10\uff15")}
    assert same == {"7205"}
    assert optout_key("AB-12") == optout_key("ab12") != optout_key("ab13")
