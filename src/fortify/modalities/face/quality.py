"""Image-quality measures of a face: size, sharpness (blur) and exposure."""

from __future__ import annotations

import cv2
import numpy as np

from fortify.imaging import RGBImage
from fortify.types import Quality


def assess(
    chip: RGBImage,
    face_px: int,
    *,
    min_face_px: int,
    min_sharpness: float,
    min_brightness: float,
    max_brightness: float,
) -> Quality:
    """Measure an aligned face chip.

    ``sharpness`` is the variance of the Laplacian of the grey chip (low = blurred);
    ``brightness`` is its mean grey level (0-255).
    """
    grey = cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2GRAY)
    sharpness = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    brightness = float(grey.mean())
    warnings: list[str] = []
    if face_px < min_face_px:
        warnings.append("face_too_small")
    if sharpness < min_sharpness:
        warnings.append("blurred")
    if brightness < min_brightness:
        warnings.append("too_dark")
    elif brightness > max_brightness:
        warnings.append("too_bright")
    return Quality(
        face_px=face_px, sharpness=sharpness, brightness=brightness, warnings=tuple(warnings)
    )
