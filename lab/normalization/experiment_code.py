"""The plain PyTorch script of the small-batch experiment: the same runs as
`lab.normalization.experiment` (the Training lab's loop, same seeds and order of random
draws), written as one loop over norm layers and batch sizes. On the CPU it gives the
panel's numbers. It imports neither `lab` nor `widgets`."""

from __future__ import annotations

from lab import data as data_module
from lab import models
from lab.model_source import source_of
from lab.normalization.experiment import (
    BASE_BATCH,
    BASE_LR,
    CNN_STAGES,
    NORMS,
    VAL_FRACTION,
    ExperimentSetup,
)


def experiment_code(setup: ExperimentSetup) -> str:
    epochs = {size: setup.epochs_for(size) for size in setup.sizes}
    sizes = ", ".join(map(str, setup.sizes))
    return f'''"""BatchNorm vs GroupNorm at batch sizes {sizes} (Wu & He 2018, Fig. 1).
Reproduces Visual Lab's Normalization panel (small-batch experiment): a small CNN of
{CNN_STAGES} conv stages on {setup.train_size:,} digits, the same samples per run with
lr = {BASE_LR:g}·B/{BASE_BATCH}, a cosine schedule, big batches topped up to
{setup.min_updates} updates; validation in eval() mode."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

torch.set_num_threads(1)  # the ops are tiny: one thread is fastest (and as the panel runs)

digits = load_digits()
x = torch.as_tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # 8×8 in [0, 1]
y = torch.as_tensor(digits.target, dtype=torch.int64)

# ---- Visual Lab's seeded split and model, written out
{source_of(data_module.Split, data_module._cap, data_module.holdout_split)}

{source_of(models.Flatten)}

NORM_GROUPS = {models.NORM_GROUPS}


{source_of(models.norm_layer, models.small_cnn)}

split = holdout_split(y.numpy(), val_fraction={VAL_FRACTION!r}, train_size={setup.train_size},
                      seed={setup.seed})
train_idx = torch.as_tensor(split.train)
val_idx = torch.as_tensor(split.val)
x_val, y_val = x[val_idx], y[val_idx]
n_train = len(train_idx)

# batch size -> epochs: {setup.epochs}, or more until a run has made {setup.min_updates} updates
EPOCHS = {epochs!r}
errors = {{}}
for size in {setup.sizes!r}:
    for norm in {NORMS!r}:
        torch.manual_seed({setup.seed})
        model = small_cnn(1, 10, width={setup.width}, norm=norm, stages={CNN_STAGES})
        model = model.to(memory_format=torch.channels_last)  # as the lab trains on the CPU
        optimizer = torch.optim.SGD(model.parameters(), lr={BASE_LR!r} * size / {BASE_BATCH},
                                    momentum=0.9)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS[size])
        order = torch.Generator().manual_seed({setup.seed} * 1009)
        # BatchNorm cannot train on a batch of one: a lone last sample joins the batch before
        steps = (n_train // size if norm == "batch" and n_train % size == 1
                 else math.ceil(n_train / size))
        for epoch in range(EPOCHS[size]):
            model.train()  # BatchNorm: the batch's statistics; running ones are updated
            perm = train_idx[torch.randperm(n_train, generator=order)]
            for step in range(steps):
                end = n_train if step == steps - 1 else (step + 1) * size
                batch = perm[step * size:end]
                loss = F.cross_entropy(model(x[batch]), y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            model.eval()  # BatchNorm: running_mean / running_var
            with torch.no_grad():
                out = model(x_val)
                val_loss = F.cross_entropy(out, y_val).item()
                val_error = 1 - (out.argmax(1) == y_val).float().mean().item()
            scheduler.step()
        errors[norm, size] = val_error
        print(f"{{norm}} norm, batch size {{size}}: validation error {{100 * val_error:.2f}} %, "
              f"loss {{val_loss:.6f}}")
'''
