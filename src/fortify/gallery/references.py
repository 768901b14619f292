"""References (an identity's key in its source system): one normal form, one opt-out key.

A reference is NFKC-normalised, stripped of invisible characters and refused if it
holds control or bidi characters. The opt-out key goes further, so that an
opted-out person cannot come back as ``07205`` for ``7205``, with a zero-width
space, in another case or under another source: case-folded, letters and digits
only, leading zeros dropped. It is stored only as an HMAC with a per-installation
secret salt (``optout.salt`` under the home, mode 0600).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from fortify.accountability.text import clean_text
from fortify.errors import InvalidInput

MAX_REFERENCE = 128
SALT_FILE = "optout.salt"


def normalize_reference(reference: str) -> str:
    ref = clean_text("reference", reference)
    if not ref or len(ref) > MAX_REFERENCE:
        raise InvalidInput(f"reference must be 1-{MAX_REFERENCE} visible characters")
    return ref


def optout_key(reference: str) -> str:
    """Source-independent comparison key of a reference."""
    ref = normalize_reference(reference).casefold()
    key = "".join(ch for ch in ref if ch.isalnum())
    return key.lstrip("0") or ("0" if key else ref)


def installation_salt(path: Path) -> bytes:
    """The secret salt of this installation, created once (0600)."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's salt
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def salted_optout_hash(salt: bytes, reference: str) -> str:
    return hmac.new(salt, optout_key(reference).encode("utf-8"), hashlib.sha256).hexdigest()
