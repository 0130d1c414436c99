"""The real (N, C, H, W) tensors the panel normalizes: images of the app's data sets,
optionally through a seeded conv layer, rounded to 3 decimals (so the exported code can
write every number out and reproduce them exactly)."""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

from lab.data import load_digits, make_shapes

#: images in the pool that running statistics step through (batch k = images kN … kN+N−1)
POOL_SIZE = 256
DECIMALS = 3


@cache
def _pool(source: str, side: int) -> torch.Tensor:
    """(POOL_SIZE, C, side, side) float32 images in [0, 1] of one source, in a fixed order."""
    if source == "digits":
        images = load_digits(side).x
    elif source == "shapes":
        images = make_shapes(POOL_SIZE, side, noise=0.05, seed=0).x
    elif source == "photos":
        photos = _photos()
        rng = np.random.default_rng(0)
        crops = []
        for i in range(POOL_SIZE):
            photo = photos[i % len(photos)]
            size = int(rng.integers(32, 160))
            top = int(rng.integers(0, photo.shape[1] - size))
            left = int(rng.integers(0, photo.shape[2] - size))
            crops.append(photo[:, top:top + size, left:left + size][None])
        images = torch.cat([F.interpolate(c, size=(side, side), mode="area") for c in crops])
    else:
        raise ValueError(f"no source {source!r}; choose digits, shapes or photos")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    return images[order[:POOL_SIZE]].contiguous()


@cache
def _photos() -> list[torch.Tensor]:
    """scikit-learn's two sample photos as (3, H, W) floats in [0, 1] (decoded once)."""
    from sklearn.datasets import load_sample_images

    return [torch.from_numpy(np.array(p)).permute(2, 0, 1).float() / 255
            for p in load_sample_images().images]


def warm_up(source: str = "digits", side: int = 6) -> None:
    """Do the slow first-time work (scikit-learn's import, decoding the photos, the first
    pool) so a panel can run it on a worker before its first drawing."""
    _photos()
    _pool(source, side)


def conv_layer(in_channels: int, channels: int, seed: int) -> torch.nn.Conv2d:
    """The seeded 3×3 conv (padding 1) whose feature maps are normalized: torch's default
    initialisation after `torch.manual_seed(seed)`, as the exported code builds it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Conv2d(in_channels, channels, 3, padding=1)


def _round(x: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.round(x.double().numpy(), DECIMALS).astype(np.float32))


def images_to_tensor(images: torch.Tensor, stage: str, channels: int, seed: int
                     ) -> torch.Tensor:
    if stage == "pixels":
        return _round(images)
    with torch.no_grad():
        return _round(conv_layer(images.shape[1], channels, seed)(images))


def make_tensor(source: str, stage: str, batch: int, channels: int, side: int, seed: int,
                first: int = 0) -> torch.Tensor:
    """Batch `first // batch` of the pool as the panel shows it: (N, C, side, side)."""
    pool = _pool(source, side)
    start = first % len(pool)
    images = pool[start:start + batch]
    if len(images) < batch:  # wrap around the pool's end
        images = torch.cat([images, pool[:batch - len(images)]])
    return images_to_tensor(images, stage, channels, seed)


def view_tensor(view) -> torch.Tensor:
    """The tensor of a `NormView`: the batch shown in the Axes tab (the pool's first)."""
    return make_tensor(view.source, view.stage, view.batch, view.channels, view.side,
                       view.seed)


def batch_stream(view, count: int) -> list[torch.Tensor]:
    """The first `count` batches of size N that running statistics step through."""
    return [make_tensor(view.source, view.stage, view.batch, view.channels, view.side,
                        view.seed, first=k * view.batch) for k in range(count)]


def pool_tensor(view) -> torch.Tensor:
    """The whole pool through the same layer: its per-channel statistics are what the
    running statistics approach."""
    return images_to_tensor(_pool(view.source, view.side), view.stage, view.channels,
                            view.seed)
