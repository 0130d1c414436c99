import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lab import training
from lab.data import DataConfig, load_dataset
from lab.device import pick_device
from lab.training import (
    BoundarySnapshot,
    EpochMetrics,
    FoldFinished,
    KFoldSummary,
    ModeComparison,
    RunEvent,
    RunFinished,
    RunStarted,
    StepMetrics,
    TrainConfig,
    TrainControls,
    WeightSnapshot,
    build_model,
    describe_differences,
    evaluate,
    train,
    weight_layers,
    with_change,
)

MOONS = DataConfig("moons", samples=160, noise=0.15)


def tiny(**changes) -> TrainConfig:
    values = {"data": MOONS, "epochs": 6, "width": 16, "batch_size": 32}
    values.update(changes)
    return TrainConfig(**values)


def run(cfg, **kwargs):
    return list(train(cfg, **kwargs))


def of(items, kind):
    return [i for i in items if isinstance(i, kind)]


def final_model(cfg, items):
    finished = of(items, RunFinished)[-1]
    model = build_model(cfg, (2,), 2)
    model.load_state_dict(finished.state_dict)
    return model


def weights(model):
    return torch.cat([w.detach().flatten() for _, w in weight_layers(model)])


# --------------------------------------------------------------------------- basics

def test_a_seeded_tiny_run_is_reproducible():
    cfg = tiny(dropout=0.3, batchnorm=True)
    first, second = run(cfg), run(cfg)
    losses = [s.loss for s in of(first, StepMetrics)]
    assert losses == [s.loss for s in of(second, StepMetrics)]
    assert [(e.val_loss, e.val_accuracy) for e in of(first, EpochMetrics)] == \
        [(e.val_loss, e.val_accuracy) for e in of(second, EpochMetrics)]
    other = run(tiny(dropout=0.3, batchnorm=True, seed=1))
    assert losses != [s.loss for s in of(other, StepMetrics)]


def test_run_reports_what_it_does():
    items = run(tiny(epochs=4))
    started = of(items, RunStarted)[0]
    assert started.device == pick_device().type and started.kind == "points"  # "auto"
    assert started.train_size == 128 and started.val_size == 32
    assert started.steps_per_epoch == 4 and started.total_steps == 16
    steps = of(items, StepMetrics)
    assert len(steps) == 16 and steps[-1].progress == 1.0 and steps[-1].eta_s == 0
    assert [s.position for s in steps[:4]] == [0.25, 0.5, 0.75, 1.0]
    assert all(s.samples_per_s > 0 for s in steps)
    epochs = of(items, EpochMetrics)
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert epochs[-1].val_loss < epochs[0].val_loss
    finished = items[-1]
    assert isinstance(finished, RunFinished) and finished.status == "completed"
    assert set(finished.state_dict) == set(build_model(tiny(), (2,), 2).state_dict())
    # extras: at least after the last epoch
    assert of(items, WeightSnapshot)[-1].epoch == 4
    assert of(items, BoundarySnapshot)[-1].eval_probs.shape == (64, 64, 2)


def test_validation_runs_in_eval_mode_and_reports_its_loss():
    cfg = tiny(epochs=3, dropout=0.5)
    items = run(cfg)
    model = final_model(cfg, items)
    dataset = load_dataset(cfg.data)
    from lab.data import holdout_split
    split = holdout_split(dataset.y, 0.2, seed=0)
    loss, accuracy = evaluate(model, dataset.x[split.val], dataset.y[split.val])
    last = of(items, EpochMetrics)[-1]
    assert loss == pytest.approx(last.val_loss, rel=1e-5)
    assert accuracy == pytest.approx(last.val_accuracy)
    assert model.training  # evaluate() restores the mode it found


def test_same_batch_in_train_and_eval_mode():
    cfg = tiny(epochs=3, dropout=0.6)
    comparison = of(run(cfg), ModeComparison)[-1]
    assert comparison.points.shape == (16, 2)
    assert (comparison.train_confidence != comparison.eval_confidence).any()
    no_dropout = of(run(tiny(epochs=3)), ModeComparison)[-1]
    assert no_dropout.differ == 0  # no dropout, no BatchNorm: the two modes agree
    assert (no_dropout.train_confidence == pytest.approx(no_dropout.eval_confidence))


def test_train_mode_pass_for_display_leaves_batchnorm_and_rng_alone():
    torch.manual_seed(0)
    model = build_model(tiny(batchnorm=True, dropout=0.5), (2,), 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = torch.randn(20, 2)
    state = torch.random.get_rng_state()
    training.predict_both_modes(model, batch, torch.device("cpu"))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(state, torch.random.get_rng_state())


def test_image_run_with_small_cnn_and_kfold():
    cfg = TrainConfig(data=DataConfig("digits", val_fraction=0.2), arch="small_cnn", width=4,
                      epochs=1, kfold=3, batch_size=128, optimizer="adam", lr=0.01)
    items = run(cfg)
    folds = of(items, FoldFinished)
    assert [f.fold for f in folds] == [0, 1, 2] and all(f.folds == 3 for f in folds)
    summary = of(items, KFoldSummary)[0]
    assert len(summary.val_accuracies) == 3 and 0 < summary.mean_accuracy <= 1
    assert {e.fold for e in of(items, EpochMetrics)} == {0, 1, 2}
    assert of(items, RunStarted)[0].val_size in (599, 600)
    assert items[-1].status == "completed" and "3-fold" in items[-1].message
    comparison = of(items, ModeComparison)[-1]
    assert comparison.images.shape == (16, 8, 8) and comparison.images.dtype.name == "uint8"


@pytest.mark.parametrize("arch", ["mlp", "plain", "resnet", "densenet"])
@pytest.mark.parametrize("source", ["moons", "digits"])
def test_every_architecture_trains_on_points_and_images(arch, source):
    data = DataConfig(source, samples=60) if source == "moons" else DataConfig(
        "digits", train_size=64)
    cfg = TrainConfig(data=data, arch=arch, depth=2, width=8, epochs=1, batch_size=32)
    items = run(cfg)
    assert items[-1].status == "completed"
    assert math.isfinite(of(items, EpochMetrics)[0].train_loss)


# --------------------------------------------------------------------------- regularisation

def test_l1_gives_more_near_zero_weights_than_l2_at_the_same_strength():
    def near_zero(**reg):
        cfg = tiny(epochs=15, **reg)
        return float((weights(final_model(cfg, run(cfg))).abs() < 1e-2).float().mean())

    plain, l1, l2 = near_zero(), near_zero(l1=0.01), near_zero(l2=0.01)
    assert l1 > l2 > plain


def test_l2_shrinks_weights_and_its_strength_is_the_optimizers_weight_decay():
    def mean_abs(**reg):
        cfg = tiny(epochs=10, **reg)
        return float(weights(final_model(cfg, run(cfg))).abs().mean())

    assert mean_abs(l2=0.05) < 0.7 * mean_abs()
    optimizer = training.make_optimizer(tiny(l2=0.03), nn.Linear(2, 2).parameters())
    assert optimizer.param_groups[0]["weight_decay"] == 0.03


def test_l1_penalty_is_reported_and_added_to_the_loss():
    items = run(tiny(epochs=1, l1=0.001))
    steps = of(items, StepMetrics)
    assert all(s.penalty > 0 for s in steps)
    model = build_model(tiny(), (2,), 2)
    with torch.no_grad():
        assert float(training.l1_penalty(model)) == pytest.approx(
            sum(float(p.abs().sum()) for p in model.parameters()))


def test_dropout_layers_always_exist_and_follow_p():
    model = build_model(tiny(dropout=0.0), (2,), 2)
    layers = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert layers and all(m.p == 0.0 for m in layers)
    training.set_dropout(model, 0.4)
    assert all(m.p == 0.4 for m in layers)
    cnn = build_model(TrainConfig(arch="small_cnn", dropout=0.25), (1, 8, 8), 10)
    assert [m.p for m in cnn.modules() if isinstance(m, nn.Dropout)] == [0.25]


def test_early_stopping_stops_and_restores_the_best_weights():
    cfg = tiny(data=DataConfig("moons", samples=60, noise=0.35, val_fraction=0.5),
               epochs=200, width=64, depth=3, lr=0.3, early_stopping=True, patience=4)
    items = run(cfg)
    finished = items[-1]
    assert finished.status == "early_stopped"
    epochs = of(items, EpochMetrics)
    assert finished.stop_epoch == epochs[-1].epoch < 200
    best = min(epochs, key=lambda e: e.val_loss)
    assert finished.best_epoch == best.epoch
    assert finished.stop_epoch - best.epoch == 4  # patience epochs without improvement
    kinds = [e.kind for e in of(items, RunEvent)]
    assert "early_stop" in kinds and "restore" in kinds
    # the weights handed back are the best epoch's: they give the best validation loss
    dataset = load_dataset(cfg.data)
    from lab.data import holdout_split
    split = holdout_split(dataset.y, 0.5, seed=0)
    loss, _ = evaluate(final_model(cfg, items), dataset.x[split.val], dataset.y[split.val])
    assert loss == pytest.approx(best.val_loss, rel=1e-5)


def test_min_delta_counts_small_improvements_as_none():
    cfg = tiny(epochs=60, lr=0.001, early_stopping=True, patience=3, min_delta=0.05)
    finished = run(cfg)[-1]
    assert finished.status == "early_stopped" and finished.stop_epoch <= 5


# --------------------------------------------------------------------------- schedulers

def epoch_lrs(**changes):
    return [e.lr for e in of(run(tiny(epochs=6, lr=0.2, **changes)), EpochMetrics)]


def test_step_lr_multiplies_by_gamma_every_step_size_epochs():
    assert epoch_lrs(scheduler="step", step_size=2, gamma=0.5) == pytest.approx(
        [0.2, 0.2, 0.1, 0.1, 0.05, 0.05])


def test_exponential_lr_decays_every_epoch():
    assert epoch_lrs(scheduler="exponential", gamma=0.5) == pytest.approx(
        [0.2 * 0.5**k for k in range(6)])


def test_cosine_annealing_follows_half_a_cosine():
    expected = [0.2 * (1 + math.cos(math.pi * k / 6)) / 2 for k in range(6)]
    assert epoch_lrs(scheduler="cosine") == pytest.approx(expected)


def test_reduce_lr_on_plateau_lowers_the_lr_after_a_plateau():
    items = run(tiny(epochs=8, lr=1e-7, scheduler="plateau", plateau_patience=2,
                     plateau_factor=0.1))
    lrs = [e.lr for e in of(items, EpochMetrics)]
    assert lrs[0] == 1e-7 and lrs[-1] < 1e-7
    drops = [e for e in of(items, RunEvent) if e.kind == "lr"]
    assert drops and drops[0].old == pytest.approx(1e-7) and drops[0].new == pytest.approx(1e-8)
    assert "ReduceLROnPlateau" in drops[0].text


def test_no_scheduler_keeps_the_lr():
    assert epoch_lrs() == [0.2] * 6


# --------------------------------------------------------------------------- live changes

def test_live_changes_apply_between_batches_without_reset():
    controls = TrainControls()
    cfg = tiny(epochs=4, dropout=0.0)
    seen = []
    events = []
    for item in train(cfg, controls=controls):
        if isinstance(item, StepMetrics):
            seen.append(item)
            if item.step == 5:
                controls.set("lr", 0.01)
                controls.set("dropout", 0.5)
                controls.set("l1", 0.001)
                controls.set("l2", 0.002)
        if isinstance(item, RunEvent):
            events.append(item)
    # The change lands on the next batch the worker starts after the GUI saw step 5. Steps
    # are reported in groups (one sync each, at most SYNC_EVERY and at each epoch's end):
    # step 5 came with the rest of its 4-step epoch, so the change lands on step 9.
    first = next(i for i, s in enumerate(seen) if s.lr == 0.01)
    assert first == 8
    assert first >= 5 and [s.lr for s in seen[:first]] == [0.1] * first
    assert all(s.lr == 0.01 for s in seen[first:])
    assert seen[first].penalty > 0 and seen[first - 1].penalty == 0
    changed = {e.name: (e.old, e.new) for e in events if e.kind == "control"}
    assert changed == {"lr": (0.1, 0.01), "dropout": (0.0, 0.5), "l1": (0.0, 0.001),
                       "l2": (0.0, 0.002)}
    assert all(e.position == pytest.approx(first / 4) for e in events if e.kind == "control")
    assert "dropout p 0 → 0.5" in [e.text for e in events]
    assert [s.step for s in seen] == list(range(1, 17))  # one run, never restarted


def test_controls_refuse_bad_values():
    controls = TrainControls()
    with pytest.raises(ValueError, match="dropout p must be in"):
        controls.set("dropout", 1.0)
    with pytest.raises(ValueError, match="cannot change during a run"):
        controls.set("batch_size", 3)
    assert controls.take() == {}


# --------------------------------------------------------------------------- faults

def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_metrics():
    items = run(tiny(epochs=5, lr=50.0, width=32))
    finished = items[-1]
    assert finished.status == "diverged"
    assert "learning rate (50) is probably too high" in finished.message
    steps = of(items, StepMetrics)
    assert steps and all(math.isfinite(s.loss) for s in steps)  # the bad step is not plotted
    assert of(items, RunEvent)[-1].kind == "diverged"
    assert all(torch.isfinite(v).all() for v in finished.state_dict.values())


def test_out_of_memory_is_caught_with_advice(monkeypatch):
    def explode(_model):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(training.loop, "l1_penalty", explode)
    items = run(tiny(l1=0.01, batch_size=64))
    finished = items[-1]
    assert finished.status == "out_of_memory"
    assert "ran out of memory" in finished.message and "smaller batch size" in finished.message
    assert of(items, RunEvent)[-1].kind == "out_of_memory"


def test_stop_request_ends_the_run_with_a_final_report():
    calls = iter(range(10**6))
    items = run(tiny(epochs=50), should_stop=lambda: next(calls) >= 7)
    finished = items[-1]
    assert finished.status == "stopped" and "Stopped by you" in finished.message
    assert len(of(items, StepMetrics)) == 7 and finished.state_dict is not None


def test_bad_settings_raise_before_training():
    with pytest.raises(ValueError, match="dropout p must be in"):
        next(train(tiny(dropout=1.0)))
    with pytest.raises(ValueError, match="not available"):
        next(train(tiny(device="mps")))


def test_warm_start_from_saved_weights():
    cfg = tiny(epochs=8)
    trained = of(run(cfg), RunFinished)[-1].state_dict
    fresh = of(run(tiny(epochs=1)), EpochMetrics)[0]
    warm = of(run(tiny(epochs=1), initial_state=trained), EpochMetrics)[0]
    assert warm.train_loss < fresh.train_loss


# --------------------------------------------------------------------------- augmentation

def use_transform(monkeypatch, transform):
    """Make lab.augment build `transform` whatever the spec says (patched on the real module,
    so it holds whether or not another test imported lab.augment first)."""
    monkeypatch.setattr("lab.augment.build_transform", lambda spec: transform)


def test_augmentation_is_applied_to_training_images_only(monkeypatch):
    calls = []

    def flip(image):
        calls.append(image.shape)
        return image.flip(-1)

    use_transform(monkeypatch, flip)
    spec = {"format": "visual-lab-augment", "version": 1, "steps": []}
    cfg = TrainConfig(data=DataConfig("digits", train_size=64), epochs=1, batch_size=32,
                      augment=spec)
    items = run(cfg)
    assert items[-1].status == "completed"
    assert len(calls) == 1 + 64  # the dry run, then once per training image (not validation)
    assert "augmentation applied to training batches only" in of(items, RunStarted)[0].notes


def test_augmentation_problems_are_named(monkeypatch):
    spec = {"format": "visual-lab-augment", "version": 1, "steps": []}
    assert any("2-D points have no pixels" in p for p in tiny(augment=spec).validate())
    use_transform(monkeypatch, lambda image: image[:, :4, :4])
    cfg = TrainConfig(data=DataConfig("digits", train_size=32), epochs=1, augment=spec)
    with pytest.raises(ValueError, match="turns a 1×8×8 image into 1×4×4"):
        run(cfg)


def test_real_augmentation_pipeline_from_the_augmentation_panel(tmp_path):
    """The Augmentation panel's JSON, saved to a file, trains through lab.augment."""
    from lab import augment

    spec = {"format": "visual-lab-augment", "version": 1, "steps": [
        {"name": "RandomHorizontalFlip", "enabled": True, "params": {"p": 0.5}},
        {"name": "RandomRotation", "enabled": True, "params": {"degrees": [-10, 10]}},
        {"name": "GaussianNoise", "enabled": False, "params": {"mean": 0.0, "sigma": 0.1}},
    ]}
    path = tmp_path / "pipeline.json"
    augment.save_spec(spec, path)
    cfg = TrainConfig(data=DataConfig("digits", train_size=64), epochs=1, batch_size=32,
                      augment=augment.load_spec(path), seed=3)
    items = run(cfg)
    assert items[-1].status == "completed"
    assert "augmentation applied to training batches only" in of(items, RunStarted)[0].notes
    again = run(cfg)
    assert of(items, EpochMetrics)[-1].train_loss == of(again, EpochMetrics)[-1].train_loss


def test_real_augmentation_that_changes_the_size_is_refused():
    spec = {"format": "visual-lab-augment", "version": 1, "steps": [
        {"name": "CenterCrop", "enabled": True, "params": {"size": [4, 4]}}]}
    cfg = TrainConfig(data=DataConfig("digits", train_size=32), epochs=1, augment=spec)
    with pytest.raises(ValueError, match="turns a 1×8×8 image into 1×4×4"):
        run(cfg)


# --------------------------------------------------------------------------- configs

def test_config_json_round_trip_and_errors():
    cfg = tiny(dropout=0.5, scheduler="plateau", data=DataConfig("digits", image_size=16),
               augment={"format": "visual-lab-augment", "version": 1, "steps": []})
    assert TrainConfig.from_json(cfg.dumps()) == cfg
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    assert TrainConfig.from_json({"lr": 0.5}).lr == 0.5  # missing settings take defaults
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainConfig.from_json({"learning_rate": 0.5})
    with pytest.raises(ValueError, match="bad JSON"):
        TrainConfig.from_json("{not json")
    with pytest.raises(ValueError, match="unknown data setting"):
        TrainConfig.from_json({"data": {"colour": 1}})


def test_validate_names_rules():
    problems = " | ".join(TrainConfig(dropout=1.0, lr=0, momentum=0, nesterov=True,
                                      data=DataConfig(val_fraction=0.0), early_stopping=True,
                                      arch="small_cnn").validate())
    for rule in ("dropout p must be in [0, 1)", "learning rate must be above 0",
                 "Nesterov momentum needs momentum above 0",
                 "early stopping watches the validation loss",
                 "the small CNN needs images"):
        assert rule in problems
    assert TrainConfig().validate() == []


def test_differences_describe_what_changed():
    base = tiny()
    title, labels = describe_differences([with_change(base, "dropout", "0.5"), base])
    assert title == "dropout 0.5 vs 0" and labels == ["dropout 0.5", "dropout 0"]
    title, labels = describe_differences([base, with_change(base, "data.train_size", 50),
                                          with_change(base, "optimizer", "adam")])
    assert labels[1] == "train size 50, optimizer sgd"
    assert title == "train size and optimizer"  # three runs: the names, not every value
    title, _ = describe_differences([base, with_change(with_change(base, "dropout", 0.5),
                                                       "epochs", 3)])
    assert title == f"dropout 0, epochs {base.epochs} vs dropout 0.5, epochs 3"
    many = base
    for path, value in (("dropout", 0.5), ("epochs", 3), ("width", 4), ("lr", 0.5),
                        ("batch_size", 8)):
        many = with_change(many, path, value)
    title, labels = describe_differences([base, many, base])
    assert title.endswith("and 2 more settings") and title.count(",") == 2
    assert len(labels[1].split(", ")) == 5  # the labels still give every value
    assert describe_differences([base, base])[0] == "same settings"
    with pytest.raises(ValueError, match="needs an int value"):
        with_change(base, "epochs", "ten")
    with pytest.raises(ValueError, match="no setting"):
        with_change(base, "colour", 1)
    assert with_change(base, "batchnorm", "on").batchnorm is True


# --------------------------------------------------------------------------- property

@settings(max_examples=12)
@given(source=st.sampled_from(["moons", "xor", "blobs", "digits"]),
       arch=st.sampled_from(list(training.ARCHITECTURES)),
       optimizer=st.sampled_from(list(training.OPTIMIZERS)),
       scheduler=st.sampled_from(list(training.SCHEDULERS)),
       depth=st.integers(0, 3), width=st.integers(1, 12),
       dropout=st.floats(0, 1), batchnorm=st.booleans(), lr=st.floats(1e-4, 5),
       momentum=st.floats(0, 0.99), nesterov=st.booleans(), batch_size=st.integers(1, 70),
       l1=st.floats(0, 0.1), l2=st.floats(0, 0.1), early=st.booleans(),
       kfold=st.integers(1, 3), val_fraction=st.floats(0, 0.5),
       train_size=st.integers(0, 60))
def test_any_configuration_trains_or_is_refused_with_a_message(
        source, arch, optimizer, scheduler, depth, width, dropout, batchnorm, lr, momentum,
        nesterov, batch_size, l1, l2, early, kfold, val_fraction, train_size):
    data = DataConfig(source, samples=40, val_fraction=val_fraction, train_size=train_size)
    cfg = TrainConfig(data=data, arch=arch, optimizer=optimizer, scheduler=scheduler,
                      depth=depth, width=width, dropout=dropout, batchnorm=batchnorm, lr=lr,
                      momentum=momentum, nesterov=nesterov, batch_size=batch_size, l1=l1,
                      l2=l2, early_stopping=early, patience=1, kfold=kfold, epochs=2)
    problems = cfg.validate()
    if problems:
        with pytest.raises(ValueError):
            run(cfg)
        return
    items = run(cfg)
    finished = items[-1]
    assert isinstance(finished, RunFinished)
    assert finished.status in ("completed", "early_stopped", "diverged")
    for epoch in of(items, EpochMetrics):
        assert math.isfinite(epoch.train_loss)


# --------------------------------------------------------------------------- BatchNorm batches

def test_batchnorm_with_batches_of_one_is_refused_with_the_rule():
    problems = tiny(batchnorm=True, batch_size=1).validate()
    assert any("BatchNorm" in p and "batch size 2 or more" in p for p in problems)
    with pytest.raises(ValueError, match="batch size 2 or more"):
        next(train(tiny(batchnorm=True, batch_size=1)))


def test_batchnorm_folds_a_lone_last_sample_into_the_previous_batch():
    # 160 moons, no validation: 160 = 3·53 + 1, so the last batch would hold one sample
    cfg = tiny(data=DataConfig("moons", samples=160, val_fraction=0.0), batchnorm=True,
               batch_size=53, epochs=2)
    items = run(cfg)
    assert items[-1].status == "completed"
    steps = [s for s in of(items, StepMetrics) if s.epoch == 1]
    assert len(steps) == 3  # 53, 53, 54
    assert of(items, EpochMetrics)[0].train_loss == pytest.approx(
        sum(s.loss for s in steps[:2]) * 53 / 160 + steps[2].loss * 54 / 160, rel=1e-5)


def test_weight_histograms_count_every_weight_of_each_layer():
    from lab.training.probes import NEAR_ZERO, weight_snapshot

    model = build_model(tiny(arch="mlp", depth=2), (2,), 2)
    with torch.no_grad():
        first = weight_layers(model)[0][1]
        first[0, :] = 0.0  # some exact zeros for the near-zero share
    snapshot = weight_snapshot(model, fold=1, epoch=3, bins=20)
    assert (snapshot.fold, snapshot.epoch) == (1, 3)
    layers = weight_layers(model)
    assert [h.name for h in snapshot.layers] == [name for name, _ in layers]
    top = max(float(w.detach().abs().max()) for _, w in layers)
    for histogram, (_, w) in zip(snapshot.layers, layers, strict=True):
        values = w.detach().flatten().numpy()
        expected, edges = np.histogram(values, bins=20, range=(-top, top))
        np.testing.assert_allclose(histogram.edges, edges)
        assert histogram.counts.sum() == values.size
        assert np.abs(histogram.counts - expected).max() <= 1  # a value on a bin edge
        assert histogram.near_zero == pytest.approx((np.abs(values) < NEAR_ZERO).mean())
        assert histogram.mean_abs == pytest.approx(np.abs(values).mean(), rel=1e-5)
    assert snapshot.layers[0].near_zero > 0


def test_steps_reported_in_groups_give_the_same_numbers(monkeypatch):
    """The steps are measured in groups (one sync each): same losses, accuracies and
    penalties as measured one by one."""
    cfg = tiny(epochs=3, l1=0.001, batch_size=24)  # 128 samples: batches of 24 and 8
    original = training.loop._Run.__init__
    group = [1]

    def grouped(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.sync_every = group[0]

    monkeypatch.setattr(training.loop._Run, "__init__", grouped)
    one_by_one = of(run(cfg), StepMetrics)
    group[0] = 4
    in_groups = of(run(cfg), StepMetrics)
    assert [(s.step, s.loss, s.accuracy, s.penalty) for s in in_groups] == \
        [(s.step, s.loss, s.accuracy, s.penalty) for s in one_by_one]
    assert {s.accuracy for s in one_by_one} != {1.0}  # real, varying accuracies


def test_cnns_train_channels_last_on_the_cpu():
    # the layout that makes CPU training 1.3-1.7x faster (lab.device.place_model)
    cfg = TrainConfig(data=DataConfig("digits"), arch="small_cnn", width=4, epochs=1,
                      device="cpu")
    finished = of(run(cfg), RunFinished)[-1]
    # the second convolution, (8, 4, 3, 3): the first, 1 channel in, is both layouts at once
    second_conv = finished.state_dict["3.weight"]
    assert second_conv.shape == (8, 4, 3, 3)
    assert second_conv.is_contiguous(memory_format=torch.channels_last)


def test_a_data_setting_a_source_ignores_is_no_difference():
    """Moons vs digits differ in the source; noise means nothing for digits (issue 19)."""
    from lab.training import differing_settings

    moons = TrainConfig(data=DataConfig("moons", noise=0.3))
    digits = TrainConfig(data=DataConfig("digits", noise=0.1))
    assert differing_settings([moons, digits]) == ["data.source"]
    assert differing_settings([moons, TrainConfig(data=DataConfig("moons", noise=0.1))]) == [
        "data.noise"]


def test_a_setting_the_model_or_optimiser_ignores_is_no_difference():
    """Momentum means nothing to Adam, the hold-out fraction nothing under K-fold: the run
    list's "Settings that differ" named them (issue 19 item 11)."""
    from dataclasses import replace

    from lab.training import differing_settings

    sgd = TrainConfig(optimizer="sgd", momentum=0.9)
    adam = TrainConfig(optimizer="adam", lr=0.001, momentum=0.5)
    assert differing_settings([sgd, adam]) == ["optimizer", "lr"]
    # momentum still differs between the two SGD runs, and only they are labelled with it
    slow = replace(sgd, momentum=0.5)
    title, labels = describe_differences([sgd, slow, adam])
    assert labels == ["optimizer sgd, LR 0.1, momentum 0.9", "optimizer sgd, LR 0.1, momentum 0.5",
                      "optimizer adam, LR 0.001"]
    folds = TrainConfig(kfold=3, data=DataConfig("moons", val_fraction=0.3))
    assert differing_settings([TrainConfig(), folds]) == ["kfold"]
    digits = TrainConfig(data=DataConfig("digits", noise=0.5, samples=1000))
    assert describe_differences([TrainConfig(), digits]) == ("data moons vs digits",
                                                             ["data moons", "data digits"])
