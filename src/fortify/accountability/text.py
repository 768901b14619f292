"""Free text an operator types (purpose, case id, reference): visible, printable, no tricks.

Control characters (NUL, ESC, ...) and bidirectional overrides are refused: they are
stored and exported verbatim and can hide or reorder what an auditor reads.
Zero-width and other invisible format characters are removed, and what is left
must hold enough *visible* characters to say something.
"""

from __future__ import annotations

import unicodedata

from fortify.errors import UnsafeText

# Unicode Bidi_Control characters: marks, embeddings, overrides, isolates.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def is_invisible(ch: str) -> bool:
    """Format characters (zero-width space/joiners, BOM, soft hyphen, ...)."""
    return unicodedata.category(ch) == "Cf" and ch not in BIDI_CONTROLS


def visible_length(text: str) -> int:
    """Characters that print something (not spaces, controls or format characters)."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] not in ("C", "Z"))


def clean_text(field: str, value: str, *, allow_newlines: bool = False) -> str:
    """NFKC-normalise, refuse control and bidi characters, drop invisible ones, strip."""
    text = unicodedata.normalize("NFKC", value)
    for ch in text:
        if ch in BIDI_CONTROLS:
            raise UnsafeText(
                f"{field} contains a bidirectional control character (U+{ord(ch):04X})",
                field=field,
                codepoint=f"U+{ord(ch):04X}",
            )
        if unicodedata.category(ch) == "Cc" and not (allow_newlines and ch in "\n\t"):
            raise UnsafeText(
                f"{field} contains a control character (U+{ord(ch):04X})",
                field=field,
                codepoint=f"U+{ord(ch):04X}",
            )
    return "".join(ch for ch in text if not is_invisible(ch)).strip()
