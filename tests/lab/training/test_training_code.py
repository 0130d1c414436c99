import pytest
import torch

from lab.data import DataConfig
from lab.training import EpochMetrics, TrainConfig, train
from lab.training.export import training_code


@pytest.mark.parametrize("changes", [
    {"dropout": 0.3, "l1": 1e-3, "l2": 1e-3, "scheduler": "step", "step_size": 2},
    {"optimizer": "adam", "lr": 0.01, "batchnorm": True, "scheduler": "plateau",
     "early_stopping": True, "patience": 2},
    {"kfold": 2, "optimizer": "rmsprop", "lr": 0.01, "scheduler": "cosine"},
    # a CNN, which the lab trains channels-last on the CPU: the code must do so too
    {"arch": "small_cnn", "data": DataConfig("digits", samples=120), "epochs": 2},
])
def test_exported_code_runs_and_gives_the_labs_numbers(tmp_path, monkeypatch, changes):
    cfg = TrainConfig(**{"data": DataConfig("moons", samples=80), "epochs": 4, "width": 8,
                         **changes})
    code = training_code(cfg)
    compile(code, "training.py", "exec")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the code we generate, run as a user would
    epochs = [e for e in train(cfg) if isinstance(e, EpochMetrics)]
    assert namespace["val_loss"] == pytest.approx(epochs[-1].val_loss, rel=1e-4)
    assert (tmp_path / "checkpoint.pt").is_file()
    if cfg.arch == "small_cnn":  # the second convolution (the first has 1 channel in)
        assert namespace["model"][3].weight.is_contiguous(memory_format=torch.channels_last)
    if cfg.l1:
        assert "sum(p.abs().sum() for p in model.parameters())" in code
    assert "model.eval()" in code and "model.train()" in code


def test_code_names_what_the_notes_teach():
    code = training_code(TrainConfig(dropout=0.5, l2=1e-4, early_stopping=True))
    assert "weight_decay=0.0001" in code and "DROP probability" in code
    assert "early stopping" in code and "load_state_dict(best_state)" in code
