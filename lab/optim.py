"""Optimizers, learning-rate schedulers and the hand-written L1 penalty — the real
`torch.optim` classes behind one call each. One home: the Training lab trains with them,
the Optimizers panel steps them on a 2-D surface, the Regularization panel fits with them.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

OPTIMIZERS: dict[str, str] = {
    "sgd": "SGD — plain mini-batch gradient descent, optionally with momentum / Nesterov",
    "adam": "Adam — per-weight step sizes with momentum built in",
    "adamw": "AdamW — Adam with weight decay applied directly to the weights",
    "rmsprop": "RMSprop — divides each step by a running RMS of the gradient",
    "adagrad": "Adagrad — divides each step by the root of all squared gradients so far",
}
#: each optimiser's usual learning rate: torch's default where it has one (SGD has none;
#: 0.1 is the lab's and a common start for small nets)
USUAL_LR: dict[str, float] = {"sgd": 0.1, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.01,
                              "adagrad": 0.01}
SCHEDULERS: dict[str, str] = {
    "none": "None — the learning rate stays where you set it",
    "step": "StepLR — multiply by γ every few epochs",
    "exponential": "ExponentialLR — multiply by γ every epoch",
    "cosine": "CosineAnnealingLR — half a cosine from the start value to 0 over the run",
    "plateau": "ReduceLROnPlateau('min') — multiply by a factor when the validation loss "
               "stops improving",
}


def make_optimizer(name: str, params, *, lr: float, momentum: float = 0.0,
                   nesterov: bool = False, weight_decay: float = 0.0,
                   betas: tuple[float, float] = (0.9, 0.999), eps: float | None = None,
                   alpha: float = 0.99) -> torch.optim.Optimizer:
    """The `torch.optim` optimizer called `name` over `params`. Nesterov needs momentum
    (torch refuses it otherwise), so it applies only when momentum > 0."""
    extra = {} if eps is None else {"eps": eps}
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum,
                               nesterov=nesterov and momentum > 0, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, **extra)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay, **extra)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=alpha, momentum=momentum,
                                   weight_decay=weight_decay, **extra)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay, **extra)
    raise ValueError(f"unknown optimizer {name!r}")


def make_scheduler(name: str, optimizer: torch.optim.Optimizer, *, step_size: int = 10,
                   gamma: float = 0.5, t_max: int = 100, plateau_factor: float = 0.5,
                   plateau_patience: int = 5):
    """The `torch.optim.lr_scheduler` called `name` (None for "none")."""
    sched = torch.optim.lr_scheduler
    if name == "none":
        return None
    if name == "step":
        return sched.StepLR(optimizer, step_size=step_size, gamma=gamma)
    if name == "exponential":
        return sched.ExponentialLR(optimizer, gamma=gamma)
    if name == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=t_max)
    if name == "plateau":
        return sched.ReduceLROnPlateau(optimizer, "min", factor=plateau_factor,
                                       patience=plateau_patience)
    raise ValueError(f"unknown scheduler {name!r}")


def l1_penalty(params: nn.Module | Iterable[torch.Tensor]) -> torch.Tensor:
    """Σ|w| over every trainable parameter — L1 has no ready option in torch.optim, so it is
    added to the loss by hand (weight_decay is L2, on the same parameters)."""
    tensors = params.parameters() if isinstance(params, nn.Module) else params
    return sum(p.abs().sum() for p in tensors if p.requires_grad)
