"""Visual Lab's own code as source text, for exported scripts that must run with only
torch, torchvision, scikit-learn and numpy installed (no `lab` import): the learner sees
the blocks and data functions themselves, and they are exactly what the lab ran."""

from __future__ import annotations

import inspect

from lab import models


def source_of(*objects: object) -> str:
    """The source of functions and classes, one after another."""
    return "\n\n\n".join(inspect.getsource(obj).rstrip() for obj in objects) + "\n"


def connectivity_source() -> str:
    """NetConfig, the layer helper, ResidualBlock, DenseBlock, Transition, ConnectivityNet
    (needs `torch`, `nn`, `dataclass`, `asdict`)."""
    activations = ", ".join(f'"{name}": nn.{layer.__name__}'
                            for name, layer in models.ACTIVATIONS.items())
    patterns = ", ".join(f'"{name}": {text!r}' for name, text in models.PATTERNS.items())
    return (f"PATTERNS = {{{patterns}}}\nACTIVATIONS = {{{activations}}}\n\n\n"
            + source_of(models.NetConfig, models._layer, models.ResidualBlock,
                        models.DenseBlock, models.Transition, models.Flatten,
                        models.ConnectivityNet, models._inside_transition))


def small_cnn_source() -> str:
    """small_cnn and its norm layer (needs `math`, `nn`, Flatten)."""
    return (f"NORM_GROUPS = {models.NORM_GROUPS}\n\n\n"
            + source_of(models.norm_layer, models.small_cnn))
