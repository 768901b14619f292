"""MCC matcher settings: EER per FVC2002 database and 1:1 match time, same templates.

Every print goes through the product's acquisition once (ridge check, Gabor
enhancement, mindtct without NFIQ 2, edge filter, best 60 minutiae, ISO record);
each setting then builds its own cylinders from the ISO minutiae and scores the
same pairs, so the settings differ only in the matcher. "v2" and "v3" are the
shipped ones (:data:`fortify.modalities.finger.mcc.V2` / ``V3``); the others are
the neighbours of v3 that the choice was made among (one change each).

EER: FVC protocol (genuine = all same-finger pairs, impostor = the 45 pairs of
first impressions); "all" uses every different-finger pair (every n-th with
``--impostor-stride``). Failures to acquire count as genuine misses. ``ms`` =
one :func:`~fortify.modalities.finger.mcc.score` call on cached cylinders, p50.

    PYTHONPATH=src python bench/bench_finger_mcc.py [--dbs DB1_B DB3_B] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from fortify.config import FingerSettings, Settings
from fortify.errors import FortifyError
from fortify.eval.finger import pairs, scan
from fortify.eval.metrics import verification_rates
from fortify.modalities.base import AcquireOptions
from fortify.modalities.finger import iso19794, mcc
from fortify.modalities.finger.engine import FingerModality
from fortify.modalities.finger.minutiae import Minutiae

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fingerprints" / "fvc2002"
_r = dataclasses.replace
SETTINGS: dict[str, mcc.Params] = {
    "v2": mcc.V2,
    "v3": mcc.V3,
    "v3 sigma_s 6.5": _r(mcc.V3, sigma_s=6.5),
    "v3 sigma_s 7.5": _r(mcc.V3, sigma_s=7.5),
    "v3 sigma_s 8": _r(mcc.V3, sigma_s=8.0),
    "v3 tau_psi 400": _r(mcc.V3, tau_psi=400.0),
    "v3 n_rel 15": _r(mcc.V3, n_rel=15),
    "v3 n_rel 25": _r(mcc.V3, n_rel=25),
    "v3 n_rel 30": _r(mcc.V3, n_rel=30),
}


def acquire_all(directory: Path, mod: FingerModality) -> tuple[list[str], dict[str, Minutiae]]:
    """Every impression's minutiae as the product stores them (the failures left out)."""
    files = scan(directory)
    out: dict[str, Minutiae] = {}
    for key in sorted(files):
        try:
            acq = mod.acquire(files[key].read_bytes(), AcquireOptions())
        except FortifyError:
            continue
        out[key], _, _ = iso19794.read(acq.template.payload)
    return sorted(files), out


def run_db(
    keys: list[str], prints: dict[str, Minutiae], names: list[str], stride: int
) -> dict[str, Any]:
    genuine, fvc, allp = pairs(keys)
    allp = allp[::stride]
    out: dict[str, Any] = {"fta": round(1 - len(prints) / len(keys), 4), "settings": {}}
    for name in names:
        p = SETTINGS[name]
        cyl = {k: mcc.cylinders(m, p) for k, m in prints.items()}
        ms: list[float] = []
        g = _scores(cyl, p, genuine, True, ms)
        fvc_s, all_s = (_scores(cyl, p, ps, False, ms) for ps in (fvc, allp))
        out["settings"][name] = {
            "eer": round(100 * verification_rates(g, fvc_s, (0.01,)).eer, 2),
            "eer_all": round(100 * verification_rates(g, all_s, (0.01,)).eer, 2),
            "match_ms_p50": round(statistics.median(ms), 3),
        }
    return out


def _scores(
    cyl: dict[str, mcc.Cylinders],
    p: mcc.Params,
    ps: list[tuple[str, str]],
    miss: bool,
    ms: list[float],
) -> np.ndarray:
    """Scores of the pairs (a failed print's pairs: -inf when ``miss``); times into ``ms``."""
    s = []
    for a, b in ps:
        if a in cyl and b in cyl:
            t0 = time.perf_counter()
            s.append(mcc.score(cyl[a], cyl[b], p))
            ms.append((time.perf_counter() - t0) * 1000)
    n_fail = sum(1 for a, b in ps if a not in cyl or b not in cyl) if miss else 0
    return np.array(s + [-np.inf] * n_fail)


def table(results: dict[str, dict[str, Any]]) -> str:
    dbs = list(results)
    names = list(next(iter(results.values()))["settings"])
    head = "| setting | " + " | ".join(dbs) + " | mean EER | mean EER all | match ms p50 |"
    lines = [head, "|" + "---|" * (len(dbs) + 4)]
    for n in names:
        rs = [results[d]["settings"][n] for d in dbs]
        cells = [f"{r['eer']:.2f} ({r['eer_all']:.2f})" for r in rs]
        lines.append(
            f"| {n} | "
            + " | ".join(cells)
            + f" | {np.mean([r['eer'] for r in rs]):.2f}"
            + f" | {np.mean([r['eer_all'] for r in rs]):.2f}"
            + f" | {statistics.median(r['match_ms_p50'] for r in rs):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--dbs", nargs="+", default=["DB1_B", "DB2_B", "DB3_B", "DB4_B"])
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument(
        "--impostor-stride", type=int, default=1, help="Every n-th all-pairs impostor (quick runs)."
    )
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    mod = FingerModality(Settings(finger=FingerSettings(compute_nfiq2=False))).prepare()
    results = {}
    for db in a.dbs:
        t0 = time.perf_counter()
        keys, prints = acquire_all(a.data / db, mod)
        results[db] = run_db(keys, prints, a.settings, a.impostor_stride)
        print(f"{db}: {time.perf_counter() - t0:.0f} s, FTA {results[db]['fta']}")
    print("EER % per database, FVC impostors (all-pairs impostors in brackets)")
    print(table(results))
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
