"""Synthetic face-like templates for the search and load benchmarks.

    .venv/bin/python bench/datasets.py --n 1000000 [--queries 1000] [--seed 0]

Generates (or finds in the cache) a seeded gallery: identities with 1 + Poisson(1.5)
noisy samples around an identity centre, calibrated to the genuine/impostor cosine
spread of the dlib ResNet 128-d face model, plus 1000 probes of which 90% are
planted mates. Written in chunks to ``$FORTIFY_BENCH_CACHE`` (default
/tmp/fortify-bench) as .npy files that load as memory maps; prints their statistics.

From Python (for example the HTTP load test; the code lives in the package)::

    from fortify.eval.synthetic import SyntheticSpec, synthetic_templates
    data = synthetic_templates(SyntheticSpec(n=1_000_000))
    data.gallery        # (n, 128) float32 memmap, row i = template id i
    data.labels         # identity of each row
    data.queries        # (1000, 128) probes; data.query_labels: identity or -1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fortify.eval.synthetic import (
    SyntheticSet,
    SyntheticSpec,
    describe,
    ground_truth,
    synthetic_templates,
)

__all__ = ["SyntheticSet", "SyntheticSpec", "ground_truth", "synthetic_templates"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--truth", action="store_true", help="also compute exact top-10 of probes")
    a = ap.parse_args()
    t = time.perf_counter()
    data = synthetic_templates(SyntheticSpec(n=a.n, n_queries=a.queries, seed=a.seed), a.cache)
    print(f"{a.n:,} templates in {data.directory} ({time.perf_counter() - t:.1f} s)")
    if a.truth:
        ground_truth(data)
    print(json.dumps(describe(data), indent=1))


if __name__ == "__main__":
    main()
