"""Images the lab works on: built-in samples, files, and tensor <-> display conversions.

Everything here is plain NumPy / Pillow / torch. An image travels through the app as a
`LabImage`: an (H, W, 3) or (H, W) uint8 array plus a name and where it came from.
Panels turn it into a float tensor with `to_tensor` and back into something drawable
with `to_display`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily: it costs seconds at start-up
    import torch

#: The largest image the lab accepts, in pixels (4096 x 4096). Larger files are refused
#: with a message rather than freezing every panel that works on the current image.
MAX_PIXELS = 4096 * 4096
READABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")


class ImageLoadError(ValueError):
    """A file could not be used as an image; the message says why, for the user."""


@dataclass(frozen=True, eq=False)
class LabImage:
    """An image as the app holds it: uint8 pixels, (H, W) gray or (H, W, 3) RGB."""

    name: str
    pixels: np.ndarray
    #: "sample:<id>" for built-in samples, otherwise the file path it was read from.
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        pixels = self.pixels
        if pixels.dtype != np.uint8:
            raise TypeError(f"LabImage pixels must be uint8, got {pixels.dtype}")
        if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
            raise ValueError(f"LabImage pixels must be (H, W) or (H, W, 3), got {pixels.shape}")
        pixels.setflags(write=False)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_gray(self) -> bool:
        return self.pixels.ndim == 2

    @property
    def channels(self) -> int:
        return 1 if self.is_gray else 3

    def describe(self) -> str:
        kind = "gray" if self.is_gray else "RGB"
        return f"{self.name} — {self.width}×{self.height} {kind}"


# --------------------------------------------------------------------------- samples

SAMPLES: dict[str, str] = {
    "pattern": "Test pattern (asymmetric: shows flips, rotations, crops)",
    "china": "Photo: China (scikit-learn sample)",
    "flower": "Photo: flower (scikit-learn sample)",
    "digits": "Handwritten digits 0–9 (scikit-learn, 8×8 each, shown ×4)",
}
DEFAULT_SAMPLE = "pattern"


def sample_names() -> list[str]:
    return list(SAMPLES)


def load_sample(sample_id: str) -> LabImage:
    """A built-in image by id (see `SAMPLES`)."""
    if sample_id not in SAMPLES:
        raise ImageLoadError(f"no built-in image called {sample_id!r}; choose one of "
                             f"{', '.join(SAMPLES)}")
    return LabImage(SAMPLES[sample_id].split(" (")[0], _sample_pixels(sample_id),
                    source=f"sample:{sample_id}")


@cache
def _sample_pixels(sample_id: str) -> np.ndarray:
    if sample_id == "pattern":
        return _make_test_pattern()
    if sample_id == "digits":
        return _digits_montage()
    return _sklearn_photo(f"{sample_id}.jpg")


def _sklearn_photo(filename: str) -> np.ndarray:
    from sklearn.datasets import load_sample_image

    return np.ascontiguousarray(load_sample_image(filename), dtype=np.uint8)


def _digits_montage(scale: int = 4) -> np.ndarray:
    """The first example of each digit 0–9 in a 2×5 grid, ink white on black."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    tiles = []
    for d in range(10):
        index = int(np.flatnonzero(digits.target == d)[0])
        tile = (digits.images[index] / 16.0 * 255.0).round().astype(np.uint8)
        tiles.append(np.pad(tile, 1))
    rows = [np.concatenate(tiles[r * 5:(r + 1) * 5], axis=1) for r in range(2)]
    montage = np.concatenate(rows, axis=0)
    return np.kron(montage, np.ones((scale, scale), dtype=np.uint8))


def _make_test_pattern(size: int = 256) -> np.ndarray:
    """A picture with no symmetry at all, so every flip, rotation and crop is visible.

    Coloured corners (red top-left, green top-right, blue bottom-left, yellow
    bottom-right), a large "F" (no mirror symmetry), an arrow pointing up-right, a
    checkerboard in one corner only, and a horizontal brightness ramp.
    """
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    ramp = 40 + 60 * x
    img = np.stack([ramp, ramp, ramp + 20], axis=-1)
    c = size // 8
    img[:c, :c] = (220, 40, 40)
    img[:c, -c:] = (40, 190, 60)
    img[-c:, :c] = (40, 80, 220)
    img[-c:, -c:] = (235, 210, 40)
    # checkerboard, bottom-left quadrant interior only
    cell = max(size // 32, 2)
    board = ((np.arange(size)[:, None] // cell + np.arange(size)[None, :] // cell) % 2) == 0
    region = (y > 0.6) & (y < 0.85) & (x > 0.15) & (x < 0.4)
    img[region & board] = (230, 230, 230)
    img[region & ~board] = (30, 30, 30)
    # the letter F
    s = size / 256
    img[int(40 * s):int(140 * s), int(80 * s):int(100 * s)] = (250, 250, 250)
    img[int(40 * s):int(58 * s), int(80 * s):int(150 * s)] = (250, 250, 250)
    img[int(82 * s):int(98 * s), int(80 * s):int(130 * s)] = (250, 250, 250)
    # an arrow from the centre towards the top-right
    t = np.linspace(0, 1, size * 2)
    ax = (0.55 + 0.3 * t) * (size - 1)
    ay = (0.8 - 0.45 * t) * (size - 1)
    for dx in range(-2, 3):
        for dy in range(-2, 3):
            img[np.clip(ay + dy, 0, size - 1).astype(int),
                np.clip(ax + dx, 0, size - 1).astype(int)] = (255, 120, 0)
    head_y, head_x = ay[-1], ax[-1]
    head = (np.abs(x * (size - 1) - head_x) + np.abs(y * (size - 1) - head_y)) < 14 * s
    img[head] = (255, 120, 0)
    return np.clip(img, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- files

def load_file(path: str | Path, max_pixels: int = MAX_PIXELS) -> LabImage:
    """Read PNG / JPEG / BMP / WebP (and TIFF, GIF's first frame) into a LabImage.

    Raises `ImageLoadError` with a message fit for the user when the file is missing,
    unreadable, not an image, or larger than `max_pixels`.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageLoadError(f"{path.name}: no such file")
    try:
        with warnings.catch_warnings():
            # Pillow warns about "decompression bombs" before we get to check the size.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > max_pixels:
                    side = int(max_pixels ** 0.5)
                    raise ImageLoadError(
                        f"{path.name} is {width}×{height} pixels; the lab handles up to "
                        f"{max_pixels:,} pixels (e.g. {side}×{side}). Shrink it first.")
                im.seek(0)
                note = ""
                if im.mode in WIDE_MODES:
                    pixels, note = _to_8_bits(np.asarray(im), im.mode)
                else:
                    gray = im.mode in ("1", "L")
                    im = im.convert("L" if gray else "RGB")
                    pixels = np.asarray(im, dtype=np.uint8).copy()
    except ImageLoadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ImageLoadError(f"{path.name} is not an image the lab can read "
                             f"(PNG, JPEG, BMP, WebP): {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageLoadError(f"{path.name} could not be read: {exc}") from exc
    if pixels.size == 0:
        raise ImageLoadError(f"{path.name} has no pixels")
    return LabImage(path.name, pixels, source=str(path),
                    meta={"conversion": note} if note else {})


#: Pillow modes with more than 8 bits per value: 16-bit and 32-bit integers, floats
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def _to_8_bits(values: np.ndarray, mode: str) -> tuple[np.ndarray, str]:
    """A 16/32-bit or float gray image as uint8, its real range of values stretched to
    0–255 (Pillow's own conversion clips: a 16-bit PNG came out all white, a float TIFF
    all black); the note says what was done."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    kind = "floating-point" if mode == "F" else (
        "16-bit" if mode.startswith("I;16") else "32-bit integer")
    if finite.size == 0:
        return np.zeros(values.shape, np.uint8), (f"{kind} image without finite values, "
                                                  "shown black")
    low, high = float(finite.min()), float(finite.max())
    scaled = np.zeros(values.shape) if high == low else (values - low) / (high - low) * 255
    pixels = np.clip(np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0), 0, 255)
    return (np.round(pixels).astype(np.uint8),
            f"{kind} image shown as 8 bits: its values {low:g}…{high:g} stretched to 0…255")


def load_source(source: str) -> LabImage:
    """Reload an image from its `LabImage.source` (a sample id or a file path)."""
    if source.startswith("sample:"):
        return load_sample(source.removeprefix("sample:"))
    return load_file(source)


# --------------------------------------------------------------------------- conversion

def to_gray(pixels: np.ndarray) -> np.ndarray:
    """RGB uint8 -> gray uint8 with ITU-R 601 luma weights (what Pillow's "L" uses)."""
    if pixels.ndim == 2:
        return pixels
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip((pixels.astype(np.float32) @ weights).round(), 0, 255).astype(np.uint8)


def to_rgb(pixels: np.ndarray) -> np.ndarray:
    """Gray uint8 -> RGB uint8 by repeating the channel."""
    if pixels.ndim == 3:
        return pixels
    return np.repeat(pixels[:, :, None], 3, axis=2)


def to_tensor(image: LabImage | np.ndarray, mode: str = "keep") -> torch.Tensor:
    """A float32 (C, H, W) tensor in [0, 1]. `mode`: "keep", "gray" (C=1) or "rgb" (C=3)."""
    import torch

    pixels = image.pixels if isinstance(image, LabImage) else image
    if mode == "gray":
        pixels = to_gray(pixels)
    elif mode == "rgb":
        pixels = to_rgb(pixels)
    elif mode != "keep":
        raise ValueError(f"mode must be 'keep', 'gray' or 'rgb', not {mode!r}")
    array = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    # LabImage pixels are read-only; torch wants a writable buffer, so copy once.
    return torch.from_numpy(np.array(array, dtype=np.uint8)).float().div_(255.0)


def to_display(tensor: torch.Tensor, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """(C, H, W) or (H, W) tensor -> (H, W) or (H, W, 3) uint8 for drawing.

    Values are mapped linearly so that `low` -> 0 and `high` -> 255, then clipped.
    Channels other than 1 or 3 are not an image: pass one channel at a time.
    """
    t = tensor.detach()
    if t.ndim == 4 and t.shape[0] == 1:
        t = t[0]
    if t.ndim == 3:
        if t.shape[0] == 1:
            t = t[0]
        elif t.shape[0] == 3:
            t = t.permute(1, 2, 0)
        else:
            raise ValueError(f"to_display needs 1 or 3 channels, got {t.shape[0]}")
    elif t.ndim != 2:
        raise ValueError(f"to_display needs (C, H, W) or (H, W), got shape {tuple(t.shape)}")
    scale = 255.0 / (high - low) if high != low else 0.0
    out = ((t.float().cpu() - low) * scale).clamp_(0, 255).round_().to(dtype=_uint8())
    return np.ascontiguousarray(out.numpy())


def _uint8():
    import torch

    return torch.uint8
