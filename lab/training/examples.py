"""Prepared views of the Training lab, by concept number (CONCEPTS.md): the form set up to
show the idea once you press Start (a view holds settings, not runs). Concept 13 (save and
load a checkpoint) is an action on a run, not a setting, so it has no prepared view."""

from __future__ import annotations

from lab.data import DataConfig
from lab.params import Example
from lab.training import TrainConfig
from lab.training.view import TrainingView

#: the Augmentation panel's JSON format, written out (lab.training only reads it)
_DIGITS_AUGMENT = {"format": "visual-lab-augment", "version": 1, "steps": [
    {"name": "RandomAffine", "enabled": True,
     "params": {"degrees": [-10, 10], "translate": [0.1, 0.1], "scale": [0.9, 1.1],
                "interpolation": "bilinear"}}]}
_SMALL_DIGITS = DataConfig(source="digits", train_size=200)


def _view(**changes) -> TrainingView:
    return TrainingView(TrainConfig(**changes))


EXAMPLES: dict[int, Example] = {
    5: Example("Little data: 60 noisy moons and a wide net — the validation curve parts from "
               "the training curve; add samples and compare",
               _view(data=DataConfig(samples=60, noise=0.3), width=128, depth=3, epochs=200)),
    12: Example("Digits with a small random affine augmentation on 200 training images: "
                "compare its validation curve with a run without it",
                _view(data=_SMALL_DIGITS, arch="small_cnn", optimizer="adam", lr=0.001,
                      epochs=30, augment=_DIGITS_AUGMENT)),
    14: Example("Dropout and BatchNorm: train() and eval() behave differently (the gap "
                "between training and validation loss)",
                _view(dropout=0.5, batchnorm=True, epochs=60)),
    27: Example("Early stopping: patience 5 epochs on the validation loss, the best "
                "epoch's weights restored",
                _view(data=DataConfig(samples=100, noise=0.35), width=128, depth=3,
                      epochs=300, early_stopping=True, patience=5, restore_best=True)),
    28: Example("Dropout p = 0.5 (torch's p drops units); switched off in eval",
                _view(dropout=0.5, width=128, epochs=80)),
    29: Example("Mini-batches of 4: each step averages only 4 gradients, so the loss is "
                "noisy", _view(batch_size=4, lr=0.05, epochs=30)),
    30: Example("Adam: momentum built in, a step size per weight",
                _view(optimizer="adam", lr=0.01, epochs=40)),
    31: Example("ReduceLROnPlateau('min'): the learning rate is cut when the validation loss "
                "stalls (LR curve plotted)",
                _view(scheduler="plateau", plateau_patience=3, plateau_factor=0.5,
                      epochs=120)),
    32: Example("Overfitting on purpose: 80 noisy samples, a deep wide net; each remedy is a "
                "control to try",
                _view(data=DataConfig(samples=80, noise=0.35), width=256, depth=4,
                      epochs=300)),
    34: Example("L1 λ = 0.001 written into the loss: many weights go to exactly 0 (see the "
                "weight histogram)", _view(l1=0.001, width=64, epochs=80)),
    35: Example("5-fold cross-validation: a curve per fold and the mean ± std",
                _view(kfold=5, epochs=40)),
}
