"""What the Pooling & Upsampling panel shows, as data: both tabs' settings and the numeric
grid (`lab.params.to_data` / `from_data` save and restore it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lab.pooling import PoolParams, UpsampleParams


@dataclass(frozen=True)
class PoolingView:
    tab: Literal["pool", "upsample"] = "pool"
    pool: PoolParams = field(default_factory=PoolParams)
    upsample: UpsampleParams = field(default_factory=lambda: UpsampleParams(patch_size=24))
    #: side of the numeric grid and the seed of its random digits
    grid_side: int = 8
    grid_seed: int = 0
    #: the pooled image enlarged to fill its view (False: at its true size beside the input)
    fit_output: bool = False
