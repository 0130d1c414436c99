"""A saved view: which panel, its parameters and the image it showed, as a small JSON file
that File → Open view…, `main.py --open FILE` and drag-and-drop restore exactly.

    {"format": "visual-lab-view", "version": 1, "panel": "pooling",
     "image": "sample:astronaut", "params": {...}}

`params` is `lab.params.to_data(panel.params())`; the panel that reads it turns it back into
its own dataclass with `lab.params.from_data`. Reading checks everything else here and
raises `ViewFileError` with a message naming what is wrong — never anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "visual-lab-view"
VERSION = 1
SUFFIX = ".json"
MAX_BYTES = 1_000_000  # a view is a few kB; anything far larger is not one


class ViewFileError(ValueError):
    """The text or file is not a Visual Lab view this version can read."""


@dataclass(frozen=True)
class SavedView:
    panel: str
    params: Any        # JSON data, as lab.params.to_data wrote it
    image: str = ""    # LabImage.source ("sample:ID" or a file path); "" when none


def view_to_json(view: SavedView) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, "panel": view.panel,
                       "image": view.image, "params": view.params}, indent=2,
                      ensure_ascii=False) + "\n"


def view_from_json(text: str, where: str = "the text") -> SavedView:
    try:
        data = json.loads(text)
    except RecursionError:
        raise ViewFileError(f"{where} is nested too deeply to be a view") from None
    except ValueError as exc:
        raise ViewFileError(f"{where} is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ViewFileError(f"{where} is JSON but not a Visual Lab view "
                            f"(no \"format\": \"{FORMAT}\")")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ViewFileError(f"{where}: \"version\" must be a whole number ≥ 1, not {version!r}")
    if version > VERSION:
        raise ViewFileError(f"{where} was saved by a newer Visual Lab (view format "
                            f"{version}); this one reads up to {VERSION}")
    panel, image = data.get("panel"), data.get("image", "")
    if not isinstance(panel, str) or not panel:
        raise ViewFileError(f"{where} names no panel (\"panel\" must be a panel id)")
    if not isinstance(image, str):
        raise ViewFileError(f"{where}: \"image\" must be text (a file path or sample:ID)")
    if "params" not in data:
        raise ViewFileError(f"{where} holds no \"params\"")
    return SavedView(panel, data["params"], image)


def read_view(path: str | Path) -> SavedView:
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ViewFileError(f"{path.name} is not a file")
        if size > MAX_BYTES:
            raise ViewFileError(f"{path.name} is {size / 1e6:.1f} MB; a view file is at most "
                                f"{MAX_BYTES / 1e6:.0f} MB")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ViewFileError(f"{path.name} is not a text file") from None
    except OSError as exc:
        raise ViewFileError(f"could not read {path}: {exc.strerror or exc}") from None
    return view_from_json(text, path.name)


def looks_like_view(path: str | Path) -> bool:
    """A dropped file is treated as a view when it ends in .json (images never do)."""
    return Path(path).suffix.lower() == SUFFIX
