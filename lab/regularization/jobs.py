"""The panel's background work as generators (widgets.kit's LatestJob runs them on a
thread): the "model" job computes the data, the scikit-learn fit and its facts, then
whichever error curves are not cached yet. (scikit-learn's first import alone takes
~1.5 s: never on the GUI thread.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from lab.regularization import fit as fits
from lab.regularization.data import Dataset, condition_number, make_data
from lab.regularization.factors import RidgeFactors
from lab.regularization.view import RegView


@dataclass(frozen=True)
class ModelResult:
    view: RegView
    data: Dataset
    fit: fits.Fit
    train_mse: float
    test_mse: float
    dof: float
    kappa_raw: float
    kappa_legendre: float


@dataclass(frozen=True)
class CurvesResult:
    key: tuple
    curves: fits.Curves


def data_key(view: RegView) -> tuple:
    return (view.truth, view.samples, view.noise, view.seed)


def degree_key(view: RegView) -> tuple:
    """What the error-vs-degree curves depend on (not the degree itself)."""
    return (data_key(view), view.penalty, view.strength, view.ratio, view.basis, view.folds)


def lambda_key(view: RegView) -> tuple:
    """What the error-vs-λ curves depend on (not λ itself)."""
    return (data_key(view), view.penalty, view.degree, view.ratio, view.basis, view.folds)


def model_result(view: RegView, data: Dataset | None = None,
                 factors: RidgeFactors | None = None) -> ModelResult:
    """The data, the fit and its facts: scikit-learn's estimator, or for L2 with this
    sample's `factors` Ridge's solution in closed form (equal to rounding: the same three
    digits on screen). Least squares stays scikit-learn's: on raw powers past degree ~10
    the minimum-norm answer depends on the solver's cut of tiny singular values."""
    data = make_data(view) if data is None else data
    fit = fits.fit_closed_form(factors, view) \
        if view.penalty == "l2" and has_factors(view, factors) \
        else fits.fit_sklearn(data.x, data.y, view)
    return ModelResult(view, data, fit, fits.mse(data.y, fit.predict(data.x)),
                       fits.mse(data.y_test, fit.predict(data.x_test)),
                       fits.effective_dof(data.x, fit, view),
                       condition_number(data.x, view.degree, "raw"),
                       condition_number(data.x, view.degree, "legendre"))


def is_quick(view: RegView) -> bool:
    """The fit and curves are closed forms (no penalty / L2): fine on the GUI thread once
    the sample's `RidgeFactors` exist (or, for a new sample's fit alone, scikit-learn is
    imported). L1 / elastic net run coordinate descent: a job."""
    return view.penalty in ("none", "l2")


def has_factors(view: RegView, factors: RidgeFactors | None) -> bool:
    """`factors` give this view's none / L2 error curves (only the degree, λ or penalty
    moved since they were computed)."""
    return factors is not None and factors.key == fits.factors_key(view)


def missing_curves(view: RegView, have: set[tuple], data: Dataset,
                   factors: RidgeFactors | None = None) -> list[CurvesResult]:
    """The error curves of `view` whose keys are not in `have` (with `factors` of this
    sample: a millisecond for none / L2)."""
    return [CurvesResult(key, compute(data, view, factors=factors))
            for key, compute in _curves(view) if key not in have]


def _curves(view: RegView) -> tuple:
    """(key, compute) of the two error curves."""
    return ((degree_key(view), fits.degree_curves), (lambda_key(view), fits.lambda_curves))


def model_job(view: RegView, have: set[tuple], data: Dataset | None = None
              ) -> Callable[[Callable[[], bool]], Iterator]:
    """The job for a new sample (or an L1 / elastic-net view): `have` holds the curve keys
    already on screen. Given `data`, the fit was computed already. For none / L2 it yields
    the sample's `RidgeFactors` (the SVDs every later degree and λ reuse), then the missing
    curves from them."""

    def run(should_stop: Callable[[], bool]) -> Iterator:
        sample, factored = data, None
        if sample is None:
            result = model_result(view)
            sample = result.data
            yield result
        if is_quick(view):
            if should_stop():
                return
            factored = fits.curve_factors(sample, view)
            yield factored
        for key, compute in _curves(view):
            if should_stop():
                return
            if key not in have:
                yield CurvesResult(key, compute(sample, view, factors=factored))

    return run


def conditioning(x: np.ndarray, max_degree: int) -> tuple[np.ndarray, np.ndarray]:
    """κ of the design matrix for degrees 0…max_degree: (raw powers, Legendre)."""
    degrees = range(max_degree + 1)
    return (np.array([condition_number(x, d, "raw") for d in degrees]),
            np.array([condition_number(x, d, "legendre") for d in degrees]))
