"""A handful of FVC2002 prints from ../shared/data (tests skip without them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fortify.config import Settings
from fortify.modalities.finger.engine import FingerModality

ROOT = Path(__file__).resolve().parents[4]
FINGERS = (ROOT / ".." / "shared" / "data" / "fingerprints").resolve()
DB1 = FINGERS / "fvc2002" / "DB1_B"


def fvc(name: str) -> Path:
    p = DB1 / name
    if not p.exists():
        pytest.skip(f"fingerprint data not found at {p}")
    return p


@pytest.fixture(scope="session")
def finger() -> FingerModality:
    return FingerModality(Settings()).prepare()
