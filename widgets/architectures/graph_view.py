"""GraphView: a layered network graph in a QGraphicsView — pan, zoom, fit, hover, click.

The layout (positions, curves) comes from `lab.architectures.graph_layout` as plain numbers,
computed off the GUI thread. Here it only becomes items, in slices of a few milliseconds each so
that even DenseNet-121 never stalls the GUI: boxes are `NodeItem`s (painted directly,
text hidden when zoomed far out), and all edges of one colour share one path item.

Mouse: drag to pan, wheel to zoom about the cursor, double-click the background to fit.
Keys: + / − zoom, 0 or F fits. Hover a box for its op, module path, output shape and
parameters; click a "×N" box to expand it, or an expanded block's frame title to
collapse it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from lab.architectures.graph_display import ViewGraph, ViewNode
from lab.architectures.graph_layout import EdgePath, FrameBox, GraphLayout, NodeBox
from widgets.kit.files import Report, save_image

#: kind -> (fill, border)
KIND_COLORS: dict[str, tuple[str, str]] = {
    "input": ("#eceff4", "#5c6370"), "output": ("#eceff4", "#5c6370"),
    "conv": ("#d6e4fb", "#2f6fdb"), "linear": ("#e6dcf7", "#7446c9"),
    "norm": ("#eeeeee", "#8a8a8a"), "activation": ("#dcf2df", "#2f8f46"),
    "pool": ("#fde8cf", "#c7731b"), "dropout": ("#f4f4f4", "#9a9a9a"),
    "add": ("#fff1b8", "#b08800"), "concat": ("#fbd9ea", "#c2367a"),
    "reshape": ("#f1f1f1", "#777777"), "custom": ("#d7f3f0", "#178a7e"),
    "identity": ("#f4f4f4", "#9a9a9a"), "other": ("#f1f1f1", "#777777"),
    "group": ("#d7f3f0", "#178a7e"),
}
EDGE_COLORS = {"plain": "#7b8494", "add": "#d08a00", "concat": "#c2367a", "skip": "#7b8494"}
TEXT_COLOR = QColor("#1b1f24")
ZOOM_STEP = 1.15
MIN_ZOOM, MAX_ZOOM = 0.02, 4.0
FULL_TEXT_ZOOM = 0.8       # below this a box shows one short line in a larger font
TEXT_MIN_ZOOM = 0.1        # below this, boxes are drawn without text
SHORT_TEXT_PIXELS = 10.0   # the short line's height on screen
SLICE_SECONDS = 0.008      # item creation per event-loop turn
EDGE_CHUNK_ROWS = 12       # edges leaving this many rows share one path item


class NodeItem(QGraphicsItem):
    """One box: rounded rectangle (circle for + and concat) with title and shape."""

    def __init__(self, node: ViewNode, box: NodeBox, view: GraphView) -> None:
        super().__init__()
        self.node = node
        self.box = box
        self._view = view
        self._hover = False
        self._rect = QRectF(-box.width / 2, -box.height / 2, box.width, box.height)
        self.setPos(box.x, box.y)
        self.setToolTip(node.tooltip)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if node.group is not None:
            self.setCursor(Qt.CursorShape.PointingHandCursor)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        view = self._view
        kind = self.node.kind
        painter.setPen(view.border_pen(kind, 2.6 if self._hover else
                                       (2.0 if self.node.group else 1.2)))
        painter.setBrush(view.fill_brush(kind))
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        round_op = kind in ("add", "concat")
        if round_op:
            painter.drawEllipse(self._rect)
        else:
            radius = 14.0 if kind in ("input", "output") else 6.0
            if self.node.group:  # a stack of cards: the block repeats
                painter.drawRoundedRect(self._rect.translated(5, -5), radius, radius)
            painter.drawRoundedRect(self._rect, radius, radius)
        if lod < TEXT_MIN_ZOOM:
            return
        painter.setPen(TEXT_COLOR)
        inner = self._rect.adjusted(6, 2, -6, -2)
        center = Qt.AlignmentFlag.AlignCenter
        if round_op or lod < FULL_TEXT_ZOOM or kind in ("input", "output"):
            # one line, in a font that stays readable on screen when zoomed out
            text = ("+" if kind == "add" else "C") if round_op else (
                f"{kind} {self.node.subtitle}" if kind in ("input", "output") and
                lod >= FULL_TEXT_ZOOM else self.node.short or self.node.title)
            pixels = max(view.bold_font.pointSizeF() * 1.33, SHORT_TEXT_PIXELS / max(lod, 1e-3))
            font = view.font_of_size(int(min(pixels, self._rect.height() * 0.62)))
            painter.setFont(font)
            painter.drawText(inner, center, view.elided(text, font, inner.width(), False))
            return
        half = inner.height() / 2
        top = QRectF(inner.left(), inner.top(), inner.width(), half)
        bottom = QRectF(inner.left(), inner.top() + half, inner.width(), half)
        painter.setFont(view.bold_font)
        painter.drawText(top, center, view.elided(self.node.title, view.bold_font,
                                                  inner.width(), False))
        painter.setFont(view.small_font)
        painter.drawText(bottom, center, view.elided(self.node.subtitle, view.small_font,
                                                     inner.width(), True))

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = True
        self.update()
        self._view.hover_node(self.node.id, True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = False
        self.update()
        self._view.hover_node(self.node.id, False)
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._view.click_node(self.node)
            event.accept()
            return
        super().mousePressEvent(event)


class FrameItem(QGraphicsPathItem):
    """An expanded repeat group: a dashed frame with a title; click the title to collapse."""

    def __init__(self, frame: FrameBox, view: GraphView) -> None:
        rect = QRectF(frame.left, frame.top, frame.right - frame.left, frame.bottom - frame.top)
        path = QPainterPath()
        path.addRoundedRect(rect, 8, 8)
        super().__init__(path)
        self.frame = frame
        self._view = view
        self._title_rect = QRectF(rect.left(), rect.top(), rect.width(), 18)
        pen = QPen(QColor("#178a7e"), 1.2, Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.setBrush(QColor(23, 138, 126, 18))
        self.setZValue(-2)
        self.setToolTip(f"{frame.title} — expanded; click the title to collapse")

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        super().paint(painter, option, widget)
        if option.levelOfDetailFromTransform(painter.worldTransform()) >= FULL_TEXT_ZOOM / 2:
            painter.setPen(QColor("#0f5f57"))
            painter.setFont(self._view.small_font)
            painter.drawText(self._title_rect.adjusted(8, 0, -4, 0),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"▾ {self.frame.title}")

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and \
                self._title_rect.contains(event.pos()):
            self._view.groupToggled.emit(self.frame.group, False)
            event.accept()
            return
        event.ignore()


class GraphView(QGraphicsView):
    """Shows one GraphLayout. `set_graph` builds the items in slices; `drawn` follows."""

    drawn = Signal()
    zoomChanged = Signal(float)
    groupToggled = Signal(str, bool)        # group id, expand (True) / collapse (False)
    nodeHovered = Signal(str)               # view node id, "" when the mouse leaves

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.bold_font = QFont(self.font())
        self.bold_font.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.9))
        self.bold_font.setBold(True)
        self.small_font = QFont(self.font())
        self.small_font.setPointSizeF(max(6.5, self.font().pointSizeF() * 0.82))
        self._layout: GraphLayout | None = None
        self._view_graph: ViewGraph | None = None
        self._nodes: dict[str, NodeItem] = {}
        self._frames: dict[str, FrameItem] = {}
        self._edge_items: list[QGraphicsPathItem] = []
        self._highlight: QGraphicsPathItem | None = None
        self._pending: list[Callable[[], None]] = []
        self._complete = False
        self._fit_on_draw = True
        self._builder = QTimer(self)
        self._builder.setSingleShot(True)
        self._builder.setInterval(0)
        self._builder.timeout.connect(self._build_slice)
        self.slices = 0  # how many event-loop turns the last build took (tests, benchmark)
        self._fonts: dict[int, QFont] = {}
        self._metrics: dict[int, QFontMetricsF] = {}
        self._elided: dict[tuple, str] = {}
        self._pens: dict[tuple[str, float], QPen] = {}
        self._brushes: dict[str, QBrush] = {}

    # -- painting helpers (cached: boxes are repainted at every new zoom) --------------
    def font_of_size(self, pixels: int) -> QFont:
        pixels = max(1, pixels)
        if pixels not in self._fonts:
            font = QFont(self.bold_font)
            font.setPixelSize(pixels)
            self._fonts[pixels] = font
        return self._fonts[pixels]

    def elided(self, text: str, font: QFont, width: float, middle: bool) -> str:
        key = (text, font.key(), round(width), middle)
        if key not in self._elided:
            metrics = self._metrics.setdefault(id(font), QFontMetricsF(font))
            mode = Qt.TextElideMode.ElideMiddle if middle else Qt.TextElideMode.ElideRight
            self._elided[key] = metrics.elidedText(text, mode, width)
        return self._elided[key]

    def border_pen(self, kind: str, width: float) -> QPen:
        key = (kind, width)
        if key not in self._pens:
            self._pens[key] = QPen(QColor(KIND_COLORS.get(kind, KIND_COLORS["other"])[1]), width)
        return self._pens[key]

    def fill_brush(self, kind: str) -> QBrush:
        if kind not in self._brushes:
            self._brushes[kind] = QBrush(QColor(KIND_COLORS.get(kind, KIND_COLORS["other"])[0]))
        return self._brushes[kind]

    # -- public API ------------------------------------------------------------------
    def set_graph(self, view_graph: ViewGraph, graph_layout: GraphLayout, *,
                  fit: bool = True) -> None:
        """Replace what is shown. Items appear over the next event-loop turns."""
        self._builder.stop()
        old = self.scene()
        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex
                                 if len(view_graph.nodes) < 40 else
                                 QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        scene.setBackgroundBrush(self.palette().base())
        left, top, right, bottom = graph_layout.bounds
        scene.setSceneRect(QRectF(left, top, right - left, bottom - top))
        self.setScene(scene)
        old.deleteLater()
        self._layout, self._view_graph = graph_layout, view_graph
        self._nodes, self._frames, self._edge_items = {}, {}, []
        self._highlight = None
        self._complete = False
        self._fit_on_draw = fit
        self.slices = 0
        self._pending = self._plan(view_graph, graph_layout)[::-1]  # popped from the end
        self._build_slice()

    def is_complete(self) -> bool:
        return self._complete

    def view_graph(self) -> ViewGraph | None:
        return self._view_graph

    def graph_layout(self) -> GraphLayout | None:
        return self._layout

    def node_items(self) -> dict[str, NodeItem]:
        return dict(self._nodes)

    def frame_items(self) -> dict[str, FrameItem]:
        return dict(self._frames)

    def edge_items(self) -> list[QGraphicsPathItem]:
        return list(self._edge_items)

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, scale: float) -> None:
        scale = min(MAX_ZOOM, max(MIN_ZOOM, scale))
        if abs(scale - self.zoom()) > 1e-9:
            self.resetTransform()
            self.scale(scale, scale)
            self.zoomChanged.emit(scale)

    def fit_zoom(self) -> float:
        """The zoom at which the whole graph fits the viewport (at most 1)."""
        rect = self.sceneRect()
        viewport = self.viewport().rect()
        if rect.width() <= 0 or rect.height() <= 0 or viewport.width() < 8:
            return 1.0
        return min(1.0, (viewport.width() - 8) / rect.width(),
                   (viewport.height() - 8) / rect.height())

    def fit(self) -> None:
        self.set_zoom(self.fit_zoom())
        self.centerOn(self.sceneRect().center())

    def show_top(self) -> None:
        rect = self.sceneRect()
        self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / 2 / self.zoom())

    def export_png(self, path: str | Path, max_side: int = 8000,
                   report: Report | None = None) -> bool:
        rect = self.scene().sceneRect()
        scale = min(2.0, max_side / max(rect.width(), rect.height(), 1.0))
        image = QImage(max(1, int(rect.width() * scale)), max(1, int(rect.height() * scale)),
                       QImage.Format.Format_ARGB32)
        image.fill(self.palette().base().color())
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.scene().render(painter, QRectF(image.rect()), rect)
        painter.end()
        return save_image(image, path, report)

    # -- building, in slices ---------------------------------------------------------------
    def _plan(self, view_graph: ViewGraph, graph_layout: GraphLayout) -> list[Callable[[], None]]:
        """Small steps, so that each slice of building stays within SLICE_SECONDS."""
        kinds = {n.id: n.kind for n in view_graph.nodes}
        rows = {box.id: box.row for box in graph_layout.nodes.values()}
        chunks: dict[tuple[str, int], list[EdgePath]] = {}
        for edge in graph_layout.edges:  # one path item per colour and band of rows
            key = (_edge_color(edge, kinds), rows.get(edge.source, 0) // EDGE_CHUNK_ROWS)
            chunks.setdefault(key, []).append(edge)
        steps: list[Callable[[], None]] = [
            lambda c=color, e=edges: self._add_edges(c, e) for (color, _), edges in chunks.items()]
        for frame in graph_layout.frames:
            steps.append(lambda f=frame: self._add_frame(f))
        for node in view_graph.nodes:
            box = graph_layout.nodes.get(node.id)
            if box is not None:
                steps.append(lambda n=node, b=box: self._add_node(n, b))
        return steps

    def _build_slice(self) -> None:
        start = time.perf_counter()
        self.slices += 1
        while self._pending and time.perf_counter() - start < SLICE_SECONDS:
            self._pending.pop()()
        if self._pending:
            self._builder.start()
            return
        self._complete = True
        if self._fit_on_draw:
            fit = self.fit_zoom()
            self.set_zoom(max(fit, 0.3))
            self.show_top()
        self.drawn.emit()

    def _add_node(self, node: ViewNode, box: NodeBox) -> None:
        item = NodeItem(node, box, self)
        self.scene().addItem(item)
        self._nodes[node.id] = item

    def _add_frame(self, frame: FrameBox) -> None:
        item = FrameItem(frame, self)
        self.scene().addItem(item)
        self._frames[frame.group] = item

    def _add_edges(self, color: str, edges: list[EdgePath]) -> None:
        """Edges of one colour and band of rows share a path item (and one for their
        arrowheads), so the view only strokes those on screen."""
        path, arrows = QPainterPath(), QPainterPath()
        for edge in edges:
            _add_curve(path, edge)
            arrows.addPolygon([QPointF(*p) for p in edge.arrow])
            arrows.closeSubpath()
        pen = QPen(QColor(color), 1.3 if color == EDGE_COLORS["plain"] else 1.5)
        pen.setCosmetic(True)
        item = QGraphicsPathItem(path)
        item.setPen(pen)
        item.setZValue(-1)
        item.setData(0, color)
        self.scene().addItem(item)
        self._edge_items.append(item)
        head = QGraphicsPathItem(arrows)
        head.setPen(Qt.PenStyle.NoPen)
        head.setBrush(QColor(color))
        head.setZValue(-1)
        head.setData(0, color)
        self.scene().addItem(head)
        self._edge_items.append(head)

    # -- interaction -------------------------------------------------------------------------
    def hover_node(self, node_id: str, entered: bool) -> None:
        """Highlight a box's incoming and outgoing edges while the mouse is over it."""
        if self._highlight is not None:
            self.scene().removeItem(self._highlight)
            self._highlight = None
        if entered and self._layout is not None:
            path = QPainterPath()
            for edge in self._layout.edges:
                if node_id in (edge.source, edge.target):
                    _add_curve(path, edge)
            item = QGraphicsPathItem(path)
            pen = QPen(QColor("#e0461b"), 2.4)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setZValue(-0.5)
            self.scene().addItem(item)
            self._highlight = item
        self.nodeHovered.emit(node_id if entered else "")

    def click_node(self, node: ViewNode) -> None:
        if node.group is not None:
            self.groupToggled.emit(node.group, True)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom() * ZOOM_STEP ** steps)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_zoom(self.zoom() * ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.set_zoom(self.zoom() / ZOOM_STEP)
        elif key in (Qt.Key.Key_0, Qt.Key.Key_F):
            self.fit()
        else:
            super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # the light / dark theme switched
            self.scene().setBackgroundBrush(self.palette().base())
        super().changeEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.itemAt(event.position().toPoint()) is None:
            self.fit()
            return
        super().mouseDoubleClickEvent(event)


def _edge_color(edge: EdgePath, kinds: dict[str, str]) -> str:
    target = kinds.get(edge.target, "")
    if edge.skip and target == "add":
        return EDGE_COLORS["add"]
    if edge.skip and target in ("concat", "group"):
        return EDGE_COLORS["concat"]
    return EDGE_COLORS["plain"]


def _add_curve(path: QPainterPath, edge: EdgePath) -> None:
    points = edge.curve
    path.moveTo(*points[0])
    for k in range(1, len(points) - 2, 3):
        (x1, y1), (x2, y2), (x3, y3) = points[k:k + 3]
        path.cubicTo(x1, y1, x2, y2, x3, y3)


class LinkedZoom:
    """Keeps several GraphViews at the same zoom, so sizes compare at a glance."""

    def __init__(self, views: list[GraphView]) -> None:
        self.views = views
        self._busy = False
        for view in views:
            view.zoomChanged.connect(self._follow)

    def _follow(self, scale: float) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            for view in self.views:
                view.set_zoom(scale)
        finally:
            self._busy = False

    def fit_all(self) -> None:
        """The largest common zoom at which every graph fits (at least 0.3: readable)."""
        drawn = [v for v in self.views if v.is_complete()]
        if not drawn:
            return
        scale = min(v.fit_zoom() for v in drawn)
        self._follow(max(scale, 0.3))
        for view in drawn:
            view.show_top()

    def fit_exact(self) -> None:
        drawn = [v for v in self.views if v.is_complete()]
        if drawn:
            self._follow(min(v.fit_zoom() for v in drawn))
            for view in drawn:
                view.centerOn(view.sceneRect().center())
