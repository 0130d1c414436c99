"""Storage faults as the user meets them (issue 18, items 2, 4, 5, 6): the Training lab
always opens and says why its history is read-only or in memory; every export to a full or
read-only target ends in a message naming the path and the reason, and the old file stays."""

from __future__ import annotations

from dataclasses import replace

from lab.data import DataConfig
from lab.training import TrainConfig
from lab.training.runs import RunStore, default_db_path
from widgets.kit.panel import AppState
from widgets.kit.settings import DATA_DIR_ENV, data_dir
from widgets.kit.views import CodeView

TINY = TrainConfig(data=DataConfig("moons", samples=60), epochs=3, width=4)


def training_panel(qtbot):
    from widgets.training.panel import TrainingPanel

    panel = TrainingPanel(AppState(), demo=False)
    qtbot.addWidget(panel)
    panel.resize(1300, 860)
    return panel


def train(qtbot, panel, config=TINY):
    panel.start_config(config)
    qtbot.waitUntil(lambda: panel.running is None and not panel.queue, timeout=60_000)
    return panel.records[max(panel.records, key=abs)]


def saved_history(runs=1):
    store = RunStore(default_db_path(data_dir()))
    for _ in range(runs):
        record = store.create_run(TINY)
        store.finish(record.id, "completed", "Finished.")
    for epoch in (1, 2):
        store.db.execute("INSERT INTO epochs VALUES (1, 0, ?, 0.5, 0.8, 0.6, 0.7, 0.1, 0.01, "
                         "1, 100)", (epoch,))
    store.commit()
    return store


# -------------------------------------------------------------------- 4. the panel opens

def test_opens_when_the_data_folder_cannot_be_created(qtbot, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv(DATA_DIR_ENV, str(blocker / "data"))
    panel = training_panel(qtbot)
    try:
        assert "cannot be used" in panel.banner.message()
        assert "kept in memory only" in panel.banner.message()
        record = train(qtbot, panel)  # and it still trains, in memory
        assert record.status == "completed" and record.id < 0
    finally:
        panel.shutdown()


def test_opens_when_the_history_path_is_a_folder(qtbot):
    default_db_path(data_dir()).mkdir()
    panel = training_panel(qtbot)
    try:
        assert "a folder is in its place" in panel.banner.message()
        assert "move it away" not in panel.banner.message()
    finally:
        panel.shutdown()


def test_a_null_metric_row_is_skipped_and_counted(qtbot):
    store = saved_history()
    store.db.execute("INSERT INTO epochs VALUES (1, 0, 3, NULL, 0.5, 0.6, 0.7, 0.1, 0.01, "
                     "1, 100)")
    store.commit()
    panel = training_panel(qtbot)
    try:
        record = panel.records[1]
        assert [e.epoch for e in record.epochs] == [1, 2]
        assert "1 damaged metric row(s) were skipped" in panel.banner.message()
        assert record.headline()
    finally:
        panel.shutdown()


def test_a_full_disk_at_start_shows_the_history_read_only(qtbot, disk):
    saved_history()
    disk.fill_history()  # neither "interrupted" marks nor new runs can be written
    panel = training_panel(qtbot)
    try:
        message = panel.banner.message()
        assert "read-only for now (disk full)" in message and "move it away" not in message
        assert 1 in panel.records and len(panel.records[1].epochs) == 2  # past runs shown
        assert not panel.delete_run(1) and 1 in panel.records  # nothing lost
    finally:
        panel.shutdown()


# -------------------------------------------------------------------- 5. stale temp files

def test_opening_removes_stale_temp_files_of_killed_saves(qtbot):
    folder = data_dir() / "checkpoints"
    folder.mkdir()
    stale = folder / ".run-1.pt.999999999-0123abcd.tmp"
    stale.write_bytes(b"x" * 4096)
    mine = folder / "run-1.pt"
    mine.write_bytes(b"weights")
    panel = training_panel(qtbot)
    try:
        assert not stale.exists() and mine.exists()
    finally:
        panel.shutdown()


# -------------------------------------------------------------------- 2. the history mid-run

def test_history_full_mid_run_trains_on_says_why_and_exports_from_memory(qtbot, disk,
                                                                        tmp_path):
    panel = training_panel(qtbot)
    try:
        # full before Start: the run cannot even be created in the history
        disk.fill_history()
        first = train(qtbot, panel)
        assert first.id < 0 and first.status == "completed" and len(first.epochs) == 3
        assert "cannot be saved in the run history (disk full)" in panel.banner.message()
        disk.restore()
        # full in the middle of a run: it trains on, and says so
        disk.fill_history(after_epochs=5)
        panel.start_config(replace(TINY, epochs=25))
        record = panel.running
        qtbot.waitUntil(lambda: panel.running is None, timeout=60_000)
        assert record.status == "completed" and len(record.epochs) == 25
        assert "not being saved (disk full)" in panel.banner.message()
        panel.run_list.set_checked(first.id)
        out = tmp_path / "metrics.csv"
        assert panel.export_csv(out) == 28  # every epoch of both, from memory
    finally:
        panel.shutdown()


# -------------------------------------------------------------------- 6. exports

def test_training_csv_and_weights_to_a_full_or_read_only_target(qtbot, disk, tmp_path):
    panel = training_panel(qtbot)
    try:
        record = train(qtbot, panel)
        target = tmp_path / "out.csv"
        target.write_text("old")
        disk.fill()
        assert panel.export_csv(target) == 0
        assert f"Could not write {target}: disk full" in panel.banner.message()
        assert target.read_text() == "old"
        disk.read_only()
        weights = tmp_path / "w.pt"
        assert not panel.save_checkpoint_of(record.id, weights)
        assert f"Could not save the weights to {weights}: read-only" in panel.banner.message()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "data", "out.csv"]
    finally:
        panel.shutdown()


def test_deleting_a_run_when_the_history_refuses_keeps_it(qtbot, disk):
    saved_history()
    panel = training_panel(qtbot)
    try:
        disk.history_read_only()
        assert not panel.delete_run(1)
        assert "could not be deleted (read-only); it is kept" in panel.banner.message()
        assert 1 in panel.records
        disk.restore()
        assert panel.delete_run(1) and 1 not in panel.records
    finally:
        panel.shutdown()


def test_code_save_to_a_full_disk_says_so(qtbot, disk, tmp_path):
    view = CodeView()
    qtbot.addWidget(view)
    view.set_code("print(1)\n" * 100)
    disk.fill()
    target = tmp_path / "code.py"
    assert not view.save(target)
    assert view.save_problem.text() == f"Could not write {target}: disk full"
    assert not target.exists()
    disk.restore()
    assert view.save(target) and view.save_problem.isHidden()


def test_pooling_and_convolution_csv_to_a_read_only_folder(qtbot, disk, tmp_path):
    from widgets.conv.panel import ConvPanel
    from widgets.pooling.panel import PoolingPanel

    for make in (PoolingPanel, ConvPanel):
        panel = make(AppState())
        qtbot.addWidget(panel)
        panel.show()
        qtbot.waitUntil(panel.has_drawn, timeout=30_000)
        if make is ConvPanel:
            panel.tabs.setCurrentIndex(1)
        panel.flush()
        disk.read_only()
        target = tmp_path / f"{make.__name__}.csv"
        assert not panel.export_grid_csv(target)
        assert f"Could not write {target}: read-only file system" in panel.banner.message()
        disk.restore()
        assert panel.export_grid_csv(target) and target.stat().st_size > 0
        panel.shutdown()


def test_png_exports_never_fail_silently(qtbot, disk, tmp_path):
    from PySide6.QtGui import QImage

    from widgets.kit.files import save_image

    image = QImage(40, 30, QImage.Format.Format_ARGB32)
    image.fill(0xFF336699)
    messages = []
    disk.bytes_before_full = 0
    disk.fill()
    assert not save_image(image, tmp_path / "grid.png", messages.append)
    assert messages == [f"Could not write {tmp_path / 'grid.png'}: disk full"]
    disk.restore()
    assert save_image(image, tmp_path / "grid.png", messages.append)
    assert QImage(str(tmp_path / "grid.png")).size() == image.size()
    assert not save_image(QImage(), tmp_path / "none.png", messages.append)
    assert "nothing to draw" in messages[-1]


def test_a_full_disk_at_the_final_save_keeps_the_run_completed_and_says_why(qtbot, disk):
    panel = training_panel(qtbot)
    try:
        disk.bytes_before_full = 500
        disk.fill()
        record = train(qtbot, panel)
        assert record.status == "completed" and len(record.epochs) == 3
        assert "could not save the weights: disk full (" in panel.banner.message()
        assert "MB needed)" in panel.banner.message()
        assert not panel.checkpoint_path(record.id).exists()
        assert list(panel.checkpoint_path(record.id).parent.glob(".*.tmp")) == []
        saved = RunStore(default_db_path(data_dir())).load_run(record.id)
        assert saved.status == "completed" and len(saved.epochs) == 3
    finally:
        panel.shutdown()
