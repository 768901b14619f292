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


def test_four_finger_mode_searches_each_finger(scenario: Any, server: Server) -> None:
    if server.seed.y4m_four is None:
        pytest.skip("fingerprint data not found (../shared/data/fingerprints)")
    r = scenario("fourFinger")
    assert r["guidance"].startswith("Good: four fingers"), r
    assert r["metrics"]["fingers"] == 4 and r["metrics"]["sharpness"] >= 0.9, r["metrics"]
    assert r["refused"]["three"].startswith("Spread the fingers: 3 of 4"), r["refused"]
    assert r["refused"]["blurred"].startswith("Hold still"), r["refused"]
    assert r["captures"] == 4, r
    assert [p["finger_position"] for p in r["per_capture"]] == [2, 3, 4, 5], r["per_capture"]
    assert r["first"] == server.seed.finger_reference == r["top"][0]
    assert [f["finger"] for f in r["fingers"]] == [2, 3, 4, 5], r["fingers"]
    assert sum(f["agrees"] for f in r["fingers"]) >= 3, r["fingers"]  # the mated record
    assert any(s.endswith("34-four-finger-live.png") for s in r["shots"]), r["shots"]
