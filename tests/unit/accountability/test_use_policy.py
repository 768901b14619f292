"""Use policy as data: the shipped policy parses, and each rule refuses what it should."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fortify.accountability.use_policy import DEFAULT_POLICY, load_policy, parse_policy
from fortify.errors import (
    CaseIdRequired,
    ConfigError,
    InvalidInput,
    PurposeProhibited,
    SearchNotAllowedHere,
)

NOON = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def test_default_policy_parses_with_digest_and_version() -> None:
    p = load_policy(None)
    assert p.digest == hashlib.sha256(DEFAULT_POLICY.read_bytes()).hexdigest()
    assert p.version and p.default_category in p.categories
    assert p.categories["intelligence-lead"].requires_approval
    assert p.categories["criminal-investigation"].requires_case_id
    assert p.searches_per_hour > 0
    pub = p.public()
    assert pub["digest"] == p.digest and {c["id"] for c in pub["categories"]} == set(p.categories)


def test_free_text_only_maps_to_the_default_category() -> None:
    p = load_policy(None)
    assert p.category(None).id == p.default_category
    assert p.category("  ").id == p.default_category
    with pytest.raises(InvalidInput):
        p.category("no-such-category")


@pytest.mark.parametrize(
    "purpose",
    [
        "identify the protesters at city hall",
        "Who was at the PROTEST on Friday",
        "people at the union meeting",
        "attendees of a religious service",
    ],
)
def test_prohibited_uses_are_refused(purpose: str) -> None:
    p = load_policy(None)
    with pytest.raises(PurposeProhibited) as e:
        p.check_prohibited("field-inquiry", purpose)
    assert e.value.code == "purpose_prohibited" and e.value.details["rule"] == "protected-activity"


def test_prohibited_category_and_innocent_words() -> None:
    p = load_policy(None)
    with pytest.raises(PurposeProhibited):
        p.category("protest-identification")
    for ok in ("Robbery on 3 March, Main St", "Traffic stop, Route 9", "Missing person check"):
        p.check_prohibited("field-inquiry", ok)


def test_case_id_and_places() -> None:
    p = load_policy(None)
    with pytest.raises(CaseIdRequired):
        p.check_case(p.categories["criminal-investigation"], None)
    p.check_case(p.categories["criminal-investigation"], "C-1")
    border = p.categories["border-check"]
    with pytest.raises(SearchNotAllowedHere):
        p.check_place_time(border, None, NOON)
    with pytest.raises(SearchNotAllowedHere):
        p.check_place_time(border, "street:main", NOON)
    p.check_place_time(border, "port-of-entry:dover", NOON)
    with pytest.raises(SearchNotAllowedHere) as e:
        p.check_place_time(p.categories["field-inquiry"], "school:north-high", NOON)
    assert e.value.details["rule"] == "schools-and-clinics"
    p.check_place_time(p.categories["field-inquiry"], None, NOON)


def test_hours_wrap_midnight(tmp_path: Path) -> None:
    text = DEFAULT_POLICY.read_text() + '\n[[no_search]]\nid = "night"\nhours = [22, 6]\n'
    p = parse_policy(text.encode(), "test")
    cat = p.categories["field-inquiry"]
    with pytest.raises(SearchNotAllowedHere):
        p.check_place_time(cat, None, datetime(2026, 11, 3, 23, 30, tzinfo=UTC))
    with pytest.raises(SearchNotAllowedHere):
        p.check_place_time(cat, None, datetime(2026, 11, 3, 5, 0, tzinfo=UTC))
    p.check_place_time(cat, None, NOON)


@pytest.mark.parametrize(
    "text",
    [
        b"not = [toml",
        b'version = "1"\n',
        b'version = "1"\ndefault_category = "x"\n[[categories]]\nid = "y"\n',
        b'version = "1"\ndefault_category = "y"\n[[categories]]\nid = "y"\n'
        b'[[no_search]]\nid = "n"\nhours = [1]\n',
    ],
)
def test_invalid_policy_is_a_config_error(text: bytes) -> None:
    with pytest.raises(ConfigError):
        parse_policy(text, "bad.toml")


def test_policy_file_is_reread_when_changed(tmp_path: Path) -> None:
    f = tmp_path / "policy.toml"
    f.write_bytes(DEFAULT_POLICY.read_bytes())
    a = load_policy(f)
    f.write_text(DEFAULT_POLICY.read_text().replace("2026.12-default", "local-2"))
    b = load_policy(f)
    assert a.version != b.version == "local-2" and a.digest != b.digest
