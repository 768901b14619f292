"""ICAO Doc 9303 machine-readable zones: layouts, check digits, check-digit-driven correction.

Input is one probability row per character cell (from the OCR) or plain text; output is a
:class:`MrzReading` with every field parsed, every check digit reported and every character
that was changed listed in ``corrections`` (nothing is changed silently).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from fortify.modalities.document.countries import is_valid_code, normalise_code
from fortify.modalities.document.ocr import CLASSES

DIGITS = "0123456789"
ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
ALNUM = DIGITS + ALPHA
CHECK = DIGITS + "<"
# Characters OCR confuses on OCR-B, both ways: the candidates tried when a check digit fails.
CONFUSABLE: dict[str, str] = {
    "0": "OQDU",
    "O": "0QDU",
    "Q": "O0",
    "D": "0O",
    "U": "0O",
    "1": "IL",
    "I": "1L",
    "L": "1I",
    "2": "Z",
    "Z": "2",
    "5": "S",
    "S": "5",
    "8": "B36",
    "B": "83",
    "6": "G8",
    "G": "6",
    "4": "A",
    "A": "4",
    "7": "T",
    "T": "7",
    "3": "8B",
    "<": "KXE",
    "K": "<X",
    "X": "<K",
    "E": "<F",
    "M": "HN",
    "H": "MN",
    "N": "HM",
    "V": "Y",
    "Y": "V",
}


def check_digit(text: str) -> str:
    total = 0
    for i, c in enumerate(text):
        v = 0 if c == "<" else int(c) if c.isdigit() else ord(c) - 55
        total += v * (7, 3, 1)[i % 3]
    return str(total % 10)


@dataclass(frozen=True)
class Field:
    name: str
    line: int
    start: int
    end: int
    kind: str  # "digits" | "alpha" | "alnum" | "check" | "sex"


@dataclass(frozen=True)
class Check:
    name: str
    line: int
    pos: int
    spans: tuple[tuple[int, int, int], ...]  # (line, start, end)
    may_be_empty: bool = False


@dataclass(frozen=True)
class Layout:
    name: str
    lines: int
    width: int
    fields: tuple[Field, ...]
    checks: tuple[Check, ...]


def _l2_fields(opt_end: int) -> tuple[Field, ...]:
    return (
        Field("document_number", 1, 0, 9, "alnum"),
        Field("nationality", 1, 10, 13, "alpha"),
        Field("birth_date", 1, 13, 19, "digits"),
        Field("sex", 1, 20, 21, "sex"),
        Field("expiry_date", 1, 21, 27, "digits"),
        Field("optional_data", 1, 28, opt_end, "alnum"),
    )


def _l2_checks() -> tuple[Check, ...]:
    return (
        Check("document_number", 1, 9, ((1, 0, 9),)),
        Check("birth_date", 1, 19, ((1, 13, 19),)),
        Check("expiry_date", 1, 27, ((1, 21, 27),)),
    )


_HEAD = (Field("document_code", 0, 0, 2, "alpha"), Field("issuer", 0, 2, 5, "alpha"))

TD1 = Layout(
    "TD1",
    3,
    30,
    (
        *_HEAD,
        Field("document_number", 0, 5, 14, "alnum"),
        Field("optional_data", 0, 15, 30, "alnum"),
        Field("birth_date", 1, 0, 6, "digits"),
        Field("sex", 1, 7, 8, "sex"),
        Field("expiry_date", 1, 8, 14, "digits"),
        Field("nationality", 1, 15, 18, "alpha"),
        Field("optional_data_2", 1, 18, 29, "alnum"),
        Field("names", 2, 0, 30, "alpha"),
    ),
    (
        Check("document_number", 0, 14, ((0, 5, 14),)),
        Check("birth_date", 1, 6, ((1, 0, 6),)),
        Check("expiry_date", 1, 14, ((1, 8, 14),)),
        Check("composite", 1, 29, ((0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29))),
    ),
)
TD2 = Layout(
    "TD2",
    2,
    36,
    (*_HEAD, Field("names", 0, 5, 36, "alpha"), *_l2_fields(35)),
    (*_l2_checks(), Check("composite", 1, 35, ((1, 0, 10), (1, 13, 20), (1, 21, 35)))),
)
TD3 = Layout(
    "TD3",
    2,
    44,
    (*_HEAD, Field("names", 0, 5, 44, "alpha"), *_l2_fields(42)),
    (
        *_l2_checks(),
        Check("optional_data", 1, 42, ((1, 28, 42),), may_be_empty=True),
        Check("composite", 1, 43, ((1, 0, 10), (1, 13, 20), (1, 21, 43))),
    ),
)
MRVA = Layout(
    "MRV-A", 2, 44, (*_HEAD, Field("names", 0, 5, 44, "alpha"), *_l2_fields(44)), _l2_checks()
)
MRVB = Layout(
    "MRV-B", 2, 36, (*_HEAD, Field("names", 0, 5, 36, "alpha"), *_l2_fields(36)), _l2_checks()
)
LAYOUTS = (TD1, TD2, TD3, MRVA, MRVB)


def layouts_for(n_lines: int, width: int) -> list[Layout]:
    return [lay for lay in LAYOUTS if lay.lines == n_lines and lay.width == width]


def _allowed(layout: Layout) -> list[list[str]]:
    """Per line, per position: the characters the layout allows there."""
    allowed = [[ALNUM] * layout.width for _ in range(layout.lines)]
    for f in layout.fields:
        cs = {"digits": DIGITS, "alpha": ALPHA, "alnum": ALNUM, "sex": "MFX<"}[f.kind]
        for p in range(f.start, f.end):
            allowed[f.line][p] = cs
    for c in layout.checks:
        allowed[c.line][c.pos] = CHECK
    if layout.name in ("TD2", "TD3", "MRV-A", "MRV-B"):
        for p in (10, 11, 12):  # nationality may hold "D<<"
            allowed[1][p] = ALPHA
    return allowed


@dataclass
class CheckResult:
    name: str
    digit: str
    expected: str
    ok: bool


@dataclass
class Correction:
    line: int
    pos: int
    read: str
    corrected: str
    reason: str  # "field_type" (a letter in a digit field...) | "check_digit:<name>"


@dataclass
class MrzReading:
    format: str
    lines: list[str]
    fields: dict[str, Any]
    checks: list[CheckResult]
    corrections: list[Correction]
    confidence: float
    flags: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["valid"] = self.valid
        return d


def _cost(
    probs: npt.NDArray[np.float32] | None, line: int, pos: int, ch: str, cur: str = ""
) -> float:
    if probs is None:  # text only: prefer the most common confusion
        alts = CONFUSABLE.get(cur, "")
        return 0.1 * (alts.index(ch) + 1) if ch in alts else 0.0
    return -math.log(max(float(probs[line][pos][CLASSES.index(ch)]), 1e-6))


def _run_check(lines: list[str], chk: Check) -> CheckResult:
    data = "".join(lines[ln][a:b] for ln, a, b in chk.spans)
    digit = lines[chk.line][chk.pos]
    exp = check_digit(data)
    ok = digit == exp or (chk.may_be_empty and digit in "<0" and set(data) <= {"<"})
    return CheckResult(chk.name, digit, exp, ok)


def _candidates(
    probs: npt.NDArray[np.float32] | None, line: int, pos: int, cur: str, allowed: str
) -> list[str]:
    alts: list[str] = [c for c in CONFUSABLE.get(cur, "") if c in allowed]
    if probs is not None:
        order = np.argsort(-probs[line][pos])[:4]
        alts += [CLASSES[i] for i in order if probs[line][pos][i] > 0.02 and CLASSES[i] in allowed]
    return [c for c in dict.fromkeys(alts) if c != cur]


def _fix_check(
    lines: list[str],
    chk: Check,
    allowed: list[list[str]],
    probs: npt.NDArray[np.float32] | None,
    max_changes: int = 2,
) -> list[Correction]:
    """Smallest-cost change of at most ``max_changes`` characters that makes ``chk`` hold."""
    positions = [(chk.line, chk.pos)]
    for ln, a, b in chk.spans:
        positions += [(ln, p) for p in range(a, b)]
    options = [
        (ln, p, c)
        for ln, p in positions
        for c in _candidates(probs, ln, p, lines[ln][p], allowed[ln][p])
    ]
    best: tuple[float, tuple[tuple[int, int, str], ...]] | None = None
    for k in range(1, max_changes + 1):
        for combo in itertools.combinations(options, k):
            if len({(ln, p) for ln, p, _ in combo}) < k:
                continue
            trial = [list(s) for s in lines]
            cost = 0.0
            for ln, p, c in combo:
                cost += _cost(probs, ln, p, c, trial[ln][p]) - _cost(probs, ln, p, trial[ln][p])
                trial[ln][p] = c
            if _run_check(["".join(t) for t in trial], chk).ok and (best is None or cost < best[0]):
                best = (cost, combo)
        if best is not None:
            break
    if best is None:
        return []
    out = []
    for ln, p, c in best[1]:
        out.append(Correction(ln, p, lines[ln][p], c, f"check_digit:{chk.name}"))
        lines[ln] = lines[ln][:p] + c + lines[ln][p + 1 :]
    return out


def _date(yymmdd: str, kind: str, today: date) -> date | None:
    if not yymmdd.isdigit():
        return None
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if kind == "birth":
        year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    else:
        year = 2000 + yy if 2000 + yy <= today.year + 50 else 1900 + yy
    try:
        return date(year, mm, dd)
    except ValueError:
        return None


def _names(raw: str) -> tuple[str, str, bool]:
    truncated = not raw.endswith("<")
    body = raw.rstrip("<")
    sur, _, given = body.partition("<<")
    return sur.replace("<", " ").strip(), given.replace("<", " ").strip(), truncated


def decode(
    layout: Layout,
    probs: npt.NDArray[np.float32] | None = None,
    text: list[str] | None = None,
    today: date | None = None,
) -> MrzReading:
    """Read ``layout`` from per-cell probabilities (``lines x width x classes``) or text."""
    today = today or date.today()
    allowed = _allowed(layout)
    corrections: list[Correction] = []
    lines: list[str] = []
    conf = 1.0
    for ln in range(layout.lines):
        chars = []
        for p in range(layout.width):
            if probs is not None:
                row = probs[ln][p]
                raw = CLASSES[int(np.argmax(row))]
                ok = [CLASSES.index(c) for c in allowed[ln][p]]
                ch = CLASSES[ok[int(np.argmax(row[ok]))]]
                conf = min(conf, float(row[CLASSES.index(ch)]))
            else:
                assert text is not None
                raw = ch = text[ln][p] if p < len(text[ln]) else "<"
                if ch not in allowed[ln][p]:
                    alts = [c for c in CONFUSABLE.get(ch, "") if c in allowed[ln][p]]
                    ch = alts[0] if alts else ch
            if ch != raw:
                corrections.append(Correction(ln, p, raw, ch, "field_type"))
            chars.append(ch)
        lines.append("".join(chars))
    checks = [_run_check(lines, c) for c in layout.checks]
    for chk, res in zip(layout.checks, checks, strict=True):
        if not res.ok and chk.name != "composite":
            corrections += _fix_check(lines, chk, allowed, probs)
    composite = [c for c in layout.checks if c.name == "composite"]
    if composite and not _run_check(lines, composite[0]).ok:
        # Only the characters no other check digit covers may change now.
        singles = [c for c in layout.checks if c.name != "composite"]
        covered = {(ln, p) for c in singles for ln, a, b in c.spans for p in range(a, b)}
        covered |= {(c.line, c.pos) for c in singles}
        frozen = [list(row) for row in allowed]
        for ln, p in covered:
            frozen[ln][p] = lines[ln][p]
        corrections += _fix_check(lines, composite[0], frozen, probs)
    checks = [_run_check(lines, c) for c in layout.checks]
    return MrzReading(
        layout.name,
        lines,
        _fields(layout, lines, today),
        checks,
        corrections,
        conf,
        _flags(layout, lines, checks, today),
    )


def _fields(layout: Layout, lines: list[str], today: date) -> dict[str, Any]:
    raw = {f.name: lines[f.line][f.start : f.end] for f in layout.fields}
    sur, given, truncated = _names(raw["names"])
    birth = _date(raw["birth_date"], "birth", today)
    expiry = _date(raw["expiry_date"], "expiry", today)
    number = raw["document_number"].rstrip("<")
    optional = raw["optional_data"]
    if layout.name == "TD1" and lines[0][14] == "<" and "<" in optional:
        # Long document number: continues in the optional data, ends with its check digit.
        tail = optional.split("<", 1)[0]
        if tail:
            number = number + tail[:-1]
    out: dict[str, Any] = {
        "document_code": raw["document_code"].rstrip("<"),
        "issuer": normalise_code(raw["issuer"]),
        "surname": sur,
        "given_names": given,
        "names_truncated": truncated,
        "document_number": number,
        "nationality": normalise_code(raw["nationality"]),
        "birth_date": birth.isoformat() if birth else None,
        "sex": {"M": "M", "F": "F"}.get(raw["sex"], "X"),
        "expiry_date": expiry.isoformat() if expiry else None,
        "optional_data": optional.strip("<"),
    }
    if "optional_data_2" in raw:
        out["optional_data_2"] = raw["optional_data_2"].strip("<")
    return out


def _flags(layout: Layout, lines: list[str], checks: list[CheckResult], today: date) -> list[str]:
    flags = [f"check_digit_failed:{c.name}" for c in checks if not c.ok]
    f = _fields(layout, lines, today)
    if f["birth_date"] is None:
        flags.append("invalid_birth_date")
    if f["expiry_date"] is None:
        flags.append("invalid_expiry_date")
    elif f["expiry_date"] < today.isoformat():
        flags.append("expired")
    for key in ("issuer", "nationality"):
        if not is_valid_code(f[key]):
            flags.append(f"unknown_country_code:{key}")
    if f["names_truncated"]:
        flags.append("names_truncated")
    return flags
