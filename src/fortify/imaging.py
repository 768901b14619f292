"""Safe image decoding: size limits, decompression-bomb guard, EXIF orientation.

Decoding is bounded in memory and time: JPEGs are decoded at a reduced scale
(``draft``) when they are larger than ``max_side``, other formats are refused when
more than ``max_decode_pixels`` would have to be decoded at full size, and every
decoded image is reduced to ``max_side`` before it is converted and copied.
:class:`LargeImageGate` lets only a few large images be processed at once.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from fortify.errors import ImageTooLarge, InvalidImage, PayloadTooLarge, ServiceBusy

log = logging.getLogger(__name__)

RGBImage = npt.NDArray[np.uint8]
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "MPO", "PPM"})
DEFAULT_MAX_BYTES = 15 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000


def read_bytes(source: str | Path | bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Return the raw bytes of ``source`` (a path or bytes), refusing oversized input."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InvalidImage(f"no such file: {path}", path=str(path))
        size = path.stat().st_size
        if size > max_bytes:
            raise PayloadTooLarge(
                f"file is {size} bytes, the limit is {max_bytes}", size=size, limit=max_bytes
            )
        data = path.read_bytes()
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"image is {len(data)} bytes, the limit is {max_bytes}", size=len(data), limit=max_bytes
        )
    if not data:
        raise InvalidImage("empty file")
    return data


def image_suffixes() -> frozenset[str]:
    """File-name endings of every format :func:`decode_image` accepts (``.pgm`` included)."""
    Image.init()
    return frozenset(
        ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in ALLOWED_FORMATS
    )


_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(_EXIF_ORIENTATION, 1))
    except (OSError, ValueError, TypeError):
        return 1


def decode_image(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    max_decode_pixels: int | None = None,
    max_side: int | None = None,
) -> RGBImage:
    """Decode bytes to an RGB ``uint8`` array (H, W, 3), upright per EXIF.

    Raises :class:`InvalidImage` for non-images, unsupported formats and truncated
    files, and :class:`ImageTooLarge` when the pixel count exceeds ``max_pixels``
    (checked from the header, before any pixel is decoded) or when more than
    ``max_decode_pixels`` would be decoded at full size (JPEGs first get a reduced
    decoding scale). With ``max_side`` the result is reduced to that longest side.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or "?"
            if fmt not in ALLOWED_FORMATS:
                raise InvalidImage(f"unsupported image format {fmt}", format=fmt)
            w, h = img.size
            if w * h > max_pixels:
                raise ImageTooLarge(
                    f"image has {w}x{h} pixels, the limit is {max_pixels}",
                    width=w,
                    height=h,
                    limit=max_pixels,
                )
            if w < 16 or h < 16:
                raise InvalidImage(f"image is too small ({w}x{h})", width=w, height=h)
            if max_side is None and max_decode_pixels is None:
                img.load()
                upright = ImageOps.exif_transpose(img) or img
                rgb = upright.convert("RGB")
            else:
                rgb = _decode_reduced(img, max_decode_pixels, max_side)
    except (InvalidImage, ImageTooLarge):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageTooLarge(f"image rejected as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage("not a recognised image file") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"corrupt or truncated image: {exc}") from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _decode_reduced(
    img: Image.Image, max_decode_pixels: int | None, max_side: int | None
) -> Image.Image:
    """Decode at most ``max_decode_pixels`` and return RGB no larger than ``max_side``."""
    w, h = img.size
    if max_side is not None and max(w, h) > max_side and img.format in ("JPEG", "MPO"):
        # the decoder picks the strongest 1/2, 1/4, 1/8 scale that keeps at least this
        # size; asking for half of max_side lands the result between half and all of it
        scale = max_side / max(w, h) / 2
        img.draft("RGB", (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
    dw, dh = img.size
    if max_decode_pixels is not None and dw * dh > max_decode_pixels:
        raise ImageTooLarge(
            f"image has {w}x{h} pixels; decoding it needs {dw * dh} pixels at full size, "
            f"the limit is {max_decode_pixels} (FORTIFY_MAX_PROBE_PIXELS)",
            width=w,
            height=h,
            limit=max_decode_pixels,
        )
    img.load()
    orientation = _orientation(img)  # after the size check: PNG reads EXIF by decoding
    if max_side is not None and max(dw, dh) > max_side:
        img = img.reduce(math.ceil(max(dw, dh) / max_side))
    if orientation in _TRANSPOSE:
        img = img.transpose(_TRANSPOSE[orientation])
    return img.convert("RGB")


def header_pixels(data: bytes) -> int:
    """Pixel count from the image header (nothing decoded); 0 if it is not an image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except Exception:  # not an image: the decoder will say so, cheaply
        return 0
    return int(w) * int(h)


class LargeImageGate:
    """Per-process limit on how many large images are decoded and processed at once.

    Small images pass freely; an image over ``threshold_pixels`` waits for one of
    ``slots`` (at most ``wait_s`` seconds, then :class:`ServiceBusy`), so a flood of
    large uploads costs one core's worth of work and its memory, not all of them.
    """

    def __init__(self, threshold_pixels: int, slots: int = 1, wait_s: float = 30.0) -> None:
        self.threshold_pixels = threshold_pixels
        self.wait_s = wait_s
        self._slots = threading.BoundedSemaphore(slots)

    @contextmanager
    def admit(self, data: bytes) -> Iterator[None]:
        if header_pixels(data) <= self.threshold_pixels:
            yield
            return
        if not self._slots.acquire(timeout=self.wait_s):
            raise ServiceBusy("too many large images are being processed; retry later")
        try:
            yield
        finally:
            self._slots.release()


def load_image(
    source: str | Path | bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_decode_pixels: int | None = None,
    max_side: int | None = None,
) -> RGBImage:
    """Load a path or bytes as an RGB array with every safety check applied."""
    return decode_image(
        read_bytes(source, max_bytes),
        max_pixels,
        max_decode_pixels=max_decode_pixels,
        max_side=max_side,
    )


def encode_jpeg(image: RGBImage, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
