"""Holder check bench: document portrait vs live face, 1:1, on SYNTHETIC document cards.

    nice -n 10 python bench/bench_portrait.py [--identities 40] [--out /tmp/portrait]

No document photos of people with a matching live capture exist here, so each CelebA
identity's first photo is printed as the portrait of a synthetic ID card (grey card,
"SYNTHETIC" text, a rendered MRZ-like band; the portrait shrunk to ~35 mm x 45 mm at a phone
photo's resolution, then JPEG), and its second photo plays the live capture. Scores go
through the same path as ``POST /v1/documents`` (largest face on the card, the face engine,
cosine) and the decision uses the model calibration at FMR 1e-3. Prints FNMR/FMR at that
threshold and writes a DET plot. No invented facts about the people: the cards carry no
names or data of theirs.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fortify.config import Settings
from fortify.errors import FortifyError
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument("--out", type=Path, default=Path("/tmp/portrait-bench"))
    args = ap.parse_args()
    engine = Engine(Settings()).prepare()
    people = [d for d in sorted(CELEBA.iterdir()) if len(list(d.glob("*.jpg"))) >= 2]
    doc_vecs, live_vecs = [], []
    for d in people[: args.identities]:
        files = sorted(d.glob("*.jpg"))
        try:
            doc = engine.process(engine.load(card_with_portrait(files[0])), face="largest")
            live = engine.process(engine.load(files[1]), face="largest")
        except FortifyError:
            continue
        doc_vecs.append(doc.template.vector)
        live_vecs.append(live.template.vector)
    a, b = np.stack(doc_vecs), np.stack(live_vecs)
    sims = a @ b.T
    genuine = np.diag(sims)
    impostor = sims[~np.eye(len(a), dtype=bool)]
    cal = load_calibration(engine.model_spec()[0])
    thr, _ = cal.threshold(1e-3, 1)
    report = {
        "synthetic_cards": True,
        "pairs_genuine": int(genuine.size),
        "pairs_impostor": int(impostor.size),
        "threshold_fmr_1e-3": round(thr, 4),
        "fnmr_at_threshold": round(float((genuine < thr).mean()), 4),
        "fmr_at_threshold": round(float((impostor >= thr).mean()), 5),
    }
    print(json.dumps(report, indent=2))
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
