"""Batch, Layer, Instance and Group normalization on one real (N, C, H, W) tensor.

The four methods differ only in which axes share one mean and variance (Wu & He 2018,
Fig. 2). `group_index` labels every element with the statistics group it belongs to;
`normalize` runs torch's own module (BatchNorm2d in train mode, LayerNorm over (C, H, W),
InstanceNorm2d, GroupNorm) with the view's γ and β; `reference` is an independent NumPy
version; `explain_cell` writes one cell's normalization out with its numbers.

Running statistics, train vs eval and the batch-of-one message live in
`lab.normalization.running`; input feature scaling in `lab.normalization.scaling`;
the exported code in `lab.normalization.code`. Nothing here knows about Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lab.normalization.view import METHODS, MODULE_NAMES, NormView, divisors

__all__ = ["METHODS", "MODULE_NAMES", "CellExplanation", "NormResult", "NormView",
           "build_module", "divisors", "explain_cell", "group_index", "group_labels",
           "group_histograms", "group_statistics", "normalize", "reference",
           "reduction_size_text"]


def _groups_for(method: str, channels: int, groups: int) -> int:
    return {"layer": 1, "instance": channels}.get(method, groups)


def group_index(shape: tuple[int, int, int, int], method: str, groups: int = 1
                ) -> np.ndarray:
    """(N, C, H, W) ints: the statistics group of every element. Elements with the same
    number share one mean and one variance."""
    n, c, h, w = shape
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(c)[None, :, None, None]
    if method == "batch":
        ids = np.broadcast_to(channel, shape)
    else:
        g = _groups_for(method, c, groups)
        ids = batch * g + channel // (c // g)
    return np.ascontiguousarray(np.broadcast_to(ids, shape))


def group_labels(shape: tuple[int, int, int, int], method: str, groups: int = 1
                 ) -> list[str]:
    """A name for each group number of `group_index` ("channel 2", "sample 1, group 0")."""
    n, c, _h, _w = shape
    if method == "batch":
        return [f"channel {k}" for k in range(c)]
    if method == "layer":
        return [f"sample {k}" for k in range(n)]
    if method == "instance":
        return [f"sample {k}, channel {j}" for k in range(n) for j in range(c)]
    return [f"sample {k}, group {j}" for k in range(n) for j in range(groups)]


def reduction_size_text(view: NormView) -> str:
    """m, the number of values one mean is taken over, as the formula with the numbers."""
    n, c, h, w = view.shape
    if view.method == "batch":
        return f"m = N·H·W = {n}·{h}·{w} = {n * h * w}"
    if view.method == "layer":
        return f"m = C·H·W = {c}·{h}·{w} = {c * h * w}"
    if view.method == "instance":
        return f"m = H·W = {h}·{w} = {h * w}"
    per = c // view.groups
    return f"m = (C/G)·H·W = ({c}/{view.groups})·{h}·{w} = {per * h * w}"


def group_statistics(x: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """(mean, biased variance, count) of every group, in float64."""
    flat_ids = ids.ravel()
    values = np.asarray(x, np.float64).ravel()
    count = np.bincount(flat_ids)
    mean = np.bincount(flat_ids, values) / count
    centred = values - mean[flat_ids]
    var = np.bincount(flat_ids, centred * centred) / count
    return mean, var, count


def group_histograms(values: np.ndarray, ids: np.ndarray, groups: list[int], bins: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts[len(groups), bins]): one histogram per shown group over the value range
    of all of `values` (so before / after plots compare), `ids` giving each value's group.
    One bincount for all groups, not one histogram per group."""
    slots = np.full(max(int(ids.max()), *groups) + 1, -1)
    slots[groups] = np.arange(len(groups))
    slot_of = slots[ids.ravel()]
    keep = slot_of >= 0
    values = values.ravel()
    low, high = float(values.min()), float(values.max())
    high = high if high > low else low + 1
    edges = np.linspace(low, high, bins + 1)
    index = np.minimum(((values[keep] - low) * (bins / (high - low))).astype(int), bins - 1)
    counts = np.bincount(slot_of[keep] * bins + index,
                         minlength=len(groups) * bins).reshape(len(groups), bins)
    return edges, counts


def build_module(view: NormView) -> nn.Module:
    """torch's module for the view, γ and β loaded, in train mode."""
    n, c, h, w = view.shape
    gamma, beta = (torch.tensor(v, dtype=torch.float32) for v in view.affine())
    if view.method == "batch":
        module: nn.Module = nn.BatchNorm2d(c, eps=view.eps, momentum=view.torch_momentum,
                                           track_running_stats=view.track_running_stats)
    elif view.method == "layer":
        # LayerNorm's γ and β have one value per normalized element (C, H, W): the
        # panel's per-channel sliders fill each channel's H×W block
        module = nn.LayerNorm((c, h, w), eps=view.eps)
        gamma = gamma[:, None, None].expand(c, h, w)
        beta = beta[:, None, None].expand(c, h, w)
    elif view.method == "instance":
        module = nn.InstanceNorm2d(c, eps=view.eps, affine=True)
    else:
        module = nn.GroupNorm(view.groups, c, eps=view.eps)
    with torch.no_grad():
        module.weight.copy_(gamma)
        module.bias.copy_(beta)
    return module.train()


@dataclass(frozen=True)
class NormResult:
    """What the Axes tab draws: the tensor before and after, and every group's numbers."""

    x: np.ndarray        # (N, C, H, W) float32, before
    y: np.ndarray        # after, from torch's module
    ids: np.ndarray      # group of each element
    mean: np.ndarray     # per group, float64
    var: np.ndarray      # per group, biased (the one used to normalize)
    count: int           # m: values per group
    labels: list[str]


def normalize(x: torch.Tensor, view: NormView) -> NormResult:
    """Normalize `x` with torch's module for `view` (train mode: batch statistics)."""
    module = build_module(view)
    with torch.no_grad():
        y = module(x)
    ids = group_index(tuple(x.shape), view.method, view.groups)
    xs = x.numpy()
    mean, var, count = group_statistics(xs, ids)
    return NormResult(xs, y.numpy(), ids, mean, var, int(count[0]),
                      group_labels(tuple(x.shape), view.method, view.groups))


def reference(x: np.ndarray, method: str, groups: int, gamma, beta, eps: float) -> np.ndarray:
    """An independent NumPy normalization (reshapes, not `group_index`): for the tests and
    written out in the exported code."""
    a = np.asarray(x, np.float64)
    n, c, h, w = a.shape
    if method == "batch":
        mean = a.mean(axis=(0, 2, 3), keepdims=True)
        var = a.var(axis=(0, 2, 3), keepdims=True)  # biased: what training divides by
        normed = (a - mean) / np.sqrt(var + eps)
    else:
        g = _groups_for(method, c, groups)
        split = a.reshape(n, g, -1)
        mean = split.mean(axis=2, keepdims=True)
        var = split.var(axis=2, keepdims=True)
        normed = ((split - mean) / np.sqrt(var + eps)).reshape(n, c, h, w)
    gamma = np.asarray(gamma, np.float64).reshape(1, c, 1, 1)
    beta = np.asarray(beta, np.float64).reshape(1, c, 1, 1)
    return normed * gamma + beta


def _term(value: float, decimals: int = 4) -> str:
    """A number inside a formula: negative ones in parentheses."""
    text = f"{value:.{decimals}f}"
    return f"({text.replace('-', '−')})" if value < 0 else text


@dataclass(frozen=True)
class CellExplanation:
    cell: tuple[int, int, int, int]
    group: int
    label: str
    members: np.ndarray  # bool (N, C, H, W): the cell's reduction set
    count: int
    mean: float
    var: float
    value: float
    normalized: float    # (x − μ)/√(σ² + ε)
    gamma: float
    beta: float
    output: float        # torch's output at the cell
    text: str


def explain_cell(result: NormResult, view: NormView, cell: tuple[int, int, int, int]
                 ) -> CellExplanation:
    """One cell's normalization written out: its reduction set, m, μ, σ² and the value."""
    n, c, h, w = cell
    group = int(result.ids[cell])
    mean, var = float(result.mean[group]), float(result.var[group])
    value = float(result.x[cell])
    normalized = (value - mean) / np.sqrt(var + view.eps)
    gamma, beta = view.gamma_of(c), view.beta_of(c)
    output = float(result.y[cell])
    affine = (f"LayerNorm: γ, β per element of (C, H, W), here channel {c}'s values"
              if view.method == "layer" else f"γ[{c}], β[{c}]: per channel")
    text = (f"x[{n}, {c}, {h}, {w}] = {value:.4g} belongs to {result.labels[group]}: "
            f"{reduction_size_text(view)} values share μ = {mean:.4f} and "
            f"σ² = {var:.4f} (biased: divided by m, not m − 1).\n"
            f"(x − μ)/√(σ² + ε)·γ + β = ({value:.4g} − {_term(mean)}) / √({var:.4f} + "
            f"{view.eps:g})·{_term(gamma, 2)} + {_term(beta, 2)} = {normalized:.4f}·"
            f"{_term(gamma, 2)} + {_term(beta, 2)} = {output:.4f}   ({affine})")
    return CellExplanation(cell, group, result.labels[group], result.ids == group,
                           result.count, mean, var, value, normalized, gamma, beta, output,
                           text)
