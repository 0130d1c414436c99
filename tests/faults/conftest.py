"""Simulated storage faults for the fault campaign.

Tests run as root, and chmod does not stop root, so a full disk and a read-only folder are
simulated where the app writes: `lab.files`' open (every atomic write: checkpoints,
exports), SQLite's own limits (`PRAGMA max_page_count` gives a real SQLITE_FULL,
`PRAGMA query_only` a real "readonly database") on every connection the app opens.
"""

from __future__ import annotations

import builtins
import errno
import sqlite3

import pytest

import lab.files


class _ShortWriter:
    """A file whose writes fail like a full disk's: the first bytes land, then ENOSPC."""

    def __init__(self, handle, budget: int) -> None:
        self._handle = handle
        self._budget = budget

    def write(self, data) -> int:
        if len(data) > self._budget:
            self._handle.write(bytes(data[: self._budget]))
            self._budget = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._budget -= len(data)
        return self._handle.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()

    def __getattr__(self, name):
        return getattr(self._handle, name)


class Disk:
    """`disk.fill()` / `disk.read_only()` / `disk.restore()` for files written through
    lab.files; `disk.fill_history()` / `disk.history_read_only()` for SQLite."""

    def __init__(self, monkeypatch) -> None:
        self.fault: int | None = None
        self.history_fault: str | None = None
        self.connections: list[sqlite3.Connection] = []
        self.bytes_before_full = 200
        real_open = builtins.open
        real_connect = sqlite3.connect

        def fake_open(file, mode="r", *args, **kwargs):
            writing = any(flag in mode for flag in "wxa+")
            if writing and self.fault == errno.EROFS:
                raise OSError(errno.EROFS, "Read-only file system", str(file))
            handle = real_open(file, mode, *args, **kwargs)
            if writing and self.fault == errno.ENOSPC:
                return _ShortWriter(handle, self.bytes_before_full)
            return handle

        def fake_connect(*args, **kwargs):
            connection = real_connect(*args, **kwargs)
            self.connections.append(connection)
            self._apply(connection)
            return connection

        monkeypatch.setattr(lab.files, "open", fake_open, raising=False)
        monkeypatch.setattr(sqlite3, "connect", fake_connect)

    def fill(self) -> None:
        self.fault = errno.ENOSPC

    def read_only(self) -> None:
        self.fault = errno.EROFS

    def restore(self) -> None:
        self.fault = None
        self.history_fault = None
        for connection in self.connections:
            self._apply(connection)

    def fill_history(self) -> None:
        self.history_fault = "full"
        for connection in self.connections:
            self._apply(connection)

    def history_read_only(self) -> None:
        self.history_fault = "read-only"
        for connection in self.connections:
            self._apply(connection)

    def _apply(self, connection: sqlite3.Connection) -> None:
        try:
            if self.history_fault == "full":
                pages = connection.execute("PRAGMA page_count").fetchone()[0]
                connection.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
            else:
                connection.execute("PRAGMA max_page_count = 1073741823")
            connection.execute("PRAGMA query_only = "
                               + ("ON" if self.history_fault == "read-only" else "OFF"))
        except sqlite3.ProgrammingError:  # closed
            pass


@pytest.fixture
def disk(monkeypatch):
    return Disk(monkeypatch)
