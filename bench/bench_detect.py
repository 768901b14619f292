"""Face detectors on in-the-wild CelebA photos: failure to acquire, multiple faces, speed.

    .venv/bin/python bench/bench_detect.py [--limit N] [--up1-limit N] [--dlib-limit N]

For every photo (or a seeded sample of ``--limit``), decodes it the way the service does
(:func:`fortify.imaging.decode_image`) and runs, interleaved photo by photo so that load
changes hit all of them alike, on one pinned core with one thread:

* ``hog-up0`` / ``hog-up1``: :class:`DlibFaceDetector` (dlib HOG, upsample 0 / 1);
* ``mmod-onnx-up0``: :class:`MmodFaceDetector` (dlib's CNN detector run by onnxruntime);
* ``mmod-onnx-up1``: the same with one 2x upsampling (on a seeded ``--up1-limit`` of them);
* ``cascade`` (:class:`CascadeFaceDetector`: HOG upsample 1, the CNN upsample 1 when HOG
  finds nothing) and two variants, ``cascade-cnn0`` (CNN upsample 0) and ``cascade-hog0``
  (HOG upsample 0 first): read off the stages above, which is what a cascade runs (its time
  is the sum of the stages it ran); ``--check-cascade`` photos also go through the real
  :class:`CascadeFaceDetector` to confirm it finds the same number of faces;
* ``dlib-cnn-up0``: dlib's own ``cnn_face_detection_model_v1`` (boxes only, no landmarks)
  on a seeded ``--dlib-limit`` of the photos; its boxes and scores are compared with the
  ONNX detector's.

Each detector row times ``detect`` (detection + 5 landmarks + aligned chip + quality).
"probe" adds the decode and, when a face is found, the template of the first face
(onnxruntime ResNet) measured on the same photo: decode + detect + template, the probe
latency of an identify call without the index search. Prints a table and writes
``bench/results/detect.json``.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before numpy / dlib / onnxruntime load
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".." / "shared" / "data" / "faces" / "celeba"
OUT = ROOT / "bench" / "results" / "detect.json"


NOTES = {
    "hog-up0": "dlib HOG, upsample 0",
    "hog-up1": "dlib HOG, upsample 1 (current default)",
    "mmod-onnx-up0": "dlib CNN (MMOD) via onnxruntime, upsample 0",
    "mmod-onnx-up1": "dlib CNN via onnxruntime, upsample 1 (seeded sample)",
    "cascade": "HOG upsample 1; CNN upsample 1 if no face (CascadeFaceDetector)",
    "cascade-cnn0": "HOG upsample 1; CNN upsample 0 if no face",
    "cascade-hog0": "HOG upsample 0; HOG upsample 1; CNN upsample 1 (hog_upsample=(0, 1))",
    "dlib-cnn-up0": "dlib's own CNN detector (dlib-bin), boxes only (subset)",
}
CASCADES = {
    "cascade": ("hog-up1", "mmod-onnx-up1"),
    "cascade-cnn0": ("hog-up1", "mmod-onnx-up0"),
    "cascade-hog0": ("hog-up0", "hog-up1", "mmod-onnx-up1"),
}


@dataclass
class Row:
    name: str
    note: str
    faces: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    probe_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        n = len(self.faces)
        faces = np.asarray(self.faces)
        pct = (lambda a, q: round(float(np.percentile(a, q)), 2)) if n else (lambda a, q: None)
        return {
            "detector": self.name,
            "note": self.note,
            "images": n,
            "fta_rate": round(float((faces == 0).mean()), 4) if n else None,
            "multi_face_rate": round(float((faces > 1).mean()), 4) if n else None,
            "detect_ms_p50": pct(self.ms, 50),
            "detect_ms_p90": pct(self.ms, 90),
            "probe_ms_p50": pct(self.probe_ms, 50) if self.probe_ms else None,
            "probe_ms_p90": pct(self.probe_ms, 90) if self.probe_ms else None,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--limit", type=int, default=0, help="seeded sample size (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--up1-limit", type=int, default=1000)
    ap.add_argument("--dlib-limit", type=int, default=100)
    ap.add_argument("--check-cascade", type=int, default=30)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    a = ap.parse_args()

    if not a.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    import dlib
    import onnxruntime as ort

    from fortify.imaging import decode_image
    from fortify.modalities.face.dlib_backend import DlibFaceDetector
    from fortify.modalities.face.dlib_onnx import OnnxDlibExtractor
    from fortify.modalities.face.mmod_onnx import CascadeFaceDetector, MmodFaceDetector
    from fortify.modalities.face.weights import weights_path
    from fortify.types import Detection

    files = sorted(a.data.resolve().glob("*/*.jpg"))
    if not files:
        raise SystemExit(f"no photos under {a.data}")
    if a.limit:
        files = sorted(random.Random(a.seed).sample(files, min(a.limit, len(files))))
    order = list(range(len(files)))
    random.Random(a.seed + 1).shuffle(order)
    up1_set = set(order[: a.up1_limit])
    dlib_set = set(order[: a.dlib_limit])

    tmp = tempfile.TemporaryDirectory(prefix="fortify-bench-detect-")
    cache = Path(tmp.name)
    t0 = time.perf_counter()
    mmod0 = MmodFaceDetector(upsample=0, cache_dir=cache)
    convert_s = time.perf_counter() - t0
    stages: dict[str, Callable[[Any], list[Detection]]] = {
        "hog-up0": DlibFaceDetector(upsample=0).detect,
        "hog-up1": DlibFaceDetector(upsample=1).detect,
        "mmod-onnx-up0": mmod0.detect,
        "mmod-onnx-up1": MmodFaceDetector(upsample=1, cache_dir=cache).detect,
    }
    real_cascade = CascadeFaceDetector(upsample=1, hog_upsample=1, cache_dir=cache)
    rows = {k: Row(k, v) for k, v in NOTES.items()}
    extractor = OnnxDlibExtractor(cache)
    dlib_cnn = dlib.cnn_face_detection_model_v1(str(weights_path("mmod")))
    decode_ms: list[float] = []
    template_ms: list[float] = []
    agree = {"images": 0, "count_mismatch": 0, "max_box_px": 0, "max_score_diff": 0.0}
    cascade_check = {"images": 0, "same_faces": 0}

    started = time.time()
    load_start = os.getloadavg()
    for n, i in enumerate(order):
        f = files[i]
        rel = str(f.relative_to(a.data.resolve()))
        data = f.read_bytes()
        t = time.perf_counter()
        img = decode_image(data)
        dec = (time.perf_counter() - t) * 1000
        decode_ms.append(dec)
        tmpl = 0.0
        got: dict[str, tuple[int, float]] = {}  # stage -> (faces, ms)
        for name, detect in stages.items():
            if name == "mmod-onnx-up1" and i not in up1_set and got["hog-up1"][0]:
                continue  # only the sample, and wherever a cascade needs it
            t = time.perf_counter()
            found = detect(img)
            got[name] = (len(found), (time.perf_counter() - t) * 1000)
            if found and not tmpl:
                t = time.perf_counter()
                extractor.extract(img, found[0])
                tmpl = (time.perf_counter() - t) * 1000
                template_ms.append(tmpl)
        for name, row in rows.items():
            plan = CASCADES.get(name, (name,))
            if (name == "mmod-onnx-up1" and i not in up1_set) or (name not in got and not plan[1:]):
                continue
            faces, ms = 0, 0.0
            for stage in plan:  # what the cascade does: stop at the first stage with a face
                faces, ms = got[stage][0], ms + got[stage][1]
                if faces:
                    break
            row.faces.append(faces)
            row.ms.append(ms)
            row.probe_ms.append(dec + ms + (tmpl if faces else 0.0))
            if not faces:
                row.misses.append(rel)
        if n < a.check_cascade:  # the real CascadeFaceDetector finds what the stages say
            cascade_check["images"] += 1
            expect = rows["cascade"].faces[-1]
            cascade_check["same_faces"] += len(real_cascade.detect(img)) == expect
        if i in dlib_set:
            t = time.perf_counter()
            ref = dlib_cnn(img, 0)
            ms = (time.perf_counter() - t) * 1000
            dl = rows["dlib-cnn-up0"]
            dl.faces.append(len(ref))
            dl.ms.append(ms)
            mine = mmod0.cnn(img, 0)
            agree["images"] += 1
            if len(mine) != len(ref):
                agree["count_mismatch"] += 1
            else:
                for m, d in zip(mine, ref, strict=True):
                    r = d.rect
                    box = max(
                        abs(p - q)
                        for p, q in zip(
                            m.rect, (r.left(), r.top(), r.right(), r.bottom()), strict=True
                        )
                    )
                    agree["max_box_px"] = max(agree["max_box_px"], box)
                    diff = abs(m.confidence - d.confidence)
                    agree["max_score_diff"] = max(agree["max_score_diff"], diff)
        if (n + 1) % 100 == 0:
            print(f"{n + 1}/{len(order)} photos, {time.time() - started:.0f} s", file=sys.stderr)

    summaries = [r.summary() for r in rows.values()]
    cpu = platform.processor() or platform.machine()
    meta = {
        "photos": len(files),
        "data": str(a.data),
        "seed": a.seed,
        "threads": 1,
        "pinned": not a.no_pin,
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_avg_start": [round(x, 2) for x in load_start],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(time.time() - started, 1),
        "dlib": dlib.__version__,
        "onnxruntime": ort.__version__,
        "mmod_conversion_and_session_s": round(convert_s, 2),
        "decode_ms_p50": round(float(np.percentile(decode_ms, 50)), 2),
        "template_ms_p50": round(float(np.percentile(template_ms, 50)), 2) if template_ms else None,
        "onnx_vs_dlib_cnn": agree,
        "real_cascade_vs_stages": cascade_check,
    }
    print(
        f"{len(files)} photos, 1 thread, pinned={not a.no_pin}, cpu {cpu}, "
        f"load avg {meta['load_avg_start']} -> {meta['load_avg_end']}, "
        f"decode p50 {meta['decode_ms_p50']} ms, template p50 {meta['template_ms_p50']} ms"
    )
    header = (
        f"{'detector':<15} {'photos':>6} {'FTA %':>6} {'multi %':>7} {'det p50':>8} "
        f"{'det p90':>8} {'probe p50':>9} {'probe p90':>9}"
    )
    print(header)
    print("-" * len(header))
    for s in summaries:
        if not s["images"]:
            continue
        probe50 = "" if s["probe_ms_p50"] is None else f"{s['probe_ms_p50']:9.1f}"
        probe90 = "" if s["probe_ms_p90"] is None else f"{s['probe_ms_p90']:9.1f}"
        print(
            f"{s['detector']:<15} {s['images']:6d} {100 * s['fta_rate']:6.2f} "
            f"{100 * s['multi_face_rate']:7.2f} {s['detect_ms_p50']:8.1f} "
            f"{s['detect_ms_p90']:8.1f} {probe50:>9} {probe90:>9}"
        )
    print(f"ONNX vs dlib CNN (upsample 0): {agree}")
    print(f"CascadeFaceDetector vs its stages: {cascade_check}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    misses = {k: r.misses for k, r in rows.items() if k in ("cascade", "hog-up1")}
    a.out.write_text(json.dumps({"meta": meta, "detectors": summaries, "misses": misses}, indent=2))
    print(f"wrote {a.out}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
