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
import re
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

RESULTS = Path(__file__).resolve().parent / "results"
# schemathesis failure codes that must not occur: server errors and schema violations
MUST_BE_ZERO = {
    "ST101": "Server error",
    "ST102": "Server error on undeclared request Content-Type",
    "ST103": "Undocumented status code",
    "ST104": "Missing Content-Type header",
    "ST105": "Undocumented Content-Type",
    "ST106": "Malformed media type",
    "ST107": "Missing required response headers",
    "ST108": "Response violates schema",
    "ST109": "JSON deserialization error",
    "ST110": "Content deserialization error",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=50, help="Examples per operation.")
    ap.add_argument("--real", type=int, default=5, help="Identities enrolled first.")
    ap.add_argument("--max-time", type=int, default=600, help="Seconds for the whole run.")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    console = Console()
    home = Path(tempfile.mkdtemp(prefix="fortify-st-"))
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
                "--no-color",
            ]
            t0 = time.monotonic()
            run = subprocess.run(cmd, capture_output=True, text=True)
            took = time.monotonic() - t0
        out = run.stdout
        (RESULTS / "schemathesis.txt").parent.mkdir(parents=True, exist_ok=True)
        (RESULTS / "schemathesis.txt").write_text(out)
        failures: Counter[str] = Counter()
        for m in re.finditer(r"(ST\d{3}) ([^:\n]+): (\d+)", out.split("Failures:")[-1]):
            failures[f"{m.group(1)} {m.group(2).strip()}"] += int(m.group(3))
        cases = re.search(r"(\d+) generated", out)
        n_cases = int(cases.group(1)) if cases else 0
        tail = "\n".join(run.stdout.strip().splitlines()[-25:])
        console.print(tail)
        t = Table(title=f"schemathesis: {n_cases} test cases, {took:.0f} s")
        t.add_column("check")
        t.add_column("failures", justify="right")
        rows = {f"{k} {v}": 0 for k, v in MUST_BE_ZERO.items()} | dict(failures)
        for n, count in sorted(rows.items()):
            t.add_row(n + (" *" if n[:5] in MUST_BE_ZERO else ""), str(count))
        console.print(t)
        console.print("* must be 0 (server errors and schema violations)")
        bad = sum(c for n, c in failures.items() if n[:5] in MUST_BE_ZERO)
        console.print(f"server errors + schema violations: {bad}")
        raise SystemExit(1 if bad else 0)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
