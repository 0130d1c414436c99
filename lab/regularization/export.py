"""The scikit-learn and the PyTorch scripts that reproduce the panel's fit: plain numpy /
sklearn / torch, no `lab`. Each prints one JSON line of its numbers (tests compare them
with the panel's)."""

from __future__ import annotations

from lab.regularization.view import TEST_POINTS, TEST_SEED, TRUTH_CODE, RegView, ridge_alpha

_DATA = '''import json

import numpy as np
from numpy.polynomial import {module}


def truth(x):
    return {truth}


# the training sample: {samples} points x ~ U(-1, 1), y = f(x) + {noise} * N(0, 1)
rng = np.random.default_rng({seed})
x = np.sort(rng.uniform(-1.0, 1.0, {samples}))
y = truth(x) + {noise} * rng.standard_normal({samples})
# the held-out test set (its own seed: the same points whatever the sample)
test_rng = np.random.default_rng({test_seed})
x_test = np.sort(test_rng.uniform(-1.0, 1.0, {test_points}))
y_test = truth(x_test) + {noise} * test_rng.standard_normal({test_points})

degree = {degree}


def design(x):
    """{basis_text} (the intercept is fitted apart and never penalised)."""
    return {module}.{vander}(x, degree)[:, 1:]
'''

_PENALTY_TEXT = {
    "none": "no penalty: least squares",
    "l2": "L2: the panel's J = 1/(2n)·Σ(y − ŷ)² + λ/2·‖w‖²",
    "l1": "L1: J = 1/(2n)·Σ(y − ŷ)² + λ·‖w‖₁",
    "elastic": "elastic net: J = 1/(2n)·Σ(y − ŷ)² + λ·(r·‖w‖₁ + (1 − r)/2·‖w‖²)",
}


def _num(value: float) -> str:
    """A number as code, without float noise (30 · 0.01 is written 0.3, not
    0.30000000000000004)."""
    return repr(float(f"{value:.12g}"))


def _data(view: RegView) -> str:
    legendre = view.basis == "legendre"
    return _DATA.format(
        module="legendre" if legendre else "polynomial", truth=TRUTH_CODE[view.truth],
        samples=view.samples, noise=repr(view.noise), seed=view.seed, test_seed=TEST_SEED,
        test_points=TEST_POINTS, degree=view.degree,
        vander="legvander" if legendre else "polyvander",
        basis_text=("Legendre polynomials P1(x) ... P_degree(x)" if legendre
                    else "raw powers x, x^2, ..., x^degree"))


def sklearn_code(view: RegView) -> str:
    """Fit, errors and K-fold CV error with scikit-learn's estimator."""
    lam, n = view.lam, view.samples
    if view.degree == 0:
        model = ("from sklearn.dummy import DummyRegressor\n\n"
                 "# degree 0: a constant, the mean of y (no coefficients to penalise)\n"
                 "model = DummyRegressor(strategy='mean')")
    elif view.penalty == "none":
        model = ("from sklearn.linear_model import LinearRegression\n\n"
                 "# no penalty (past the interpolation threshold: the minimum-norm solution)\n"
                 "model = LinearRegression()")
    elif view.penalty == "l2":
        model = ("from sklearn.linear_model import Ridge\n\n"
                 f"# {_PENALTY_TEXT['l2']} with λ = {lam!r}\n"
                 "# Ridge minimises Σ(y − ŷ)² + alpha·‖w‖², so alpha = n·λ\n"
                 f"model = Ridge(alpha={_num(ridge_alpha(lam, n))})")
    elif view.penalty == "l1":
        model = ("from sklearn.linear_model import Lasso\n\n"
                 f"# {_PENALTY_TEXT['l1']} with λ = {lam!r}: Lasso's alpha is λ\n"
                 f"model = Lasso(alpha={lam!r}, max_iter=10_000, tol=1e-7)")
    else:
        model = ("from sklearn.linear_model import ElasticNet\n\n"
                 f"# {_PENALTY_TEXT['elastic']} with λ = {lam!r}, r = {view.l1_ratio!r}\n"
                 f"model = ElasticNet(alpha={lam!r}, l1_ratio={view.l1_ratio!r}, "
                 "max_iter=10_000, tol=1e-7)")
    x_design = "np.zeros((len(x), 0))" if view.degree == 0 else "design(x)"
    test_design = "np.zeros((len(x_test), 0))" if view.degree == 0 else "design(x_test)"
    return (_data(view) + "\n\n" + model + f'''
from sklearn.model_selection import KFold, cross_val_score

X, X_test = {x_design}, {test_design}
model.fit(X, y)
coef = getattr(model, "coef_", np.zeros(0))
intercept = float(getattr(model, "intercept_", model.predict(X[:1])[0]))
folds = KFold(n_splits={view.folds}, shuffle=True, random_state={view.seed})
cv = -cross_val_score(model, X, y, cv=folds, scoring="neg_mean_squared_error")
print(json.dumps({{
    "intercept": intercept,
    "coef": [float(c) for c in np.ravel(coef)],
    "exact_zeros": int(np.count_nonzero(np.ravel(coef) == 0.0)),
    "train_mse": float(np.mean((model.predict(X) - y) ** 2)),
    "test_mse": float(np.mean((model.predict(X_test) - y_test) ** 2)),
    "cv_mse": float(cv.mean()),
}}))
''')


def torch_code(view: RegView) -> str:
    """The same objective by full-batch gradient descent in torch: weight_decay for L2,
    a hand-written Σ|w| for L1."""
    lam, r = view.strength, view.ratio
    return _data(view) + f'''
import torch

# The panel's λ = {lam!r}, L1 share r = {r!r}. Doubling J gives MSELoss (a mean, no ½) +
# (weight_decay/2)·‖w‖² + l1_weight·Σ|w| with weight_decay = 2λ(1 − r), l1_weight = 2λr.
# (So sklearn's Ridge(alpha) is weight_decay = 2·alpha/n.)
weight_decay = {_num(2.0 * lam * (1.0 - r))}
l1_weight = {_num(2.0 * lam * r)}
steps = {view.gd_steps}

inputs = torch.tensor(design(x), dtype=torch.float64)
targets = torch.tensor(y, dtype=torch.float64)
model = torch.nn.Linear(degree, 1, dtype=torch.float64)
with torch.no_grad():
    model.weight.zero_()
    model.bias.zero_()
# step 1/L: L = 2·σ_max([1, X])²/n + weight_decay, the largest curvature of the loss
full = np.column_stack([np.ones(len(x)), design(x)])
lr = 1.0 / (2.0 * np.linalg.norm(full, 2) ** 2 / len(x) + weight_decay) if degree else 0.5
optimizer = torch.optim.SGD([
    {{"params": [model.weight], "weight_decay": weight_decay}},  # L2 = weight_decay
    {{"params": [model.bias], "weight_decay": 0.0}},             # the intercept is free
], lr=lr, momentum=0.9)
loss_fn = torch.nn.MSELoss()
for step in range(steps):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs).squeeze(1), targets)
    if l1_weight > 0:  # L1 has no optimizer option: add it to the loss by hand
        loss = loss + l1_weight * sum(p.abs().sum() for p in [model.weight])
    loss.backward()
    optimizer.step()

coef = model.weight.detach().numpy().ravel()
prediction = model(torch.tensor(design(x_test), dtype=torch.float64)).detach().numpy().ravel()
print(json.dumps({{
    "intercept": float(model.bias.detach()),
    "coef": [float(c) for c in coef],
    "exact_zeros": int(np.count_nonzero(coef == 0.0)),
    "test_mse": float(np.mean((prediction - y_test) ** 2)),
}}))
'''
