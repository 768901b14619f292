"""Holder check bench: document portrait vs live face, 1:1, on SYNTHETIC document cards.

    nice -n 10 python bench/bench_portrait.py [--identities 40] [--calibrate 160] [--out DIR]

No document photos of people with a matching live capture exist here, so each CelebA
identity's first photo is printed as the portrait of a synthetic ID card (grey card,
"SYNTHETIC" text, a rendered MRZ-like band; the portrait shrunk to ~35 mm x 45 mm at a phone
photo's resolution, then JPEG), and its second photo plays the live capture. Scores go
through the same path as ``POST /v1/documents`` (largest face on the card, the face engine,
cosine). The face model's calibration is of LIVE faces: the bench prints FNMR/FMR at its
FMR-1e-3 threshold, at the portrait threshold of ``fortify.gallery.portrait`` (derived with
``--calibrate N`` from the impostor scores of N further identities, disjoint from the measured
ones), and for an upscaled-crop experiment; and writes a DET plot. No invented facts about
the people: the cards carry no names or data of theirs.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from rich.progress import track

from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.gallery.portrait import PORTRAIT_THRESHOLDS
from fortify.matching.calibration import load_calibration
from fortify.modalities.face.engine import Engine

CELEBA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "faces" / "celeba"


def card_with_portrait(photo: Path) -> bytes:
    card = Image.new("RGB", (1000, 630), (214, 220, 226))
    d = ImageDraw.Draw(card)
    d.text((40, 30), "SYNTHETIC SPECIMEN - NOT A REAL DOCUMENT", fill=(40, 40, 40))
    p = Image.open(photo).convert("RGB")
    p.thumbnail((300, 380))
    card.paste(p, (40, 80))
    for i in range(3):
        d.text((40, 500 + 30 * i), "I<XXX" + "<" * 25, fill=(20, 20, 20))
    buf = io.BytesIO()
    card.resize((800, 504)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _vectors(
    engine: Engine, people: list[Path], crop: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(portrait, live[, upscaled-crop portrait]) vectors of identities with both faces."""
    docs, lives, crops = [], [], []
    for d in track(people, description="cards"):
        files = sorted(d.glob("*.jpg"))
        try:
            card = engine.load(card_with_portrait(files[0]))
            doc = engine.process(card, face="largest")  # as POST /v1/documents
            live = engine.process(engine.load(files[1]), face="largest")
            if crop:
                big = _upscaled_crop(card, doc.detection.bbox.as_list())
                crops.append(engine.process(big, face="largest").template.vector)
        except FortifyError:
            continue
        docs.append(doc.template.vector)
        lives.append(live.template.vector)
    return np.stack(docs), np.stack(lives), np.stack(crops) if crop else None


def _upscaled_crop(image: np.ndarray, box: list[int], face_px: int = 160) -> np.ndarray:
    """Experiment: the detector's box with a 60 % margin, upscaled to a ~160 px face."""
    import cv2

    x, y, w, h = box
    x0, y0 = max(0, int(x - 0.6 * w)), max(0, int(y - 0.6 * h))
    crop = image[y0 : int(y + 1.6 * h), x0 : int(x + 1.6 * w)]
    s = min(4.0, face_px / max(w, 1))
    out = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC) if s > 1 else crop
    return np.ascontiguousarray(out)


def _rates(doc: np.ndarray, live: np.ndarray, thr: float) -> dict[str, float | int]:
    sims = doc @ live.T
    genuine = np.diag(sims)
    impostor = sims[~np.eye(len(doc), dtype=bool)]
    return {
        "pairs_genuine": int(genuine.size),
        "pairs_impostor": int(impostor.size),
        "fnmr": round(float((genuine < thr).mean()), 4),
        "fmr": round(float((impostor >= thr).mean()), 5),
        "impostors_at_or_above": int((impostor >= thr).sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument(
        "--calibrate",
        type=int,
        default=0,
        help="also derive a portrait threshold at FMR 1e-3 from N further (held-out) identities",
    )
    ap.add_argument("--out", type=Path, default=Path("/tmp/portrait-bench"))
    args = ap.parse_args()
    engine = Engine(Settings()).prepare()
    model = engine.model_spec()[0]
    people = [d for d in sorted(CELEBA.iterdir()) if len(list(d.glob("*.jpg"))) >= 2]
    a, b, c = _vectors(engine, people[: args.identities], crop=True)
    cal = load_calibration(model)
    thr, _ = cal.threshold(1e-3, 1)
    report: dict[str, Any] = {
        "synthetic_cards": True,
        "model": model,
        "live_threshold_fmr_1e-3": round(thr, 4),
        "at_live_threshold": _rates(a, b, thr),
        "upscaled_crop_at_live_threshold": _rates(c, b, thr) if c is not None else None,
    }
    card_thr = PORTRAIT_THRESHOLDS.get(model)
    if args.calibrate:
        held = people[args.identities : args.identities + args.calibrate]
        ha, hb, _ = _vectors(engine, held)
        imp = (ha @ hb.T)[~np.eye(len(ha), dtype=bool)]
        card_thr = float(np.quantile(imp, 1 - 1e-3))
        report["calibration_identities"] = len(ha)
        report["calibration_impostor_pairs"] = int(imp.size)
        report["derived_portrait_threshold"] = round(card_thr, 4)
        report["calibration_set_fmr_at_live_threshold"] = round(float((imp >= thr).mean()), 5)
    if card_thr is not None:
        report["portrait_threshold"] = round(card_thr, 4)
        report["at_portrait_threshold"] = _rates(a, b, card_thr)
    print(json.dumps(report, indent=2))
    sims = a @ b.T
    genuine = np.diag(sims)
    impostor = sims[~np.eye(len(a), dtype=bool)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "portrait.json").write_text(json.dumps(report, indent=2))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = np.unique(np.concatenate([genuine, impostor]))
    fmr = np.array([(impostor >= t).mean() for t in ts])
    fnmr = np.array([(genuine < t).mean() for t in ts])
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(np.clip(fmr, 1e-4, 1), np.clip(fnmr, 1e-3, 1))
    ax.axvline(1e-3, ls=":", c="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("FMR")
    ax.set_ylabel("FNMR")
    ax.set_title("Document portrait vs live face (SYNTHETIC cards)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out / "portrait_det.png", dpi=120)
    print("wrote", args.out / "portrait_det.png")


if __name__ == "__main__":
    main()
