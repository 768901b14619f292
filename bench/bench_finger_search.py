"""1:N fingerprint search: preselection by the index vector, then MCC re-ranking.

Gallery: impression 1 of every FVC2002 DB1-4_B finger (40 real fingers, planted)
plus N synthetic distractors; probes: impressions 2-8 of those fingers (mated).

Synthetic distractors (labelled synthetic, no image): minutiae sets drawn from a
fingerprint-like model, not from any real print: 30-60 points with at least
9 px spacing inside a random ellipse of finger size, directions from a
Sherlock-Monro orientation field (random core and delta, random rotation),
each minutia pointing either way along the flow, kinds random. Each distractor
is turned into a template exactly like a real one (cylinders, mean-cylinder
vector).

Reports per gallery size: preselection hit rate (mate within the shortlist)
against penetration (shortlist / gallery), rank-1 hit rate and latency of the
two-stage search, and of exhaustive MCC matching on the same probes.

    PYTHONPATH=src python bench/bench_finger_search.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

from fortify.config import Settings
from fortify.modalities.base import AcquireOptions
from fortify.modalities.finger import mcc
from fortify.modalities.finger.engine import FingerModality
from fortify.modalities.finger.minutiae import Minutiae

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fingerprints" / "fvc2002"


def synthetic_minutiae(rng: np.random.Generator) -> Minutiae:
    w, h = rng.uniform(180, 260), rng.uniform(260, 360)
    cx, cy = 200.0, 220.0
    n = int(rng.integers(30, 61))
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        x, y = rng.uniform(-1, 1, 2)
        if x * x + y * y > 1:
            continue
        p = (cx + x * w / 2, cy + y * h / 2)
        if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 >= 81 for q in pts):
            pts.append(p)
    xy = np.array(pts, np.float32)
    core = np.array([cx + rng.normal(0, 30), cy + rng.normal(-40, 30)])
    delta = core + np.array([rng.normal(0, 60), rng.uniform(80, 160)])
    z = xy[:, 0] + 1j * xy[:, 1]
    zc, zd = core[0] + 1j * core[1], delta[0] + 1j * delta[1]
    theta = 0.5 * (np.angle(z - zc) - np.angle(z - zd)) + rng.uniform(-0.3, 0.3)
    theta = theta + np.pi * rng.integers(0, 2, n)
    return Minutiae.of(
        xy[:, 0], xy[:, 1], theta, rng.integers(1, 3, n), rng.integers(20, 90, n), 400, 440
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--shortlist", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--exhaustive-probes", type=int, default=20)
    ap.add_argument("--probes", type=int, default=0, help="Mated probes used (0 = all).")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    mod = FingerModality(Settings()).prepare()
    rng = np.random.default_rng(7)
    real: dict[str, dict[int, object]] = {}
    for db in ("DB1_B", "DB2_B", "DB3_B", "DB4_B"):
        for p in sorted((DATA / db).glob("*_*.png")):
            f, imp = p.stem.split("_")
            try:
                t = mod.acquire(p.read_bytes(), AcquireOptions()).template
            except Exception:
                continue
            real.setdefault(f"{db}/{f}", {})[int(imp)] = t
    names = sorted(k for k, v in real.items() if 1 in v)
    gallery_cyl = [mod._cylinders(real[k][1].payload) for k in names]  # type: ignore[attr-defined]
    gallery_vec = [real[k][1].vector for k in names]  # type: ignore[attr-defined]
    probes = [(i, t) for i, k in enumerate(names) for imp, t in real[k].items() if imp != 1]
    if args.probes:
        probes = [probes[int(j)] for j in np.linspace(0, len(probes) - 1, args.probes)]
    print(f"real fingers planted: {len(names)}; mated probes: {len(probes)}")
    results = []
    dist_cyl: list[mcc.Cylinders] = []
    dist_vec: list[np.ndarray] = []
    for size in sorted(args.sizes):
        t0 = time.perf_counter()
        while len(dist_cyl) < size - len(names):
            c = mcc.cylinders(synthetic_minutiae(rng))
            dist_cyl.append(c)
            dist_vec.append(mcc.preselection_vector(c))
        gen_s = time.perf_counter() - t0
        cyl = gallery_cyl + dist_cyl[: size - len(names)]
        x = np.stack(gallery_vec + dist_vec[: size - len(names)]).astype(np.float32)
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        row: dict[str, object] = {"gallery": size, "distractor_build_s": round(gen_s, 1)}
        maxl = max(args.shortlist)
        q = np.stack([t.vector for _, t in probes]).astype(np.float32)  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        _, ids = index.search(q, maxl)
        pre_ms = (time.perf_counter() - t0) * 1000 / len(probes)
        for L in args.shortlist:
            hit, rank1, lat = 0, 0, []
            for (mate, t), cand in zip(probes, ids[:, :L], strict=True):
                t1 = time.perf_counter()
                pc = mod._cylinders(t.payload)  # type: ignore[attr-defined]
                scores = [mcc.score(pc, cyl[int(j)]) for j in cand]
                best = int(cand[int(np.argmax(scores))])
                lat.append((time.perf_counter() - t1) * 1000 + pre_ms)
                hit += mate in set(int(j) for j in cand)
                rank1 += best == mate
            row[f"L{L}"] = {
                "penetration": round(L / size, 5),
                "preselection_hit_rate": round(hit / len(probes), 4),
                "rank1_two_stage": round(rank1 / len(probes), 4),
                "p50_ms": round(float(np.median(lat)), 1),
            }
        sub = probes[: args.exhaustive_probes]
        hits, lat = 0, []
        for mate, t in sub:
            t1 = time.perf_counter()
            pc = mod._cylinders(t.payload)  # type: ignore[attr-defined]
            scores = [mcc.score(pc, c) for c in cyl]
            lat.append((time.perf_counter() - t1) * 1000)
            hits += int(np.argmax(scores)) == mate
        row["exhaustive"] = {
            "probes": len(sub),
            "rank1": round(hits / len(sub), 4),
            "p50_ms": round(float(np.median(lat)), 1),
        }
        row["two_stage_on_same_probes"] = {
            f"L{L}": round(
                float(
                    np.mean(
                        [
                            int(
                                ids[
                                    k,
                                    int(
                                        np.argmax(
                                            [
                                                mcc.score(mod._cylinders(t.payload), cyl[int(j)])
                                                for j in ids[k, :L]
                                            ]
                                        )
                                    ),
                                ]  # type: ignore[attr-defined]
                            )
                            == mate
                            for k, (mate, t) in enumerate(sub)
                        ]
                    )
                ),
                4,
            )
            for L in args.shortlist
        }
        print(json.dumps(row))
        results.append(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
