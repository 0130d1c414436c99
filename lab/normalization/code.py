"""The plain PyTorch + NumPy script that reproduces the Axes tab: the tensor written out
(3 decimals, exactly the panel's), the chosen norm layer with γ and β, a NumPy reference
of the same method, and the before / after statistics the histograms show. It imports
neither `lab` nor `widgets`. (The other tabs' scripts: code_running, code_scaling,
experiment_code.)"""

from __future__ import annotations

import numpy as np

from lab.normalization.tensors import DECIMALS
from lab.normalization.view import METHODS, NormView


def _numbers(values: np.ndarray) -> str:
    return ", ".join(f"{v:.{DECIMALS}f}".rstrip("0").rstrip(".")
                     if v != 0 else "0" for v in np.asarray(values, np.float64).ravel())


def _wrapped(text: str, indent: str = "    ", width: int = 92) -> str:
    lines, line = [], ""
    for part in text.split(", "):
        piece = part + ","
        if line and len(line) + len(piece) + 1 > width:
            lines.append(indent + line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    if line:
        lines.append(indent + line)
    return "\n".join(lines)


def _layer_lines(view: NormView) -> str:
    n, c, h, w = view.shape
    if view.method == "batch":
        momentum = "None" if view.cumulative else repr(view.momentum)
        return (f"layer = nn.BatchNorm2d({c}, eps={view.eps!r}, momentum={momentum}, "
                f"track_running_stats={view.track_running_stats})\n"
                "with torch.no_grad():\n"
                "    layer.weight.copy_(gamma)\n"
                "    layer.bias.copy_(beta)\n")
    if view.method == "layer":
        return (f"layer = nn.LayerNorm(({c}, {h}, {w}), eps={view.eps!r})\n"
                "with torch.no_grad():  # LayerNorm's γ, β: one per element of (C, H, W)\n"
                "    layer.weight.copy_(gamma[:, None, None].expand_as(layer.weight))\n"
                "    layer.bias.copy_(beta[:, None, None].expand_as(layer.bias))\n")
    if view.method == "instance":
        return (f"layer = nn.InstanceNorm2d({c}, eps={view.eps!r}, affine=True)\n"
                "with torch.no_grad():\n"
                "    layer.weight.copy_(gamma)\n"
                "    layer.bias.copy_(beta)\n")
    return (f"layer = nn.GroupNorm({view.groups}, {c}, eps={view.eps!r})\n"
            "with torch.no_grad():\n"
            "    layer.weight.copy_(gamma)\n"
            "    layer.bias.copy_(beta)\n")


def _reference_lines(view: NormView) -> str:
    n, c, h, w = view.shape
    if view.method == "batch":
        return ("mean = a.mean(axis=(0, 2, 3), keepdims=True)  # per channel, over N, H, W\n"
                "var = a.var(axis=(0, 2, 3), keepdims=True)    # biased (÷ m), as training uses\n"
                "normed = (a - mean) / np.sqrt(var + eps)\n")
    groups = view.effective_groups
    over = {"layer": "per sample, over C, H, W", "instance": "per sample and channel, over H, W",
            "group": f"per sample and group of {c // max(groups, 1)} channels"}[view.method]
    return (f"split = a.reshape({n}, {groups}, -1)  # {over}\n"
            "mean = split.mean(axis=2, keepdims=True)\n"
            "var = split.var(axis=2, keepdims=True)  # biased (÷ m)\n"
            f"normed = ((split - mean) / np.sqrt(var + eps)).reshape({n}, {c}, {h}, {w})\n")


def _before_after_lines(view: NormView) -> str:
    """Per group of the histograms: mean and std before and after (γ scales the std, β
    moves the mean), and the clicked cell's group as the histograms' caption gives it."""
    n, c, h, w = view.shape
    sample, channel = view.cell[0], view.cell[1]
    if view.method == "batch":
        rows, what, selected = f"t.transpose(1, 0, 2, 3).reshape({c}, -1)", "channel", channel
    elif view.method == "layer":
        rows, what, selected = f"t.reshape({n}, -1)", "sample", sample
    else:
        groups = view.effective_groups
        rows = f"t.reshape({n * groups}, -1)"
        what = "sample and channel" if view.method == "instance" else "sample and group"
        selected = sample * groups + channel // (c // groups)
    return f"""
# Before / after, one row per {what}: what the histograms draw
def rows(t):
    return {rows}


before, after = rows(x.numpy().astype(np.float64)), rows(y.numpy().astype(np.float64))
for g in range(len(before)):
    print(f"{{g}}: before mean {{before[g].mean():.4f}}, std {{before[g].std():.4f}};"
          f" after mean {{after[g].mean():.4f}}, std {{after[g].std():.4f}}")
print("the clicked cell's {what} after: mean", round(after[{selected}].mean(), 3),
      "std", round(after[{selected}].std(), 3))
"""


def normalization_code(view: NormView, x: np.ndarray) -> str:
    """The script for `view` and its tensor `x` (N, C, H, W)."""
    n, c, h, w = x.shape
    gamma, beta = view.affine()
    source = (f"{view.source} images through a 3×3 conv (seed {view.seed})"
              if view.stage == "conv" else f"{view.source} pixels in [0, 1]")
    return f'''"""{METHODS[view.method]}.
Reproduces Visual Lab's Normalization panel: {source}, N={n}, C={c}, H=W={h}."""
import numpy as np
import torch
from torch import nn

x = torch.tensor([
{_wrapped(_numbers(x))}
], dtype=torch.float32).reshape({n}, {c}, {h}, {w})
gamma = torch.tensor([{_numbers(np.array(gamma))}])  # γ per channel
beta = torch.tensor([{_numbers(np.array(beta))}])   # β per channel
eps = {view.eps!r}

{_layer_lines(view)}layer.train()  # training mode: the statistics of this input
with torch.no_grad():
    y = layer(x)

# The same in NumPy
a = x.numpy().astype(np.float64)
{_reference_lines(view)}reference = normed * gamma.numpy().reshape(1, -1, 1, 1) + \\
    beta.numpy().reshape(1, -1, 1, 1)
print("largest difference torch vs NumPy:", np.abs(reference - y.numpy()).max())
print("y[{view.cell[0]}, {view.cell[1]}, {view.cell[2]}, {view.cell[3]}] =", \\
    y[{view.cell[0]}, {view.cell[1]}, {view.cell[2]}, {view.cell[3]}].item())
{_before_after_lines(view)}'''
