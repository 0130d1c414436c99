"""The same fit by gradient descent in torch — the notes' point about the two penalties:
L2 is the optimizer's `weight_decay`; L1 has no ready option and is added to the loss by
hand (`lab.optim.l1_penalty`).

Loss (view.py's J doubled): MSELoss() + 2λr·Σ|w|, with weight_decay = 2λ(1 − r) on the
weights only (a parameter group without decay for the intercept, which is never
penalised). Full-batch SGD with momentum 0.9 and the step 1/L, L the largest curvature of
the loss (2·σ_max²/n of the design with its constant column, plus the decay): the
largest step that is safe for every direction. On a badly conditioned design (raw powers
at high degree) the flattest directions need ~κ² steps, so the descent is still far
from the closed form after thousands of steps: that is what the panel reports.

Plain (sub)gradient descent on |w| never lands on 0: the step ±lr·2λr overshoots zero
back and forth, so lasso coefficients hover near zero instead of reaching it — the reason
proximal (soft-thresholding) and coordinate-descent methods exist.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from lab.optim import l1_penalty, make_optimizer
from lab.progress import Progress
from lab.regularization.data import features
from lab.regularization.view import RegView, torch_l1_weight, torch_weight_decay

MOMENTUM = 0.9
NEAR_ZERO = 1e-3


@dataclass(frozen=True)
class DescentResult:
    steps: int
    coef: np.ndarray
    intercept: float
    losses: np.ndarray          # the loss every `record_every` steps
    loss_steps: np.ndarray
    lr: float
    weight_decay: float
    l1_weight: float
    final: bool

    def near_zero(self, tolerance: float = NEAR_ZERO) -> int:
        """Coefficients within ±tolerance of 0 that are not exactly 0."""
        return int(np.count_nonzero((np.abs(self.coef) < tolerance) & (self.coef != 0.0)))

    @property
    def exact_zeros(self) -> int:
        return int(np.count_nonzero(self.coef == 0.0))


def step_size(design: np.ndarray, weight_decay: float) -> float:
    """1/L for MSELoss over [1, design]: L = 2·σ_max²/n + weight_decay."""
    full = np.column_stack([np.ones(len(design)), design])
    sigma = np.linalg.norm(full, 2)
    return 1.0 / (2.0 * sigma**2 / len(design) + weight_decay)


def gradient_descent(x: np.ndarray, y: np.ndarray, view: RegView,
                     should_stop: Callable[[], bool] = lambda: False,
                     report_every: int = 200, record_every: int = 10
                     ) -> Iterator[Progress | DescentResult]:
    """Fit the view's polynomial by full-batch gradient descent (float64); yields Progress
    and a DescentResult every `report_every` steps (the last one has final=True)."""
    torch.set_num_threads(1)  # 30 × 20 tensors: threads only cost
    design = features(x, view.degree, view.basis)
    inputs = torch.tensor(design, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64)
    torch.manual_seed(0)
    with warnings.catch_warnings():  # degree 0: no weights to initialise, only the bias
        warnings.simplefilter("ignore", UserWarning)
        model = torch.nn.Linear(design.shape[1], 1, dtype=torch.float64)
    with torch.no_grad():  # start from zero: the same start the exported code uses
        model.weight.zero_()
        model.bias.zero_()
    lam, ratio = view.strength, view.ratio
    decay = torch_weight_decay(lam, ratio)
    l1_weight = torch_l1_weight(lam, ratio)
    lr = step_size(design, decay) if design.shape[1] else 0.5
    groups = [{"params": [model.weight], "weight_decay": decay},
              {"params": [model.bias], "weight_decay": 0.0}]
    optimizer = make_optimizer("sgd", groups, lr=lr, momentum=MOMENTUM)
    loss_fn = torch.nn.MSELoss()
    losses, loss_steps = [], []

    def result(step: int, final: bool) -> DescentResult:
        return DescentResult(step, model.weight.detach().numpy().ravel().copy(),
                             float(model.bias.detach()), np.array(losses),
                             np.array(loss_steps), lr, decay, l1_weight, final)

    for step in range(1, view.gd_steps + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs).squeeze(1), targets)
        if l1_weight > 0:
            loss = loss + l1_weight * l1_penalty([model.weight])
        loss.backward()
        optimizer.step()
        if step % record_every == 0 or step == 1:
            losses.append(float(loss.detach()))
            loss_steps.append(step)
        if step % report_every == 0 and step < view.gd_steps:
            if should_stop():
                return
            yield Progress(f"gradient descent, step {step}", step / view.gd_steps)
            yield result(step, False)
    yield result(view.gd_steps, True)


def agreement(coef: np.ndarray, intercept: float, exact_coef: np.ndarray,
              exact_intercept: float) -> float:
    """Largest difference of any coefficient (intercept included) from the exact fit,
    relative to the exact fit's largest coefficient (at least 1)."""
    mine = np.append(coef, intercept)
    exact = np.append(exact_coef, exact_intercept)
    return float(np.max(np.abs(mine - exact)) / max(1.0, np.max(np.abs(exact))))
