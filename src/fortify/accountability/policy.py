"""Search policy: a stated purpose (and optional case id) for every search."""

from __future__ import annotations

from dataclasses import dataclass

from fortify.accountability.text import clean_text, visible_length
from fortify.errors import InvalidInput, PurposeRequired

MAX_PURPOSE = 500
MAX_CASE = 100
LEAD_NOTICE = (
    "Investigative lead only, not an identification. A candidate is a possible match "
    "ranked by similarity; verify independently before taking any action."
)


@dataclass(frozen=True)
class SearchRequest:
    purpose: str
    case_id: str | None


def check_purpose(purpose: str | None, case_id: str | None) -> SearchRequest:
    """Refuse a search with no stated purpose; normalise the case id."""
    p = clean_text("purpose", purpose or "", allow_newlines=True)
    if visible_length(p) < 3:
        raise PurposeRequired("every search needs a stated purpose (at least 3 visible characters)")
    if len(p) > MAX_PURPOSE:
        raise InvalidInput(f"purpose is longer than {MAX_PURPOSE} characters")
    c = clean_text("case id", case_id or "") or None
    if c is not None and len(c) > MAX_CASE:
        raise InvalidInput(f"case id is longer than {MAX_CASE} characters")
    return SearchRequest(purpose=p, case_id=c)
