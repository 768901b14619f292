"""Property-based API testing of the real server with schemathesis (all phases).

    .venv/bin/python bench/bench_schemathesis.py --examples 50

Builds a small gallery (real CelebA photos), starts ``fortify serve`` on loopback, and
runs ``schemathesis run`` against its OpenAPI schema with an admin token: phases
examples, coverage, fuzzing and stateful, every check. Reports the failures per
check; the bar is 0 server errors and 0 schema violations (response bodies, status
codes, content types and headers that the schema does not state).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table
from served import build_gallery, serve

MUST_BE_ZERO = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=50, help="Examples per operation.")
    ap.add_argument("--real", type=int, default=5, help="Identities enrolled first.")
    ap.add_argument("--max-time", type=int, default=900, help="Seconds for the whole run.")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    console = Console()
    home = Path(tempfile.mkdtemp(prefix="fortify-st-"))
    report_dir = home / "report"
    try:
        tokens, _ = build_gallery(home, a.real)
        with serve(home, FORTIFY_LOG_LEVEL="WARNING") as (base, _server):
            cmd = [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{base}/openapi.json",
                "-H",
                f"Authorization: Bearer {tokens['admin']}",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--checks",
                "all",
                "--max-examples",
                str(a.examples),
                "--seed",
                str(a.seed),
                "--max-time",
                str(a.max_time),
                "--continue-on-failure",
                "--report",
                "ndjson",
                "--report-dir",
                str(report_dir),
                "--no-color",
            ]
            t0 = time.monotonic()
            run = subprocess.run(cmd, capture_output=True, text=True)
            took = time.monotonic() - t0
        failures: Counter[str] = Counter()
        cases = 0
        operations: set[str] = set()
        for path in report_dir.glob("*.ndjson"):
            for line in path.read_text().splitlines():
                ev = json.loads(line)
                for name, body in ev.items():
                    if name != "ScenarioFinished":
                        continue
                    operations.add(str(body.get("label") or ""))
                    recorder = body.get("recorder") or {}
                    cases += len(recorder.get("cases") or {})
                    for checks in (recorder.get("checks") or {}).values():
                        for c in checks:
                            if c.get("status") == "FAILURE":
                                failures[str(c.get("name"))] += 1
        tail = "\n".join(run.stdout.strip().splitlines()[-25:])
        console.print(tail)
        t = Table(title=f"schemathesis: {len(operations)} operations, {cases} cases, {took:.0f} s")
        t.add_column("check")
        t.add_column("failures", justify="right")
        names = sorted(set(MUST_BE_ZERO) | set(failures))
        for n in names:
            t.add_row(n + (" *" if n in MUST_BE_ZERO else ""), str(failures.get(n, 0)))
        console.print(t)
        console.print("* must be 0")
        bad = sum(failures.get(n, 0) for n in MUST_BE_ZERO)
        console.print(f"server errors + schema violations: {bad}")
        raise SystemExit(1 if bad else 0)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
