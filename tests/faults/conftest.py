"""Simulated storage faults for the fault campaign.

Tests run as root, and chmod does not stop root, so a full disk and a read-only folder are
simulated where the app writes: `lab.files`' open (every atomic write: checkpoints,
exports: a short write then ENOSPC, or EROFS at open) and every SQLite connection the app
opens (its writing statements fail with SQLite's own SQLITE_FULL / SQLITE_READONLY).
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


_WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "REPLACE", "DROP", "ALTER")


def _writes(sql: str) -> bool:
    text = sql.lstrip().upper()
    return text.startswith(_WRITES) or (text.startswith("PRAGMA") and "=" in text and any(
        name in text for name in ("JOURNAL_MODE", "USER_VERSION")))


class _FaultyConnection:
    """A SQLite connection whose writes fail as the disk says: "database or disk is full"
    (SQLITE_FULL) or "attempt to write a readonly database" (SQLITE_READONLY), raised by
    the statement that writes, as SQLite does; reads always work."""

    def __init__(self, connection: sqlite3.Connection, disk: Disk) -> None:
        self._connection = connection
        self._disk = disk

    def _check(self) -> None:
        fault = self._disk.history_fault
        if fault is not None:
            text, code = (("database or disk is full", 13) if fault == "full"
                          else ("attempt to write a readonly database", 8))
            error = sqlite3.OperationalError(text)
            error.sqlite_errorcode = code
            raise error

    def execute(self, sql, *args):
        if _writes(sql):
            self._disk.count_epoch_write(sql)
            self._check()
        return self._connection.execute(sql, *args)

    def executemany(self, sql, *args):
        if _writes(sql):
            self._check()
        return self._connection.executemany(sql, *args)

    def executescript(self, script):
        self._check()
        return self._connection.executescript(script)

    def commit(self) -> None:
        if self._connection.in_transaction:
            self._check()
        self._connection.commit()

    def __getattr__(self, name):
        return getattr(self._connection, name)


class Disk:
    """`disk.fill()` / `disk.read_only()` / `disk.restore()` for files written through
    lab.files; `disk.fill_history()` / `disk.history_read_only()` for SQLite."""

    def __init__(self, monkeypatch) -> None:
        self.fault: int | None = None
        self.history_fault: str | None = None
        self._epochs_until_full: int | None = None
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
            return _FaultyConnection(real_connect(*args, **kwargs), self)

        monkeypatch.setattr(lab.files, "open", fake_open, raising=False)
        monkeypatch.setattr(sqlite3, "connect", fake_connect)

    def fill(self) -> None:
        self.fault = errno.ENOSPC

    def read_only(self) -> None:
        self.fault = errno.EROFS

    def restore(self) -> None:
        self.fault = None
        self.history_fault = None

    def fill_history(self, after_epochs: int | None = None) -> None:
        """The history's disk is full now, or (`after_epochs`) once that many more epochs
        have been written — a fixed point mid-run, however fast the run goes."""
        if after_epochs is None:
            self.history_fault = "full"
        else:
            self._epochs_until_full = after_epochs

    def count_epoch_write(self, sql: str) -> None:
        if self._epochs_until_full is not None and "INTO EPOCHS" in sql.upper():
            if self._epochs_until_full == 0:
                self._epochs_until_full = None
                self.history_fault = "full"
            else:
                self._epochs_until_full -= 1

    def history_read_only(self) -> None:
        self.history_fault = "read-only"


@pytest.fixture
def disk(monkeypatch):
    return Disk(monkeypatch)
