"""Save and load a trained model: its weights and the settings that built it.

A checkpoint is a dict of plain types and tensors written with `torch.save` through a
temporary file that replaces the target in one step (`os.replace`), so a crash never
leaves half a file under the real name. Loading uses `torch.load(weights_only=True)`,
which refuses pickled code; every way a file can be wrong gets a message that says what
is wrong and what to do.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lab.files import WriteError, atomic_write, reason
from lab.training import RunEvent, RunFinished, RunStarted, TrainConfig, build_model, state_problems

__all__ = ["Checkpoint", "CheckpointError", "WriteError", "checkpointed", "load_checkpoint",
           "save_checkpoint", "state_problems"]

CHECKPOINT_FORMAT = "visual-lab-checkpoint"
CHECKPOINT_VERSION = 1
SUFFIX = ".pt"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says why."""


@dataclass
class Checkpoint:
    config: TrainConfig
    state_dict: dict[str, torch.Tensor]
    input_shape: tuple[int, ...]
    class_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def build(self) -> nn.Module:
        """The model with the checkpoint's weights loaded (in eval mode)."""
        model = build_model(self.config, self.input_shape, len(self.class_names))
        problems = state_problems(model, self.state_dict)
        if problems:
            raise CheckpointError("the checkpoint's weights do not fit its own settings: "
                                  + "; ".join(problems))
        model.load_state_dict(self.state_dict)
        return model.eval()


def save_checkpoint(path: str | Path, config: TrainConfig, state_dict: dict[str, torch.Tensor],
                    input_shape: tuple[int, ...], class_names: list[str],
                    meta: dict[str, Any] | None = None) -> Path:
    """Write atomically: temp file in the same folder, flushed, then renamed over `path`.
    A failure (disk full, read-only folder, torch.save's short-write RuntimeError) raises
    WriteError naming the path and the reason, and leaves the previous file as it was."""
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": config.dumps(),
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "input_shape": [int(s) for s in input_shape],
        "class_names": [str(c) for c in class_names],
        "meta": dict(meta or {}),
        "torch_version": str(torch.__version__),
    }
    needed = sum(t.numel() * t.element_size() for t in payload["state_dict"].values())
    return atomic_write(path, lambda out: torch.save(payload, out), needed + 64 * 1024)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint safely; CheckpointError names the problem."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive since torch 1.6
        raise CheckpointError(f"{path.name} is damaged or not a PyTorch checkpoint (it is not "
                              "the zip archive torch.save writes)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = next((line.strip() for line in str(exc).splitlines()
                       if "Unsupported global" in line), "")
        detail = detail.split(" was not an allowed global")[0].replace(
            "WeightsUnpickler error: ", "")
        raise CheckpointError(
            f"{path.name} holds Python objects other than weights and settings, so it was "
            "not loaded (loading it could run code). Only load checkpoints saved by Visual "
            f"Lab or other weights-only files." + (f" ({detail})" if detail else "")) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"{path.name} is damaged or not a PyTorch file "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        if isinstance(payload, dict) and payload and all(
                isinstance(v, torch.Tensor) for v in payload.values()):
            raise CheckpointError(f"{path.name} is a bare state_dict without the settings "
                                  "that built it; Visual Lab checkpoints keep both")
        raise CheckpointError(f"{path.name} is not a Visual Lab checkpoint")
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{path.name} is damaged: its format version is {version!r}, "
                              "not a whole number")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path.name} was saved by a newer Visual Lab (format version "
                              f"{version}); this one reads up to {CHECKPOINT_VERSION}")
    try:
        config = TrainConfig.from_json(payload["config"])
        state = payload["state_dict"]
        shape = payload["input_shape"]
        names = payload["class_names"]
        if not isinstance(shape, list | tuple) or not all(
                isinstance(s, int) and not isinstance(s, bool) for s in shape):
            raise ValueError(f"input_shape must be a list of whole numbers (got {shape!r})")
        if not isinstance(names, list | tuple):
            raise ValueError(f"class_names must be a list (got {type(names).__name__})")
        input_shape = tuple(shape)
        class_names = [str(c) for c in names]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path.name} has damaged settings: {exc}") from exc
    problems = config.validate() + _size_problems(config, input_shape, class_names)
    if problems:
        raise CheckpointError(f"{path.name} has settings that cannot be used: "
                              + "; ".join(problems))
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError(f"{path.name} has no usable weights")
    return Checkpoint(config, dict(state), input_shape, class_names, dict(payload.get("meta")
                                                                          or {}))


#: the largest model a checkpoint may build (parameters): VGG-16 has 138 M
MAX_PARAMETERS = 200_000_000
MAX_INPUT_VALUES = 3 * 1024 * 1024
MAX_CLASSES = 10_000


def _size_problems(config: TrainConfig, input_shape: tuple[int, ...],
                   class_names: list[str]) -> list[str]:
    """What would make building the model fail or need absurd memory, found without
    allocating it (the model is built on the meta device)."""
    if not 1 <= len(input_shape) <= 3 or any(s < 1 for s in input_shape):
        return [f"the input shape {list(input_shape)} is not a point or an image's shape"]
    values = 1
    for side in input_shape:
        values *= side
    if values > MAX_INPUT_VALUES:
        return [f"the input shape {list(input_shape)} has {values:,} values per sample "
                f"(at most {MAX_INPUT_VALUES:,})"]
    if not 2 <= len(class_names) <= MAX_CLASSES:
        return [f"{len(class_names)} classes (2 to {MAX_CLASSES:,} can be used)"]
    try:
        with torch.device("meta"):
            model = build_model(config, input_shape, len(class_names))
    except (ValueError, RuntimeError, TypeError) as exc:
        return [f"the model cannot be built ({exc})"]
    count = sum(p.numel() for p in model.parameters())
    if count > MAX_PARAMETERS:
        return [f"the model would have {count:,} parameters (at most {MAX_PARAMETERS:,})"]
    return []


def checkpointed(items: Iterator, path: str | Path, config: TrainConfig,
                 meta: dict[str, Any] | None = None) -> Iterator:
    """Pass a training run's items through and save its final weights to `path` when it
    ends (on the thread that runs it, so a GUI never waits for the disk). A failed save
    (disk full, read-only folder, torch.save's short-write RuntimeError) never raises and
    never changes the run's status: a "storage" RunEvent says why, it is added to the
    RunFinished message, and the previous file at `path` is kept."""
    started: RunStarted | None = None
    for item in items:
        if isinstance(item, RunStarted):
            started = item
        elif isinstance(item, RunFinished) and item.state_dict is not None and started:
            try:
                save_checkpoint(path, config, item.state_dict, started.input_shape,
                                list(started.class_names),
                                {**(meta or {}), "epoch": item.stop_epoch,
                                 "status": item.status})
            except (OSError, RuntimeError) as exc:
                why = exc.reason if isinstance(exc, WriteError) else reason(exc, path)
                text = f"could not save the weights: {why}"
                yield RunEvent("storage", 0, item.stop_epoch, float(item.stop_epoch), text)
                item = RunFinished(item.status, f"{item.message} ({text}.)".strip(),
                                   item.best_epoch, item.stop_epoch, item.state_dict)
        yield item
