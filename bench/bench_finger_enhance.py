"""Image enhancement before mindtct: EER per FVC2002 database and extraction time.

Every variant runs on the same prints in the same run, against the current
pipeline ("none": the decoded image straight into mindtct). A variant is a
function of the grey print (and its ridge check) giving the image mindtct sees;
the rest (mindtct without NFIQ 2, best 60 minutiae, ISO template, MCC) is the
product's own code. "gabor-lowq" uses the Gabor image only for prints whose
orientation coherence (ridge check) is below ``--lowq-coherence`` and the plain
image otherwise; it needs no extraction of its own.

EER: FVC protocol (genuine = all same-finger pairs, impostor = the 45 pairs of
first impressions); "EER all" uses all 2,880 different-finger pairs. Failures
to acquire count as genuine misses. ``ms`` = ridge check + enhancement +
mindtct per print, p50, on this machine's load.

    PYTHONPATH=src python bench/bench_finger_enhance.py [--dbs DB1_B DB3_B] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.eval.finger import pairs, scan
from fortify.eval.metrics import verification_rates
from fortify.modalities.finger import enhance
from fortify.modalities.finger.engine import FingerModality
from fortify.modalities.finger.extract import MindtctExtractor
from fortify.modalities.finger.images import Gray, RidgeCheck, decode_finger_image, ridge_check
from fortify.types import Template

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fingerprints" / "fvc2002"
Variant = Callable[[Gray, RidgeCheck], Gray]

P = enhance.GaborParams
BORDER = 12.0


def _gabor(p: enhance.GaborParams) -> Variant:
    return lambda g, c: enhance.gabor(g, None, p)


VARIANTS: dict[str, Variant] = {
    "none": lambda g, c: g,
    "clahe": lambda g, c: enhance.clahe(g),
    "gabor s0.5": _gabor(P()),
    "gabor s0.5 blend0.5": _gabor(P(blend=0.5)),
    "gabor s0.4/0.8": _gabor(P(sigma=0.4, sigma_along=0.8)),
    "gabor s0.65": _gabor(P(sigma=0.65, sigma_along=0.65)),
}
"""The image mindtct sees; each variant also runs with minutiae near the mask edge dropped."""
BORDERED = " +edge"
LOWQ_BASE = "gabor s0.4/0.8 +edge"
LOWQ_ELSE = "none +edge"


def run_db(
    directory: Path,
    mod: FingerModality,
    ex: MindtctExtractor,
    variants: list[str],
    lowq: float,
    stride: int = 1,
) -> dict[str, Any]:
    files = scan(directory)
    keys = sorted(files)
    names = [n for v in variants for n in (v, v + BORDERED)]
    tpl: dict[str, dict[str, Template]] = {v: {} for v in names}
    ms: dict[str, dict[str, float]] = {v: {} for v in names}
    coherence: dict[str, float] = {}
    for key in keys:
        gray = decode_finger_image(files[key].read_bytes(), 10**8)
        t0 = time.perf_counter()
        check = ridge_check(gray)
        fg = enhance.foreground(gray)
        t_check = time.perf_counter() - t0
        coherence[key] = check.coherence
        for v in variants:
            t0 = time.perf_counter()
            try:
                e = ex.extract(VARIANTS[v](gray, check))
            except FortifyError:
                continue
            ms[v][key] = ms[v + BORDERED][key] = (time.perf_counter() - t0 + t_check) * 1000
            for name, m in (
                (v, e.minutiae),
                (v + BORDERED, enhance.inside(e.minutiae, fg, BORDER)),
            ):
                if len(m) >= mod.fs.min_minutiae:
                    tpl[name][key] = mod.template(m.best(mod.fs.max_minutiae))
    if LOWQ_BASE in names and LOWQ_ELSE in names:
        name = f"gabor-lowq (coh<{lowq}) +edge"
        pick = {k: LOWQ_BASE if coherence[k] < lowq else LOWQ_ELSE for k in keys}
        tpl[name] = {k: tpl[pick[k]][k] for k in keys if k in tpl[pick[k]]}
        ms[name] = {k: ms[pick[k]][k] for k in keys if k in ms[pick[k]]}
        share = sum(p != LOWQ_ELSE for p in pick.values()) / len(keys)
    else:
        share = 0.0
    genuine, fvc, allp = pairs(keys)
    allp = allp[::stride]
    out: dict[str, Any] = {"lowq_share": round(share, 3), "variants": {}}
    for v, t in tpl.items():
        out["variants"][v] = {
            **_eer(mod, t, genuine, fvc, allp),
            "fta": round(1 - len(t) / len(keys), 4),
            "ms_p50": round(statistics.median(ms[v].values()), 1) if ms[v] else None,
        }
    return out


def _eer(
    mod: FingerModality,
    t: dict[str, Template],
    genuine: list[tuple[str, str]],
    fvc: list[tuple[str, str]],
    allp: list[tuple[str, str]],
) -> dict[str, float]:
    def scores(ps: list[tuple[str, str]], miss: bool) -> np.ndarray:
        s = [mod.compare(t[a], t[b]) for a, b in ps if a in t and b in t]
        n_fail = sum(1 for a, b in ps if a not in t or b not in t) if miss else 0
        return np.array(s + [-np.inf] * n_fail)

    g = scores(genuine, True)
    return {
        "eer": round(100 * verification_rates(g, scores(fvc, False), (0.01,)).eer, 2),
        "eer_all": round(100 * verification_rates(g, scores(allp, False), (0.01,)).eer, 2),
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    dbs = list(results)
    variants = list(next(iter(results.values()))["variants"])
    head = "| variant | " + " | ".join(dbs) + " | mean EER | mean EER all | ms p50 | FTA % |"
    lines = [head, "|" + "---|" * (len(dbs) + 5)]
    for v in variants:
        rs = [results[d]["variants"][v] for d in dbs]
        cells = [f"{r['eer']:.2f} ({r['eer_all']:.2f})" for r in rs]
        ms = [r["ms_p50"] for r in rs if r["ms_p50"] is not None]
        lines.append(
            f"| {v} | "
            + " | ".join(cells)
            + f" | {np.mean([r['eer'] for r in rs]):.2f}"
            + f" | {np.mean([r['eer_all'] for r in rs]):.2f}"
            + f" | {statistics.median(ms) if ms else float('nan'):.0f}"
            + f" | {100 * np.mean([r['fta'] for r in rs]):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--dbs", nargs="+", default=["DB1_B", "DB2_B", "DB3_B", "DB4_B"])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--lowq-coherence", type=float, default=0.55)
    ap.add_argument(
        "--impostor-stride", type=int, default=1, help="Every n-th all-pairs impostor (quick runs)."
    )
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    mod = FingerModality(Settings()).prepare()
    ex = MindtctExtractor(compute_nfiq2=False).prepare()
    results = {}
    for db in a.dbs:
        t0 = time.perf_counter()
        results[db] = run_db(a.data / db, mod, ex, a.variants, a.lowq_coherence, a.impostor_stride)
        print(f"{db}: {time.perf_counter() - t0:.0f} s, lowq share {results[db]['lowq_share']}")
    print("EER % per database, FVC impostors (all-pairs impostors in brackets)")
    print(table(results))
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
