"""The Optimizers panel's science against torch itself."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.formula import FormulaError
from lab.optimizers import basins, code, rates, surfaces, trajectories
from lab.optimizers.examples import examples
from lab.optimizers.view import KINDS, OptimizerSettings, OptimizersView
from lab.params import from_data, to_data

ALL_ON = tuple(OptimizerSettings(kind=k, enabled=True, lr=lr, momentum=0.8,
                                 weight_decay=0.01 if k == "adamw" else 0.0)
               for k, lr in zip(KINDS, (2e-4, 2e-4, 2e-4, 1e-3, 0.05, 0.02, 0.02), strict=True))


def hand_stepped(settings: OptimizerSettings, start, steps, scheduler=None, **sched_args):
    """torch.optim stepped by hand with autograd's gradient of a hand-written Rosenbrock."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    kind = settings.kind
    if kind in ("sgd", "momentum", "nesterov"):
        opt = torch.optim.SGD([p], lr=settings.lr, momentum=0 if kind == "sgd" else
                              settings.momentum, nesterov=kind == "nesterov")
    elif kind == "rmsprop":
        opt = torch.optim.RMSprop([p], lr=settings.lr, momentum=settings.momentum)
    elif kind == "adagrad":
        opt = torch.optim.Adagrad([p], lr=settings.lr)
    else:
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        opt = cls([p], lr=settings.lr, weight_decay=settings.weight_decay)
    sched = scheduler(opt, **sched_args) if scheduler else None
    points = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
        loss.backward()
        opt.step()
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(loss.item())
        elif sched is not None:
            sched.step()
        points.append(p.detach().clone().numpy())
    return np.array(points)


@pytest.mark.parametrize("kind", KINDS)
def test_trajectories_equal_hand_stepped_torch_optim(kind):
    view = OptimizersView(surface="rosenbrock", start=(-1.2, 1.0), steps=150,
                          scheduler="step", step_size=40, gamma=0.5, optimizers=ALL_ON)
    settings_ = view.settings(kind)
    ours = trajectories.run(surfaces.preset("rosenbrock"), view, settings_)
    theirs = hand_stepped(settings_, (-1.2, 1.0), 150, torch.optim.lr_scheduler.StepLR,
                          step_size=40, gamma=0.5)
    assert not ours.stopped
    np.testing.assert_allclose(ours.points, theirs, atol=1e-6)
    assert ours.lrs[39] == settings_.lr and ours.lrs[40] == settings_.lr / 2


def test_plateau_trajectory_equals_hand_stepped():
    view = OptimizersView(surface="rosenbrock", start=(-1.2, 1.0), steps=200,
                          scheduler="plateau", plateau_patience=3, optimizers=ALL_ON)
    s = view.settings("adam")
    ours = trajectories.run(surfaces.preset("rosenbrock"), view, s)
    theirs = hand_stepped(s, (-1.2, 1.0), 200, torch.optim.lr_scheduler.ReduceLROnPlateau,
                          mode="min", factor=0.5, patience=3)
    np.testing.assert_allclose(ours.points, theirs, atol=1e-6)


def test_batched_basin_steps_equal_each_start_alone():
    surface = surfaces.preset("himmelblau")
    view = OptimizersView(surface="himmelblau", scheduler="exponential", gamma=0.99,
                          optimizers=tuple(dataclasses.replace(s, lr=s.lr / 20)
                                           for s in ALL_ON))
    _, _, starts = basins.start_grid(surface, 2)
    for kind in KINDS:
        s = view.settings(kind)
        *_, final = basins.step_batch(surface, view, s, starts, 40)
        for i, start in enumerate(starts.tolist()):
            alone = trajectories.run(surface, dataclasses.replace(view, start=tuple(start),
                                                                  steps=40), s)
            np.testing.assert_allclose(final[i].numpy(), alone.points[-1], atol=1e-6,
                                       err_msg=f"{kind} from {start}")


def test_basin_map_finds_all_four_himmelblau_minima():
    surface = surfaces.preset("himmelblau")
    view = OptimizersView(surface="himmelblau", basin_kind="sgd", basin_resolution=16,
                          basin_steps=150,
                          optimizers=(OptimizerSettings("sgd", True, lr=0.005),))
    *progress, result = list(basins.basin_job(surface, view)(lambda: False))
    assert [p.fraction for p in progress][-1] == 1.0
    assert set(result.counts()) == {0, 1, 2, 3}
    # a start next to each minimum ends in it
    for index, (mx, my) in enumerate(surface.minima):
        iy = np.argmin(abs(result.ys - my))
        ix = np.argmin(abs(result.xs - mx))
        assert result.labels[iy, ix] == index


def test_basins_mark_divergence():
    surface = surfaces.preset("quadratic", 10)
    view = OptimizersView(surface="quadratic", basin_kind="sgd", basin_resolution=8,
                          basin_steps=50, optimizers=(OptimizerSettings("sgd", True, lr=2.5),))
    *_, result = list(basins.basin_job(surface, view)(lambda: False))
    assert (result.labels == basins.DIVERGED).sum() >= 56  # all but the y = 0 row


def test_momentum_escapes_the_shallow_minimum_where_sgd_stops():
    view = examples()[30].params
    surface = surfaces.preset(view.surface)
    shallow, deep = surface.minima
    ends = {k: trajectories.run(surface, view, view.settings(k)).points[-1]
            for k in ("sgd", "momentum")}
    assert np.hypot(*(ends["sgd"] - shallow)) < 0.05
    assert np.hypot(*(ends["momentum"] - deep)) < 0.05


def _std_of_noise(batch: int) -> np.ndarray:
    view = OptimizersView(surface="quadratic", start=(0.5, 0.5), steps=800, batch_size=batch,
                          noise=2.0, optimizers=(OptimizerSettings("sgd", True, lr=1e-4),))
    surface = surfaces.preset("quadratic", 10)
    run = trajectories.run(surface, view, view.settings("sgd"))
    exact = np.array([surface.value_and_gradient(*p)[1:] for p in run.points[:-1]])
    return np.std(run.grads - exact, axis=0)


def test_gradient_noise_std_is_noise_over_root_batch():
    for batch in (1, 4, 25):
        np.testing.assert_allclose(_std_of_noise(batch), 2.0 / math.sqrt(batch), rtol=0.1)
    full = OptimizersView(batch_size=0)
    assert trajectories.noise_std(full) == 0.0


def test_noise_is_seeded():
    view = examples()[29].params
    surface = surfaces.preset(view.surface, view.condition)
    a = trajectories.run(surface, view, view.settings("sgd")).points
    b = trajectories.run(surface, view, view.settings("sgd")).points
    c = trajectories.run(surface, dataclasses.replace(view, seed=1), view.settings("sgd")).points
    assert np.array_equal(a, b) and not np.allclose(a, c)


def _lrs(scheduler: str, steps: int = 60, text: str = "x^2 + y^2", **kw) -> np.ndarray:
    surface = surfaces.custom(text, surfaces.prepare_formula(text))
    view = OptimizersView(surface="custom", start=(1.0, 1.0), steps=steps, scheduler=scheduler,
                          optimizers=(OptimizerSettings("sgd", True, lr=0.1),), **kw)
    return trajectories.run(surface, view, view.settings("sgd")).lrs


def test_schedulers_lower_the_lr_when_they_should():
    step = _lrs("step", step_size=20, gamma=0.5)
    assert step[19] == 0.1 and step[20] == 0.05 and step[40] == 0.025
    np.testing.assert_allclose(_lrs("exponential", gamma=0.9)[:3], [0.1, 0.09, 0.081])
    cosine = _lrs("cosine")
    assert np.all(np.diff(cosine) < 0) and cosine[-1] < 0.001
    assert np.all(_lrs("none") == 0.1)
    # a flat loss never improves: the LR halves after `patience` steps without improvement
    flat = _lrs("plateau", text="1 + 0 x", plateau_patience=5, plateau_factor=0.5)
    assert flat[6] == 0.1 and flat[7] == 0.05
    # a loss that keeps falling never triggers it
    assert np.all(_lrs("plateau", plateau_patience=5) == 0.1)


def test_plateau_example_lowers_lr_and_loss():
    view = examples()[31].params
    surface = surfaces.preset(view.surface, view.condition)
    decayed = trajectories.run(surface, view, view.settings("sgd"))
    constant = trajectories.run(surface, dataclasses.replace(view, scheduler="none"),
                                view.settings("sgd"))
    assert decayed.lr_drops()
    assert decayed.losses[-100:].mean() < constant.losses[-100:].mean() / 3


@settings(max_examples=8)
@given(lr=st.floats(0.05, 1.8), momentum=st.floats(0.0, 0.95), condition=st.floats(2, 30))
def test_measured_momentum_rate_matches_prediction(lr, momentum, condition):
    predicted = float(rates.predicted_rate(lr, momentum, condition))
    if not 0.3 < predicted < 0.98:
        return  # too fast to measure over a few steps, or not converging
    view = OptimizersView(surface="quadratic", condition=condition, start=(-1.8, 1.2),
                          steps=450, optimizers=(OptimizerSettings("momentum", True, lr=lr,
                                                                   momentum=momentum),))
    run = trajectories.run(surfaces.preset("quadratic", condition), view,
                           view.settings("momentum"))
    assert rates.measured_rate(run.points) == pytest.approx(predicted, rel=0.03)


@pytest.mark.parametrize("condition", [4.0, 25.0, 400.0])
def test_optimal_momentum_setting_is_the_fastest_on_the_map(condition):
    lr, momentum, rate = rates.optimal_setting(condition)
    assert float(rates.predicted_rate(lr, momentum, condition)) == pytest.approx(rate)
    grid = rates.rate_map(condition, np.geomspace(1e-3, 4, 200), np.linspace(0, 0.999, 200))
    assert grid.min() >= rate - 1e-9


def test_rate_map_marks_divergence():
    grid = rates.rate_map(10, np.array([0.1, 3.0]), np.array([0.0, 0.5]))
    assert grid[0, 0] == pytest.approx(0.99) and grid[0, 1] > 1


def test_minima_found_for_a_typed_formula():
    text = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
    found = surfaces.custom(text, surfaces.prepare_formula(text)).minima
    assert len(found) == 4
    for m in surfaces.preset("himmelblau").minima:
        assert min(math.dist(m, f) for f in found) < 1e-4


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "x.__class__",
                                  "lambda: 1", "x + z"])
def test_hostile_or_foreign_formulas_are_refused(text):
    with pytest.raises((FormulaError, ValueError)):
        surfaces.prepare_formula(text)


def test_view_round_trips_through_json():
    for example in examples().values():
        data = json.loads(json.dumps(to_data(example.params)))
        assert from_data(OptimizersView, data) == example.params


def test_view_problems_name_the_numbers():
    bad = OptimizersView(optimizers=(OptimizerSettings("nesterov", True, lr=-1, momentum=0),))
    problems = " ".join(bad.problems())
    assert "learning rate must be positive, not -1" in problems and "Nesterov" in problems


@pytest.mark.slow
def test_exported_code_reproduces_the_trajectories(tmp_path):
    view = OptimizersView(surface="beale", start=(1.0, 1.5), steps=120, batch_size=3,
                          noise=0.5, scheduler="plateau", plateau_patience=4,
                          optimizers=tuple(dataclasses.replace(s, lr=s.lr / 10)
                                           for s in ALL_ON))
    surface = surfaces.preset("beale")
    script = code.trajectory_code(surface, view)
    assert "lab" not in script.replace("Visual Lab", "")
    path = tmp_path / "optimizers.py"
    path.write_text(script + "\nimport json\nprint(json.dumps(trajectories))\n")
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120, check=True)
    exported = json.loads(result.stdout.strip().splitlines()[-1])
    for kind, run in trajectories.run_all(surface, view).items():
        np.testing.assert_allclose(np.array(exported[kind]), run.points, atol=1e-9)
