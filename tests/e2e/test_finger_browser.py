"""End-to-end: finger mode with a fake camera showing an FVC2002 DB1_B print (101_2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.slow


def test_finger_mode_finds_the_enrolled_finger(scenario: Any, server: Server) -> None:
    if server.seed.y4m_finger is None:
        pytest.skip("fingerprint data not found (../shared/data/fingerprints)")
    r = scenario("finger", y4m_finger=str(server.seed.y4m_finger))
    assert r["guidance"].startswith("Good"), r
    assert r["refused"]["empty"].startswith("Move closer"), r["refused"]
    assert r["refused"]["blurred"].startswith("Hold still"), r["refused"]
    assert r["metrics"]["cover"] >= 0.2 and r["metrics"]["sharpness"] >= 0.9, r["metrics"]
    assert r["modality"] == "finger" and r["finger_position"] == 2
    assert r["first"] == server.seed.finger_reference == r["top"][0]
    assert any(s.endswith("30-finger-live.png") for s in r["shots"]), r["shots"]
    fused = r["fused"]  # the face of the same person added: one fused ranking
    assert fused["modalities"] == ["face", "finger"] and r["agree"], fused
    top = fused["candidates"][0]
    assert top["reference"] == r["fusedFirst"] == server.seed.finger_reference
    assert top["modalities_matched"] == ["face", "finger"] and top["estimated_fpir"] > 0
