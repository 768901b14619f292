"""Super Query latency: fan-out vs one source after another, and the deadline holding.

    .venv/bin/python bench/bench_federation.py [--quick] [--json]

Starts 6 sample record services (separate processes, HTTP, SYNTHETIC records) with set
latencies and failure rates, plus one that never answers. Measures end to end
(``Gallery.super_query``: policy checks, audit entries, fan-out, grouping, storing):

* parallel: a Super Query of the 6 sources;
* sequential: the same 6 connectors queried one after another (no audit writes, so this
  favours sequential);
* deadline: the 6 sources plus the never-answering one under ``--deadline-ms``;
  the deadline holds when p99 <= deadline + 100 ms.

The last line of ``--json`` output is one JSON object with p99_ms, deadline_ms,
parallel_p50_ms and sequential_p50_ms. Writes bench/results/fed.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_policy import train_bench  # bench/ is on the path
from rich.console import Console
from rich.progress import track
from rich.table import Table

from fortify.accountability.operators import Operator, create_user
from fortify.config import Settings
from fortify.federation.fanout import sequential
from fortify.federation.records import QueryKeys
from fortify.federation.samples.launcher import SampleServices
from fortify.gallery import Gallery
from fortify.gallery.query import federation

# name: (delay s, jitter s, failure rate)
SOURCES: dict[str, tuple[float, float, float]] = {
    "s1-fast": (0.05, 0.0, 0.0),
    "s2": (0.10, 0.02, 0.0),
    "s3": (0.15, 0.10, 0.0),
    "s4": (0.25, 0.0, 0.05),
    "s5-slow": (0.40, 0.10, 0.10),
    "s6-flaky": (0.08, 0.0, 0.20),
}
ASK: dict[str, Any] = {"operator": Operator("bench", "officer"), "purpose": "benchmark run",
                       "purpose_code": "C", "case_id": "BENCH-1"}  # fmt: skip
KEYS = QueryKeys(reference="SYN-REF-0001")


def _config(svc: SampleServices, names: list[str], deadline_ms: int) -> str:
    out = [f"deadline_ms = {max(deadline_ms, 10_000)}", "require_case_id = true"]
    for s in svc.services:
        if s.name in names:
            timeout = 60_000 if s.name == "never" else 3000
            out += ["[[sources]]", f'name = "{s.name}"', 'transport = "http"',
                    f'url = "{s.endpoint}"', f"timeout_ms = {timeout}"]  # fmt: skip
    return "\n".join(out) + "\n"


def _gallery(work: Path, svc: SampleServices, names: list[str], deadline_ms: int) -> Gallery:
    cfg = work / f"fed-{len(names)}.toml"
    cfg.write_text(_config(svc, names, deadline_ms))
    g = Gallery(Settings(home=work / f"home-{len(names)}", federation_config=cfg))
    with g.write() as s:  # every outbound query needs a registered, trained operator
        create_user(s, ASK["operator"].name, ASK["operator"].role)
    train_bench(g, ASK["operator"].name)
    return g


def _pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs)
    return {"p50_ms": round(float(np.percentile(a, 50)), 1),
            "p99_ms": round(float(np.percentile(a, 99)), 1),
            "max_ms": round(float(a.max()), 1), "n": len(xs)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rounds (under 60 s)")
    ap.add_argument("--json", action="store_true", help="JSON output, last line = summary")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--deadline-ms", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fed.json")
    a = ap.parse_args()
    rounds = a.rounds or (12 if a.quick else 60)
    deadline_ms = a.deadline_ms or (1000 if a.quick else 2000)
    console = Console(stderr=a.json)
    work = Path(tempfile.mkdtemp(prefix="bench-federation-"))
    svc = SampleServices(work / "svc", db_name="fortify_bench_federation")
    t_start = time.perf_counter()
    with svc:
        svc.services.clear()  # only the bench's own services below
        svc.stop()
        for i, (name, (delay, jitter, fail)) in enumerate(SOURCES.items()):
            svc.spawn(name, "immigration", ["--port", "0", "--delay", str(delay), "--jitter",
                      str(jitter), "--fail-rate", str(fail), "--seed", str(i)])  # fmt: skip
        svc.spawn("never", "immigration", ["--port", "0", "--never"])
        six = list(SOURCES)
        g6 = _gallery(work, svc, six, deadline_ms)
        g7 = _gallery(work, svc, [*six, "never"], deadline_ms)
        g6.super_query(KEYS, **ASK)  # warm up
        par, seq, dl = [], [], []
        stages: dict[str, list[float]] = {"prepare": [], "fan_out": [], "store": []}
        statuses: dict[str, int] = {}
        for _ in track(range(rounds), description="parallel", console=console):
            t0 = time.perf_counter()
            r = g6.super_query(KEYS, **ASK)
            par.append((time.perf_counter() - t0) * 1000)
            for ans in r["answers"]:
                statuses[ans["status"]] = statuses.get(ans["status"], 0) + 1
        pairs = [(c, q) for c, q in g6.prepare_query(KEYS, **ASK).pairs]
        for _ in track(range(rounds), description="sequential", console=console):
            t0 = time.perf_counter()
            asyncio.run(sequential(pairs))
            seq.append((time.perf_counter() - t0) * 1000)
        for _ in track(range(rounds), description="deadline", console=console):
            t0 = time.perf_counter()
            r = g7.super_query(KEYS, **ASK, deadline_ms=deadline_ms)
            dl.append((time.perf_counter() - t0) * 1000)
            for k, v in r["timings_ms"].items():
                stages[k].append(v)
            assert any(n["source"] == "never" for n in r["not_answered"])
        n_sources = len(federation(g7).connectors)
        g6.close()
        g7.close()
    p, s, d = _pct(par), _pct(seq), _pct(dl)
    summary = {
        "sources": len(SOURCES), "sources_with_never": n_sources, "rounds": rounds,
        "parallel_p50_ms": p["p50_ms"], "parallel_p99_ms": p["p99_ms"],
        "sequential_p50_ms": s["p50_ms"], "sequential_p99_ms": s["p99_ms"],
        "speedup_p50": round(s["p50_ms"] / p["p50_ms"], 2),
        "deadline_ms": deadline_ms, "p50_ms": d["p50_ms"], "p99_ms": d["p99_ms"],
        "max_ms": d["max_ms"], "deadline_holds": d["p99_ms"] <= deadline_ms + 100,
        "statuses_parallel": statuses,
        "deadline_stages_p99_ms": {k: _pct(v)["p99_ms"] for k, v in stages.items() if v},
        "wall_s": round(time.perf_counter() - t_start, 1),
    }  # fmt: skip
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"summary": summary, "sources": SOURCES}, indent=2))
    t = Table(title=f"Super Query, {len(SOURCES)} sources, {rounds} rounds (end to end)")
    for col in ("run", "p50 ms", "p99 ms", "max ms"):
        t.add_column(col, justify="right" if col != "run" else "left")
    t.add_row("parallel (fan-out)", str(p["p50_ms"]), str(p["p99_ms"]), str(p["max_ms"]))
    t.add_row("sequential", str(s["p50_ms"]), str(s["p99_ms"]), str(s["max_ms"]))
    t.add_row(f"+ never-answering, deadline {deadline_ms}", str(d["p50_ms"]), str(d["p99_ms"]),
              str(d["max_ms"]))  # fmt: skip
    console.print(t)
    holds = f"p99 {d['p99_ms']} <= {deadline_ms} + 100 ms"
    console.print(
        f"speed-up p50 {summary['speedup_p50']}x; deadline holds: {summary['deadline_holds']}"
        f" ({holds})"
    )
    if a.json:
        sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
