"""Small batches: BatchNorm vs GroupNorm validation error over batch sizes (Wu & He 2018,
Fig. 1), trained by the Training lab's own loop (`lab.training.train`), not a new one.

Every run is the same small CNN on the digits, same seed, same data; only the
normalization layer and the batch size change. Like the paper, every run sees the same
number of samples and the learning rate follows the linear scaling rule,
lr = 0.1 · B / 32, so each sample moves the weights about as far at every batch size.
A big batch then makes few updates (5 epochs of 1,024 digits are 320 updates at batch 16),
too few for GroupNorm to converge here, so big batches train extra epochs until they have
made at least `min_updates` (Goyal et al. 2017 saw the same rule fail in few iterations);
this favours big batches for *both* methods alike. Validation runs in eval() mode, so
BatchNorm normalizes with its running statistics.

The CNN has four conv stages (8, 16, 32, 64 channels), each conv followed by the norm
layer, and its maps shrink 8 → 4 → 2 → 1 pixels. At the last stage BatchNorm's
statistics of a channel come from only B·1·1 values: at B = 2 every normalized value is
±1 in training, and eval()'s running statistics normalize quite differently. GroupNorm's
statistics come from each sample alone (16 channels per group there), whatever B is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.data import DataConfig
from lab.progress import Progress

if TYPE_CHECKING:  # lab.training is imported when a run starts, not with the panel
    from lab.training import TrainConfig

NORMS = ("batch", "group")
NORM_TITLES = {"batch": "BatchNorm", "group": "GroupNorm"}
#: the learning rate at batch size 32; other sizes get lr · size / 32 (linear scaling)
BASE_LR = 0.1
BASE_BATCH = 32
DEFAULT_SIZES = (2, 4, 8, 16)
DEFAULT_EPOCHS = 5
DEFAULT_TRAIN_SIZE = 1024
#: big batches train more epochs until they have made this many updates
DEFAULT_MIN_UPDATES = 640
CNN_STAGES = 4
WIDTH = 8
VAL_FRACTION = 0.25
#: error changes (in points of %) the summary calls a rise / flat
CLEAR_RISE = 5.0
#: at most this often a Progress inside a run
PROGRESS_INTERVAL_S = 0.25


@dataclass(frozen=True)
class ExperimentSetup:
    """What every run shares; `config(norm, size)` is one run's TrainConfig."""

    sizes: tuple[int, ...] = DEFAULT_SIZES
    epochs: int = DEFAULT_EPOCHS
    train_size: int = DEFAULT_TRAIN_SIZE
    min_updates: int = DEFAULT_MIN_UPDATES
    width: int = WIDTH
    device: str = "auto"
    seed: int = 0

    def updates_per_epoch(self, size: int) -> int:
        return math.ceil(self.train_size / size)

    def epochs_for(self, size: int) -> int:
        """`epochs`, or more for a big batch until it makes `min_updates` updates."""
        return max(self.epochs, math.ceil(self.min_updates / self.updates_per_epoch(size)))

    def updates(self, size: int) -> int:
        return self.epochs_for(size) * self.updates_per_epoch(size)

    def config(self, norm: str, size: int) -> TrainConfig:
        from lab.training import TrainConfig

        return TrainConfig(
            data=DataConfig("digits", train_size=self.train_size, val_fraction=VAL_FRACTION),
            arch="small_cnn", width=self.width, cnn_stages=CNN_STAGES, batchnorm=True, norm=norm,
            optimizer="sgd", lr=BASE_LR * size / BASE_BATCH, momentum=0.9,
            scheduler="cosine", batch_size=size, epochs=self.epochs_for(size),
            device=self.device, seed=self.seed)

    def runs(self) -> list[tuple[str, int]]:
        return [(norm, size) for size in self.sizes for norm in NORMS]

    def description(self) -> str:
        extra = [s for s in self.sizes if self.epochs_for(s) > self.epochs]
        more = (f"; batch {', '.join(map(str, extra))} train"
                f" {', '.join(str(self.epochs_for(s)) for s in extra)} epochs to make at least "
                f"{self.min_updates} updates" if extra else "")
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        return (f"{epochs} of {self.train_size:,} digits per run{more}; "
                f"lr = {BASE_LR:g}·B/{BASE_BATCH}, cosine schedule, seed {self.seed}")


@dataclass(frozen=True)
class ExperimentPoint:
    norm: str
    batch_size: int
    val_error: float      # 1 − validation accuracy after the last epoch, in eval() mode
    val_loss: float
    train_error: float    # on the last epoch's batches, in train() mode
    epochs: int
    seconds: float
    status: str


def batch_size_experiment(setup: ExperimentSetup, should_stop: Callable[[], bool]
                          ) -> Iterator[Progress | ExperimentPoint]:
    """Train BN and GN at each batch size, one run after another; yields Progress on the
    way (weighted by updates: the small batches take longest) and an ExperimentPoint per
    finished run."""
    import torch

    threads = torch.get_num_threads()
    # the small CNN's ops are too small to share: a second thread costs more than it
    # saves, many times more on a busy machine (the count is this thread's own)
    torch.set_num_threads(1)
    try:
        yield from _runs(setup, should_stop)
    finally:
        torch.set_num_threads(threads)


def _runs(setup: ExperimentSetup, should_stop: Callable[[], bool]
          ) -> Iterator[Progress | ExperimentPoint]:
    from lab.training import EpochMetrics, RunFinished, StepMetrics, train

    runs = setup.runs()
    total = sum(setup.updates(size) for _norm, size in runs)
    done = 0
    for norm, size in runs:
        cfg = setup.config(norm, size)
        started = time.perf_counter()
        shown = -math.inf
        last: EpochMetrics | None = None
        status = "completed"
        stage = f"{NORM_TITLES[norm]}, batch size {size}"
        for item in train(cfg, should_stop, extras_interval=3600.0):
            if isinstance(item, StepMetrics):
                now = time.perf_counter()
                if now - shown >= PROGRESS_INTERVAL_S:
                    shown = now
                    yield Progress(f"{stage}: epoch {item.epoch}/{cfg.epochs}",
                                   (done + item.step) / total)
            elif isinstance(item, EpochMetrics):
                last = item
            elif isinstance(item, RunFinished):
                status = item.status
        done += setup.updates(size)
        if should_stop():
            return
        if last is None or last.val_accuracy is None:
            continue
        yield ExperimentPoint(norm, size, 1.0 - last.val_accuracy, float(last.val_loss),
                              1.0 - last.train_accuracy, cfg.epochs,
                              time.perf_counter() - started, status)
    yield Progress("done", 1.0)


def summary(points: dict[str, dict[int, float]]) -> str:
    """What the numbers show, in words derived from them: {"batch": {size: error}, …}."""
    bn, gn = points.get("batch", {}), points.get("group", {})
    both = sorted(set(bn) & set(gn))
    if not both:
        return ""
    parts = [f"batch {s}: BN {100 * bn[s]:.1f} %, GN {100 * gn[s]:.1f} %" for s in both]
    text = "Validation error — " + "; ".join(parts) + "."
    if len(both) < 2:
        return text
    small, large = both[0], both[-1]
    bn_rise = 100 * (bn[small] - bn[large])
    gn_values = [100 * gn[s] for s in both]
    gn_spread = max(gn_values) - min(gn_values)
    gap = 100 * (bn[small] - gn[small])
    text += (f" From batch {large} down to {small}, BatchNorm's error changed by "
             f"{bn_rise:+.1f} points; GroupNorm's stayed within {gn_spread:.1f} points.")
    if bn_rise >= CLEAR_RISE and gap >= CLEAR_RISE and gn_spread < bn_rise / 2:
        text += (f" That is Wu & He's Figure 1: at batch {small} BatchNorm's statistics come "
                 f"from too few values (in the last stage {small} per channel), and its "
                 "running statistics do not match what it trained with; GroupNorm's come "
                 "from each sample alone.")
    elif bn_rise < CLEAR_RISE:
        text += (f" BatchNorm did not clearly suffer at batch {small} here (less than "
                 f"{CLEAR_RISE:g} points).")
    else:
        text += " GroupNorm varied as much as BatchNorm: this run does not separate them."
    return text
