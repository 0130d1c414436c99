"""The Training lab's settings form: every control of a `TrainConfig`, with tooltips that
teach, greyed out when it means nothing with the other settings.

`TrainForm.config()` reads the controls into a `TrainConfig`; `set_config()` writes one
back. `changed` fires on any edit; `liveChanged(name, value)` fires for the settings a
running run can take without restarting (learning rate, dropout p, L1, L2).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lab import data as data_module
from lab import optim, training
from lab.data import DataConfig
from lab.training import TrainConfig
from widgets.kit.controls import (
    ChoiceBox,
    LogSlider,
    ParamSlider,
    caption,
    group_box,
    row_of,
)

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
ACTIVATION_TEXT = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid", "gelu": "GELU",
                   "leaky_relu": "leaky ReLU"}
LIVE_NOTE = " Changes while a run trains apply at the next batch, without resetting it."


def name_of(optimizer: str) -> str:
    """'Adam' for 'adam': the name before the dash in the optimiser's description."""
    return training.OPTIMIZERS[optimizer].split(" — ")[0]


class TrainForm(QWidget):
    """All settings of a training run, grouped as a course would teach them."""

    changed = Signal()
    liveChanged = Signal(str, float)
    augmentLoadRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._augment: dict | None = None
        self._augment_name = ""
        self._loading = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._data_group())
        layout.addWidget(self._model_group())
        layout.addWidget(self._optimiser_group())
        layout.addWidget(self._regularisation_group())
        layout.addWidget(self._schedule_group())
        layout.addWidget(self._early_group())
        layout.addWidget(self._augment_group())
        layout.addWidget(self._run_group())
        layout.addStretch(1)
        self.set_config(TrainConfig())
        self._connect()

    # ====================================================================== groups
    def _data_group(self) -> QGroupBox:
        self.source = ChoiceBox("Data set", [(k, v.split(" — ")[0], v)
                                             for k, v in data_module.SOURCES.items()], "moons",
                                tooltip="What to learn from. 2-D sets show the decision "
                                        "boundary; image sets train CNNs. Torchvision sets "
                                        "and image folders are read from a folder you pick.")
        self.samples = ParamSlider("Samples", 20, 20_000, 400, step=20, tooltip=(
            "How many points (or shapes) to generate. Networks are data-hungry: with few "
            "samples they memorise instead of generalising."))
        self.noise = ParamSlider("Noise", 0.0, 1.0, 0.2, step=0.01, decimals=2, tooltip=(
            "Spread of the samples: coordinate noise for 2-D sets, pixel noise for shapes. "
            "More noise = classes overlap = more overfitting to fight."))
        self.classes = ParamSlider("Classes", 2, 8, 3, tooltip=(
            "Number of classes (blobs, spirals)"))
        self.image_size = ParamSlider("Image size", 0, 128, 0, step=4, suffix=" px", tooltip=(
            "Side of the images: digits are upscaled from 8×8, shapes drawn at this size, "
            "folder images resized to it. 0 = the source's own size."))
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder with the data set…")
        self.folder.setToolTip("torchvision sets: the root folder (MNIST/raw/…, "
                               "cifar-10-batches-py/…). Image folder: one sub-folder per "
                               "class, images inside.")
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Pick the data folder")
        self.download = QCheckBox("Download if missing (needs the internet)")
        self.download.setToolTip("torchvision sets: fetch the files into the folder with a "
                                 "progress bar; offline you get a message saying so.")
        self.grayscale = QCheckBox("Read as grey (1 channel)")
        self.grayscale.setToolTip("Image folder: convert every image to one grey channel")
        self.train_size = ParamSlider("Train samples", 0, 5000, 0, step=10, tooltip=(
            "At most this many training samples (0 = all). The validation set stays the "
            "same, so runs with 50, 200, 1000 samples are judged on the same data: the "
            "notes' point that networks are data-hungry."))
        self.val_fraction = ParamSlider("Validation", 0.0, 0.5, 0.2, step=0.05, decimals=2,
                                        tooltip=(
            "Share of the data held out to validate (never trained on). Early stopping and "
            "ReduceLROnPlateau watch its loss. K-fold uses 1/k instead."))
        self.kfold = ParamSlider("K-fold k", 1, 10, 1, tooltip=(
            "k ≥ 2: K-fold cross-validation — k models, each validated on a different "
            "1/k of the data, so every sample is validated exactly once; you see a curve "
            "per fold and the mean ± std. 1 = one hold-out split."))
        self.split_seed = ParamSlider("Split seed", 0, 999, 0, tooltip=(
            "Seeds the data generation and which samples are held out: the same seed gives "
            "the same split every time."))
        return group_box("Data", self.source, self.samples, self.noise, self.classes,
                         self.image_size, row_of(self.folder, self.browse), self.download,
                         self.grayscale, self.train_size, self.val_fraction, self.kfold,
                         self.split_seed)

    def _model_group(self) -> QGroupBox:
        self.arch = ChoiceBox("Model", [(k, v.split(" — ")[0], v)
                                        for k, v in training.ARCHITECTURES.items()], "mlp",
                              tooltip="The network (lab/models.py). Conv models need images.")
        self.depth_slider = ParamSlider("Depth", 1, 32, 2, tooltip=(
            "Hidden layers between input and output. Fewer layers is one of the notes' "
            "remedies for little data."))
        self.width_slider = ParamSlider("Width", 1, 512, 32, tooltip=(
            "Units (or channels) per layer"))
        self.activation = ChoiceBox("Activation", ACTIVATION_TEXT, "relu",
                                    tooltip="The non-linearity after each layer")
        self.dropout = ParamSlider("Dropout p", 0.0, 0.9, 0.0, step=0.05, decimals=2, tooltip=(
            "torch's p is the probability of DROPPING a unit in training (nn.Dropout(p)); "
            "TensorFlow's old keep_prob is the probability of KEEPING it (= 1 − p). Dropout "
            "is only active in model.train(); model.eval() switches it off." + LIVE_NOTE))
        self.batchnorm = QCheckBox("BatchNorm after each layer")
        self.batchnorm.setToolTip("Normalise each layer's outputs over the batch; uses batch "
                                  "statistics in train(), running averages in eval()")
        return group_box("Model", self.arch, self.depth_slider, self.width_slider, self.activation,
                         self.dropout, self.batchnorm)

    def _optimiser_group(self) -> QGroupBox:
        self.optimizer = ChoiceBox("Optimiser", [(k, v.split(" — ")[0], v)
                                                 for k, v in training.OPTIMIZERS.items()],
                                   "sgd", tooltip="How gradients become weight updates")
        self.lr = LogSlider("Learning rate", 1e-5, 10.0, 0.1, tooltip=(
            "Step size of each update. Too high and the loss turns NaN; too low and nothing "
            "moves." + LIVE_NOTE))
        self.momentum = ParamSlider("Momentum", 0.0, 0.99, 0.9, step=0.01, decimals=2, tooltip=(
            "SGD / RMSprop: keep a running velocity, so updates roll through small bumps "
            "(Adam has momentum built in)."))
        self.nesterov = QCheckBox("Nesterov momentum")
        self.nesterov.setToolTip("SGD: evaluate the gradient after the momentum step "
                                 "(look ahead); needs momentum > 0")
        self.batch_size = ChoiceBox("Batch size", [(b, str(b)) for b in BATCH_SIZES], 32,
                                    tooltip="Samples per step. SGD averages the gradients of "
                                            "a batch: small batches give noisy loss curves.")
        self.epochs = ParamSlider("Epochs", 1, 1000, 40, tooltip="Passes over the training set")
        # says what switching the optimiser did to the learning rate (Adam at SGD's 0.1
        # diverges, silently)
        self.lr_hint = caption(small=True)
        return group_box("Optimiser", self.optimizer, self.lr, self.lr_hint, self.momentum,
                         self.nesterov, self.batch_size, self.epochs)

    def _regularisation_group(self) -> QGroupBox:
        self.l1 = LogSlider("L1 λ", 1e-6, 0.1, 0.0, allow_zero=True, tooltip=(
            "Adds λ·Σ|w| to the loss — torch has no L1 option, so it is written out. "
            "Pushes many weights to exactly zero (sparse): see the weight histogram's "
            "spike at 0." + LIVE_NOTE))
        self.l2 = LogSlider("L2 λ (decay)", 1e-6, 0.1, 0.0, allow_zero=True, tooltip=(
            "weight_decay in the optimiser: shrinks every weight a little each step, so "
            "the histogram narrows without a spike at 0." + LIVE_NOTE))
        return group_box("Regularisation", self.l1, self.l2)

    def _schedule_group(self) -> QGroupBox:
        self.scheduler = ChoiceBox("LR schedule", [(k, v.split(" — ")[0], v)
                                                   for k, v in training.SCHEDULERS.items()],
                                   "none", tooltip="How the learning rate decays over epochs")
        self.step_size = ParamSlider("Step every", 1, 100, 10, suffix=" ep", tooltip=(
            "StepLR: epochs between drops"))
        self.gamma = ParamSlider("γ (gamma)", 0.05, 1.0, 0.5, step=0.05, decimals=2, tooltip=(
            "StepLR / ExponentialLR: the factor the LR is multiplied by"))
        self.plateau_patience = ParamSlider("Plateau wait", 0, 20, 3, suffix=" ep", tooltip=(
            "ReduceLROnPlateau: epochs without a better validation loss before it cuts"))
        self.plateau_factor = ParamSlider("Plateau factor", 0.05, 0.95, 0.5, step=0.05,
                                          decimals=2, tooltip=(
            "ReduceLROnPlateau: the factor the LR is multiplied by at each cut"))
        return group_box("Learning-rate decay", self.scheduler, self.step_size, self.gamma,
                         self.plateau_patience, self.plateau_factor)

    def _early_group(self) -> QGroupBox:
        self.early = QCheckBox("Stop early when validation stops improving")
        self.early.setToolTip("Early stopping: watch the validation loss; stop after "
                              "'patience' epochs without an improvement larger than min Δ")
        self.patience = ParamSlider("Patience", 1, 50, 5, suffix=" ep", tooltip=(
            "Epochs to wait for a better validation loss"))
        self.min_delta = ParamSlider("Min Δ", 0.0, 0.1, 0.0, step=0.001, decimals=3, tooltip=(
            "An improvement smaller than this does not count"))
        self.restore = QCheckBox("Restore the best epoch's weights")
        self.restore.setToolTip("When stopping, go back to the weights of the epoch with the "
                                "lowest validation loss")
        return group_box("Early stopping", self.early, self.patience, self.min_delta,
                         self.restore)

    def _augment_group(self) -> QGroupBox:
        self.augment_button = QPushButton("Load pipeline JSON…")
        self.augment_button.setToolTip("A pipeline saved by the Augmentation panel "
                                       "(visual-lab-augment JSON), applied to training images "
                                       "only — never to validation")
        self.augment_clear = QPushButton("Clear")
        self.augment_clear.setToolTip("Train without augmentation")
        self.augment_label = caption("No augmentation")
        return group_box("Training augmentation",
                         row_of(self.augment_button, self.augment_clear), self.augment_label)

    def _run_group(self) -> QGroupBox:
        from lab.device import DEVICE_CHOICES

        self.device = ChoiceBox("Device", [(d, {"auto": "Auto (CUDA → MPS → CPU)",
                                                "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)",
                                                "cpu": "CPU"}[d]) for d in DEVICE_CHOICES],
                                "auto", tooltip="Where to train. Auto picks CUDA, then "
                                                "Apple's MPS, then the CPU.")
        self.seed = ParamSlider("Seed", 0, 9999, 0, tooltip=(
            "Seeds the initial weights, batch order and dropout masks: the same seed and "
            "settings reproduce a run exactly (on the CPU)."))
        return group_box("Running", self.device, self.seed)

    # ====================================================================== wiring
    def _connect(self) -> None:
        for widget in (self.samples, self.noise, self.classes, self.image_size, self.train_size,
                       self.val_fraction, self.kfold, self.split_seed, self.depth_slider,
                       self.width_slider, self.momentum, self.epochs, self.step_size, self.gamma,
                       self.plateau_patience, self.plateau_factor, self.patience,
                       self.min_delta, self.seed, self.source, self.arch, self.activation,
                       self.optimizer, self.batch_size, self.scheduler, self.device):
            widget.valueChanged.connect(self._edited)
        self._optimizer_shown = self.optimizer.value()
        self.optimizer.valueChanged.connect(self._optimizer_switched)
        for box in (self.download, self.grayscale, self.batchnorm, self.nesterov, self.early,
                    self.restore):
            box.toggled.connect(self._edited)
        self.folder.editingFinished.connect(self._edited)
        for name, widget in (("lr", self.lr), ("dropout", self.dropout), ("l1", self.l1),
                             ("l2", self.l2)):
            widget.valueChanged.connect(lambda value, n=name: self._live(n, value))
        self.browse.clicked.connect(self._browse)
        self.augment_button.clicked.connect(self.augmentLoadRequested)
        self.augment_clear.clicked.connect(lambda: self.set_augment(None))

    def _optimizer_switched(self, name: str) -> None:
        """Suggest the new optimiser's usual learning rate: take it when the rate was the
        old one's usual (the learner had not chosen one), else only say it."""
        before, self._optimizer_shown = self._optimizer_shown, name
        if self._loading or name == before:
            return
        usual, title = optim.USUAL_LR[name], name_of(name)
        if self.lr.value() == optim.USUAL_LR.get(before):
            self._loading = True  # not a live change of a running run's rate
            try:
                self.lr.setValue(usual)
            finally:
                self._loading = False
            self.lr_hint.setText(f"Learning rate set to {title}'s usual {usual:g}.")
        else:
            self.lr_hint.setText(f"{title} usually starts at lr {usual:g}; yours is "
                                 f"{self.lr.value():g}.")
        self.changed.emit()

    def _edited(self, *_args) -> None:
        if self._loading:
            return
        self.sync_enabled()
        self.changed.emit()

    def _live(self, name: str, value: float) -> None:
        if self._loading:
            return
        if name == "lr" and self.lr_hint.text():  # the hint follows the rate it talks about
            usual, title = optim.USUAL_LR[self.optimizer.value()], name_of(self.optimizer.value())
            self.lr_hint.setText(f"Learning rate at {title}'s usual {usual:g}." if value == usual
                                 else f"{title} usually starts at lr {usual:g}; yours is "
                                      f"{value:g}.")
        self.liveChanged.emit(name, float(value))
        self.changed.emit()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self._edited()

    def set_augment(self, spec: dict | None, name: str = "") -> None:
        self._augment = spec
        self._augment_name = name
        if spec is None:
            self.augment_label.setText("No augmentation")
        else:
            steps = training.format_value(spec)
            self.augment_label.setText(f"{name + ': ' if name else ''}{steps} "
                                       "(training images only)")
        self._edited()

    def sync_enabled(self) -> None:
        cfg = self.config()
        data = cfg.data
        for name, widget in (("samples", self.samples), ("noise", self.noise),
                             ("classes", self.classes), ("image_size", self.image_size),
                             ("download", self.download), ("grayscale", self.grayscale)):
            widget.setEnabled(data.uses(name))
        uses_folder = data.uses("folder")
        self.folder.setEnabled(uses_folder)
        self.browse.setEnabled(uses_folder)
        self.val_fraction.setEnabled(cfg.kfold == 1)
        hint = data_module.dataset_size_hint(data)
        if hint:
            self.train_size.setRange(0, max(10, hint))
        for name, widget in (("momentum", self.momentum), ("nesterov", self.nesterov),
                             ("depth", self.depth_slider), ("activation", self.activation),
                             ("step_size", self.step_size), ("gamma", self.gamma),
                             ("plateau_patience", self.plateau_patience),
                             ("plateau_factor", self.plateau_factor),
                             ("patience", self.patience), ("min_delta", self.min_delta),
                             ("restore_best", self.restore)):
            widget.setEnabled(cfg.uses(name))
        self.augment_clear.setEnabled(self._augment is not None)
        self._enable_devices()

    def _enable_devices(self) -> None:
        from lab.device import available_devices

        found = set(available_devices())
        model = self.device.combo.model()
        if isinstance(model, QStandardItemModel):
            for row in range(model.rowCount()):
                value = self.device.combo.itemData(row)
                item = model.item(row)
                usable = value == "auto" or value in found
                item.setEnabled(usable)
                item.setToolTip("" if usable else f"{value} is not available on this machine")

    # ====================================================================== config
    def config(self) -> TrainConfig:
        data = DataConfig(
            source=self.source.value(), samples=int(self.samples.value()),
            noise=float(self.noise.value()), classes=int(self.classes.value()),
            image_size=int(self.image_size.value()), folder=self.folder.text().strip(),
            download=self.download.isChecked(), grayscale=self.grayscale.isChecked(),
            train_size=int(self.train_size.value()),
            val_fraction=float(self.val_fraction.value()), seed=int(self.split_seed.value()))
        return TrainConfig(
            data=data, arch=self.arch.value(), depth=int(self.depth_slider.value()),
            width=int(self.width_slider.value()), activation=self.activation.value(),
            dropout=float(self.dropout.value()), batchnorm=self.batchnorm.isChecked(),
            optimizer=self.optimizer.value(), lr=self.lr.value(),
            momentum=float(self.momentum.value()), nesterov=self.nesterov.isChecked(),
            batch_size=int(self.batch_size.value()), epochs=int(self.epochs.value()),
            l1=self.l1.value(), l2=self.l2.value(), scheduler=self.scheduler.value(),
            step_size=int(self.step_size.value()), gamma=float(self.gamma.value()),
            plateau_patience=int(self.plateau_patience.value()),
            plateau_factor=float(self.plateau_factor.value()),
            early_stopping=self.early.isChecked(), patience=int(self.patience.value()),
            min_delta=float(self.min_delta.value()), restore_best=self.restore.isChecked(),
            kfold=int(self.kfold.value()), device=self.device.value(),
            seed=int(self.seed.value()), augment=self._augment)

    def set_config(self, cfg: TrainConfig) -> None:
        """Show `cfg` in the controls (values outside a control's range are clamped)."""
        self._loading = True
        self.lr_hint.clear()  # it spoke of the switch made before these settings came
        try:
            data = cfg.data
            self.source.setValue(data.source)
            self.samples.setValue(data.samples)
            self.noise.setValue(data.noise)
            self.classes.setValue(data.classes)
            self.image_size.setValue(data.image_size)
            self.folder.setText(data.folder)
            self.download.setChecked(data.download)
            self.grayscale.setChecked(data.grayscale)
            hint = data_module.dataset_size_hint(data)
            self.train_size.setRange(0, max(10, hint or 60_000, data.train_size))
            self.train_size.setValue(data.train_size)
            self.val_fraction.setValue(data.val_fraction)
            self.split_seed.setValue(data.seed)
            self.arch.setValue(cfg.arch)
            self.depth_slider.setValue(cfg.depth)
            self.width_slider.setValue(cfg.width)
            self.activation.setValue(cfg.activation)
            self.dropout.setValue(cfg.dropout)
            self.batchnorm.setChecked(cfg.batchnorm)
            self.optimizer.setValue(cfg.optimizer)
            self.lr.setValue(cfg.lr)
            self.momentum.setValue(cfg.momentum)
            self.nesterov.setChecked(cfg.nesterov)
            sizes = sorted({*BATCH_SIZES, cfg.batch_size})
            if sizes != self.batch_size.values():  # e.g. a run duplicated with batch 48
                self.batch_size.setChoices([(b, str(b)) for b in sizes], cfg.batch_size)
            self.batch_size.setValue(cfg.batch_size)
            self.epochs.setValue(cfg.epochs)
            self.l1.setValue(cfg.l1)
            self.l2.setValue(cfg.l2)
            self.scheduler.setValue(cfg.scheduler)
            self.step_size.setValue(cfg.step_size)
            self.gamma.setValue(cfg.gamma)
            self.plateau_patience.setValue(cfg.plateau_patience)
            self.plateau_factor.setValue(cfg.plateau_factor)
            self.early.setChecked(cfg.early_stopping)
            self.patience.setValue(cfg.patience)
            self.min_delta.setValue(cfg.min_delta)
            self.restore.setChecked(cfg.restore_best)
            self.kfold.setValue(cfg.kfold)
            self.device.setValue(cfg.device)
            self.seed.setValue(cfg.seed)
            self._augment = cfg.augment
            self.augment_label.setText("No augmentation" if cfg.augment is None else
                                       f"{training.format_value(cfg.augment)} (training "
                                       "images only)")
        finally:
            self._loading = False
        self.sync_enabled()
        self.changed.emit()

    def folder_path(self) -> Path | None:
        text = self.folder.text().strip()
        return Path(text) if text else None
