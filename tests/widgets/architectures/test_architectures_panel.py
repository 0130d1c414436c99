import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from lab import architectures as arch
from lab.architectures import gradient_flow as gf
from lab.models import ChannelScale, Flatten
from widgets.architectures.graph_view import EDGE_COLORS
from widgets.architectures.panel import ArchitecturesPanel
from widgets.kit.panel import AppState

WAIT_MS = 60_000


@pytest.fixture
def panel(qtbot):
    widget = ArchitecturesPanel(AppState())
    qtbot.addWidget(widget)
    widget.resize(1300, 900)
    widget.show()
    qtbot.waitUntil(widget.has_drawn, timeout=WAIT_MS)
    yield widget
    widget.shutdown()


def settle(qtbot, panel):
    panel.flush()
    qtbot.waitUntil(panel.is_idle, timeout=WAIT_MS)


def item_point(view, item) -> QPoint:
    view.centerOn(item)
    return view.mapFromScene(item.scenePos())


def node_with(view, member_prefix):
    for item in view.node_items().values():
        if any(m.startswith(member_prefix) for m in item.node.members):
            return item
    raise AssertionError(f"no box holds {member_prefix}")


def test_three_graphs_with_counts_at_the_same_scale(panel, qtbot):
    conn = panel.connectivity
    settle(qtbot, panel)
    text = {p: label.text() for p, label in conn.count_labels.items()}
    assert "connections: 7 between layers (L−1 = 7) + 1 from the input" in text["plain"]
    assert "2 identity shortcuts (+)" in text["resnet"]
    assert "connections per block: 10, 10 (L = 4: 4·5/2 = 10)" in text["densenet"]
    assert "19,306 parameters" in text["plain"] and "30 edges" in text["plain"]
    zooms = {round(view.zoom(), 6) for view in conn.graph_views.values()}
    assert len(zooms) == 1
    colors = {item.data(0) for item in conn.graph_views["densenet"].edge_items()}
    assert EDGE_COLORS["concat"] in colors
    resnet_colors = {item.data(0) for item in conn.graph_views["resnet"].edge_items()}
    assert EDGE_COLORS["add"] in resnet_colors
    adds = [i for i in conn.graph_views["resnet"].node_items().values() if i.node.kind == "add"]
    assert len(adds) == 2
    assert "L(L+1)/2" in conn.connection_rule.text()


def test_controls_change_the_nets_and_counts(panel, qtbot):
    conn = panel.connectivity
    conn.depth_slider.setValue(5)
    conn.blocks.setValue(1)
    settle(qtbot, panel)
    assert "4 between layers (L−1 = 4)" in conn.count_labels["plain"].text()
    assert "15 (L = 5: 5·6/2 = 15)" in conn.count_labels["densenet"].text()
    conn.kind.setValue("dense")
    conn.batchnorm.setChecked(False)
    settle(qtbot, panel)
    titles = [i.node.title for i in conn.graph_views["plain"].node_items().values()]
    assert "Linear 16→16 · ReLU" in titles
    assert "net = ConnectivityNet(NetConfig(pattern, \"dense\", depth=5" in \
        conn.connectivity_code.code()


def test_redrawing_the_last_good_graphs_keeps_the_rule_in_the_banner(panel, qtbot):
    conn = panel.connectivity
    settle(qtbot, panel)
    conn.depth_slider.setValue(2)
    conn.blocks.setValue(3)  # more blocks than layers: refused
    settle(qtbot, panel)
    assert any("cannot exceed depth" in p for p in panel.banner.problems())
    conn.collapse.setChecked(not conn.collapse.isChecked())  # re-lays-out the shown graphs
    settle(qtbot, panel)
    assert any("cannot exceed depth" in p for p in panel.banner.problems())


def test_hovering_a_box_tells_op_module_shape_and_parameters(panel, qtbot):
    conn = panel.connectivity
    settle(qtbot, panel)
    view = conn.graph_views["plain"]
    item = node_with(view, "body_0_0")
    tooltip = item.toolTip()
    for needle in ("<b>Conv2d</b>", "<code>body.0.0</code>", "output shape: 16×32×32",
                   "parameters: 2,304", "<b>BatchNorm2d</b>", "<b>ReLU</b>"):
        assert needle in tooltip
    qtbot.mouseMove(view.viewport(), item_point(view, item))
    qtbot.waitUntil(lambda: "body.0" in conn.hover_label.text())
    assert "2,336 parameters" in conn.hover_label.text()  # conv 2,304 + BN 32
    assert "16×32×32" in conn.hover_label.text()


def test_clicking_a_collapsed_block_expands_it(panel, qtbot):
    conn = panel.connectivity
    conn.collapse.setChecked(True)
    settle(qtbot, panel)
    view = conn.graph_views["plain"]
    group = next(i for i in view.node_items().values() if i.node.group)
    assert group.node.title == "Sequential ×8" and "×8" in group.toolTip()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=item_point(view, group))
    settle(qtbot, panel)
    assert not any(i.node.group for i in view.node_items().values())
    frame = view.frame_items()["body.0…body.7"]
    assert frame.frame.title == "body.0–7 · Sequential ×8"
    assert "Conv 3×3, 16 · BN · ReLU" in {i.node.title for i in view.node_items().values()}
    view.centerOn(QPointF(frame.frame.left + 30, frame.frame.top + 8))
    title_point = view.mapFromScene(QPointF(frame.frame.left + 30, frame.frame.top + 8))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=title_point)
    settle(qtbot, panel)
    assert any(i.node.group for i in view.node_items().values())
    # the other two graphs were not touched by these clicks
    assert any(i.node.group for i in conn.graph_views["resnet"].node_items().values())


def test_wheel_zooms_all_three_and_fit_restores(panel, qtbot):
    conn = panel.connectivity
    settle(qtbot, panel)
    view = conn.graph_views["resnet"]
    before = view.zoom()
    center = QPointF(view.viewport().rect().center())
    event = QWheelEvent(center, view.viewport().mapToGlobal(center), QPoint(0, 0),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(event)
    assert view.zoom() == pytest.approx(before * 1.15 ** 2)
    assert all(v.zoom() == pytest.approx(view.zoom()) for v in conn.graph_views.values())
    qtbot.mouseClick(conn.fit_button, Qt.MouseButton.LeftButton)
    fitted = view.zoom()
    assert fitted < before * 1.15 ** 2
    rect = conn.graph_views["densenet"].sceneRect()
    assert rect.height() * fitted <= conn.graph_views["densenet"].viewport().height()


def test_gradient_plots_show_the_three_patterns(panel, qtbot):
    conn = panel.connectivity
    settle(qtbot, panel)
    x, y = conn.layer_curves["plain"].getData()
    assert len(x) == 32 and np.all(np.isfinite(y))
    plain = conn.profiles[("plain", 32)].norms
    assert plain[0] < 1e-6 * plain[-1]
    depths, firsts = conn.depth_curves["plain"].getData()
    assert list(depths) == [math.log2(d) for d in gf.SWEEP_DEPTHS]
    values = [conn.profiles[("plain", d)].first for d in gf.SWEEP_DEPTHS]
    assert values == sorted(values, reverse=True)
    assert "Plain" in conn.gradient_summary.text()
    assert "no BatchNorm" in conn.gradient_caption.text()
    assert "Plain net: the gradient vanishes towards the input" in conn.gradient_caption.text()
    conn.grad_depth.setValue(8)
    settle(qtbot, panel)
    assert len(conn.layer_curves["resnet"].getData()[0]) == 8
    conn.grad_batchnorm.setChecked(True)
    settle(qtbot, panel)
    assert conn.profiles[("plain", 8)].first > 1e-3
    # the caption follows the numbers: with BatchNorm the plain net's gradient does not vanish
    plain = conn.profiles[("plain", 8)]
    assert gf.trend(plain) != "vanishes"
    text = conn.gradient_caption.text()
    assert "with BatchNorm" in text and "Plain net: the gradient vanishes" not in text
    assert f"layer 1 {plain.norms[0]:.1e}" in text
    assert "batchnorm=True" in conn.gradient_code.code()


def test_captions_are_never_cut_or_drawn_over_the_plots(panel, qtbot):
    """On a small screen the wrapped texts keep their lines: the counts under each graph,
    and the gradient summary below the plots' axes (it was drawn over them)."""
    conn = panel.connectivity
    settle(qtbot, panel)
    panel.resize(1000, 620)
    qtbot.wait(50)
    for label in [*conn.count_labels.values(), conn.gradient_summary, conn.connection_rule]:
        assert label.height() >= label.heightForWidth(label.width()), label.text()
    plots_bottom = conn.layer_plot.mapTo(panel, conn.layer_plot.rect().bottomLeft()).y()
    summary_top = conn.gradient_summary.mapTo(panel, conn.gradient_summary.rect().topLeft()).y()
    assert summary_top >= plots_bottom


def test_classic_lenet_table_and_an_input_too_small(panel, qtbot):
    classic = panel.classic
    panel.tabs.setCurrentIndex(1)
    settle(qtbot, panel)
    model = classic.table.table_model
    rows = model.rows()
    assert len(rows) == 12 and model.rowCount() == 13
    assert (rows[0].name, rows[0].output, rows[0].params) == ("features.0", "6×28×28", 156)
    assert model.total().params == 61_706
    assert "61,706" in classic.totals.text()
    assert model.data(model.index(12, 3)) == "61,706"
    classic.input_size.setValue(8)
    settle(qtbot, panel)
    assert not panel.banner.isHidden()
    assert "layer `features.3` (Conv2d)" in panel.banner.message()
    assert "reaches zero" in panel.banner.message()
    assert model.rows()[0].output == "6×28×28"  # the last good table stays
    classic.collapse.setChecked(not classic.collapse.isChecked())  # a new drawing option
    settle(qtbot, panel)
    assert "reaches zero" in panel.banner.message()  # still refused, still said
    classic.input_size.setValue(16)
    settle(qtbot, panel)
    assert "expects 400 input features but receives 16" in panel.banner.message()
    classic.input_size.setValue(32)
    settle(qtbot, panel)
    assert panel.banner.isHidden()


def test_classic_models_graphs_and_exports(panel, qtbot, tmp_path):
    classic = panel.classic
    panel.tabs.setCurrentIndex(1)
    classic.model_choice.setValue("resnet18")
    settle(qtbot, panel)
    assert classic.input_size.value() == 224 and classic.in_channels.value() == 3
    assert "11,689,512" in classic.totals.text() and "1.8 G" in classic.totals.text()
    assert not classic.collapse.isChecked()
    adds = [i for i in classic.view.node_items().values() if i.node.kind == "add"]
    assert len(adds) == 8
    assert "torchvision.models.resnet18(weights=None" in classic.code.code()
    assert classic.export_table_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[-1].startswith("total,")
    assert classic.view.export_png(tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 1000
    classic.collapse.setChecked(True)
    settle(qtbot, panel)
    groups = [i for i in classic.view.node_items().values() if i.node.group]
    assert {g.node.title for g in groups} == {"BasicBlock ×2", "Sequential ×3"}
    classic.input_size.setValue(64)
    settle(qtbot, panel)
    assert classic.collapse.isChecked()  # the drawing choice survives a new input


def test_module_tree_counts_modes_and_home_made_layers(panel, qtbot):
    mods = panel.modules
    panel.tabs.setCurrentIndex(2)
    settle(qtbot, panel)
    counts = [mods.counts_table.item(r, 0).text() for r in range(3)]
    assert counts == ["6", "5", "5"]
    assert len(mods.tree.paths()) == 6 and mods.tree.mode_of("") == "train"
    assert "class Flatten(nn.Module)" in mods.layer_code.code()
    assert "<code>3</code>" in mods.where_label.text()
    mods.show_layer_code(ChannelScale)
    assert "nn.Parameter(torch.ones(channels))" in mods.layer_code.code()
    assert "<code>1.scale</code>" in mods.where_label.text()
    mods.choice.setValue("classic:lenet5")
    settle(qtbot, panel)
    assert [mods.counts_table.item(r, 1).text() for r in range(3)] == ["15", "2", "10"]
    qtbot.mouseClick(mods.eval_button, Qt.MouseButton.LeftButton)
    assert all(mods.tree.mode_of(p) == "eval" for p in mods.tree.paths())
    mods.tree.item_for("features").setCheckState(4, Qt.CheckState.Checked)
    assert mods.tree.mode_of("features.0") == "train"
    assert mods.tree.mode_of("classifier.0") == "eval"
    mods.show_layer_code(Flatten)
    qtbot.mouseClick(mods.find_in_tree, Qt.MouseButton.LeftButton)
    assert mods.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == "classifier.0"


def test_any_control_values_never_raise(qtbot):
    panel = ArchitecturesPanel(AppState())
    qtbot.addWidget(panel)
    panel.resize(1200, 850)
    panel.show()
    conn, classic, mods = panel.connectivity, panel.classic, panel.modules
    sliders = (conn.depth_slider, conn.width_slider, conn.growth, conn.blocks, conn.grad_depth)

    @given(values=st.tuples(*[st.integers(-5, 80) for _ in sliders]),
           kind=st.sampled_from(["conv", "dense"]), flags=st.tuples(*[st.booleans()] * 5),
           activation=st.sampled_from(["relu", "tanh", "sigmoid"]),
           init=st.sampled_from(list(gf.INITS)),
           model=st.sampled_from(["lenet5", "alexnet", "vgg11", "resnet18"]),
           size=st.sampled_from(arch.INPUT_SIZES), channels=st.sampled_from([1, 3]),
           classes=st.sampled_from([10, 1000]), tab=st.integers(0, 2),
           tree=st.sampled_from(list(arch.TREE_MODELS)[:5]))
    def drive(values, kind, flags, activation, init, model, size, channels, classes, tab,
              tree):
        panel.tabs.setCurrentIndex(tab)
        for slider, value in zip(sliders, values, strict=True):
            slider.setValue(value)
            assert slider.minimum() <= slider.value() <= slider.maximum()
        conn.kind.setValue(kind)
        for box, flag in zip((conn.batchnorm, conn.fold, conn.collapse, conn.grad_batchnorm,
                              classic.collapse), flags, strict=True):
            box.setChecked(flag)
        conn.grad_activation.setValue(activation)
        conn.grad_init.setValue(init)
        classic.model_choice.setValue(model)
        classic.input_size.setValue(size)
        classic.in_channels.setValue(channels)
        classic.num_classes.setValue(classes)
        mods.choice.setValue(tree)
        panel.flush()
        qtbot.wait(5)
        if tab == 0:  # the banner names a rule exactly when the settings are invalid
            invalid = bool(conn.connectivity_params().validate())
            assert invalid == any("cannot exceed depth" in p for p in panel.banner.problems())

    try:
        drive()
        settle(qtbot, panel)
        params = conn.connectivity_params()
        if not params.validate():
            assert f"L = {params.depth} body layers" in conn.count_labels["plain"].text()
    finally:
        panel.shutdown()


def test_layer_table_cuts_no_number_or_type(qtbot):
    """Totals were cut to "132,…,336", BatchNorm2d to "Batc…rm2d" (issue 19)."""
    from PySide6.QtGui import QFont, QFontMetrics

    from lab.architectures import graphs
    from lab.models import classic_model
    from widgets.architectures.layer_table import COLUMNS, LayerTable

    table = LayerTable()
    qtbot.addWidget(table)
    table.resize(700, 400)
    table.show()
    graph = graphs.analyse(graphs.trace(classic_model("resnet18", 1000)), (3, 32, 32))
    table.set_graph(graph)
    model = table.table_model
    bold_font = QFont(table.font())
    bold_font.setBold(True)
    for column in range(1, len(COLUMNS)):
        for row in range(model.rowCount()):
            is_total = row == model.rowCount() - 1
            metrics = QFontMetrics(bold_font) if is_total else table.fontMetrics()
            text = str(model.data(model.index(row, column)) or "")
            assert metrics.horizontalAdvance(text) < table.columnWidth(column), text
