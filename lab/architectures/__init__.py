"""The Architectures panel's state as data, and its long jobs as generators.

`ConnectivityParams` (the three nets side by side) and `ClassicParams` (one classic net)
validate themselves and write the PyTorch code that reproduces the view. The `prepare_*`
generators do the slow part — build (on the meta device: shapes and counts without any
arithmetic), trace with torch.fx, run the dummy forward pass, lay out — yielding
`Progress` on the way and a `PreparedGraph` (plain data, no Qt) at the end, so the panel
can run them on a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from lab.architectures import graph_display, graph_layout, graphs, source
from lab.models import (
    CLASSIC_MODELS,
    PATTERNS,
    ConnectivityNet,
    NetConfig,
    classic_model,
    notes_example,
)
from lab.progress import Progress  # re-exported: the panel reads it here

INPUT_SIZES: tuple[int, ...] = (8, 16, 28, 32, 64, 96, 128, 224, 256, 299)
CONNECTIVITY_INPUT = 32            # conv nets see 3×32×32 images (CIFAR-sized)
DENSE_INPUT_FEATURES = 2           # linear nets see 2-D points (the toy data sets)
AUTO_COLLAPSE_BOXES = 120          # drawings bigger than this start with repeats collapsed
PATTERN_TITLES = {"plain": "Plain", "resnet": "ResNet-style", "densenet": "DenseNet-style"}


@dataclass(frozen=True)
class DrawOptions:
    fold: bool = True
    collapse: bool = False
    expanded: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PreparedGraph:
    """Everything one graph view shows, computed off the GUI thread."""

    key: str                        # "plain" / "resnet" / "densenet" / a classic model id
    title: str
    graph: graphs.ModelGraph
    view: graph_display.ViewGraph
    layout: graph_layout.GraphLayout
    options: DrawOptions
    counts: graphs.ConnectionCounts | None = None
    traced: graphs.TracedModel | None = field(default=None, compare=False, repr=False)


# =========================================================================== connectivity

@dataclass(frozen=True)
class ConnectivityParams:
    kind: str = "conv"
    depth: int = 8
    width: int = 16
    growth_rate: int = 12
    blocks: int = 2
    batchnorm: bool = True

    def validate(self) -> list[str]:
        problems = self.config("plain").validate()
        for pattern in ("resnet", "densenet"):
            problems += [p for p in self.config(pattern).validate() if p not in problems]
        return problems

    def config(self, pattern: str) -> NetConfig:
        features = 3 if self.kind == "conv" else DENSE_INPUT_FEATURES
        return NetConfig(pattern, self.kind, self.depth, self.width, self.growth_rate,
                         self.blocks if pattern != "plain" else 1, in_channels=features,
                         batchnorm=self.batchnorm)

    def input_shape(self) -> tuple[int, ...]:
        if self.kind == "conv":
            return (3, CONNECTIVITY_INPUT, CONNECTIVITY_INPUT)
        return (DENSE_INPUT_FEATURES,)

    def to_json(self) -> dict:
        return asdict(self)


def build_connectivity(params: ConnectivityParams, pattern: str,
                       device: str | torch.device = "meta") -> ConnectivityNet:
    with torch.device(device):
        return ConnectivityNet(params.config(pattern))


def prepare_connectivity(params: ConnectivityParams, options: dict[str, DrawOptions],
                         should_stop: Callable[[], bool] = lambda: False
                         ) -> Iterator[Progress | PreparedGraph]:
    """Trace, count and lay out the three nets, one after the other."""
    problems = params.validate()
    if problems:
        raise ValueError("; ".join(problems))
    for i, pattern in enumerate(PATTERNS):
        if should_stop():
            return
        yield Progress(f"tracing the {PATTERN_TITLES[pattern]} net", i / 3)
        net = build_connectivity(params, pattern)
        traced = graphs.trace(net, PATTERN_TITLES[pattern])
        graph = graphs.analyse(traced, params.input_shape())
        counts = graphs.connection_counts(graph, pattern, graphs.connectivity_blocks(net))
        option = options.get(pattern, DrawOptions())
        view = graph_display.view_graph(graph, collapse=option.collapse, expanded=option.expanded,
                                 fold=option.fold)
        yield PreparedGraph(pattern, PATTERN_TITLES[pattern], graph, view,
                            graph_layout.layout(view), option, counts, traced)


def connectivity_code(params: ConnectivityParams) -> str:
    shape = ", ".join(str(s) for s in params.input_shape())
    return f'''{source.IMPORTS}

# Visual Lab's plain / ResNet / DenseNet nets, written out: the blocks are all here
{source.connectivity_source()}

for pattern in ("plain", "resnet", "densenet"):
    net = ConnectivityNet(NetConfig(pattern, "{params.kind}", depth={params.depth},
                                    width={params.width}, growth_rate={params.growth_rate},
                                    blocks={params.blocks} if pattern != "plain" else 1,
                                    in_channels={params.input_shape()[0]},
                                    batchnorm={params.batchnorm}))
    graph = torch.fx.symbolic_trace(net).graph
    edges = sum(len(node.all_input_nodes) for node in graph.nodes)
    params = sum(p.numel() for p in net.parameters())
    print(f"{{pattern:9}} {{len(graph.nodes)}} nodes, {{edges}} edges, {{params:,}} parameters")
    print("   output:", tuple(net.eval()(torch.zeros(1, {shape})).shape))
'''


# =========================================================================== classic nets

@dataclass(frozen=True)
class ClassicParams:
    model: str = "lenet5"
    input_size: int = 32
    in_channels: int = 1
    num_classes: int = 10

    def validate(self) -> list[str]:
        problems = []
        if self.model not in CLASSIC_MODELS:
            problems.append(f"unknown model {self.model!r}")
        if self.input_size < 1:
            problems.append(f"the input size must be at least 1 pixel (got {self.input_size})")
        if self.in_channels < 1:
            problems.append(f"the input needs at least 1 channel (got {self.in_channels})")
        if self.num_classes < 1:
            problems.append(f"there must be at least 1 class (got {self.num_classes})")
        return problems

    @property
    def title(self) -> str:
        return CLASSIC_MODELS[self.model][0] if self.model in CLASSIC_MODELS else self.model

    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.input_size, self.input_size)

    def model_key(self) -> tuple[str, int, int]:
        return (self.model, self.in_channels, self.num_classes)

    @classmethod
    def for_model(cls, model: str) -> ClassicParams:
        _, size, channels, _ = CLASSIC_MODELS[model]
        return cls(model, size, channels, 10 if model == "lenet5" else 1000)


def build_classic(params: ClassicParams, device: str | torch.device = "meta") -> nn.Module:
    with torch.device(device):
        return classic_model(params.model, params.num_classes, params.in_channels)


def default_options(graph: graphs.ModelGraph, fold: bool = True) -> DrawOptions:
    """Big drawings (DenseNet-121's 190 boxes) start with their repeated blocks collapsed;
    GoogLeNet (84 boxes) shows every Inception block's branches."""
    boxes = len(graph_display.view_graph(graph, fold=fold).nodes)
    return DrawOptions(fold, boxes > AUTO_COLLAPSE_BOXES)


def prepare_classic(params: ClassicParams, options: DrawOptions | None,
                    traced: graphs.TracedModel | None = None,
                    should_stop: Callable[[], bool] = lambda: False
                    ) -> Iterator[Progress | PreparedGraph]:
    """Build and trace (unless `traced` is given), run the shapes, lay out.

    `options=None` picks `default_options` for the model. Raises InputTooSmallError /
    GraphError (with the layer's name) when the input does not fit the model.
    """
    problems = params.validate()
    if problems:
        raise ValueError("; ".join(problems))
    if traced is None:
        yield Progress(f"building {params.title}", 0.0)
        model = build_classic(params)
        if should_stop():
            return
        yield Progress(f"tracing {params.title} with torch.fx", 0.2)
        traced = graphs.trace(model, params.title)
    if should_stop():
        return
    yield Progress(f"output shapes for a {'×'.join(map(str, params.input_shape()))} input", 0.5)
    graph = graphs.analyse(traced, params.input_shape())
    if should_stop():
        return
    yield Progress("layout", 0.75)
    options = options or default_options(graph)
    yield relayout(params.model, params.title, graph, options, traced)


def relayout(key: str, title: str, graph: graphs.ModelGraph, options: DrawOptions,
             traced: graphs.TracedModel | None = None,
             counts: graphs.ConnectionCounts | None = None) -> PreparedGraph:
    """Only the drawing changes (a block expanded, folding switched): no re-tracing."""
    view = graph_display.view_graph(graph, collapse=options.collapse, expanded=options.expanded,
                             fold=options.fold)
    return PreparedGraph(key, title, graph, view, graph_layout.layout(view), options, counts,
                         traced)


def classic_code(params: ClassicParams) -> str:
    """Python that builds the model exactly as the table counts it and prints the table."""
    usual_channels = CLASSIC_MODELS[params.model][2]
    changes = ""
    if params.model == "lenet5":
        imports = ("from torch import nn\n\n# Visual Lab's LeNet-5 (with the notes' Flatten "
                   "layer)\n"
                   + source.lenet_source())
        expression = f"LeNet5(in_channels={usual_channels}, num_classes={params.num_classes})"
    else:
        imports = "import torchvision\nfrom torch import nn\n"
        extra = ", aux_logits=False, init_weights=False" if params.model == "googlenet" else ""
        expression = (f"torchvision.models.{params.model}(weights=None, "
                      f"num_classes={params.num_classes}{extra})")
        if params.model == "googlenet":
            imports += ("\n# torchvision's GoogLeNet keeps a 3×3 conv in each Inception block's "
                        "third branch\n# (its pretrained weights have one); the paper, and this "
                        "lab, use a 5×5 there:\n" + source.inception_5x5_source())
            changes += "_inception_5x5(model)\n"
    if params.in_channels != usual_channels:
        imports += ("\n# the input has a different number of channels: a new first conv\n"
                    + source.first_conv_source())
        changes += f"_replace_first_conv(model, {params.in_channels})\n"
    if changes:
        expression = f"{expression}\n{changes.rstrip()}"
    return graphs.graph_code(expression, imports, params.input_shape())


# =========================================================================== inside nn.Module

#: choices of the module-tree view: id -> text
TREE_MODELS: dict[str, str] = {
    "notes": "The notes' example: nn.Sequential of 5 nodes",
    **{f"net:{p}": f"{PATTERN_TITLES[p]} net (Connectivity settings)" for p in PATTERNS},
    **{f"classic:{k}": v[0] for k, v in CLASSIC_MODELS.items()},
}


def build_tree_model(choice: str, connectivity: ConnectivityParams | None = None) -> nn.Module:
    """The model whose module tree is shown (classic nets on the meta device: counting
    needs no weights)."""
    if choice == "notes":
        return notes_example()
    if choice.startswith("net:"):
        return build_connectivity(connectivity or ConnectivityParams(), choice[4:])
    if choice.startswith("classic:"):
        return build_classic(ClassicParams.for_model(choice[8:]))
    raise ValueError(f"unknown model choice {choice!r}")


@dataclass(frozen=True)
class ModuleCounts:
    modules: int
    children: int
    named_parameters: int
    parameters: int                 # numbers in all parameter tensors

    @classmethod
    def of(cls, model: nn.Module) -> ModuleCounts:
        return cls(len(list(model.modules())), len(list(model.children())),
                   len(list(model.named_parameters())),
                   sum(p.numel() for p in model.parameters()))


def tree_rows(model: nn.Module) -> list[tuple[str, str, str, int, int]]:
    """(path, type, own parameter names with shapes, own numbers, numbers in subtree) per
    module, in `named_modules()` order (the root's path is "")."""
    rows = []
    for path, module in model.named_modules():
        own = list(module.named_parameters(recurse=False))
        names = ", ".join(f"{n} {tuple(p.shape)}" for n, p in own)
        rows.append((path, type(module).__name__, names, sum(p.numel() for _, p in own),
                     sum(p.numel() for p in module.parameters())))
    return rows
