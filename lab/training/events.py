"""What `lab.training.train` yields: plain, frozen dataclasses (numbers, numpy arrays and,
in RunFinished, CPU tensors), safe to hand to another thread."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class RunStarted:
    device: str
    device_label: str
    data_name: str
    kind: str                    # "points" | "images"
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    train_size: int
    val_size: int
    folds: int
    epochs: int
    steps_per_epoch: int
    total_steps: int
    parameters: int
    model_text: str
    notes: tuple[str, ...] = ()
    extent: tuple[float, float, float, float] | None = None   # 2-D points: heatmap bounds


@dataclass(frozen=True)
class StepMetrics:
    fold: int
    epoch: int                   # 1-based epoch this step belongs to
    step: int                    # global step within the fold, 1-based
    position: float              # epochs done, as a fraction: the shared x axis of the plots
    loss: float                  # cross-entropy of the batch (without the L1 penalty)
    accuracy: float
    lr: float
    penalty: float               # the L1 term added to the loss (0 without L1)
    samples_per_s: float
    eta_s: float
    progress: float              # 0…1 over the whole run (all folds)


@dataclass(frozen=True)
class EpochMetrics:
    fold: int
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    lr: float
    seconds: float
    best_epoch: int
    samples_per_s: float


@dataclass(frozen=True)
class LayerHistogram:
    name: str
    counts: np.ndarray           # weights per bin
    edges: np.ndarray            # len(counts) + 1, shared by all layers of a snapshot
    near_zero: float             # share of weights with |w| < NEAR_ZERO
    mean_abs: float


@dataclass(frozen=True)
class WeightSnapshot:
    fold: int
    epoch: int
    layers: tuple[LayerHistogram, ...]

    def near_zero(self) -> float:
        total = sum(float(h.counts.sum()) for h in self.layers)
        return sum(h.near_zero * float(h.counts.sum()) for h in self.layers) / max(total, 1)


@dataclass(frozen=True)
class BoundarySnapshot:
    """Class probabilities over a grid of the 2-D input plane, in eval() and train() mode."""

    fold: int
    epoch: int
    extent: tuple[float, float, float, float]
    eval_probs: np.ndarray       # (rows, cols, classes) float32; rows follow y
    train_probs: np.ndarray


@dataclass(frozen=True)
class ModeComparison:
    """The same validation batch through the model in train() and eval() mode."""

    fold: int
    epoch: int
    labels: np.ndarray
    eval_pred: np.ndarray
    train_pred: np.ndarray
    eval_confidence: np.ndarray
    train_confidence: np.ndarray
    eval_accuracy: float
    train_accuracy: float
    images: np.ndarray | None = None   # (N, H, W) or (N, H, W, 3) uint8 for image sets
    points: np.ndarray | None = None   # (N, 2) for 2-D sets

    @property
    def differ(self) -> int:
        return int((self.eval_pred != self.train_pred).sum())


@dataclass(frozen=True)
class RunEvent:
    """Something to mark on the plots: kind is "control" (a live change), "lr" (the
    scheduler dropped the LR), "best", "early_stop", "restore", "diverged",
    "out_of_memory" or "note"."""

    kind: str
    fold: int
    epoch: int
    position: float
    text: str
    name: str = ""
    old: float | None = None
    new: float | None = None


@dataclass(frozen=True)
class FoldFinished:
    fold: int
    folds: int
    best_epoch: int
    best_val_loss: float | None
    best_val_accuracy: float | None
    stop_epoch: int
    status: str


@dataclass(frozen=True)
class KFoldSummary:
    folds: int
    val_losses: tuple[float, ...]
    val_accuracies: tuple[float, ...]

    @property
    def mean_loss(self) -> float:
        return float(np.mean(self.val_losses))

    @property
    def std_loss(self) -> float:
        return float(np.std(self.val_losses))

    @property
    def mean_accuracy(self) -> float:
        return float(np.mean(self.val_accuracies))

    @property
    def std_accuracy(self) -> float:
        return float(np.std(self.val_accuracies))

    def text(self) -> str:
        return (f"{self.folds}-fold validation accuracy {100 * self.mean_accuracy:.1f}% "
                f"± {100 * self.std_accuracy:.1f}%, loss {self.mean_loss:.3f} "
                f"± {self.std_loss:.3f}")


@dataclass(frozen=True)
class RunFinished:
    status: str                  # see RUN_STATUSES
    message: str
    best_epoch: int = 0
    stop_epoch: int = 0
    #: the final weights (CPU tensors) of the last fold, for a checkpoint
    state_dict: dict[str, torch.Tensor] | None = field(default=None, repr=False)
