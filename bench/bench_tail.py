"""Does the normal tail fitted on the impostor table's body predict the far tail?

    python bench/bench_tail.py ../shared/data/faces/celeba --out /tmp/edge3 \
        --exclude 7312,7314,7317,7319,7326,7433,7450

Reads the served EdgeFace v2 templates (part ``eg``; ``--part e``: v1, every crop kept) that
``bench_edgeface.py extract`` stored, builds the impostor-score table of every pair of
photos in different folders (the harness's merges of folders sharing a photograph applied),
and compares:

1. the score at FMR 1e-3 ... 1e-7 read off the table of all folders, off the table
   without the ``--exclude`` folders (known label noise: one person filed under two
   names), and predicted by the normal tail fitted on the body (FMR 1e-4 to 1e-2) of the
   table of all folders (:mod:`fortify.matching.normal_tail`);
2. the same out of sample: the tail fitted on one half of the identities (label noise
   included), the empirical scores of the other half without the excluded folders, both
   ways, halves of seeds 1 and 4.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from bench_edgeface import halves, load

from fortify.eval.metrics import score_to_fpr_table
from fortify.eval.protocol import all_pairs, list_identities, pair_scores
from fortify.matching.normal_tail import fit_normal_tail

FMRS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
MERGES = {"7393": "7392", "7314": "7312", "7317": "7312"}  # eval face's duplicate merges


def impostors(root: Path, paths: list[str], x: Any, exclude: set[str]) -> Any:
    """Sorted impostor scores of ``root``'s folders (minus ``exclude``)."""
    where = {p: i for i, p in enumerate(paths)}
    rows = [
        (MERGES.get(n, n), where.get(str(p.resolve())))
        for n, ps in list_identities(root).items()
        if n not in exclude
        for p in ps
    ]
    rows = [(n, i) for n, i in rows if i is not None and np.isfinite(x[i]).all()]
    _, imp = all_pairs([n for n, _ in rows])
    return np.sort(pair_scores(x[np.array([i for _, i in rows])], imp))


def at(scores: Any, fmr: float) -> float:
    k = int(fmr * scores.size)
    return float(scores[-k - 1]) if k < scores.size else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/edge3"))
    ap.add_argument("--exclude", default="7312,7314,7317,7319,7326,7433,7450")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--part", default="eg", help="eg: v2 as served (default); e: v1")
    a = ap.parse_args()
    _, paths, units = load(a.out)
    x = units[a.part]
    drop = set(a.exclude.split(",")) if a.exclude else set()
    head = " | ".join(f"FMR {f:g}" for f in FMRS)
    print(f"1. score at | {head} |")
    full, clean = impostors(a.root, paths, x, set()), impostors(a.root, paths, x, drop)
    tail = fit_normal_tail(score_to_fpr_table(full))
    assert tail is not None
    print(f"   all folders ({full.size} pairs) | " + " | ".join(f"{at(full, f):.3f}" for f in FMRS))
    print(
        f"   without {len(drop)} ({clean.size}) | "
        + " | ".join(f"{at(clean, f):.3f}" for f in FMRS)
    )
    print("   normal tail, fitted on all | " + " | ".join(f"{tail.score_at(f):.3f}" for f in FMRS))
    print(f"   (a {tail.a:.3f}, b {tail.b:.3f}, join {tail.join:.3f}, max residual"
          f" {tail.max_residual} in z)")  # fmt: skip
    print(f"2. out of sample | {head} |")
    for seed in a.seeds:
        h = halves(a.root, a.out, seed)
        for fit_root, test_root, tag in ((h[0], h[1], "A -> B"), (h[1], h[0], "B -> A")):
            t = fit_normal_tail(score_to_fpr_table(impostors(fit_root, paths, x, set())))
            other = impostors(test_root, paths, x, drop)
            assert t is not None
            pred = " | ".join(f"{t.score_at(f):.3f} / {at(other, f):.3f}" for f in FMRS)
            print(f"   seed {seed} {tag}, predicted / empirical | {pred} |", flush=True)


if __name__ == "__main__":
    main()
