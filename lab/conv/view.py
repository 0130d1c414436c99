"""What the Convolution panel shows, as data: the image tab's layer and kernel editor, the
arithmetic tab's numeric grid (`lab.params.to_data` / `from_data` save and restore it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lab.conv import ConvParams

Grid = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class ConvGridView:
    """The arithmetic tab: a Conv2d or ConvTranspose2d on small integers."""

    mode: Literal["conv", "transposed"] = "conv"
    size: int = 6
    kernel_size: int = 3
    stride: int = 1
    padding: int = 1
    output_padding: int = 0
    dilation: int = 1
    padding_mode: str = "zeros"
    #: a `GRID_KERNELS` name
    kernel: str = "random"
    #: seeds of the random digits and of the random kernel
    seed: int = 0
    kernel_seed: int = 0
    #: typed numbers: the whole input / kernel when edited, None when drawn from the seeds
    values: Grid | None = None
    kernel_values: Grid | None = None
    #: window positions per second while playing
    speed: int = 2


@dataclass(frozen=True)
class ConvView:
    tab: Literal["image", "grid"] = "image"
    layer: ConvParams = field(default_factory=lambda: ConvParams(biases=(0.0,) * 4))
    #: the kernel editor shows kernel (kernel_channel, in_index)
    kernel_channel: int = 0
    in_index: int = 0
    edit_all: bool = True
    link_kernel: bool = True
    #: "bold": each map ±the 99th percentile of its |value| (edges show boldly), "each" map
    #: ±its own max, or one "shared" range
    scale_mode: Literal["bold", "each", "shared"] = "bold"
    grid: ConvGridView = field(default_factory=ConvGridView)
