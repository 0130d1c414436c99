"""The Regularization panel's whole state as data (`RegView`), its choices and its rules.

The one penalty convention every number in the panel uses (scikit-learn's ElasticNet):

    J(w, b) = 1/(2n) · Σ (yᵢ − b − xᵢ·w)²  +  λ · ( r·‖w‖₁ + (1 − r)/2 · ‖w‖₂² )

r = 1 is the lasso (L1), r = 0 ridge (L2); the intercept b is never penalised. In each
library's own terms: `Lasso(alpha=λ)`, `ElasticNet(alpha=λ, l1_ratio=r)`,
`Ridge(alpha=n·λ)` (Ridge's loss is Σ(…)² + α‖w‖², without the 1/(2n)), and for a torch
loss `MSELoss()` (the mean, without the ½) plus `weight_decay = 2·λ·(1 − r)` and a
hand-written `2·λ·r·Σ|w|`: doubling J gives exactly that loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Truth = Literal["cubic", "sin", "cos", "step"]
Penalty = Literal["none", "l2", "l1", "elastic"]
Basis = Literal["legendre", "raw"]

#: the true functions as numpy code (the exported scripts use the same text)
TRUTH_CODE: dict[str, str] = {
    "cubic": "2 * x**3 - x",
    "sin": "np.sin(np.pi * x)",
    "cos": "np.cos(1.5 * np.pi * x)",
    "step": "np.where(x < 0, -0.5, 0.5)",
}
TRUTHS: dict[str, str] = {
    "cubic": "2x³ − x (a cubic: degree 3 is exactly right)",
    "sin": "sin(πx)",
    "cos": "cos(1.5πx) (scikit-learn's under/overfitting example)",
    "step": "a step at x = 0 (no polynomial is exactly right)",
}
PENALTIES: dict[str, str] = {
    "none": "None — least squares (minimum-norm past the interpolation threshold)",
    "l2": "L2 (ridge) — λ/2·‖w‖²: shrinks every coefficient, zeroes none",
    "l1": "L1 (lasso) — λ·‖w‖₁: sets some coefficients exactly to 0",
    "elastic": "Elastic net — a mix: λ·(r‖w‖₁ + (1−r)/2‖w‖²)",
}
BASES: dict[str, str] = {
    "legendre": "Legendre P₁(x)…P_d(x): orthogonal on [−1, 1], well conditioned",
    "raw": "Raw powers x, x², …, x^d: nearly parallel columns at high degree",
}

MAX_DEGREE = 20
MIN_SAMPLES, MAX_SAMPLES = 4, 200
LAMBDA_RANGE = (1e-6, 10.0)
TEST_POINTS = 200
TEST_SEED = 2024  # the held-out test set never changes with the sample's seed


@dataclass(frozen=True)
class RegView:
    """Everything the panel shows is computed from these fields."""

    truth: Truth = "cos"
    samples: int = 30
    noise: float = 0.2
    seed: int = 0
    degree: int = 7
    penalty: Penalty = "l2"
    lam: float = 1e-3
    l1_ratio: float = 0.5
    basis: Basis = "legendre"
    folds: int = 5
    log_bars: bool = False
    #: the two coefficients (1-based: w₁ multiplies P₁(x) or x) of the geometry view
    pair: tuple[int, int] = (1, 2)
    #: gradient-descent steps of the torch fit
    gd_steps: int = 2000
    #: what the bias–variance bars vary: the degree, or λ at the current degree
    bias_axis: Literal["degree", "lambda"] = "degree"

    @property
    def ratio(self) -> float:
        """r of the penalty: 1 for L1, 0 for L2 / none, `l1_ratio` for elastic net."""
        return {"l1": 1.0, "elastic": self.l1_ratio}.get(self.penalty, 0.0)

    @property
    def strength(self) -> float:
        """λ, or 0 without a penalty."""
        return 0.0 if self.penalty == "none" else self.lam

    def validate(self) -> list[str]:
        problems = []
        if self.truth not in TRUTH_CODE:
            problems.append(f"unknown true function {self.truth!r}")
        if not MIN_SAMPLES <= self.samples <= MAX_SAMPLES:
            problems.append(f"samples must be between {MIN_SAMPLES} and {MAX_SAMPLES}, "
                            f"not {self.samples}")
        if not 0 <= self.noise <= 2:
            problems.append(f"noise σ must be between 0 and 2, not {self.noise}")
        if not 0 <= self.degree <= MAX_DEGREE:
            problems.append(f"degree must be between 0 and {MAX_DEGREE}, not {self.degree}")
        if self.penalty != "none" and not LAMBDA_RANGE[0] <= self.lam <= LAMBDA_RANGE[1]:
            problems.append(f"λ must be between {LAMBDA_RANGE[0]:g} and {LAMBDA_RANGE[1]:g}, "
                            f"not {self.lam:g}")
        if not 0 < self.l1_ratio < 1:
            problems.append(f"the elastic net's L1 share r must be strictly between 0 and 1, "
                            f"not {self.l1_ratio}")
        if not 2 <= self.folds <= self.samples:
            problems.append(f"K-fold needs 2 ≤ K ≤ samples = {self.samples}, not K = "
                            f"{self.folds}")
        if not 100 <= self.gd_steps <= 100_000:
            problems.append(f"gradient-descent steps must be 100…100000, not {self.gd_steps}")
        low, high = self.pair
        if low == high or not (1 <= low <= MAX_DEGREE and 1 <= high <= MAX_DEGREE):
            problems.append(f"the geometry view needs two different coefficients among "
                            f"w₁…w_{MAX_DEGREE}, not w{low} and w{high}")
        return problems


def ridge_alpha(lam: float, samples: int) -> float:
    """scikit-learn's `Ridge(alpha=…)` for the panel's λ: Ridge's loss has no 1/(2n)."""
    return samples * lam


def torch_weight_decay(lam: float, ratio: float = 0.0) -> float:
    """torch's `weight_decay` for the panel's λ with `MSELoss()` (a mean, no ½): the
    gradient of MSE + wd/2·‖w‖² is twice J's, so wd = 2·λ·(1 − r)."""
    return 2.0 * lam * (1.0 - ratio)


def torch_l1_weight(lam: float, ratio: float = 1.0) -> float:
    """The factor of the hand-written Σ|w| term added to `MSELoss()`: 2·λ·r."""
    return 2.0 * lam * ratio


def weight_decay_from_ridge_alpha(alpha: float, samples: int) -> float:
    """The scaling relation in one line: Ridge(alpha) ≡ MSELoss + weight_decay = 2·alpha/n."""
    return 2.0 * alpha / samples
