"""Every file the widgets write goes through here: replaced in one step (a temp file beside
the target, then `os.replace`, so a full disk or a crash never leaves half a file or
loses the old one), and a failure becomes a message naming the path and the reason —
"could not write /x/y.csv: disk full" — handed to `report` (a banner's show_message),
never an exception into Qt.

    if write_text(path, csv_text, self.banner.show_message): ...
    save_image(self.grid.grab(), path, report)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QWidget

from lab.files import WriteError, atomic_write_bytes, atomic_write_text, reason

Report = Callable[[str], object]


def write_failure(path: str | Path, exc: BaseException) -> str:
    """The message for a failed write: "could not write <path>: <reason>"."""
    if isinstance(exc, WriteError):
        return str(exc)
    return f"could not write {path}: {reason(exc, Path(path).parent)}"


def _report(report: Report | None, message: str) -> None:
    if report is not None:
        report(message[:1].upper() + message[1:])


def write_text(path: str | Path, text: str, report: Report | None = None) -> bool:
    """Write UTF-8 text atomically; False (and `report(message)`) when it cannot."""
    try:
        atomic_write_text(path, text)
    except (OSError, RuntimeError) as exc:
        _report(report, write_failure(path, exc))
        return False
    return True


def write_bytes(path: str | Path, data: bytes, report: Report | None = None) -> bool:
    try:
        atomic_write_bytes(path, data)
    except (OSError, RuntimeError) as exc:
        _report(report, write_failure(path, exc))
        return False
    return True


def png_bytes(image: QImage | QPixmap) -> bytes:
    """The image encoded as PNG in memory (empty if Qt cannot encode it)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data()) if ok else b""


def save_image(image: QImage | QPixmap, path: str | Path, report: Report | None = None) -> bool:
    """Save as PNG atomically; False (and a message) when it cannot — never silently."""
    if image.isNull():
        _report(report, f"could not write {path}: there is nothing to draw yet")
        return False
    data = png_bytes(image)
    if not data:
        _report(report, f"could not write {path}: Qt could not encode the image as PNG")
        return False
    return write_bytes(path, data, report)


def ask_png_or_csv(parent: QWidget, title: str, suggested: str) -> str:
    """A save dialog for a map's picture or numbers: the path chosen ('' when cancelled),
    given the chosen filter's suffix when the name has neither .png nor .csv."""
    path, chosen = QFileDialog.getSaveFileName(parent, title, suggested,
                                               "PNG image (*.png);;CSV numbers (*.csv)")
    if path and not path.lower().endswith((".png", ".csv")):
        path += ".csv" if "CSV" in chosen else ".png"
    return path
