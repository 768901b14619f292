"""Governance in the field app (Chromium): training badge, approvals, disputed card,
"verified, delete now" (screenshots 20-25 in test-output/e2e/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Server

DRIVER = Path(__file__).resolve().parent / "driver_governance.mjs"


def test_training_approvals_dispute_and_delete_now(scenario: Any, server: Server) -> None:
    r = scenario("governance", driver=DRIVER)
    assert len(r["shots"]) >= 6
    events = server.get_json("/v1/oversight/governance", server.seed.tokens["auditor"])["items"]
    actions = [e["action"] for e in events]
    assert "search.rapid_delete" in actions and "approval.decide" in actions
    rapid = next(e for e in events if e["action"] == "search.rapid_delete")
    assert rapid["target"] == f"search:{r['search_id']}"
    assert rapid["details"]["outcome"] == "verified_citizen"
    assert json.dumps(rapid).count("E2E governance stop") == 0  # only that it happened
