"""BatchNorm's running statistics over a stream of batches, and what eval() does with them.

In train() mode BatchNorm2d normalizes with the batch's own mean and *biased* variance,
and updates its buffers with the batch mean and the *unbiased* variance (× m/(m−1)):
    running = (1 − momentum) · running + momentum · batch       (momentum = 0.1 default)
    running = running + (batch − running) / k                   (momentum = None: the
                                                                 average of all k batches)
In eval() mode it normalizes with the running buffers instead, so the same input gives a
different output. `track_running_stats=False` keeps no buffers: eval uses batch statistics.
Every number here comes from torch's module; `reference_history` recomputes them in NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lab.normalization.tensors import batch_stream, pool_tensor
from lab.normalization.view import NormView


@dataclass(frozen=True)
class RunningHistory:
    """running_mean / running_var (per channel) after 0, 1, …, k batches, torch's numbers."""

    means: np.ndarray        # (k + 1, C)
    variances: np.ndarray    # (k + 1, C)
    batch_means: np.ndarray  # (k, C)
    batch_vars: np.ndarray   # (k, C) biased (what training divides by)
    count: int               # m = N·H·W values per channel in one batch
    target_mean: np.ndarray  # (C,) the pool's mean: where the running mean heads
    target_var: np.ndarray   # (C,) the pool's (unbiased) variance


def make_bn(view: NormView, channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=view.eps, momentum=view.torch_momentum,
                          track_running_stats=view.track_running_stats, affine=False)


def run_batches(view: NormView, batches: list[torch.Tensor]) -> tuple[nn.BatchNorm2d,
                                                                       RunningHistory]:
    """Feed `batches` through a fresh BatchNorm2d in train() mode; its state afterwards and
    the buffers after each batch. With track_running_stats=False the history is empty."""
    channels = view.shown_channels
    bn = make_bn(view, channels).train()
    means, variances, batch_means, batch_vars = [], [], [], []
    tracking = bn.running_mean is not None
    if tracking:
        means.append(bn.running_mean.clone().numpy())
        variances.append(bn.running_var.clone().numpy())
    with torch.no_grad():
        for x in batches:
            bn(x)
            a = x.double().numpy()
            batch_means.append(a.mean(axis=(0, 2, 3)))
            batch_vars.append(a.var(axis=(0, 2, 3)))
            if tracking:
                means.append(bn.running_mean.clone().numpy())
                variances.append(bn.running_var.clone().numpy())
    pool = pool_tensor(view).double().numpy()
    n, _c, h, w = view.shape
    empty = np.zeros((0, channels))
    history = RunningHistory(
        np.array(means) if means else empty, np.array(variances) if variances else empty,
        np.array(batch_means) if batch_means else empty,
        np.array(batch_vars) if batch_vars else empty, n * h * w,
        pool.mean(axis=(0, 2, 3)), pool.var(axis=(0, 2, 3), ddof=1))
    return bn, history


def history(view: NormView, steps: int | None = None) -> tuple[nn.BatchNorm2d, RunningHistory]:
    """The view's stream: `steps` (default view.steps) batches of N from the pool."""
    return run_batches(view, batch_stream(view, view.steps if steps is None else steps))


def reference_history(batches: list[np.ndarray], momentum: float | None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """NumPy's running (mean, var) after all `batches`, by the documented update rule."""
    channels = batches[0].shape[1]
    mean, var = np.zeros(channels), np.ones(channels)
    for k, x in enumerate(batches, start=1):
        a = np.asarray(x, np.float64)
        m = a.shape[0] * a.shape[2] * a.shape[3]
        batch_mean = a.mean(axis=(0, 2, 3))
        unbiased = a.var(axis=(0, 2, 3)) * m / (m - 1)
        factor = 1.0 / k if momentum is None else momentum
        mean = (1 - factor) * mean + factor * batch_mean
        var = (1 - factor) * var + factor * unbiased
    return mean, var


@dataclass(frozen=True)
class ModeComparison:
    """The same input through the same layer in train() and in eval() mode."""

    x: np.ndarray
    train_out: np.ndarray
    eval_out: np.ndarray
    used_mean: np.ndarray   # what eval() normalized with, per channel
    used_var: np.ndarray

    @property
    def difference(self) -> np.ndarray:
        return self.eval_out - self.train_out

    @property
    def max_difference(self) -> float:
        return float(np.abs(self.difference).max()) if self.difference.size else 0.0


def compare_modes(bn: nn.BatchNorm2d, x: torch.Tensor) -> ModeComparison:
    """`x` through `bn` in train() and in eval() mode, without changing `bn`'s buffers."""
    with torch.no_grad():
        state = {k: v.clone() for k, v in bn.state_dict().items()}
        train_out = bn.train()(x)
        bn.load_state_dict(state)  # the train() call above updated the buffers: undo
        eval_out = bn.eval()(x)
        bn.train()
    if bn.running_mean is not None:
        used_mean, used_var = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    else:  # no buffers: eval() falls back to the batch's statistics
        a = x.double().numpy()
        used_mean, used_var = a.mean(axis=(0, 2, 3)), a.var(axis=(0, 2, 3))
    return ModeComparison(x.numpy(), train_out.numpy(), eval_out.numpy(), used_mean, used_var)


def single_value_message(channels: int) -> str:
    """What torch says when BatchNorm sees one value per channel in train() mode (batch
    size 1 after global pooling, or BatchNorm1d on one sample): its own words."""
    x = torch.zeros(1, channels, 1, 1)
    try:
        nn.BatchNorm2d(channels).train()(x)
    except ValueError as exc:
        return str(exc)
    return ""


def update_text(view: NormView, hist: RunningHistory, channel: int) -> str:
    """The last update of channel `channel`, written out with its numbers."""
    steps = len(hist.batch_means)
    if not view.track_running_stats:
        return ("track_running_stats=False: no running_mean / running_var are kept; eval() "
                "normalizes with each batch's own statistics, exactly like train().")
    if steps == 0:
        return ("No batch seen yet: running_mean starts at 0 and running_var at 1 "
                "(eval() now normalizes with those).")
    m = hist.count
    batch_mean = hist.batch_means[-1, channel]
    biased = hist.batch_vars[-1, channel]
    unbiased = biased * m / (m - 1) if m > 1 else float("nan")
    old_mean, new_mean = hist.means[-2, channel], hist.means[-1, channel]
    old_var, new_var = hist.variances[-2, channel], hist.variances[-1, channel]
    factor = 1.0 / steps if view.cumulative else view.momentum
    name = f"1/k = 1/{steps}" if view.cumulative else f"momentum = {view.momentum:g}"
    return (f"Batch {steps}, channel {channel}: μ_B = {batch_mean:.4f}; σ²_B = {biased:.4f} "
            f"normalizes (biased, ÷m), but running_var gets the unbiased σ²_B·m/(m−1) = "
            f"{biased:.4f}·{m}/{m - 1} = {unbiased:.4f}.\n"
            f"running_mean = (1 − {factor:.4g})·{_term(old_mean)} + {factor:.4g}·"
            f"{_term(batch_mean)} = {new_mean:.4f};  running_var = (1 − {factor:.4g})·"
            f"{old_var:.4f} + {factor:.4g}·{unbiased:.4f} = {new_var:.4f}   ({name})")


def _term(value: float) -> str:
    """A number inside a formula: negative ones in parentheses."""
    return f"({value:.4f})".replace("-", "−") if value < 0 else f"{value:.4f}"
