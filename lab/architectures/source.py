"""The Architectures panel's nets as source text, so its exported scripts need only torch
and torchvision: the learner sees the blocks themselves, not an import from `lab`."""

from __future__ import annotations

from lab import models
from lab.model_source import connectivity_source, source_of

__all__ = ["IMPORTS", "connectivity_source", "first_conv_source", "inception_5x5_source",
           "lenet_source"]

IMPORTS = """import torch
import torch.fx
from dataclasses import asdict, dataclass
from torch import nn
"""


def lenet_source() -> str:
    return source_of(models.Flatten, models.LeNet5)


def inception_5x5_source() -> str:
    return source_of(models._inception_5x5)


def first_conv_source() -> str:
    return source_of(models._replace_first_conv)
