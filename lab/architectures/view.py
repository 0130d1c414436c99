"""What the Architectures panel shows, as data: each tab's settings and which tab is open
(`lab.params.to_data` / `from_data` save and restore it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lab.architectures import ClassicParams, ConnectivityParams


@dataclass(frozen=True)
class ConnectivityView:
    """Plain · ResNet · DenseNet: the three nets, how they are drawn, the gradient nets."""

    layers: ConnectivityParams = field(default_factory=ConnectivityParams)
    #: draw BatchNorm / activations inside their layer's box; runs of blocks as one box
    fold: bool = True
    collapse: bool = False
    gradient_depth: int = 32
    gradient_activation: str = "relu"
    gradient_init: str = "default"
    gradient_batchnorm: bool = False


@dataclass(frozen=True)
class ClassicView:
    layers: ClassicParams = field(default_factory=ClassicParams)
    fold: bool = True
    collapse: bool = False


@dataclass(frozen=True)
class ModuleView:
    #: a `TREE_MODELS` key: whose module tree is shown
    model: str = "notes"
    #: whose source is shown: a home-made layer or the notes' whole example
    code: Literal["Flatten", "ChannelScale", "example"] = "Flatten"


@dataclass(frozen=True)
class ArchitecturesView:
    tab: Literal["connectivity", "classic", "modules"] = "connectivity"
    connectivity: ConnectivityView = field(default_factory=ConnectivityView)
    classic: ClassicView = field(default_factory=ClassicView)
    modules: ModuleView = field(default_factory=ModuleView)
