"""A layered (Sugiyama-style) drawing of a ViewGraph: plain numbers, no Qt.

1. Layers: each box one row below its lowest input (longest path from the inputs,
   `networkx.topological_generations`).
2. Order within a row: barycentre sweeps (a box moves towards the mean position of its
   neighbours), which removes most crossings; parallel branches (Inception) keep their
   program order.
3. x positions: each box as close as possible to the mean x of its neighbours, rows
   kept in order with a minimum gap — a least-squares fit solved exactly by
   pool-adjacent-violators.
4. Edges: a cubic curve between neighbouring rows. An edge that skips rows runs straight
   when nothing is in the way, else down its source's (or target's) column when that is
   free (Inception's short branches), else as an arc bulging to the right, wider the
   more rows it skips — so shortcuts (ResNet) and dense connections (DenseNet) stand out
   as arcs.

Coordinates are scene pixels at zoom 1: y grows downwards, a box is centred on (x, y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx

from lab.architectures.graph_display import ViewGraph

NODE_WIDTH = 184.0
NODE_HEIGHT = 36.0
GROUP_HEIGHT = 44.0
OP_SIZE = 24.0                       # the circles of + and concat, and input/output pills
ROW_GAP = 20.0
COLUMN_GAP = 20.0
FRAME_PAD = 10.0
FRAME_TITLE = 18.0
ROUND_KINDS = frozenset({"add", "concat"})


@dataclass(frozen=True)
class NodeBox:
    id: str
    x: float
    y: float
    width: float
    height: float
    row: int

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2

    @property
    def top(self) -> float:
        return self.y - self.height / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True)
class EdgePath:
    source: str
    target: str
    #: a chain of cubic Béziers: start, then (control 1, control 2, end) per segment
    curve: tuple[tuple[float, float], ...]
    #: the arrowhead's three corners
    arrow: tuple[tuple[float, float], ...]
    skip: bool                       # drawn as an arc around the rows it skips
    rows: int                        # how many rows it spans


@dataclass(frozen=True)
class FrameBox:
    group: str
    title: str
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class GraphLayout:
    nodes: dict[str, NodeBox]
    edges: tuple[EdgePath, ...]
    frames: tuple[FrameBox, ...]
    bounds: tuple[float, float, float, float]     # left, top, right, bottom

    @property
    def width(self) -> float:
        return self.bounds[2] - self.bounds[0]

    @property
    def height(self) -> float:
        return self.bounds[3] - self.bounds[1]

    def rows(self) -> list[list[str]]:
        """Box ids per row, left to right."""
        count = 1 + max((b.row for b in self.nodes.values()), default=-1)
        rows: list[list[NodeBox]] = [[] for _ in range(count)]
        for box in self.nodes.values():
            rows[box.row].append(box)
        return [[b.id for b in sorted(row, key=lambda b: b.x)] for row in rows]


def box_size(kind: str) -> tuple[float, float]:
    if kind in ROUND_KINDS:
        return OP_SIZE, OP_SIZE
    if kind in ("input", "output"):
        return 110.0, OP_SIZE
    if kind == "group":
        return NODE_WIDTH + 20, GROUP_HEIGHT
    return NODE_WIDTH, NODE_HEIGHT


def layout(view: ViewGraph) -> GraphLayout:
    """Place every box of `view` and route every edge (see the module docstring)."""
    ids = [n.id for n in view.nodes]
    kinds = {n.id: n.kind for n in view.nodes}
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    graph.add_edges_from(view.edges)
    preds = {v: list(graph.predecessors(v)) for v in ids}
    succs = {v: list(graph.successors(v)) for v in ids}
    program = {v: i for i, v in enumerate(ids)}

    rows = [sorted(gen, key=program.__getitem__) for gen in nx.topological_generations(graph)]
    row_of = {v: r for r, row in enumerate(rows) for v in row}
    _order(rows, preds, succs)

    sizes = {v: box_size(kinds[v]) for v in ids}
    row_height = [max(sizes[v][1] for v in row) for row in rows]
    before = [0.0] * len(rows)  # room for the frames of expanded blocks and their titles
    after = [0.0] * len(rows)
    for frame in view.frames:
        members = [row_of[m] for m in frame.members if m in row_of]
        if members:
            before[min(members)] += FRAME_PAD + FRAME_TITLE
            after[max(members)] += FRAME_PAD
    ys, y = [], 0.0
    for height, extra_before, extra_after in zip(row_height, before, after, strict=True):
        y += extra_before
        ys.append(y + height / 2)
        y += height + ROW_GAP + extra_after
    xs = _place(rows, preds, succs, sizes)

    nodes = {v: NodeBox(v, xs[v], ys[row_of[v]], *sizes[v], row_of[v]) for v in ids}
    by_row = [[nodes[v] for v in row] for row in rows]
    edges = tuple(_route(nodes[a], nodes[b], by_row) for a, b in view.edges)
    frames = tuple(_frame(f.group, f.title, [nodes[m] for m in f.members if m in nodes])
                   for f in view.frames if any(m in nodes for m in f.members))
    return GraphLayout(nodes, edges, frames, _bounds(nodes, edges, frames))


# --------------------------------------------------------------------------- ordering

def _order(rows: list[list[str]], preds, succs, sweeps: int = 4) -> None:
    index = {v: i for row in rows for i, v in enumerate(row)}
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        sequence = rows[1:] if down else rows[-2::-1]
        for row in sequence:
            if len(row) < 2:
                continue

            def barycentre(v: str, down: bool = down) -> float:
                near = preds[v] if down else succs[v]
                return sum(index[u] for u in near) / len(near) if near else index[v]

            row.sort(key=barycentre)
            for i, v in enumerate(row):
                index[v] = i


# --------------------------------------------------------------------------- x positions

def _place(rows: list[list[str]], preds, succs, sizes) -> dict[str, float]:
    xs: dict[str, float] = {}
    for row in rows:  # start: each row centred on 0
        gaps = _gaps(row, sizes)
        total = sum(gaps)
        x = -total / 2
        for i, v in enumerate(row):
            xs[v] = x
            if i < len(gaps):
                x += gaps[i]
    for down in (True, False, True):
        sequence = rows if down else rows[::-1]
        for row in sequence:
            targets = []
            for v in row:
                near = preds[v] if down else succs[v]
                targets.append(sum(xs[u] for u in near) / len(near) if near else xs[v])
            for v, x in zip(row, _fit_in_order(targets, _gaps(row, sizes)), strict=True):
                xs[v] = x
    return xs


def _gaps(row: list[str], sizes) -> list[float]:
    return [(sizes[a][0] + sizes[b][0]) / 2 + COLUMN_GAP for a, b in zip(row, row[1:],
                                                                            strict=False)]


def _fit_in_order(targets: list[float], gaps: list[float]) -> list[float]:
    """x minimising Σ(x_i − t_i)² with x_{i+1} − x_i ≥ gap_i (pool adjacent violators)."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    values = [t - o for t, o in zip(targets, offsets, strict=True)]
    blocks: list[list[float]] = []  # [mean, count]
    for value in values:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            prev = blocks[-1]
            prev[0] = (prev[0] * prev[1] + mean * count) / (prev[1] + count)
            prev[1] += count
    fitted = [mean for mean, count in blocks for _ in range(int(count))]
    return [y + o for y, o in zip(fitted, offsets, strict=True)]


# --------------------------------------------------------------------------- edges

def _route(a: NodeBox, b: NodeBox, by_row: list[list[NodeBox]]) -> EdgePath:
    rows = b.row - a.row
    start, end = (a.x, a.bottom), (b.x, b.top)
    between = [box for row in by_row[a.row + 1:b.row] for box in row]

    def blocked(x_at) -> bool:
        return any(box.left - 6 <= x_at(box.y) <= box.right + 6 for box in between)

    def line(t_y: float) -> float:
        t = (t_y - start[1]) / (end[1] - start[1]) if end[1] != start[1] else 0.5
        return start[0] + t * (end[0] - start[0])

    if not between or not blocked(line):
        curve = _s_curve(start, end)
        return EdgePath(a.id, b.id, curve, _arrow(curve), False, rows)
    last_row_bottom = max(box.bottom for box in by_row[b.row - 1])
    first_row_top = min(box.top for box in by_row[a.row + 1])
    if a.x != b.x and not blocked(lambda _y: a.x):      # down the source's column
        bend = (a.x, last_row_bottom)
        curve = (*_line(start, bend), *_s_curve(bend, end)[1:])
        return EdgePath(a.id, b.id, curve, _arrow(curve), False, rows)
    if a.x != b.x and not blocked(lambda _y: b.x):      # across, then down the target's
        bend = (b.x, first_row_top)
        curve = (*_s_curve(start, bend), *_line(bend, end)[1:])
        return EdgePath(a.id, b.id, curve, _arrow(curve), False, rows)
    # an arc to the right of everything between the two rows
    low, high = min(a.x, b.x), max(a.x, b.x)
    right = max(box.right for box in between
                if box.right >= low - NODE_WIDTH / 2 and box.left <= high + NODE_WIDTH / 2)
    reach = max(right, a.right, b.right) + 12 + 14 * math.log2(rows)
    start, end = (a.right, a.y), (b.right, b.y)
    control = (reach - (start[0] + end[0]) / 8) / 0.75  # the curve peaks at `reach`
    curve = (start, (control, start[1]), (control, end[1]), end)
    return EdgePath(a.id, b.id, curve, _arrow(curve), True, rows)


def _s_curve(start, end) -> tuple[tuple[float, float], ...]:
    bend = max(10.0, (end[1] - start[1]) * 0.45)
    return (start, (start[0], start[1] + bend), (end[0], end[1] - bend), end)


def _line(start, end) -> tuple[tuple[float, float], ...]:
    third = ((end[0] - start[0]) / 3, (end[1] - start[1]) / 3)
    return (start, (start[0] + third[0], start[1] + third[1]),
            (start[0] + 2 * third[0], start[1] + 2 * third[1]), end)


def _arrow(curve, length: float = 8.0, half_width: float = 4.0) -> tuple:
    (x3, y3), (x2, y2) = curve[-1], curve[-2]
    dx, dy = x3 - x2, y3 - y2
    norm = math.hypot(dx, dy) or 1.0
    dx, dy = dx / norm, dy / norm
    base = (x3 - dx * length, y3 - dy * length)
    return ((x3, y3), (base[0] - dy * half_width, base[1] + dx * half_width),
            (base[0] + dy * half_width, base[1] - dx * half_width))


def _curve_extent(curve) -> tuple[float, float]:
    """Min and max x of a chain of cubic Béziers (sampled; enough for bounds)."""
    xs = []
    for k in range(0, len(curve) - 1, 3):
        (x0, _), (x1, _), (x2, _), (x3, _) = curve[k:k + 4]
        for i in range(9):
            t = i / 8
            u = 1 - t
            xs.append(u ** 3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t ** 3 * x3)
    return min(xs), max(xs)


def _frame(group: str, title: str, boxes: list[NodeBox]) -> FrameBox:
    return FrameBox(group, title, min(b.left for b in boxes) - FRAME_PAD,
                    min(b.top for b in boxes) - FRAME_PAD - FRAME_TITLE,
                    max(b.right for b in boxes) + FRAME_PAD,
                    max(b.bottom for b in boxes) + FRAME_PAD)


def _bounds(nodes: dict[str, NodeBox], edges, frames) -> tuple[float, float, float, float]:
    if not nodes:
        return 0.0, 0.0, 1.0, 1.0
    left = min(b.left for b in nodes.values())
    right = max(b.right for b in nodes.values())
    top = min(b.top for b in nodes.values())
    bottom = max(b.bottom for b in nodes.values())
    for edge in edges:
        if edge.skip or len(edge.curve) > 4:
            low, high = _curve_extent(edge.curve)
            left, right = min(left, low), max(right, high)
    for f in frames:
        left, top = min(left, f.left), min(top, f.top)
        right, bottom = max(right, f.right), max(bottom, f.bottom)
    return left - 8, top - 8, right + 8, bottom + 8
