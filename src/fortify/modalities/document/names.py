"""Name normalisation for holder look-up: ICAO 9303 part 3 transliteration, order, truncation."""

from __future__ import annotations

import re
import unicodedata

# ICAO 9303 part 3, table of recommended transliterations of Latin characters.
ICAO_LATIN = {
    "Ä": "AE",
    "Å": "AA",
    "Æ": "AE",
    "Ö": "OE",
    "Ø": "OE",
    "Ü": "UE",
    "ß": "SS",
    "Þ": "TH",
    "Œ": "OE",
    "Ĳ": "IJ",
    "Ð": "D",
    "Đ": "D",
    "Ł": "L",
    "Ħ": "H",
    "Ŧ": "T",
    "Ŋ": "N",
}


def transliterate(name: str) -> str:
    """Upper-case A-Z and spaces, as the MRZ would print the name."""
    out = []
    for ch in name.upper():
        if ch in ICAO_LATIN:
            out.append(ICAO_LATIN[ch])
            continue
        base = unicodedata.normalize("NFKD", ch)
        out.append("".join(c for c in base if not unicodedata.combining(c)))
    return re.sub(r"[^A-Z]+", " ", "".join(out)).strip()


def _variants(token: str) -> set[str]:
    """A token and its single-letter-transliteration form (AE<->A, OE<->O, UE<->U)."""
    v = {token}
    v.add(token.replace("AE", "A").replace("OE", "O").replace("UE", "U"))
    return v


def tokens(name: str) -> list[str]:
    return transliterate(name).split()


def names_match(
    doc_surname: str, doc_given: str, record_name: str, truncated: bool = False
) -> bool:
    """Same person's name regardless of order, diacritics, transliteration and truncation.

    Every token of the document's name must appear in the record's name; with a truncated
    MRZ name the last document token may be a prefix of a record token.
    """
    doc = tokens(doc_surname) + tokens(doc_given)
    rec = tokens(record_name)
    if not doc or not rec:
        return False
    rec_v = [_variants(t) for t in rec]
    for i, t in enumerate(doc):
        tv = _variants(t)
        last = truncated and i == len(doc) - 1
        if not any(
            tv & rv or (last and any(r.startswith(x) for r in rv for x in tv)) for rv in rec_v
        ):
            return False
    return True
