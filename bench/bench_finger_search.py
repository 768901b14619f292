"""1:N fingerprint search: set-vote preselection of local codes, then MCC re-ranking.

Gallery: impression 1 of every FVC2002 DB1-4_B finger (40 real fingers, planted)
plus N synthetic distractors; probes: impressions 2-8 of those fingers (mated).

Synthetic distractors (labelled synthetic, no image): minutiae sets drawn from a
fingerprint-like model, not from any real print: 30-60 points with at least
9 px spacing inside a random ellipse of finger size, directions from a
Sherlock-Monro orientation field (random core and delta, random rotation),
each minutia pointing either way along the flow, kinds random. Each distractor
becomes a template exactly like a real one (cylinders, local codes).

Preselection, side by side on the same gallery:
* ``set-vote``: the product's index (:class:`fortify.index.vote.SetVoteIndex` over
  the templates' local codes; ``--inner`` is its FAISS index at the largest size);
* ``mean-cyl``: v2's index vector, the mean cylinder, in a flat FAISS index.
Reports the preselection hit rate (mate in the shortlist) against penetration on
every probe; rank-1 and latency of the two-stage search (preselection + MCC
re-ranking of the shortlist, cylinders cached as the gallery's LRU holds them) on
``--probes`` probes; exhaustive MCC rank-1 on ``--exhaustive-probes`` probes
(their scores against every distractor are computed while the distractors are
made, so exhaustive search is measured at every size).

    PYTHONPATH=src python bench/bench_finger_search.py --sizes 10000 100000
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # the workers share the cores: no thread oversubscription

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from rich.progress import track

from fortify.config import Settings
from fortify.index import create_index
from fortify.modalities.base import AcquireOptions
from fortify.modalities.finger import codes, mcc
from fortify.modalities.finger.engine import FingerModality
from fortify.modalities.finger.minutiae import Minutiae

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fingerprints" / "fvc2002"
CHUNK = 1000


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


def mean_cylinder(c: mcc.Cylinders) -> np.ndarray:  # type: ignore[type-arg]
    """v2's index vector: the print's mean valid cylinder, centred and normalised."""
    x = c.codes[c.valid] if np.any(c.valid) else c.codes
    v = x.mean(axis=0) - x.mean() if len(x) else np.zeros(mcc.CYLINDER_DIM, np.float32)
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32)


def _chunk(job: tuple[int, list[mcc.Cylinders]]) -> dict[str, Any]:
    """Distractors of one seed: codes, mean cylinders, minutiae, exhaustive-probe scores."""
    seed, probe_cyl = job
    rng = np.random.default_rng(seed)
    out: dict[str, list[Any]] = {"codes": [], "mean": [], "minutiae": [], "scores": []}
    for _ in range(CHUNK):
        m = synthetic_minutiae(rng)
        c = mcc.cylinders(m)
        out["codes"].append(codes.local_codes(c).astype(np.float16))
        out["mean"].append(mean_cylinder(c).astype(np.float16))
        out["minutiae"].append(m)
        out["scores"].append([mcc.score(p, c) for p in probe_cyl])
    return {k: v if k == "minutiae" else np.asarray(v) for k, v in out.items()}


def distractors(n: int, probe_cyl: list[mcc.Cylinders], workers: int) -> dict[str, Any]:
    jobs = [(1000 + i, probe_cyl) for i in range((n + CHUNK - 1) // CHUNK)]
    parts: list[dict[str, Any]] = []
    with ProcessPoolExecutor(workers) as pool:
        for part in track(pool.map(_chunk, jobs), total=len(jobs), description="distractors"):
            parts.append(part)
    return {
        k: [m for p in parts for m in p[k]][:n]
        if k == "minutiae"
        else np.concatenate([p[k] for p in parts])[:n]
        for k in parts[0]
    }


def _best(scores: np.ndarray, cand: np.ndarray) -> int:  # type: ignore[type-arg]
    """The candidate with the highest score (-1 for an empty shortlist)."""
    cand = cand[cand >= 0]
    return int(cand[int(np.argmax(scores[cand]))]) if cand.size else -1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--shortlist", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--probes", type=int, default=60, help="Probes for the two-stage search.")
    ap.add_argument("--exhaustive-probes", type=int, default=10)
    ap.add_argument("--inner", default="IVF1024,Flat|nprobe=32", help="At sizes >= 50k.")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    s = Settings()
    s.finger.compute_nfiq2 = False
    mod = FingerModality(s).prepare()
    real: dict[str, dict[int, Any]] = {}
    for db in ("DB1_B", "DB2_B", "DB3_B", "DB4_B"):
        for p in sorted((DATA / db).glob("*_*.png")):
            f, imp = p.stem.split("_")
            try:
                t = mod.acquire(p.read_bytes(), AcquireOptions()).template
            except Exception:
                continue
            real.setdefault(f"{db}/{f}", {})[int(imp)] = t
    names = sorted(k for k, v in real.items() if 1 in v)
    g_t = [real[k][1] for k in names]
    g_cyl = [mod._cylinders(t.payload) for t in g_t]
    probes = [(i, t) for i, k in enumerate(names) for imp, t in real[k].items() if imp != 1]
    p_cyl = [mod._cylinders(t.payload) for _, t in probes]
    pick = np.linspace(0, len(probes) - 1, args.probes).astype(int)
    ex = np.linspace(0, len(probes) - 1, args.exhaustive_probes).astype(int)
    print(f"real fingers planted: {len(names)}; mated probes: {len(probes)}")
    t0 = time.perf_counter()
    dist = distractors(max(args.sizes) - len(names), [p_cyl[j] for j in ex], args.workers)
    print(f"distractors: {len(dist['minutiae'])} in {time.perf_counter() - t0:.0f} s")
    ex_real = np.array([[mcc.score(p_cyl[j], c) for c in g_cyl] for j in ex])
    cyl_cache: dict[int, mcc.Cylinders] = dict(enumerate(g_cyl))
    t0 = time.perf_counter()
    n_pairs = sum(1 for a in p_cyl[:50] for b in g_cyl if mcc.score(a, b) >= 0)
    pair_ms = (time.perf_counter() - t0) * 1000 / n_pairs  # exhaustive = size x this
    results = []
    for size in sorted(args.sizes):
        nd = size - len(names)
        x = np.concatenate([np.stack([t.vector for t in g_t]), dist["codes"][:nd]]).astype(
            np.float32
        )
        inner = args.inner if size >= 50_000 else "Flat"
        t0 = time.perf_counter()
        vote = create_index(codes.VECTOR_DIM, codes.index_factory(inner))
        if not vote.is_trained:
            vote.train(x[:: max(1, size // 20_000)])
        vote.add_with_ids(x, np.arange(size, dtype=np.int64))
        build_s = time.perf_counter() - t0
        means = np.concatenate(
            [np.stack([mean_cylinder(c) for c in g_cyl]), dist["mean"][:nd]]
        ).astype(np.float32)
        flat = faiss.IndexFlatIP(means.shape[1])
        flat.add(means)
        row: dict[str, Any] = {"gallery": size, "inner": inner, "index_build_s": round(build_s, 1)}
        q = np.stack([t.vector for _, t in probes]).astype(np.float32)
        qm = np.stack([mean_cylinder(c) for c in p_cyl]).astype(np.float32)
        maxl = max(args.shortlist)
        t0 = time.perf_counter()
        _, ids = vote.search(q, maxl)
        vote_ms = (time.perf_counter() - t0) * 1000 / len(probes)
        _, ids_m = flat.search(qm, maxl)
        mates = np.array([m for m, _ in probes])
        row["preselect_ms"] = round(vote_ms, 1)
        for name, cand in (("set-vote", ids), ("mean-cyl", ids_m)):
            row[name] = {
                f"L{L}": round(float(np.mean((cand[:, :L] == mates[:, None]).any(1))), 4)
                for L in args.shortlist
            }
        for L in args.shortlist:
            r1, lat = 0, []
            for j in pick:
                mate, t = probes[j]
                cand = [int(c) for c in ids[j, :L] if c >= 0]
                for c in cand:
                    if c not in cyl_cache:
                        cyl_cache[c] = mcc.cylinders(dist["minutiae"][c - len(names)])
                t1 = time.perf_counter()
                _, found = vote.search(q[j : j + 1], L)
                sc = [mcc.score(p_cyl[j], cyl_cache[int(c)]) for c in found[0] if c >= 0]
                lat.append((time.perf_counter() - t1) * 1000)
                r1 += bool(sc) and int(found[0, int(np.argmax(sc))]) == mate
            row[f"two_stage_L{L}"] = {
                "rank1": round(r1 / len(pick), 4),
                "p50_ms": round(float(np.median(lat)), 1),
                "p90_ms": round(float(np.percentile(lat, 90)), 1),
            }
        if len(ex) == 0:  # --exhaustive-probes 0: latency and preselection only
            print(json.dumps(row), flush=True)
            results.append(row)
            continue
        sc_all = np.concatenate([ex_real, dist["scores"][:nd].T], axis=1)
        ex_mates = mates[ex]
        row["exhaustive"] = {
            "probes": len(ex),
            "rank1": round(float(np.mean(np.argmax(sc_all, axis=1) == ex_mates)), 4),
            "ms_estimate": round(size * pair_ms, 0),
            "preselection_hit_same_probes": {
                f"L{L}": round(float(np.mean((ids[ex, :L] == ex_mates[:, None]).any(1))), 4)
                for L in args.shortlist
            },
            # the two-stage answer on the same probes: the best MCC score in the shortlist
            "two_stage_rank1_same_probes": {
                f"L{L}": round(
                    float(
                        np.mean(
                            [_best(sc_all[k], ids[j, :L]) == ex_mates[k] for k, j in enumerate(ex)]
                        )
                    ),
                    4,
                )
                for L in args.shortlist
            },
        }
        print(json.dumps(row), flush=True)
        results.append(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
