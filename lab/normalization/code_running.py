"""The plain PyTorch script of the running-statistics tab: the batches stepped through
BatchNorm2d in train() mode, running_mean / running_var after them, the last update written
out with the n/(n−1) correction, the same input in train() and eval() mode,
track_running_stats=False, and what torch says about one value per channel. It imports
neither `lab` nor `widgets`."""

from __future__ import annotations

from lab.normalization.code_tensor import tensor_code
from lab.normalization.view import NormView


def running_code(view: NormView, channel: int) -> str:
    """The script for `view` (its steps, momentum, track_running_stats, ε) and the channel
    whose update and train/eval comparison the panel writes out."""
    n, c, h, w = view.shape
    momentum = "None" if view.cumulative else repr(view.momentum)
    rule = ("running = running + (batch − running) / k: the average of all k batches"
            if view.cumulative else
            f"running = (1 − {view.momentum:g})·running + {view.momentum:g}·batch")
    return f'''"""BatchNorm2d's running statistics over {view.steps} batches, and train() vs eval().
Reproduces Visual Lab's Normalization panel (running-statistics tab): batches of N={n}
from the {view.source} pool, C={c}, H=W={h}; {rule}."""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(1)

{tensor_code(view)}

# ---- train() mode: every batch normalizes with its own statistics and moves the buffers
bn = nn.BatchNorm2d({c}, eps={view.eps!r}, momentum={momentum}, affine=False,
                    track_running_stats={view.track_running_stats})
bn.train()
steps, channel = {view.steps}, {channel}
with torch.no_grad():
    for k in range(steps):
        x = batch(k)
        bn(x)
if bn.running_mean is not None:
    print("running_mean:", [round(v, 6) for v in bn.running_mean.tolist()])
    print("running_var:", [round(v, 6) for v in bn.running_var.tolist()])
    print("num_batches_tracked:", int(bn.num_batches_tracked))
else:
    print("track_running_stats=False: no running_mean / running_var are kept")

# the last update: normalizing divides by the biased variance (÷ m), the buffer gets the
# unbiased one (÷ m − 1), m = N·H·W values per channel
if steps > 0:
    a = batch(steps - 1)[:, channel].double()
    m = a.numel()
    biased = a.var(correction=0).item()
    print(f"batch {{steps}}, channel {{channel}}: mean {{a.mean().item():.6f}}, biased var "
          f"{{biased:.6f}}, unbiased var = biased·{{m}}/{{m - 1}} = {{biased * m / (m - 1):.6f}}")

# ---- the same input (batch 0) in train() and in eval() mode
x = batch(0)
with torch.no_grad():
    state = copy.deepcopy(bn.state_dict())
    train_out = bn.train()(x)   # the batch's own mean and biased variance
    bn.load_state_dict(state)   # that call moved the buffers: undo it
    eval_out = bn.eval()(x)     # running_mean / running_var instead
difference = eval_out - train_out
print("largest |eval − train|:", round(difference.abs().max().item(), 6))
print("eval − train, sample 0, channel", channel)
print(np.round(difference[0, channel].numpy(), 4))

# ---- track_running_stats=False: no buffers, eval() uses the batch's statistics too
untracked = nn.BatchNorm2d({c}, eps={view.eps!r}, affine=False, track_running_stats=False)
with torch.no_grad():
    same = (untracked.eval()(x) - untracked.train()(x)).abs().max().item()
print("untracked (track_running_stats=False), largest |eval − train|:", same)

# ---- one value per channel (batch size 1 after global pooling): σ² = 0, torch refuses
try:
    nn.BatchNorm2d({c}).train()(torch.zeros(1, {c}, 1, 1))
except ValueError as error:
    print("batch of one:", error)
'''
