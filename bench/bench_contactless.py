"""Contactless (SYNTHETIC) to contact fingerprint matching on FVC2002 DB1-4_B.

For each database: impressions 2-8 of every finger are rendered as SYNTHETIC
contactless phone photos (fortify.eval.contactless_synth; cached as JPEG under
--cache) and acquired through the finger modality's auto-detected contactless
path; impression 1 of every finger is the contact gallery. Genuine: each probe vs
its finger's impression 1; impostor: each probe vs the other fingers' impression 1.
The same pairs with the contact impressions 2-8 as probes are the baseline.
1:N: closed-set rank-1 over the 10 gallery fingers, and open-set (gallery 101-105,
non-mated probes 106-110) FNIR at FPIR 0.1. DB2 (569 ppi) is resampled to 500 ppi.

    nice -n 10 python bench/bench_contactless.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.eval.contactless_synth import SYNTHETIC, render
from fortify.eval.metrics import open_set_identification, verification_rates
from fortify.modalities.base import AcquireOptions
from fortify.modalities.finger.engine import FingerModality
from fortify.modalities.finger.images import Gray, encode_png
from fortify.types import Template

ROOT = Path(__file__).resolve().parents[1]
FVC = (ROOT / ".." / "shared" / "data" / "fingerprints" / "fvc2002").resolve()
PPI = {"DB1_B": 500.0, "DB2_B": 569.0, "DB3_B": 500.0, "DB4_B": 500.0}


def _read(path: Path) -> Gray:
    g = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if g is None:
        raise SystemExit(f"error: cannot read {path}")
    return np.asarray(g, np.uint8)


def contact_png(path: Path, ppi: float) -> bytes:
    g = _read(path)
    if ppi != 500.0:
        f = 500.0 / ppi
        size = (round(g.shape[1] * f), round(g.shape[0] * f))
        g = np.asarray(cv2.resize(g, size, interpolation=cv2.INTER_AREA), np.uint8)
    return encode_png(g)


def photo(path: Path, ppi: float, cache: Path, seed: int) -> bytes:
    out = cache / path.parent.name / (path.stem + ".jpg")
    if out.exists():
        return out.read_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    g = _read(path)
    r = render(g, np.random.default_rng(seed), ppi)
    out.write_bytes(r.jpeg)
    out.with_suffix(".json").write_text(json.dumps(r.meta))
    return r.jpeg


def run_db(mod: FingerModality, db: str, cache: Path) -> dict[str, Any]:
    d = FVC / db
    ppi = PPI[db]
    fingers = sorted({p.stem.split("_")[0] for p in d.glob("*_1.png")})
    gallery: dict[str, Template] = {}
    for f in fingers:
        gallery[f] = mod.acquire(contact_png(d / f"{f}_1.png", ppi), AcquireOptions()).template
    out: dict[str, Any] = {"db": db, "label": SYNTHETIC}
    for kind in ("contactless", "contact"):
        scores: dict[tuple[str, int], dict[str, float]] = {}
        failed: list[tuple[str, int]] = []
        for f in track(fingers, description=f"{db} {kind}"):
            for imp in range(2, 9):
                p = d / f"{f}_{imp}.png"
                seed = 1000 * int(f) + imp + 7919 * list(PPI).index(db)
                data = photo(p, ppi, cache, seed) if kind == "contactless" else contact_png(p, ppi)
                try:
                    t = mod.acquire(data, AcquireOptions()).template
                except FortifyError:
                    failed.append((f, imp))
                    continue
                scores[(f, imp)] = {g: mod.compare(t, gt) for g, gt in gallery.items()}
        gen = [s[f] for (f, _), s in scores.items()] + [float("-inf")] * len(failed)
        imp_ = [v for (f, _), s in scores.items() for g, v in s.items() if g != f]
        vr = verification_rates(gen, imp_, (1e-2,))
        rank1 = [max(s, key=lambda g: s[g]) == f for (f, _), s in scores.items()]
        half = set(fingers[: len(fingers) // 2])
        mated = [
            (s[f], 1 + sum(v > s[f] for g, v in s.items() if g in half))
            for (f, _), s in scores.items()
            if f in half
        ]
        nonmated = [
            max(v for g, v in s.items() if g in half)
            for (f, _), s in scores.items()
            if f not in half
        ]
        n_fail_m = sum(1 for f, _ in failed if f in half)
        os_ = open_set_identification(
            [m[0] for m in mated],
            [m[1] for m in mated],
            nonmated,
            (0.1,),
            n_failed_mated=n_fail_m,
            n_failed_nonmated=len(failed) - n_fail_m,
        )
        n_probes = len(scores) + len(failed)
        out[kind] = {
            "eer": vr.eer,
            "fmr100_fnmr": vr.operating_points[0].false_negative_rate,
            "fta": len(failed) / n_probes,
            "rank1": sum(rank1) / n_probes,
            "fnir_at_fpir_0.1": os_.at_fpir(0.1).false_negative_rate,
            "n_genuine": len(gen),
            "n_impostor": len(imp_),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dbs", nargs="*", default=list(PPI))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/contactless"))
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    os.environ.setdefault("FORTIFY_FINGER_COMPUTE_NFIQ2", "false")
    mod = FingerModality(Settings()).prepare()
    rows = [run_db(mod, db, a.cache) for db in a.dbs]
    t = Table(title=f"{SYNTHETIC}: contactless probes vs contact impression 1 (%)")
    for c in ("db", "probes", "EER", "FNMR@FMR1%", "FTA", "rank-1", "FNIR@FPIR.1"):
        t.add_column(c)
    for r in rows:
        for kind in ("contactless", "contact"):
            m = r[kind]
            t.add_row(
                r["db"],
                kind + (" (SYNTH)" if kind == "contactless" else ""),
                f"{100 * m['eer']:.2f}",
                f"{100 * m['fmr100_fnmr']:.2f}",
                f"{100 * m['fta']:.2f}",
                f"{100 * m['rank1']:.2f}",
                f"{100 * m['fnir_at_fpir_0.1']:.2f}",
            )
    Console(width=100).print(t)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2, default=float))


if __name__ == "__main__":
    main()
