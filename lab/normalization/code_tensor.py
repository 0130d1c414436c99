"""Plain PyTorch lines that rebuild the panel's tensors (the pool of images, the seeded conv,
the rounding to 3 decimals), for the exported scripts of the running-statistics tab: they
step through more batches than could be written out as numbers. Mirrors
`lab.normalization.tensors` line for line."""

from __future__ import annotations

from lab import data as data_module
from lab.model_source import source_of
from lab.normalization.tensors import DECIMALS, POOL_SIZE
from lab.normalization.view import NormView

_SHAPES_DATASET = '''@dataclass
class Dataset:  # what Visual Lab's make_shapes returns
    name: str
    x: torch.Tensor
    y: torch.Tensor
    class_names: list
'''


def _images_lines(view: NormView) -> str:
    """Code that sets `images`: every image of the source, (M, C, side, side) in [0, 1]."""
    side = view.side
    if view.source == "digits":
        resize = ("" if side == 8 else
                  f"images = F.interpolate(images, size=({side}, {side}), mode=\"bilinear\", "
                  "align_corners=False).clamp_(0, 1)\n")
        return ("from sklearn.datasets import load_digits\n\n"
                "images = torch.as_tensor(load_digits().images, dtype=torch.float32)[:, None] "
                "/ 16.0\n" + resize)
    if view.source == "shapes":
        return (f"from dataclasses import dataclass\n\n{_SHAPES_DATASET}\n"
                f"SHAPE_CLASSES = {data_module.SHAPE_CLASSES!r}\n"
                f"SHAPES_CHUNK = {data_module.SHAPES_CHUNK}\n\n\n"
                + source_of(data_module.make_shapes, data_module.shapes_steps)
                .replace("DataProgress(", "dict(")
                + f"\n\nimages = make_shapes({POOL_SIZE}, {side}, noise=0.05, seed=0).x\n")
    return f'''from sklearn.datasets import load_sample_images

# random square crops of scikit-learn's two sample photos, shrunk to {side}×{side}
photos = [torch.from_numpy(np.array(p)).permute(2, 0, 1).float() / 255
          for p in load_sample_images().images]
rng = np.random.default_rng(0)
crops = []
for i in range({POOL_SIZE}):
    photo = photos[i % len(photos)]
    size = int(rng.integers(32, 160))
    top = int(rng.integers(0, photo.shape[1] - size))
    left = int(rng.integers(0, photo.shape[2] - size))
    crops.append(photo[:, top:top + size, left:left + size][None])
images = torch.cat([F.interpolate(c, size=({side}, {side}), mode="area") for c in crops])
'''


def tensor_code(view: NormView) -> str:
    """Defines `pool`, `as_tensor(images)` and `batch(k)` (images kN … kN+N−1 of the pool,
    as the panel's tensor) for `view`. Needs numpy as np, torch, nn and F."""
    n = view.batch
    if view.stage == "conv":
        layer = (f"torch.manual_seed({view.seed})  # the conv's weights: torch's default "
                 "initialisation after the seed\n"
                 f"conv = nn.Conv2d({view.input_channels}, {view.channels}, 3, padding=1)\n\n\n"
                 "def as_tensor(images):\n"
                 f"    \"\"\"Through the conv, rounded to {DECIMALS} decimals as the panel "
                 "shows them.\"\"\"\n"
                 "    with torch.no_grad():\n"
                 "        out = conv(images)\n"
                 f"    return torch.from_numpy(np.round(out.double().numpy(), {DECIMALS})"
                 ".astype(np.float32))\n")
    else:
        layer = ("def as_tensor(images):\n"
                 f"    \"\"\"The raw pixels, rounded to {DECIMALS} decimals as the panel shows "
                 "them.\"\"\"\n"
                 f"    return torch.from_numpy(np.round(images.double().numpy(), {DECIMALS})"
                 ".astype(np.float32))\n")
    return f'''# ---- the images: {view.source}, {view.side}×{view.side}
{_images_lines(view)}
# a fixed pool of {POOL_SIZE} of them in a seeded order
order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
pool = images[order[:{POOL_SIZE}]].contiguous()

{layer}

def batch(k, n={n}):
    """Batch k: images kN … kN+N−1 of the pool (wrapping around its end)."""
    start = (k * n) % len(pool)
    chosen = pool[start:start + n]
    if len(chosen) < n:
        chosen = torch.cat([chosen, pool[:n - len(chosen)]])
    return as_tensor(chosen)
'''
