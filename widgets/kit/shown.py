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
                   origin: tuple[float, float], stride: float, fitted: bool = True) -> Shown:
    """The pixels of an out_shape map (drawn from `origin` = (x, y) with `stride`) that
    `view` (a pyqtgraph ViewBox, or None: not laid out yet) shows. `extent` = (width,
    height) of the input; `fitted`: the view shows it whole (whatever range it shows now:
    a new image is fitted after it is drawn), else the view's own range."""
    width, height = extent
    out_h, out_w = out_shape
    laid_out = view is not None and view.width() >= 2 and view.height() >= 2
    if laid_out and not fitted:
        region = view.viewRect()
        left, top, right, bottom = region.left(), region.top(), region.right(), region.bottom()
        per_pixel = min(region.width() / view.width(), region.height() / view.height())
    else:
        if laid_out:  # fitted with the aspect kept: the tighter axis decides (2 % padding)
            per_pixel = 1.04 * max(width / view.width(), height / view.height())
        else:
            per_pixel = max(width, height) / ASSUMED_VIEW_SIDE
    if laid_out and view.scene() is not None and view.scene().views():
        per_pixel /= max(1.0, view.scene().views()[0].devicePixelRatioF())
    step = display_step(per_pixel, stride)
    if laid_out and not fitted:
        rows = visible_sampling(out_h, origin[1], stride, top, bottom, step)
        cols = visible_sampling(out_w, origin[0], stride, left, right, step)
    else:  # the whole map: padding's outputs hang over the input's edges
        rows, cols = Sampling.whole(out_h, step), Sampling.whole(out_w, step)
    rect = (origin[0] + cols.start * stride, origin[1] + rows.start * stride,
            cols.count * step * stride, rows.count * step * stride)
    return Shown(rows, cols, rect)
