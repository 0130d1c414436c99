"""The training loop: `train(cfg, should_stop, controls)` yields plain dataclasses
(lab.training.events) while it trains: hold-out or K-fold, early stopping, live changes,
divergence and out-of-memory handled."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lab import data as data_module
from lab.data import DataProgress, Dataset, Split, as_float
from lab.device import describe_device, pick_device, place_model
from lab.optim import l1_penalty
from lab.training.building import (
    build_model,
    make_optimizer,
    make_scheduler,
    set_dropout,
    state_problems,
)
from lab.training.config import (
    COMPARE_INTERVAL_S,
    LIVE_SETTINGS,
    SCHEDULERS,
    TrainConfig,
    TrainControls,
    format_value,
)
from lab.training.events import (
    EpochMetrics,
    FoldFinished,
    KFoldSummary,
    RunEvent,
    RunFinished,
    RunStarted,
    StepMetrics,
)
from lab.training.probes import (
    COMPARE_SAMPLES,
    boundary_snapshot,
    compare_modes,
    evaluate,
    weight_layers,
    weight_snapshot,
)

# =========================================================================== the loop

#: steps measured together (see _Run.sync_every), and at least this often (slow steps)
SYNC_EVERY = 16
SYNC_INTERVAL_S = 0.1

def _never() -> bool:
    return False


class _PendingStep(NamedTuple):
    """A trained step whose numbers are still on the device (read at the next sync)."""

    loss: torch.Tensor
    out: torch.Tensor  # the model's output, detached: accuracy is counted at the sync
    labels: torch.Tensor
    penalty: torch.Tensor | None
    size: int
    epoch: int
    step: int
    lr: float


class DivergedError(Exception):
    pass


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text
                                              or "can't allocate memory" in text)


def train(cfg: TrainConfig, should_stop: Callable[[], bool] = _never,
          controls: TrainControls | None = None,
          initial_state: dict[str, torch.Tensor] | None = None,
          extras_interval: float = 0.2) -> Iterator[Any]:
    """Train as `cfg` says, yielding what happens as plain dataclasses.

    `should_stop()` is checked between batches (it may block while paused);
    `controls` carries live changes; `initial_state` starts from saved weights;
    weight histograms, decision boundaries and the train/eval comparison are measured at
    most every `extras_interval` seconds (and after the last epoch), without touching
    the training's random numbers. Bad settings raise ValueError before anything runs.
    """
    problems = cfg.validate()
    if problems:
        raise ValueError("; ".join(problems))
    device = pick_device(cfg.device)
    yield DataProgress(f"Preparing {cfg.data.source}…")
    dataset = yield from data_module.prepare(cfg.data, should_stop)
    if dataset is None:
        yield RunFinished("stopped", "Stopped while the data was being prepared.")
        return
    run = _Run(cfg, dataset, device, should_stop, controls or TrainControls(), initial_state,
               extras_interval)
    threads = torch.get_num_threads()
    if dataset.is_points:
        # nets on 2-D points are small: waking a second thread costs more than it saves,
        # and on a busy machine many times more (the count is this thread's own)
        torch.set_num_threads(1)
    try:
        yield from run.execute()
    finally:
        torch.set_num_threads(threads)


class _Run:
    def __init__(self, cfg: TrainConfig, dataset: Dataset, device: torch.device,
                 should_stop: Callable[[], bool], controls: TrainControls,
                 initial_state: dict | None, extras_interval: float) -> None:
        self.cfg = cfg
        self.dataset = dataset
        self.device = device
        self._should_stop = should_stop
        self.controls = controls
        self.initial_state = initial_state
        self.extras_interval = extras_interval
        self.paused = 0.0
        self.l1 = cfg.l1
        self.dropout = cfg.dropout
        self.lr = cfg.lr
        #: where each fold's LR starts: the configured value, or the last one set live
        self.start_lr = cfg.lr
        self.l2 = cfg.l2
        # steps are measured in groups, one sync and one batch of small ops per group: on
        # a GPU a sync per step stalls its queue; on the CPU measuring each step on its own
        # cost a small net ~10 % of its speed (issue 20: 0.77 → 0.87+ of a bare loop)
        self.sync_every = SYNC_EVERY
        self.last_sync = -math.inf  # the first step is reported at once
        self.last_comparison = -math.inf
        self.epoch_loss_sum = self.epoch_correct = 0.0
        self.epoch_seen = 0
        self.epoch_done = self.best_epoch = 0

    # -- helpers ---------------------------------------------------------------------
    def should_stop(self) -> bool:
        started = time.perf_counter()
        stop = self._should_stop()
        waited = time.perf_counter() - started
        if waited > 0.05:  # paused (the worker waits in 50 ms slices): not training time
            self.paused += waited
        return stop

    def _splits(self) -> list[Split]:
        labels = self.dataset.y.numpy()
        data = self.cfg.data
        if self.cfg.kfold >= 2:
            return data_module.kfold_splits(labels, self.cfg.kfold, data.seed, data.train_size)
        return [data_module.holdout_split(labels, data.val_fraction, data.train_size, data.seed)]

    def _steps(self, n_train: int) -> int:
        """Batches per epoch. With BatchNorm a lone last sample joins the batch before it:
        a batch of one has no batch statistics (torch refuses it in training mode)."""
        size = self.cfg.batch_size
        if self.cfg.batchnorm and self.cfg.norm == "batch":
            if n_train < 2:
                raise ValueError("BatchNorm needs at least 2 training samples per batch, and "
                                 f"this split has {n_train}: use more data or fewer folds")
            if n_train % size == 1:
                return n_train // size
        return math.ceil(n_train / size)

    def _place(self) -> tuple[torch.Tensor, torch.Tensor, bool, str]:
        """The data on the device if it fits, else in pinned CPU memory."""
        x, y = self.dataset.x, self.dataset.y
        size_mb = self.dataset.nbytes() / 2**20
        if self.device.type == "cpu":
            return x, y, True, ""
        if self.device.type == "cuda":
            free, _total = torch.cuda.mem_get_info(self.device)
            fits = self.dataset.nbytes() < 0.4 * free
        else:
            fits = self.dataset.nbytes() < 2 * 2**30
        if fits:
            return (x.to(self.device), y.to(self.device), True,
                    f"data preloaded to {self.device.type.upper()} memory ({size_mb:.0f} MB)")
        return (x.pin_memory() if self.device.type == "cuda" else x, y, False,
                f"data ({size_mb:.0f} MB) does not fit in device memory: batches are copied "
                "from pinned CPU memory")

    def _augmentation(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        if self.cfg.augment is None:
            return None
        if self.dataset.is_points:
            raise ValueError("augmentation transforms images; 2-D points have no pixels")
        from lab import augment  # torchvision.transforms.v2: imported only when used

        try:
            transform = augment.build_transform(self.cfg.augment)
        except Exception as exc:  # noqa: BLE001 - the user's pipeline, reported as such
            raise ValueError(f"the augmentation pipeline cannot be built: {exc}") from exc
        sample = as_float(self.dataset.x[:1].to(self.device))[0]
        try:
            out = transform(sample)
        except Exception as exc:  # noqa: BLE001
            shape = "×".join(map(str, sample.shape))
            raise ValueError(f"the augmentation pipeline fails on a {shape} training image: "
                             f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(out, torch.Tensor) or out.shape != sample.shape:
            got = "×".join(map(str, getattr(out, "shape", ()))) or type(out).__name__
            want = "×".join(map(str, sample.shape))
            raise ValueError(f"the augmentation pipeline turns a {want} image into {got}; "
                             f"the model needs {want} — make its crops/resizes produce "
                             f"{sample.shape[-2]}×{sample.shape[-1]}")

        def apply(batch: torch.Tensor) -> torch.Tensor:
            return torch.stack([transform(image) for image in batch])

        return apply

    # -- the run ---------------------------------------------------------------------
    def execute(self) -> Iterator[Any]:
        cfg, dataset = self.cfg, self.dataset
        self.augment = self._augmentation()
        splits = self._splits()
        self.x, self.y, self.preloaded, place_note = self._place()
        self.steps_per_epoch = [self._steps(len(s.train)) for s in splits]
        self.total_steps = sum(n * cfg.epochs for n in self.steps_per_epoch)
        self.steps_done = 0
        self.samples_done = 0
        self.started = time.perf_counter()
        torch.manual_seed(cfg.seed)
        probe = build_model(cfg, dataset.input_shape, dataset.num_classes)
        notes = tuple(dataset.notes) + splits[0].notes + ((place_note,) if place_note else ())
        if self.augment is not None:
            notes += ("augmentation applied to training batches only",)
        self.extent = dataset.extent() if dataset.is_points else None
        yield RunStarted(
            self.device.type, describe_device(self.device), dataset.name, dataset.kind,
            tuple(dataset.class_names), dataset.input_shape, len(splits[0].train),
            len(splits[0].val), len(splits), cfg.epochs, self.steps_per_epoch[0],
            self.total_steps, sum(p.numel() for p in probe.parameters()),
            _model_text(probe), notes, self.extent)
        del probe
        val_losses, val_accuracies = [], []
        finished: RunFinished | None = None
        for split in splits:
            try:
                outcome = yield from self._fold(split)
            except DivergedError as exc:
                finished = RunFinished("diverged", str(exc), self.best_epoch,
                                       self.epoch_done, self._cpu_state())
                break
            except Exception as exc:
                if not _is_out_of_memory(exc):
                    raise
                finished = self._out_of_memory(exc, split.fold)
                yield RunEvent("out_of_memory", split.fold, self.epoch_done,
                               float(self.epoch_done), finished.message)
                break
            if outcome.status == "stopped":
                finished = RunFinished("stopped", f"Stopped by you at epoch {self.epoch_done}"
                                       + (f" of fold {split.fold + 1}" if len(splits) > 1
                                          else "") + ".", self.best_epoch, self.epoch_done,
                                       self._cpu_state())
                break
            if outcome.best_val_loss is not None:
                val_losses.append(outcome.best_val_loss)
                val_accuracies.append(outcome.best_val_accuracy)
            if len(splits) == 1:
                message = (f"Early stopping at epoch {outcome.stop_epoch}: the validation loss "
                           f"had not improved for {cfg.patience} epochs; best epoch "
                           f"{outcome.best_epoch}." if outcome.status == "early_stopped" else
                           f"Finished {outcome.stop_epoch} epochs.")
                finished = RunFinished(outcome.status, message, outcome.best_epoch,
                                       outcome.stop_epoch, self._cpu_state())
        if finished is None:  # every fold of a K-fold run completed
            summary = KFoldSummary(len(splits), tuple(val_losses), tuple(val_accuracies))
            yield summary
            finished = RunFinished("completed", f"All {len(splits)} folds trained: "
                                   f"{summary.text()}.", self.best_epoch, self.epoch_done,
                                   self._cpu_state())
        yield finished

    def _out_of_memory(self, exc: BaseException, fold: int) -> RunFinished:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        where = "GPU" if self.device.type != "cpu" else "computer"
        message = (f"The {where} ran out of memory at epoch {self.epoch_done + 1} "
                   f"(batch size {self.cfg.batch_size}, width {self.cfg.width}, depth "
                   f"{self.cfg.depth}). Try a smaller batch size, a narrower or shallower "
                   f"model, smaller images, or the CPU device. ({str(exc).splitlines()[0]})")
        return RunFinished("out_of_memory", message, self.best_epoch, self.epoch_done,
                           self._cpu_state())

    def _cpu_state(self) -> dict[str, torch.Tensor] | None:
        model = getattr(self, "model", None)
        if model is None:
            return None
        return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def _fold(self, split: Split) -> Iterator[Any]:
        cfg, device = self.cfg, self.device
        fold = split.fold
        self.epoch_done = 0
        self.best_epoch = 0
        torch.manual_seed(cfg.seed)
        model = build_model(cfg, self.dataset.input_shape, self.dataset.num_classes)
        if self.initial_state is not None:
            problems = state_problems(model, self.initial_state)
            if problems:
                raise ValueError("the starting weights do not fit this model ("
                                 + "; ".join(problems) + "): load the checkpoint's own "
                                 "settings, or start from fresh weights")
            model.load_state_dict(self.initial_state)
        model = place_model(model, device)
        # the current live values carry into later folds
        set_dropout(model, self.dropout)
        self.model = model
        optimizer = make_optimizer(cfg, model.parameters())
        for group in optimizer.param_groups:
            group["lr"], group["weight_decay"] = self.start_lr, self.l2
        self.lr = self.start_lr
        scheduler = make_scheduler(cfg, optimizer)
        self.optimizer, self.scheduler = optimizer, scheduler

        index_device = self.x.device
        train_idx = torch.as_tensor(split.train, dtype=torch.long)
        val_idx = torch.as_tensor(split.val, dtype=torch.long).to(index_device)
        x_val, y_val = self.x[val_idx], self.y[val_idx]
        if not self.preloaded:
            x_val, y_val = x_val.to(device), y_val.to(device)
        # train() mode with BatchNorm needs 2+ samples: a lone validation sample won't do
        shown = (val_idx[:COMPARE_SAMPLES] if len(val_idx) >= 2
                 else train_idx[:COMPARE_SAMPLES].to(index_device))
        x_show, y_show = self.x[shown].to(device), self.y[shown].to(device)
        order = torch.Generator().manual_seed(cfg.seed * 1009 + fold)
        steps = self.steps_per_epoch[fold]
        n_train = len(train_idx)

        best_loss = math.inf
        best_val_accuracy: float | None = None
        best_state = None
        last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
        wait = 0
        status = "completed"
        last_extras = -math.inf
        step = 0
        for epoch in range(1, cfg.epochs + 1):
            epoch_started = time.perf_counter()
            model.train()
            perm = train_idx[torch.randperm(n_train, generator=order)].to(index_device)
            loss_sum = 0.0
            correct_sum = 0.0
            seen = 0
            pending: list[_PendingStep] = []
            # the epoch's batches at once (views); the last takes whatever is left (_steps)
            batches = list(perm.split(cfg.batch_size))
            if len(batches) > steps:
                batches[steps - 1:] = [torch.cat(batches[steps - 1:])]
            controls = self.controls
            for batch, idx in enumerate(batches):
                if self.should_stop():
                    status = "stopped"
                    break
                if controls.has_changes():
                    yield from self._apply_controls(fold, epoch, batch / steps)
                xb, yb = self.x[idx], self.y[idx]
                if not self.preloaded:
                    xb = xb.to(device, non_blocking=True)
                    yb = yb.to(device, non_blocking=True)
                xb = as_float(xb)
                if self.augment is not None:
                    xb = self.augment(xb)
                out = model(xb)
                loss = F.cross_entropy(out, yb)
                total = loss
                penalty = None
                if self.l1 > 0:
                    penalty = self.l1 * l1_penalty(model)
                    total = loss + penalty
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                step += 1
                # accuracy is counted at the next sync, for all pending steps at once
                # (on a GPU, three small kernels a step cost ~3 % of a fast run)
                pending.append(_PendingStep(
                    loss.detach(), out.detach(), yb,
                    penalty.detach() if penalty is not None else None, len(idx), epoch, step,
                    optimizer.param_groups[0]["lr"]))
                if (len(pending) >= self.sync_every or batch == steps - 1
                        or time.perf_counter() - self.last_sync >= SYNC_INTERVAL_S):
                    self.last_sync = time.perf_counter()
                    yield from self._drain(pending, fold, steps, model, last_good)
                    pending = []
            if pending:  # stopped mid-epoch with steps not yet measured
                yield from self._drain(pending, fold, steps, model, last_good)
            loss_sum += self.epoch_loss_sum
            correct_sum += self.epoch_correct
            seen += self.epoch_seen
            self.epoch_loss_sum = self.epoch_correct = 0.0
            self.epoch_seen = 0
            if status == "stopped":
                break
            self.epoch_done = epoch
            if len(x_val):
                val_loss, val_accuracy = evaluate(model, x_val, y_val)
            else:
                val_loss = val_accuracy = None
            if val_loss is not None and not math.isfinite(val_loss):
                model.load_state_dict(last_good)
                self.epoch_done = epoch - 1
                yield RunEvent("diverged", fold, epoch, float(epoch),
                               f"validation loss became {val_loss} at epoch {epoch}")
                raise DivergedError(
                    f"The validation loss became {val_loss} at epoch {epoch}: the learning "
                    f"rate ({optimizer.param_groups[0]['lr']:g}) is probably too high. The run "
                    f"stopped; the curves keep the last good values and "
                    f"{_weights_after(epoch - 1)}.")
            position = float(epoch)
            lr_before = optimizer.param_groups[0]["lr"]
            if scheduler is not None:
                if cfg.scheduler == "plateau":
                    if val_loss is not None:
                        scheduler.step(val_loss)
                else:
                    scheduler.step()
            lr_after = optimizer.param_groups[0]["lr"]
            self.lr = lr_after
            monitored = val_loss if val_loss is not None else loss_sum / max(seen, 1)
            improved = monitored < best_loss - cfg.min_delta
            if improved:
                best_loss, self.best_epoch = monitored, epoch
                best_val_accuracy = val_accuracy
                wait = 0
                if cfg.early_stopping and cfg.restore_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                wait += 1
            last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elapsed = self._active_seconds()
            yield EpochMetrics(fold, epoch, loss_sum / max(seen, 1), correct_sum / max(seen, 1),
                               val_loss, val_accuracy, lr_before,
                               time.perf_counter() - epoch_started, self.best_epoch,
                               self.samples_done / max(elapsed, 1e-9))
            if lr_after != lr_before and cfg.scheduler in ("step", "plateau"):
                why = (f"val loss flat for {cfg.plateau_patience + 1} epochs"
                       if cfg.scheduler == "plateau" else f"every {cfg.step_size} epochs")
                yield RunEvent("lr", fold, epoch, position,
                               f"{SCHEDULERS[cfg.scheduler].split(' — ')[0]}: LR "
                               f"{lr_before:.3g} → {lr_after:.3g} ({why})", "lr",
                               lr_before, lr_after)
            stop_now = cfg.early_stopping and wait >= cfg.patience
            last = stop_now or epoch == cfg.epochs
            now = time.perf_counter()
            if last or now - last_extras >= self.extras_interval:
                last_extras = now
                yield from self._extras(model, fold, epoch, x_show, y_show, last)
            if stop_now:
                status = "early_stopped"
                yield RunEvent("early_stop", fold, epoch, position,
                               f"early stop at epoch {epoch}: no improvement of the validation "
                               f"loss for {cfg.patience} epochs (best epoch {self.best_epoch})")
                if best_state is not None:
                    model.load_state_dict(best_state)
                    yield RunEvent("restore", fold, epoch, float(self.best_epoch),
                                   f"restored the weights of epoch {self.best_epoch} "
                                   f"(val loss {best_loss:.4f})")
                    yield from self._extras(model, fold, epoch, x_show, y_show, True)
                break
        best_val_loss = best_loss if len(x_val) and math.isfinite(best_loss) else None
        outcome = FoldFinished(fold, len(self.steps_per_epoch), self.best_epoch, best_val_loss,
                               best_val_accuracy, self.epoch_done, status)
        if status != "stopped":
            yield outcome
        return outcome

    def _extras(self, model: nn.Module, fold: int, epoch: int, x_show: torch.Tensor,
                y_show: torch.Tensor, last: bool = False) -> Iterator[Any]:
        yield weight_snapshot(model, fold, epoch)
        now = time.perf_counter()
        # two extra forward passes: a view a learner toggles, so at most once a second
        if len(x_show) and (last or now - self.last_comparison >= COMPARE_INTERVAL_S):
            self.last_comparison = now
            yield compare_modes(model, x_show, y_show, self.device, fold, epoch)
        if self.extent is not None:
            yield boundary_snapshot(model, self.extent, self.device, fold, epoch)

    def _active_seconds(self) -> float:
        return time.perf_counter() - self.started - self.paused

    def _drain(self, pending: list[_PendingStep], fold: int, steps: int, model: nn.Module,
               last_good: dict[str, torch.Tensor]) -> Iterator[Any]:
        """Yield the recorded steps' metrics; a non-finite loss restores the last good
        weights and raises DivergedError (after the good steps went out)."""
        for item, n in zip(self._flush(pending, fold, steps), (p.size for p in pending),
                           strict=True):
            if not math.isfinite(item.loss):
                model.load_state_dict(last_good)
                self.epoch_done = item.epoch - 1
                yield RunEvent("diverged", fold, item.epoch, item.position,
                               f"loss became {item.loss} at epoch {item.epoch}")
                raise DivergedError(
                    f"The loss became {item.loss} at epoch {item.epoch}, step {item.step}: "
                    f"the learning rate ({item.lr:g}) is probably too high. The run stopped; "
                    f"the curves keep the last good values and {_weights_after(item.epoch - 1)}.")
            self.epoch_loss_sum += item.loss * n
            self.epoch_correct += item.accuracy * n
            self.epoch_seen += n
            yield item

    def _flush(self, pending: list[_PendingStep], fold: int, steps: int
               ) -> list[StepMetrics]:
        """Turn the recorded steps into numbers (one device sync for the lot)."""
        sizes = [p.size for p in pending]
        hits = (torch.cat([p.out for p in pending]).argmax(1)
                == torch.cat([p.labels for p in pending])).float()
        # each step's number of right answers: a segment sum over the concatenated batches
        segment = torch.from_numpy(np.repeat(np.arange(len(pending)), sizes))
        corrects_t = torch.zeros(len(pending), device=hits.device).index_add_(
            0, segment.to(hits.device), hits)
        losses, corrects = torch.stack([torch.stack([p.loss for p in pending]).float(),
                                        corrects_t]).tolist()
        with_penalty = [p.penalty for p in pending if p.penalty is not None]
        values = iter(torch.stack(with_penalty).float().tolist() if with_penalty else [])
        penalties = [next(values) if p.penalty is not None else 0.0 for p in pending]
        self.steps_done += len(pending)
        self.samples_done += sum(sizes)
        elapsed = self._active_seconds()
        rate = self.samples_done / max(elapsed, 1e-9)
        remaining = self.total_steps - self.steps_done
        eta = elapsed / max(self.steps_done, 1) * remaining
        progress = self.steps_done / max(self.total_steps, 1)
        out = []
        for p, loss, correct, penalty in zip(pending, losses, corrects, penalties, strict=True):
            position = (p.epoch - 1) + (p.step - (p.epoch - 1) * steps) / steps
            out.append(StepMetrics(fold, p.epoch, p.step, position, loss, correct / p.size, p.lr,
                                   penalty, rate, eta, progress))
        return out

    def _apply_controls(self, fold: int, epoch: int, fraction: float) -> list[RunEvent]:
        changes = self.controls.take()
        events = []
        position = (epoch - 1) + fraction
        for name, new in changes.items():
            old = {"lr": self.lr, "dropout": self.dropout, "l1": self.l1, "l2": self.l2}[name]
            if new == old:
                continue
            if name == "lr":
                self.lr = self.start_lr = new
                for group in self.optimizer.param_groups:
                    group["lr"] = new
                if self.scheduler is not None and hasattr(self.scheduler, "base_lrs"):
                    self.scheduler.base_lrs = [new] * len(self.optimizer.param_groups)
            elif name == "dropout":
                self.dropout = new
                set_dropout(self.model, new)
            elif name == "l1":
                self.l1 = new
            elif name == "l2":
                self.l2 = new
                for group in self.optimizer.param_groups:
                    group["weight_decay"] = new
            events.append(RunEvent("control", fold, epoch, position,
                                   f"{LIVE_SETTINGS[name]} {format_value(old)} → "
                                   f"{format_value(new)}", name, old, new))
        return events


def _weights_after(epoch: int) -> str:
    if epoch <= 0:
        return "the weights are back to their initial values"
    return f"the weights are those after epoch {epoch}"


def _model_text(model: nn.Module) -> str:
    layers = sum(1 for _ in weight_layers(model))
    params = sum(p.numel() for p in model.parameters())
    return f"{type(model).__name__}: {layers} weight layers, {params:,} parameters"


def run_summary(items: list[Any]) -> dict[str, Any]:
    """The last epoch's numbers and the final status from a list of train()'s items
    (for scripts and tests)."""
    epochs = [i for i in items if isinstance(i, EpochMetrics)]
    finished = next((i for i in reversed(items) if isinstance(i, RunFinished)), None)
    return {"epochs": len(epochs), "last": epochs[-1] if epochs else None,
            "status": finished.status if finished else None,
            "message": finished.message if finished else ""}
