import pytest
from torch import nn

from lab.data import DataConfig
from lab.normalization.experiment import ExperimentPoint, batch_size_experiment
from lab.training import TrainConfig, build_model


def test_norm_setting_builds_groupnorm_in_the_small_cnn():
    cfg = TrainConfig(arch="small_cnn", batchnorm=True, norm="group", width=6)
    model = build_model(cfg, (1, 8, 8), 10)
    layers = [m for m in model.modules() if isinstance(m, nn.GroupNorm | nn.BatchNorm2d)]
    assert [type(m) for m in layers] == [nn.GroupNorm, nn.GroupNorm]
    assert [m.num_groups for m in layers] == [2, 4]  # gcd(4, 6), gcd(4, 12)
    assert TrainConfig.from_json(cfg.dumps()) == cfg
    assert TrainConfig(norm="layer").validate()[0].startswith("unknown norm 'layer'")
    assert "small CNN only" in TrainConfig(arch="plain", batchnorm=True, norm="group",
                                           data=DataConfig("digits")).validate()[0]


@pytest.mark.slow
def test_tiny_experiment_trains_both_norms_with_the_training_loop():
    items = list(batch_size_experiment((4,), 1, lambda: False, device="cpu", train_size=24))
    points = [i for i in items if isinstance(i, ExperimentPoint)]
    assert [(p.norm, p.batch_size) for p in points] == [("batch", 4), ("group", 4)]
    assert all(0 <= p.val_error <= 1 and p.status == "completed" for p in points)
