"""Visual Lab's own layers as source text, so an exported script needs only torch and
torchvision: the learner sees the blocks themselves, not an import from `lab`."""

from __future__ import annotations

import inspect

from lab import models

IMPORTS = """import torch
import torch.fx
from dataclasses import asdict, dataclass
from torch import nn
"""


def _sources(*objects: object) -> str:
    return "\n\n".join(inspect.getsource(obj).rstrip() for obj in objects) + "\n"


def connectivity_source() -> str:
    """NetConfig, the layer helper, ResidualBlock, DenseBlock, Transition, ConnectivityNet."""
    activations = ", ".join(f'"{name}": nn.{layer.__name__}'
                            for name, layer in models.ACTIVATIONS.items())
    patterns = ", ".join(f'"{name}": {text!r}' for name, text in models.PATTERNS.items())
    return (f"PATTERNS = {{{patterns}}}\nACTIVATIONS = {{{activations}}}\n\n\n"
            + _sources(models.NetConfig, models._layer, models.ResidualBlock,
                       models.DenseBlock, models.Transition, models.Flatten,
                       models.ConnectivityNet, models._inside_transition))


def lenet_source() -> str:
    return _sources(models.Flatten, models.LeNet5)


def inception_5x5_source() -> str:
    return _sources(models._inception_5x5)


def first_conv_source() -> str:
    return _sources(models._replace_first_conv)
