"""The Training lab's "plain PyTorch loop" is plain: it runs where `lab` and `widgets` cannot
be imported and prints the lab's numbers (issue 19: it imported lab.training.build_model)."""

import re

import pytest
import torch

from lab.data import DataConfig
from lab.training import EpochMetrics, TrainConfig, train
from lab.training.export import training_code
from tests.plain_python import run_plain

CONFIGS = [
    TrainConfig(data=DataConfig("moons", samples=60), epochs=3, width=8, dropout=0.3, l1=1e-3,
                scheduler="step", step_size=2),
    TrainConfig(data=DataConfig("spirals", samples=60, classes=3), epochs=2, width=8,
                arch="resnet", depth=2, optimizer="adam", lr=0.01, batchnorm=True),
    TrainConfig(data=DataConfig("xor", samples=60), epochs=2, width=8, kfold=2),
    TrainConfig(data=DataConfig("digits"), arch="small_cnn", width=4, epochs=1,
                batch_size=128),
    TrainConfig(data=DataConfig("shapes", samples=40, image_size=12), epochs=1, width=8,
                arch="densenet", depth=2),
]


@pytest.mark.slow
def test_exported_training_scripts_are_plain_and_reproduce_the_runs(tmp_path):
    printed = run_plain([training_code(cfg) for cfg in CONFIGS], tmp_path)
    for cfg, text in zip(CONFIGS, printed, strict=True):
        script_losses = [float(v) for v in re.findall(r"val loss ([0-9.e+-]+),", text)]
        before = torch.get_num_threads()
        lab_losses = [e.val_loss for e in train(cfg) if isinstance(e, EpochMetrics)]
        torch.set_num_threads(before)
        assert script_losses == pytest.approx(lab_losses, rel=1e-4), cfg.data.source
