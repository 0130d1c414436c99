"""Export a map at full resolution: every output pixel, whatever the screen showed.

A view shows every step-th pixel of a photo's map (lab.display_resolution); an export is
the full computation. These generators run on a worker: they yield `Progress` while they
format, then write the file in one step (lab.files.atomic_write) and yield its path.

- CSV: one block of rows per channel, each under a "# title: H rows × W columns" line;
  9 significant digits read back as the same float32 (`numpy.loadtxt(path, delimiter=",")`
  skips the titles).
- PNG: 8-bit pixels, made from the numbers by the caller (the colours the view uses).

Nothing here knows about Qt.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from lab.files import atomic_write
from lab.progress import Progress

#: rows formatted between two progress reports (and stop checks)
ROWS_PER_CHUNK = 64


def csv_chunks(blocks: list[tuple[str, np.ndarray]], should_stop: Callable[[], bool],
               stage: str = "writing CSV") -> Iterator[Progress | bytes]:
    """The CSV of `blocks` ((title, (H, W) array) each) as byte chunks, with a `Progress`
    between them; stops early (yielding nothing more) when `should_stop()`."""
    total = sum(len(values) for _, values in blocks) or 1
    done = 0
    for title, values in blocks:
        values = np.asarray(values, dtype=np.float32)
        yield f"# {title}: {values.shape[0]} rows × {values.shape[1]} columns\n".encode()
        for start in range(0, len(values), ROWS_PER_CHUNK):
            if should_stop():
                return
            buffer = io.BytesIO()
            np.savetxt(buffer, values[start:start + ROWS_PER_CHUNK], fmt="%.9g", delimiter=",")
            yield buffer.getvalue()
            done += min(ROWS_PER_CHUNK, len(values) - start)
            yield Progress(stage, done / total)


def write_csv(path: str | Path, blocks: list[tuple[str, np.ndarray]],
              should_stop: Callable[[], bool] = lambda: False) -> Iterator[Progress | Path]:
    """Format `blocks` (yielding progress), then write them to `path` atomically and
    yield the path; nothing is written when `should_stop()` cuts it short."""
    parts: list[bytes] = []
    for item in csv_chunks(blocks, should_stop):
        if isinstance(item, Progress):
            yield item
        else:
            parts.append(item)
    if should_stop():
        return
    size = sum(len(p) for p in parts)
    yield atomic_write(path, lambda out: out.writelines(parts), size)


def write_png(path: str | Path, pixels: np.ndarray) -> Path:
    """(H, W) gray or (H, W, 3) RGB uint8 pixels as a PNG, atomically."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, "PNG")
    data = buffer.getvalue()
    return atomic_write(path, lambda out: out.write(data), len(data))


def read_csv_blocks(path: str | Path) -> list[np.ndarray]:
    """The blocks of a CSV `write_csv` wrote, as float32 arrays (tests, users' scripts)."""
    blocks: list[list[str]] = []
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):
            blocks.append([])
        elif line:
            blocks[-1].append(line)
    return [np.loadtxt(io.StringIO("\n".join(rows)), delimiter=",", dtype=np.float32, ndmin=2)
            for rows in blocks]
