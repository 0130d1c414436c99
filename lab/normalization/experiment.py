"""Small batches: BatchNorm vs GroupNorm validation error over batch sizes (Wu & He 2018,
Fig. 1), trained by the Training lab's own loop (`lab.training.train`), not a new one.

Every run is the same small CNN on the digits, same seed and number of epochs; only the
normalization layer and the batch size change. The learning rate follows the linear
scaling rule (lr ∝ batch size, as in the paper), so every batch size sees the same
average step per sample. BatchNorm's statistics come from the batch, so tiny batches give
noisy means and variances in training and running statistics that do not match them at
test time; GroupNorm's statistics come from each sample alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lab.data import DataConfig
from lab.progress import Progress
from lab.training import EpochMetrics, RunFinished, TrainConfig, train

NORMS = ("batch", "group")
NORM_TITLES = {"batch": "BatchNorm", "group": "GroupNorm"}
#: the learning rate at batch size 32; other sizes get lr · size / 32
BASE_LR = 0.1
BASE_BATCH = 32


@dataclass(frozen=True)
class ExperimentPoint:
    norm: str
    batch_size: int
    val_error: float      # 1 − validation accuracy after the last epoch, in eval() mode
    val_loss: float
    seconds: float
    status: str


def experiment_config(norm: str, batch_size: int, epochs: int, train_size: int = 512,
                      device: str = "auto", width: int = 8, seed: int = 0) -> TrainConfig:
    lr = BASE_LR * batch_size / BASE_BATCH
    return TrainConfig(data=DataConfig("digits", train_size=train_size, val_fraction=0.25),
                       arch="small_cnn", width=width, batchnorm=True, norm=norm,
                       optimizer="sgd", lr=lr, momentum=0.9, batch_size=batch_size,
                       epochs=epochs, device=device, seed=seed)


def batch_size_experiment(sizes: tuple[int, ...], epochs: int, should_stop: Callable[[], bool],
                          device: str = "auto", train_size: int = 512
                          ) -> Iterator[Progress | ExperimentPoint]:
    """Train BN and GN at each batch size, one run after another; yields Progress on the
    way and an ExperimentPoint per finished run."""
    runs = [(norm, size) for size in sizes for norm in NORMS]
    for index, (norm, size) in enumerate(runs):
        cfg = experiment_config(norm, size, epochs, train_size, device)
        started = time.perf_counter()
        last: EpochMetrics | None = None
        status = "completed"
        stage = f"{NORM_TITLES[norm]}, batch size {size}"
        for item in train(cfg, should_stop, extras_interval=3600.0):
            if isinstance(item, EpochMetrics):
                last = item
                yield Progress(f"{stage}: epoch {item.epoch}/{epochs}",
                               (index + item.epoch / epochs) / len(runs))
            elif isinstance(item, RunFinished):
                status = item.status
        if should_stop():
            return
        if last is None or last.val_accuracy is None:
            continue
        yield ExperimentPoint(norm, size, 1.0 - last.val_accuracy, float(last.val_loss),
                              time.perf_counter() - started, status)
    yield Progress("done", 1.0)
