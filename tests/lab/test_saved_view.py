"""The saved-view file format: what it writes reads back exactly; anything else is refused
with a message naming what is wrong (never another exception)."""

import pytest

from lab.saved_view import (
    MAX_BYTES,
    SavedView,
    ViewFileError,
    read_view,
    view_from_json,
    view_to_json,
)


def test_round_trip_through_a_file(tmp_path):
    view = SavedView("pooling", {"pool": {"kind": "max", "kernel_size": 3}, "tab": "grid"},
                     "sample:astronaut")
    (tmp_path / "v.json").write_text(view_to_json(view), encoding="utf-8")
    assert read_view(tmp_path / "v.json") == view


@pytest.mark.parametrize(("text", "message"), [
    ("not json at all", "is not JSON"),
    ("[1, 2, 3]", "not a Visual Lab view"),
    ('{"format": "visual-lab-augment", "version": 1, "steps": []}', "not a Visual Lab view"),
    ('{"format": "visual-lab-view", "version": "1", "panel": "conv", "params": {}}',
     "whole number"),
    ('{"format": "visual-lab-view", "version": 7, "panel": "conv", "params": {}}',
     "newer Visual Lab"),
    ('{"format": "visual-lab-view", "version": 1, "params": {}}', "names no panel"),
    ('{"format": "visual-lab-view", "version": 1, "panel": "conv", "image": 3, "params": {}}',
     "must be text"),
    ('{"format": "visual-lab-view", "version": 1, "panel": "conv"}', "no \"params\""),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_bad_text_gets_a_message(text, message):
    with pytest.raises(ViewFileError, match=message):
        view_from_json(text, "v.json")


def test_bad_files_get_a_message(tmp_path):
    with pytest.raises(ViewFileError, match="could not read"):
        read_view(tmp_path / "missing.json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ViewFileError, match="not a text file|not JSON"):
        read_view(tmp_path / "binary.json")
    (tmp_path / "big.json").write_text(" " * (MAX_BYTES + 1))
    with pytest.raises(ViewFileError, match="at most"):
        read_view(tmp_path / "big.json")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(ViewFileError, match="not a file"):
        read_view(tmp_path / "folder.json")
