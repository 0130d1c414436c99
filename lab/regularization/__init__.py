"""The Regularization panel's science (concepts 32–35): noisy samples of a true function,
polynomial fits of degree 0…20 with no penalty, L2, L1 or elastic net (scikit-learn), the
same fit by gradient descent in torch, train / test / K-fold error curves, coefficient
paths, bias and variance, the L1-diamond / L2-circle geometry and code export.

view.py holds the state (`RegView`) and the one penalty convention every number uses.
"""
