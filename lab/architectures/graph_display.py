"""What to draw of a ModelGraph: boxes and arrows, with labels and tooltips.

    view = view_graph(graph, collapse=True, expanded={"layer1.0…layer1.1"}, fold=True)

Repeated blocks collapse into one box "×N" (a click in the panel expands them), and
BatchNorm / activation / dropout layers that follow a layer one-to-one are folded into
its box ("Conv 3×3, 64 · BN · ReLU"). Plain data, no Qt.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from lab.architectures.graphs import (
    FOLDABLE,
    KIND_TEXT,
    LayerNode,
    ModelGraph,
    RepeatGroup,
    shape_text,
)


@dataclass(frozen=True)
class ViewNode:
    id: str
    members: tuple[str, ...]        # the LayerNode names drawn as this box
    kind: str                       # of the first member, or "group"
    title: str
    subtitle: str
    tooltip: str
    group: str | None = None        # the RepeatGroup id of a collapsed box
    count: int = 1
    params: int = 0
    macs: int = 0
    short: str = ""                 # one short line, for when the graph is zoomed out


@dataclass(frozen=True)
class GroupFrame:
    """An expanded repeat group: drawn as a frame around its boxes; click to collapse."""

    group: str
    title: str
    members: tuple[str, ...]        # ViewNode ids inside the frame


@dataclass(frozen=True)
class ViewGraph:
    nodes: tuple[ViewNode, ...]
    edges: tuple[tuple[str, str], ...]
    frames: tuple[GroupFrame, ...] = ()

    def node(self, node_id: str) -> ViewNode:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def groups(self) -> list[ViewNode]:
        return [n for n in self.nodes if n.group is not None]


def view_graph(graph: ModelGraph, *, collapse: bool = False,
               expanded: frozenset[str] | set[str] = frozenset(), fold: bool = True
               ) -> ViewGraph:
    """The boxes and arrows to draw.

    collapse: repeat groups not in `expanded` become one box "×N" (outer groups first;
    the groups inside an expanded one can be collapsed in turn).
    fold: BatchNorm, activations and dropout that follow a layer one-to-one are drawn
    inside that layer's box ("Conv 3×3, 64 · BN · ReLU").
    """
    by_name = graph.nodes_by_name()
    owner: dict[str, str] = {}          # fx node -> group id, for collapsed groups
    collapsed: list[RepeatGroup] = []
    frames: list[RepeatGroup] = []
    if collapse:
        for group in graph.groups:     # outermost first
            names = graph.group_nodes.get(group.id, frozenset())
            if not names or any(name in owner for name in names):
                continue
            if group.id in expanded:
                frames.append(group)
                continue
            collapsed.append(group)
            for name in names:
                owner[name] = group.id

    # boxes: one per collapsed group, one per remaining node
    box_of: dict[str, str] = {}
    members: dict[str, list[str]] = defaultdict(list)
    order: list[str] = []
    for node in graph.nodes:
        box = f"group:{owner[node.name]}" if node.name in owner else node.name
        box_of[node.name] = box
        if box not in members:
            order.append(box)
        members[box].append(node.name)

    edges: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for src, dst in graph.edges:
        a, b = box_of[src], box_of[dst]
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            edges.append((a, b))

    if fold:
        order, members, edges = _fold(order, members, edges, by_name)

    group_by_id = {g.id: g for g in collapsed}
    nodes = []
    for box in order:
        names = members[box]
        if box.startswith("group:"):
            nodes.append(_group_box(box, group_by_id[box.removeprefix("group:")], names,
                                    by_name))
        else:
            nodes.append(_layer_box(box, [by_name[n] for n in names]))
    frame_list = []
    for group in frames:
        inside = graph.group_nodes[group.id]
        boxes = tuple(dict.fromkeys(box_of_final for name in inside
                                    if (box_of_final := _final_box(name, box_of, members))))
        frame_list.append(GroupFrame(group.id, group.title, boxes))
    return ViewGraph(tuple(nodes), tuple(edges), tuple(frame_list))


def _final_box(name: str, box_of: dict[str, str], members: dict[str, list[str]]) -> str:
    box = box_of[name]
    if box in members:
        return box
    for key, names in members.items():  # folded into another box
        if name in names:
            return key
    return ""


def _fold(order, members, edges, by_name):
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    into: dict[str, str] = {}

    def root(box: str) -> str:
        while box in into:
            box = into[box]
        return box

    for box in order:
        if box.startswith("group:") or len(members[box]) != 1:
            continue
        node = by_name[members[box][0]]
        if node.kind not in FOLDABLE or len(preds[box]) != 1:
            continue
        source = preds[box][0]
        if source.startswith("group:") or len(succs[source]) != 1:
            continue
        head = root(source)
        if by_name[members[head][0]].kind in ("input", "output"):
            continue
        into[box] = head
    if not into:
        return order, members, edges
    new_members: dict[str, list[str]] = defaultdict(list)
    new_order = []
    for box in order:
        head = root(box)
        if head not in new_members:
            new_order.append(head)
        new_members[head].extend(members[box])
    new_edges, seen = [], set()
    for a, b in edges:
        a, b = root(a), root(b)
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            new_edges.append((a, b))
    return new_order, new_members, new_edges


def short_label(node: LayerNode) -> str:
    """What a box says about one layer: 'Conv 3×3/2, 64', 'MaxPool 3×3/2', '+', …"""
    op = node.op
    detail = node.detail
    if node.kind == "conv":
        parts = dict(part.split(" ", 1) for part in detail.split(", ")[1:] if " " in part)
        kernel = parts.get("kernel", "")
        stride = parts.get("stride", "1")
        out = detail.split(",")[0].split("→")[-1]
        text = f"Conv {kernel}" + (f"/{stride}" if stride != "1" else "") + f", {out}"
        return text if op == "Conv2d" else f"{op} {kernel}, {out}"
    if node.kind == "linear":
        return f"Linear {detail}"
    if node.kind == "pool" and detail.startswith("kernel"):
        kernel = detail.split(",")[0].removeprefix("kernel ")
        stride = detail.split(",")[1].strip().removeprefix("stride ")
        name = op.replace("2d", "")
        return f"{name} {kernel}" + (f"/{stride}" if stride != "1" else "")
    if node.kind == "pool" and detail.startswith("output"):
        return f"{op.replace('2d', '')} → {detail.removeprefix('output ')}"
    if node.kind == "norm":
        return "BN" if "BatchNorm" in op else op
    if node.kind == "add":
        return "+"
    if node.kind == "concat":
        return "concat"
    if node.kind == "dropout":
        return f"Dropout {detail.removeprefix('p = ')}".strip()
    if node.kind == "activation":
        return {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}.get(op, op)
    return op


#: top-level modules outside a net's counted body (lab.models.ConnectivityNet)
ROLES = ("stem", "head")


def _layer_tooltip(nodes: list[LayerNode]) -> str:
    lines = []
    for node in nodes:
        where = node.module_path or "the model's own forward()"
        head = f"<b>{node.op}</b> — {KIND_TEXT.get(node.kind, node.kind)}"
        lines.append(head)
        lines.append(f"module: <code>{where}</code> · fx node <code>{node.name}</code>")
        if node.detail:
            lines.append(node.detail)
        lines.append(f"output shape: {shape_text(node.shape)}")
        lines.append(f"parameters: {node.params:,}" + (" (module reused; counted at its first "
                                                     "call)" if node.reused else "")
                     + (f" · multiply-adds: {node.macs:,}" if node.macs else ""))
        if len(node.inputs) > 1:
            lines.append(f"reads {len(node.inputs)} tensors")
        lines.append("")
    return "<br>".join(lines[:-1])


def _layer_box(box: str, nodes: list[LayerNode]) -> ViewNode:
    first, last = nodes[0], nodes[-1]
    labels = [short_label(n) for n in nodes if n.kind != "identity" or n is first]
    title = " · ".join(labels)
    if first.kind == "concat" and len(first.inputs) > 1:
        labels[0] = f"concat {len(first.inputs)}"
        title = " · ".join(labels)
    role = first.module_path.split(".")[0]
    if role in ROLES and first.kind in ("conv", "linear"):
        # the stem and head are not among the L layers: say so on the box (depth 8 drew 9
        # conv boxes, unexplained)
        labels[0] = f"{role}: {labels[0]}"
        title = " · ".join(labels)
    return ViewNode(box, tuple(n.name for n in nodes), first.kind, title, shape_text(last.shape),
                    _layer_tooltip(nodes), None, 1, sum(n.params for n in nodes),
                    sum(n.macs for n in nodes), labels[0])


def _group_box(box: str, group: RepeatGroup, names: list[str],
               by_name: dict[str, LayerNode]) -> ViewNode:
    nodes = [by_name[n] for n in names]
    params = sum(n.params for n in nodes)
    macs = sum(n.macs for n in nodes)
    out = nodes[-1].shape
    tooltip = (f"<b>{group.type_name} ×{group.count}</b> — repeated block (click to expand)"
               f"<br>modules: <code>{', '.join(group.members)}</code>"
               f"<br>{len(nodes)} graph nodes inside"
               f"<br>output shape: {shape_text(out)}"
               f"<br>parameters: {params:,} · multiply-adds: {macs:,}")
    return ViewNode(box, tuple(names), "group", f"{group.type_name} ×{group.count}",
                    f"{group.span_text} · {shape_text(out)}", tooltip, group.id, group.count,
                    params, macs, f"{group.type_name.lstrip('_')} ×{group.count}")
