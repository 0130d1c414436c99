"""Prepared views for the course's concepts 29–31 (the Welcome map opens them)."""

from __future__ import annotations

from lab.optimizers.view import OptimizerSettings, OptimizersView, default_optimizers
from lab.params import Example


def _with(view: OptimizersView, *settings: OptimizerSettings) -> OptimizersView:
    for s in settings:
        view = view.with_settings(s)
    return view


def examples() -> dict[int, Example]:
    noisy = _with(OptimizersView(surface="quadratic", condition=5.0, start=(-1.8, 1.5),
                                 steps=300, batch_size=2, noise=1.0,
                                 optimizers=default_optimizers("sgd")),
                  OptimizerSettings(kind="sgd", enabled=True, lr=0.3))
    rolling = OptimizersView(surface="local_minimum", start=(2.3, 1.0), steps=200,
                             optimizers=default_optimizers("sgd", "momentum", "adam"),
                             basin_kind="momentum", editing="momentum")
    plateau = _with(OptimizersView(surface="quadratic", condition=5.0, start=(-1.8, 1.5),
                                   steps=400, batch_size=2, noise=1.0, scheduler="plateau",
                                   plateau_factor=0.5, plateau_patience=10,
                                   optimizers=default_optimizers("sgd"), editing="sgd"),
                    OptimizerSettings(kind="sgd", enabled=True, lr=0.3))
    return {
        29: Example("Mini-batch noise: with a batch of 2, SGD jitters around the minimum "
                    "(raise the batch size and it settles)", noisy),
        30: Example("Momentum rolls through the shallow local minimum where plain SGD "
                    "stops; Adam's momentum is gentler", rolling),
        31: Example("ReduceLROnPlateau: when the noisy loss stops improving the learning "
                    "rate halves and SGD settles", plateau),
    }
