"""Decoding one PNG or JPEG file with Pillow into a uint8 array of one size and channel count.

- The EXIF orientation of camera photos is applied, so images come out upright.
- Grey modes (``1``, ``L``, ``LA``, and 16-bit grey scaled down to 0..255) stay grey; palette
  images are grey when every palette colour they use is grey; everything else is colour.
  ``channels=1`` converts colour with Pillow's ITU-R 601 luma; ``channels=3`` repeats grey.
  Alpha is dropped.
- ``size``: the shorter side is resized to ``size`` (bicubic, antialiased when shrinking) and the
  centre ``size`` x ``size`` square is cropped (``ImageOps.fit``, which crops first and resamples
  only the kept region: the same image, at less cost).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from genstudy.errors import DataError

__all__ = ["decode_image", "FORMATS"]

FORMATS = ("PNG", "JPEG")  # Pillow's decoders tried: a misnamed GIF or WebP is refused, not guessed
_GREY = {"1", "L", "LA", "La"}


def _grey_from_wide(im: Image.Image) -> Image.Image:
    """16-bit grey (modes ``I;16*`` and ``I``) scaled to 8 bits: Pillow's own conversion clips at 255."""
    wide = np.asarray(im, dtype=np.float64)  # (H, W), 0..65535
    return Image.fromarray(np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8))


def _is_grey(im: Image.Image) -> bool:
    if im.mode in _GREY:
        return True
    if im.mode in ("P", "PA"):
        rgb = np.asarray(im.convert("RGB"))
        return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    return False


def _to_mode(im: Image.Image, channels: int | None) -> Image.Image:
    """``im`` as mode L or RGB: as asked, or (channels None) by its own content."""
    if im.mode.startswith("I") or im.mode == "F":
        im = _grey_from_wide(im)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")  # Pillow warns when a transparent palette image goes straight to RGB
    if channels is None:
        channels = 1 if _is_grey(im) else 3
    return im.convert("L" if channels == 1 else "RGB")


def decode_image(path: Path, *, size: int | None, channels: int | None) -> np.ndarray:
    """The image at ``path`` as uint8 (H, W) grey or (H, W, 3) RGB; DataError naming the file if
    it is not a readable PNG/JPEG. ``channels`` None keeps each image's own kind (grey or colour)."""
    try:
        with Image.open(path, formats=FORMATS) as opened:
            im = ImageOps.exif_transpose(opened)  # loads (decodes) the pixels
            im = _to_mode(im, channels)
            if size is not None and im.size != (size, size):
                im = ImageOps.fit(im, (size, size), method=Image.Resampling.BICUBIC)
            return np.asarray(im, dtype=np.uint8)
    except Exception as e:  # noqa: BLE001  # a corrupt file can raise nearly anything inside Pillow
        raise DataError(
            f"image {str(path)!r} is not a readable PNG or JPEG ({type(e).__name__}: {e}); "
            "replace or delete the file"
        ) from e
