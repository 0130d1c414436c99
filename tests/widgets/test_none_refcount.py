"""Guard against PySide6 6.12.0's bug on Python 3.11: every call returning None dropped
None's refcount, and Python aborted ("deallocating None") after a few thousand calls."""

import sys

from PySide6.QtWidgets import QLabel, QSlider


def test_widget_calls_returning_none_keep_nones_refcount(qtbot):
    label = QLabel()
    slider = QSlider()
    qtbot.addWidget(label)
    qtbot.addWidget(slider)
    before = sys.getrefcount(None)
    for i in range(5000):
        label.setText(str(i))      # each returns None
        slider.setValue(i % 50)
        label.setToolTip("x")
    after = sys.getrefcount(None)
    # A few references may come and go with the interpreter's own work; the bug lost 15000.
    assert abs(after - before) < 100, (before, after)
