"""One optimizer's trajectory on a surface: a 2-element float64 parameter stepped by the
real `torch.optim` class (lab.optim.make_optimizer), with the exact gradient (sympy's),
optional mini-batch noise and a learning-rate scheduler, recording what the optimizer
remembers at every step (its own state tensors, read from `optimizer.state`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lab.optim import make_optimizer, make_scheduler
from lab.optimizers.surfaces import Surface, SurfaceError
from lab.optimizers.view import OptimizerSettings, OptimizersView

#: a point this far out (or non-finite) has diverged: the run stops there
DIVERGED_NORM = 1e6


def build_optimizer(settings: OptimizerSettings, params) -> torch.optim.Optimizer:
    """The `torch.optim` instance an optimizer row stands for."""
    kind = settings.kind
    name = {"momentum": "sgd", "nesterov": "sgd"}.get(kind, kind)
    momentum = settings.momentum if kind in ("momentum", "nesterov", "rmsprop") else 0.0
    eps = settings.eps if kind in ("rmsprop", "adagrad", "adam", "adamw") else None
    return make_optimizer(name, params, lr=settings.lr, momentum=momentum,
                          nesterov=kind == "nesterov", weight_decay=settings.weight_decay,
                          betas=(settings.beta1, settings.beta2), eps=eps, alpha=settings.alpha)


def build_scheduler(view: OptimizersView, optimizer: torch.optim.Optimizer, steps: int):
    return make_scheduler(view.scheduler, optimizer, step_size=view.step_size,
                          gamma=view.gamma, t_max=steps, plateau_factor=view.plateau_factor,
                          plateau_patience=view.plateau_patience)


def noise_std(view: OptimizersView) -> float:
    """Standard deviation of the gradient noise per axis: noise / √batch (variance ∝ 1/batch);
    0 for the full batch."""
    return view.noise / math.sqrt(view.batch_size) if view.batch_size > 0 else 0.0


@dataclass(frozen=True, eq=False)
class Trajectory:
    """`points[t]` is the parameter before step t (points[0] = start); `grads[t]` the
    (noisy) gradient step t used, `lrs[t]` its learning rate; `velocity[t]` /
    `second[t]` what the optimizer holds after step t (momentum buffer or Adam's
    bias-corrected mean; root of the running / summed / bias-corrected squared
    gradient), NaN where it holds none."""

    kind: str
    points: np.ndarray      # (n + 1, 2)
    losses: np.ndarray      # (n + 1,)
    grads: np.ndarray       # (n, 2)
    lrs: np.ndarray         # (n,)
    velocity: np.ndarray    # (n, 2)
    second: np.ndarray      # (n, 2)
    stopped: str = ""       # why it stopped early ("diverged at step 12: ...")

    @property
    def steps(self) -> int:
        return len(self.grads)

    def lr_drops(self) -> list[int]:
        """Steps whose learning rate is lower than the step before's."""
        return [int(i) for i in np.nonzero(self.lrs[1:] < self.lrs[:-1] * (1 - 1e-12))[0] + 1]

    def step_scale(self, t: int, eps: float) -> np.ndarray:
        """The per-axis step size lr / (√v + ε) at step t (NaN where none)."""
        return self.lrs[t] / (self.second[t] + eps)


def run(surface: Surface, view: OptimizersView, settings: OptimizerSettings,
        steps: int | None = None) -> Trajectory:
    """Step `settings`' optimizer from `view.start` for `view.steps` steps."""
    steps = view.steps if steps is None else steps
    p = torch.tensor(view.start, dtype=torch.float64)
    optimizer = build_optimizer(settings, [p])
    scheduler = build_scheduler(view, optimizer, steps)
    plateau = view.scheduler == "plateau"
    generator = torch.Generator().manual_seed(view.seed)
    sigma = noise_std(view)
    group = optimizer.param_groups[0]
    points = np.full((steps + 1, 2), np.nan)
    losses = np.full(steps + 1, np.nan)
    grads = np.full((steps, 2), np.nan)
    lrs = np.full(steps, np.nan)
    velocity = np.full((steps, 2), np.nan)
    second = np.full((steps, 2), np.nan)
    value_and_gradient = surface.value_and_gradient
    stopped = ""
    done = steps
    for t in range(steps + 1):
        x, y = p.tolist()
        points[t] = x, y
        if not (math.isfinite(x) and math.isfinite(y)) or math.hypot(x, y) > DIVERGED_NORM:
            stopped, done = f"diverged at step {t}", t
            break
        try:
            loss, gx, gy = value_and_gradient(x, y)
        except SurfaceError as exc:
            stopped, done = f"stopped at step {t}: {exc}", t
            break
        losses[t] = loss
        if t == steps:
            break
        grad = torch.tensor((gx, gy), dtype=torch.float64)
        if sigma:
            grad.add_(torch.randn(2, generator=generator, dtype=torch.float64), alpha=sigma)
        p.grad = grad
        grads[t] = grad.numpy()
        lrs[t] = group["lr"]
        optimizer.step()
        _remember(optimizer, p, settings, velocity, second, t)
        if scheduler is not None:
            scheduler.step(loss) if plateau else scheduler.step()
    return Trajectory(settings.kind, points[:done + 1], losses[:done + 1], grads[:done],
                      lrs[:done], velocity[:done], second[:done], stopped)


def _remember(optimizer, p, settings: OptimizerSettings, velocity, second, t: int) -> None:
    state = optimizer.state[p]
    kind = settings.kind
    if kind in ("adam", "adamw"):
        step = float(state["step"])
        velocity[t] = state["exp_avg"].numpy() / (1 - settings.beta1 ** step)
        second[t] = np.sqrt(state["exp_avg_sq"].numpy() / (1 - settings.beta2 ** step))
        return
    buffer = state.get("momentum_buffer")
    if buffer is not None:
        velocity[t] = buffer.numpy()
    if kind == "rmsprop":
        second[t] = np.sqrt(state["square_avg"].numpy())
    elif kind == "adagrad":
        second[t] = np.sqrt(state["sum"].numpy())


def run_all(surface: Surface, view: OptimizersView) -> dict[str, Trajectory]:
    return {s.kind: run(surface, view, s) for s in view.enabled()}
