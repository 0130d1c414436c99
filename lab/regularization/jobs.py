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


def model_result(view: RegView, data: Dataset | None = None) -> ModelResult:
    """The data, the scikit-learn fit and its facts."""
    data = make_data(view) if data is None else data
    fit = fits.fit_sklearn(data.x, data.y, view)
    return ModelResult(view, data, fit, fits.mse(data.y, fit.predict(data.x)),
                       fits.mse(data.y_test, fit.predict(data.x_test)),
                       fits.effective_dof(data.x, fit, view),
                       condition_number(data.x, view.degree, "raw"),
                       condition_number(data.x, view.degree, "legendre"))


def is_quick(view: RegView) -> bool:
    """The fit is a closed form (no penalty / L2): a few ms, fine on the GUI thread once
    scikit-learn is imported. L1 / elastic net run coordinate descent: a job."""
    return view.penalty in ("none", "l2")


def model_job(view: RegView, have: set[tuple], data: Dataset | None = None
              ) -> Callable[[Callable[[], bool]], Iterator]:
    """The job for `view`; `have` holds the curve keys already on screen. Given `data`
    (the fit was computed already), only the missing curves."""

    def run(should_stop: Callable[[], bool]) -> Iterator:
        sample = data
        if sample is None:
            result = model_result(view)
            sample = result.data
            yield result
        for key, compute in ((degree_key(view), fits.degree_curves),
                             (lambda_key(view), fits.lambda_curves)):
            if should_stop():
                return
            if key not in have:
                yield CurvesResult(key, compute(sample, view))

    return run


def conditioning(x: np.ndarray, max_degree: int) -> tuple[np.ndarray, np.ndarray]:
    """κ of the design matrix for degrees 0…max_degree: (raw powers, Legendre)."""
    degrees = range(max_degree + 1)
    return (np.array([condition_number(x, d, "raw") for d in degrees]),
            np.array([condition_number(x, d, "legendre") for d in degrees]))
