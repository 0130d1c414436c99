"""Parameters both ways, for every panel in the registry (widgets.app.PANELS).

- `set_params(params())` is the identity and computes each part at most once;
- the params survive JSON (`lab.params.to_data` / `from_data`);
- random VALID params (a strategy per panel, drawn within its controls) are shown exactly,
  or refused with the banner saying why; nothing raises;
- every prepared example (the Welcome map's deep links) applies without problems.

A new panel gets the first, second and fourth for free; the third fails until its strategy
is in STRATEGIES.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.images import LabImage
from lab.params import from_data, to_data
from widgets.app import PANELS, panel_spec
from widgets.kit.panel import AppState, Page

from .params_strategies import STRATEGIES

PANEL_IDS = [spec.id for spec in PANELS]
#: panels that draw a first result at once and redraw as slower ones arrive (calculus: the
#: numpy curves, then sympy's derivatives, series and limits from its sandbox process)
PROGRESSIVE = {"calculus"}


def small_image() -> LabImage:
    rng = np.random.default_rng(0)
    return LabImage("test", rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), "test")


def build(qtbot, panel_id: str):
    state = AppState(small_image())
    if panel_id == "training":  # no first-use demo runs: the form is what is tested
        from widgets.training.panel import TrainingPanel

        panel = TrainingPanel(state, demo=False)
    else:
        panel = panel_spec(panel_id).factory(state)
    qtbot.addWidget(panel)
    panel.resize(1280, 740)
    return panel


def pages(panel) -> list[Page]:
    return [panel, *panel.findChildren(Page)]


def flush(panel) -> None:
    for page in pages(panel):
        page.flush()


def settle(qtbot, panel) -> None:
    """Every stale part computed and every job's result drawn."""
    flush(panel)
    qtbot.waitUntil(lambda: all(page.is_idle() for page in pages(panel)), timeout=30_000)
    if hasattr(panel, "grid_done"):
        qtbot.waitUntil(panel.grid_done, timeout=30_000)


def computations(panel) -> Counter:
    counts: Counter = Counter()
    for page in pages(panel):
        for part, n in page.update_counts.items():
            counts[f"{type(page).__name__}.{part}"] += n
    return counts


@pytest.fixture
def panel_of(qtbot):
    built = []

    def make(panel_id: str):
        panel = build(qtbot, panel_id)
        built.append(panel)
        return panel

    yield make
    for panel in built:
        panel.shutdown()


@pytest.mark.parametrize("panel_id", PANEL_IDS)
def test_set_params_of_params_is_the_identity_and_computes_once(panel_of, qtbot, panel_id):
    panel = panel_of(panel_id)  # its first computation is requested, not yet run
    params = panel.params()
    assert dataclasses.is_dataclass(params) and type(params).__dataclass_params__.frozen
    assert panel.set_params(params)
    flush(panel)
    assert panel.params() == params
    # the first computation and set_params' are one
    assert all(n <= 1 for n in computations(panel).values()), computations(panel)
    settle(qtbot, panel)  # results that arrive later leave the controls as they were
    assert panel.params() == params
    data = json.loads(json.dumps(to_data(params)))
    assert from_data(type(params), data) == params


@pytest.mark.parametrize("panel_id", PANEL_IDS)
def test_every_example_shows_its_idea_without_problems(panel_of, qtbot, panel_id):
    panel = panel_of(panel_id)
    spec = panel_spec(panel_id)
    examples = panel.examples()
    assert set(examples) <= set(spec.concepts)
    for number, example in examples.items():
        assert example.title, number
        assert panel.set_params(example.params), (number, panel.problems())
        settle(qtbot, panel)
        assert panel.params() == example.params, number
        assert panel.problems() == [], (number, panel.problems())
        data = json.loads(json.dumps(to_data(example.params)))
        assert from_data(type(example.params), data) == example.params


@pytest.mark.parametrize("panel_id", PANEL_IDS)
def test_random_valid_params_are_shown_exactly_or_refused_with_a_reason(panel_of, qtbot,
                                                                       panel_id):
    assert panel_id in STRATEGIES, (f"no params strategy for {panel_id!r}: add one to "
                                    "params_strategies.STRATEGIES")
    panel = panel_of(panel_id)

    # each architectures example traces and lays out three nets and runs the gradient nets;
    # each calculus one runs sympy in the sandbox
    @settings(max_examples={"architectures": 3, "augment": 4, "calculus": 4,
                            "optimizers": 8}.get(panel_id, 8))
    @given(data=st.data())
    def check(data):
        wanted = data.draw(STRATEGIES[panel_id])
        before = computations(panel)
        shown = panel.set_params(wanted)
        flush(panel)
        own = computations(panel) - before  # set_params' own computing
        settle(qtbot, panel)
        if shown:
            assert panel.params() == wanted
            # a progressive panel redraws as its results arrive: only its own computing
            grown = own if panel_id in PROGRESSIVE else computations(panel) - before
            assert all(n <= 1 for n in grown.values()), grown
        else:
            assert panel.problems(), "a refusal must say why"
        assert from_data(type(wanted), json.loads(json.dumps(to_data(wanted)))) == wanted

    check()


def test_every_panel_in_the_registry_and_no_other_has_a_params_strategy():
    assert set(STRATEGIES) == set(PANEL_IDS)


def test_settings_the_controls_cannot_show_are_refused_and_nothing_changes(panel_of, qtbot):
    from lab.pooling import PoolParams
    from lab.pooling.view import PoolingView

    panel = panel_of("pooling")
    settle(qtbot, panel)
    before = panel.params()
    computed = computations(panel)
    assert not panel.set_params(PoolingView(pool=PoolParams(kernel_size=99)))
    settle(qtbot, panel)
    assert panel.params() == before
    assert computations(panel) == computed  # nothing changed, nothing recomputed
    assert any("kernel_size" in p for p in panel.banner.problems())
    assert not panel.set_params("not a view")
    assert panel.params() == before
    panel.kernel.setValue(3)  # the next change clears the note
    settle(qtbot, panel)
    assert not any("kernel_size" in p for p in panel.banner.problems())
