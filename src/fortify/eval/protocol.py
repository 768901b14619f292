"""Seeded open-set evaluation protocol for datasets laid out as ``ROOT/<identity>/<images>``.

The identities are split into an enrolled half (gallery images plus *mated* probes from the
remaining images) and a non-enrolled half whose every image is a *non-mated* probe.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fortify.imaging import image_suffixes

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = image_suffixes()  # every format the image loader accepts

Sample = tuple[str, Path]


@dataclass(frozen=True)
class OpenSetSplit:
    """Result of :func:`split_open_set`; every entry is ``(identity, image path)``."""

    gallery: tuple[Sample, ...]
    mated_probes: tuple[Sample, ...]
    nonmated_probes: tuple[Sample, ...]
    seed: int

    @property
    def gallery_identities(self) -> tuple[str, ...]:
        return tuple(sorted({identity for identity, _ in self.gallery}))

    def summary(self) -> dict[str, int]:
        return {
            "gallery_identities": len(self.gallery_identities),
            "gallery_images": len(self.gallery),
            "mated_probes": len(self.mated_probes),
            "nonmated_probes": len(self.nonmated_probes),
            "nonmated_identities": len({identity for identity, _ in self.nonmated_probes}),
        }


def list_identities(root: Path) -> dict[str, list[Path]]:
    """Sorted ``identity -> sorted image paths``; skips hidden entries and empty folders."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"dataset root {root} is not a directory")
    out: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        images = sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if images:
            out[folder.name] = images
    return out


def _identity_rng(seed: int, identity: str) -> np.random.Generator:
    """Per-identity stream, so one identity's draw does not depend on the others."""
    return np.random.default_rng([seed, zlib.crc32(identity.encode("utf-8"))])


def split_open_set(
    root: Path | Mapping[str, list[Path]],
    *,
    seed: int = 0,
    enroll_per_identity: int | Literal["all_but_one"] = 1,
    gallery_fraction: float = 0.5,
    max_identities: int | None = None,
) -> OpenSetSplit:
    """Deterministic open-set split of ``root``.

    Args:
        root: dataset folder with one sub-folder of images per identity, or such a
            mapping ``identity -> image paths`` already made (e.g. after merging folders
            found to hold the same person).
        seed: controls every random choice; the same seed and files give the same split.
        enroll_per_identity: images enrolled per gallery identity, or ``"all_but_one"``.
            Gallery identities always keep at least one image as a mated probe, so those
            with too few images can only land in the non-mated half.
        gallery_fraction: share of the (selected) identities to enrol, rounded to nearest;
            fewer are enrolled (with a warning) when not enough identities are eligible.
        max_identities: if given, a seeded random subset of this many identities is used.

    Raises:
        ValueError: bad arguments or a root without any image.
    """
    if enroll_per_identity != "all_but_one" and (
        not isinstance(enroll_per_identity, int) or enroll_per_identity < 1
    ):
        raise ValueError(
            f"enroll_per_identity must be a positive int or 'all_but_one', "
            f"got {enroll_per_identity!r}"
        )
    if not 0.0 <= gallery_fraction <= 1.0:
        raise ValueError(f"gallery_fraction must be in [0, 1], got {gallery_fraction}")
    if max_identities is not None and max_identities < 1:
        raise ValueError(f"max_identities must be >= 1, got {max_identities}")

    identities = (
        {k: sorted(v) for k, v in root.items() if v}
        if isinstance(root, Mapping)
        else list_identities(root)
    )
    if not identities:
        where = root if isinstance(root, Path | str) else "the given folders"
        raise ValueError(
            f"no identity folders with images under {where} "
            f"(image files end in {', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    rng = np.random.default_rng(seed)
    names = sorted(identities)
    if max_identities is not None and max_identities < len(names):
        names = sorted(rng.permutation(np.array(names, dtype=object))[:max_identities].tolist())

    min_images = 2 if enroll_per_identity == "all_but_one" else enroll_per_identity + 1
    eligible = [n for n in names if len(identities[n]) >= min_images]
    wanted = math.floor(gallery_fraction * len(names) + 0.5)
    if wanted > len(eligible):
        logger.warning(
            "only %d of %d identities have >= %d images; enrolling %d instead of %d",
            len(eligible),
            len(names),
            min_images,
            len(eligible),
            wanted,
        )
        wanted = len(eligible)
    chosen = set(rng.permutation(np.array(eligible, dtype=object))[:wanted].tolist())

    gallery: list[Sample] = []
    mated: list[Sample] = []
    nonmated: list[Sample] = []
    for name in names:
        images = identities[name]
        if name not in chosen:
            nonmated.extend((name, p) for p in images)
            continue
        order = _identity_rng(seed, name).permutation(len(images))
        k = len(images) - 1 if enroll_per_identity == "all_but_one" else enroll_per_identity
        enrolled = sorted(int(i) for i in order[:k])
        probes = sorted(int(i) for i in order[k:])
        gallery.extend((name, images[i]) for i in enrolled)
        mated.extend((name, images[i]) for i in probes)
    if not nonmated:
        logger.warning(
            "open-set split has no non-mated probes (gallery_fraction=%s)", gallery_fraction
        )
    split = OpenSetSplit(tuple(gallery), tuple(mated), tuple(nonmated), seed)
    logger.info("open-set split (seed %d): %s", seed, split.summary())
    return split


def all_pairs(
    labels: Sequence[Any] | ArrayLike,
    *,
    max_impostor_pairs: int | None = None,
    seed: int = 0,
) -> tuple[NDArray[np.integer[Any]], NDArray[np.integer[Any]]]:
    """Index pairs ``(i, j)``, ``i < j``, split into genuine (same label) and impostor pairs.

    Returns two ``(k, 2)`` integer arrays in row-major upper-triangle order. Indices are int32
    when they fit, halving memory (4,200 items: ~8.8M pairs, ~70 MB in total). With
    ``max_impostor_pairs`` a seeded uniform subset of impostor pairs is kept (sorted order).
    """
    _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    n = int(codes.size)
    dtype = np.int32 if n * (n - 1) // 2 < np.iinfo(np.int32).max else np.int64
    codes = codes.astype(dtype)
    genuine_parts: list[NDArray[np.integer[Any]]] = []
    impostor_parts: list[NDArray[np.integer[Any]]] = []
    for i in range(n - 1):  # one vectorised row at a time: memory stays ~ the output size
        partners = np.arange(i + 1, n, dtype=dtype)
        same = codes[i + 1 :] == codes[i]
        genuine_parts.append(partners[same])
        impostor_parts.append(partners[~same])
    genuine = _rows_to_pairs(genuine_parts, dtype)
    impostor = _rows_to_pairs(impostor_parts, dtype)
    if max_impostor_pairs is not None and len(impostor) > max_impostor_pairs:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(impostor), max_impostor_pairs, replace=False))
        impostor = impostor[pick]
    return genuine, impostor


def pair_scores(
    x: NDArray[np.floating[Any]], pairs: NDArray[np.integer[Any]], *, block: int = 1 << 20
) -> NDArray[np.float32]:
    """Inner products ``x[i] . x[j]`` of the index ``pairs``, in bounded memory.

    Gathering both rows of every pair first costs ``2 * pairs * dim`` floats (8.8M pairs of
    512-d templates: 36 GB); this reads blocks of pairs from one Gram matrix when it is
    small (``n^2`` floats: 4,200 templates, 70 MB), else gathers one block at a time.
    """
    x = np.asarray(x, np.float32)
    out = np.empty(len(pairs), np.float32)
    gram = x @ x.T if len(x) <= 16_384 else None
    for a in range(0, len(pairs), block):
        p = pairs[a : a + block]
        if gram is not None:
            out[a : a + block] = gram[p[:, 0], p[:, 1]]
        else:
            out[a : a + block] = np.einsum("ij,ij->i", x[p[:, 0]], x[p[:, 1]])
    return out


def _rows_to_pairs(
    parts: list[NDArray[np.integer[Any]]], dtype: type[np.integer[Any]]
) -> NDArray[np.integer[Any]]:
    """Stack per-row partner lists (row i = partners of item i) into an ``(k, 2)`` array."""
    out = np.empty((sum(p.size for p in parts), 2), dtype=dtype)
    lengths = np.array([p.size for p in parts], dtype=np.int64)
    out[:, 0] = np.repeat(np.arange(len(parts), dtype=dtype), lengths)
    if parts:
        np.concatenate(parts, out=out[:, 1])
    return out
