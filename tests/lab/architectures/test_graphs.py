"""Tracing, shapes, parameters, multiply-adds, repeats and connection counts, against torch."""

import threading

import networkx as nx
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from lab.architectures import (
    ConnectivityParams,
    PreparedGraph,
    build_connectivity,
    graph_display,
    graph_layout,
    graphs,
    prepare_connectivity,
)
from lab.models import CLASSIC_MODELS, LeNet5, classic_model


@pytest.fixture(scope="session")
def densenet121():
    """DenseNet-121 traced once for the whole test session (on the meta device)."""
    with torch.device("meta"):
        model = classic_model("densenet121")
    return graphs.trace(model, "DenseNet-121")


def traced_classic(name, device="meta", **kwargs):
    with torch.device(device):
        model = classic_model(name, **kwargs)
    return model, graphs.trace(model, CLASSIC_MODELS[name][0])


# --------------------------------------------------------------------------- connectivity

@pytest.mark.parametrize("kind", ["conv", "dense"])
@pytest.mark.parametrize("depth,blocks", [(1, 1), (4, 1), (4, 2), (7, 3), (12, 2), (12, 4)])
def test_connection_counts_follow_the_textbook_formulas(kind, depth, blocks):
    params = ConnectivityParams(kind, depth, width=8, growth_rate=4, blocks=blocks)
    sizes = params.config("densenet").layers_per_block()
    for pattern in ("plain", "resnet", "densenet"):
        net = build_connectivity(params, pattern)
        graph = graphs.analyse(graphs.trace(net), params.input_shape())
        counts = graphs.connection_counts(graph, pattern, graphs.connectivity_blocks(net))
        assert counts.layers == depth
        if pattern == "plain":
            assert [b.name for b in counts.blocks] == ["body"]
            assert counts.between == depth - 1 and counts.from_input == 1
            assert len(graph.edges) == len(graph.nodes) - 1  # a chain: L−1 between layers
        elif pattern == "resnet":
            assert [(b.between, b.from_input, b.shortcuts) for b in counts.blocks] == [
                (n - 1, 1, 1) for n in sizes]
        else:
            assert [b.total for b in counts.blocks] == [n * (n + 1) // 2 for n in sizes]
            assert [b.between for b in counts.blocks] == [n * (n - 1) // 2 for n in sizes]
            assert [b.from_input for b in counts.blocks] == sizes
        assert counts.params == sum(p.numel() for p in net.parameters())


def test_connection_summary_states_the_formula():
    params = ConnectivityParams(depth=8, blocks=2)
    texts = {p.key: p.counts.summary() for p in prepare_connectivity(params, {})
             if isinstance(p, PreparedGraph)}
    assert "7 between layers (L−1 = 7) + 1 from the input" in texts["plain"]
    assert texts["plain"].startswith("L = 8 body layers (+ stem and head)")
    assert "2 identity shortcuts (+)" in texts["resnet"]
    assert "connections per block: 10, 10 (L = 4: 4·5/2 = 10)" in texts["densenet"]


@given(kind=st.sampled_from(["conv", "dense"]), depth=st.integers(-2, 14),
       width=st.integers(-1, 6), growth=st.integers(-1, 5), blocks=st.integers(-1, 5),
       batchnorm=st.booleans())
def test_any_connectivity_settings_give_a_message_or_three_consistent_graphs(
        kind, depth, width, growth, blocks, batchnorm):
    params = ConnectivityParams(kind, depth, width, growth, blocks, batchnorm)
    problems = params.validate()
    if problems:
        with pytest.raises(ValueError, match="must be at least 1|cannot exceed depth"):
            list(prepare_connectivity(params, {}))
        return
    prepared = [p for p in prepare_connectivity(params, {}) if isinstance(p, PreparedGraph)]
    assert [p.key for p in prepared] == ["plain", "resnet", "densenet"]
    for item in prepared:
        assert item.counts.layers == depth
        assert item.graph.total_params == item.graph.model_params
        assert set(item.layout.nodes) == {n.id for n in item.view.nodes}


# --------------------------------------------------------------------------- shapes, params

def _hook_shapes(model, x):
    shapes = {}

    def record(name):
        def hook(_module, _inputs, output):
            shapes.setdefault(name, tuple(output.shape[1:]))  # the first call of a module
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in model.named_modules() if name]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return shapes


@pytest.mark.parametrize("name,device,side", [
    ("lenet5", "cpu", 32), ("resnet18", "cpu", 64), ("googlenet", "cpu", 64),
    ("alexnet", "meta", 224), ("vgg11", "meta", 64), ("vgg16", "meta", 32)])
def test_shapes_and_parameters_equal_torch(name, device, side):
    model, traced = traced_classic(name, device)
    channels = CLASSIC_MODELS[name][2]
    graph = graphs.analyse(traced, (channels, side, side))
    expected = _hook_shapes(model.eval(), torch.zeros(1, channels, side, side, device=device))
    module_nodes = [n for n in graph.nodes if n.call == "call_module"]
    assert module_nodes
    for node in module_nodes:
        assert node.shape == expected[node.module_path], node.module_path
    assert graph.total_params == sum(p.numel() for p in model.parameters())
    assert graph.nodes[-1].shape == (1000,)


def test_densenet121_parameters_macs_and_shapes(densenet121):
    graph = graphs.analyse(densenet121, (3, 224, 224))
    assert graph.total_params == 7_978_856 == graph.model_params
    assert 2.8e9 < graph.total_macs < 2.9e9  # the paper's 2.9 GFLOPs (multiply-adds)
    assert graph.node("features_denseblock1_denselayer6_conv2").shape == (32, 56, 56)
    final_cats = [n for n in graph.nodes if n.kind == "concat" and n.module_path.endswith(
        "denseblock4")]
    assert final_cats[-1].shape == (1024, 7, 7)


def test_multiply_adds_of_known_models():
    for name, expected in (("resnet18", 1.814e9), ("vgg16", 15.47e9), ("alexnet", 0.714e9)):
        _, traced = traced_classic(name)
        macs = graphs.analyse(traced, (3, 224, 224)).total_macs
        assert abs(macs - expected) / expected < 0.01, name


def test_lenet5_layer_table_by_hand():
    graph = graphs.analyse(graphs.trace(LeNet5(), "LeNet-5"), (1, 32, 32))
    rows, total = graphs.layer_table(graph)
    by_hand = [  # name, type, output, params, multiply-adds
        ("features.0", "Conv2d", "6×28×28", 6 * (25 + 1), 6 * 28 * 28 * 25),
        ("features.1", "ReLU", "6×28×28", 0, 0),
        ("features.2", "MaxPool2d", "6×14×14", 0, 0),
        ("features.3", "Conv2d", "16×10×10", 16 * (6 * 25 + 1), 16 * 10 * 10 * 6 * 25),
        ("features.4", "ReLU", "16×10×10", 0, 0),
        ("features.5", "MaxPool2d", "16×5×5", 0, 0),
        ("classifier.0", "Flatten", "400", 0, 0),
        ("classifier.1", "Linear", "120", 400 * 120 + 120, 400 * 120),
        ("classifier.2", "ReLU", "120", 0, 0),
        ("classifier.3", "Linear", "84", 120 * 84 + 84, 120 * 84),
        ("classifier.4", "ReLU", "84", 0, 0),
        ("classifier.5", "Linear", "10", 84 * 10 + 10, 84 * 10),
    ]
    assert [(r.name, r.type, r.output, r.params, r.macs) for r in rows] == by_hand
    assert rows[0].window == "1→6, kernel 5×5, stride 1, padding 0"
    assert rows[2].window == "kernel 2×2, stride 2, padding 0"
    assert (total.params, total.macs) == (61_706, 416_520)
    csv = graphs.table_csv(graph)
    assert csv.splitlines()[0].startswith("layer,type,kernel / stride / padding")
    assert csv.splitlines()[-1] == "total,12 layers,,10,61706,416520"


# --------------------------------------------------------------------------- bad input

def test_an_input_too_small_names_the_layer_where_the_size_reaches_zero(densenet121):
    traced = graphs.trace(LeNet5(), "LeNet-5")
    with pytest.raises(graphs.InputTooSmallError) as caught:
        graphs.analyse(traced, (1, 8, 8))
    assert caught.value.layer == "features.3"
    assert "layer `features.3` (Conv2d)" in str(caught.value)
    assert "its input is 2×2" in str(caught.value) and "reaches zero" in str(caught.value)
    with pytest.raises(graphs.GraphError, match="expects 400 input features but receives 16"):
        graphs.analyse(traced, (1, 16, 16))
    with pytest.raises(graphs.InputTooSmallError) as caught:
        graphs.analyse(densenet121, (3, 16, 16))
    assert caught.value.layer == "features.transition3.pool"
    _, alexnet = traced_classic("alexnet")
    with pytest.raises(graphs.InputTooSmallError, match=r"`features\.12` \(MaxPool2d\)"):
        graphs.analyse(alexnet, (3, 32, 32))
    with pytest.raises(graphs.GraphError, match="at least 1"):
        graphs.analyse(traced, (1, 0, 32))


class _Gate(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace through this."""

    def forward(self, x):
        return x if x.sum() > 0 else -x


def test_a_module_fx_cannot_trace_becomes_one_opaque_box():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), _Gate(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    traced = graphs.trace(model, "gated")
    assert traced.opaque == ("1",)
    graph = graphs.analyse(traced, (1, 6, 6))
    gate = [n for n in graph.nodes if n.module_path == "1"]
    assert len(gate) == 1 and gate[0].op == "_Gate" and gate[0].shape == (2, 4, 4)
    assert graph.total_params == sum(p.numel() for p in model.parameters())
    assert [n.kind for n in graph.nodes] == ["input", "conv", "other", "reshape", "linear",
                                             "output"]


def test_tracing_leaves_models_in_other_threads_alone():
    started, finished = threading.Event(), threading.Event()
    seen = {}

    class Pause(nn.Module):
        def forward(self, x):  # runs while fx's global patch is active
            started.set()
            finished.wait(10)
            return x + 1

    def other_thread():
        started.wait(10)
        try:
            net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
            seen["out"] = net(torch.ones(1, 3)).shape
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            seen["error"] = exc
        finished.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    graphs.trace(nn.Sequential(nn.Linear(3, 3), Pause()))
    thread.join()
    assert seen == {"out": (1, 2)}
    assert nn.Module.__call__ is torch.fx._symbolic_trace._orig_module_call


# --------------------------------------------------------------------------- repeats, drawing

def test_repeated_blocks_collapse_into_one_box_and_expand():
    _, traced = traced_classic("resnet18")
    graph = graphs.analyse(traced, (3, 64, 64))
    collapsed = graph_display.view_graph(graph, collapse=True)
    groups = {n.title: n for n in collapsed.groups()}
    assert set(groups) == {"BasicBlock ×2", "Sequential ×3"}
    assert groups["BasicBlock ×2"].params == 2 * 2 * (64 * 64 * 9 + 2 * 64)
    assert nx.is_directed_acyclic_graph(nx.DiGraph(collapsed.edges))
    expanded = graph_display.view_graph(graph, collapse=True,
                                        expanded={"layer1.0…layer1.1"})
    assert {n.title for n in expanded.groups()} == {"Sequential ×3"}
    frame = expanded.frames[0]
    assert frame.title == "layer1.0–1 · BasicBlock ×2"
    inside = [expanded.node(m) for m in frame.members]
    assert sum(n.kind == "add" for n in inside) == 2  # the two shortcuts are visible again
    everything = graph_display.view_graph(graph)
    assert not everything.groups() and not everything.frames
    assert sum(n.params for n in collapsed.nodes) == graph.total_params


def test_densenet121_collapses_its_dense_layers(densenet121):
    graph = graphs.analyse(densenet121, (3, 64, 64))
    view = graph_display.view_graph(graph, collapse=True)
    assert [n.count for n in view.groups()] == [6, 12, 24, 16]
    assert view.groups()[0].subtitle.startswith("denselayer1–6")
    assert nx.is_directed_acyclic_graph(nx.DiGraph(view.edges))
    assert len(view.nodes) < 30 < len(graph_display.view_graph(graph).nodes)


def test_googlenet_draws_the_inception_branches_side_by_side():
    _, traced = traced_classic("googlenet")
    graph = graphs.analyse(traced, (3, 224, 224))
    assert [g.title for g in traced.groups] == [
        "inception3a–3b · Inception ×2", "inception4a–4e · Inception ×5",
        "inception5a–5b · Inception ×2"]  # parallel branches are not "repeats"
    view = graph_display.view_graph(graph)
    drawing = graph_layout.layout(view)
    firsts = ["inception3a_branch1_conv", "inception3a_branch2_0_conv",
              "inception3a_branch3_0_conv", "inception3a_branch4_0"]
    boxes = [next(drawing.nodes[n.id] for n in view.nodes if name in n.members)
             for name in firsts]
    assert len({b.row for b in boxes}) == 1
    assert [b.x for b in boxes] == sorted(b.x for b in boxes) and len({b.x for b in boxes}) == 4
    titles = [n.title for n in view.nodes if n.members[0].startswith("inception3a_branch3")]
    assert titles == ["Conv 1×1, 16 · BN · ReLU", "Conv 5×5, 32 · BN · ReLU"]


def test_vgg16_shows_stacks_of_3x3_convolutions():
    _, traced = traced_classic("vgg16")
    view = graph_display.view_graph(graphs.analyse(traced, (3, 224, 224)))
    stacks, run = [], 0
    for node in view.nodes:
        if node.kind == "conv":
            assert node.title.startswith("Conv 3×3")
            run += 1
        elif node.kind == "pool" and run:
            stacks.append(run)
            run = 0
    assert stacks == [2, 2, 3, 3, 3]


def test_folding_puts_bn_and_relu_into_their_layer():
    params = ConnectivityParams(depth=3)
    graph = graphs.analyse(graphs.trace(build_connectivity(params, "plain")),
                           params.input_shape())
    folded = graph_display.view_graph(graph)
    assert [n.title for n in folded.nodes][2:5] == ["Conv 3×3, 16 · BN · ReLU"] * 3
    # the stem is marked, so depth L = 3 reads as 3 unmarked conv boxes (issue 19)
    assert folded.nodes[1].title == "stem: Conv 3×3, 16 · ReLU"
    assert sum(n.title.startswith("Conv") for n in folded.nodes) == 3
    assert folded.nodes[-2].title.startswith("head: Linear")
    assert folded.nodes[2].members == ("body_0_0", "body_0_1", "body_0_2")
    plain = graph_display.view_graph(graph, fold=False)
    assert len(plain.nodes) == len(graph.nodes)
    assert "output shape: 16×32×32" in folded.nodes[2].tooltip
    assert "module: <code>body.0.0</code>" in folded.nodes[2].tooltip


@pytest.mark.parametrize("name", ["googlenet", "resnet18", "lenet5"])
def test_layout_keeps_rows_apart_and_edges_downwards(name):
    _, traced = traced_classic(name)
    channels = CLASSIC_MODELS[name][2]
    graph = graphs.analyse(traced, (channels, 224, 224) if name != "lenet5" else (1, 32, 32))
    view = graph_display.view_graph(graph)
    drawing = graph_layout.layout(view)
    for row in drawing.rows():
        boxes = [drawing.nodes[n] for n in row]
        for left, right in zip(boxes, boxes[1:], strict=False):
            assert left.right + graph_layout.COLUMN_GAP - 1e-6 <= right.left
    for edge in drawing.edges:
        assert drawing.nodes[edge.target].row > drawing.nodes[edge.source].row
        assert (len(edge.curve) - 1) % 3 == 0
    left, top, right, bottom = drawing.bounds
    assert all(left <= b.left and b.right <= right and top <= b.top and b.bottom <= bottom
               for b in drawing.nodes.values())


def test_skip_connections_are_drawn_as_arcs():
    params = ConnectivityParams(depth=4, blocks=1)
    arcs = {}
    for pattern in ("plain", "resnet", "densenet"):
        graph = graphs.analyse(graphs.trace(build_connectivity(params, pattern)),
                               params.input_shape())
        drawing = graph_layout.layout(graph_display.view_graph(graph))
        arcs[pattern] = sum(edge.skip for edge in drawing.edges)
    # resnet: the block input jumps to the +; densenet: x0 and every layer reach each later
    # concatenation, all but the one right below as arcs: 1 + 2 + 3 + 4
    assert arcs == {"plain": 0, "resnet": 1, "densenet": 10}


class _Bias(nn.Module):
    """Its own parameter, used directly in forward(): fx records a get_attr node."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x):
        return x + self.bias


def test_parameters_read_directly_in_forward_are_counted():
    model = nn.Sequential(nn.Linear(4, 3), _Bias())
    graph = graphs.analyse(graphs.trace(model), (4,))
    attr = [n for n in graph.nodes if n.op == "parameter"]
    assert len(attr) == 1 and attr[0].params == 3 and attr[0].detail == "1.bias"
    assert graph.total_params == graph.model_params == 4 * 3 + 3 + 3
    assert [n.kind for n in graph.nodes if n.kind == "add"] == ["add"]
