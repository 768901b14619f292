"""Reading uploaded files with a hard size limit (streamed, never fully buffered past it)."""

from __future__ import annotations

from fastapi import UploadFile

from fortify.errors import InvalidImage, PayloadTooLarge

CHUNK = 1 << 16


def read_upload(upload: UploadFile, limit: int) -> bytes:
    if upload.content_type and not (
        upload.content_type.startswith("image/")
        or upload.content_type == "application/octet-stream"
    ):
        raise InvalidImage(f"expected an image, got {upload.content_type}")
    parts: list[bytes] = []
    size = 0
    while chunk := upload.file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"upload is larger than {limit} bytes", limit=limit)
        parts.append(chunk)
    return b"".join(parts)
