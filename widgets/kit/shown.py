"""Which output pixels a view shows: the screen decides the resolution.

A feature map drawn over its input (each output pixel over its window: origin + i·stride in
input pixels) in a view of a few hundred screen pixels shows only every step-th output
pixel, and only those inside the view. `shown_sampling` reads that off a pyqtgraph
ViewBox; `lab.display_resolution` computes exactly those pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.display_resolution import Sampling, display_step, visible_sampling

#: a view not laid out yet is assumed this many pixels across (the first draw of a panel)
ASSUMED_VIEW_SIDE = 400


@dataclass(frozen=True)
class Shown:
    """The output pixels a view shows, and where they are drawn (x, y, w, h in input
    pixels: each shown pixel stretched over the step·stride input pixels it stands for)."""

    rows: Sampling
    cols: Sampling
    rect: tuple[float, float, float, float]

    @property
    def step(self) -> int:
        return self.rows.step

    def contains(self, other: Shown) -> bool:
        """Same step, and every pixel of `other` is here already."""
        return (self.rows.step == other.rows.step and self.cols.step == other.cols.step
                and self.rows.start <= other.rows.start and self.rows.stop >= other.rows.stop
                and self.cols.start <= other.cols.start and self.cols.stop >= other.cols.stop)


def shown_sampling(view, extent: tuple[float, float], out_shape: tuple[int, int],
                   origin: tuple[float, float], stride: float) -> Shown:
    """The pixels of an out_shape map (drawn from `origin` = (x, y) with `stride`) that
    `view` (a pyqtgraph ViewBox, or None) shows; `extent` = (width, height) of the input,
    what a view not laid out yet is assumed to show whole."""
    width, height = extent
    out_h, out_w = out_shape
    if view is not None and view.width() >= 2 and view.height() >= 2:
        region = view.viewRect()
        left, top, right, bottom = region.left(), region.top(), region.right(), region.bottom()
        per_pixel = min(region.width() / view.width(), region.height() / view.height())
        ratio = view.scene().views()[0].devicePixelRatioF() if view.scene() else 1.0
        per_pixel /= max(1.0, ratio)
    else:
        left, top, right, bottom = 0.0, 0.0, float(width), float(height)
        per_pixel = max(width, height) / ASSUMED_VIEW_SIDE
    step = display_step(per_pixel, stride)
    rows = visible_sampling(out_h, origin[1], stride, top, bottom, step)
    cols = visible_sampling(out_w, origin[0], stride, left, right, step)
    rect = (origin[0] + cols.start * stride, origin[1] + rows.start * stride,
            cols.count * step * stride, rows.count * step * stride)
    return Shown(rows, cols, rect)
