"""Where the app keeps its settings and user data; tests point both at temp dirs."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANIZATION = "VisualLab"
APPLICATION = "Visual Lab"
#: Set to a folder to keep settings in <folder>/visual-lab.ini (tests, portable use).
CONFIG_DIR_ENV = "VISUAL_LAB_CONFIG_DIR"
#: Set to a folder to keep run history, checkpoints and other user data there.
DATA_DIR_ENV = "VISUAL_LAB_DATA_DIR"
#: "process": the Training lab trains in a worker process (the app sets this); "thread"
#: (the default elsewhere, e.g. in the panel's unit tests): on a QThread in this process
TRAINER_ENV = "VISUAL_LAB_TRAINER"
ENV_PREFIX = "VISUAL_LAB_"  # what a trainer process takes from the GUI's environment


def trains_in_process() -> bool:
    return os.environ.get(TRAINER_ENV, "thread") == "process"


def app_settings() -> QSettings:
    folder = os.environ.get(CONFIG_DIR_ENV)
    if folder:
        return QSettings(str(Path(folder) / "visual-lab.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def data_dir(create: bool = True) -> Path:
    """The user's data folder for Visual Lab (created on first use; OSError when it
    cannot be)."""
    folder = os.environ.get(DATA_DIR_ENV)
    if folder:
        path = Path(folder)
    else:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        path = Path(base) if base else Path.home() / ".visual-lab"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
