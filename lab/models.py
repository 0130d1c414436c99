"""Every nn.Module the lab builds.

- `Flatten`: the notes' own layer ("we need a Flatten class to put in nn.Sequential").
- `ChannelScale`: a layer with its own `nn.Parameter` (notes: "define your own parameters").
- `ConnectivityNet`: plain (no shortcut), ResNet-style (identity shortcut around every
  block) or DenseNet-style (each layer receives all earlier feature maps) networks of a
  chosen depth and width, made of conv layers (images) or linear layers (vectors, e.g.
  2-D toy data). The Architectures panel compares them; the Training lab trains them.
- `mlp`, `small_cnn`, `LeNet5`: the other models the panels use.

A "layer" below is one weight layer plus its normalisation, activation and dropout; the
depth of a network counts those layers between the stem and the head.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

PATTERNS: dict[str, str] = {
    "plain": "Plain: each layer feeds only the next",
    "resnet": "ResNet-style: an identity shortcut adds each block's input to its output",
    "densenet": "DenseNet-style: every layer receives the feature maps of all earlier layers",
}
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
}


class Flatten(nn.Module):
    """(N, C, H, W) -> (N, C·H·W): the layer the notes write by hand for nn.Sequential."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the notes write x.view(...); reshape also takes a channels-last tensor (whose
        # memory is not in C·H·W order), copying only then
        return x.reshape(x.size(0), -1)


class ChannelScale(nn.Module):
    """Multiplies each channel by its own learnable factor: a layer whose weight is an
    `nn.Parameter` we create ourselves, so it shows up in `named_parameters()`."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.scale.view(shape)


@dataclass(frozen=True)
class NetConfig:
    pattern: str = "plain"          # plain | resnet | densenet
    kind: str = "conv"              # conv (images) | dense (vectors)
    depth: int = 8                  # weight layers between stem and head
    width: int = 16                 # channels / units per layer (plain, resnet); stem width
    growth_rate: int = 12           # densenet: new channels each layer adds
    blocks: int = 2                 # resnet/densenet: blocks the depth is split into
    in_channels: int = 3            # conv: image channels; dense: input features
    num_classes: int = 10
    activation: str = "relu"
    batchnorm: bool = True
    dropout: float = 0.0            # torch's p: the probability of *dropping* a unit

    def validate(self) -> list[str]:
        problems = []
        if self.pattern not in PATTERNS:
            problems.append(f"unknown pattern {self.pattern!r}; choose {', '.join(PATTERNS)}")
        if self.kind not in ("conv", "dense"):
            problems.append(f"kind must be 'conv' or 'dense', not {self.kind!r}")
        if self.activation not in ACTIVATIONS:
            problems.append(f"unknown activation {self.activation!r}")
        for name in ("depth", "width", "growth_rate", "blocks", "in_channels", "num_classes"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1 (got {getattr(self, name)})")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout p must be in [0, 1) (got {self.dropout})")
        if not problems and self.pattern != "plain" and self.blocks > self.depth:
            problems.append(f"blocks ({self.blocks}) cannot exceed depth ({self.depth}): "
                            "every block needs at least one layer")
        return problems

    def layers_per_block(self) -> list[int]:
        """How the depth is shared among blocks (earlier blocks take the remainder)."""
        base, extra = divmod(self.depth, self.blocks)
        return [base + (1 if i < extra else 0) for i in range(self.blocks)]

    def to_json(self) -> dict:
        return asdict(self)


def _layer(config: NetConfig, in_size: int, out_size: int) -> nn.Sequential:
    """One weight layer + BatchNorm + activation (+ dropout), conv 3×3 or linear."""
    parts: list[nn.Module]
    if config.kind == "conv":
        parts = [nn.Conv2d(in_size, out_size, 3, padding=1, bias=not config.batchnorm)]
        if config.batchnorm:
            parts.append(nn.BatchNorm2d(out_size))
    else:
        parts = [nn.Linear(in_size, out_size, bias=not config.batchnorm)]
        if config.batchnorm:
            parts.append(nn.BatchNorm1d(out_size))
    parts.append(ACTIVATIONS[config.activation]())
    if config.dropout > 0:
        parts.append(nn.Dropout2d(config.dropout) if config.kind == "conv"
                     else nn.Dropout(config.dropout))
    return nn.Sequential(*parts)


class ResidualBlock(nn.Module):
    """x + f(x): the identity shortcut lets gradients skip the block's layers."""

    def __init__(self, config: NetConfig, layers: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*[_layer(config, config.width, config.width)
                                    for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class DenseBlock(nn.Module):
    """Layer i sees the block input and the outputs of layers 0..i-1, concatenated."""

    def __init__(self, config: NetConfig, in_size: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            _layer(config, in_size + i * config.growth_rate, config.growth_rate)
            for i in range(layers))
        self.out_size = in_size + layers * config.growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:  # (the first layer reads x itself: no 1-tensor cat)
            features.append(layer(torch.cat(features, dim=1) if len(features) > 1 else x))
        return torch.cat(features, dim=1)


class Transition(nn.Module):
    """Between dense blocks: a 1×1 conv (or linear) back to `width` channels (+ 2×2 pool)."""

    def __init__(self, config: NetConfig, in_size: int, pool: bool) -> None:
        super().__init__()
        if config.kind == "conv":
            self.reduce = nn.Conv2d(in_size, config.width, 1)
            self.pool = nn.AvgPool2d(2) if pool else nn.Identity()
        else:
            self.reduce = nn.Linear(in_size, config.width)
            self.pool = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.reduce(x))


class ConnectivityNet(nn.Module):
    """stem -> body (plain layers / residual blocks / dense blocks) -> head.

    `body_layers()` lists the weight layers in order, for gradient-flow plots.
    """

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        problems = config.validate()
        if problems:
            raise ValueError("; ".join(problems))
        self.config = config
        if config.kind == "conv":
            self.stem = nn.Sequential(nn.Conv2d(config.in_channels, config.width, 3, padding=1),
                                      ACTIVATIONS[config.activation]())
        else:
            self.stem = nn.Sequential(nn.Linear(config.in_channels, config.width),
                                      ACTIVATIONS[config.activation]())
        body: list[nn.Module] = []
        out_size = config.width
        if config.pattern == "plain":
            body = [_layer(config, config.width, config.width) for _ in range(config.depth)]
        elif config.pattern == "resnet":
            body = [ResidualBlock(config, n) for n in config.layers_per_block()]
        else:
            size = config.width
            counts = config.layers_per_block()
            for i, n in enumerate(counts):
                block = DenseBlock(config, size, n)
                body.append(block)
                size = block.out_size
                if i < len(counts) - 1:
                    body.append(Transition(config, size, pool=False))
                    size = config.width
            out_size = size
        self.body = nn.Sequential(*body)
        head: list[nn.Module] = []
        if config.kind == "conv":
            head += [nn.AdaptiveAvgPool2d(1), Flatten()]
        head.append(nn.Linear(out_size, config.num_classes))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))

    def body_layers(self) -> list[nn.Module]:
        """The weight layers (Conv2d / Linear) inside the body, input to output."""
        return [m for m in self.body.modules() if isinstance(m, nn.Conv2d | nn.Linear)
                and not _inside_transition(self.body, m)]


def _inside_transition(body: nn.Module, module: nn.Module) -> bool:
    return any(module is t.reduce for t in body.modules() if isinstance(t, Transition))


def build_net(config: NetConfig) -> ConnectivityNet:
    return ConnectivityNet(config)


def mlp(in_features: int, num_classes: int, depth: int = 2, width: int = 32,
        activation: str = "relu", dropout: float = 0.0, batchnorm: bool = False) -> nn.Module:
    """A multilayer perceptron: the plain pattern built from linear layers."""
    return ConnectivityNet(NetConfig("plain", "dense", depth, width, in_channels=in_features,
                                     num_classes=num_classes, activation=activation,
                                     batchnorm=batchnorm, dropout=dropout))


#: groups of GroupNorm when a model is built with norm="group" (fewer when C has no such
#: divisor): Wu & He's default is 32 for wide nets; the lab's small nets have 8–64 channels
NORM_GROUPS = 4


def norm_layer(norm: str, channels: int) -> nn.Module:
    """The normalization after a conv: "batch" -> BatchNorm2d, "group" -> GroupNorm with
    gcd(NORM_GROUPS, C) groups (GroupNorm needs G to divide C)."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(math.gcd(NORM_GROUPS, channels), channels)
    raise ValueError(f"no norm layer {norm!r}; choose batch or group")


def small_cnn(in_channels: int = 1, num_classes: int = 10, width: int = 16,
              dropout: float = 0.0, batchnorm: bool = True, norm: str = "batch",
              stages: int = 2) -> nn.Sequential:
    """Conv–pool stages (two by default: enough for digits and shapes; the channels double
    at each) and a classifier. With `batchnorm`, each conv is followed by the `norm` layer
    (BatchNorm2d or GroupNorm). Stages past the second round their pooling up, so maps that
    reach 1×1 stay 1×1 (four stages on 8×8 digits: 8, 4, 2 and 1 pixel wide)."""
    def stage(cin: int, cout: int, round_up: bool) -> list[nn.Module]:
        parts: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1)]
        if batchnorm:
            parts.append(norm_layer(norm, cout))
        return [*parts, nn.ReLU(), nn.MaxPool2d(2, ceil_mode=round_up)]

    layers: list[nn.Module] = []
    channels = in_channels
    for index in range(stages):
        layers += stage(channels, width * 2**index, round_up=index >= 2)
        channels = width * 2**index
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(2), Flatten(), nn.Dropout(dropout),
                         nn.Linear(4 * channels, num_classes))


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al., 1998) for 32×32 inputs, with the notes' Flatten layer.

    conv 6@5×5 -> pool -> conv 16@5×5 -> pool -> fc 120 -> fc 84 -> fc classes.
    Modern activations (ReLU) and max pooling, as most course code writes it.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------- classic nets

#: id -> (display name, default input side, default input channels, one-line lesson)
CLASSIC_MODELS: dict[str, tuple[str, int, int, str]] = {
    "lenet5": ("LeNet-5", 32, 1,
               "LeCun 1998: two conv–pool stages and three fully connected layers; "
               "built for 32×32 digits (lab.models.LeNet5, with the notes' Flatten)."),
    "alexnet": ("AlexNet", 224, 3,
                "Krizhevsky 2012: large 11×11 and 5×5 kernels, ReLU instead of tanh, "
                "overlapping max pooling for down-sampling, dropout in the classifier."),
    "vgg11": ("VGG-11", 224, 3,
              "Simonyan & Zisserman 2014: only 3×3 kernels, stacked; two 3×3 convs see a "
              "5×5 window with 2·9·C² weights instead of 25·C²."),
    "vgg16": ("VGG-16", 224, 3,
              "VGG with stacks of two and three 3×3 convs between max pools: deep, uniform, "
              "and heavy (most weights sit in the first fully connected layer)."),
    "googlenet": ("GoogLeNet", 224, 3,
                  "Szegedy 2014: Inception blocks run 1×1, 3×3, 5×5 convs and a pool side by "
                  "side and concatenate them; 1×1 convs shrink channels first. Built with the "
                  "paper's 5×5 in each block's third branch, where torchvision's googlenet() "
                  "keeps a 3×3 (to fit its pretrained weights), so it counts more parameters "
                  "than torchvision's; the code does the same swap."),
    "resnet18": ("ResNet-18", 224, 3,
                 "He 2015: basic blocks of two 3×3 convs with an identity shortcut (x + f(x)); "
                 "a 1×1 conv shortcut where the shape changes."),
    "densenet121": ("DenseNet-121", 224, 3,
                    "Huang 2017: inside a dense block every layer receives the concatenated "
                    "feature maps of all earlier layers; transitions halve the size."),
}


def classic_model(name: str, num_classes: int = 1000, in_channels: int | None = None
                  ) -> nn.Module:
    """A classic architecture with fresh (untrained) weights — torchvision's definitions
    with `weights=None`, so nothing is downloaded — in eval mode.

    `in_channels` other than the model's usual (1 for LeNet-5, 3 for the others) replaces
    the first convolution by one taking that many channels. GoogLeNet is built without
    its auxiliary classifiers (they only run in training) and without torchvision's slow
    truncated-normal init, and with the paper's 5×5 convolution in each Inception block's
    third branch (torchvision keeps a 3×3 there to match its pretrained weights, a quirk
    its source notes; no weights are loaded here). Build inside `torch.device("meta")`
    for shapes and counts only.
    """
    if name not in CLASSIC_MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(CLASSIC_MODELS)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1 (got {num_classes})")
    usual_channels = CLASSIC_MODELS[name][2]
    channels = usual_channels if in_channels is None else in_channels
    if channels < 1:
        raise ValueError(f"in_channels must be at least 1 (got {channels})")
    if name == "lenet5":
        return LeNet5(channels, num_classes).eval()

    import torchvision.models as tv

    builders = {
        "alexnet": lambda: tv.alexnet(weights=None, num_classes=num_classes),
        "vgg11": lambda: tv.vgg11(weights=None, num_classes=num_classes),
        "vgg16": lambda: tv.vgg16(weights=None, num_classes=num_classes),
        "googlenet": lambda: tv.googlenet(weights=None, num_classes=num_classes,
                                          aux_logits=False, init_weights=False),
        "resnet18": lambda: tv.resnet18(weights=None, num_classes=num_classes),
        "densenet121": lambda: tv.densenet121(weights=None, num_classes=num_classes),
    }
    model = builders[name]()
    if name == "googlenet":
        _inception_5x5(model)
    if channels != usual_channels:
        _replace_first_conv(model, channels)
    return model.eval()


def _inception_5x5(model: nn.Module) -> None:
    from torchvision.models.googlenet import Inception

    for block in model.modules():
        if isinstance(block, Inception):
            conv = block.branch3[1].conv
            block.branch3[1].conv = nn.Conv2d(conv.in_channels, conv.out_channels, 5,
                                              padding=2, bias=False, device=conv.weight.device)


def _replace_first_conv(model: nn.Module, in_channels: int) -> None:
    """Swap the first Conv2d for one with `in_channels` inputs (same everything else)."""
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                setattr(parent, child_name, nn.Conv2d(
                    in_channels, child.out_channels, child.kernel_size, child.stride,
                    child.padding, child.dilation, child.groups, child.bias is not None,
                    device=child.weight.device))
                return


def notes_example() -> nn.Sequential:
    """The notes' `nn.Sequential` of 5 nodes, built with both home-made layers.

    For 1×28×28 digits: conv 3×3 -> ChannelScale (own nn.Parameter) -> ReLU -> Flatten ->
    Linear. `children()` yields the 5 nodes, `modules()` 6 (the Sequential itself too),
    `named_parameters()` 5 tensors (conv weight and bias, scale, linear weight and bias).
    """
    return nn.Sequential(nn.Conv2d(1, 4, 3), ChannelScale(4), nn.ReLU(), Flatten(),
                         nn.Linear(4 * 26 * 26, 10))
