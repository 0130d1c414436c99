"""The Optimizers panel's science: loss surfaces (surfaces.py), trajectories of the real
torch.optim classes with noise and schedulers (trajectories.py), the batched basin map
(basins.py), momentum's convergence rate on the quadratic (rates.py), code export
(code.py), the panel's state (view.py) and its prepared examples (examples.py)."""
