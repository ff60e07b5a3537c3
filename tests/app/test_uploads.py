"""Bad uploads give a clear message; odd but valid images are converted to RGB."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from app.uploads import MAX_UPLOAD_BYTES, ImageError, load_upload


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image"),
        (_encode(Image.new("RGB", (64, 64), "red"), "PNG")[:120], "truncated or corrupt"),
        (_png_header_claiming(50_000, 50_000), "decompression bomb|limit"),
        (b"\x00" * (MAX_UPLOAD_BYTES + 1), "limit"),
        (_encode(Image.new("RGB", (8, 8)), "TIFF"), "not supported"),
    ],
    ids=["empty", "not-an-image", "truncated", "bomb", "too-large", "tiff"],
)
def test_bad_uploads_raise_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        load_upload(data)


@pytest.mark.parametrize(
    "image, fmt",
    [
        (Image.new("CMYK", (10, 12), (0, 255, 255, 0)), "JPEG"),
        (Image.new("P", (10, 12), 3), "GIF"),
        (Image.new("L", (10, 12), 128), "PNG"),
        (Image.new("RGBA", (10, 12), (255, 0, 0, 0)), "PNG"),
        (Image.fromarray(np.full((12, 10), 65535, dtype=np.uint16)), "PNG"),
        (Image.new("RGB", (10, 12), "blue"), "WEBP"),
        (Image.new("RGB", (10, 12), "blue"), "BMP"),
    ],
    ids=["cmyk", "palette-gif", "grey", "rgba", "16-bit", "webp", "bmp"],
)
def test_valid_modes_become_rgb(image: Image.Image, fmt: str) -> None:
    array = load_upload(_encode(image, fmt))
    assert array.shape == (12, 10, 3) and array.dtype == np.uint8
    if image.mode == "RGBA":
        assert array[0, 0].tolist() == [255, 255, 255], "transparent pixels go on white"
    if image.mode.startswith("I"):
        assert array[0, 0].tolist() == [255, 255, 255], "16-bit white stays white"


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("P", (6, 6), i) for i in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    assert load_upload(buffer.getvalue()).shape == (6, 6, 3)
