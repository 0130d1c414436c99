"""Prepared comparisons: runs trained side by side so that one idea shows on screen; and
prepared views (EXAMPLES, by concept number of CONCEPTS.md): the form set up to show an
idea once you press Start (a view holds settings, not runs). Concept 13 (save and load a
checkpoint) is an action on a run, not a setting, so it has no prepared view.

Each is chosen (and checked in tests/lab/training/test_examples.py, seeded, on the CPU) so
that its lesson is unmistakable, not merely true on average:

- dropout: few, noisy samples and a wide net trained long enough that the unregularized
  run overfits (its validation loss turns up while its training loss goes to zero);
  dropout p = 0.5 keeps the gap between training and validation loss much smaller.
- L1 vs L2: the same net without a penalty, with L1 and with L2 (plain SGD, where the two
  differ as the notes say): L1 drives most weights to zero (a spike at 0 in the weight
  histogram), L2 shrinks them all (a narrower bell, few exact zeros).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lab.data import DataConfig
from lab.params import Example
from lab.training import SETTING_LABELS, TrainConfig, format_value, with_change
from lab.training.view import TrainingView


@dataclass(frozen=True)
class Comparison:
    """Runs to train one after another and overlay. The first run is the baseline; each
    later one is the baseline with one change, named by `changes[i]` ("dropout 0 → 0.5")."""

    key: str
    title: str
    #: what to look at once the runs have trained
    lesson: str
    base: TrainConfig
    #: (setting path, value) per later run
    variants: tuple[tuple[str, float], ...]

    def configs(self) -> list[TrainConfig]:
        return [self.base] + [with_change(self.base, path, value)
                              for path, value in self.variants]

    def changes(self) -> list[str]:
        """"" for the baseline, then "dropout 0 → 0.5" per variant."""
        return [""] + [f"{label(path)} {format_value(getattr(self.base, path))} → "
                       f"{format_value(value)}" for path, value in self.variants]


def label(path: str) -> str:
    """The setting's name as the run list writes it, with λ for the penalties."""
    name = SETTING_LABELS.get(path, path)
    return f"{name} λ" if path in ("l1", "l2") else name


# 80 noisy moons, half held out: 40 points to fit with 3 × 128 hidden units
# (seed 1: also at its best epoch the dropout run validates better, 82.5 % vs 80 %, so
# the run list's "Result" column tells the same story as the curves)
_OVERFIT = TrainConfig(data=DataConfig(source="moons", samples=80, noise=0.35,
                                       val_fraction=0.5, seed=1),
                       depth=3, width=128, optimizer="adam", lr=0.01, batch_size=40,
                       epochs=60, seed=1)

DROPOUT = Comparison(
    key="dropout",
    title="Dropout 0 vs 0.5 on a small noisy set",
    lesson=("Without dropout the validation loss turns up after a few epochs while the "
            "training loss goes to zero: overfitting. Dropout p = 0.5 keeps the two much "
            "closer."),
    base=_OVERFIT,
    variants=(("dropout", 0.5),),
)

# plain SGD: Adam rescales each weight's step, which blurs the L1 / L2 difference
_PENALTIES = TrainConfig(data=DataConfig(source="moons", samples=80, noise=0.2,
                                         val_fraction=0.5),
                         depth=2, width=64, optimizer="sgd", lr=0.1, momentum=0.9,
                         batch_size=20, epochs=60)

L1_VS_L2 = Comparison(
    key="l1_vs_l2",
    title="No penalty vs L1 vs L2: sparsity vs shrinkage",
    lesson=("Weights tab: L1 puts most weights at zero (a spike at 0); L2 makes them all "
            "smaller (a narrower bell) but few exactly zero."),
    base=_PENALTIES,
    variants=(("l1", 0.002), ("l2", 0.02)),
)

COMPARISONS: tuple[Comparison, ...] = (DROPOUT, L1_VS_L2)


#: the Augmentation panel's JSON format, written out (lab.training only reads it)
_DIGITS_AUGMENT = {"format": "visual-lab-augment", "version": 1, "steps": [
    {"name": "RandomAffine", "enabled": True,
     "params": {"degrees": [-10, 10], "translate": [0.1, 0.1], "scale": [0.9, 1.1],
                "interpolation": "bilinear"}}]}


def _view(base: TrainConfig | None = None, **changes) -> TrainingView:
    return TrainingView(dataclasses.replace(base or TrainConfig(), **changes))


EXAMPLES: dict[int, Example] = {
    5: Example("Little data: 80 noisy moons, half held out, and a wide net — the validation "
               "curve parts from the training curve; add samples and compare",
               _view(_OVERFIT)),
    12: Example("Digits with a small random affine augmentation on 200 training images: "
                "compare its validation curve with a run without it",
                _view(data=DataConfig(source="digits", train_size=200), arch="small_cnn",
                      optimizer="adam", lr=0.001, epochs=30, augment=_DIGITS_AUGMENT)),
    13: Example("Save and load: a small CNN on digits for 10 epochs — when it ends, "
                "Checkpoint ▸ Save… writes its weights and settings; Load… puts them back "
                "(torch.load with weights_only=True) and the run's numbers return",
                _view(data=DataConfig(source="digits"), arch="small_cnn", optimizer="adam",
                      lr=0.001, epochs=10)),
    14: Example("Dropout and BatchNorm: train() and eval() behave differently (the gap "
                "between training and validation loss)",
                _view(dropout=0.5, batchnorm=True, epochs=60)),
    27: Example("Early stopping: patience 5 epochs on the validation loss, the best "
                "epoch's weights restored",
                _view(_OVERFIT, epochs=300, early_stopping=True, patience=5,
                      restore_best=True)),
    28: Example(DROPOUT.title.replace(" 0 vs 0.5", " p = 0.5") + " (torch's p drops units; "
                "eval switches it off)", _view(DROPOUT.base, dropout=0.5)),
    29: Example("Mini-batches of 4: each step averages only 4 gradients, so the loss is "
                "noisy", _view(batch_size=4, lr=0.05, epochs=30)),
    30: Example("Adam: momentum built in, a step size per weight",
                _view(optimizer="adam", lr=0.01, epochs=40)),
    31: Example("ReduceLROnPlateau('min'): the learning rate is cut when the validation loss "
                "stalls (LR curve plotted)",
                _view(scheduler="plateau", plateau_patience=3, plateau_factor=0.5,
                      epochs=120)),
    32: Example("Overfitting on purpose: 80 noisy samples and 3 × 128 hidden units; each "
                "remedy is a control to try", _view(_OVERFIT, epochs=300)),
    34: Example("L1 λ = 0.002 written into the loss (plain SGD): most weights go to exactly 0 "
                "in the weight histogram", _view(L1_VS_L2.base, l1=0.002)),
    35: Example("5-fold cross-validation: a curve per fold and the mean ± std",
                _view(kfold=5, epochs=40)),
}
