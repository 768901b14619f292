"""Safe image decoding: size limits, decompression-bomb guard, EXIF orientation."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from fortify.errors import ImageTooLarge, InvalidImage, PayloadTooLarge

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


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> RGBImage:
    """Decode bytes to an RGB ``uint8`` array (H, W, 3), upright per EXIF.

    Raises :class:`InvalidImage` for non-images, unsupported formats and truncated
    files, and :class:`ImageTooLarge` when the pixel count exceeds ``max_pixels``
    (checked from the header, before any pixel is decoded).
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
            img.load()
            upright = ImageOps.exif_transpose(img) or img
            rgb = upright.convert("RGB")
    except (InvalidImage, ImageTooLarge):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageTooLarge(f"image rejected as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage("not a recognised image file") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"corrupt or truncated image: {exc}") from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def load_image(
    source: str | Path | bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> RGBImage:
    """Load a path or bytes as an RGB array with every safety check applied."""
    return decode_image(read_bytes(source, max_bytes), max_pixels)


def encode_jpeg(image: RGBImage, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
