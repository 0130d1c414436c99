"""Data sets for training, all offline by default, and the ways to split them.

- 2-D toy sets (moons, circles, spirals, XOR, Gaussian blobs): scikit-learn's generators
  where it has them, with a sample count and a noise level.
- scikit-learn's bundled handwritten digits (8×8, optionally upscaled) and a generated
  shapes set (circles / squares / triangles at random size, position and rotation).
- torchvision's MNIST, Fashion-MNIST and CIFAR-10 from a folder the user picks (read with
  `download=False`; `download_steps` fetches them with progress when online) and any
  `ImageFolder` directory (one sub-folder per class).
- Seeded hold-out splits with a training-set-size cap, and K-fold splits
  (`StratifiedKFold` when every class has at least k samples, `KFold` otherwise).

A `Dataset` keeps everything in memory as tensors, so the training loop can move it to
the GPU in one go and index batches there. Images are stored as uint8 when they come from
8-bit files (4× less memory); `as_float` turns a batch into floats in [0, 1].

Long steps (reading a folder, downloading) are generators of `DataProgress` whose return
value is the `Dataset`, so the training generator can pass progress on and stay stoppable:
`dataset = yield from prepare(cfg, should_stop)`.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields
from functools import cache
from pathlib import Path

import numpy as np
import torch

from lab.images import MAX_PIXELS

TOY_SOURCES: dict[str, str] = {
    "moons": "Two moons — two interleaving half circles (sklearn make_moons)",
    "circles": "Circles — a small circle inside a large one (sklearn make_circles)",
    "spirals": "Spirals — arms winding around the centre; needs a deeper net",
    "xor": "XOR — opposite quadrants share a class; no straight line separates them",
    "blobs": "Gaussian blobs — round clusters (sklearn make_blobs)",
}
IMAGE_SOURCES: dict[str, str] = {
    "digits": "Digits — 1,797 handwritten 8×8 digits bundled with scikit-learn",
    "shapes": "Shapes — generated circles, squares and triangles at random size and angle",
}
TORCHVISION_SOURCES: dict[str, str] = {
    "mnist": "MNIST — 60,000 handwritten 28×28 digits (torchvision, from a folder)",
    "fashion_mnist": "Fashion-MNIST — 60,000 28×28 clothing images (torchvision, from a folder)",
    "cifar10": "CIFAR-10 — 50,000 32×32 colour photos in 10 classes (torchvision, from a folder)",
}
FOLDER_SOURCE = {"folder": "Image folder — one sub-folder per class (torchvision ImageFolder)"}
SOURCES: dict[str, str] = {**TOY_SOURCES, **IMAGE_SOURCES, **TORCHVISION_SOURCES,
                           **FOLDER_SOURCE}
#: torchvision class name and approximate download size of each torchvision source
_TORCHVISION = {"mnist": ("MNIST", "11 MB"), "fashion_mnist": ("FashionMNIST", "30 MB"),
                "cifar10": ("CIFAR10", "163 MB")}
SHAPE_CLASSES = ("circle", "square", "triangle")
FOLDER_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm",
                   ".pgm")
#: an ImageFolder larger than this is sampled down (seeded), so it fits in memory
MAX_FOLDER_IMAGES = 20_000
MAX_SAMPLES = 20_000
MAX_KFOLD = 10
#: seeds are 32-bit: numpy's and sklearn's generators take no more, torch's at most 64
MAX_SEED = 2**32 - 1


class DataError(ValueError):
    """A data set that cannot be read or fetched; the message says what to do."""


@dataclass(frozen=True)
class DataConfig:
    source: str = "moons"
    #: toy sets and shapes: how many samples to generate
    samples: int = 400
    #: toy sets: coordinate noise (std); shapes: pixel noise (std, image in [0, 1])
    noise: float = 0.2
    #: blobs and spirals: number of classes
    classes: int = 3
    #: digits: upscaled side; shapes: side; image folder: resized side (0 = the source's own:
    #: digits 8, shapes 28, folders 32)
    image_size: int = 0
    #: torchvision sets and image folders: where the files are
    folder: str = ""
    #: torchvision sets: fetch them when missing (needs the internet)
    download: bool = False
    #: image folder: read as one grey channel instead of RGB
    grayscale: bool = False
    #: at most this many training samples (0 = all of the training part)
    train_size: int = 0
    #: share of the data held out for validation (hold-out runs; K-fold uses 1/k)
    val_fraction: float = 0.2
    seed: int = 0

    @property
    def is_points(self) -> bool:
        return self.source in TOY_SOURCES

    def uses(self, name: str) -> bool:
        """Whether a setting means anything for this source (the panel greys out others)."""
        source = self.source
        return {
            "samples": source in TOY_SOURCES or source == "shapes",
            "noise": source in TOY_SOURCES or source == "shapes",
            "classes": source in ("blobs", "spirals"),
            "image_size": source in ("digits", "shapes", "folder"),
            "folder": source in TORCHVISION_SOURCES or source == "folder",
            "download": source in TORCHVISION_SOURCES,
            "grayscale": source == "folder",
        }.get(name, True)

    @property
    def side(self) -> int:
        """The image side this config produces (digits 8, shapes 28, folders 32 unless set)."""
        if self.image_size:
            return self.image_size
        return {"digits": 8, "shapes": 28, "folder": 32, "cifar10": 32}.get(self.source, 28)

    def validate(self) -> list[str]:
        problems = []
        if self.source not in SOURCES:
            problems.append(f"unknown data set {self.source!r}; choose one of "
                            f"{', '.join(SOURCES)}")
            return problems
        if self.uses("samples") and not 20 <= self.samples <= MAX_SAMPLES:
            problems.append(f"samples must be between 20 and {MAX_SAMPLES:,} "
                            f"(got {self.samples})")
        if self.uses("noise") and not 0.0 <= self.noise <= 2.0:
            problems.append(f"noise must be between 0 and 2 (got {self.noise})")
        if self.uses("classes") and not 2 <= self.classes <= 8:
            problems.append(f"classes must be between 2 and 8 (got {self.classes})")
        if self.uses("image_size") and self.image_size != 0:
            low = 8 if self.source == "digits" else 12
            if not low <= self.image_size <= 128:
                problems.append(f"image size must be between {low} and 128 pixels "
                                f"(got {self.image_size})")
        if self.uses("folder") and not self.folder.strip():
            problems.append(f"{SOURCES[self.source].split(' — ')[0]} needs a folder: "
                            "pick where its files are (or should be downloaded to)")
        if self.train_size < 0:
            problems.append(f"training-set size must be 0 (all) or positive "
                            f"(got {self.train_size})")
        if not 0.0 <= self.val_fraction <= 0.9:
            problems.append(f"validation fraction must be between 0 and 0.9 "
                            f"(got {self.val_fraction})")
        if not 0 <= self.seed <= MAX_SEED:
            problems.append(f"data seed must be between 0 and {MAX_SEED:,} (got {self.seed})")
        return problems

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict) -> DataConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown data setting(s): {', '.join(sorted(unknown))}")
        return cls(**typed_fields(cls, values, "data "))


def typed_fields(cls: type, values: dict, where: str = "") -> dict:
    """`values` checked against the types of `cls`'s defaults (an int is accepted, and
    converted, where a float is expected); ValueError names the first mistyped setting."""
    checked = dict(values)
    for f in fields(cls):
        if f.name not in values or f.default is MISSING:
            continue
        value, expected = values[f.name], type(f.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            checked[f.name] = float(value)
            continue
        if expected in (bool, int, float, str) and (
                not isinstance(value, expected)
                or (expected is int and isinstance(value, bool))):
            raise ValueError(f"the {where}setting {f.name} must be {expected.__name__} "
                             f"(got {value!r})")
    return checked


@dataclass
class Dataset:
    """Samples as tensors: points (N, 2) float32 or images (N, C, H, W) uint8/float32."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    class_names: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "points" if self.x.dim() == 2 else "images"

    @property
    def is_points(self) -> bool:
        return self.kind == "points"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def nbytes(self) -> int:
        return self.x.element_size() * self.x.nelement() + 8 * self.y.nelement()

    def extent(self, margin: float = 0.15) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) around 2-D points, with a margin (for heatmaps)."""
        low = self.x.min(0).values.tolist()
        high = self.x.max(0).values.tolist()
        pad = [margin * max(h - lo, 1e-3) for lo, h in zip(low, high, strict=True)]
        return (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])


def as_float(x: torch.Tensor) -> torch.Tensor:
    """A batch as float32: uint8 images become [0, 1]; floats pass through."""
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    return x if x.dtype == torch.float32 else x.float()


def display_pixels(x: torch.Tensor) -> np.ndarray:
    """Images (N, C, H, W), uint8 or float in [0, 1], as uint8 (N, H, W) for one channel or
    (N, H, W, 3): what a screen draws."""
    pixels = x.cpu()
    pixels = pixels if pixels.dtype == torch.uint8 else (pixels.clamp(0, 1) * 255).round()
    pixels = pixels.to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


@dataclass(frozen=True)
class DataProgress:
    """Progress of a slow data step (reading files, downloading)."""

    message: str
    done: int = 0
    total: int = 0


# =========================================================================== toy 2-D sets

def make_toy(source: str, samples: int, noise: float, classes: int = 3,
             seed: int = 0) -> Dataset:
    """A 2-D classification set; `noise` is the std of the coordinate noise."""
    from sklearn import datasets as skd

    rng = np.random.default_rng(seed)
    if source == "moons":
        x, y = skd.make_moons(samples, noise=noise, random_state=seed)
        names = ["upper moon", "lower moon"]
    elif source == "circles":
        x, y = skd.make_circles(samples, noise=noise, factor=0.5, random_state=seed)
        names = ["outer circle", "inner circle"]
    elif source == "blobs":
        angles = 2 * np.pi * np.arange(classes) / classes
        centers = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
        x, y = skd.make_blobs(samples, centers=centers, cluster_std=0.25 + 1.5 * noise,
                              random_state=seed)
        names = [f"blob {i}" for i in range(classes)]
    elif source == "xor":
        x = rng.uniform(-1, 1, (samples, 2))
        y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
        x = x + rng.normal(0, noise * 0.5, x.shape)
        names = ["same sign", "opposite sign"]
    elif source == "spirals":
        counts = np.full(classes, samples // classes)
        counts[: samples % classes] += 1
        parts, labels = [], []
        for k, count in enumerate(counts):
            t = np.sqrt(rng.uniform(0, 1, count))  # even density along the arm
            angle = 3.0 * np.pi * t + 2 * np.pi * k / classes
            arm = np.stack([t * np.cos(angle), t * np.sin(angle)], 1)
            parts.append(arm + rng.normal(0, noise * 0.25, arm.shape))
            labels.append(np.full(count, k))
        x, y = np.concatenate(parts), np.concatenate(labels)
        order = rng.permutation(len(y))
        x, y = x[order], y[order]
        names = [f"arm {i}" for i in range(classes)]
    else:
        raise ValueError(f"{source!r} is not a 2-D toy set ({', '.join(TOY_SOURCES)})")
    return Dataset(source, torch.as_tensor(x, dtype=torch.float32),
                   torch.as_tensor(y, dtype=torch.int64), names)


# =========================================================================== images

@cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (images, targets), read once: parsing its file takes ~80 ms
    holding the interpreter lock, which a window would feel at every training run."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    return bunch.images, bunch.target


def load_digits(image_size: int = 8) -> Dataset:
    """scikit-learn's 1,797 handwritten digits, 8×8 in [0, 1], optionally upscaled."""
    import torch.nn.functional as F

    images, target = _digits_arrays()
    x = torch.as_tensor(images, dtype=torch.float32)[:, None] / 16.0
    notes = []
    if image_size != 8:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear",
                          align_corners=False).clamp_(0, 1)
        notes.append(f"digits upscaled from 8×8 to {image_size}×{image_size} (bilinear)")
    return Dataset("digits", x, torch.tensor(target, dtype=torch.int64),  # copies
                   [str(d) for d in range(10)], notes)


def make_shapes(samples: int = 600, image_size: int = 28, noise: float = 0.1,
                seed: int = 0) -> Dataset:
    """Grey images of a filled circle, square or triangle at random size, position and
    rotation (drawn at 4× and reduced, so edges are anti-aliased), plus pixel noise."""
    steps = shapes_steps(samples, image_size, noise, seed)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


#: shapes drawn between two looks at the stop flag (and two progress reports)
SHAPES_CHUNK = 256


def shapes_steps(samples: int = 600, image_size: int = 28, noise: float = 0.1,
                 seed: int = 0, should_stop: Callable[[], bool] = lambda: False
                 ) -> Iterator[DataProgress]:
    """`make_shapes` as steps: progress every SHAPES_CHUNK shapes and a stop flag looked at
    as often (20,000 shapes at 128 px take minutes); returns the Dataset (None if
    stopped)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    scale = 4
    side = image_size * scale
    images = np.empty((samples, image_size, image_size), dtype=np.float32)
    labels = rng.integers(0, len(SHAPE_CLASSES), samples)
    for i, label in enumerate(labels):
        if i % SHAPES_CHUNK == 0 and i:
            if should_stop():
                return None
            yield DataProgress(f"Drawing {samples:,} shapes", i, samples)
        radius = rng.uniform(0.18, 0.42) * side
        cx, cy = rng.uniform(radius, side - radius, 2)
        angle = float(rng.uniform(0, 360))
        canvas = Image.new("L", (side, side), 0)
        draw = ImageDraw.Draw(canvas)
        if label == 0:
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
        else:
            sides = 4 if label == 1 else 3
            # the same area-ish for square and triangle as for the circle of this radius
            draw.regular_polygon((float(cx), float(cy), float(radius)), sides,
                                 rotation=angle, fill=255)
        small = canvas.resize((image_size, image_size), Image.Resampling.BOX)
        images[i] = np.asarray(small, dtype=np.float32) / 255.0
    if noise > 0:
        images += rng.normal(0, noise, images.shape).astype(np.float32)
        np.clip(images, 0, 1, out=images)
    return Dataset("shapes", torch.from_numpy(images)[:, None],
                   torch.as_tensor(labels, dtype=torch.int64), list(SHAPE_CLASSES))


# =========================================================================== torchvision

def torchvision_class(source: str):
    import torchvision.datasets as tvd

    return getattr(tvd, _TORCHVISION[source][0])


def torchvision_files(source: str, folder: str | Path) -> list[tuple[list[str], Path, str,
                                                                     Path]]:
    """What downloading `source` fetches: (candidate urls, file, md5, extract-to folder)."""
    cls = torchvision_class(source)
    root = Path(folder)
    if source == "cifar10":
        return [([cls.url], root / cls.filename, cls.tgz_md5, root)]
    raw = root / cls.__name__ / "raw"
    return [([f"{mirror}{name}" for mirror in cls.mirrors], raw / name, md5, raw)
            for name, md5 in cls.resources]


def _torchvision_missing_message(source: str, folder: str, download: bool) -> str:
    title = SOURCES[source].split(" — ")[0]
    cls_name, size = _TORCHVISION[source]
    where = (Path(folder) / "cifar-10-batches-py" if source == "cifar10"
             else Path(folder) / cls_name / "raw")
    hint = ("" if download else
            f" Tick “Download if missing” to fetch it ({size}) when this computer is online,"
            " or copy the files there.")
    return f"{title} is not in {folder}: torchvision looks for its files in {where}.{hint}"


def download_steps(source: str, folder: str | Path,
                   should_stop: Callable[[], bool] = lambda: False,
                   chunk: int = 1 << 16) -> Iterator[DataProgress]:
    """Fetch a torchvision set's files with progress; offline -> DataError saying so.

    Uses the URLs, file names and checksums torchvision itself declares, then its own
    `extract_archive`, so what lands on disk is exactly what `download=True` would write.
    """
    from torchvision.datasets.utils import extract_archive

    title = SOURCES[source].split(" — ")[0]
    for urls, target, md5, extract_to in torchvision_files(source, folder):
        if target.is_file() and _md5(target) == md5:
            extract_archive(str(target), str(extract_to))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        errors = []
        for url in urls:
            try:
                yield from _fetch(url, target, title, should_stop, chunk)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
                continue
            if should_stop():
                target.unlink(missing_ok=True)
                return
            if _md5(target) != md5:
                target.unlink(missing_ok=True)
                errors.append(f"{url}: the file's checksum is wrong (damaged download)")
                continue
            break
        else:
            raise DataError(
                f"Could not download {title}: this computer seems to be offline or the "
                f"server refused ({'; '.join(errors)}). Download them on a machine that is "
                f"online and copy them into {target.parent}, or pick a folder that already "
                "has them.")
        yield DataProgress(f"Unpacking {target.name}…", 0, 0)
        extract_archive(str(target), str(extract_to))


def _fetch(url: str, target: Path, title: str, should_stop: Callable[[], bool],
           chunk: int) -> Iterator[DataProgress]:
    partial = target.with_name(target.name + ".part")
    with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - torchvision's URLs
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        with open(partial, "wb") as out:
            while True:
                if should_stop():
                    break
                block = response.read(chunk)
                if not block:
                    break
                out.write(block)
                done += len(block)
                yield DataProgress(f"Downloading {title}: {target.name}", done, total)
    if should_stop():
        partial.unlink(missing_ok=True)
        return
    os.replace(partial, target)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_torchvision(source: str, folder: str | Path) -> Dataset:
    """The training split of MNIST / Fashion-MNIST / CIFAR-10 read from `folder`
    (torchvision's own layout, `download=False`); DataError with advice when missing."""
    cls = torchvision_class(source)
    title = SOURCES[source].split(" — ")[0]
    if not Path(folder).is_dir():
        raise DataError(f"{title}: the folder {folder} does not exist")
    try:
        dataset = cls(str(folder), train=True, download=False)
    except RuntimeError as exc:
        raise DataError(_torchvision_missing_message(source, str(folder), False)) from exc
    except Exception as exc:  # noqa: BLE001 - damaged files: say which set and where
        raise DataError(f"{title} in {folder} could not be read ({type(exc).__name__}: "
                        f"{exc}); the files may be damaged — delete them and download "
                        "again") from exc
    data = dataset.data
    x = torch.as_tensor(np.asarray(data), dtype=torch.uint8)
    x = x[:, None] if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()
    y = torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64)
    names = [str(c).split(" - ")[-1] for c in dataset.classes]
    return Dataset(source, x, y, names)


# =========================================================================== image folder

def folder_steps(folder: str | Path, image_size: int, grayscale: bool, seed: int = 0,
                 should_stop: Callable[[], bool] = lambda: False,
                 max_images: int = MAX_FOLDER_IMAGES) -> Iterator[DataProgress]:
    """Read an ImageFolder directory (root/class_name/image.png), resized to a square;
    yields progress and returns the Dataset (None if stopped)."""
    from PIL import Image
    from torchvision.datasets import ImageFolder

    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"image folder {folder} does not exist")
    not_regular: list[str] = []

    def is_image_file(path: str) -> bool:
        if not path.lower().endswith(FOLDER_SUFFIXES):
            return False
        try:  # a named pipe or device called x.png would block the reader forever
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            regular = False
        if not regular:
            not_regular.append(f"{Path(path).name} (not a regular file)")
        return regular

    try:
        found = ImageFolder(str(root), is_valid_file=is_image_file)
    except (FileNotFoundError, RuntimeError) as exc:
        raise DataError(f"{folder} is not an image folder: it needs one sub-folder per "
                        f"class with images inside ({exc})") from exc
    samples = found.samples
    notes = []
    if len(found.classes) < 2:
        raise DataError(f"{folder} has only one class ({found.classes[0]}); a classifier "
                        "needs at least two sub-folders")
    if len(samples) > max_images:
        keep = np.sort(np.random.default_rng(seed).choice(len(samples), max_images,
                                                          replace=False))
        samples = [samples[i] for i in keep]
        notes.append(f"{len(found.samples):,} images found; a seeded sample of "
                     f"{max_images:,} was kept to fit in memory")
    channels = 1 if grayscale else 3
    x = torch.empty((len(samples), channels, image_size, image_size), dtype=torch.uint8)
    y = torch.empty(len(samples), dtype=torch.int64)
    bad = list(not_regular)
    kept = 0
    for i, (path, label) in enumerate(samples):
        if should_stop():
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    width, height = image.size
                    if width * height > MAX_PIXELS:
                        bad.append(f"{Path(path).name} (too large: {width}×{height})")
                        continue
                    pixels = image.convert("L" if grayscale else "RGB").resize(
                        (image_size, image_size), Image.Resampling.BILINEAR)
        except Image.DecompressionBombError:
            bad.append(f"{Path(path).name} (too large to decode safely)")
            continue
        except (OSError, ValueError, SyntaxError) as exc:
            bad.append(f"{Path(path).name} ({type(exc).__name__})")
            continue
        array = np.array(pixels, dtype=np.uint8)
        x[kept] = torch.from_numpy(array[None] if grayscale else array.transpose(2, 0, 1))
        y[kept] = label
        kept += 1
        if i % 64 == 0:
            yield DataProgress(f"Reading {root.name}", i + 1, len(samples))
    if bad:
        listed = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        notes.append(f"{len(bad)} file(s) skipped that could not be read safely: {listed}")
    if kept == 0:
        raise DataError(f"no readable images in {folder}")
    return Dataset(f"folder {root.name}", x[:kept], y[:kept], list(found.classes), notes)




# =========================================================================== one entry point

def prepare(cfg: DataConfig, should_stop: Callable[[], bool] = lambda: False
            ) -> Iterator[DataProgress]:
    """Make the data set `cfg` describes, yielding progress; returns it (None if stopped).

    Torchvision sets are downloaded first when missing and `cfg.download` is set.
    """
    problems = cfg.validate()
    if problems:
        raise DataError("; ".join(problems))
    source = cfg.source
    if source in TOY_SOURCES:
        return make_toy(source, cfg.samples, cfg.noise, cfg.classes, cfg.seed)
    if source == "digits":
        return load_digits(cfg.side)
    if source == "shapes":
        yield DataProgress(f"Drawing {cfg.samples:,} shapes…", 0, 0)
        return (yield from shapes_steps(cfg.samples, cfg.side, cfg.noise, cfg.seed,
                                        should_stop))
    if source == "folder":
        return (yield from folder_steps(cfg.folder, cfg.side, cfg.grayscale, cfg.seed,
                                        should_stop))
    try:
        return load_torchvision(source, cfg.folder)
    except DataError:
        if not cfg.download:
            raise DataError(_torchvision_missing_message(source, cfg.folder, False)) from None
    Path(cfg.folder).mkdir(parents=True, exist_ok=True)
    yield from download_steps(source, cfg.folder, should_stop)
    if should_stop():
        return None
    return load_torchvision(source, cfg.folder)


def load_dataset(cfg: DataConfig) -> Dataset:
    """`prepare` without progress: the data set, or DataError."""
    steps = prepare(cfg)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def preview(cfg: DataConfig) -> Dataset | None:
    """The data set if making it is instant (toy sets, digits, small shapes), else None."""
    if cfg.validate():
        return None
    if cfg.source in TOY_SOURCES or cfg.source == "digits" or (
            cfg.source == "shapes" and cfg.samples <= 4000):
        return load_dataset(cfg)
    return None


# =========================================================================== splits

@dataclass(frozen=True)
class Split:
    """Indices into a Dataset: which samples train, which validate."""

    train: np.ndarray
    val: np.ndarray
    fold: int = 0
    notes: tuple[str, ...] = ()


def _cap(indices: np.ndarray, train_size: int, seed: int) -> np.ndarray:
    if train_size <= 0 or train_size >= len(indices):
        return indices
    keep = np.random.default_rng(seed + 7919).choice(len(indices), train_size, replace=False)
    return indices[np.sort(keep)]


def holdout_split(labels: np.ndarray | torch.Tensor, val_fraction: float, train_size: int = 0,
                  seed: int = 0) -> Split:
    """Seeded, stratified when possible: the same seed always holds out the same samples;
    `train_size` then keeps at most that many of the rest (the validation set is unchanged,
    so runs with different training sizes are judged on the same samples)."""
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    everything = np.arange(len(labels))
    if val_fraction <= 0:
        return Split(_cap(everything, train_size, seed), np.array([], dtype=np.int64))
    val_count = math.ceil(val_fraction * len(labels))
    if val_count >= len(labels):
        raise ValueError(f"a validation fraction of {val_fraction} leaves no training data "
                         f"from {len(labels)} samples")
    _, counts = np.unique(labels, return_counts=True)
    stratify = labels if counts.min() >= 2 and val_count >= len(counts) \
        and len(labels) - val_count >= len(counts) else None
    train, val = train_test_split(everything, test_size=val_count, random_state=seed,
                                  shuffle=True, stratify=stratify)
    notes = () if stratify is not None else (
        "too few samples per class to stratify: the split is plain random",)
    return Split(_cap(np.sort(train), train_size, seed), np.sort(val), 0, notes)


def kfold_splits(labels: np.ndarray | torch.Tensor, k: int, seed: int = 0,
                 train_size: int = 0) -> list[Split]:
    """k splits whose validation parts are disjoint and together cover every sample once.

    StratifiedKFold keeps class proportions in every fold when each class has at least k
    samples; otherwise plain KFold. `train_size` caps each fold's training part.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    labels = np.asarray(labels)
    if not 2 <= k <= MAX_KFOLD:
        raise ValueError(f"K-fold needs k between 2 and {MAX_KFOLD} (got {k})")
    if k > len(labels):
        raise ValueError(f"K-fold with k = {k} needs at least {k} samples (got {len(labels)})")
    _, counts = np.unique(labels, return_counts=True)
    notes: tuple[str, ...] = ()
    if counts.min() >= k:
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
        parts = splitter.split(np.zeros(len(labels)), labels)
    else:
        notes = (f"a class has fewer than k = {k} samples, so folds are not stratified",)
        parts = KFold(k, shuffle=True, random_state=seed).split(np.zeros(len(labels)))
    return [Split(_cap(np.sort(train), train_size, seed + fold), np.sort(val), fold, notes)
            for fold, (train, val) in enumerate(parts)]


def warm_up() -> None:
    """Import what making data and splits needs (scikit-learn's model selection takes
    ~0.5 s). A GUI calls this once up front, so a first run's imports do not hold the
    interpreter lock on the training thread while the window waits."""
    import sklearn.datasets  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    from PIL import ImageDraw  # noqa: F401


def dataset_size_hint(cfg: DataConfig) -> int | None:
    """How many samples the source has, without loading it (None if unknown)."""
    if cfg.source in TOY_SOURCES or cfg.source == "shapes":
        return cfg.samples
    return {"digits": 1797, "mnist": 60_000, "fashion_mnist": 60_000,
            "cifar10": 50_000}.get(cfg.source)
