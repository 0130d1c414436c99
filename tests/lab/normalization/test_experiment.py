import pytest
from torch import nn

from lab.data import DataConfig
from lab.normalization.experiment import (
    ExperimentPoint,
    ExperimentSetup,
    batch_size_experiment,
    summary,
)
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


def test_experiment_cnn_reaches_one_pixel_maps_with_a_norm_after_every_conv():
    import torch

    cfg = ExperimentSetup().config("batch", 2)
    model = build_model(cfg, (1, 8, 8), 10)
    shapes = []
    for layer in model.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert shapes == [(8, 8, 8), (16, 4, 4), (32, 2, 2), (64, 1, 1)]
    assert cfg.lr == pytest.approx(0.1 * 2 / 32) and cfg.scheduler == "cosine"
    setup = ExperimentSetup(sizes=(2, 16), epochs=5, train_size=1024, min_updates=640)
    assert [setup.epochs_for(s) for s in (2, 16)] == [5, 10]  # 320 updates → 10 epochs
    assert "batch 16 train 10 epochs" in setup.description()


def test_summary_claims_the_trend_only_when_the_numbers_show_it():
    shown = summary({"batch": {2: 0.6, 16: 0.02}, "group": {2: 0.05, 16: 0.04}})
    assert "+58.0 points" in shown and "Figure 1" in shown
    flat = summary({"batch": {2: 0.03, 16: 0.02}, "group": {2: 0.05, 16: 0.04}})
    assert "did not clearly suffer" in flat and "Figure 1" not in flat
    assert summary({"batch": {2: 0.5}, "group": {}}) == ""


@pytest.mark.slow
def test_small_batches_hurt_batchnorm_but_not_groupnorm():
    """The experiment's outcome, reduced to fit the suite (~8 s on one core): the default's
    design (same CNN, digits, lr = 0.1·B/32, cosine, eval-mode validation, big batches
    topped up to a minimum of updates) at batch sizes 2 and 16 only, 3 epochs of 512
    digits instead of 5 of 1,024. So few samples leave GroupNorm short of converged, so
    its flatness is asserted against BatchNorm's rise (a third of it at most), not in
    absolute points; the full default was checked by hand (BN 69 % at batch 2 vs 2 % at
    16, GN 4–8 % throughout)."""
    setup = ExperimentSetup(sizes=(2, 16), epochs=3, train_size=512, min_updates=320,
                            device="cpu")
    items = list(batch_size_experiment(setup, lambda: False))
    points = {"batch": {}, "group": {}}
    for item in items:
        if isinstance(item, ExperimentPoint):
            assert item.status == "completed"
            points[item.norm][item.batch_size] = 100 * item.val_error
    bn, gn = points["batch"], points["group"]
    assert bn[2] - bn[16] >= 30  # BatchNorm falls apart at batch 2 …
    assert bn[2] - gn[2] >= 20   # … where GroupNorm still learns
    assert abs(gn[2] - gn[16]) <= (bn[2] - bn[16]) / 3
    assert "Figure 1" in summary({k: {s: e / 100 for s, e in v.items()}
                                  for k, v in points.items()})
