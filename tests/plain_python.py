"""Run exported scripts as a learner would: a fresh interpreter where `lab` and `widgets`
cannot be imported, so a script that still leans on Visual Lab fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# one interpreter runs several scripts (torch is imported once), each in its own namespace
_RUNNER = """
import contextlib, io, json, runpy, sys
sys.modules.update(lab=None, widgets=None)  # `import lab` raises ImportError
outputs = []
for path in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(path, run_name="__main__")
    outputs.append(out.getvalue())
print(json.dumps(outputs))
"""


def run_plain(codes: list[str], folder: Path, timeout: float = 300) -> list[str]:
    """Each script's printed output; fails with the script's traceback if one raises."""
    paths = []
    for i, code in enumerate(codes):
        path = folder / f"exported_{i}.py"
        path.write_text(code, encoding="utf-8")
        paths.append(str(path))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", _RUNNER, *paths], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])
