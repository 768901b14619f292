"""The fingerprint modality: image/WSQ/ISO in, minutiae template out, MCC 1:1 scores.

A template's payload is an ISO/IEC 19794-2:2005 minutiae record (so it can be
exchanged); its index vector is the set of its minutiae's local codes
(:mod:`fortify.modalities.finger.codes`), which vote in a set index to preselect a
shortlist that the minutiae matcher re-ranks.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import replace

from fortify.config import Settings
from fortify.errors import InvalidInput, NoFingerFound, QualityTooLow
from fortify.modalities.base import AcquireOptions, Acquisition
from fortify.modalities.finger import codes, contactless, enhance, iso19794, mcc, slap
from fortify.modalities.finger.extract import MindtctExtractor
from fortify.modalities.finger.images import ridge_check
from fortify.modalities.finger.minutiae import Minutiae
from fortify.types import Template

log = logging.getLogger(__name__)

MODEL_ID = "finger-mindtct-mcc-v3"
"""v3: v2's minutiae, MCC cylinders with narrower and softer cells and 20 relaxed pairs
(see :mod:`fortify.modalities.finger.mcc`), a ridge check that no longer refuses prints
with a blotchy background, and an index vector that is the set of local minutia codes
(v2: the mean cylinder), so a v2 index cannot serve it; v2: mindtct sees the
Gabor-enhanced print (v1: the raw print). Templates of different ids are not mixed (a
model id change re-indexes, and the scores of one are not calibrated for another)."""
MODEL_VERSION = (
    "gabor-0.4x0.8-edge12(photos: unwrap only)+mindtct(nbis-py 0.1.3)"
    "+mcc-lssr-2(s7,psi200,rel20)+codes-pca64x60"
)
ENHANCE = enhance.GaborParams(sigma=0.4, sigma_along=0.8)
"""The enhancement of v2 and v3 (see ``bench/bench_finger_enhance.py``)."""
EDGE_MARGIN = 12.0
"""Minutiae closer than this (px) to the foreground's edge are dropped (cut-off ridges)."""


class FingerModality:
    """Contact fingerprints (500 ppi): mindtct minutiae, MCC cylinders, LSS-R scores."""

    name = "finger"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fs = settings.finger
        self.search_shortlist = self.fs.shortlist
        self.extractor = MindtctExtractor(self.fs.compute_nfiq2)
        self._cache: OrderedDict[bytes, mcc.Cylinders] = OrderedDict()
        self._lock = threading.Lock()

    def model_spec(self) -> tuple[str, int]:
        return MODEL_ID, codes.VECTOR_DIM

    def index_factory(self, default: str) -> str:
        """Finger templates live in a set index (local codes vote) over the finger FAISS index."""
        return codes.index_factory(self.fs.index_factory)

    def prepare(self) -> FingerModality:
        self.extractor.prepare()
        codes.projection()
        return self

    # -- acquisition ---------------------------------------------------------------------------
    def acquire_all(self, data: bytes, options: AcquireOptions) -> list[Acquisition]:
        """One finger, or each fingertip of a four-finger slap (code 13/14) on its own.

        A slap's fingertip that fails the normal acquisition is left out (the others
        carry ``slap_finger_skipped``); ``no_finger`` when the slap shows fewer than
        two fingers or none of them is a finger, else ``quality_too_low``.
        """
        if not slap.is_slap(options.finger_position):
            return [self.acquire(data, options)]
        tips = slap.fingertips(data, options.finger_position, self.settings.max_image_pixels)
        used: list[tuple[slap.Fingertip, Acquisition]] = []
        errors: list[QualityTooLow] = []
        for tip in tips:
            try:
                opts = replace(options, finger_position=tip.finger_position)
                used.append((tip, self.acquire(tip.data, opts)))
            except QualityTooLow as exc:
                log.info("slap finger %d left out: %s", tip.finger_position, exc.code)
                errors.append(exc)
        if not used:  # a real finger of poor quality says so; else none was a finger
            raise next((e for e in errors if not isinstance(e, NoFingerFound)), errors[0])
        info = {
            "finger_position": options.finger_position,
            "fingers_found": len(tips),
            "fingers_used": [tip.finger_position for tip, _ in used],
        }
        out: list[Acquisition] = []
        for tip, a in used:
            warnings = [*a.warnings, *tip.warnings] + (["slap_finger_skipped"] if errors else [])
            quality = {**a.quality, "warnings": warnings, "slap": {**info, "box": tip.box}}
            out.append(replace(a, quality=quality, warnings=tuple(warnings), found=len(tips)))
        return out

    def acquire(self, data: bytes, options: AcquireOptions) -> Acquisition:
        if slap.is_slap(options.finger_position):
            raise InvalidInput(
                "a four-finger image (code 13/14) is searched finger by finger; "
                "enrol each finger on its own with its position"
            )
        if iso19794.is_iso(data):
            m, finger, fq = iso19794.read(data)
            if len(m) < self.fs.min_minutiae:
                raise QualityTooLow(
                    f"the template has {len(m)} minutiae (at least {self.fs.min_minutiae})",
                    warnings=["too_few_minutiae"],
                )
            pos = options.finger_position or finger
            quality = {
                "minutiae": len(m),
                "iso_quality": fq,
                "source": "iso19794-2",
                "warnings": [],
            }
            return Acquisition(self.template(m, pos), quality, [0, 0, m.width, m.height])
        gray, photo = contactless.decode_finger(data, self.settings.max_image_pixels)
        if photo is not None and photo.gray is None:
            raise NoFingerFound(
                f"no finger found in the photo: {photo.error}",
                quality={"contactless": photo.info},
                warnings=["no_finger"],
            )
        check = ridge_check(gray)
        if check.foreground < 0.08 or not 4.0 <= check.period <= 14.0 or check.coherence < 0.15:
            raise NoFingerFound(
                "no fingerprint found in the image", quality=check.to_dict(), warnings=["no_finger"]
            )
        fg = enhance.foreground(gray)
        ext = self.extractor.extract(
            gray,
            # a contactless photo is already band-passed and equalised by its unwrap;
            # Gabor on top of it made the SYNTHETIC photo EER worse (10.4 -> 12.9%)
            None if photo is not None else enhance.gabor(gray, None, ENHANCE, fg),
            nfiq2=options.strict_quality or self.fs.probe_nfiq2,
        )
        found = enhance.inside(ext.minutiae, fg, EDGE_MARGIN)
        m = found.best(self.fs.max_minutiae)
        warnings: list[str] = []
        if len(found) < self.fs.min_minutiae:
            warnings.append("too_few_minutiae")
        if ext.nfiq2 is not None and ext.nfiq2 < self.fs.min_nfiq2:
            warnings.append("nfiq2_low")
        quality = {
            "nfiq2": ext.nfiq2,
            "minutiae": len(found),
            **check.to_dict(),
            "warnings": warnings,
        }
        if photo is not None:
            quality["contactless"] = photo.info
        if "too_few_minutiae" in warnings or (options.strict_quality and warnings):
            raise QualityTooLow(
                "fingerprint quality too low: " + ", ".join(warnings),
                warnings=warnings,
                quality=quality,
            )
        rgb = None
        if gray.size:
            import numpy as np

            rgb = np.repeat(gray[:, :, None], 3, axis=2)
        return Acquisition(
            self.template(m, options.finger_position, ext.nfiq2 or 0),
            quality,
            check.box,
            found=1,
            warnings=tuple(warnings),
            image=rgb,
        )

    def template(self, m: Minutiae, finger_position: int = 0, quality: int = 0) -> Template:
        """A Fortify template of a minutiae set (ISO record payload + preselection vector)."""
        payload = iso19794.write(m, finger_position, quality)
        cyl = self._cylinders(payload, m)
        return Template(
            vector=codes.local_codes(cyl),
            model_id=MODEL_ID,
            model_version=MODEL_VERSION,
            modality="finger",
            finger_position=finger_position,
            payload=payload,
        )

    # -- matching ------------------------------------------------------------------------------
    def _cylinders(self, payload: bytes, m: Minutiae | None = None) -> mcc.Cylinders:
        key = hashlib.blake2b(payload, digest_size=16).digest()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        if m is None:
            m, _, _ = iso19794.read(payload)
        c = mcc.cylinders(m)
        with self._lock:
            self._cache[key] = c
            while len(self._cache) > 50_000:
                self._cache.popitem(last=False)
        return c

    def compare(self, a: Template, b: Template) -> float:
        """MCC LSS-R score in [0, 1] of two finger templates."""
        return mcc.score(self._cylinders(a.payload), self._cylinders(b.payload))

    def compare_minutiae(self, a: Minutiae, b: Minutiae) -> float:
        return mcc.score(mcc.cylinders(a), mcc.cylinders(b))

    def fuse(self, templates: list[Template]) -> list[Template]:
        """Finger captures are not averaged: each is ranked, an identity's best counts."""
        return templates
