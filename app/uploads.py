"""Validating untrusted image uploads: size, format, decompression bombs, odd modes → a clean RGB array."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # ~6300×6300; larger images are refused before decoding (decompression bombs)
MAX_SIDE = 12_000
ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "BMP", "GIF"}


class ImageError(ValueError):
    """An upload that cannot be used; the message is meant for the user."""


def refusal(error: ImageError) -> str:
    """The message both apps show for an upload they cannot use."""
    return f"Upload refused: {error}"


def load_upload(data: bytes) -> np.ndarray:
    """Decode uploaded bytes into an (H, W, 3) uint8 RGB array, or raise :class:`ImageError` with a clear reason."""
    if not data:
        raise ImageError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise ImageError(f"{image.format or 'this'} files are not supported; use PNG, JPEG, WebP, BMP or GIF")
            width, height = image.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise ImageError(f"the image is {width}×{height} pixels; the limit is {MAX_PIXELS // 10**6} megapixels")
            image.seek(0)  # GIF and other animations: the first frame
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("the image declares an enormous size (a decompression bomb?) and was refused") from None
    except UnidentifiedImageError:
        raise ImageError("this is not an image file PIL can read (PNG, JPEG, WebP, BMP or GIF)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"the image is truncated or corrupt ({error})") from None
    return to_rgb_array(image)


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any PIL mode → (H, W, 3) uint8: 16-bit is rescaled, CMYK/palette/greyscale converted, alpha put on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        grey = np.clip(array / top * 255, 0, 255).round().astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        span = float(array.max() - array.min()) or 1.0
        grey = ((array - array.min()) / span * 255).round().astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))
