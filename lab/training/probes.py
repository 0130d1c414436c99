"""Looking at a model without changing it: validation in eval() mode, weight histograms,
the same inputs in train() vs eval() mode, the decision boundary of a 2-D classifier.

The train()-mode passes run with BatchNorm's buffers restored afterwards and under
`torch.random.fork_rng`, so showing a model never changes how it goes on training.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lab.data import as_float, display_pixels
from lab.training.events import BoundarySnapshot, LayerHistogram, ModeComparison, WeightSnapshot


def weight_layers(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """(name, weight) of every Linear / Conv layer, input to output."""
    return [(name or "model", module.weight) for name, module in model.named_modules()
            if isinstance(module, nn.Linear | nn.Conv2d)]


NEAR_ZERO = 1e-3
HISTOGRAM_BINS = 41
BOUNDARY_SIDE = 64
COMPARE_SAMPLES = 16


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             chunk: int = 2048) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) in eval() mode; the model's mode is restored."""
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for start in range(0, len(x), chunk):
        xb = as_float(x[start:start + chunk])
        yb = y[start:start + chunk]
        out = model(xb)
        total_loss += F.cross_entropy(out, yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    model.train(was_training)
    n = max(len(x), 1)
    return float(total_loss) / n, float(correct) / n


def weight_snapshot(model: nn.Module, fold: int = 0, epoch: int = 0,
                    bins: int = HISTOGRAM_BINS) -> WeightSnapshot:
    """Histograms of every layer's weights on one shared symmetric range."""
    layers = [(name, w) for name, w in weight_layers(model) if w.numel()]
    if not layers:
        return WeightSnapshot(fold, epoch, ())
    # Everything is measured on the model's device and copied back in two transfers:
    # on a GPU each number read on its own would wait for the queued work.
    with torch.no_grad():
        values = [w.detach().float().flatten() for _, w in layers]
        sizes = [v.abs() for v in values]
        top = float(torch.stack([s.max() for s in sizes]).max())
        top = top if math.isfinite(top) and top > 0 else 1.0
        edges = np.linspace(-top, top, bins + 1)
        counts = torch.stack([torch.histc(v, bins=bins, min=-top, max=top)
                              for v in values]).cpu().numpy()
        near, mean_abs = torch.stack([torch.stack([(s < NEAR_ZERO).float().mean(), s.mean()])
                                      for s in sizes]).cpu().numpy().T
    return WeightSnapshot(fold, epoch, tuple(
        LayerHistogram(name, counts[i], edges, float(near[i]), float(mean_abs[i]))
        for i, (name, _) in enumerate(layers)))


class _KeepState:
    """Run a forward pass in train() mode without side effects: BatchNorm's running
    statistics and the random number generator are put back afterwards."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.model = model
        self.device = device

    def __enter__(self) -> None:
        self.buffers = {k: v.clone() for k, v in self.model.named_buffers()}
        self.was_training = self.model.training
        accelerator = self.device.type in ("cuda", "mps")
        self.rng = torch.random.fork_rng(devices=[self.device] if accelerator else [],
                                         device_type=self.device.type)
        self.rng.__enter__()

    def __exit__(self, *exc) -> None:
        self.rng.__exit__(*exc)
        with torch.no_grad():
            for name, value in self.model.named_buffers():
                value.copy_(self.buffers[name])
        self.model.train(self.was_training)


@torch.no_grad()
def predict_both_modes(model: nn.Module, x: torch.Tensor,
                       device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities of `x` in eval() mode and in train() mode (dropout active,
    BatchNorm on the batch's statistics), leaving the model exactly as it was."""
    with _KeepState(model, device):
        model.eval()
        eval_probs = F.softmax(model(x), 1)
        model.train()
        train_probs = F.softmax(model(x), 1)
    return eval_probs, train_probs


def boundary_grid(extent: tuple[float, float, float, float], side: int = BOUNDARY_SIDE
                  ) -> torch.Tensor:
    """(side², 2) points on a grid over extent, row by row from y_min."""
    x0, x1, y0, y1 = extent
    xs = torch.linspace(x0, x1, side)
    ys = torch.linspace(y0, y1, side)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.flatten(), grid_y.flatten()], 1)


def compare_modes(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
                  fold: int = 0, epoch: int = 0) -> ModeComparison:
    """The same batch's predictions in train() and eval() mode (x, y on `device`)."""
    eval_probs, train_probs = predict_both_modes(model, as_float(x), device)
    eval_conf, eval_pred = eval_probs.max(1)
    train_conf, train_pred = train_probs.max(1)
    labels = y.cpu().numpy()
    images = points = None
    if x.dim() == 2:
        points = x.float().cpu().numpy()
    else:
        images = display_pixels(x)
    return ModeComparison(
        fold, epoch, labels, eval_pred.cpu().numpy(), train_pred.cpu().numpy(),
        eval_conf.cpu().numpy(), train_conf.cpu().numpy(),
        float((eval_pred.cpu().numpy() == labels).mean()),
        float((train_pred.cpu().numpy() == labels).mean()), images, points)


def boundary_snapshot(model: nn.Module, extent: tuple[float, float, float, float],
                      device: torch.device, fold: int = 0, epoch: int = 0,
                      side: int = BOUNDARY_SIDE) -> BoundarySnapshot:
    grid = boundary_grid(extent, side).to(device)
    eval_probs, train_probs = predict_both_modes(model, grid, device)
    classes = eval_probs.shape[1]
    return BoundarySnapshot(
        fold, epoch, extent,
        eval_probs.reshape(side, side, classes).float().cpu().numpy(),
        train_probs.reshape(side, side, classes).float().cpu().numpy())
