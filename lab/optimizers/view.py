"""The Optimizers panel's state as data: which surface, where the run starts, which
optimizers with which hyper-parameters, mini-batch noise, the learning-rate schedule and
the basin map's settings. Frozen dataclasses, saved and restored through `lab.params`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

OptimizerKind = Literal["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw"]
SurfaceName = Literal["quadratic", "local_minimum", "rosenbrock", "beale", "himmelblau",
                      "saddle", "custom"]
SchedulerName = Literal["none", "step", "exponential", "cosine", "plateau"]

#: kind -> (title, torch call it stands for, what it remembers)
OPTIMIZER_KINDS: dict[str, tuple[str, str, str]] = {
    "sgd": ("SGD", "torch.optim.SGD(momentum=0)",
            "nothing: each step is −lr·gradient"),
    "momentum": ("SGD + momentum", "torch.optim.SGD(momentum=μ)",
                 "a velocity: the running sum v ← μ·v + g, and steps −lr·v"),
    "nesterov": ("Nesterov", "torch.optim.SGD(momentum=μ, nesterov=True)",
                 "a velocity, and steps as if it had already moved along it (look-ahead)"),
    "rmsprop": ("RMSprop", "torch.optim.RMSprop",
                "a running mean of g² per axis; divides each step by its root"),
    "adagrad": ("Adagrad", "torch.optim.Adagrad",
                "the sum of all g² so far per axis; steps shrink for good"),
    "adam": ("Adam", "torch.optim.Adam",
             "a velocity (mean of g) and a running mean of g² per axis: momentum built in"),
    "adamw": ("AdamW", "torch.optim.AdamW",
              "like Adam, with weight decay applied straight to the weights"),
}
KINDS: tuple[str, ...] = tuple(OPTIMIZER_KINDS)
#: the hyper-parameters each kind uses (the others are ignored, and greyed out on screen)
USES: dict[str, tuple[str, ...]] = {
    "sgd": ("lr", "weight_decay"),
    "momentum": ("lr", "momentum", "weight_decay"),
    "nesterov": ("lr", "momentum", "weight_decay"),
    "rmsprop": ("lr", "alpha", "momentum", "eps", "weight_decay"),
    "adagrad": ("lr", "eps", "weight_decay"),
    "adam": ("lr", "beta1", "beta2", "eps", "weight_decay"),
    "adamw": ("lr", "beta1", "beta2", "eps", "weight_decay"),
}
COLOURS: dict[str, str] = {
    "sgd": "#d62728", "momentum": "#1f77b4", "nesterov": "#17becf", "rmsprop": "#9467bd",
    "adagrad": "#8c564b", "adam": "#2ca02c", "adamw": "#e377c2",
}


@dataclass(frozen=True)
class OptimizerSettings:
    """One optimizer's hyper-parameters (those its kind does not use are ignored)."""

    kind: OptimizerKind = "sgd"
    enabled: bool = False
    lr: float = 0.01
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    alpha: float = 0.99

    def problems(self) -> list[str]:
        title = OPTIMIZER_KINDS[self.kind][0]
        out = []
        if not (math.isfinite(self.lr) and self.lr > 0):
            out.append(f"{title}: the learning rate must be positive, not {self.lr:g}")
        uses = USES[self.kind]
        for name in ("momentum", "beta1", "beta2", "alpha"):
            value = getattr(self, name)
            if name in uses and not 0 <= value < 1:
                out.append(f"{title}: {name} must be in [0, 1), not {value:g}")
        if self.kind == "nesterov" and self.momentum <= 0:
            out.append(f"{title}: Nesterov needs momentum > 0 (torch refuses it otherwise)")
        if "eps" in uses and not self.eps > 0:
            out.append(f"{title}: eps must be positive, not {self.eps:g}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            out.append(f"{title}: weight decay must be ≥ 0, not {self.weight_decay:g}")
        return out


DEFAULT_LRS = {"sgd": 0.02, "momentum": 0.02, "nesterov": 0.02, "rmsprop": 0.01,
               "adagrad": 0.3, "adam": 0.05, "adamw": 0.05}


def default_optimizers(*enabled: str) -> tuple[OptimizerSettings, ...]:
    shown = enabled or ("sgd", "momentum", "adam")
    return tuple(OptimizerSettings(kind=k, enabled=k in shown, lr=DEFAULT_LRS[k],
                                   weight_decay=0.01 if k == "adamw" else 0.0)
                 for k in KINDS)


@dataclass(frozen=True)
class OptimizersView:
    """Everything the panel shows. `batch_size = 0` means the full batch: exact gradients.
    Otherwise each gradient gets N(0, noise²/batch_size) noise per axis, drawn from a
    generator seeded with `seed` (every optimizer sees the same draws)."""

    surface: SurfaceName = "local_minimum"
    condition: float = 10.0
    formula: str = "(x^2 + y - 11)^2 / 10 + (x + y^2 - 7)^2 / 10"
    start: tuple[float, float] = (2.3, 1.0)
    steps: int = 200
    optimizers: tuple[OptimizerSettings, ...] = field(default_factory=default_optimizers)
    batch_size: int = 0
    noise: float = 2.0
    seed: int = 0
    scheduler: SchedulerName = "none"
    step_size: int = 50
    gamma: float = 0.5
    plateau_factor: float = 0.5
    plateau_patience: int = 10
    shown_step: int = -1  # -1: the last step
    basin_kind: OptimizerKind = "momentum"
    basin_resolution: int = 60
    basin_steps: int = 300
    editing: OptimizerKind = "momentum"

    def settings(self, kind: str) -> OptimizerSettings:
        for s in self.optimizers:
            if s.kind == kind:
                return s
        return OptimizerSettings(kind=kind)

    def enabled(self) -> tuple[OptimizerSettings, ...]:
        return tuple(s for s in self.optimizers if s.enabled)

    def with_settings(self, settings: OptimizerSettings) -> OptimizersView:
        others = [s for s in self.optimizers if s.kind != settings.kind]
        merged = sorted([*others, settings], key=lambda s: KINDS.index(s.kind))
        return dataclasses.replace(self, optimizers=tuple(merged))

    def problems(self) -> list[str]:
        out = []
        if not 1 <= self.steps <= 5000:
            out.append(f"steps must be between 1 and 5000, not {self.steps}")
        if self.surface == "quadratic" and not 1 <= self.condition <= 1e4:
            out.append(f"the condition number must be between 1 and 10⁴, not {self.condition:g}")
        if self.batch_size < 0:
            out.append(f"the batch size must be ≥ 1 (or 0 for the full batch), not "
                       f"{self.batch_size}")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            out.append(f"the noise level must be ≥ 0, not {self.noise:g}")
        if not all(math.isfinite(v) for v in self.start):
            out.append("the start point must be finite")
        if self.scheduler in ("step", "exponential", "plateau"):
            factor = self.plateau_factor if self.scheduler == "plateau" else self.gamma
            if not 0 < factor < 1:
                out.append(f"the decay factor must be in (0, 1), not {factor:g}")
        if self.scheduler == "step" and self.step_size < 1:
            out.append(f"the step size of StepLR must be ≥ 1, not {self.step_size}")
        if self.plateau_patience < 0:
            out.append(f"patience must be ≥ 0, not {self.plateau_patience}")
        if not 8 <= self.basin_resolution <= 400:
            out.append(f"the basin grid must be 8–400 points a side, not {self.basin_resolution}")
        for s in self.enabled():
            out.extend(s.problems())
        return out
