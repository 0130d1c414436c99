"""Point Visual Lab's settings and data at a temp dir for the benchmark run."""

import os
import tempfile

_folder = tempfile.mkdtemp(prefix="visual-lab-perf-")
os.environ["VISUAL_LAB_CONFIG_DIR"] = os.path.join(_folder, "config")
os.environ["VISUAL_LAB_DATA_DIR"] = os.path.join(_folder, "data")
