"""End-to-end: document mode with a fake camera showing the ICAO specimen passport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.fakecam import frame_from_photo, write_y4m

pytestmark = pytest.mark.slow
SPECIMEN = (
    ROOT / ".." / "shared" / "data" / "documents" / "specimens-passporteye" / "passport-td3.jpg"
).resolve()


def test_document_mode_reads_a_specimen(scenario: Any, tmp_path: Path) -> None:
    if not SPECIMEN.exists():
        pytest.skip(f"evaluation data not found at {SPECIMEN}")
    y4m = tmp_path / "passport.y4m"
    write_y4m(frame_from_photo(SPECIMEN, 1280, 960), y4m)
    r = scenario("document", y4m_document=str(y4m))
    assert r["result"] == "TD3: valid"
    assert "FAILED" not in r["checks"]
