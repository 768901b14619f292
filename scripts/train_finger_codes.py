"""Fit the projection of minutia cylinders to the finger index codes.

Runs the product's contact-print pipeline (Gabor enhancement,
mindtct, edge filter, best minutiae) on every FVC2002 DB1-4_B impression, takes
the valid cylinders and writes their mean and leading principal axes to
``src/fortify/models/finger_cylinder_pca.npz`` (about 300 KB). Unsupervised: no
identity labels are used. ``--fit-dbs`` fits on some databases only (the bench
uses that to check that the codes generalise to prints they were not fitted on).

    .venv/bin/python scripts/train_finger_codes.py [--data ../shared/data/fingerprints/fvc2002]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
from rich.progress import track

from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.modalities.finger import codes, enhance, mcc
from fortify.modalities.finger.engine import EDGE_MARGIN, ENHANCE, FingerModality
from fortify.modalities.finger.images import decode_finger_image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "fingerprints" / "fvc2002"


def cylinders_of(mod: FingerModality, path: Path) -> mcc.Cylinders | None:
    """The cylinders of one print, as the product makes them (None: refused)."""
    try:
        gray = decode_finger_image(path.read_bytes(), mod.settings.max_image_pixels)
        fg = enhance.foreground(gray)
        ext = mod.extractor.extract(gray, enhance.gabor(gray, None, ENHANCE, fg))
    except FortifyError:
        return None
    return mcc.cylinders(enhance.inside(ext.minutiae, fg, EDGE_MARGIN).best(mod.fs.max_minutiae))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--fit-dbs", nargs="+", default=["DB1_B", "DB2_B", "DB3_B", "DB4_B"])
    ap.add_argument("--out", type=Path, default=codes.projection_path())
    args = ap.parse_args()
    settings = Settings()
    settings.finger.compute_nfiq2 = False
    mod = FingerModality(settings)
    mod.extractor.prepare()
    prints = sorted(p for db in args.fit_dbs for p in (args.data / db).glob("*_*.png"))
    if not prints:
        raise SystemExit(f"no prints under {args.data}")
    rows = []
    for p in track(prints, description="cylinders"):
        c = cylinders_of(mod, p)
        if c is not None and np.any(c.valid):
            rows.append(c.codes[c.valid])
    x = np.concatenate(rows)
    mean, axes = codes.fit_projection(x)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, mean=mean, axes=axes, prints=len(rows), cylinders=len(x))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(f"{len(rows)} prints, {len(x)} cylinders -> {args.out} (sha256 {digest})")


if __name__ == "__main__":
    main()
