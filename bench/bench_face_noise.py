"""What EdgeFace v2's remaining errors are made of, on ``bench_edgeface.py extract``'s parts.

    .venv/bin/python bench/bench_face_noise.py ../shared/data/faces/celeba --out /tmp/edge2 \
        --groups ../shared/data/faces/celeba-groups.csv [--exclude 7312,7314,7317]

Prints, for the seed-0 split of ``fortify eval face`` (one photo enrolled, label-noise
folders merged by the dlib templates as in ``bench_edgeface.py table``):

1. the rank-1 misses of EdgeFace v2, by the gallery identity of the probe, and by age group;
2. the folders whose photos EdgeFace finds least alike (median within-folder cosine):
   candidates for several people under one label;
3. FNIR through the API's calibrated FPIR-0.01 threshold at several gallery sizes, for
   EdgeFace v2, v1 and the fused v2 (dlib + SFace): the shipped calibration (per-probe tail,
   and v2's normal tail where it has one), the per-probe tail alone, and pooled;
   FNIR here is the share of mated probes whose score with their own enrolled photo is
   below the threshold (rank ignored);
4. with ``--exclude``: EdgeFace and v2 on the data without those folders (a sensitivity
   run; the seeded split is then of the remaining identities);
5. the non-mated probes that are the false positives at FPIR 0.01 (the highest 1 %), by
   sex, with the folder each probe comes from and the gallery folder and photo it matched;
6. photos unlike their own coherent folder, or closer to another folder: candidates for a
   photo filed under the wrong person.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from bench_edgeface import _DUP, _metrics, _outcomes, _row, fuse_parts, load

from fortify.config import Settings
from fortify.eval.face import DUPLICATE_COSINE, merge_duplicate_identities, read_groups
from fortify.eval.protocol import list_identities, split_open_set
from fortify.matching.calibration import Calibration, load_calibration

MODELS = {
    "edgeface-s-v2": {"eg": 1.0},  # as served: a refused capture is a zero vector here
    "edgeface-s-v1": {"e": 1.0},
    "fused-dlib-sface-v2": {"d": 0.7, "s": 0.3},
}


def _merged(root: Path) -> dict[str, list[Path]]:
    """``root``'s identity folders (resolved paths), label-noise folders merged by dlib."""
    folders = {k: [p.resolve() for p in v] for k, v in list_identities(root).items()}
    dup = {str(p): _DUP[str(p)] for ps in folders.values() for p in ps}
    return merge_duplicate_identities(folders, dup, DUPLICATE_COSINE)[0]


def _merged_labels(root: Path) -> dict[str, list[str]]:
    return {k: [str(p) for p in v] for k, v in _merged(root).items()}


def _split(root: Path) -> Any:
    return split_open_set(_merged(root), seed=0, enroll_per_identity=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/edge"))
    ap.add_argument("--groups", type=Path, default=None)
    ap.add_argument("--exclude", default="", help="folders left out of a sensitivity run")
    ap.add_argument("--home", type=Path, default=Settings().home)
    a = ap.parse_args()
    fails, paths, units = load(a.out)
    where = {p: i for i, p in enumerate(paths)}
    sp = _split(a.root)
    gallery = [(i, str(p)) for i, p in sp.gallery if str(p) in where]
    gid = [i for i, _ in gallery]
    mated = [(i, str(p)) for i, p in sp.mated_probes if str(p) in where and i in gid]
    x = {m: np.nan_to_num(fuse_parts(units, w)) for m, w in MODELS.items()}

    e = x["edgeface-s-v2"]
    g = e[[where[p] for _, p in gallery]]
    misses = [(i, p) for i, p in mated if gid[int(np.argmax(g @ e[where[p]]))] != i]
    by_id = collections.Counter(i for i, _ in misses)
    top5 = sum(n for _, n in by_id.most_common(5))
    print(f"1. EdgeFace rank-1 misses: {len(misses)} of {len(mated)} mated probes")
    print(f"   top five gallery identities: {by_id.most_common(5)} ({top5 / len(misses):.0%})")
    if a.groups:
        age = read_groups(a.groups, "age")
        by_age = collections.Counter(age.get(i.split("+")[0], "unknown") for i, _ in misses)
        old = collections.Counter(i for i, _ in misses if age.get(i.split("+")[0]) == "older")
        print(f"   by age group: {dict(by_age)}; older, by identity: {old.most_common(5)}")

    ids = np.array([p.split("/")[-2] for p in paths])
    coherence = []
    for f in np.unique(ids):
        k = np.nonzero(ids == f)[0]
        if len(k) > 1:
            s = (e[k] @ e[k].T)[np.triu_indices(len(k), 1)]
            coherence.append((float(np.median(s)), f, len(k)))
    coherence.sort()
    print("2. least alike folders (median within-folder EdgeFace cosine, photos):")
    print("   " + ", ".join(f"{f} {m:.2f} ({n})" for m, f, n in coherence[:12]))
    print(f"   median folder: {np.median([m for m, _, _ in coherence]):.2f}")
    merged = {p: lab for lab, ps in _merged_labels(a.root).items() for p in ps}
    lab = np.array([merged.get(p, p) for p in paths], dtype=object)
    iu = np.triu_indices(len(e), 1)
    sc = (e @ e.T)[iu]
    imp = lab[iu[0]] != lab[iu[1]]
    gen = sc[~imp]
    print(f"   impostor pairs: {int(imp.sum())}; median genuine score {np.median(gen):.2f}")
    for t in (0.6, 0.7):
        hi = imp & (sc > t)
        pairs = collections.Counter(
            tuple(sorted((lab[i], lab[j]))) for i, j in zip(iu[0][hi], iu[1][hi], strict=True)
        )
        print(f"   above {t}: {int(hi.sum())}, most from folder pairs {pairs.most_common(3)}")

    mates = {
        m: np.array([float(v[where[p]] @ v[where[dict(gallery)[i]]]) for i, p in mated])
        for m, v in x.items()
    }
    kinds = ("shipped", "per probe, no normal tail", "pooled")
    print("3. | gallery templates | " + " | ".join(
        f"{m} {b}: threshold, FNIR" for m in MODELS for b in kinds
    ) + " |")  # fmt: skip
    print("   |---|" + "---|" * (len(kinds) * len(MODELS)))
    for n in (99, 300, 600, 1000, 3000, 10000, 100_000, 1_000_000):
        cells = []
        for m in MODELS:
            cal = load_calibration(m)
            for c in (
                cal,
                Calibration(m, cal.table, "", {}, cal.tail),
                Calibration(m, cal.table, "", {}),
            ):
                t, _ = c.threshold(0.01, n)
                cells.append(f"{t:.3f}, {float((mates[m] < t).mean()):.3f}")
        print(f"   | {n} | " + " | ".join(cells) + " |")

    non = [(i, str(p)) for i, p in sp.nonmated_probes if str(p) in where]
    best = [g @ e[where[p]] for _, p in non]
    top = [
        (float(b.max()), i, gid[int(b.argmax())], gallery[int(b.argmax())][1])
        for b, (i, _) in zip(best, non, strict=True)
    ]
    top.sort(reverse=True)
    fp = top[: max(1, round(0.01 * len(top)))]  # the false positives at FPIR 0.01
    sex = read_groups(a.groups, "sex") if a.groups else {}
    by = collections.Counter(sex.get(i.split("+")[0], "unknown") for _, i, _, _ in fp)
    pairs = collections.Counter((i, j) for _, i, j, _ in fp)
    photos = collections.Counter("/".join(Path(g).parts[-2:]) for *_, g in fp)
    print(f"5. the {len(fp)} highest of {len(top)} non-mated probes (FPIR 0.01), by sex:"
          f" {dict(by)}")  # fmt: skip
    print("   probe folder -> gallery folder (probes): " + ", ".join(
        f"{i} -> {j} ({n})" for (i, j), n in pairs.most_common(8)
    ) + f"; scores {fp[-1][0]:.2f}-{fp[0][0]:.2f}")  # fmt: skip
    print("   gallery photos drawing most of them: " + ", ".join(
        f"{g} ({n})" for g, n in photos.most_common(3)
    ))  # fmt: skip

    print("6. photos unlike their own folder (median cosine with its other photos < 0.15) whose")
    print("   folder is coherent (its other photos' median >= 0.5), or that are closer to another")
    print("   folder (median > 0.5): candidates for a photo filed under the wrong person:")
    coherent = {}
    for f in np.unique(ids):
        k = np.flatnonzero(ids == f)
        coherent[f] = (
            float(np.median((e[k] @ e[k].T)[np.triu_indices(len(k), 1)])) if len(k) > 2 else 0.0
        )
    for k, p in enumerate(paths):
        own = ids == ids[k]
        own[k] = False
        if own.sum() < 2:
            continue
        row = e @ e[k]
        m_own = float(np.median(row[own]))
        if m_own >= 0.15:
            continue
        near = {f: float(np.median(row[ids == f])) for f in set(ids[row > 0.5]) - {ids[k]}}
        best = max(near, key=lambda x: near[x]) if near else None
        if best is not None and near[best] > 0.5:
            print(f"   {ids[k]}/{Path(p).name}: own {m_own:.2f}, folder {best} {near[best]:.2f}")
        elif coherent[ids[k]] >= 0.5:
            print(
                f"   {ids[k]}/{Path(p).name}: own {m_own:.2f}, folder median {coherent[ids[k]]:.2f}"
            )

    if a.exclude:
        drop = set(a.exclude.split(","))
        groups = read_groups(a.groups) if a.groups else None
        st = Settings(home=a.home, detector="yunet", face_model="dlib-resnet-v1")
        with tempfile.TemporaryDirectory() as tmp:
            for d in sorted(a.root.iterdir()):
                if d.is_dir() and d.name not in drop:
                    (Path(tmp) / d.name).symlink_to(d.resolve())
            print(f"4. without {sorted(drop)}:")
            for m, w in MODELS.items():
                o = _outcomes(fails, paths, fuse_parts(units, w))
                r = _row(m, _metrics(Path(tmp), st, o, groups, m).metrics)
                print(f"   {m}: rank-1 {r['rank1']}, FNIR@FPIR 0.1/0.01/0.001 {r['fnir@0.1']}"
                      f" / {r['fnir@0.01']} / {r['fnir@0.001']}, FNIR by group"
                      f" {r['fnir_by_group']}, FPIR by group {r['fpir_by_group']}")  # fmt: skip


if __name__ == "__main__":
    main()
