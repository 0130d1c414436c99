"""nn.Module -> torch.fx graph -> layers with shapes, parameters and multiply-adds.

    traced = trace(model, "ResNet-18")              # torch.fx, once per model
    graph = analyse(traced, (3, 224, 224))          # shapes from a dummy forward pass
    rows, totals = layer_table(graph)               # the table of every layer
    view = view_graph(graph, collapse=True)         # what to draw: repeats folded into ×N

`trace` uses a torch.fx tracer that treats torch.nn's layers and the lab's own layers
(`Flatten`, `ChannelScale`) as single nodes, and any submodule fx cannot trace (data-
dependent control flow, ...) as an opaque single node too, instead of failing.
`analyse` runs the traced graph node by node on a batch of one (on the model's device;
build on `torch.device("meta")` and no arithmetic is done at all) and names the layer at
which an input that is too small makes the feature map vanish.

Multiply-adds count the multiplications of conv and linear layers (one multiply and one
add each; FLOPs ≈ 2 × multiply-adds); element-wise layers (BatchNorm, ReLU, +) and
pooling are not counted, as in the papers' tables.
"""

from __future__ import annotations

import math
import operator
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from lab.geometry import pooled_length
from lab.models import ChannelScale, Flatten

#: Our own layers, drawn as one node each (their code is what the panel shows).
LEAF_TYPES: tuple[type[nn.Module], ...] = (Flatten, ChannelScale)

KIND_TEXT: dict[str, str] = {
    "input": "input", "output": "output", "conv": "convolution", "linear": "fully connected",
    "norm": "normalisation", "activation": "activation", "pool": "pooling",
    "dropout": "dropout", "add": "addition (shortcut)", "concat": "concatenation",
    "reshape": "reshape", "identity": "identity (passes its input on)",
    "custom": "home-made layer", "other": "other", "group": "repeated block",
}
#: kinds that act element-wise on one input and are folded into the layer before them
FOLDABLE = frozenset({"norm", "activation", "dropout", "identity"})
WEIGHT_KINDS = frozenset({"conv", "linear"})

_ACTIVATION_NAMES = {"relu", "relu_", "relu6", "gelu", "sigmoid", "tanh", "silu",
                     "leaky_relu", "elu", "softmax", "hardtanh", "hardswish"}
_RESHAPE_NAMES = {"flatten", "view", "reshape", "squeeze", "unsqueeze", "permute",
                  "transpose", "contiguous", "size"}


class GraphError(ValueError):
    """The model cannot be traced, or its dummy forward pass fails; the message says why."""

    def __init__(self, message: str, layer: str = "") -> None:
        super().__init__(message)
        self.layer = layer


class InputTooSmallError(GraphError):
    """The feature map shrinks to nothing at `layer` for this input size."""


# =========================================================================== tracing

#: torch.fx patches nn.Module.__call__ and __getattr__ process-wide while it traces, and
#: restores whatever it found afterwards: two traces at once would leave a dead tracer's
#: patch behind. Every trace in the app takes this lock.
_TRACE_LOCK = threading.Lock()


class _LabTracer(fx.Tracer):
    """fx tracer: torch.nn layers and the lab's layers are leaves; a submodule that fx
    cannot trace becomes a leaf (an opaque node) instead of failing the whole trace.

    While it traces, modules running in *other* threads (a training loop, the gradient
    flow job) still pass through fx's process-wide patch; they are run untouched.
    """

    def __init__(self) -> None:
        super().__init__()
        self.opaque: list[str] = []
        self._thread = threading.get_ident()

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        if threading.get_ident() != self._thread:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (isinstance(m, LEAF_TYPES) or module_qualified_name in self.opaque
                or super().is_leaf_module(m, module_qualified_name))

    def call_module(self, m: nn.Module, forward, args, kwargs) -> Any:
        if threading.get_ident() != self._thread:
            return forward(*args, **kwargs)  # another thread's model: not ours to trace
        path = self.path_of_module(m)
        if self.is_leaf_module(m, path):
            return super().call_module(m, forward, args, kwargs)
        stack, calls = OrderedDict(self.module_stack), dict(self.num_calls)
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:  # noqa: BLE001 - fx cannot see inside: keep it as one box
            self.module_stack.clear()
            self.module_stack.update(stack)
            self.num_calls.clear()
            self.num_calls.update(calls)
            self.opaque.append(path)
            return super().call_module(m, forward, args, kwargs)


@dataclass(frozen=True)
class RepeatGroup:
    """Consecutive sibling modules with the same structure (types, ignoring sizes)."""

    id: str
    parent: str
    members: tuple[str, ...]
    type_name: str
    nesting: int                    # how deep the parent sits: outer groups first

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def span_text(self) -> str:
        """'layer1.0–1', 'denselayer1–6', 'inception4a–4e', 'body.0–7'."""
        prefix = f"{self.parent}." if self.parent else ""
        first, last = (m.removeprefix(prefix) for m in (self.members[0], self.members[-1]))
        common = os.path.commonprefix([first, last]).rstrip("0123456789")
        head = f"{self.parent.rsplit('.', 1)[-1]}." if self.parent and not common else ""
        return f"{head}{first}–{last.removeprefix(common)}"

    @property
    def title(self) -> str:
        where = f"{self.parent}: " if self.parent and "." in self.parent else ""
        return f"{where}{self.span_text} · {self.type_name} ×{self.count}"


@dataclass
class TracedModel:
    """A model and its fx graph; shapes come from `analyse`."""

    title: str
    model: nn.Module
    graph: fx.Graph                 # run with fx.Interpreter(model, graph=…): no codegen
    opaque: tuple[str, ...]
    groups: tuple[RepeatGroup, ...]
    #: group id -> fx node names inside it (members' nodes and anything between them)
    group_nodes: dict[str, frozenset[str]] = field(default_factory=dict)


def trace(model: nn.Module, title: str = "") -> TracedModel:
    """Trace `model` with torch.fx (see the module docstring). Raises GraphError."""
    tracer = _LabTracer()
    try:
        with _TRACE_LOCK:
            graph = tracer.trace(model)
    except Exception as exc:  # noqa: BLE001 - the model's own forward is untraceable
        raise GraphError(f"torch.fx cannot trace {title or type(model).__name__}: "
                         f"{type(exc).__name__}: {exc}") from exc
    if tracer.opaque:  # drop what the failed attempts inside opaque modules left behind
        graph = fx.GraphModule(tracer.root, graph, type(model).__name__).graph
        graph.eliminate_dead_code()
    # No GraphModule otherwise: generating and compiling its forward() holds the GIL for
    # tens of milliseconds (DenseNet-121), and the shape pass interprets the graph anyway.
    groups, group_nodes = _group_nodes(graph, find_repeats(model))
    return TracedModel(title or type(model).__name__, model, graph, tuple(tracer.opaque),
                       groups, group_nodes)


# =========================================================================== repeats

def find_repeats(model: nn.Module) -> tuple[RepeatGroup, ...]:
    """Runs of ≥ 2 consecutive children of one parent with identical structure.

    Structure = the module's type and, recursively, its children's (sizes ignored), so
    ResNet's `layer1.0`, `layer1.1` and DenseNet's dense layers repeat, while a block
    with a downsampling shortcut differs from one without. Leaves never form groups, and
    a pair of one-weight-layer modules (a 1×1 then a 3×3 conv) is not worth a box: a
    group has at least three members or two weight layers per member.
    """
    signatures: dict[tuple, int] = {}
    memo: dict[int, int] = {}

    def signature(module: nn.Module) -> int:
        key = id(module)
        if key not in memo:
            shape = (type(module).__qualname__,
                     tuple(signature(child) for child in module.children()))
            memo[key] = signatures.setdefault(shape, len(signatures))
        return memo[key]

    groups: list[RepeatGroup] = []
    for path, parent in model.named_modules():
        children = list(parent.named_children())
        i = 0
        while i < len(children):
            j = i + 1
            first = children[i][1]
            if len(list(first.children())) > 0:
                while j < len(children) and signature(children[j][1]) == signature(first):
                    j += 1
            weights = sum(isinstance(m, nn.modules.conv._ConvNd | nn.Linear)
                          for m in first.modules())
            if j - i >= 3 or (j - i == 2 and weights >= 2):
                members = tuple(f"{path}.{name}" if path else name for name, _ in children[i:j])
                group_id = f"{members[0]}…{members[-1]}"
                groups.append(RepeatGroup(group_id, path, members, type(first).__name__,
                                          path.count(".") + (1 if path else 0)))
            i = j
    groups.sort(key=lambda g: g.nesting)
    return tuple(groups)


def _scopes(node: fx.Node) -> tuple[str, ...]:
    stack = node.meta.get("nn_module_stack") or {}
    scopes = tuple(dict.fromkeys(key.split("@")[0] for key in stack))
    if node.op == "call_module" and (not scopes or scopes[-1] != node.target):
        scopes = (*scopes, str(node.target))
    return scopes


def _group_nodes(graph: fx.Graph, groups: tuple[RepeatGroup, ...]
                 ) -> tuple[tuple[RepeatGroup, ...], dict[str, frozenset[str]]]:
    """Keep the groups whose members run one after the other (member i + 1 reads what
    member i produced: parallel branches such as Inception's are not repeats), and give
    each its nodes: those inside a member, plus nodes on a path between members
    (DenseNet-style concatenations written in the parent's forward)."""
    nodes = list(graph.nodes)
    users = {n.name: [u.name for u in n.users] for n in nodes}
    inputs = {n.name: [a.name for a in n.all_input_nodes] for n in nodes}
    scopes = {n.name: set(_scopes(n)) for n in nodes}
    kept, result = [], {}
    for group in groups:
        parts = [{name for name, s in scopes.items() if member in s}
                 for member in group.members]
        if not all(parts):
            continue
        reach = [_reach(part, users) for part in parts]
        if not all(parts[i + 1] & reach[i] for i in range(len(parts) - 1)):
            continue
        inside = set().union(*parts)
        after = set().union(*reach)
        before = _reach(inside, inputs)
        kept.append(group)
        result[group.id] = frozenset(inside | (after & before))
    return tuple(kept), result


def _reach(start: set[str], links: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        for nxt in links[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# =========================================================================== analysis

@dataclass(frozen=True)
class LayerNode:
    """One node of the traced graph, with what the dummy forward pass found."""

    name: str                       # fx node name (unique)
    op: str                         # Conv2d, BatchNorm2d, add, cat, flatten, input, output …
    kind: str                       # a key of KIND_TEXT
    module_path: str                # the module called, or the module whose forward ran it
    scopes: tuple[str, ...]         # enclosing module paths, outermost first
    inputs: tuple[str, ...]         # fx names of the nodes it reads
    shape: tuple[int, ...] | None   # output shape without the batch dimension
    params: int                     # parameters first used here (a reused module counts once)
    macs: int                       # multiply-adds for one input
    detail: str                     # kernel / stride / padding, features, p …
    reused: bool = False            # a module called a second time (params counted before)
    call: str = "call_module"       # the fx op: placeholder, call_module, call_function, …

    @property
    def label(self) -> str:
        """The name a table shows: the module path, or where a function ran."""
        if self.call == "call_module":
            return self.module_path
        return f"{self.module_path} · {self.name}" if self.module_path else self.name


@dataclass(frozen=True)
class ModelGraph:
    title: str
    input_shape: tuple[int, ...]
    nodes: tuple[LayerNode, ...]
    edges: tuple[tuple[str, str], ...]
    groups: tuple[RepeatGroup, ...]
    group_nodes: dict[str, frozenset[str]]
    opaque: tuple[str, ...]
    model_params: int               # sum(p.numel() for p in model.parameters())

    @property
    def total_params(self) -> int:
        return sum(n.params for n in self.nodes)

    @property
    def total_macs(self) -> int:
        return sum(n.macs for n in self.nodes)

    def node(self, name: str) -> LayerNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def nodes_by_name(self) -> dict[str, LayerNode]:
        return {n.name: n for n in self.nodes}


def model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "—"
    return "×".join(str(s) for s in shape) if shape else "scalar"


def analyse(traced: TracedModel, input_shape: tuple[int, ...]) -> ModelGraph:
    """Run a batch of one `input_shape` tensor through the graph, node by node.

    Raises InputTooSmallError naming the layer where the feature map's size reaches zero,
    and GraphError naming the layer for any other failure of the dummy forward pass.
    """
    if any(s < 1 for s in input_shape):
        raise GraphError(f"every input dimension must be at least 1 (got "
                         f"{shape_text(tuple(input_shape))})")
    model = traced.model
    recorder = _ShapeRecorder(model, traced.graph, traced.title, tuple(input_shape))
    modes = {m: m.training for m in model.modules()}
    model.eval()  # BatchNorm1d refuses a batch of one in training mode
    try:
        with torch.no_grad():
            recorder.run(torch.zeros((1, *input_shape), device=model_device(model)))
    finally:
        for m, mode in modes.items():
            m.training = mode

    modules = dict(model.named_modules())
    seen_params: set[int] = set()
    called: set[str] = set()
    nodes: list[LayerNode] = []
    edges: list[tuple[str, str]] = []
    for node in traced.graph.nodes:
        inputs = tuple(a.name for a in node.all_input_nodes)
        edges.extend((a, node.name) for a in inputs)
        shape = recorder.shapes.get(node.name)
        in_shape = recorder.shapes.get(inputs[0]) if inputs else None
        op, kind, detail, params, macs, reused = _describe(node, model, modules, shape,
                                                           in_shape, seen_params, called)
        scopes = _scopes(node)
        path = str(node.target) if node.op == "call_module" else (scopes[-1] if scopes
                                                                    else "")
        nodes.append(LayerNode(node.name, op, kind, path, scopes, inputs, shape, params, macs,
                               detail, reused, node.op))
    return ModelGraph(traced.title, tuple(input_shape), tuple(nodes), tuple(edges),
                      traced.groups, traced.group_nodes, traced.opaque,
                      sum(p.numel() for p in model.parameters()))


class _ShapeRecorder(fx.Interpreter):
    def __init__(self, model: nn.Module, graph: fx.Graph, title: str,
                 input_shape: tuple[int, ...]) -> None:
        super().__init__(model, graph=graph)
        self.extra_traceback = False  # our messages name the layer already
        self.title = title
        self.input_shape = input_shape
        self.shapes: dict[str, tuple[int, ...] | None] = {}

    def run_node(self, n: fx.Node) -> Any:
        try:
            result = super().run_node(n)
        except GraphError:
            raise
        except Exception as exc:  # noqa: BLE001 - turned into a message naming the layer
            raise self._failure(n, exc) from exc
        shape = tuple(result.shape[1:]) if isinstance(result, torch.Tensor) and \
            result.dim() > 0 else None
        self.shapes[n.name] = shape
        if shape is not None and 0 in shape and n.op != "output":
            raise self._failure(n, None)
        return result

    def _where(self, n: fx.Node) -> str:
        if n.op == "call_module":
            module = self.module.get_submodule(str(n.target))
            return f"layer `{n.target}` ({type(module).__name__})"
        return f"`{n.name}` ({_function_name(n)})"

    def _failure(self, n: fx.Node, exc: Exception | None) -> GraphError:
        size = "×".join(str(s) for s in self.input_shape)
        inputs = [a for a in n.all_input_nodes if self.shapes.get(a.name) is not None]
        in_shape = self.shapes.get(inputs[0].name) if inputs else None
        where = self._where(n)
        layer = str(n.target) if n.op == "call_module" else n.name
        module = self.module.get_submodule(str(n.target)) if n.op == "call_module" else None
        if exc is None or (in_shape and (0 in in_shape or _shrinks_to_zero(module, in_shape))):
            reason = _size_reason(module, in_shape)
            return InputTooSmallError(
                f"Input {size} is too small for {self.title}: the feature map's size reaches "
                f"zero at {where}{reason}. Choose a larger input size.", layer)
        if isinstance(module, nn.Linear) and in_shape and in_shape[-1] != module.in_features:
            return GraphError(
                f"Input {size} does not fit {self.title}: {where} expects "
                f"{module.in_features} input features but receives {in_shape[-1]} "
                f"(feature map {shape_text(in_shape)} before it). The model's fully connected "
                "part is built for one input size.", layer)
        return GraphError(f"The dummy forward pass of {self.title} with input {size} fails "
                          f"at {where}: {exc}", layer)


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _window(module: nn.Module | None) -> tuple[tuple[int, int], tuple[int, int],
                                                 tuple[int, int], tuple[int, int], bool] | None:
    """(kernel, stride, padding, dilation, ceil_mode) of a conv or pooling layer."""
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d) and \
            not isinstance(module.padding, str):
        stride = module.stride if module.stride is not None else module.kernel_size
        dilation = getattr(module, "dilation", 1)
        return (_pair(module.kernel_size), _pair(stride), _pair(module.padding),
                _pair(dilation), bool(getattr(module, "ceil_mode", False)))
    return None


def _out_sizes(module: nn.Module | None, in_shape: tuple[int, ...]) -> list[int] | None:
    window = _window(module)
    if window is None or len(in_shape) < 3:
        return None
    kernel, stride, padding, dilation, ceil = window
    return [pooled_length(in_shape[-2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil)
            for i in range(2)]


def _shrinks_to_zero(module: nn.Module | None, in_shape: tuple[int, ...]) -> bool:
    sizes = _out_sizes(module, in_shape)
    return sizes is not None and min(sizes) <= 0


def _size_reason(module: nn.Module | None, in_shape: tuple[int, ...] | None) -> str:
    if in_shape is None:
        return ""
    if 0 in in_shape:
        return f" (its input is already {shape_text(in_shape)})"
    sizes = _out_sizes(module, in_shape)
    window = _window(module)
    if sizes is None or window is None:
        return f" (input {shape_text(in_shape)})"
    (k, _), (s, _), (p, _), (d, _), _ = window
    h = in_shape[-2]
    span = f"{d}·({k}−1)+1" if d != 1 else f"{k}"
    return (f": its input is {in_shape[-2]}×{in_shape[-1]}, and a {k}×{k} window with stride "
            f"{s}, padding {p} gives ⌊({h} + 2·{p} − {span}) / {s}⌋ + 1 = "
            f"{sizes[0]} × {sizes[1]}: no output left")


def _function_name(n: fx.Node) -> str:
    target = n.target
    if isinstance(target, str):
        return target
    if target in (operator.add, operator.iadd):
        return "add"
    return getattr(target, "__name__", str(target))


def _describe(node: fx.Node, model: nn.Module, modules: dict[str, nn.Module], shape,
              in_shape, seen_params: set[int], called: set[str]
              ) -> tuple[str, str, str, int, int, bool]:
    """(op, kind, detail, params, macs, reused) of one fx node."""
    if node.op == "placeholder":
        return "input", "input", "", 0, 0, False
    if node.op == "output":
        return "output", "output", "", 0, 0, False
    if node.op == "get_attr":
        params = 0
        try:
            value = model.get_parameter(str(node.target))
        except AttributeError:
            value = None
        if value is not None and id(value) not in seen_params:
            seen_params.add(id(value))
            params = value.numel()
        return "parameter", "other", str(node.target), params, 0, False
    if node.op == "call_module":
        path = str(node.target)
        module = modules[path]
        reused = path in called
        called.add(path)
        params = 0
        for p in module.parameters():
            if id(p) not in seen_params:
                seen_params.add(id(p))
                params += p.numel()
        kind = _module_kind(module)
        macs = _module_macs(module, shape, in_shape)
        return type(module).__name__, kind, _module_detail(module), params, macs, reused
    name = _function_name(node)
    bare = name.rstrip("_")
    if name in ("add", "iadd", "add_") or bare == "add":
        kind = "add"
    elif bare in ("cat", "concat", "concatenate", "stack"):
        kind = "concat"
    elif bare in _ACTIVATION_NAMES or name in _ACTIVATION_NAMES:
        kind = "activation"
    elif bare in _RESHAPE_NAMES:
        kind = "reshape"
    elif "pool" in bare:
        kind = "pool"
    elif "dropout" in bare:
        kind = "dropout"
    else:
        kind = "other"
    return bare or name, kind, "", 0, 0, False


def _module_kind(module: nn.Module) -> str:
    if isinstance(module, LEAF_TYPES):
        return "custom"
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(module, nn.Linear | nn.Bilinear):
        return "linear"
    if isinstance(module, nn.modules.batchnorm._NormBase | nn.GroupNorm | nn.LayerNorm
                  | nn.LocalResponseNorm):
        return "norm"
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return "dropout"
    if isinstance(module, nn.Identity):
        return "identity"
    name = type(module).__name__
    if "Pool" in name:
        return "pool"
    if isinstance(module, nn.Flatten | nn.Unflatten):
        return "reshape"
    if module.__module__.startswith("torch.nn.modules.activation"):
        return "activation"
    if not module.__module__.startswith("torch.nn"):
        return "other"  # an opaque module fx could not trace
    return "other"


def _module_macs(module: nn.Module, shape, in_shape) -> int:
    if shape is None:
        return 0
    out_elements = math.prod(shape)
    if isinstance(module, nn.modules.conv._ConvNd) and not module.transposed:
        per_output = (module.in_channels // module.groups) * math.prod(module.kernel_size)
        return out_elements * per_output
    if isinstance(module, nn.modules.conv._ConvNd) and in_shape is not None:
        per_input = (module.out_channels // module.groups) * math.prod(module.kernel_size)
        return math.prod(in_shape) * per_input
    if isinstance(module, nn.Linear):
        return out_elements * module.in_features
    return 0


def _fmt_pair(value: Any) -> str:
    if isinstance(value, str) or (isinstance(value, tuple) and len(value) != 2):
        return str(value)  # padding="same", 1-D or 3-D layers
    a, b = _pair(value)
    return f"{a}" if a == b else f"{a}×{b}"


def _module_detail(module: nn.Module) -> str:
    if isinstance(module, nn.modules.conv._ConvNd):
        k = "×".join(str(v) for v in module.kernel_size)
        text = (f"{module.in_channels}→{module.out_channels}, kernel {k}, "
                f"stride {_fmt_pair(module.stride)}, padding {_fmt_pair(module.padding)}")
        if module.groups != 1:
            text += f", groups {module.groups}"
        return text
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        k = _pair(module.kernel_size)
        stride = module.stride if module.stride is not None else module.kernel_size
        text = (f"kernel {k[0]}×{k[1]}, stride {_fmt_pair(stride)}, "
                f"padding {_fmt_pair(module.padding)}")
        return text + (", ceil_mode" if module.ceil_mode else "")
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        size = module.output_size
        return f"output {_fmt_pair(size) if size is not None else size}"
    if isinstance(module, nn.Linear):
        return f"{module.in_features}→{module.out_features}"
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return f"{module.num_features} channels"
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return f"p = {module.p:g}"
    if isinstance(module, ChannelScale):
        return f"{module.scale.numel()} own scale factors (nn.Parameter)"
    return ""


# =========================================================================== connectivity

@dataclass(frozen=True)
class BlockConnections:
    """How the weight layers of one block are wired, counted on the traced graph.

    A connection is a feature map that a weight layer (conv / linear) of the block reads
    directly — through BatchNorm, activations, + and concatenation, but not through
    another weight layer. `between`: from an earlier layer of the same block;
    `from_input`: from the block's input x₀ (the DenseNet paper counts x₀ as a layer).
    """

    name: str
    layers: int
    between: int
    from_input: int
    shortcuts: int                  # identity additions (+) in the block
    concats: int                    # concatenations in the block

    @property
    def total(self) -> int:
        return self.between + self.from_input


@dataclass(frozen=True)
class ConnectionCounts:
    pattern: str
    blocks: tuple[BlockConnections, ...]
    edges: int                      # arrows in the traced graph (every operation a node)
    nodes: int
    params: int

    @property
    def layers(self) -> int:
        return sum(b.layers for b in self.blocks)

    @property
    def between(self) -> int:
        return sum(b.between for b in self.blocks)

    @property
    def from_input(self) -> int:
        return sum(b.from_input for b in self.blocks)

    @property
    def shortcuts(self) -> int:
        return sum(b.shortcuts for b in self.blocks)

    def summary(self) -> str:
        """Three short lines for under a graph, with the textbook formula checked."""
        lines = [f"L = {self.layers} body layers (+ stem and head) · {self.params:,} "
                 f"parameters · {self.edges} edges"]
        if self.pattern == "plain":
            lines.append(f"connections: {self.between} between layers (L−1 = "
                         f"{self.layers - 1}) + {self.from_input} from the input")
        elif self.pattern == "resnet":
            lines.append(f"connections: {self.between} between layers + {self.from_input} "
                         f"from block inputs; {self.shortcuts} identity shortcuts (+)")
        else:
            sizes = sorted({b.layers for b in self.blocks})
            formula = ", ".join(f"L = {n}: {n}·{n + 1}/2 = {n * (n + 1) // 2}" for n in sizes)
            lines.append(f"connections per block: "
                         f"{', '.join(str(b.total) for b in self.blocks)} ({formula})")
        return "\n".join(lines)


def connectivity_blocks(net: nn.Module) -> list[str]:
    """The module paths of a ConnectivityNet's blocks (the plain body is one block)."""
    from lab.models import DenseBlock, ResidualBlock

    blocks = [f"body.{name}" for name, child in net.body.named_children()
              if isinstance(child, ResidualBlock | DenseBlock)]
    return blocks or ["body"]


def connection_counts(graph: ModelGraph, pattern: str, blocks: list[str]) -> ConnectionCounts:
    """Count each block's connections (see BlockConnections) on the traced graph."""
    by_name = graph.nodes_by_name()
    result = []
    for block in blocks:
        inside = [n for n in graph.nodes if block in n.scopes]
        weights = [n for n in inside if n.kind in WEIGHT_KINDS]
        between = from_input = 0
        for layer in weights:
            found: set[str] = set()
            todo, seen = list(layer.inputs), set()
            while todo:
                name = todo.pop()
                if name in seen:
                    continue
                seen.add(name)
                node = by_name[name]
                if block not in node.scopes or node.kind == "input":
                    found.add("x0")
                elif node.kind in WEIGHT_KINDS:
                    found.add(name)
                else:
                    todo.extend(node.inputs)
            from_input += "x0" in found
            between += len(found - {"x0"})
        result.append(BlockConnections(block, len(weights), between, from_input,
                                       sum(n.kind == "add" for n in inside),
                                       sum(n.kind == "concat" for n in inside)))
    return ConnectionCounts(pattern, tuple(result), len(graph.edges), len(graph.nodes),
                            graph.model_params)


# =========================================================================== the table

@dataclass(frozen=True)
class TableRow:
    name: str
    type: str
    window: str
    output: str
    params: int
    macs: int


def layer_table(graph: ModelGraph) -> tuple[list[TableRow], TableRow]:
    """One row per node (the input and output excluded), and the totals row."""
    rows = [TableRow(n.label, n.op + (" (called again)" if n.reused else ""), n.detail,
                     shape_text(n.shape), n.params, n.macs)
            for n in graph.nodes if n.kind not in ("input", "output")]
    output = graph.nodes[-1].shape if graph.nodes else None
    total = TableRow("total", f"{len(rows)} layers", "", shape_text(output),
                     graph.total_params, graph.total_macs)
    return rows, total


def table_csv(graph: ModelGraph) -> str:
    import csv
    import io

    rows, total = layer_table(graph)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["layer", "type", "kernel / stride / padding", "output shape",
                     "parameters", "multiply-adds"])
    for row in [*rows, total]:
        writer.writerow([row.name, row.type, row.window, row.output, row.params, row.macs])
    return buffer.getvalue()


def human(count: float) -> str:
    """12 345 678 -> '12.3 M' (parameters, multiply-adds)."""
    for factor, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(count) >= factor:
            return f"{count / factor:.1f}{suffix}"
    return f"{count:g}"


def graph_code(model_expression: str, imports: str, input_shape: tuple[int, ...]) -> str:
    """Python that traces the model and prints the table this view shows."""
    shape = ", ".join(str(s) for s in input_shape)
    return f'''import torch
import torch.fx
from torch.fx.passes.shape_prop import ShapeProp
{imports}

model = {model_expression}
model.eval()
traced = torch.fx.symbolic_trace(model)   # the graph: one node per layer or operation
ShapeProp(traced).propagate(torch.zeros(1, {shape}))  # a dummy batch of one

for node in traced.graph.nodes:
    meta = node.meta.get("tensor_meta")
    shape = tuple(meta.shape[1:]) if hasattr(meta, "shape") else None
    module = traced.get_submodule(node.target) if node.op == "call_module" else None
    params = sum(p.numel() for p in module.parameters()) if module is not None else 0
    print(f"{{node.name:30}} {{node.op:14}} {{str(shape):20}} {{params:>10,}}")

print("parameters:", sum(p.numel() for p in model.parameters()))
print("modules():", len(list(model.modules())), " children():", len(list(model.children())),
      " named_parameters():", len(list(model.named_parameters())))
'''
