"""Training on a CUDA GPU: what only a machine with one can check (skipped elsewhere)."""

import pytest
import torch

from lab import training
from lab.data import DataConfig
from lab.training import (
    EpochMetrics,
    ModeComparison,
    RunFinished,
    RunStarted,
    StepMetrics,
    TrainConfig,
    WeightSnapshot,
    build_model,
    train,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

SHAPES = DataConfig("shapes", samples=300, noise=0.1, seed=0)


def cnn(**changes) -> TrainConfig:
    values = {"data": SHAPES, "arch": "small_cnn", "width": 8, "batchnorm": True,
              "dropout": 0.2, "epochs": 3, "batch_size": 32, "device": "cuda"}
    values.update(changes)
    return TrainConfig(**values)


def of(items, kind):
    return [i for i in items if isinstance(i, kind)]


def test_a_cuda_run_trains_on_the_gpu_with_the_data_preloaded():
    items = list(train(cnn()))
    started = of(items, RunStarted)[0]
    assert started.device == "cuda" and started.device_label.startswith("CUDA: ")
    assert any("preloaded to CUDA memory" in note for note in started.notes)
    finished = items[-1]
    assert finished.status == "completed"
    # weights come back on the CPU, so a checkpoint loads on any machine
    assert all(v.device.type == "cpu" for v in finished.state_dict.values())
    model = build_model(cnn(), started.input_shape, len(started.class_names))
    model.load_state_dict(finished.state_dict)
    assert of(items, WeightSnapshot) and of(items, ModeComparison)
    assert len(of(items, StepMetrics)) == started.total_steps


def test_a_seeded_cuda_run_is_reproducible():
    """Same curves from the same seed. Not bit for bit: adaptive average pooling's
    gradient on CUDA adds with atomics, whose order varies (torch documents it)."""
    cfg = cnn(epochs=2)
    first, second = list(train(cfg)), list(train(cfg))
    assert [s.loss for s in of(first, StepMetrics)] == pytest.approx(
        [s.loss for s in of(second, StepMetrics)], rel=1e-4)
    assert [e.val_loss for e in of(first, EpochMetrics)] == pytest.approx(
        [e.val_loss for e in of(second, EpochMetrics)], rel=1e-4)


def test_cuda_and_cpu_start_from_the_same_weights_and_agree_at_first():
    """Same seed, same first batch: the first step's loss matches the CPU's closely
    (cuDNN may use TF32 for convolutions, hence not exactly). Without dropout: its masks
    come from each device's own random numbers."""
    on_gpu = of(list(train(cnn(epochs=1, dropout=0.0))), StepMetrics)[0].loss
    on_cpu = of(list(train(cnn(epochs=1, dropout=0.0, device="cpu"))), StepMetrics)[0].loss
    assert on_gpu == pytest.approx(on_cpu, rel=5e-3)


def test_data_too_big_for_the_gpu_is_streamed_from_pinned_memory(monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *_: (1024, 80 * 2**30))
    items = list(train(cnn(epochs=2)))
    started = of(items, RunStarted)[0]
    assert any("pinned CPU memory" in note for note in started.notes)
    assert items[-1].status == "completed"


def test_real_cuda_out_of_memory_is_caught_with_advice(monkeypatch):
    """A real allocation far beyond the card's memory, made inside the training step."""
    total = torch.cuda.get_device_properties(0).total_memory

    def huge(_model):
        return torch.empty(4 * total, dtype=torch.uint8, device="cuda").sum()

    monkeypatch.setattr(training.loop, "l1_penalty", huge)
    finished = list(train(cnn(l1=0.01)))[-1]
    assert isinstance(finished, RunFinished) and finished.status == "out_of_memory"
    assert "GPU ran out of memory" in finished.message
    assert torch.cuda.memory_allocated() < total // 10  # nothing left behind
