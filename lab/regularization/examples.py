"""Prepared views of the Regularization panel, by concept number of CONCEPTS.md."""

from __future__ import annotations

from lab.params import Example
from lab.regularization.view import RegView

EXAMPLES: dict[int, Example] = {
    32: Example("A 7th-order polynomial through 12 noisy points overfits: train error "
                "near 0, test error large",
                RegView(truth="cos", samples=12, noise=0.2, degree=7, penalty="none")),
    33: Example("Occam's razor: the same 7th-order polynomial with an L2 penalty is "
                "simpler and predicts better",
                RegView(truth="cos", samples=12, noise=0.2, degree=7, penalty="l2",
                        lam=1e-3)),
    34: Example("L1 sets coefficients exactly to 0 (sparsity); L2 only shrinks them — "
                "see the diamond's corner in 'L1 vs L2'",
                RegView(truth="sin", samples=30, noise=0.2, degree=12, penalty="l1",
                        lam=1e-2, pair=(3, 6))),
    35: Example("K-fold cross-validation picks the degree without touching the test set",
                RegView(truth="cubic", samples=30, noise=0.3, degree=3, penalty="none",
                        folds=5)),
}
