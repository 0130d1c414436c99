"""The Normalization panel's whole state as one frozen dataclass (saved views, examples).

`NormView` round-trips through JSON with `lab.params.to_data` / `from_data`;
`validate()` names every broken rule with its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

METHODS: dict[str, str] = {
    "batch": "BatchNorm2d — per channel, over the batch and the pixels (N, H, W)",
    "layer": "LayerNorm — per sample, over all its channels and pixels (C, H, W)",
    "instance": "InstanceNorm2d — per sample and channel, over its pixels (H, W)",
    "group": "GroupNorm — per sample and group of C/G channels ((C/G), H, W)",
}
MODULE_NAMES = {"batch": "BatchNorm2d", "layer": "LayerNorm", "instance": "InstanceNorm2d",
                "group": "GroupNorm"}
SOURCES: dict[str, str] = {
    "digits": "Handwritten digits (scikit-learn, gray)",
    "shapes": "Generated shapes (gray)",
    "photos": "Crops of the sample photos (RGB)",
}
STAGES: dict[str, str] = {
    "conv": "after a conv layer (C feature maps)",
    "pixels": "raw pixels (C = the image's channels)",
}
SCALING_SOURCES: dict[str, str] = {
    "image": "the current image",
    "digits": "the digits data set (1,797 images)",
    "photos": "the two sample photos",
}
MAX_BATCH, MAX_CHANNELS, MAX_SIDE = 16, 16, 16
#: up to these sizes every number of the tensor is written in its cell
SHOW_NUMBERS = (8, 8, 8)
MAX_GAMMA = 3.0
MAX_BETA = 3.0


@dataclass(frozen=True)
class NormView:
    # -- the tensor
    source: Literal["digits", "shapes", "photos"] = "digits"
    stage: Literal["conv", "pixels"] = "conv"
    batch: int = 4
    channels: int = 4
    side: int = 6
    seed: int = 0
    # -- the layer
    method: Literal["batch", "layer", "instance", "group"] = "batch"
    groups: int = 2
    eps: float = 1e-5
    #: γ and β per channel; fewer values than channels mean 1 (γ) and 0 (β) for the rest
    gamma: tuple[float, ...] = ()
    beta: tuple[float, ...] = ()
    #: the clicked cell (n, c, h, w)
    cell: tuple[int, int, int, int] = (0, 0, 0, 0)
    # -- running statistics
    momentum: float = 0.1
    #: momentum=None: the running statistics are the plain average of all batches so far
    cumulative: bool = False
    track_running_stats: bool = True
    steps: int = 0
    # -- feature scaling
    scaling_source: Literal["image", "digits", "photos"] = "image"
    # -- the batch-size experiment
    experiment_sizes: tuple[int, ...] = (2, 4, 8, 16)
    experiment_epochs: int = 5
    # -- which tab is shown
    tab: Literal["axes", "running", "scaling", "batches"] = "axes"

    def __post_init__(self) -> None:
        # one spelling per view: γ = 1 and β = 0 at the end are the defaults and left
        # out; batch sizes sorted, each once (a view equals the panel's reading of it)
        gamma, beta = list(self.gamma), list(self.beta)
        while gamma and gamma[-1] == 1.0:
            gamma.pop()
        while beta and beta[-1] == 0.0:
            beta.pop()
        object.__setattr__(self, "gamma", tuple(float(g) for g in gamma))
        object.__setattr__(self, "beta", tuple(float(b) for b in beta))
        object.__setattr__(self, "experiment_sizes", tuple(sorted(set(self.experiment_sizes))))

    @property
    def input_channels(self) -> int:
        return 3 if self.source == "photos" else 1

    @property
    def shown_channels(self) -> int:
        """C of the tensor: the slider's value after a conv, the image's channels for pixels."""
        return self.channels if self.stage == "conv" else self.input_channels

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.shown_channels, self.side, self.side)

    @property
    def effective_groups(self) -> int:
        """G as the statistics see it: 1 for LayerNorm, C for InstanceNorm."""
        channels = self.shown_channels
        return {"layer": 1, "instance": channels, "batch": 1}.get(self.method, self.groups)

    def gamma_of(self, channel: int) -> float:
        return self.gamma[channel] if channel < len(self.gamma) else 1.0

    def beta_of(self, channel: int) -> float:
        return self.beta[channel] if channel < len(self.beta) else 0.0

    def affine(self) -> tuple[list[float], list[float]]:
        channels = self.shown_channels
        return ([self.gamma_of(c) for c in range(channels)],
                [self.beta_of(c) for c in range(channels)])

    @property
    def torch_momentum(self) -> float | None:
        return None if self.cumulative else self.momentum

    def validate(self) -> list[str]:
        """Every problem of the view (the panel asks each part's own below)."""
        return (self.tensor_problems() + self.layer_problems() + self.running_problems()
                + self.experiment_problems())

    def tensor_problems(self) -> list[str]:
        problems = []
        for name, value, low, high in (("batch size N", self.batch, 1, MAX_BATCH),
                                       ("channels C", self.channels, 1, MAX_CHANNELS),
                                       ("side H = W", self.side, 2, MAX_SIDE)):
            if not low <= value <= high:
                problems.append(f"{name} must be between {low} and {high} (got {value})")
        return problems

    def layer_problems(self) -> list[str]:
        problems = []
        channels = self.shown_channels
        if self.method == "group" and (not 1 <= self.groups <= channels
                                       or channels % self.groups):
            problems.append(
                f"GroupNorm splits the C = {channels} channels into G equal groups, so G "
                f"must divide C: G ∈ {{{', '.join(map(str, divisors(channels)))}}} (got G = "
                f"{self.groups})")
        if not 0 < self.eps <= 1:
            problems.append(f"ε must be above 0 and at most 1 (got {self.eps:g})")
        if any(abs(g) > MAX_GAMMA for g in self.gamma) or any(abs(b) > MAX_BETA
                                                              for b in self.beta):
            problems.append(f"γ and β must lie within ±{MAX_GAMMA:g}")
        return problems

    def running_problems(self) -> list[str]:
        problems = []
        if not 0 <= self.momentum <= 1:
            problems.append(f"momentum must be between 0 and 1 (got {self.momentum:g})")
        if self.steps < 0:
            problems.append(f"steps must be 0 or more (got {self.steps})")
        return problems

    def experiment_problems(self) -> list[str]:
        problems = []
        if not self.experiment_sizes or any(not 2 <= s <= 256 for s in self.experiment_sizes):
            problems.append("the experiment's batch sizes must be between 2 and 256 "
                            "(BatchNorm cannot train on one sample)")
        if not 1 <= self.experiment_epochs <= 50:
            problems.append(f"epochs must be between 1 and 50 (got {self.experiment_epochs})")
        return problems


def divisors(channels: int) -> list[int]:
    """The G values GroupNorm accepts for C channels."""
    return [g for g in range(1, channels + 1) if channels % g == 0]
