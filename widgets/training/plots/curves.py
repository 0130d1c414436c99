"""Per-step curves drawn in pieces (only the last piece changes while a run trains) and the items
a plot keeps per run."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsPathItem,
)

from widgets.training.plots.base import STEP_PIECE_MIN, STEP_PIECES, DrawnKey


class StepPiece(QGraphicsPathItem):
    """A run of consecutive points of a per-step curve, as a plain Qt path item.

    Qt paints it and computes its bounds in C++: pyqtgraph's curve items call back into
    Python for paint() and boundingRect(), and each such call during a repaint must win
    the GIL from the training thread. The pen is a hairline (width 0, always one pixel),
    so the item's bounds are the points' own: a wider pen would be stroked in data units."""

    def __init__(self, colour: QColor, z: float) -> None:
        super().__init__()
        pen = QPen(colour)
        pen.setWidthF(0)
        self.setPen(pen)
        self.setZValue(z)
        self.xs = self.ys = np.empty(0)  # not x, y: those are QGraphicsItem methods

    def set_points(self, x: np.ndarray, y: np.ndarray) -> None:
        self.xs, self.ys = x, y
        self.setPath(pg.arrayToQPath(x, y, connect="finite") if len(x) else QPainterPath())


class StepCurve:
    """A per-step series drawn as pieces of consecutive points (neighbours share an end).

    Training only appends steps and the EMA is causal, so finished pieces never change:
    a redraw replaces the newest piece only, and Qt repaints the strip it covers instead
    of the whole plot (axes, per-epoch curves and marks included), which is what a
    redraw cost when one curve held every step."""

    def __init__(self, plot: pg.PlotWidget, colour: QColor, z: float,
                 expected_points: int) -> None:
        self.plot, self.colour, self.z = plot, colour, z
        self.size = max(STEP_PIECE_MIN, -(-expected_points // STEP_PIECES))
        self.pieces: list[StepPiece] = []
        self.drawn = 0  # points the pieces hold

    def set(self, x: np.ndarray, y: np.ndarray, rebuild: bool = False) -> None:
        """Show x, y: the points after the first `drawn` are new, unless `rebuild`."""
        n = len(x)
        while n - 1 > 2 * STEP_PIECES * self.size:  # longer than foreseen: coarser pieces
            self.size *= 2
            rebuild = True
        first = 0 if rebuild or n < self.drawn or self.drawn == 0 else (self.drawn - 1) // self.size
        needed = max(1, -(-(n - 1) // self.size)) if n else 0
        empty = np.empty(0)
        for index in range(first, max(needed, len(self.pieces))):
            if index >= needed:
                self.pieces[index].set_points(empty, empty)
                continue
            if index == len(self.pieces):
                piece = StepPiece(self.colour, self.z)
                self.plot.addItem(piece, ignoreBounds=True)  # the plot sets its own range
                self.pieces.append(piece)
            start, end = index * self.size, min((index + 1) * self.size + 1, n)
            self.pieces[index].set_points(x[start:end], y[start:end])
        self.drawn = n

    def clear(self) -> None:
        if self.drawn:
            empty = np.empty(0)
            for piece in self.pieces:
                piece.set_points(empty, empty)
            self.drawn = 0

    def remove(self) -> None:
        for piece in self.pieces:
            self.plot.removeItem(piece)
        self.pieces = []
        self.drawn = 0

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole series, as the pieces show it."""
        xs, ys = [], []
        for index, piece in enumerate(self.pieces):
            if not len(piece.xs):
                break
            xs.append(piece.xs if index == 0 else piece.xs[1:])
            ys.append(piece.ys if index == 0 else piece.ys[1:])
        if not xs:
            return np.array([]), np.array([])
        return np.concatenate(xs), np.concatenate(ys)


class _RunItems:
    """The curves one run contributes to one plot."""

    def __init__(self) -> None:
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.steps: dict[str, StepCurve] = {}
        self.epoch_key: tuple = ()
        self.marks: list[pg.InfiniteLine] = []
        self.revision = -1
        self.mark_key: tuple = ()
        self.extra_key: tuple = ()
        self.marks_drawn = DrawnKey()
