"""A phone photo at the largest accepted size (4096²) in every panel that shows the image:
what `main.py --image photo.png --panel ID --screenshot` does for each, in one window and in
this process (a subprocess per panel cost ~50 s: a torch import and a photo load each).
Panels that show no image ignore it (tests/widgets/test_app.py builds them all)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from widgets import app as app_module
from widgets.app import MainWindow

pytestmark = pytest.mark.slow

#: the panels whose views show the current image (the others ignore it)
IMAGE_PANELS = {"pooling": "4096×4096", "conv": "4096×4096", "augment": "4096×4096",
                "normalization": "4096×4096"}


def _colours(widget) -> int:
    image = widget.grab().toImage()
    return len({image.pixel(x, y) for x in range(0, image.width(), 7)
                for y in range(0, image.height(), 7)})


def _texts(panel) -> list[str]:
    """Every caption, label and image title the panel shows."""
    from PySide6.QtWidgets import QWidget

    texts = []
    for widget in [panel, *panel.findChildren(QWidget)]:
        for name in ("titles", "text"):
            method = getattr(widget, name, None)
            if callable(method):
                try:
                    value = method()
                except TypeError:
                    continue
                texts += value if isinstance(value, list) else [str(value)]
    return texts


def test_a_4096_photo_in_every_image_panel(qtbot, tmp_path):
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(small).resize((4096, 4096), Image.Resampling.BILINEAR).save(
        photo, compress_level=1)  # quick to write and read
    window = MainWindow(save_settings=False)
    qtbot.addWidget(window)
    window.resize(1280, 740)
    window.show()
    assert window.open_source(str(photo)), window.banner.message()
    for panel_id, size in IMAGE_PANELS.items():
        panel = window.show_panel(panel_id)
        if panel_id == "normalization":  # its image view: the feature-scaling tab
            from widgets.normalization.panel import TABS

            panel.tabs.setCurrentIndex(TABS.index("scaling"))
        qtbot.waitUntil(lambda p=panel: p.has_drawn() and p.is_idle(), timeout=120_000)
        assert not panel.problems(), (panel_id, panel.problems())
        assert _colours(panel) > 50, f"{panel_id} renders nearly blank"
        assert size in " ".join(_texts(panel)), f"{panel_id} does not show the photo's size"
    window.close()
    # the command line itself: --image, --panel, --screenshot (in this process)
    shot = tmp_path / "conv.png"
    assert app_module.run(["--image", str(photo), "--panel", "conv", "--screenshot",
                           str(shot)]) == 0
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert len(np.unique(pixels[::5, ::5].reshape(-1, 3), axis=0)) > 50
