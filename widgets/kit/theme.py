"""Light and dark themes: a Fusion palette; pyqtgraph views follow the palette."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("light", "dark")


def _dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    window, base, text = QColor(37, 39, 43), QColor(28, 29, 32), QColor(225, 226, 230)
    p.setColor(roles.Window, window)
    p.setColor(roles.WindowText, text)
    p.setColor(roles.Base, base)
    p.setColor(roles.AlternateBase, QColor(44, 46, 51))
    p.setColor(roles.ToolTipBase, QColor(50, 52, 58))
    p.setColor(roles.ToolTipText, text)
    p.setColor(roles.Text, text)
    p.setColor(roles.Button, QColor(48, 50, 55))
    p.setColor(roles.ButtonText, text)
    p.setColor(roles.BrightText, QColor(255, 90, 90))
    p.setColor(roles.Link, QColor(110, 170, 255))
    p.setColor(roles.Highlight, QColor(60, 120, 215))
    p.setColor(roles.HighlightedText, QColor(255, 255, 255))
    p.setColor(roles.PlaceholderText, QColor(140, 142, 150))
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 122, 128))
    return p


def apply_theme(app: QApplication, name: str) -> str:
    """Switch the whole app to "light" or "dark"; returns the theme applied."""
    if name not in THEMES:
        name = "light"
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if name == "dark" else app.style().standardPalette())
    app.setProperty("visualLabTheme", name)
    return name


def current_theme(app: QApplication | None = None) -> str:
    app = app or QApplication.instance()
    value = app.property("visualLabTheme") if app else None
    return value if value in THEMES else "light"
