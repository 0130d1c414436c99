"""Gradient flow: how much gradient reaches each layer of a plain, ResNet and DenseNet net.

One forward and backward pass of cross-entropy on one fixed batch (random 8×8 images,
random labels: the same data for every net), each net freshly initialised from the same
seed with the same scheme, then ‖∂loss/∂W‖ for every weight layer of the body, input
to output. Without BatchNorm and with PyTorch's default init each plain layer shrinks
the signal, so the gradient reaching the first layers falls geometrically with depth;
an identity shortcut (ResNet) or a direct concatenation (DenseNet) carries it past.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lab.architectures import source
from lab.models import ACTIVATIONS, PATTERNS, ConnectivityNet, NetConfig

INITS: dict[str, str] = {
    "default": "PyTorch default: weights ~ U(±1/√fan_in) (kaiming_uniform_, a=√5)",
    "kaiming": "He (Kaiming) normal for ReLU: std √(2/fan_in), biases 0",
}
SWEEP_DEPTHS: tuple[int, ...] = (4, 8, 16, 32, 64)
MIN_DEPTH, MAX_DEPTH = 4, 64


@dataclass(frozen=True)
class GradientParams:
    depth: int = 32                 # body layers of the per-layer profile
    width: int = 16
    growth_rate: int = 12
    dense_blocks: int = 2           # DenseNet: dense blocks (transitions between them)
    residual_block_layers: int = 2  # ResNet: a shortcut around every this many layers
    activation: str = "relu"
    batchnorm: bool = False
    init: str = "default"
    batch_size: int = 16
    image_size: int = 8
    seed: int = 0

    def validate(self) -> list[str]:
        problems = []
        if not MIN_DEPTH <= self.depth <= MAX_DEPTH:
            problems.append(f"depth must be between {MIN_DEPTH} and {MAX_DEPTH} "
                            f"(got {self.depth})")
        for name in ("width", "growth_rate", "dense_blocks", "residual_block_layers",
                     "batch_size", "image_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1 (got {getattr(self, name)})")
        if self.dense_blocks > MIN_DEPTH:
            problems.append(f"dense_blocks ({self.dense_blocks}) cannot exceed the smallest "
                            f"depth ({MIN_DEPTH}): every block needs a layer")
        if self.activation not in ACTIVATIONS:
            problems.append(f"unknown activation {self.activation!r}")
        if self.init not in INITS:
            problems.append(f"unknown init {self.init!r}; choose {', '.join(INITS)}")
        return problems

    def config(self, pattern: str, depth: int | None = None) -> NetConfig:
        depth = self.depth if depth is None else depth
        blocks = 1
        if pattern == "resnet":
            blocks = max(1, depth // self.residual_block_layers)
        elif pattern == "densenet":
            blocks = min(self.dense_blocks, depth)
        return NetConfig(pattern, "conv", depth, self.width, self.growth_rate, blocks,
                         in_channels=3, num_classes=10, activation=self.activation,
                         batchnorm=self.batchnorm)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GradientProfile:
    pattern: str
    depth: int
    norms: tuple[float, ...]        # ‖∂loss/∂W‖ per body layer, input side first
    loss: float

    @property
    def first(self) -> float:
        """The gradient norm of the layer nearest the input."""
        return self.norms[0]


def fixed_batch(params: GradientParams) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(params.seed + 1)
    images = torch.randn(params.batch_size, 3, params.image_size, params.image_size,
                         generator=generator)
    labels = torch.randint(0, 10, (params.batch_size,), generator=generator)
    return images, labels


def build(params: GradientParams, pattern: str, depth: int | None = None) -> ConnectivityNet:
    """The net for one pattern, initialised from `params.seed` without touching the
    global random state (the GUI thread may be using it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params.seed)
        net = ConnectivityNet(params.config(pattern, depth))
        if params.init == "kaiming":
            for module in net.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)
    return net


@contextmanager
def _one_thread() -> Iterator[None]:
    """These nets are tiny: parallel threads only add overhead, and on a busy machine
    their spinning makes a 0.1 s pass take seconds. (Set for the calling thread; the
    previous count is restored.)"""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def gradient_profile(params: GradientParams, pattern: str, depth: int | None = None,
                     batch: tuple[torch.Tensor, torch.Tensor] | None = None
                     ) -> GradientProfile:
    """One backward pass; the gradient norm of every body weight layer."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}")
    net = build(params, pattern, depth)
    net.train()
    images, labels = batch if batch is not None else fixed_batch(params)
    with _one_thread():
        loss = F.cross_entropy(net(images), labels)
        loss.backward()
    norms = tuple(float(layer.weight.grad.norm()) for layer in net.body_layers())
    return GradientProfile(pattern, net.config.depth, norms, float(loss.detach()))


def gradient_sweep(params: GradientParams, should_stop: Callable[[], bool] = lambda: False,
                   depths: tuple[int, ...] = SWEEP_DEPTHS) -> Iterator[GradientProfile]:
    """The per-layer profile at `params.depth` for the three patterns first, then every
    pattern at every depth of `depths` (for the first-layer-versus-depth plot)."""
    batch = fixed_batch(params)
    done: set[tuple[str, int]] = set()
    jobs = [(p, params.depth) for p in PATTERNS] + [(p, d) for d in depths for p in PATTERNS]
    for pattern, depth in jobs:
        if (pattern, depth) in done:
            continue
        if should_stop():
            return
        done.add((pattern, depth))
        yield gradient_profile(params, pattern, depth, batch)


def log_floor(values: list[float] | tuple[float, ...], floor: float = 1e-30) -> list[float]:
    """Values for a log axis: a gradient of exactly 0 (no signal at all reached the
    layer) is drawn at `floor`."""
    return [v if v > floor and math.isfinite(v) else floor for v in values]


#: first/last gradient-norm ratios beyond these read as "vanishes" / "grows"
VANISH_RATIO = 0.1
GROW_RATIO = 10.0
_NAMES = {"plain": "Plain net", "resnet": "ResNet", "densenet": "DenseNet"}


def trend(profile: GradientProfile) -> str:
    """How the gradient changes from the last body layer to layer 1 (the input side):
    'vanishes', 'grows' or 'stays' — read off the numbers, never assumed."""
    first, last = profile.norms[0], profile.norms[-1]
    if not (math.isfinite(first) and math.isfinite(last)) or last <= 0:
        return "grows" if last <= 0 < first else "stays"
    ratio = first / last
    return "vanishes" if ratio < VANISH_RATIO else "grows" if ratio > GROW_RATIO else "stays"


def gradient_caption(params: GradientParams, profiles: dict[str, GradientProfile]) -> str:
    """The caption under the per-layer plot, derived from the numbers it shows."""
    settings = (f"{'with' if params.batchnorm else 'no'} BatchNorm, "
                f"{'He (Kaiming)' if params.init == 'kaiming' else 'default'} init, "
                f"{params.activation}")
    verbs = {"vanishes": "vanishes towards the input", "grows": "grows towards the input",
             "stays": "keeps its size through the layers"}
    parts = []
    for pattern in PATTERNS:
        profile = profiles.get(pattern)
        if profile is None:
            continue
        first, last = profile.norms[0], profile.norms[-1]
        parts.append(f"{_NAMES.get(pattern, pattern)}: the gradient {verbs[trend(profile)]} "
                     f"(layer {len(profile.norms)} {last:.1e} → layer 1 {first:.1e})")
    head = f"Same batch, same seed, one backward pass; {settings}. "
    return head + ("; ".join(parts) + "." if parts else "computing…")


def gradient_code(params: GradientParams) -> str:
    """Python that reproduces the gradient-flow plot's numbers."""
    init = ""
    if params.init == "kaiming":
        init = '''    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
'''
    return f'''{source.IMPORTS}import torch.nn.functional as F

# Visual Lab's plain / ResNet / DenseNet nets, written out: the blocks are all here
{source.connectivity_source()}

generator = torch.Generator().manual_seed({params.seed + 1})
size = {params.image_size}
images = torch.randn({params.batch_size}, 3, size, size, generator=generator)
labels = torch.randint(0, 10, ({params.batch_size},), generator=generator)

depth = {params.depth}
blocks = {{"plain": 1, "resnet": max(1, depth // {params.residual_block_layers}),
          "densenet": min({params.dense_blocks}, depth)}}
for pattern in ("plain", "resnet", "densenet"):
    torch.manual_seed({params.seed})
    net = ConnectivityNet(NetConfig(pattern, "conv", depth, width={params.width},
                                    growth_rate={params.growth_rate}, blocks=blocks[pattern],
                                    activation="{params.activation}",
                                    batchnorm={params.batchnorm}))
{init}    F.cross_entropy(net(images), labels).backward()
    norms = [layer.weight.grad.norm().item() for layer in net.body_layers()]
    print(pattern, " ".join(f"{{n:.1e}}" for n in norms))
'''
