"""Prepared views of the Pooling & Upsampling panel, by concept number (CONCEPTS.md)."""

from __future__ import annotations

from lab.params import Example
from lab.pooling import PoolParams, UpsampleParams
from lab.pooling.view import PoolingView

EXAMPLES: dict[int, Example] = {
    23: Example("Max pooling 2×2, stride 2, on a grid of digits: each output keeps the "
                "largest of its four cells",
                PoolingView(tab="pool", pool=PoolParams(kind="max", kernel_size=2, stride=2),
                            grid_side=6)),
    24: Example("Nearest upsampling ×2 of a small patch: every pixel becomes a 2×2 block",
                PoolingView(tab="upsample",
                            upsample=UpsampleParams(scale_factor=2, patch_size=8))),
}
