"""Prepared comparisons: runs trained side by side so that one idea shows on screen.

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

from dataclasses import dataclass

from lab.data import DataConfig
from lab.training import TrainConfig, with_change


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
        return [""] + [f"{label(path)} {_number(getattr(self.base, path))} → {_number(value)}"
                       for path, value in self.variants]


def label(path: str) -> str:
    return {"l1": "L1 λ", "l2": "L2 λ", "dropout": "dropout"}.get(path, path)


def _number(value: float) -> str:
    return f"{value:g}"


# 80 noisy moons, half held out: 40 points to fit with 3 × 128 hidden units
_OVERFIT = TrainConfig(data=DataConfig(source="moons", samples=80, noise=0.35,
                                       val_fraction=0.5),
                       depth=3, width=128, optimizer="adam", lr=0.01, batch_size=40,
                       epochs=60)

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
