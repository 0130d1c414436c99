"""The prepared comparisons show their idea: seeded, on the CPU, judged as a learner would
read the plots (issue 19: "dropout 0 vs 0.5" once ended with dropout worse and no
overfitting to cure; L1 and L2 both spiked at zero)."""

import numpy as np
import pytest
import torch

from lab.training import train
from lab.training.events import EpochMetrics, WeightSnapshot
from lab.training.examples import COMPARISONS, DROPOUT, L1_VS_L2


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets: one thread is fastest, and a shared machine does not thrash."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def trained(cfg):
    """Epoch metrics and the last weight histograms of a finished run."""
    epochs, weights = [], None
    for event in train(cfg, extras_interval=1e9):  # histograms once, after the last epoch
        if isinstance(event, EpochMetrics):
            epochs.append(event)
        elif isinstance(event, WeightSnapshot):
            weights = event
    assert len(epochs) == cfg.epochs
    return epochs, weights


def share_near_zero(snapshot: WeightSnapshot) -> float:
    counts = np.array([layer.counts.sum() for layer in snapshot.layers])
    return float(np.dot(counts, [layer.near_zero for layer in snapshot.layers]) / counts.sum())


def mean_abs(snapshot: WeightSnapshot) -> float:
    counts = np.array([layer.counts.sum() for layer in snapshot.layers])
    return float(np.dot(counts, [layer.mean_abs for layer in snapshot.layers]) / counts.sum())


def test_dropout_example_overfits_without_it_and_narrows_the_gap_with_it():
    (plain, _), (dropped, _) = (trained(cfg) for cfg in DROPOUT.configs())
    val = [e.val_loss for e in plain]
    best = int(np.argmin(val))
    # the unregularized run's validation loss clearly turns up while training loss -> 0
    assert best < len(val) // 2 and val[-1] > 3 * val[best]
    assert plain[-1].train_loss < 0.05
    plain_gap = plain[-1].val_loss - plain[-1].train_loss
    dropped_gap = dropped[-1].val_loss - dropped[-1].train_loss
    assert dropped_gap < 0.4 * plain_gap
    assert dropped[-1].val_loss < plain[-1].val_loss
    assert dropped[-1].val_accuracy >= plain[-1].val_accuracy
    # the run list shows each run's accuracy at its best epoch (lowest validation loss)
    def at_best(epochs):
        return min(epochs, key=lambda e: e.val_loss).val_accuracy

    assert at_best(dropped) > at_best(plain)


def test_l1_vs_l2_example_shows_sparsity_vs_shrinkage():
    (none, w_none), (l1, w_l1), (l2, w_l2) = (trained(cfg) for cfg in L1_VS_L2.configs())
    # L1: most weights at zero (the spike); L2: few zeros, but all of them smaller
    assert share_near_zero(w_l1) > 0.6
    assert share_near_zero(w_l2) < 0.2 and share_near_zero(w_none) < 0.05
    assert mean_abs(w_l2) < 0.5 * mean_abs(w_none)
    # neither penalty kills the net: the comparison is between working models
    assert min(l1[-1].val_accuracy, l2[-1].val_accuracy) >= 0.8


@pytest.mark.parametrize("comparison", COMPARISONS, ids=lambda c: c.key)
def test_comparisons_are_valid_and_name_their_changes(comparison):
    configs = comparison.configs()
    assert all(cfg.validate() == [] for cfg in configs)
    changes = comparison.changes()
    assert changes[0] == "" and len(changes) == len(configs)
    assert all("→" in change for change in changes[1:])
