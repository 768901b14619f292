"""1:N search benchmark: IVF-PQ + exact re-ranking vs FAISS flat vs a NumPy scan.

    .venv/bin/python bench/bench_search.py [--sizes 100k,1M,10M] [--factory F ...]

Same as ``fortify bench search`` (the logic lives in fortify.eval.search_bench):
synthetic 128-d face-like templates (bench/datasets.py), 1000 probes (90% mated),
recall@1/@10 against exact search, single-query p50/p99, batch QPS, build time,
add rate, bytes per template in RAM and on disk, restart-to-first-search time.
Writes bench/results/search.{json,md,png}.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fortify.cli.bench import register


def main() -> None:
    group = click.Group("bench-search")
    register(group)
    bench = group.commands["bench"]
    if not isinstance(bench, click.Group):
        raise SystemExit("fortify.cli.bench did not register a group")
    out = Path(__file__).resolve().parent / "results"
    bench.commands["search"].main(
        args=[*sys.argv[1:], "--out", str(out)], prog_name="bench_search.py"
    )


if __name__ == "__main__":
    main()
