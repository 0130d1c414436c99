"""The configuration of a training run: `TrainConfig` (data, model, optimiser, schedule,
regularisation, early stopping, K-fold, device, augmentation) with its validation, the
settings as labelled text, "the same run with one change", and `TrainControls` (what may
change while a run trains)."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from lab import data as data_module
from lab import optim
from lab.data import DataConfig
from lab.device import DEVICE_CHOICES
from lab.models import ACTIVATIONS

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
    #: conv–pool stages of the small CNN (channels width, 2·width, 4·width, …)
    cnn_stages: int = 2
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
        for name, low, high in (("depth", 1, 32), ("cnn_stages", 1, 5),
                                ("width", 1, 1024), ("batch_size", 1, 8192),
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
            "cnn_stages": self.arch == "small_cnn",
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
    "dropout": "dropout", "batchnorm": "BatchNorm", "norm": "norm layer",
    "cnn_stages": "CNN stages", "optimizer": "optimizer",
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


def setting_applies(cfg: TrainConfig, path: str) -> bool:
    """Whether setting `path` ("data.noise", "momentum", ...) means anything with `cfg`'s
    other settings: noise for digits, momentum for Adam, the hold-out fraction under K-fold
    and a schedule's step size without that schedule do not (the form greys them out)."""
    if path == "data.val_fraction":
        return cfg.kfold == 1
    if path.startswith("data."):
        return cfg.data.uses(path[5:])
    return cfg.uses(path)


def differing_settings(configs: list[TrainConfig]) -> list[str]:
    """Setting paths whose values are not all equal across the `configs` they apply to: a
    setting one run ignores (noise for digits, momentum for Adam) is no difference there."""
    if len(configs) < 2:
        return []
    flats = [flat_settings(c) for c in configs]
    differing = []
    for key in flats[0]:
        values = [f[key] for c, f in zip(configs, flats, strict=True) if setting_applies(c, key)]
        if any(value != values[0] for value in values[1:]):
            differing.append(key)
    return differing


TITLE_NAMES = 4  # a comparison's title names at most this many settings


def describe_differences(configs: list[TrainConfig]) -> tuple[str, list[str]]:
    """(title, one label per config) saying what differs: ("dropout 0.5 vs 0",
    ["dropout 0.5", "dropout 0"]). Identical settings give "same settings"."""
    keys = differing_settings(configs)
    if not keys:
        return ("same settings" if len(configs) > 1 else "", ["same settings"] * len(configs))
    flats = [flat_settings(c) for c in configs]
    # a run shows only the settings that apply to it (no "noise 0.2" beside a digits run)
    labels = [", ".join(f"{SETTING_LABELS.get(k, k)} {format_value(f[k])}" for k in keys
                        if setting_applies(c, k))
              for c, f in zip(configs, flats, strict=True)]
    if len(keys) == 1:
        values = " vs ".join(dict.fromkeys(format_value(f[keys[0]])
                                           for c, f in zip(configs, flats, strict=True)
                                           if setting_applies(c, keys[0])))
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

    def has_changes(self) -> bool:
        """Cheap, without the lock: a change set meanwhile is seen at the next batch."""
        return bool(self._pending)

    def take(self) -> dict[str, float]:
        if not self._pending:
            return {}
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending
