"""The PyTorch script that reproduces a training run, written out so a learner can read it.

The script is plain PyTorch (with scikit-learn / numpy / PIL where the data needs them):
Visual Lab's data function, split and model code are written out from their source, so it
runs without `lab` installed. Everything the course teaches about training is spelled
out: the optimiser and its weight decay (L2), the L1 penalty added to the loss, the
scheduler, `model.train()` / `model.eval()`, early stopping with best-weight restore.
On the CPU the script's numbers equal the lab's for the same settings (same seeds, same
order of random draws).
"""

from __future__ import annotations

import dataclasses

from lab import data as data_module
from lab import training
from lab.model_source import connectivity_source, small_cnn_source, source_of
from lab.training import TrainConfig

_DATASET = '''@dataclass
class Dataset:  # what Visual Lab's data functions return
    name: str
    x: torch.Tensor
    y: torch.Tensor
    class_names: list
    notes: list = field(default_factory=list)
'''


def data_code(cfg: TrainConfig) -> str:
    """Code that makes the run's data set as `dataset` (x, y tensors)."""
    data = cfg.data
    source = data.source
    if source in data_module.TOY_SOURCES:
        return (f"TOY_SOURCES = {tuple(data_module.TOY_SOURCES)!r}\n\n\n"
                + source_of(data_module.make_toy) + "\n\n"
                f"dataset = make_toy({source!r}, {data.samples}, {data.noise!r}, "
                f"{data.classes}, {data.seed})\n")
    if source == "digits":
        return ("from functools import cache\n\n\n"
                + source_of(data_module._digits_arrays, data_module.load_digits)
                + f"\n\ndataset = load_digits({data.side})\n")
    if source == "shapes":
        return (f"SHAPE_CLASSES = {data_module.SHAPE_CLASSES!r}\n"
                f"SHAPES_CHUNK = {data_module.SHAPES_CHUNK}\n\n\n"
                + source_of(data_module.make_shapes, data_module.shapes_steps)
                .replace("DataProgress(", "dict(") + "\n\n"
                f"dataset = make_shapes({data.samples}, {data.side}, {data.noise!r}, "
                f"{data.seed})\n")
    if source in data_module.TORCHVISION_SOURCES:
        name = data_module.torchvision_class(source).__name__
        return f'''import torchvision

# the training split, read from the folder (torchvision's own layout)
raw = torchvision.datasets.{name}({data.folder!r}, train=True, download=False)
x = torch.as_tensor(np.asarray(raw.data), dtype=torch.uint8)
x = x[:, None] if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()
y = torch.as_tensor(np.asarray(raw.targets), dtype=torch.int64)
dataset = Dataset({source!r}, x, y, [str(c) for c in raw.classes])
'''
    return (source_of(data_module._is_image_file, data_module.folder_steps)
            .replace("DataProgress(", "dict(") +
            f"FOLDER_SUFFIXES = {data_module.FOLDER_SUFFIXES!r}\n"
            f"MAX_FOLDER_IMAGES = {data_module.MAX_FOLDER_IMAGES}\n\n"
            "steps = folder_steps("
            f"{data.folder!r}, {data.side}, {data.grayscale}, {data.seed})\n"
            "while True:\n    try:\n        next(steps)\n"
            "    except StopIteration as done:\n        dataset = done.value\n        break\n")


def model_code(cfg: TrainConfig) -> str:
    """Visual Lab's nets and build_model, and the settings build_model reads."""
    settings = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)
                if f.name not in ("data", "augment")}
    return (connectivity_source() + "\n\n" + small_cnn_source() + "\n\n"
            + source_of(training.set_dropout, training.build_model)
            + f"\n\nconfig = SimpleNamespace(**{settings!r})\n")


def training_code(cfg: TrainConfig) -> str:
    data = cfg.data
    optimizer = {
        "sgd": (f"torch.optim.SGD(model.parameters(), lr={cfg.lr!r}, momentum={cfg.momentum!r}, "
                f"nesterov={cfg.nesterov and cfg.momentum > 0}, weight_decay={cfg.l2!r})"),
        "adam": f"torch.optim.Adam(model.parameters(), lr={cfg.lr!r}, weight_decay={cfg.l2!r})",
        "adamw": (f"torch.optim.AdamW(model.parameters(), lr={cfg.lr!r}, "
                  f"weight_decay={cfg.l2!r})"),
        "rmsprop": (f"torch.optim.RMSprop(model.parameters(), lr={cfg.lr!r}, "
                    f"momentum={cfg.momentum!r}, weight_decay={cfg.l2!r})"),
    }[cfg.optimizer]
    scheduler = {
        "none": "None",
        "step": (f"torch.optim.lr_scheduler.StepLR(optimizer, step_size={cfg.step_size}, "
                 f"gamma={cfg.gamma!r})"),
        "exponential": f"torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma={cfg.gamma!r})",
        "cosine": f"torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max={cfg.epochs})",
        "plateau": (f"torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'min', "
                    f"factor={cfg.plateau_factor!r}, patience={cfg.plateau_patience})"),
    }[cfg.scheduler]
    if cfg.kfold >= 2:
        splits = (f"splits = kfold_splits(dataset.y.numpy(), k={cfg.kfold}, seed={data.seed}, "
                  f"train_size={data.train_size})  # every sample validated exactly once")
    else:
        splits = (f"splits = [holdout_split(dataset.y.numpy(), val_fraction={data.val_fraction!r}"
                  f", train_size={data.train_size}, seed={data.seed})]")
    scheduler_step = ""
    if cfg.scheduler == "plateau":
        scheduler_step = ("        if val_loss is not None:\n"
                          "            scheduler.step(val_loss)  # 'min': cut the LR when "
                          "the validation loss stops falling\n")
    elif cfg.scheduler != "none":
        scheduler_step = "        scheduler.step()\n"
    l1_line = (f"            loss = loss + {cfg.l1!r} * sum(p.abs().sum() for p in "
               "model.parameters())  # L1: torch has no option, so add λ·Σ|w|\n"
               if cfg.l1 > 0 else "")
    early = ""
    if cfg.early_stopping:
        restore = ("            if restore_best:\n"
                   "                model.load_state_dict(best_state)\n")
        early = (f"        if wait >= {cfg.patience}:  # early stopping: no improvement for "
                 f"{cfg.patience} epochs\n"
                 f"            print(f'early stop at epoch {{epoch}}, best epoch {{best_epoch}}')\n"
                 f"{restore}"
                 "            break\n")
    augment_note = ("# Note: this run used an augmentation pipeline (the Augmentation panel's "
                    "code) on training\n# batches; it is left out here.\n"
                    if cfg.augment is not None else "")
    return f'''"""Reproduces a Visual Lab training run ({cfg.arch}, {data.source}): plain PyTorch,
with scikit-learn / numpy / PIL for the data; Visual Lab's own functions are written out."""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

{_DATASET}

# ------------------------------------------------------------------ the data ({data.source})
{data_code(cfg)}

def as_float(x: torch.Tensor) -> torch.Tensor:
    """A batch as float32: uint8 images become [0, 1]; floats pass through."""
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    return x if x.dtype == torch.float32 else x.float()


# ------------------------------------------------------------------ seeded splits
{source_of(data_module.Split, data_module._cap, data_module.holdout_split,
           data_module.kfold_splits)}
MAX_KFOLD = {data_module.MAX_KFOLD}

# ------------------------------------------------------------------ the model
{model_code(cfg)}
{augment_note}device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"{data.source}: x {{tuple(dataset.x.shape)}}, {{len(dataset.class_names)}} classes")
x, y = dataset.x.to(device), dataset.y.to(device)  # preload once; index batches on device
{splits}
results = []
for fold, split in enumerate(splits):
    torch.manual_seed({cfg.seed})
    model = build_model(config, tuple(dataset.x.shape[1:]), len(dataset.class_names))
    model = model.to(device)
    if device.type == "cpu":  # channels-last memory: faster CPU convolution and pooling
        model = model.to(memory_format=torch.channels_last)  # (no-op without convolutions)
    # dropout p = {cfg.dropout!r} is torch's DROP probability (TensorFlow's keep_prob = 1 - p)
    optimizer = {optimizer}  # L2 = weight_decay
    scheduler = {scheduler}
    order = torch.Generator().manual_seed({cfg.seed} * 1009 + fold)
    train_idx = torch.as_tensor(split.train)
    val_idx = torch.as_tensor(split.val).to(device)
    x_val, y_val = x[val_idx], y[val_idx]
    best_loss, best_epoch, best_state, wait = math.inf, 0, None, 0
    restore_best = {cfg.restore_best!r}
    for epoch in range(1, {cfg.epochs} + 1):
        model.train()  # dropout active, BatchNorm on batch statistics
        perm = train_idx[torch.randperm(len(train_idx), generator=order)].to(device)
        for batch in perm.split({cfg.batch_size}):
            out = model(as_float(x[batch]))
            loss = F.cross_entropy(out, y[batch])
{l1_line}            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()  # dropout off, BatchNorm on running statistics
        with torch.no_grad():
            if len(x_val):
                out = model(as_float(x_val))
                val_loss = F.cross_entropy(out, y_val).item()
                val_accuracy = (out.argmax(1) == y_val).float().mean().item()
            else:
                val_loss = val_accuracy = None
        print(f"fold {{fold}} epoch {{epoch}}: val loss {{val_loss}}, accuracy {{val_accuracy}}")
{scheduler_step}        watched = val_loss if val_loss is not None else loss.item()
        if watched < best_loss - {cfg.min_delta!r}:
            best_loss, best_epoch, wait = watched, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
{early}    results.append((best_epoch, best_loss))
print(results)
torch.save({{"config": {cfg.dumps()!r}, "state_dict": model.state_dict()}},
           "checkpoint.pt")
'''
