"""What a run is built from its configuration: the model, dropout changes, the optimiser and
scheduler (lab.optim), and whether saved weights fit a model."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lab import optim
from lab.models import ConnectivityNet, Flatten, NetConfig, small_cnn
from lab.training.config import TrainConfig

# =========================================================================== models

def build_model(cfg: TrainConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The model `cfg` names for inputs of `input_shape`, dropout layers always present
    (p = cfg.dropout, possibly 0) so p can change while it trains."""
    points = len(input_shape) == 1
    # Built with p > 0 so ConnectivityNet includes its Dropout layers; p is set after.
    build_p = cfg.dropout if cfg.dropout > 0 else 0.5
    if cfg.arch == "small_cnn":
        if points:
            raise ValueError("the small CNN needs images")
        model: nn.Module = small_cnn(input_shape[0], num_classes, cfg.width, build_p,
                                     cfg.batchnorm, cfg.norm, cfg.cnn_stages)
    elif cfg.arch == "mlp" and not points:
        features = int(np.prod(input_shape))
        model = nn.Sequential(Flatten(), ConnectivityNet(NetConfig(
            "plain", "dense", cfg.depth, cfg.width, in_channels=features,
            num_classes=num_classes, activation=cfg.activation, batchnorm=cfg.batchnorm,
            dropout=build_p)))
    else:
        pattern = "plain" if cfg.arch == "mlp" else cfg.arch
        model = ConnectivityNet(NetConfig(
            pattern, "dense" if points else "conv", cfg.depth, cfg.width,
            growth_rate=max(4, cfg.width // 2), blocks=min(2, cfg.depth),
            in_channels=input_shape[0], num_classes=num_classes, activation=cfg.activation,
            batchnorm=cfg.batchnorm, dropout=build_p))
    set_dropout(model, cfg.dropout)
    return model


def set_dropout(model: nn.Module, p: float) -> int:
    """Set p of every dropout layer; returns how many there are."""
    count = 0
    for module in model.modules():
        if isinstance(module, nn.Dropout | nn.Dropout1d | nn.Dropout2d | nn.Dropout3d):
            module.p = float(p)
            count += 1
    return count


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    return optim.make_optimizer(cfg.optimizer, params, lr=cfg.lr, momentum=cfg.momentum,
                                nesterov=cfg.nesterov, weight_decay=cfg.l2)


def make_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer):
    return optim.make_scheduler(cfg.scheduler, optimizer, step_size=cfg.step_size,
                                gamma=cfg.gamma, t_max=cfg.epochs,
                                plateau_factor=cfg.plateau_factor,
                                plateau_patience=cfg.plateau_patience)


def state_problems(model: nn.Module, state_dict: dict[str, torch.Tensor],
                   limit: int = 3) -> list[str]:
    """Why `state_dict` does not fit `model` (missing / unexpected / wrong-shape weights);
    empty when it loads."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    problems = []
    for title, items in (("missing weights", missing), ("unexpected weights", unexpected),
                         ("wrong shapes", shapes)):
        if items:
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            problems.append(f"{title}: {', '.join(items[:limit])}{more}")
    return problems
