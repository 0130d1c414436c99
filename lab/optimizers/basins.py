"""Where each start ends up: a grid of starts stepped as ONE (starts, 2) parameter by ONE
`torch.optim` instance. The loss is the sum of f over the starts, so autograd gives every
row its own exact gradient, and every optimizer here is element-wise: the batch is the
same as stepping each start alone (tests/lab/optimizers check it). Runs on the GPU when
one is present."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from lab.optimizers.surfaces import Surface
from lab.optimizers.trajectories import DIVERGED_NORM, build_optimizer, build_scheduler, noise_std
from lab.optimizers.view import OptimizerSettings, OptimizersView
from lab.progress import Progress

DIVERGED = -1
NOT_CONVERGED = -2


@dataclass(frozen=True, eq=False)
class BasinMap:
    kind: str
    xs: np.ndarray
    ys: np.ndarray
    labels: np.ndarray          # (ny, nx): index of the minimum reached, DIVERGED, NOT_CONVERGED
    minima: tuple[tuple[float, float], ...]
    steps: int
    note: str = ""

    def counts(self) -> dict[int, int]:
        values, counts = np.unique(self.labels, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def compute_threads(starts: int) -> int:
    """Intra-op threads for stepping `starts` points (set per thread under OpenMP): one up
    to 250 000 starts — element-wise work on a few MB gains little from more, and on a
    busy machine OpenMP's waiting threads made a step 15× slower — all cores but one above."""
    return 1 if starts <= 250_000 else max(1, (os.cpu_count() or 2) - 1)


def start_grid(surface: Surface, n: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    x0, x1, y0, y1 = surface.domain
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    gx, gy = np.meshgrid(xs, ys)
    starts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1))
    return xs, ys, starts


def step_batch(surface: Surface, view: OptimizersView, settings: OptimizerSettings,
               starts: torch.Tensor, steps: int,
               should_stop: Callable[[], bool] = lambda: False,
               report_every: int = 25) -> Iterator[float | torch.Tensor]:
    """Step all `starts` (a (S, 2) tensor) together; yields the fraction done every
    `report_every` steps, then the final (S, 2) positions. LR schedules that depend on the
    step only apply; ReduceLROnPlateau watches one loss, so it is left out."""
    f = surface.torch_function()
    p = starts.detach().clone().requires_grad_(True)
    optimizer = build_optimizer(settings, [p])
    scheduler = None if view.scheduler == "plateau" else build_scheduler(view, optimizer, steps)
    sigma = noise_std(view)
    generator = torch.Generator(device=p.device).manual_seed(view.seed) if sigma else None
    for t in range(steps):
        optimizer.zero_grad(set_to_none=True)
        f(p[:, 0], p[:, 1]).sum().backward()
        if sigma:
            p.grad.add_(torch.randn(p.shape, generator=generator, dtype=p.dtype,
                                    device=p.device), alpha=sigma)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if (t + 1) % report_every == 0:
            if should_stop():
                return
            yield (t + 1) / steps
    yield p.detach()


def classify(final: np.ndarray, surface: Surface) -> np.ndarray:
    """Index of the marked minimum within 3 % of the domain of each final point; DIVERGED
    for non-finite or far-away points; NOT_CONVERGED otherwise."""
    labels = np.full(len(final), NOT_CONVERGED, dtype=np.int64)
    finite = np.all(np.isfinite(final), axis=1)
    with np.errstate(all="ignore"):
        far = ~finite | (np.linalg.norm(np.where(finite[:, None], final, 0), axis=1)
                         > min(DIVERGED_NORM, 100 * surface.span))
    tolerance = 0.03 * surface.span
    if surface.minima:
        minima = np.asarray(surface.minima)
        with np.errstate(all="ignore"):
            distances = np.linalg.norm(final[:, None, :] - minima[None], axis=2)
        nearest = np.nanargmin(np.where(np.isfinite(distances), distances, np.inf), axis=1)
        close = np.take_along_axis(distances, nearest[:, None], 1)[:, 0] < tolerance
        labels[close & finite] = nearest[close & finite]
    labels[far] = DIVERGED
    return labels


def basin_job(surface: Surface, view: OptimizersView, device: str = "cpu"):
    """A background job's generator: Progress while stepping, then the BasinMap."""
    def make(should_stop: Callable[[], bool]) -> Iterator[Progress | BasinMap]:
        settings = view.settings(view.basin_kind)
        n, steps = view.basin_resolution, view.basin_steps
        torch.set_num_threads(compute_threads(n * n))
        xs, ys, starts = start_grid(surface, n)
        title = f"basins: {n}×{n} starts, {steps} steps"
        yield Progress(title, 0.0)
        final = None
        for item in step_batch(surface, view, settings, starts.to(device), steps, should_stop):
            if isinstance(item, float):
                yield Progress(title, item)
            else:
                final = item
        if final is None:
            return
        labels = classify(final.cpu().numpy(), surface).reshape(n, n)
        note = ("ReduceLROnPlateau is left out here: it watches one loss, and each start "
                "has its own." if view.scheduler == "plateau" else "")
        yield BasinMap(settings.kind, xs, ys, labels, surface.minima, steps, note)
    return make


def bare_loop(surface: Surface, settings: OptimizerSettings, starts: torch.Tensor,
              steps: int) -> torch.Tensor:
    """The same batched stepping with nothing around it (the benchmark's reference)."""
    f = surface.torch_function()
    p = starts.detach().clone().requires_grad_(True)
    optimizer = build_optimizer(settings, [p])
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        f(p[:, 0], p[:, 1]).sum().backward()
        optimizer.step()
    return p.detach()


__all__ = ["DIVERGED", "NOT_CONVERGED", "BasinMap", "basin_job", "bare_loop", "classify",
           "start_grid", "step_batch"]
