"""Least-squares and ridge errors of every degree and any λ from one SVD per degree,
kept per sample: what the error curves need when only the degree or λ moved.

For each degree the fit on all points and the fit on each fold's training part are
centred and decomposed once, X − x̄ = U·diag(s)·Vᵀ (exactly as `fit.ridge_batch` does,
same padding and the same cut of tiny singular values), and every row the curves score
— the training points, the test set, each fold's held-out points — is projected once
onto its problem's V. Then a penalty α (ridge's alpha = n·λ; 0: minimum-norm least
squares) gives every prediction by one product,

    ŷ(α) = ȳ + (e − x̄)·Vᵀ · (s / (s² + α) ⊙ Uᵀ(y − ȳ)),

the same solution `ridge_batch` writes as coefficients and an intercept, associated
differently (equal to rounding; tests hold both to scikit-learn). A new λ or degree
then costs a few array operations instead of 21 × (K + 1) SVDs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRAIN, TEST = 0, 1  # the first two row segments; the folds' held-out points follow


@dataclass(frozen=True, eq=False)
class RidgeFactors:
    """Degrees 0…max_degree of one sample, its test set and its K folds, factorised."""

    key: tuple
    max_degree: int
    singular: np.ndarray   # (D, P, k): s of each degree's P problems (1.0 where cut)
    kept: np.ndarray       # (D, P, k): s above the cut (padding and cut ones: False)
    uty: np.ndarray        # (D, P, k): Uᵀ(y − ȳ)
    projected: np.ndarray  # (D, R, k): each scored row, centred by its problem's x̄, on V
    offset: np.ndarray     # (R,): ȳ of each row's problem
    target: np.ndarray     # (R,): each row's y
    problem: np.ndarray    # (R,): which problem scores the row (0: all points, f: fold f)
    starts: np.ndarray     # first row of each segment: train, test, held-out fold 1…K
    counts: np.ndarray     # rows per segment
    directions: np.ndarray  # (D, k, D − 1): Vᵀ of each degree's fit on all points
    x_mean: np.ndarray     # (D, D − 1): x̄ of each degree's columns over all points

    @property
    def rows(self) -> list[slice]:
        """The scored rows of each problem: all points' fit scores the training points and
        the test set (the first two segments), fold f's fit its held-out points."""
        bounds = [0, *(int(b) for b in self.starts[TEST + 1:]), len(self.target)]
        return [slice(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]

    @property
    def samples(self) -> int:
        return int(self.counts[TRAIN])

    def solve(self, degree: int, alpha: float) -> tuple[np.ndarray, float]:
        """w₁…w_degree and the intercept of the fit on all points with penalty `alpha`
        (`fit.ridge_batch`'s formula: w = V·(s / (s² + α) ⊙ Uᵀ(y − ȳ)), b = ȳ − x̄·w)."""
        singular = self.singular[degree, 0]
        shrink = np.where(self.kept[degree, 0], singular / (singular**2 + alpha), 0.0)
        coef = (shrink * self.uty[degree, 0]) @ self.directions[degree, :, :degree]
        return coef, float(self.offset[0] - coef @ self.x_mean[degree, :degree])

    def errors(self, degrees, alphas) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean squared errors (train, test, K-fold CV mean, spread of the K folds) for
        each pair of `degrees` and `alphas` (broadcast together)."""
        degrees, alphas = np.broadcast_arrays(np.atleast_1d(np.asarray(degrees, dtype=int)),
                                              np.atleast_1d(np.asarray(alphas, dtype=float)))
        singular = self.singular[degrees]
        shrink = np.where(self.kept[degrees],
                          singular / (singular**2 + alphas[:, None, None]), 0.0)
        weights = shrink * self.uty[degrees]                             # (M, P, k)
        scores = np.empty((len(degrees), len(self.target)))
        one_degree = bool(np.all(degrees == degrees[0]))  # errors over λ: V shared
        for p, rows in enumerate(self.rows):
            if one_degree:
                scores[:, rows] = weights[:, p] @ self.projected[degrees[0], rows].T
            else:
                scores[:, rows] = np.einsum("mrk,mk->mr", self.projected[degrees, rows],
                                            weights[:, p])
        squared = (self.target - (self.offset + scores)) ** 2
        means = np.add.reduceat(squared, self.starts, axis=1) / self.counts
        folds = means[:, TEST + 1:]
        return means[:, TRAIN], means[:, TEST], folds.mean(axis=1), folds.std(axis=1)


def ridge_factors(key: tuple, train_features: np.ndarray, y: np.ndarray,
                  test_features: np.ndarray, y_test: np.ndarray,
                  splits: list[tuple[np.ndarray, np.ndarray]]) -> RidgeFactors:
    """Factorise degrees 0…D (the features' columns) of the fit on all points and on each
    split's training part; `key` says what they were computed from."""
    y = np.asarray(y, dtype=float)
    max_degree = train_features.shape[1]
    problems = [np.arange(len(y))] + [fit for fit, _ in splits]
    segments = [(0, train_features, y), (0, test_features, np.asarray(y_test, dtype=float))]
    segments += [(f, train_features[held], y[held])
                 for f, (_, held) in enumerate(splits, start=1)]
    scored = np.vstack([rows for _, rows, _ in segments])
    problem = np.concatenate([np.full(len(t), p) for p, _, t in segments])
    counts = np.array([len(t) for _, _, t in segments])
    rows = max(len(p) for p in problems)
    lengths = np.array([len(p) for p in problems])
    inside = np.arange(rows)[None, :] < lengths[:, None]
    targets = np.zeros((len(problems), rows))
    for p, chosen in enumerate(problems):
        targets[p, :len(chosen)] = y[chosen]
    y_means = targets.sum(axis=1) / lengths
    centred_y = np.where(inside, targets - y_means[:, None], 0.0)
    width = max_degree
    shape = (max_degree + 1, len(problems), width)
    singular, kept, uty = np.ones(shape), np.zeros(shape, dtype=bool), np.zeros(shape)
    projected = np.zeros((max_degree + 1, len(scored), width))
    directions = np.zeros((max_degree + 1, width, max_degree))
    x_mean = np.zeros((max_degree + 1, max_degree))
    for d in range(1, max_degree + 1):
        stacked = np.zeros((len(problems), rows, d))
        for p, chosen in enumerate(problems):
            stacked[p, :len(chosen)] = train_features[chosen, :d]
        x_means = stacked.sum(axis=1) / lengths[:, None]
        stacked = np.where(inside[:, :, None], stacked - x_means[:, None, :], 0.0)
        u, s, vt = np.linalg.svd(stacked, full_matrices=False)
        k = s.shape[1]
        keep = s > s[:, :1] * (np.finfo(float).eps * max(rows, d))
        singular[d, :, :k] = np.where(keep, s, 1.0)
        kept[d, :, :k] = keep
        uty[d, :, :k] = np.einsum("pnk,pn->pk", u, centred_y)
        projected[d, :, :k] = np.einsum("rd,rkd->rk", scored[:, :d] - x_means[problem],
                                        vt[problem])
        directions[d, :k, :d] = vt[0]
        x_mean[d, :d] = x_means[0]
    return RidgeFactors(key, max_degree, singular, kept, uty, projected, y_means[problem],
                        np.concatenate([t for _, _, t in segments]), problem,
                        np.concatenate([[0], np.cumsum(counts)[:-1]]), counts, directions,
                        x_mean)
