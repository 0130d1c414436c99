"""The training loop as a generator of plain dataclasses, and its configuration.

    cfg = TrainConfig(data=DataConfig("moons"), dropout=0.2, l1=1e-4, epochs=30)
    for item in train(cfg, should_stop, controls):
        ...   # DataProgress, RunStarted, StepMetrics, EpochMetrics, RunEvent, ...

What the course notes ask of training is all here, through torch itself:
- optimisers SGD (momentum, Nesterov), Adam, AdamW, RMSprop; L2 through `weight_decay`
  and L1 as an explicit penalty added to the loss (torch has no L1 option);
- schedulers StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau('min') on the
  validation loss; early stopping with patience, min delta and best-weight restore;
- dropout (torch's p is the probability of *dropping* a unit) and BatchNorm, with
  validation in `eval()` mode and the same batch shown in both modes;
- learning rate, dropout p and L1/L2 strength changeable while the run trains
  (`TrainControls`, read between batches), each change reported as an event;
- a NaN/inf loss stops the run with the last good epoch's weights and metrics; running
  out of memory is caught and explained; K-fold runs one fold after another.

Data is moved to the device once when it fits, and batches are indexed there, so a GPU is
not starved by a data loader. The dataclasses train() yields live in
`lab.training.events`, the measurements it takes for display in `lab.training.probes`; both are
importable from here. Nothing here knows about Qt.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lab import data as data_module
from lab import optim
from lab.data import DataConfig, DataProgress, Dataset, Split, as_float
from lab.device import DEVICE_CHOICES, describe_device, pick_device, place_model
from lab.models import ACTIVATIONS, ConnectivityNet, Flatten, NetConfig, small_cnn
from lab.optim import l1_penalty
from lab.training.events import (
    BoundarySnapshot,
    EpochMetrics,
    FoldFinished,
    KFoldSummary,
    LayerHistogram,
    ModeComparison,
    RunEvent,
    RunFinished,
    RunStarted,
    StepMetrics,
    WeightSnapshot,
)
from lab.training.probes import (
    BOUNDARY_SIDE,
    COMPARE_SAMPLES,
    NEAR_ZERO,
    boundary_grid,
    boundary_snapshot,
    compare_modes,
    evaluate,
    predict_both_modes,
    weight_layers,
    weight_snapshot,
)

__all__ = [  # what train() yields and the probes live in their own modules; import from here
    "ARCHITECTURES", "BOUNDARY_SIDE", "COMPARE_SAMPLES", "LIVE_SETTINGS", "NEAR_ZERO", "NORMS",
    "OPTIMIZERS", "SCHEDULERS", "SETTING_LABELS", "BoundarySnapshot", "DataProgress",
    "EpochMetrics", "FoldFinished", "KFoldSummary", "LayerHistogram", "ModeComparison",
    "RunEvent", "RunFinished", "RunStarted", "StepMetrics", "TrainConfig", "TrainControls",
    "WeightSnapshot", "boundary_grid", "boundary_snapshot", "build_model", "compare_modes",
    "describe_differences", "differing_settings", "evaluate", "flat_settings",
    "format_value", "l1_penalty", "make_optimizer", "make_scheduler", "predict_both_modes",
    "set_dropout", "state_problems", "train", "weight_layers", "weight_snapshot",
    "with_change",
]

ARCHITECTURES: dict[str, str] = {
    "mlp": "MLP — fully connected layers (images are flattened first)",
    "small_cnn": "Small CNN — two conv + pool stages and a classifier (images only)",
    "plain": "Plain net — layers in a chain (conv for images, linear for 2-D points)",
    "resnet": "ResNet-style — an identity shortcut around each block",
    "densenet": "DenseNet-style — every layer sees all earlier feature maps",
}
OPTIMIZERS: dict[str, str] = {name: optim.OPTIMIZERS[name]
                              for name in ("sgd", "adam", "adamw", "rmsprop")}
SCHEDULERS = optim.SCHEDULERS
#: the normalization layers a model can be built with (TrainConfig.norm)
NORMS: dict[str, str] = {"batch": "BatchNorm2d — statistics over the batch",
                         "group": "GroupNorm — statistics per sample, in groups of channels"}
RUN_STATUSES = ("running", "completed", "early_stopped", "stopped", "diverged",
                "out_of_memory", "failed", "interrupted")
#: settings that can change while a run trains, and how they are named to the user
LIVE_SETTINGS: dict[str, str] = {"lr": "learning rate", "dropout": "dropout p", "l1": "L1",
                                 "l2": "L2 (weight decay)"}
CONFIG_FORMAT = "visual-lab-train"
#: the train()-vs-eval() comparison costs two forward passes: at most this often
COMPARE_INTERVAL_S = 1.0


# =========================================================================== configuration

@dataclass(frozen=True)
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    # -- model
    arch: str = "mlp"
    depth: int = 2
    width: int = 32
    activation: str = "relu"
    #: torch's p: the probability of *dropping* (zeroing) a unit in training
    dropout: float = 0.0
    batchnorm: bool = False
    #: the normalization `batchnorm` inserts in the small CNN: "batch" (BatchNorm2d) or
    #: "group" (GroupNorm, independent of the batch size: the Normalization panel's
    #: small-batch experiment compares the two)
    norm: str = "batch"
    # -- optimisation
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    batch_size: int = 32
    epochs: int = 40
    #: strength of the L1 penalty λ·Σ|w| added to the loss
    l1: float = 0.0
    #: L2 through the optimiser's weight_decay
    l2: float = 0.0
    # -- learning-rate schedule
    scheduler: str = "none"
    step_size: int = 10
    gamma: float = 0.5
    plateau_patience: int = 3
    plateau_factor: float = 0.5
    # -- early stopping
    early_stopping: bool = False
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    # -- validation and running
    #: 1 = hold-out validation (data.val_fraction); 2…10 = K-fold cross-validation
    kfold: int = 1
    device: str = "auto"
    seed: int = 0
    #: an augmentation pipeline spec (Augmentation panel JSON), applied to training images
    augment: dict | None = None

    def validate(self) -> list[str]:
        """Human-readable problems; empty when the run can start."""
        problems = list(self.data.validate())
        choices = (("arch", ARCHITECTURES), ("optimizer", OPTIMIZERS),
                   ("scheduler", SCHEDULERS), ("activation", ACTIVATIONS))
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                problems.append(f"unknown {name} {getattr(self, name)!r}; choose one of "
                                f"{', '.join(allowed)}")
        if self.device not in DEVICE_CHOICES:
            problems.append(f"device must be one of {', '.join(DEVICE_CHOICES)}")
        for name, low, high in (("depth", 1, 32), ("width", 1, 1024), ("batch_size", 1, 8192),
                                ("epochs", 1, 10_000), ("step_size", 1, 10_000),
                                ("plateau_patience", 0, 1000), ("patience", 1, 1000),
                                ("kfold", 1, data_module.MAX_KFOLD)):
            value = getattr(self, name)
            if not low <= value <= high:
                problems.append(f"{name.replace('_', ' ')} must be between {low} and {high} "
                                f"(got {value})")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout p must be in [0, 1): torch's p is the probability of "
                            f"dropping a unit, and p = 1 drops them all (got {self.dropout})")
        if not (0.0 < self.lr <= 100.0) or not math.isfinite(self.lr):
            problems.append(f"learning rate must be above 0 and at most 100 (got {self.lr})")
        if not 0.0 <= self.momentum < 1.0:
            problems.append(f"momentum must be in [0, 1) (got {self.momentum})")
        if self.nesterov and self.optimizer == "sgd" and self.momentum == 0:
            problems.append("Nesterov momentum needs momentum above 0")
        for name in ("l1", "l2"):
            value = getattr(self, name)
            if not 0.0 <= value <= 10.0:
                problems.append(f"{name.upper()} strength must be between 0 and 10 "
                                f"(got {value})")
        if not 0.0 < self.gamma <= 1.0:
            problems.append(f"γ (gamma) must be in (0, 1] (got {self.gamma})")
        if not 0.0 < self.plateau_factor < 1.0:
            problems.append(f"plateau factor must be in (0, 1) (got {self.plateau_factor})")
        if self.min_delta < 0:
            problems.append(f"min delta must be 0 or more (got {self.min_delta})")
        if not 0 <= self.seed <= data_module.MAX_SEED:
            problems.append(f"seed must be between 0 and {data_module.MAX_SEED:,} "
                            f"(got {self.seed})")
        if self.kfold == 1 and self.data.val_fraction == 0:
            if self.early_stopping:
                problems.append("early stopping watches the validation loss: set a validation "
                                "fraction above 0 (or use K-fold)")
            if self.scheduler == "plateau":
                problems.append("ReduceLROnPlateau watches the validation loss: set a "
                                "validation fraction above 0 (or use K-fold)")
        if self.data.is_points:
            if self.arch == "small_cnn":
                problems.append("the small CNN needs images: 2-D points have no pixels to "
                                "convolve — pick an image data set or another model")
            if self.augment is not None:
                problems.append("augmentation transforms images; 2-D points have no pixels "
                                "to flip or rotate — clear the pipeline or pick an image set")
        if self.augment is not None and not isinstance(self.augment, dict):
            problems.append("the augmentation pipeline must be a JSON object")
        if self.norm not in NORMS:
            problems.append(f"unknown norm {self.norm!r}; choose one of {', '.join(NORMS)}")
        elif self.batchnorm and self.norm != "batch" and self.arch != "small_cnn":
            problems.append("GroupNorm is offered in the small CNN only; the other models "
                            "use BatchNorm")
        if self.batchnorm and self.norm == "batch" and self.batch_size < 2:
            problems.append("BatchNorm normalizes each feature over the batch: a batch of one "
                            "has nothing to normalize — use batch size 2 or more")
        if self.batchnorm and self.norm == "batch" and self.data.train_size == 1:
            problems.append("BatchNorm normalizes each feature over the batch: it needs at "
                            "least 2 training samples (training size is 1)")
        if self.arch in ("resnet", "densenet") and self.depth < 2:
            problems.append(f"{self.arch} needs depth 2 or more (two blocks of layers)")
        return problems

    # -- JSON ------------------------------------------------------------------------
    def to_json(self) -> dict:
        values = asdict(self)
        values["format"] = CONFIG_FORMAT
        return values

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_json(cls, values: dict | str) -> TrainConfig:
        """Read `to_json()`'s output; missing settings take their defaults (older files),
        unknown ones are refused."""
        if isinstance(values, str):
            try:
                values = json.loads(values)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a training configuration (bad JSON: {exc})") from exc
            except RecursionError as exc:
                raise ValueError("not a training configuration (nested too deeply)") from exc
        if not isinstance(values, dict):
            raise ValueError("a training configuration is a JSON object")
        values = dict(values)
        kind = values.pop("format", CONFIG_FORMAT)
        if kind != CONFIG_FORMAT:
            raise ValueError(f"not a training configuration (format {kind!r})")
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        data = values.pop("data", {})
        if not isinstance(data, dict):
            raise ValueError("the data settings must be a JSON object")
        if values.get("augment") is not None and not isinstance(values["augment"], dict):
            raise ValueError("the augmentation setting must be a pipeline (a JSON object)")
        try:
            return cls(data=DataConfig.from_json(data),
                       **data_module.typed_fields(cls, values))
        except TypeError as exc:
            raise ValueError(f"bad training configuration: {exc}") from exc

    def uses(self, name: str) -> bool:
        """Whether a setting means anything with the others as they are."""
        return {
            "momentum": self.optimizer in ("sgd", "rmsprop"),
            "nesterov": self.optimizer == "sgd",
            "depth": self.arch != "small_cnn",
            "activation": self.arch != "small_cnn",
            "norm": self.batchnorm and self.arch == "small_cnn",
            "step_size": self.scheduler == "step",
            "gamma": self.scheduler in ("step", "exponential"),
            "plateau_patience": self.scheduler == "plateau",
            "plateau_factor": self.scheduler == "plateau",
            "patience": self.early_stopping,
            "min_delta": self.early_stopping,
            "restore_best": self.early_stopping,
        }.get(name, True)


#: every setting a run list can show or a duplicate can change: path -> label
SETTING_LABELS: dict[str, str] = {
    "data.source": "data", "data.samples": "samples", "data.noise": "noise",
    "data.classes": "classes", "data.image_size": "image size", "data.folder": "folder",
    "data.download": "download", "data.grayscale": "grey", "data.train_size": "train size",
    "data.val_fraction": "val fraction", "data.seed": "data seed",
    "arch": "model", "depth": "depth", "width": "width", "activation": "activation",
    "dropout": "dropout", "batchnorm": "BatchNorm", "norm": "norm layer", "optimizer": "optimizer",
    "lr": "LR", "momentum": "momentum", "nesterov": "Nesterov", "batch_size": "batch",
    "epochs": "epochs", "l1": "L1", "l2": "L2", "scheduler": "schedule",
    "step_size": "step size", "gamma": "γ", "plateau_patience": "plateau patience",
    "plateau_factor": "plateau factor", "early_stopping": "early stop",
    "patience": "patience", "min_delta": "min Δ", "restore_best": "restore best",
    "kfold": "folds", "device": "device", "seed": "seed", "augment": "augmentation",
}


def flat_settings(cfg: TrainConfig) -> dict[str, Any]:
    """{"data.source": "moons", ..., "dropout": 0.5, ...} — one level, for comparing."""
    values = {f"data.{k}": v for k, v in asdict(cfg.data).items()}
    for f in fields(cfg):
        if f.name != "data":
            values[f.name] = getattr(cfg, f.name)
    return values


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) < 1e-3 or abs(value) >= 1e4:
            return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
        return f"{value:g}"
    if isinstance(value, dict):
        steps = [s.get("name", "?") for s in value.get("steps", []) if s.get("enabled", True)]
        return "+".join(steps) if steps else "empty pipeline"
    if value is None:
        return "none"
    return str(value)


def differing_settings(configs: list[TrainConfig]) -> list[str]:
    """Setting paths whose values are not all equal across `configs`."""
    if len(configs) < 2:
        return []
    flats = [flat_settings(c) for c in configs]
    # a data setting one of the sources ignores (noise for digits) is no difference
    used = [key for key in flats[0]
            if not key.startswith("data.") or all(c.data.uses(key[5:]) for c in configs)]
    return [key for key in used if any(f[key] != flats[0][key] for f in flats[1:])]


TITLE_NAMES = 4  # a comparison's title names at most this many settings


def describe_differences(configs: list[TrainConfig]) -> tuple[str, list[str]]:
    """(title, one label per config) saying what differs: ("dropout 0.5 vs 0",
    ["dropout 0.5", "dropout 0"]). Identical settings give "same settings"."""
    keys = differing_settings(configs)
    if not keys:
        return ("same settings" if len(configs) > 1 else "", ["same settings"] * len(configs))
    flats = [flat_settings(c) for c in configs]
    labels = [", ".join(f"{SETTING_LABELS.get(k, k)} {format_value(f[k])}" for k in keys)
              for f in flats]
    if len(keys) == 1:
        values = " vs ".join(dict.fromkeys(format_value(f[keys[0]]) for f in flats))
        title = f"{SETTING_LABELS.get(keys[0], keys[0])} {values}"
    elif len(keys) == 2 and len(configs) == 2:
        title = " vs ".join(dict.fromkeys(labels))
    else:  # every value of every run would be a paragraph: the names; labels give values
        names = [SETTING_LABELS.get(k, k) for k in keys]
        if len(names) > TITLE_NAMES:
            names = [*names[:TITLE_NAMES - 1], f"{len(names) - TITLE_NAMES + 1} more settings"]
        title = ", ".join(names[:-1]) + " and " + names[-1]
    return title, labels


def with_change(cfg: TrainConfig, path: str, value: Any) -> TrainConfig:
    """A copy of `cfg` with one setting changed ("dropout", "data.train_size", ...); the
    value is converted to the setting's type (ValueError if it can't be)."""
    current = flat_settings(cfg)
    if path not in current or path == "augment":
        raise ValueError(f"no setting {path!r} to change")
    old = current[path]
    converted = _convert_like(old, value, SETTING_LABELS.get(path, path))
    if path.startswith("data."):
        return replace(cfg, data=replace(cfg.data, **{path[5:]: converted}))
    return replace(cfg, **{path: converted})


def _convert_like(old: Any, value: Any, label: str) -> Any:
    try:
        if isinstance(old, bool):
            if isinstance(value, str):
                text = value.strip().lower()
                if text not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return text in ("on", "true", "1", "yes")
            return bool(value)
        if isinstance(old, int):
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if isinstance(old, float):
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
    except (TypeError, ValueError):
        kind = "on/off" if isinstance(old, bool) else type(old).__name__
        raise ValueError(f"{label} needs a{'n' if kind[0] in 'aeiou' else ''} {kind} value, "
                         f"not {value!r}") from None
    return str(value)


def live_setting_problem(name: str, value: float) -> str:
    if name not in LIVE_SETTINGS:
        return f"{name!r} cannot change during a run (live: {', '.join(LIVE_SETTINGS)})"
    if not math.isfinite(value):
        return f"{LIVE_SETTINGS[name]} must be a finite number"
    if name == "lr" and not 0 < value <= 100:
        return f"learning rate must be above 0 and at most 100 (got {value})"
    if name == "dropout" and not 0 <= value < 1:
        return f"dropout p must be in [0, 1) (got {value})"
    if name in ("l1", "l2") and not 0 <= value <= 10:
        return f"{name.upper()} strength must be between 0 and 10 (got {value})"
    return ""


class TrainControls:
    """Settings changed while a run trains. The GUI calls `set`; the training thread
    `take`s the pending changes between batches. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, float] = {}

    def set(self, name: str, value: float) -> None:
        problem = live_setting_problem(name, float(value))
        if problem:
            raise ValueError(problem)
        with self._lock:
            self._pending[name] = float(value)

    def take(self) -> dict[str, float]:
        if not self._pending:
            return {}
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending


# =========================================================================== models

def build_model(cfg: TrainConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The model `cfg` names for inputs of `input_shape`, dropout layers always present
    (p = cfg.dropout, possibly 0) so p can change while it trains."""
    points = len(input_shape) == 1
    # Built with p > 0 so ConnectivityNet includes its Dropout layers; p is set after.
    build_p = cfg.dropout if cfg.dropout > 0 else 0.5
    if cfg.arch == "small_cnn":
        if points:
            raise ValueError("the small CNN needs images")
        model: nn.Module = small_cnn(input_shape[0], num_classes, cfg.width, build_p,
                                     cfg.batchnorm, cfg.norm)
    elif cfg.arch == "mlp" and not points:
        features = int(np.prod(input_shape))
        model = nn.Sequential(Flatten(), ConnectivityNet(NetConfig(
            "plain", "dense", cfg.depth, cfg.width, in_channels=features,
            num_classes=num_classes, activation=cfg.activation, batchnorm=cfg.batchnorm,
            dropout=build_p)))
    else:
        pattern = "plain" if cfg.arch == "mlp" else cfg.arch
        model = ConnectivityNet(NetConfig(
            pattern, "dense" if points else "conv", cfg.depth, cfg.width,
            growth_rate=max(4, cfg.width // 2), blocks=min(2, cfg.depth),
            in_channels=input_shape[0], num_classes=num_classes, activation=cfg.activation,
            batchnorm=cfg.batchnorm, dropout=build_p))
    set_dropout(model, cfg.dropout)
    return model


def set_dropout(model: nn.Module, p: float) -> int:
    """Set p of every dropout layer; returns how many there are."""
    count = 0
    for module in model.modules():
        if isinstance(module, nn.Dropout | nn.Dropout1d | nn.Dropout2d | nn.Dropout3d):
            module.p = float(p)
            count += 1
    return count


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    return optim.make_optimizer(cfg.optimizer, params, lr=cfg.lr, momentum=cfg.momentum,
                                nesterov=cfg.nesterov, weight_decay=cfg.l2)


def make_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer):
    return optim.make_scheduler(cfg.scheduler, optimizer, step_size=cfg.step_size,
                                gamma=cfg.gamma, t_max=cfg.epochs,
                                plateau_factor=cfg.plateau_factor,
                                plateau_patience=cfg.plateau_patience)


def state_problems(model: nn.Module, state_dict: dict[str, torch.Tensor],
                   limit: int = 3) -> list[str]:
    """Why `state_dict` does not fit `model` (missing / unexpected / wrong-shape weights);
    empty when it loads."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    problems = []
    for title, items in (("missing weights", missing), ("unexpected weights", unexpected),
                         ("wrong shapes", shapes)):
        if items:
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            problems.append(f"{title}: {', '.join(items[:limit])}{more}")
    return problems


# =========================================================================== the loop

def _never() -> bool:
    return False


class _PendingStep(NamedTuple):
    """A trained step whose numbers are still on the device (read at the next sync)."""

    loss: torch.Tensor
    out: torch.Tensor  # the model's output, detached: accuracy is counted at the sync
    labels: torch.Tensor
    penalty: torch.Tensor | None
    size: int
    epoch: int
    step: int
    lr: float


class DivergedError(Exception):
    pass


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text
                                              or "can't allocate memory" in text)


def train(cfg: TrainConfig, should_stop: Callable[[], bool] = _never,
          controls: TrainControls | None = None,
          initial_state: dict[str, torch.Tensor] | None = None,
          extras_interval: float = 0.2) -> Iterator[Any]:
    """Train as `cfg` says, yielding what happens as plain dataclasses.

    `should_stop()` is checked between batches (it may block while paused);
    `controls` carries live changes; `initial_state` starts from saved weights;
    weight histograms, decision boundaries and the train/eval comparison are measured at
    most every `extras_interval` seconds (and after the last epoch), without touching
    the training's random numbers. Bad settings raise ValueError before anything runs.
    """
    problems = cfg.validate()
    if problems:
        raise ValueError("; ".join(problems))
    device = pick_device(cfg.device)
    yield DataProgress(f"Preparing {cfg.data.source}…")
    dataset = yield from data_module.prepare(cfg.data, should_stop)
    if dataset is None:
        yield RunFinished("stopped", "Stopped while the data was being prepared.")
        return
    run = _Run(cfg, dataset, device, should_stop, controls or TrainControls(), initial_state,
               extras_interval)
    threads = torch.get_num_threads()
    if dataset.is_points:
        # nets on 2-D points are small: waking a second thread costs more than it saves,
        # and on a busy machine many times more (the count is this thread's own)
        torch.set_num_threads(1)
    try:
        yield from run.execute()
    finally:
        torch.set_num_threads(threads)


class _Run:
    def __init__(self, cfg: TrainConfig, dataset: Dataset, device: torch.device,
                 should_stop: Callable[[], bool], controls: TrainControls,
                 initial_state: dict | None, extras_interval: float) -> None:
        self.cfg = cfg
        self.dataset = dataset
        self.device = device
        self._should_stop = should_stop
        self.controls = controls
        self.initial_state = initial_state
        self.extras_interval = extras_interval
        self.paused = 0.0
        self.l1 = cfg.l1
        self.dropout = cfg.dropout
        self.lr = cfg.lr
        #: where each fold's LR starts: the configured value, or the last one set live
        self.start_lr = cfg.lr
        self.l2 = cfg.l2
        self.sync_every = 1 if device.type == "cpu" else 16
        self.last_comparison = -math.inf
        self.epoch_loss_sum = self.epoch_correct = 0.0
        self.epoch_seen = 0
        self.epoch_done = self.best_epoch = 0

    # -- helpers ---------------------------------------------------------------------
    def should_stop(self) -> bool:
        started = time.perf_counter()
        stop = self._should_stop()
        waited = time.perf_counter() - started
        if waited > 0.05:  # paused (the worker waits in 50 ms slices): not training time
            self.paused += waited
        return stop

    def _splits(self) -> list[Split]:
        labels = self.dataset.y.numpy()
        data = self.cfg.data
        if self.cfg.kfold >= 2:
            return data_module.kfold_splits(labels, self.cfg.kfold, data.seed, data.train_size)
        return [data_module.holdout_split(labels, data.val_fraction, data.train_size, data.seed)]

    def _steps(self, n_train: int) -> int:
        """Batches per epoch. With BatchNorm a lone last sample joins the batch before it:
        a batch of one has no batch statistics (torch refuses it in training mode)."""
        size = self.cfg.batch_size
        if self.cfg.batchnorm and self.cfg.norm == "batch":
            if n_train < 2:
                raise ValueError("BatchNorm needs at least 2 training samples per batch, and "
                                 f"this split has {n_train}: use more data or fewer folds")
            if n_train % size == 1:
                return n_train // size
        return math.ceil(n_train / size)

    def _place(self) -> tuple[torch.Tensor, torch.Tensor, bool, str]:
        """The data on the device if it fits, else in pinned CPU memory."""
        x, y = self.dataset.x, self.dataset.y
        size_mb = self.dataset.nbytes() / 2**20
        if self.device.type == "cpu":
            return x, y, True, ""
        if self.device.type == "cuda":
            free, _total = torch.cuda.mem_get_info(self.device)
            fits = self.dataset.nbytes() < 0.4 * free
        else:
            fits = self.dataset.nbytes() < 2 * 2**30
        if fits:
            return (x.to(self.device), y.to(self.device), True,
                    f"data preloaded to {self.device.type.upper()} memory ({size_mb:.0f} MB)")
        return (x.pin_memory() if self.device.type == "cuda" else x, y, False,
                f"data ({size_mb:.0f} MB) does not fit in device memory: batches are copied "
                "from pinned CPU memory")

    def _augmentation(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        if self.cfg.augment is None:
            return None
        if self.dataset.is_points:
            raise ValueError("augmentation transforms images; 2-D points have no pixels")
        from lab import augment  # torchvision.transforms.v2: imported only when used

        try:
            transform = augment.build_transform(self.cfg.augment)
        except Exception as exc:  # noqa: BLE001 - the user's pipeline, reported as such
            raise ValueError(f"the augmentation pipeline cannot be built: {exc}") from exc
        sample = as_float(self.dataset.x[:1].to(self.device))[0]
        try:
            out = transform(sample)
        except Exception as exc:  # noqa: BLE001
            shape = "×".join(map(str, sample.shape))
            raise ValueError(f"the augmentation pipeline fails on a {shape} training image: "
                             f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(out, torch.Tensor) or out.shape != sample.shape:
            got = "×".join(map(str, getattr(out, "shape", ()))) or type(out).__name__
            want = "×".join(map(str, sample.shape))
            raise ValueError(f"the augmentation pipeline turns a {want} image into {got}; "
                             f"the model needs {want} — make its crops/resizes produce "
                             f"{sample.shape[-2]}×{sample.shape[-1]}")

        def apply(batch: torch.Tensor) -> torch.Tensor:
            return torch.stack([transform(image) for image in batch])

        return apply

    # -- the run ---------------------------------------------------------------------
    def execute(self) -> Iterator[Any]:
        cfg, dataset = self.cfg, self.dataset
        self.augment = self._augmentation()
        splits = self._splits()
        self.x, self.y, self.preloaded, place_note = self._place()
        self.steps_per_epoch = [self._steps(len(s.train)) for s in splits]
        self.total_steps = sum(n * cfg.epochs for n in self.steps_per_epoch)
        self.steps_done = 0
        self.samples_done = 0
        self.started = time.perf_counter()
        torch.manual_seed(cfg.seed)
        probe = build_model(cfg, dataset.input_shape, dataset.num_classes)
        notes = tuple(dataset.notes) + splits[0].notes + ((place_note,) if place_note else ())
        if self.augment is not None:
            notes += ("augmentation applied to training batches only",)
        self.extent = dataset.extent() if dataset.is_points else None
        yield RunStarted(
            self.device.type, describe_device(self.device), dataset.name, dataset.kind,
            tuple(dataset.class_names), dataset.input_shape, len(splits[0].train),
            len(splits[0].val), len(splits), cfg.epochs, self.steps_per_epoch[0],
            self.total_steps, sum(p.numel() for p in probe.parameters()),
            _model_text(probe), notes, self.extent)
        del probe
        val_losses, val_accuracies = [], []
        finished: RunFinished | None = None
        for split in splits:
            try:
                outcome = yield from self._fold(split)
            except DivergedError as exc:
                finished = RunFinished("diverged", str(exc), self.best_epoch,
                                       self.epoch_done, self._cpu_state())
                break
            except Exception as exc:
                if not _is_out_of_memory(exc):
                    raise
                finished = self._out_of_memory(exc, split.fold)
                yield RunEvent("out_of_memory", split.fold, self.epoch_done,
                               float(self.epoch_done), finished.message)
                break
            if outcome.status == "stopped":
                finished = RunFinished("stopped", f"Stopped by you at epoch {self.epoch_done}"
                                       + (f" of fold {split.fold + 1}" if len(splits) > 1
                                          else "") + ".", self.best_epoch, self.epoch_done,
                                       self._cpu_state())
                break
            if outcome.best_val_loss is not None:
                val_losses.append(outcome.best_val_loss)
                val_accuracies.append(outcome.best_val_accuracy)
            if len(splits) == 1:
                message = (f"Early stopping at epoch {outcome.stop_epoch}: the validation loss "
                           f"had not improved for {cfg.patience} epochs; best epoch "
                           f"{outcome.best_epoch}." if outcome.status == "early_stopped" else
                           f"Finished {outcome.stop_epoch} epochs.")
                finished = RunFinished(outcome.status, message, outcome.best_epoch,
                                       outcome.stop_epoch, self._cpu_state())
        if finished is None:  # every fold of a K-fold run completed
            summary = KFoldSummary(len(splits), tuple(val_losses), tuple(val_accuracies))
            yield summary
            finished = RunFinished("completed", f"All {len(splits)} folds trained: "
                                   f"{summary.text()}.", self.best_epoch, self.epoch_done,
                                   self._cpu_state())
        yield finished

    def _out_of_memory(self, exc: BaseException, fold: int) -> RunFinished:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        where = "GPU" if self.device.type != "cpu" else "computer"
        message = (f"The {where} ran out of memory at epoch {self.epoch_done + 1} "
                   f"(batch size {self.cfg.batch_size}, width {self.cfg.width}, depth "
                   f"{self.cfg.depth}). Try a smaller batch size, a narrower or shallower "
                   f"model, smaller images, or the CPU device. ({str(exc).splitlines()[0]})")
        return RunFinished("out_of_memory", message, self.best_epoch, self.epoch_done,
                           self._cpu_state())

    def _cpu_state(self) -> dict[str, torch.Tensor] | None:
        model = getattr(self, "model", None)
        if model is None:
            return None
        return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def _fold(self, split: Split) -> Iterator[Any]:
        cfg, device = self.cfg, self.device
        fold = split.fold
        self.epoch_done = 0
        self.best_epoch = 0
        torch.manual_seed(cfg.seed)
        model = build_model(cfg, self.dataset.input_shape, self.dataset.num_classes)
        if self.initial_state is not None:
            problems = state_problems(model, self.initial_state)
            if problems:
                raise ValueError("the starting weights do not fit this model ("
                                 + "; ".join(problems) + "): load the checkpoint's own "
                                 "settings, or start from fresh weights")
            model.load_state_dict(self.initial_state)
        model = place_model(model, device)
        # the current live values carry into later folds
        set_dropout(model, self.dropout)
        self.model = model
        optimizer = make_optimizer(cfg, model.parameters())
        for group in optimizer.param_groups:
            group["lr"], group["weight_decay"] = self.start_lr, self.l2
        self.lr = self.start_lr
        scheduler = make_scheduler(cfg, optimizer)
        self.optimizer, self.scheduler = optimizer, scheduler

        index_device = self.x.device
        train_idx = torch.as_tensor(split.train, dtype=torch.long)
        val_idx = torch.as_tensor(split.val, dtype=torch.long).to(index_device)
        x_val, y_val = self.x[val_idx], self.y[val_idx]
        if not self.preloaded:
            x_val, y_val = x_val.to(device), y_val.to(device)
        # train() mode with BatchNorm needs 2+ samples: a lone validation sample won't do
        shown = (val_idx[:COMPARE_SAMPLES] if len(val_idx) >= 2
                 else train_idx[:COMPARE_SAMPLES].to(index_device))
        x_show, y_show = self.x[shown].to(device), self.y[shown].to(device)
        order = torch.Generator().manual_seed(cfg.seed * 1009 + fold)
        steps = self.steps_per_epoch[fold]
        n_train = len(train_idx)

        best_loss = math.inf
        best_val_accuracy: float | None = None
        best_state = None
        last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
        wait = 0
        status = "completed"
        last_extras = -math.inf
        step = 0
        for epoch in range(1, cfg.epochs + 1):
            epoch_started = time.perf_counter()
            model.train()
            perm = train_idx[torch.randperm(n_train, generator=order)].to(index_device)
            loss_sum = 0.0
            correct_sum = 0.0
            seen = 0
            pending: list[_PendingStep] = []
            for batch in range(steps):
                if self.should_stop():
                    status = "stopped"
                    break
                yield from self._apply_controls(fold, epoch, batch / steps)
                # the last batch takes whatever is left (see _steps)
                end = n_train if batch == steps - 1 else (batch + 1) * cfg.batch_size
                idx = perm[batch * cfg.batch_size:end]
                xb, yb = self.x[idx], self.y[idx]
                if not self.preloaded:
                    xb = xb.to(device, non_blocking=True)
                    yb = yb.to(device, non_blocking=True)
                xb = as_float(xb)
                if self.augment is not None:
                    xb = self.augment(xb)
                out = model(xb)
                loss = F.cross_entropy(out, yb)
                total = loss
                penalty = None
                if self.l1 > 0:
                    penalty = self.l1 * l1_penalty(model)
                    total = loss + penalty
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                step += 1
                # accuracy is counted at the next sync, for all pending steps at once
                # (on a GPU, three small kernels a step cost ~3 % of a fast run)
                pending.append(_PendingStep(
                    loss.detach(), out.detach(), yb,
                    penalty.detach() if penalty is not None else None, len(idx), epoch, step,
                    optimizer.param_groups[0]["lr"]))
                if len(pending) >= self.sync_every or batch == steps - 1:
                    yield from self._drain(pending, fold, steps, model, last_good)
                    pending = []
            if pending:  # stopped mid-epoch with steps not yet measured
                yield from self._drain(pending, fold, steps, model, last_good)
            loss_sum += self.epoch_loss_sum
            correct_sum += self.epoch_correct
            seen += self.epoch_seen
            self.epoch_loss_sum = self.epoch_correct = 0.0
            self.epoch_seen = 0
            if status == "stopped":
                break
            self.epoch_done = epoch
            if len(x_val):
                val_loss, val_accuracy = evaluate(model, x_val, y_val)
            else:
                val_loss = val_accuracy = None
            if val_loss is not None and not math.isfinite(val_loss):
                model.load_state_dict(last_good)
                self.epoch_done = epoch - 1
                yield RunEvent("diverged", fold, epoch, float(epoch),
                               f"validation loss became {val_loss} at epoch {epoch}")
                raise DivergedError(
                    f"The validation loss became {val_loss} at epoch {epoch}: the learning "
                    f"rate ({optimizer.param_groups[0]['lr']:g}) is probably too high. The run "
                    f"stopped; the curves keep the last good values and "
                    f"{_weights_after(epoch - 1)}.")
            position = float(epoch)
            lr_before = optimizer.param_groups[0]["lr"]
            if scheduler is not None:
                if cfg.scheduler == "plateau":
                    if val_loss is not None:
                        scheduler.step(val_loss)
                else:
                    scheduler.step()
            lr_after = optimizer.param_groups[0]["lr"]
            self.lr = lr_after
            monitored = val_loss if val_loss is not None else loss_sum / max(seen, 1)
            improved = monitored < best_loss - cfg.min_delta
            if improved:
                best_loss, self.best_epoch = monitored, epoch
                best_val_accuracy = val_accuracy
                wait = 0
                if cfg.early_stopping and cfg.restore_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                wait += 1
            last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elapsed = self._active_seconds()
            yield EpochMetrics(fold, epoch, loss_sum / max(seen, 1), correct_sum / max(seen, 1),
                               val_loss, val_accuracy, lr_before,
                               time.perf_counter() - epoch_started, self.best_epoch,
                               self.samples_done / max(elapsed, 1e-9))
            if lr_after != lr_before and cfg.scheduler in ("step", "plateau"):
                why = (f"val loss flat for {cfg.plateau_patience + 1} epochs"
                       if cfg.scheduler == "plateau" else f"every {cfg.step_size} epochs")
                yield RunEvent("lr", fold, epoch, position,
                               f"{SCHEDULERS[cfg.scheduler].split(' — ')[0]}: LR "
                               f"{lr_before:.3g} → {lr_after:.3g} ({why})", "lr",
                               lr_before, lr_after)
            stop_now = cfg.early_stopping and wait >= cfg.patience
            last = stop_now or epoch == cfg.epochs
            now = time.perf_counter()
            if last or now - last_extras >= self.extras_interval:
                last_extras = now
                yield from self._extras(model, fold, epoch, x_show, y_show, last)
            if stop_now:
                status = "early_stopped"
                yield RunEvent("early_stop", fold, epoch, position,
                               f"early stop at epoch {epoch}: no improvement of the validation "
                               f"loss for {cfg.patience} epochs (best epoch {self.best_epoch})")
                if best_state is not None:
                    model.load_state_dict(best_state)
                    yield RunEvent("restore", fold, epoch, float(self.best_epoch),
                                   f"restored the weights of epoch {self.best_epoch} "
                                   f"(val loss {best_loss:.4f})")
                    yield from self._extras(model, fold, epoch, x_show, y_show, True)
                break
        best_val_loss = best_loss if len(x_val) and math.isfinite(best_loss) else None
        outcome = FoldFinished(fold, len(self.steps_per_epoch), self.best_epoch, best_val_loss,
                               best_val_accuracy, self.epoch_done, status)
        if status != "stopped":
            yield outcome
        return outcome

    def _extras(self, model: nn.Module, fold: int, epoch: int, x_show: torch.Tensor,
                y_show: torch.Tensor, last: bool = False) -> Iterator[Any]:
        yield weight_snapshot(model, fold, epoch)
        now = time.perf_counter()
        # two extra forward passes: a view a learner toggles, so at most once a second
        if len(x_show) and (last or now - self.last_comparison >= COMPARE_INTERVAL_S):
            self.last_comparison = now
            yield compare_modes(model, x_show, y_show, self.device, fold, epoch)
        if self.extent is not None:
            yield boundary_snapshot(model, self.extent, self.device, fold, epoch)

    def _active_seconds(self) -> float:
        return time.perf_counter() - self.started - self.paused

    def _drain(self, pending: list[_PendingStep], fold: int, steps: int, model: nn.Module,
               last_good: dict[str, torch.Tensor]) -> Iterator[Any]:
        """Yield the recorded steps' metrics; a non-finite loss restores the last good
        weights and raises DivergedError (after the good steps went out)."""
        for item, n in zip(self._flush(pending, fold, steps), (p.size for p in pending),
                           strict=True):
            if not math.isfinite(item.loss):
                model.load_state_dict(last_good)
                self.epoch_done = item.epoch - 1
                yield RunEvent("diverged", fold, item.epoch, item.position,
                               f"loss became {item.loss} at epoch {item.epoch}")
                raise DivergedError(
                    f"The loss became {item.loss} at epoch {item.epoch}, step {item.step}: "
                    f"the learning rate ({item.lr:g}) is probably too high. The run stopped; "
                    f"the curves keep the last good values and {_weights_after(item.epoch - 1)}.")
            self.epoch_loss_sum += item.loss * n
            self.epoch_correct += item.accuracy * n
            self.epoch_seen += n
            yield item

    def _flush(self, pending: list[_PendingStep], fold: int, steps: int
               ) -> list[StepMetrics]:
        """Turn the recorded steps into numbers (one device sync for the lot)."""
        sizes = [p.size for p in pending]
        hits = (torch.cat([p.out for p in pending]).argmax(1)
                == torch.cat([p.labels for p in pending])).float()
        # each step's number of right answers: a segment sum over the concatenated batches
        segment = torch.from_numpy(np.repeat(np.arange(len(pending)), sizes))
        corrects_t = torch.zeros(len(pending), device=hits.device).index_add_(
            0, segment.to(hits.device), hits)
        losses, corrects = torch.stack([torch.stack([p.loss for p in pending]).float(),
                                        corrects_t]).tolist()
        with_penalty = [p.penalty for p in pending if p.penalty is not None]
        values = iter(torch.stack(with_penalty).float().tolist() if with_penalty else [])
        penalties = [next(values) if p.penalty is not None else 0.0 for p in pending]
        self.steps_done += len(pending)
        self.samples_done += sum(sizes)
        elapsed = self._active_seconds()
        rate = self.samples_done / max(elapsed, 1e-9)
        remaining = self.total_steps - self.steps_done
        eta = elapsed / max(self.steps_done, 1) * remaining
        progress = self.steps_done / max(self.total_steps, 1)
        out = []
        for p, loss, correct, penalty in zip(pending, losses, corrects, penalties, strict=True):
            position = (p.epoch - 1) + (p.step - (p.epoch - 1) * steps) / steps
            out.append(StepMetrics(fold, p.epoch, p.step, position, loss, correct / p.size, p.lr,
                                   penalty, rate, eta, progress))
        return out

    def _apply_controls(self, fold: int, epoch: int, fraction: float) -> list[RunEvent]:
        changes = self.controls.take()
        events = []
        position = (epoch - 1) + fraction
        for name, new in changes.items():
            old = {"lr": self.lr, "dropout": self.dropout, "l1": self.l1, "l2": self.l2}[name]
            if new == old:
                continue
            if name == "lr":
                self.lr = self.start_lr = new
                for group in self.optimizer.param_groups:
                    group["lr"] = new
                if self.scheduler is not None and hasattr(self.scheduler, "base_lrs"):
                    self.scheduler.base_lrs = [new] * len(self.optimizer.param_groups)
            elif name == "dropout":
                self.dropout = new
                set_dropout(self.model, new)
            elif name == "l1":
                self.l1 = new
            elif name == "l2":
                self.l2 = new
                for group in self.optimizer.param_groups:
                    group["weight_decay"] = new
            events.append(RunEvent("control", fold, epoch, position,
                                   f"{LIVE_SETTINGS[name]} {format_value(old)} → "
                                   f"{format_value(new)}", name, old, new))
        return events


def _weights_after(epoch: int) -> str:
    if epoch <= 0:
        return "the weights are back to their initial values"
    return f"the weights are those after epoch {epoch}"


def _model_text(model: nn.Module) -> str:
    layers = sum(1 for _ in weight_layers(model))
    params = sum(p.numel() for p in model.parameters())
    return f"{type(model).__name__}: {layers} weight layers, {params:,} parameters"


def run_summary(items: list[Any]) -> dict[str, Any]:
    """The last epoch's numbers and the final status from a list of train()'s items
    (for scripts and tests)."""
    epochs = [i for i in items if isinstance(i, EpochMetrics)]
    finished = next((i for i in reversed(items) if isinstance(i, RunFinished)), None)
    return {"epochs": len(epochs), "last": epochs[-1] if epochs else None,
            "status": finished.status if finished else None,
            "message": finished.message if finished else ""}
