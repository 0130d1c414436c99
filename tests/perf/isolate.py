"""Point Visual Lab's settings and data at a temp dir for the benchmark run."""

import os
import tempfile

FOLDER = tempfile.mkdtemp(prefix="visual-lab-perf-")
os.environ["VISUAL_LAB_CONFIG_DIR"] = os.path.join(FOLDER, "config")
os.environ["VISUAL_LAB_DATA_DIR"] = os.path.join(FOLDER, "data")
