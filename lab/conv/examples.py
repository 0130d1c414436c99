"""Prepared views of the Convolution panel, by concept number (CONCEPTS.md)."""

from __future__ import annotations

from lab.conv import ConvParams
from lab.conv.view import ConvGridView, ConvView
from lab.params import Example

EXAMPLES: dict[int, Example] = {
    25: Example("Edge kernels on the image: Sobel x and y, Laplacian and a blur, one feature "
                "map each",
                ConvView(tab="image", layer=ConvParams(
                    in_channels=1, out_channels=4, presets=("sobel_x", "sobel_y", "laplacian",
                                                            "gaussian"),
                    biases=(0.0,) * 4))),
    26: Example("Stride 2 and padding 1 on a 7×7 grid: every output cell is one window's "
                "multiply-and-add, and the output shrinks to 4×4",
                ConvView(tab="grid", grid=ConvGridView(size=7, kernel_size=3, stride=2,
                                                       padding=1, kernel="ones"))),
}
