import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt

from lab import data as data_module
from lab import training
from lab.data import DataConfig
from lab.training import TrainConfig
from lab.training.runs import default_db_path
from widgets.kit.panel import AppState
from widgets.kit.settings import data_dir
from widgets.kit.workers import running_threads
from widgets.training.panel import TrainingPanel
from widgets.training.runs import DuplicateDialog

TINY = TrainConfig(data=DataConfig("moons", samples=100), epochs=5, width=8)


def make_panel(qtbot, demo=False):
    panel = TrainingPanel(AppState(), demo=demo)
    qtbot.addWidget(panel)
    panel.resize(1300, 860)
    panel.show()
    qtbot.waitUntil(panel.has_drawn, timeout=60_000)
    return panel


@pytest.fixture
def panel(qtbot):
    widget = make_panel(qtbot)
    yield widget
    widget.shutdown()


def wait_idle(qtbot, panel, timeout=60_000):
    qtbot.waitUntil(lambda: panel.running is None and not panel.queue, timeout=timeout)
    panel.redraw()


def train_tiny(qtbot, panel, config=TINY):
    panel.form.set_config(config)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, panel)
    return panel.records[max(panel.records)]


def test_first_view_previews_the_data(panel):
    assert panel.records == {} and "No runs yet" in panel.legend.text()
    scatter = panel.plots.boundary.scatter
    assert len(scatter.data) == 400  # the default two moons
    assert panel.plots.boundary.title.text() == "Data"
    assert panel.plots.corner.currentWidget() is panel.plots.gap


def test_the_plot_rows_share_the_height_as_laid_out(qtbot, panel):
    """Loss / accuracy / boundary get the larger row (stretch 3:2), whatever the captions
    hold: a height-for-width caption once switched the grid to a mode that ignores it."""
    panel.resize(1030, 720)  # the panel in a 1280×768 window
    qtbot.wait(50)
    assert panel.plots.loss.height() >= 1.2 * panel.plots.lr.height()  # stretch 3 : 2
    assert panel.plots.boundary.caption.height() >= panel.plots.boundary.caption.heightForWidth(
        panel.plots.boundary.caption.width())


def test_starting_the_first_run_does_not_shift_the_plots(qtbot, panel):
    """The legend's first line (run swatches) is as tall as "No runs yet": a taller one
    re-laid-out the whole panel on Start, moving every plot and repainting it."""
    panel.form.set_config(TINY)
    before = {name: getattr(panel.plots, name).geometry() for name in ("loss", "lr", "gap")}
    legend_height = panel.legend.height()
    panel.start()
    qtbot.waitUntil(lambda: "#1" in panel.legend.text(), timeout=60_000)  # the run's swatch
    wait_idle(qtbot, panel)
    assert panel.legend.height() == legend_height
    assert {name: getattr(panel.plots, name).geometry() for name in before} == before


def test_a_run_trains_draws_and_is_saved(qtbot, panel):
    record = train_tiny(qtbot, panel)
    assert record.status == "completed" and len(record.epochs) == 5
    x, y = panel.plots.loss.runs[record.id].curves["val"].getData()
    assert list(x) == [1, 2, 3, 4, 5]
    assert np.allclose(y, [e.val_loss for e in record.epochs])
    assert panel.plots.boundary.heatmap.image is not None
    assert panel.plots.weights.curves[record.id].getData()[1].sum() == pytest.approx(1.0)
    gap_x, gap_y = panel.plots.gap.runs[record.id].getData()
    assert np.allclose(gap_y, [e.val_loss - e.train_loss for e in record.epochs])
    assert panel.plots.loss.runs[record.id].symbols  # a finished run marks each epoch
    assert panel.run_list.checked_ids() == [record.id]
    assert "Finished 5 epochs" in panel.progress_label.text()
    assert panel.state.device_label.startswith("CPU") or "CUDA" in panel.state.device_label
    db = sqlite3.connect(default_db_path(data_dir()))
    assert db.execute("SELECT status FROM runs").fetchall() == [("completed",)]
    assert db.execute("SELECT COUNT(*) FROM epochs").fetchone()[0] == 5
    db.close()
    assert panel.checkpoint_path(record.id).is_file()
    assert not running_threads()


def test_progress_shows_epoch_step_speed_and_eta(qtbot, panel):
    panel.form.set_config(TrainConfig(data=DataConfig("moons", samples=2000), epochs=400,
                                      width=8))
    panel.start()
    qtbot.waitUntil(lambda: panel.running is not None and panel.running.last_step is not None,
                    timeout=30_000)
    panel.redraw()
    text = panel.progress_label.text()
    assert "epoch " in text and "/400" in text and "step " in text
    assert "samples/s" in text and "ETA " in text
    assert panel.progress.value() >= 0
    panel.stop()
    wait_idle(qtbot, panel)


def test_demo_trains_two_runs_and_compares_them(qtbot):
    panel = make_panel(qtbot, demo=True)  # has_drawn waits for the demo (or the hold time)
    try:
        wait_idle(qtbot, panel)
        assert [r.status for r in panel.records.values()] == ["completed", "completed"]
        assert "Comparing dropout 0 vs 0.5" in panel.legend.text()
        first, second = sorted(panel.records)
        assert panel.records[second].parent_id == first
        assert sorted(panel.run_list.checked_ids()) == [first, second]
        assert len(panel.plots.loss.runs) == 2
        legend = [label.text for _, label in panel.plots.loss.legend.items]
        assert legend == ["#1: dropout 0", "#2: dropout 0.5"]
        assert panel.live_note.text().startswith("First visit")
        panel.form.set_config(TINY)
        assert panel.start()  # the user's own run: the note about the examples goes
        assert panel.live_note.text() == ""
        wait_idle(qtbot, panel)
    finally:
        panel.shutdown()


def test_second_start_is_queued(qtbot, panel):
    panel.form.set_config(TrainConfig(data=DataConfig("moons", samples=400), epochs=15,
                                      width=8))
    assert panel.start()
    assert panel.is_training() and panel.start_button.text() == "Queue"
    assert panel.start()
    assert len(panel.queue) == 1 and "Queued" in panel.progress_label.text()
    wait_idle(qtbot, panel)
    assert [r.status for r in panel.records.values()] == ["completed", "completed"]


LONG = TrainConfig(data=DataConfig("moons", samples=2000), epochs=300, width=8)


def start_long_run(qtbot, panel, steps=3):
    """Start a run far longer than any test, and wait until it has made `steps` steps."""
    panel.form.set_config(LONG)
    panel.start()
    record = panel.running
    qtbot.waitUntil(lambda: len(record.steps) > steps, timeout=30_000)
    return record


def test_live_changes_reach_the_run_and_are_marked(qtbot, panel):
    record = start_long_run(qtbot, panel, 5)
    panel.form.dropout.setValue(0.5)
    panel.form.lr.setValue(0.01)
    qtbot.waitUntil(lambda: len([e for e in record.events if e.kind == "control"]) == 2,
                    timeout=30_000)
    panel.redraw()
    assert {e.name for e in record.events if e.kind == "control"} == {"dropout", "lr"}
    assert panel.plots.loss.mark_kinds(record.id).count("control") == 2
    qtbot.waitUntil(lambda: record.last_step.lr == 0.01, timeout=30_000)
    panel.stop()
    wait_idle(qtbot, panel)
    assert record.status == "stopped" and record.epochs  # what it learned is kept


def test_pause_and_resume(qtbot, panel):
    record = start_long_run(qtbot, panel)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.worker.is_paused() and panel.pause_button.text() == "Resume"
    qtbot.wait(300)
    frozen = len(record.steps)
    qtbot.wait(300)
    assert len(record.steps) <= frozen + 1
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(record.steps) > frozen + 5, timeout=30_000)
    panel.stop()
    wait_idle(qtbot, panel)


def test_leaving_the_panel_mid_run_stops_and_joins(qtbot, panel):
    record = start_long_run(qtbot, panel)
    panel.hide()  # what switching to another panel does
    assert not running_threads()
    qtbot.waitUntil(lambda: panel.running is None, timeout=10_000)
    assert record.status == "stopped"
    panel.show()
    assert "was stopped when you left" in panel.banner.message()


def test_shutdown_mid_run_leaves_no_thread(qtbot, panel):
    start_long_run(qtbot, panel, 2)
    panel.shutdown()
    assert not running_threads()


def test_nan_loss_shows_a_message_and_keeps_good_curves(qtbot, panel):
    record = train_tiny(qtbot, panel, TrainConfig(data=DataConfig("moons", samples=160),
                                                  epochs=5, width=32, lr=50.0))
    assert record.status == "diverged"
    assert "probably too high" in panel.banner.message()
    losses = record.steps.column("loss")
    assert len(losses) and np.isfinite(losses).all()


def test_invalid_settings_are_refused_with_the_rule(qtbot, panel):
    panel.form.set_config(TrainConfig(data=DataConfig("moons", val_fraction=0.0),
                                      early_stopping=True))
    assert "early stopping watches the validation loss" in panel.banner.message()
    assert not panel.start() and panel.records == {} and not panel.is_training()
    panel.form.set_config(TrainConfig(data=DataConfig("mnist")))
    assert "needs a folder" in panel.banner.message()


def test_missing_data_set_fails_with_advice(qtbot, panel, tmp_path):
    record = train_tiny(qtbot, panel, TrainConfig(data=DataConfig("cifar10",
                                                                  folder=str(tmp_path))))
    assert record.status == "failed"
    assert "CIFAR-10 is not in" in panel.banner.message()
    assert "Download if missing" in panel.banner.message()


def test_checkpoint_round_trip_and_errors(qtbot, panel, tmp_path):
    record = train_tiny(qtbot, panel)
    panel.run_list.select(record.id)
    assert panel.save_action.isEnabled()
    path = tmp_path / "moons.pt"
    assert panel.save_checkpoint_of(record.id, path)
    panel.form.set_config(TrainConfig())
    width_before = panel.minimumSizeHint().width()
    start_before = panel.start_button.mapTo(panel, panel.start_button.rect().topLeft())
    assert panel.load_checkpoint_file(path)
    assert panel.form.config() == TINY and panel.warm_start.isVisible()
    # the checkbox that appears widens nothing (the window grew 34 px) and moves nothing
    qtbot.wait(20)
    assert panel.minimumSizeHint().width() <= width_before
    assert panel.start_button.mapTo(panel, panel.start_button.rect().topLeft()) == start_before
    assert "Start continues from its weights" in panel.banner.message()
    warm = train_tiny(qtbot, panel, TINY)
    assert warm.epochs[0].train_loss < record.epochs[0].train_loss
    # the settings no longer fit the weights: refused before training
    panel.form.width_slider.setValue(16)
    assert not panel.start()
    assert "do not fit these settings" in panel.banner.message()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert not panel.load_checkpoint_file(bad)
    assert "Could not load the checkpoint" in panel.banner.message()


def test_duplicate_with_one_change_overlays_both(qtbot, panel):
    record = train_tiny(qtbot, panel)
    panel.run_list.select(record.id)
    dialog = DuplicateDialog(record, panel)
    qtbot.addWidget(dialog)
    dialog.choose("dropout", "0.5")
    assert dialog.result_config().dropout == 0.5
    assert dialog.change_text() == "dropout 0 → 0.5"
    dialog.choose("optimizer", "adam")
    assert dialog.result_config().optimizer == "adam"
    assert panel.duplicate(record.id, "dropout", "0.5")
    wait_idle(qtbot, panel)
    copy = panel.records[max(panel.records)]
    assert copy.parent_id == record.id and copy.change == "dropout 0 → 0.5"
    assert sorted(panel.run_list.checked_ids()) == [record.id, copy.id]
    assert "Comparing dropout 0 vs 0.5" in panel.legend.text()
    assert len(panel.plots.loss.runs) == 2 and len(panel.plots.weights.curves) == 2
    assert copy.id in panel.plots.boundary.contours or record.id in \
        panel.plots.boundary.contours  # the other run's boundary as a line
    assert not panel.duplicate(record.id, "epochs", "many")
    assert "needs an int value" in panel.banner.message()


def test_duplicate_offers_only_settings_that_apply_to_the_run(qtbot):
    """A digits run trained with Adam: changing its noise or momentum would train the same
    run again, so the dialog does not offer them (issue 19 item 11)."""
    from types import SimpleNamespace

    config = TrainConfig(data=DataConfig("digits"), optimizer="adam", lr=0.001)
    dialog = DuplicateDialog(SimpleNamespace(name="#1", config=config))
    qtbot.addWidget(dialog)
    offered = {dialog.setting.itemData(i) for i in range(dialog.setting.count())}
    assert {"data.noise", "data.samples", "momentum", "gamma", "patience"}.isdisjoint(offered)
    assert {"dropout", "lr", "optimizer", "data.source", "data.train_size"} <= offered


def test_runs_persist_across_restarts(qtbot):
    first = make_panel(qtbot)
    record = train_tiny(qtbot, first)
    first.shutdown()
    first.close()
    second = make_panel(qtbot)
    try:
        loaded = second.records[record.id]
        assert loaded.status == "completed" and len(loaded.epochs) == 5
        assert second.run_list.checked_ids() == [record.id]
        assert record.id in second.plots.loss.runs
        assert second.plots.boundary.heatmap.image is not None  # its saved boundary
    finally:
        second.shutdown()


def test_csv_export(qtbot, panel, tmp_path):
    record = train_tiny(qtbot, panel)
    path = tmp_path / "runs.csv"
    assert panel.export_csv(path) == 5
    lines = path.read_text().splitlines()
    assert lines[0].startswith("run_id,run_name,fold,epoch,train_loss")
    assert lines[1].startswith(f"{record.id},#{record.id},0,1,")
    assert panel.export_csv(tmp_path / "steps.csv", "steps") == len(record.steps)


def test_kfold_run_shows_folds_and_band(qtbot, panel):
    config = TrainConfig(data=DataConfig("moons", samples=90), epochs=3, width=8, kfold=3)
    record = train_tiny(qtbot, panel, config)
    assert record.summary is not None and len(record.folds) == 3
    x, mean, high = panel.plots.kfold.band(record.id)
    assert list(x) == [1, 2, 3] and (high >= mean).all()
    title = panel.plots.kfold.getPlotItem().titleLabel.text
    assert f"K-fold accuracy — #{record.id}: " in title and "% ± " in title
    assert "3-fold validation accuracy" in panel.plots.kfold.toolTip()
    assert panel.plots.corner.currentWidget() is panel.plots.kfold
    # a long title is cut, never a minimum width that pushes the grid past the window
    assert panel.plots.kfold.minimumSizeHint().width() <= 260


def test_header_names_what_differs_across_three_runs_without_cutting_it(qtbot, panel):
    for config in (TINY, training.with_change(TINY, "dropout", 0.5),
                   training.with_change(training.with_change(TINY, "width", 4), "epochs", 3)):
        train_tiny(qtbot, panel, config)
    for run_id in panel.records:
        panel.run_list.set_checked(run_id, True)
    panel.resize(1000, 700)
    panel.redraw()
    qtbot.wait(50)
    assert "Comparing width, dropout and epochs" in panel.legend.text()
    assert panel.legend.height() >= panel.legend.heightForWidth(panel.legend.width())
    # runs that differ in many settings: the header names the runs, the tooltip says how
    other = TrainConfig(data=DataConfig("circles", samples=80, noise=0.1), epochs=2, width=6,
                        depth=1, lr=0.05, batch_size=16, optimizer="adam")
    record = train_tiny(qtbot, panel, other)
    panel.run_list.set_checked(record.id, True)
    panel.redraw()
    assert "more settings" in panel.legend.text() and "data circles" not in panel.legend.text()
    assert "data circles" in panel.legend.toolTip()


def test_image_runs_show_the_same_images_in_both_modes(qtbot, panel):
    config = TrainConfig(data=DataConfig("digits", train_size=128), arch="small_cnn",
                         width=4, epochs=1, dropout=0.5, batch_size=64)
    record = train_tiny(qtbot, panel, config)
    view = panel.plots.boundary
    assert view.stack.currentWidget() is view.images
    assert len(view.images.labels()) == 12
    montage = view.images.image.image
    assert montage.shape[0] > 3 * 8 and montage.shape[1] > 4 * 8  # 3 rows × 4 columns
    eval_titles = view.images.labels()
    view.train_mode.setChecked(True)
    panel.redraw()
    assert "train()" in view.title.text() and "eval()" not in view.title.text()
    modes = record.modes
    expected = [f"{int(p)} " for p in modes.train_pred[:12]]
    assert [t[: len(e)] for t, e in zip(view.images.labels(), expected, strict=True)] == expected
    assert eval_titles != view.images.labels() or modes.differ == 0
    assert view.images.image.image is montage  # same pixels: the picture is not redone
    assert "dropout (p = 0.5) only drops units in train()" in view.caption.text()


def test_train_mode_toggle_redraws_the_boundary(qtbot, panel):
    record = train_tiny(qtbot, panel, TrainConfig(data=DataConfig("moons", samples=100),
                                                  epochs=3, width=16, dropout=0.7))
    view = panel.plots.boundary
    eval_image = view.heatmap.image.copy()
    view.train_mode.setChecked(True)
    panel.redraw()
    assert not np.array_equal(eval_image, view.heatmap.image)
    assert record.boundary.train_probs.shape == (64, 64, 2)


def test_redraws_are_coalesced(qtbot, panel):
    before = panel.redraw_count
    for _ in range(100):
        panel.request_redraw()
    qtbot.wait(300)
    assert panel.redraw_count - before == 1


def test_augmentation_pipeline_is_loaded_through_lab_augment(qtbot, panel, tmp_path):
    from lab import augment

    spec = {"format": "visual-lab-augment", "version": 1,
            "steps": [{"name": "RandomHorizontalFlip", "enabled": True, "params": {"p": 0.5}}]}
    path = tmp_path / "flip.json"
    augment.save_spec(spec, path)
    panel.form.set_config(TrainConfig(data=DataConfig("digits", train_size=64), epochs=1))
    assert panel.load_augmentation(path)
    assert panel.form.config().augment == augment.load_spec(path)
    assert "RandomHorizontalFlip" in panel.form.augment_label.text()
    panel.form.source.setValue("moons")  # points cannot be augmented: the rule is named
    assert "2-D points have no pixels" in panel.banner.message()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert not panel.load_augmentation(broken)
    assert "broken.json is not an augmentation pipeline" in panel.banner.message()


def test_any_control_values_never_raise(qtbot):
    panel = make_panel(qtbot)
    form = panel.form

    @settings(max_examples=25)
    @given(source=st.sampled_from(list(data_module.SOURCES)), samples=st.integers(-10, 9000),
           noise=st.floats(-1, 3), image_size=st.integers(-5, 200),
           arch=st.sampled_from(list(training.ARCHITECTURES)), depth=st.integers(-2, 40),
           width=st.integers(-2, 600), dropout=st.floats(-1, 2),
           optimizer=st.sampled_from(list(training.OPTIMIZERS)), lr=st.floats(-1, 50),
           l1=st.floats(-1, 1), l2=st.floats(-1, 1), momentum=st.floats(-1, 2),
           scheduler=st.sampled_from(list(training.SCHEDULERS)), kfold=st.integers(-1, 20),
           val=st.floats(-1, 1), early=st.booleans(), nesterov=st.booleans(),
           batchnorm=st.booleans(), train_size=st.integers(-5, 70_000),
           mode=st.booleans(), smoothing=st.floats(-1, 2), steps=st.booleans())
    def drive(source, samples, noise, image_size, arch, depth, width, dropout, optimizer, lr,
              l1, l2, momentum, scheduler, kfold, val, early, nesterov, batchnorm,
              train_size, mode, smoothing, steps):
        form.source.setValue(source)
        for control, value in ((form.samples, samples), (form.noise, noise),
                               (form.image_size, image_size), (form.depth_slider, depth),
                               (form.width_slider, width), (form.dropout, dropout), (form.lr, lr),
                               (form.l1, l1), (form.l2, l2), (form.momentum, momentum),
                               (form.kfold, kfold), (form.val_fraction, val),
                               (form.train_size, train_size),
                               (panel.plots.smoothing, smoothing)):
            control.setValue(value)
            assert control.minimum() <= control.value() <= control.maximum()
        form.arch.setValue(arch)
        form.optimizer.setValue(optimizer)
        form.scheduler.setValue(scheduler)
        form.early.setChecked(early)
        form.nesterov.setChecked(nesterov)
        form.batchnorm.setChecked(batchnorm)
        panel.plots.boundary.train_mode.setChecked(mode)
        panel.plots.show_steps.setChecked(steps)
        panel.redraw()
        problems = form.config().validate()
        assert bool(problems) == bool(panel.banner.problems())
        assert panel.banner.problems() == problems

    try:
        drive()
    finally:
        panel.shutdown()


def test_code_dialog_shows_the_plain_pytorch_loop(qtbot, panel):
    panel.form.dropout.setValue(0.5)
    dialog = panel.show_code()
    qtbot.addWidget(dialog)
    code = dialog.code_view.code()
    assert "torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9" in code
    assert '"dropout": 0.5' in code and "model.eval()" in code
    dialog.close()


@pytest.mark.parametrize("config", [
    TrainConfig(),
    TrainConfig(data=DataConfig("digits", image_size=16, train_size=300, val_fraction=0.3,
                                seed=4), arch="small_cnn", width=24, dropout=0.35,
                batchnorm=True, optimizer="adamw", lr=0.003, batch_size=48, epochs=12,
                l1=1e-5, l2=0.002, scheduler="step", step_size=4, gamma=0.25, seed=7),
    TrainConfig(data=DataConfig("spirals", samples=1200, noise=0.35, classes=4), depth=20,
                width=64, activation="tanh", optimizer="rmsprop", momentum=0.5,
                scheduler="plateau", plateau_patience=2, plateau_factor=0.3,
                early_stopping=True, patience=7, min_delta=0.002, restore_best=False,
                kfold=5),
    TrainConfig(data=DataConfig("folder", folder="/data/pets", image_size=48, grayscale=True),
                arch="resnet", nesterov=True, device="cpu"),
])
def test_form_shows_and_reads_back_every_setting(qtbot, config):
    from widgets.training.form import TrainForm

    form = TrainForm()
    qtbot.addWidget(form)
    form.set_config(config)
    assert form.config() == config


def test_log_slider_steps_by_factors_of_ten(qtbot):
    from widgets.kit.controls import LogSlider

    slider = LogSlider("λ", 1e-6, 0.1, 0.0, allow_zero=True)
    qtbot.addWidget(slider)
    assert slider.value() == 0.0 and slider.slider.value() == slider.slider.minimum()
    slider.slider.setValue(slider.slider.minimum() + 1)
    assert slider.value() == 1e-6
    slider.slider.setValue(slider.slider.minimum() + 1 + 6)  # one decade (6 stops) up
    assert slider.value() == pytest.approx(1e-5)
    slider.setValue(0.0032)
    assert slider.value() == pytest.approx(0.0032)


def test_download_progress_reaches_the_panel(qtbot, panel, tmp_path, monkeypatch):
    """The torchvision download path end to end, fed from a local mirror (offline here)."""
    from tests.lab.test_data import serve_fake_mnist

    serve_fake_mnist(tmp_path, monkeypatch, 60)
    messages = []
    original = panel.progress_label.setText
    monkeypatch.setattr(panel.progress_label, "setText",
                        lambda text: (messages.append(text), original(text)))
    record = train_tiny(qtbot, panel, TrainConfig(
        data=DataConfig("mnist", folder=str(tmp_path / "sets"), download=True), epochs=1,
        width=8))
    assert record.status == "completed" and record.started.input_shape == (1, 28, 28)
    assert any(m.startswith("Downloading MNIST") and " MB" in m for m in messages)
    assert (tmp_path / "sets" / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def test_examples_menu_trains_a_prepared_comparison_in_the_form(qtbot, panel):
    from lab.training.examples import L1_VS_L2

    action = next(a for a in panel.examples_button.menu().actions()
                  if a.text() == L1_VS_L2.title)
    action.trigger()
    assert panel.form.config() == L1_VS_L2.base  # the learner sees what the runs use
    assert panel.is_training() and len(panel.queue) == 2
    first = panel.running.id
    assert [job["parent_id"] for job in panel.queue] == [first, first]
    assert [job["change"] for job in panel.queue] == ["L1 λ 0 → 0.002", "L2 λ 0 → 0.02"]
    assert panel.live_note.toolTip() == L1_VS_L2.lesson
    panel.stop()
    wait_idle(qtbot, panel)


def test_pause_stop_start_leaves_a_button_that_pauses(qtbot, panel):
    """Pause → Stop → Start: the new run's button read "Resume" and clicking it paused."""
    start_long_run(qtbot, panel)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    panel.stop()
    wait_idle(qtbot, panel)
    record = start_long_run(qtbot, panel)
    assert panel.pause_button.text() == "Pause" and not panel.pause_button.isChecked()
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.worker.is_paused() and panel.pause_button.text() == "Resume"
    panel.stop()
    wait_idle(qtbot, panel)
    assert record.status == "stopped"


def test_switching_optimiser_suggests_its_usual_learning_rate(qtbot):
    from widgets.training.form import TrainForm

    form = TrainForm()
    qtbot.addWidget(form)
    assert form.config().optimizer == "sgd" and form.lr.value() == 0.1
    form.optimizer.setValue("adam")  # SGD's 0.1 untouched: Adam's usual rate replaces it
    assert form.config().lr == 0.001
    assert "Adam's usual 0.001" in form.lr_hint.text()
    form.lr.setValue(0.005)  # the learner's own choice is kept, the usual one only said
    form.optimizer.setValue("rmsprop")
    assert form.config().lr == 0.005
    assert "RMSprop usually starts at lr 0.01" in form.lr_hint.text()
    # the hint follows the rate it speaks of, and a loaded configuration clears it
    form.lr.setValue(0.01)
    assert form.lr_hint.text() == "Learning rate at RMSprop's usual 0.01."
    form.lr.setValue(0.02)
    assert form.lr_hint.text() == "RMSprop usually starts at lr 0.01; yours is 0.02."
    form.set_config(TrainConfig())
    assert form.lr_hint.text() == ""


def test_a_banner_coming_and_going_moves_no_control(qtbot, panel):
    """A NaN / warning banner pushed the panel down ~40 px: clicks landed on the wrong
    control. Its place is kept: Start and the form stay where they are."""
    def positions():
        return [w.mapTo(panel, w.rect().topLeft()) for w in
                (panel.start_button, panel.form.optimizer, panel.run_list)]

    before = positions()
    panel.banner.show_message("the loss became NaN at epoch 3: lower the learning rate")
    qtbot.wait(20)
    assert panel.banner.isVisible() and positions() == before
    panel.banner.clear()
    qtbot.wait(20)
    assert positions() == before


def test_panel_fits_a_1280_pixel_window(panel):
    """Beside the navigation list (about 240 px), the panel needs at most the rest of a
    1280-pixel screen: the Examples button and the warm-start box must not widen it."""
    assert panel.minimumSizeHint().width() <= 1280 - 240


def test_choosing_digits_after_a_moons_run_previews_digits_not_the_old_boundary(qtbot, panel):
    train_tiny(qtbot, panel)  # a moons run: its boundary is on screen
    assert panel.plots.boundary.title.text().startswith("Boundary")
    panel.form.source.setValue("digits")
    qtbot.waitUntil(lambda: "are images" in panel.plots.boundary.caption.text(),
                    timeout=10_000)
    assert panel.plots.boundary.title.text() == "Data"
    assert "background will show" not in panel.plots.boundary.caption.text()
    # the preview is the digits themselves, not an empty plane with x₁ and x₂ axes
    boundary = panel.plots.boundary
    assert boundary.stack.currentWidget() is boundary.images
    assert boundary.images.labels() == [str(d) for d in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1)]
    assert boundary.images.image.image.shape[:2] > (16, 16)  # 12 8×8 images in a montage
    assert "its first 12 images and their classes" in boundary.caption.text()
    panel.form.source.setValue("moons")  # back to points: the plane and the form's moons
    qtbot.waitUntil(lambda: boundary.stack.currentWidget() is boundary.plot, timeout=10_000)
    assert len(boundary.scatter.data) == 100 and boundary.heatmap.image is None
