"""The Welcome page: the course's concept map, each idea linked to the panel that shows it."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout

from lab.concepts import load_concepts
from lab.welcome.view import WelcomeView
from widgets.kit.panel import AppState, Panel


def _inline_code(text: str) -> str:
    """Escape for HTML and turn `code` spans into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


class WelcomePanel(Panel):
    openPanel = Signal(str)
    #: (panel id, concept number): open the panel on its prepared view of that concept
    openExample = Signal(str, int)

    def __init__(self, state: AppState, specs: Sequence, parent=None) -> None:
        super().__init__(state, parent)
        self.specs = list(specs)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._link_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser)
        self.browser.setHtml(self.page_html())
        QTimer.singleShot(0, self.mark_drawn)

    def params(self) -> WelcomeView:
        return WelcomeView()

    def apply_params(self, view: WelcomeView) -> None:
        """The concept map has no settings: nothing to put back."""

    def panels_for(self, number: int) -> list:
        return [s for s in self.specs if number in s.concepts]

    def page_html(self) -> str:
        rows = []
        for concept in load_concepts():
            panels = self.panels_for(concept.number)
            if panels:
                where = ", ".join(
                    f'<a href="example:{s.id}:{concept.number}">{html.escape(s.title)}</a>'
                    for s in panels)
            else:
                where = f'<span style="color:#888">{html.escape(concept.where)}</span>'
            rows.append(f"<tr><td align='right'>{concept.number}</td>"
                        f"<td>{_inline_code(concept.idea)}</td><td>{where}</td>"
                        f"<td>{_inline_code(concept.what)}</td></tr>")
        panel_list = "".join(
            f'<li><a href="panel:{s.id}"><b>{html.escape(s.title)}</b></a> — '
            f"{html.escape(s.description)}</li>" for s in self.specs if s.id != "welcome")
        return f"""
<h2>Welcome to Visual Lab</h2>
<p>Every idea of an introductory deep-learning course, as something you can <i>see and
change</i>. Drag a slider and watch the numbers and pictures follow; every view can give
you the PyTorch code that reproduces it.</p>
<p>Open your own picture with <b>File ▸ Open image…</b> or drop it on the window;
switch panels with <b>Ctrl+1…9</b>.</p>
<h3>Panels</h3><ul>{panel_list}</ul>
<h3>The concept map</h3>
<p>Each idea of the course notes and where the lab shows it. Linked names open the
panel on a prepared view that shows the idea; grey names are parts of the course the lab
does not cover yet.</p>
<table border="0" cellspacing="0" cellpadding="4" width="100%">
<tr><th>#</th><th align="left">Idea in the notes</th><th align="left">Where</th>
<th align="left">What you do and see</th></tr>
{''.join(rows)}
</table>"""

    def _link_clicked(self, url: QUrl) -> None:
        target = url.toString()
        if target.startswith("panel:"):
            self.openPanel.emit(target.removeprefix("panel:"))
        elif target.startswith("example:"):
            panel_id, _, number = target.removeprefix("example:").rpartition(":")
            self.openExample.emit(panel_id, int(number))
