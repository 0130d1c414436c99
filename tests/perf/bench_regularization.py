"""Regularization panel: slider -> redrawn fit, bars and error curves in the real panel
(reg_update_ms: 30 points, degree ≤ 20), and the background jobs — coefficient paths over
100 λ, bias–variance with 200 refits of degrees 0…20, the torch gradient descent — with
the longest GUI stall while the bias–variance job runs."""

from __future__ import annotations

import time

from helpers import longest_stall_ms, median_seconds, qapp

TARGETS = {
    "reg_update_ms": ("<=", 16.0),
    "reg_fit_update_ms": ("<=", 16.0),
    "reg_lambda_update_ms": ("<=", 16.0),
    "reg_paths_l2_s": ("<=", 1.0),
    "reg_paths_l1_s": ("<=", 1.0),
    "reg_bias_variance_l2_s": ("<=", 1.0),
    "reg_bias_gui_stall_ms": ("<=", 50.0),
}


def _panel_updates(repeats: int) -> dict[str, float]:
    from lab.regularization.view import RegView
    from widgets.kit.panel import AppState
    from widgets.regularization.panel import TABS, RegularizationPanel

    app = qapp()
    panel = RegularizationPanel(AppState())
    panel.resize(1300, 900)
    panel.show()
    panel.set_params(RegView(samples=30, penalty="l2", degree=7))
    deadline = time.perf_counter() + 60
    while not (panel.has_drawn() and panel.is_idle()) and time.perf_counter() < deadline:
        app.processEvents()

    def wait_for(counter: str, before: int) -> None:
        deadline = time.perf_counter() + 10
        while panel.compute_counts[counter] == before or not panel.is_idle():
            app.processEvents()
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the panel never redrew its {counter} curves")
        app.processEvents()  # the paint events the update posted

    degrees = iter(range(10**9))

    def degree_change() -> None:  # a new degree: new fit, bars and error-vs-λ curves
        before = panel.compute_counts["lambda"]
        panel.degree.setValue(8 - next(degrees) % 2)  # 8, 7, 8, … (starts at 7)
        wait_for("lambda", before)

    lambdas = iter(range(10**9))

    def lambda_change() -> None:  # a new λ: new fit, bars and error-vs-degree curves
        before = panel.compute_counts["degree"]
        panel.lam.setValue(1e-3 if next(lambdas) % 2 else 2.2e-3)
        wait_for("degree", before)

    def fit_change() -> None:  # the fit and bars alone (none / L2: drawn before the curves)
        before = panel.compute_counts["fit"]
        panel.degree.setValue(8 - next(degrees) % 2)
        deadline = time.perf_counter() + 10
        while panel.compute_counts["fit"] == before:
            app.processEvents()
            if time.perf_counter() > deadline:
                raise RuntimeError("the panel never redrew its fit")
        app.processEvents()

    fit_update = median_seconds(fit_change, repeats, warmup=3)
    while not panel.is_idle():
        app.processEvents()
    update = median_seconds(degree_change, repeats, warmup=3)
    lambda_update = median_seconds(lambda_change, repeats, warmup=3)

    panel.tabs.setCurrentIndex(TABS.index("bias"))
    started = time.perf_counter()
    stall = longest_stall_ms(app, lambda: panel.bias is not None and panel.is_idle())
    bias_in_panel = time.perf_counter() - started
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return {"reg_update_ms": 1000 * update, "reg_fit_update_ms": 1000 * fit_update,
            "reg_lambda_update_ms": 1000 * lambda_update,
            "reg_bias_gui_stall_ms": stall, "reg_bias_in_panel_s": bias_in_panel}


def _jobs(repeats: int) -> dict[str, float]:
    from lab.regularization.bias_variance import bias_variance
    from lab.regularization.data import make_data
    from lab.regularization.fit import coefficient_paths
    from lab.regularization.gradient import gradient_descent
    from lab.regularization.view import RegView

    figures = {}
    for penalty in ("l2", "l1"):
        view = RegView(samples=30, degree=20, penalty=penalty, lam=1e-3)
        data = make_data(view)
        figures[f"reg_paths_{penalty}_s"] = median_seconds(
            lambda v=view, d=data: coefficient_paths(d, v), repeats)
        figures[f"reg_bias_variance_{penalty}_s"] = median_seconds(
            lambda v=view: list(bias_variance(v)), max(1, repeats // 3))
    # a new sample's job off the GUI thread: the fit, the SVDs of every degree and fold
    # (RidgeFactors), the error-vs-degree curves (the error-vs-λ ones given as cached)
    from lab.regularization.fit import curve_factors
    from lab.regularization.jobs import lambda_key, missing_curves, model_job, model_result

    lambdas = iter(range(10**9))

    def model() -> None:
        view = RegView(samples=30, degree=7, penalty="l2", lam=1e-3 * (1 + next(lambdas)))
        list(model_job(view, {lambda_key(view)})(lambda: False))

    figures["reg_lambda_job_ms"] = 1000 * median_seconds(model, 3 * repeats, warmup=2)
    # what a degree or λ step computes on the GUI thread once the sample's SVDs exist: the
    # fit, its facts and the curve that moved (the rest of reg_update_ms is drawing)
    base = RegView(samples=30, degree=7, penalty="l2", lam=1e-3)
    factors = curve_factors(make_data(base), base)

    def step() -> None:
        view = RegView(samples=30, degree=7 + next(lambdas) % 2, penalty="l2", lam=1e-3)
        result = model_result(view, factors=factors)
        missing_curves(view, {lambda_key(base)}, result.data, factors)

    figures["reg_step_compute_ms"] = 1000 * median_seconds(step, 3 * repeats, warmup=2)
    view = RegView(samples=30, degree=7, penalty="l2", lam=1e-3, gd_steps=2000)
    data = make_data(view)
    figures["reg_torch_2000_steps_s"] = median_seconds(
        lambda: list(gradient_descent(data.x, data.y, view)), 1)
    return figures


def run(options) -> dict[str, float]:
    repeats = 5 if options.quick else 21
    return {**_panel_updates(repeats), **_jobs(3 if options.quick else 5)}
