"""The null-template check (``edgeface.NULL_MAX``): where the limit sits, what it refuses,
whether dark or blurred faces stay clear of it, and what a refusal costs.

    .venv/bin/python bench/bench_null.py ../shared/data/faces/celeba --out /tmp/edge3 \
        [--groups ../shared/data/faces/celeba-groups.csv]

Needs ``bench_edgeface.py extract``'s parts in ``--out`` (part ``em``: v2 with every crop
kept). Prints:

1. the cosine of every v2 template with the null template (a mid-grey crop's): how many
   lie above the limit, the lowest of those and the highest below it (the gap the limit
   sits in), and the refusals by group when ``--groups`` is given;
2. for one photo of every 7th identity, the highest null similarity of the served
   template after darkening (x0.35, gamma 2.2), lowering contrast, blurring and greying;
3. for the photos above the limit, what the served engine does now (a template from a
   turned copy or the next largest face, or ``face_unrecognizable``) and how long it takes
   on this machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from bench_edgeface import load

from fortify.config import Settings
from fortify.errors import FortifyError
from fortify.eval.face import read_groups
from fortify.modalities.face.edgeface import NULL_MAX
from fortify.modalities.face.engine import Engine

Variant = Callable[[np.ndarray], np.ndarray]  # type: ignore[type-arg]
VARIANTS: dict[str, Variant] = {
    "as taken": lambda im: im,
    "darker x0.35": lambda im: (im * 0.35).astype(np.uint8),
    "gamma 2.2": lambda im: (255 * (im / 255.0) ** 2.2).astype(np.uint8),
    "contrast x0.35": lambda im: (128 + (im.astype(float) - 128) * 0.35).astype(np.uint8),
    "blur sigma 3": lambda im: cv2.GaussianBlur(im, (0, 0), 3),
    "grey": lambda im: cv2.cvtColor(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/edge"))
    ap.add_argument("--groups", type=Path, default=None)
    a = ap.parse_args()
    _, paths, units = load(a.out)
    eng = Engine(Settings(embed_threads=1)).prepare()
    null = eng.extractor.null_vector  # type: ignore[attr-defined]
    sim = units["em"] @ null
    above = sim > NULL_MAX
    print(f"1. {len(sim)} v2 templates (every crop kept), limit {NULL_MAX}: {int(above.sum())}"
          f" above ({above.mean():.2%}), lowest of those {sim[above].min():.2f}, highest"
          f" {sim.max():.2f}; highest of the rest {sim[~above].max():.2f}")  # fmt: skip
    if a.groups:
        for col in ("sex", "age"):
            g = read_groups(a.groups, col)
            lab = np.array([g.get(Path(p).parent.name, "unknown") for p in paths])
            print(f"   by {col}: " + ", ".join(
                f"{k} {int(above[lab == k].sum())} of {int((lab == k).sum())}"
                for k in sorted(set(lab))
            ))  # fmt: skip

    picks = [sorted(d.glob("*.jpg"))[0] for d in sorted(a.root.iterdir()) if d.is_dir()][::7]
    print(f"2. one photo of every 7th identity ({len(picks)}), served template:")
    for name, f in VARIANTS.items():
        sims, refused = [], 0
        for p in picks:
            try:
                r = eng.process(np.ascontiguousarray(f(eng.load(p))), face="largest")
                sims.append(eng.null_similarity(r.template) or 0.0)
            except FortifyError:
                refused += 1
        print(f"   {name:15s} highest null similarity {max(sims):.2f}, refused {refused}")

    print("3. the photos above the limit, served now (one core as configured):")
    for i in np.flatnonzero(above):
        t0 = time.perf_counter()
        try:
            r = eng.process(eng.load(paths[i]), face="largest")
            how = f"template, null similarity {eng.null_similarity(r.template):.2f}"
        except FortifyError as exc:
            how = exc.code + "".join(f" {w}" for w in exc.details.get("warnings", []))
        ms = (time.perf_counter() - t0) * 1000
        print(f"   {Path(paths[i]).parent.name}/{Path(paths[i]).name} {sim[i]:.2f}: {how}"
              f" ({ms:.0f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
