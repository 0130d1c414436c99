"""Every tab's exported script, run in a fresh interpreter where `lab` and `widgets` are not
importable, prints the panel's numbers (one subprocess for all of them)."""

import re

import numpy as np
import pytest

from lab import images as lab_images
from lab import normalization as norm
from lab.normalization import running, scaling, tensors
from lab.normalization.code import normalization_code
from lab.normalization.code_running import running_code
from lab.normalization.code_scaling import scaling_code
from lab.normalization.experiment import ExperimentPoint, ExperimentSetup, batch_size_experiment
from lab.normalization.experiment_code import experiment_code
from lab.normalization.view import NormView


def _numbers(line: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", line.split(":", 1)[1])]


def _line(output: str, start: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(start))


@pytest.mark.slow
def test_every_tabs_export_reproduces_the_panel_without_lab(tmp_path):
    from tests.plain_python import run_plain

    scripts, checks = [], []

    # Which axes, every method: torch equals the NumPy reference; the clicked cell's output
    for method in norm.METHODS:
        view = NormView(method=method, batch=3, channels=4, side=3, groups=2,
                        gamma=(1.5, 0.5, -1.0, 2.0), beta=(0.1, -0.2, 0.0, 0.3),
                        cell=(2, 3, 1, 2))
        shown = norm.normalize(tensors.view_tensor(view), view)
        scripts.append(normalization_code(view, shown.x))

        def check_method(output, value=float(shown.y[view.cell])):
            lines = output.splitlines()
            assert float(lines[0].split(":")[1]) < 1e-5  # torch vs NumPy
            assert lines[1].startswith("y[2, 3, 1, 2] =")
            assert float(lines[1].split("=")[1]) == pytest.approx(value, rel=1e-6)
        checks.append(check_method)

    # Which axes, before / after: BatchNorm's channel 3 ends with mean β = 0.3, std γ = 2
    axes = NormView(method="batch", batch=3, channels=4, side=3,
                    gamma=(1.5, 0.5, -1.0, 2.0), beta=(0.1, -0.2, 0.0, 0.3), cell=(2, 3, 1, 2))
    result = norm.normalize(tensors.view_tensor(axes), axes)
    scripts.append(normalization_code(axes, result.x))
    after = result.y[result.ids == result.ids[axes.cell]].astype(np.float64)

    def check_axes(output):
        mean, std = _numbers(_line(output, "the clicked cell's"))
        assert mean == pytest.approx(after.mean(), abs=1e-3) == pytest.approx(0.3, abs=1e-3)
        assert std == pytest.approx(after.std(), abs=1e-3) == pytest.approx(2.0, abs=1e-3)
    checks.append(check_axes)

    # Running statistics: three sources, momentum, None, track_running_stats=False
    for view in (NormView(batch=3, channels=3, side=4, steps=6, momentum=0.2),
                 NormView(source="shapes", stage="pixels", batch=2, side=5, steps=4,
                          cumulative=True, eps=1e-3),
                 NormView(source="photos", batch=2, channels=2, side=4, steps=3,
                          track_running_stats=False)):
        scripts.append(running_code(view, channel=view.shown_channels - 1))
        bn, hist = running.history(view)
        compared = running.compare_modes(bn, tensors.view_tensor(view))

        def check_running(output, view=view, hist=hist, compared=compared):
            if view.track_running_stats:
                np.testing.assert_allclose(_numbers(_line(output, "running_mean")),
                                           hist.means[-1], atol=2e-6)
                np.testing.assert_allclose(_numbers(_line(output, "running_var")),
                                           hist.variances[-1], atol=2e-6)
                m = hist.count
                assert f"biased·{m}/{m - 1}" in output
            else:
                assert "no running_mean" in output
            largest = _numbers(_line(output, "largest |eval − train|"))[0]
            assert largest == pytest.approx(compared.max_difference, abs=2e-6)
            assert _line(output, "untracked").endswith(" 0.0")
            assert "Expected more than 1 value per channel when training" in output
        checks.append(check_running)

    # Feature scaling: a data set and the built-in test pattern
    pattern = lab_images.load_sample("pattern")
    for name, stats, source in (
            ("digits", scaling.statistics(scaling.dataset_images("digits"), "digits"), ""),
            ("image", scaling.statistics(scaling.image_tensor(pattern.pixels), "pattern"),
             pattern.source)):
        scripts.append(scaling_code(stats, name, source, gray=False))

        def check_scaling(output, stats=stats):
            np.testing.assert_allclose(_numbers(_line(output, "mean")), stats.mean, atol=1e-6)
            np.testing.assert_allclose(_numbers(_line(output, "std")), stats.std, atol=1e-6)
            np.testing.assert_allclose(_numbers(_line(output, "after Normalize, mean")), 0,
                                       atol=1e-3)
        checks.append(check_scaling)

    # The small-batch experiment, tiny: the Training lab's loop vs the plain loop
    setup = ExperimentSetup(sizes=(2, 4), epochs=1, train_size=32, min_updates=16,
                            device="cpu")
    points = [p for p in batch_size_experiment(setup, lambda: False)
              if isinstance(p, ExperimentPoint)]
    scripts.append(experiment_code(setup))

    def check_experiment(output):
        for point in points:
            line = _line(output, f"{point.norm} norm, batch size {point.batch_size}:")
            error, loss = _numbers(line)
            assert error == pytest.approx(100 * point.val_error, abs=0.01)
            assert loss == pytest.approx(point.val_loss, abs=1e-5)
    checks.append(check_experiment)
    assert [p.epochs for p in points] == [1, 1, 2, 2]  # batch 4: 8 updates an epoch → 2

    outputs = run_plain(scripts, tmp_path)
    for check, output in zip(checks, outputs, strict=True):
        check(output)
