"""Writing files so that a full disk, a read-only folder or a crash never costs what was
there before, and the reason reaches the user in words.

- `atomic_write(path, write)`: `write(handle)` fills a temp file in the target's folder
  (named by `temp_name`), flushed and synced, then `os.replace`d over the target in one
  step: a failure at any point leaves the old file untouched and no temp file behind.
- `remove_stale_temps(folder)`: temp files of our naming left by a killed process.
- `reason(exc)`: "disk full", "read-only file system", "permission denied", ... for an
  OSError, or a short-write RuntimeError from `torch.save` on a full disk.
- `WriteError`: an OSError whose message names the path and the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

#: a temp file of ours: ".<target name>.<pid>-<random>.tmp"
_TEMP = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")
#: what older versions wrote (tempfile.mkstemp): ".<target name>.<8 random chars>.tmp"
_LEGACY_TEMP = re.compile(r"^\.(?P<target>.+\.pt)\.[A-Za-z0-9_]{8}\.tmp$")
#: a legacy temp file (no owner pid) this old is no one's save in progress
LEGACY_TEMP_AGE_S = 120.0
#: a disk-full message says how much was needed from this size on (not for a small CSV)
NEEDED_WORTH_SAYING = 64 * 1024
#: below this much free space an I/O error is called what it almost surely is
FULL_DISK_BYTES = 1 << 20

_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "the folder does not exist",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EEXIST: "a file is where its folder should be",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EIO: "disk I/O error",
}


class WriteError(OSError):
    """A file could not be written; str() is "could not write <path>: <reason>"."""

    def __init__(self, path: str | Path, why: str, errno_: int | None = None) -> None:
        super().__init__(errno_ or errno.EIO, f"could not write {path}: {why}")
        self.path = Path(path)
        self.reason = why

    def __str__(self) -> str:
        return self.strerror


def free_bytes(path: str | Path) -> int | None:
    """Free space on the file system holding `path` (or its nearest existing parent)."""
    path = Path(path)
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    # torch.save on a full disk: "[enforce fail at inline_container.cc:…] . unexpected pos
    # … vs …" (PyTorchStreamWriter saw a short write) or "… file write failed"
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("unexpected pos" in text
                                              or "write failed" in text)


def reason(exc: BaseException, path: str | Path | None = None) -> str:
    """A few words saying why a write failed, for a message."""
    if isinstance(exc, WriteError):
        return exc.reason
    if is_disk_full(exc):
        return "disk full"
    if isinstance(exc, OSError):
        if exc.errno == errno.EIO and path is not None:
            free = free_bytes(path)
            if free is not None and free < FULL_DISK_BYTES:
                return "disk full"
        if exc.errno in _REASONS:
            return _REASONS[exc.errno]
        return exc.strerror or str(exc) or type(exc).__name__
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def temp_name(target: str | Path) -> Path:
    """A temp file beside `target`, named so `remove_stale_temps` knows whose it is."""
    target = Path(target)
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None],
                 needed_bytes: int | None = None) -> Path:
    """Write `path` through a temp file replaced in one step; WriteError names the path
    and the reason (with `needed_bytes` in a disk-full message), and the old file stays."""
    path = Path(path)
    temp = temp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "xb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except (OSError, RuntimeError) as exc:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        why = reason(exc, path.parent)
        if why == "disk full" and needed_bytes and needed_bytes >= NEEDED_WORTH_SAYING:
            why = f"disk full ({_megabytes(needed_bytes)} needed)"
        raise WriteError(path, why, getattr(exc, "errno", None)) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    data = text.encode("utf-8")
    return atomic_write(path, lambda out: out.write(data), len(data))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda out: out.write(data), len(data))


def _megabytes(count: int) -> str:
    return f"{count / 2**20:.1f} MB" if count < 10 * 2**20 else f"{count / 2**20:.0f} MB"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours to signal
        return True
    return True


def remove_stale_temps(folder: str | Path, now: float | None = None) -> tuple[int, int]:
    """Delete temp files of our naming whose writer is gone (its process no longer runs,
    or, for an older version's name without a pid, it is older than LEGACY_TEMP_AGE_S).
    Returns (files removed, bytes freed); files it cannot remove are left."""
    folder = Path(folder)
    now = time.time() if now is None else now
    removed = freed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0, 0
    for entry in entries:
        match = _TEMP.match(entry.name)
        legacy = None if match else _LEGACY_TEMP.match(entry.name)
        if not (match or legacy):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_file(follow_symlinks=False):
                continue
            if match and _pid_alive(int(match["pid"])):
                continue
            if legacy and now - info.st_mtime < LEGACY_TEMP_AGE_S:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed += 1
        freed += info.st_size
    return removed, freed
