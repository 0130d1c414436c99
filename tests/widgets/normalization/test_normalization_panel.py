import numpy as np
import pytest
import torch

from lab.normalization.experiment import ExperimentSetup
from lab.normalization.view import NormView
from widgets.kit.panel import AppState
from widgets.normalization.panel import NormalizationPanel


@pytest.fixture
def panel(qtbot):
    widget = NormalizationPanel(AppState())
    qtbot.addWidget(widget)
    widget.resize(1280, 740)
    widget.show()
    qtbot.waitUntil(widget.has_drawn, timeout=60_000)
    yield widget
    widget.shutdown()


def test_method_and_groups_change_the_shared_statistics(panel, qtbot):
    assert panel.problems() == []
    assert len(np.unique(panel._result.ids)) == 4  # BatchNorm: one group per channel
    panel.method.setValue("group")
    assert panel.groups.values() == [1, 2, 4]  # only divisors of C = 4
    panel.groups.setValue(4)
    panel.flush()
    assert len(np.unique(panel._result.ids)) == 4 * 4  # G = C: one per sample and channel
    panel.channels.setValue(6)
    panel.flush()
    assert panel.groups.values() == [1, 2, 3, 6] and panel.problems() == []
    assert panel._result.x.shape == (4, 6, 6, 6)
    panel.sizes.setText("two, four")  # the experiment's box: refused there, nowhere else
    panel.start_experiment()
    assert "batch sizes" in panel.problems()[0] and not panel.jobs["batches"].busy()
    panel.side.setValue(5)
    panel.flush()
    assert panel._result.x.shape == (4, 6, 5, 5)


def test_click_a_cell_writes_its_normalization(panel, qtbot):
    panel.method.setValue("instance")
    panel.flush()
    rect = panel.cube.cell_rect(2, 1, 3, 4)
    qtbot.mouseClick(panel.cube, torch_button(), pos=rect.center().toPoint())
    panel.flush()
    assert panel.cube.selected() == (2, 1, 3, 4)
    text = panel.explanation.text()
    y = panel._result.y[2, 1, 3, 4]
    assert "x[2, 1, 3, 4]" in text and "m = H·W = 6·6 = 36" in text and f"{y:.4f}" in text
    assert panel.cube._members.sum() == 36


def torch_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_gamma_and_beta_scale_and_shift_the_channel(panel, qtbot):
    panel.affine_channel.setValue(2)
    panel.gamma.setValue(2.0)
    panel.beta.setValue(0.5)
    panel.flush()
    y = panel._result.y[:, 2].astype(np.float64)
    assert y.mean() == pytest.approx(0.5, abs=1e-4) and y.std() == pytest.approx(2.0, abs=1e-3)
    assert panel.params().gamma == (1.0, 1.0, 2.0)  # trailing γ = 1 are the default
    panel.affine_channel.setValue(0)
    assert panel.gamma.value() == 1.0


def test_saved_view_restores_every_control(panel, qtbot):
    view = NormView(source="shapes", batch=3, channels=6, side=5, seed=3, method="group",
                    groups=3, eps=1e-3, gamma=(1.0, 2.0, 1.0, 1.0, 0.5, 1.0),
                    beta=(0.0, 0.0, 1.0, 0.0, 0.0, 0.0), cell=(2, 5, 4, 1), momentum=0.3,
                    track_running_stats=False, steps=4, scaling_source="digits",
                    experiment_sizes=(2, 8), experiment_epochs=2, tab="running")
    assert panel.set_params(view)
    panel.flush()
    assert panel.params() == view and panel.problems() == []
    assert panel.tabs.currentIndex() == 1 and panel.cube.selected() == (2, 5, 4, 1)
    for number, example in panel.examples().items():
        assert panel.set_params(example.params), number
        panel.flush()
        assert panel.problems() == [], number
    assert not panel.set_params(NormView(cell=(9, 0, 0, 0)))
    assert "outside the tensor" in panel.problems()[0]


def test_running_statistics_step_and_eval_differs(panel, qtbot):
    panel.tabs.setCurrentIndex(1)
    panel.step_batches(10)
    panel.flush()
    assert panel.steps_label.text().startswith("10 batches seen")
    assert "running_mean = (1 − 0.1)" in panel.update_label.text()
    difference = panel.diff_matrix.values()
    assert np.abs(difference).max() > 0
    np.testing.assert_allclose(difference, panel.eval_matrix.values()
                               - panel.train_matrix.values(), atol=1e-9)
    panel.track.setChecked(False)
    panel.flush()
    assert np.abs(panel.diff_matrix.values()).max() == 0
    assert "Expected more than 1 value per channel" in panel.single_note.text()


def test_feature_scaling_is_sent_to_augmentation(panel, qtbot):
    from widgets.augment.panel import AugmentPanel

    augment = AugmentPanel(panel.state)
    qtbot.addWidget(augment)
    panel.tabs.setCurrentIndex(2)
    panel.flush()
    stats = panel._scaling
    image = panel.state.image
    pixels = torch.from_numpy(np.array(image.pixels, np.float64)) / 255
    assert stats.mean[0] == pytest.approx(float(pixels[..., 0].mean()), abs=1e-6)
    panel.send_normalize.click()
    steps = [s for s in augment.spec()["steps"] if s["name"] == "Normalize"]
    assert steps and steps[0]["params"]["mean"] == stats.rounded()[0]
    augment.shutdown()


@pytest.mark.slow
def test_small_batch_experiment_runs_in_the_background(panel, qtbot):
    panel.tabs.setCurrentIndex(3)
    panel.sizes.setText("1, 2")
    panel.start_experiment()  # batch size 1: BatchNorm cannot train on it
    assert "from 2 to 256" in panel.problems()[0] and panel.start_button.isEnabled()
    panel.start_experiment(ExperimentSetup(sizes=(2, 4), epochs=1, train_size=16,
                                           min_updates=0))
    assert not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=120_000)
    points = panel.experiment_points()
    assert sorted(points["batch"]) == [2, 4] and sorted(points["group"]) == [2, 4]
    assert "batch 2: BN" in panel.batches_caption.text()
    ticks = panel.error_plot.getAxis("bottom")._tickLevels[0]  # the sizes run, labelled
    assert [label for _position, label in ticks] == ["2", "4"]
    legend = panel.error_plot.getPlotItem().legend  # top right, clear of batch 2's errors
    assert legend.opts["offset"][0] < 0


def test_a_tab_shown_before_the_warm_up_ends_still_draws_everything(qtbot):
    from widgets.normalization.panel import TABS

    widget = NormalizationPanel(AppState())
    qtbot.addWidget(widget)
    widget.resize(1280, 740)
    widget.show()
    widget.tabs.setCurrentIndex(TABS.index("scaling"))  # before the warm-up's end
    widget.flush()
    qtbot.waitUntil(widget.has_drawn, timeout=60_000)
    assert widget._result is not None and "values per channel" in widget.scaling_label.text()
    widget.shutdown()
