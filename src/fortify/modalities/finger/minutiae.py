"""Minutiae: the points a fingerprint template is made of.

Coordinates are pixels at 500 ppi, origin top-left, y down; ``angle`` is the
ridge direction in radians, counter-clockwise from the x axis (ISO/IEC 19794-2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ENDING, BIFURCATION, OTHER = 1, 2, 0


@dataclass(frozen=True)
class Minutiae:
    """A minutiae set of one finger impression (arrays of equal length)."""

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.float32]
    angle: npt.NDArray[np.float32]
    kind: npt.NDArray[np.uint8]
    quality: npt.NDArray[np.uint8]
    """0-100 per minutia."""
    width: int = 0
    height: int = 0
    ppi: int = 500

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @staticmethod
    def of(
        x: list[float] | npt.NDArray[np.float32],
        y: list[float] | npt.NDArray[np.float32],
        angle: list[float] | npt.NDArray[np.float32],
        kind: list[int] | npt.NDArray[np.generic],
        quality: list[int] | npt.NDArray[np.generic],
        width: int = 0,
        height: int = 0,
        ppi: int = 500,
    ) -> Minutiae:
        return Minutiae(
            np.asarray(x, np.float32),
            np.asarray(y, np.float32),
            np.mod(np.asarray(angle, np.float32), np.float32(2 * np.pi)),
            np.asarray(kind, np.uint8),
            np.asarray(quality, np.uint8),
            width,
            height,
            ppi,
        )

    def best(self, n: int) -> Minutiae:
        """The ``n`` minutiae of highest quality (all if fewer)."""
        if len(self) <= n:
            return self
        keep = np.sort(np.argsort(-self.quality.astype(np.int32), kind="stable")[:n])
        return Minutiae(
            self.x[keep],
            self.y[keep],
            self.angle[keep],
            self.kind[keep],
            self.quality[keep],
            self.width,
            self.height,
            self.ppi,
        )
