"""The training loop as a generator of plain dataclasses, and its configuration.

    cfg = TrainConfig(data=DataConfig("moons"), dropout=0.2, l1=1e-4, epochs=30)
    for item in train(cfg, should_stop, controls):
        ...   # DataProgress, RunStarted, StepMetrics, EpochMetrics, RunEvent, ...

What the course notes ask of training is all here, through torch itself:
- optimisers SGD (momentum, Nesterov), Adam, AdamW, RMSprop; L2 through `weight_decay`
  and L1 as an explicit penalty added to the loss (torch has no L1 option);
- schedulers StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau('min') on the
  validation loss; early stopping with patience, min delta and best-weight restore;
- dropout (torch's p is the probability of *dropping* a unit) and BatchNorm, with
  validation in `eval()` mode and the same batch shown in both modes;
- learning rate, dropout p and L1/L2 strength changeable while the run trains
  (`TrainControls`, read between batches), each change reported as an event;
- a NaN/inf loss stops the run with the last good epoch's weights and metrics; running
  out of memory is caught and explained; K-fold runs one fold after another.

Data is moved to the device once when it fits, and batches are indexed there, so a GPU is
not starved by a data loader. The dataclasses train() yields live in
`lab.training.events`, the measurements it takes for display in `lab.training.probes`; both are
importable from here. Nothing here knows about Qt.

The package is split by job: `config` (TrainConfig and its settings), `building` (model,
optimiser, scheduler), `loop` (the train() generator), `events`, `probes`; everything
callers use is importable from `lab.training`.
"""


from __future__ import annotations

from lab.data import DataProgress
from lab.optim import l1_penalty
from lab.training.building import (
    build_model,
    make_optimizer,
    make_scheduler,
    set_dropout,
    state_problems,
)
from lab.training.config import (
    ARCHITECTURES,
    COMPARE_INTERVAL_S,
    CONFIG_FORMAT,
    LIVE_SETTINGS,
    NORMS,
    OPTIMIZERS,
    RUN_STATUSES,
    SCHEDULERS,
    SETTING_LABELS,
    TITLE_NAMES,
    TrainConfig,
    TrainControls,
    describe_differences,
    differing_settings,
    flat_settings,
    format_value,
    live_setting_problem,
    setting_applies,
    with_change,
)
from lab.training.events import (
    BoundarySnapshot,
    EpochMetrics,
    FoldFinished,
    KFoldSummary,
    LayerHistogram,
    ModeComparison,
    RunEvent,
    RunFinished,
    RunStarted,
    StepMetrics,
    WeightSnapshot,
)
from lab.training.loop import (
    DivergedError,
    run_summary,
    train,
)
from lab.training.probes import (
    BOUNDARY_SIDE,
    COMPARE_SAMPLES,
    NEAR_ZERO,
    boundary_grid,
    boundary_snapshot,
    compare_modes,
    evaluate,
    predict_both_modes,
    weight_layers,
    weight_snapshot,
)

__all__ = [  # what train() yields and the probes live in their own modules; import from here
    "ARCHITECTURES", "BOUNDARY_SIDE", "COMPARE_INTERVAL_S", "COMPARE_SAMPLES", "CONFIG_FORMAT",
    "LIVE_SETTINGS", "NEAR_ZERO", "NORMS", "OPTIMIZERS", "RUN_STATUSES", "SCHEDULERS",
    "SETTING_LABELS", "TITLE_NAMES", "BoundarySnapshot", "DataProgress", "DivergedError",
    "EpochMetrics", "FoldFinished", "KFoldSummary", "LayerHistogram", "ModeComparison",
    "RunEvent", "RunFinished", "RunStarted", "StepMetrics", "TrainConfig", "TrainControls",
    "WeightSnapshot", "boundary_grid", "boundary_snapshot", "build_model", "compare_modes",
    "describe_differences", "differing_settings", "evaluate", "flat_settings", "format_value",
    "l1_penalty", "live_setting_problem", "make_optimizer", "make_scheduler",
    "predict_both_modes", "run_summary", "set_dropout", "setting_applies", "state_problems",
    "train",
    "weight_layers", "weight_snapshot", "with_change",
]
