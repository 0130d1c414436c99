"""Hypothesis strategies that draw VALID params for each panel: values its controls can
show (within each slider's range, on its steps). Used by test_params_roundtrip.py."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from lab import augment, conv
from lab.architectures import INPUT_SIZES, TREE_MODELS, ClassicParams, ConnectivityParams
from lab.architectures import gradient_flow as gf
from lab.architectures.view import ArchitecturesView, ClassicView, ConnectivityView, ModuleView
from lab.augment.view import AugmentView
from lab.calculus.examples import LIMIT_PRESETS
from lab.calculus.examples import PRESETS as CALCULUS_PRESETS
from lab.calculus.view import MAX_ORDER, CalculusView
from lab.conv import ConvParams
from lab.conv.view import ConvGridView, ConvView
from lab.data import DataConfig
from lab.normalization.view import NormView, divisors
from lab.optimizers.surfaces import SURFACES
from lab.optimizers.view import KINDS, OptimizerSettings, OptimizersView
from lab.pooling import POOL_KINDS, TRANSPOSED_INITS, PoolParams, UpsampleParams
from lab.pooling.view import PoolingView
from lab.regularization.view import BASES, PENALTIES, TRUTHS, RegView
from lab.training import TrainConfig
from lab.training.view import TrainingView
from lab.welcome.view import WelcomeView


@st.composite
def pooling_views(draw) -> PoolingView:
    pool = PoolParams(
        kind=draw(st.sampled_from(list(POOL_KINDS))), kernel_size=draw(st.integers(1, 8)),
        stride=draw(st.integers(1, 8)), padding=draw(st.integers(0, 4)),
        dilation=draw(st.integers(1, 4)), ceil_mode=draw(st.booleans()),
        count_include_pad=draw(st.booleans()), norm_type=draw(st.integers(1, 16)) / 2,
        output_size=draw(st.integers(1, 32)))
    upsample = UpsampleParams(
        scale_factor=draw(st.integers(1, 8)),
        target_size=draw(st.none() | st.integers(2, 512)),
        align_corners=draw(st.booleans()), patch_size=draw(st.integers(4, 128)),
        transposed_init=draw(st.sampled_from(list(TRANSPOSED_INITS))),
        center=(draw(st.integers(0, 100)) / 100, draw(st.integers(0, 100)) / 100))
    return PoolingView(tab=draw(st.sampled_from(["pool", "upsample"])), pool=pool,
                       upsample=upsample, grid_side=draw(st.integers(4, 16)),
                       grid_seed=draw(st.integers(0, 1000)), fit_output=draw(st.booleans()))


@st.composite
def conv_views(draw) -> ConvView:
    in_channels = draw(st.sampled_from([1, 3]))
    out = draw(st.integers(1, 16))
    kh, kw = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    groups = draw(st.sampled_from(conv.divisors(in_channels)))
    per_group = in_channels // groups
    edits = draw(st.lists(st.tuples(st.integers(0, out - 1), st.integers(0, per_group - 1),
                                    st.integers(0, kh - 1), st.integers(0, kw - 1),
                                    st.integers(-20, 20).map(lambda v: v / 4)),
                          max_size=3, unique_by=lambda e: e[:4]))
    layer = ConvParams(
        in_channels=in_channels, out_channels=out, kernel_h=kh, kernel_w=kw,
        stride=draw(st.integers(1, 8)),
        padding=draw(st.sampled_from(["same"]) | st.integers(0, 10)),
        padding_mode=draw(st.sampled_from(list(conv.PADDING_MODES))),
        dilation=draw(st.integers(1, 4)), groups=groups, bias=draw(st.booleans()),
        relu=draw(st.booleans()), flip=draw(st.booleans()),
        presets=tuple(draw(st.lists(st.sampled_from(list(conv.PRESETS)), min_size=out,
                                    max_size=out))),
        biases=tuple(draw(st.lists(st.integers(-40, 40).map(lambda v: v / 20), min_size=out,
                                   max_size=out))),
        edits=tuple(sorted(edits)), seed=draw(st.integers(0, 100)))
    size, k = draw(st.integers(3, 16)), draw(st.integers(1, 7))
    typed = draw(st.booleans())
    grid = ConvGridView(
        mode=draw(st.sampled_from(["conv", "transposed"])), size=size, kernel_size=k,
        stride=draw(st.integers(1, 4)), padding=draw(st.integers(0, 5)),
        output_padding=draw(st.integers(0, 3)), dilation=draw(st.integers(1, 3)),
        padding_mode=draw(st.sampled_from(list(conv.PADDING_MODES))),
        kernel=draw(st.sampled_from(list(conv.GRID_KERNELS))),
        seed=draw(st.integers(0, 100)), kernel_seed=draw(st.integers(0, 100)),
        values=tuple(tuple(float((r * 7 + c) % 10) for c in range(size)) for r in range(size))
        if typed else None,
        speed=draw(st.integers(1, 10)))
    return ConvView(tab=draw(st.sampled_from(["image", "grid"])), layer=layer,
                    kernel_channel=draw(st.integers(0, out - 1)),
                    in_index=draw(st.integers(0, per_group - 1)),
                    edit_all=draw(st.booleans()), link_kernel=kh == kw and draw(st.booleans()),
                    scale_mode=draw(st.sampled_from(["bold", "each", "shared"])), grid=grid)


@st.composite
def architectures_views(draw) -> ArchitecturesView:
    # small nets; width, growth rate and blocks stay at their defaults because the
    # gradient nets (a sweep of depths 4…64, seconds of work) are built with them
    layers = ConnectivityParams(
        kind=draw(st.sampled_from(["conv", "dense"])), depth=draw(st.integers(1, 10)),
        batchnorm=draw(st.booleans()))
    connectivity = ConnectivityView(
        layers, fold=draw(st.booleans()), collapse=draw(st.booleans()),
        gradient_depth=draw(st.sampled_from(gf.SWEEP_DEPTHS[:3])))
    classic = ClassicView(ClassicParams(
        "lenet5", input_size=draw(st.sampled_from([s for s in INPUT_SIZES if s <= 64])),
        in_channels=draw(st.sampled_from([1, 3])), num_classes=draw(st.sampled_from([10, 1000]))),
        fold=draw(st.booleans()), collapse=draw(st.booleans()))
    modules = ModuleView(draw(st.sampled_from([m for m in TREE_MODELS
                                               if not m.startswith("classic:")])),
                         draw(st.sampled_from(["Flatten", "ChannelScale", "example"])))
    return ArchitecturesView(draw(st.sampled_from(["connectivity", "classic", "modules"])),
                             connectivity, classic, modules)


@st.composite
def augment_views(draw) -> AugmentView:
    """Pipelines of steps with the parameters the panel suggests (sizes for a small
    image), some switched off; small grids."""
    names = draw(st.lists(st.sampled_from([info.name for info in augment.STEP_LIST]),
                          max_size=4))
    steps = []
    for name in names:
        step = augment.new_step(name, (3, 40, 56))
        step["enabled"] = draw(st.booleans())
        steps.append(step)
    return AugmentView(
        spec=augment.make_spec(steps), count=draw(st.integers(1, 6)),
        seed=draw(st.integers(0, 10_000)), lock=draw(st.booleans()),
        input_dtype=draw(st.sampled_from(["uint8", "float32"])),
        preset=draw(st.sampled_from(list(augment.PRESETS))),
        selected_step=draw(st.integers(-1, len(steps) - 1)) if steps else -1)


@st.composite
def training_views(draw) -> TrainingView:
    """Settings on the form's steps (sliders move in steps; the log sliders take any
    value with six decimals)."""
    data = DataConfig(
        source=draw(st.sampled_from(["moons", "circles", "spirals", "xor", "blobs", "digits",
                                     "shapes"])),
        samples=draw(st.integers(1, 100)) * 20, noise=draw(st.integers(0, 100)) / 100,
        classes=draw(st.integers(2, 8)), image_size=draw(st.integers(0, 8)) * 4,
        train_size=draw(st.integers(0, 50)) * 10, val_fraction=draw(st.integers(1, 10)) / 20,
        seed=draw(st.integers(0, 999)))
    config = TrainConfig(
        data=data, arch=draw(st.sampled_from(["mlp", "plain", "resnet", "densenet"])),
        depth=draw(st.integers(1, 32)), width=draw(st.integers(1, 512)),
        activation=draw(st.sampled_from(["relu", "tanh", "sigmoid", "gelu", "leaky_relu"])),
        dropout=draw(st.integers(0, 18)) / 20,
        batchnorm=draw(st.booleans()),
        optimizer=draw(st.sampled_from(["sgd", "adam", "adamw", "rmsprop"])),
        lr=draw(st.sampled_from([1e-4, 0.001, 0.003, 0.01, 0.1, 0.5, 1.0])),
        momentum=draw(st.integers(0, 99)) / 100, nesterov=draw(st.booleans()),
        batch_size=draw(st.sampled_from([1, 8, 32, 48, 256])),
        epochs=draw(st.integers(1, 1000)),
        l1=draw(st.sampled_from([0.0, 1e-5, 1e-3])), l2=draw(st.sampled_from([0.0, 1e-4])),
        scheduler=draw(st.sampled_from(["none", "step", "exponential", "cosine", "plateau"])),
        step_size=draw(st.integers(1, 100)), gamma=draw(st.integers(1, 20)) / 20,
        plateau_patience=draw(st.integers(0, 20)),
        plateau_factor=draw(st.integers(1, 19)) / 20,
        early_stopping=draw(st.booleans()), patience=draw(st.integers(1, 50)),
        min_delta=draw(st.integers(0, 100)) / 1000, restore_best=draw(st.booleans()),
        kfold=draw(st.integers(1, 10)), device="auto", seed=draw(st.integers(0, 9999)))
    return TrainingView(config)


@st.composite
def normalization_views(draw) -> NormView:
    """Small tensors, a G that divides C, γ/β on their sliders' 0.05 steps, a cell inside
    the tensor; the experiment is not started (its settings only)."""
    source = draw(st.sampled_from(["digits", "shapes", "photos"]))
    stage = draw(st.sampled_from(["conv", "pixels"]))
    batch, channels, side = (draw(st.integers(1, 6)), draw(st.integers(1, 6)),
                             draw(st.integers(2, 6)))
    shown = channels if stage == "conv" else (3 if source == "photos" else 1)
    steps = st.integers(-60, 60).map(lambda v: v / 20)
    gamma = tuple(draw(st.lists(steps, max_size=shown)))
    beta = tuple(draw(st.lists(steps, max_size=shown)))
    cell = (draw(st.integers(0, batch - 1)), draw(st.integers(0, shown - 1)),
            draw(st.integers(0, side - 1)), draw(st.integers(0, side - 1)))
    return NormView(
        source=source, stage=stage, batch=batch, channels=channels, side=side,
        seed=draw(st.integers(0, 99)),
        method=draw(st.sampled_from(["batch", "layer", "instance", "group"])),
        groups=draw(st.sampled_from(divisors(shown))),
        eps=draw(st.sampled_from([1e-5, 1e-3, 1e-2, 0.1])), gamma=gamma, beta=beta,
        cell=cell, momentum=draw(st.integers(0, 100)) / 100, cumulative=draw(st.booleans()),
        track_running_stats=draw(st.booleans()), steps=draw(st.integers(0, 12)),
        scaling_source=draw(st.sampled_from(["image", "digits"])),
        experiment_sizes=tuple(draw(st.lists(st.integers(2, 256), min_size=1, max_size=4))),
        experiment_epochs=draw(st.integers(1, 20)),
        tab=draw(st.sampled_from(["axes", "running", "scaling", "batches"])))


@st.composite
def regularization_views(draw) -> RegView:
    samples = draw(st.integers(4, 200))
    i = draw(st.integers(1, 20))
    return RegView(
        truth=draw(st.sampled_from(list(TRUTHS))), samples=samples,
        noise=draw(st.integers(0, 20)) / 20, seed=draw(st.integers(0, 9999)),
        degree=draw(st.integers(0, 20)), penalty=draw(st.sampled_from(list(PENALTIES))),
        lam=draw(st.sampled_from([1e-6, 1e-4, 0.001, 0.0032, 0.1, 1.0, 10.0])),
        l1_ratio=draw(st.integers(1, 19)) / 20, basis=draw(st.sampled_from(list(BASES))),
        folds=draw(st.integers(2, min(10, samples))), log_bars=draw(st.booleans()),
        pair=(i, draw(st.integers(1, 20).filter(lambda j: j != i))),
        gd_steps=100 * draw(st.integers(1, 200)),
        bias_axis=draw(st.sampled_from(["degree", "lambda"])))


@st.composite
def calculus_views(draw) -> CalculusView:
    """The formula presets (each costs a sympy run: few examples); x and y ranges in the
    spin boxes' thousandths; the tangent point (0.01 steps) and the Taylor centre (0.05
    steps) inside the x range, whose ends their sliders take as limits."""
    lo = draw(st.integers(-20_000, 19_000))  # thousandths, as the spin boxes show them
    hi = lo + draw(st.integers(100, 20_000))  # wide enough for a 0.05 step inside
    y_lo = draw(st.integers(-50_000, 49_000))
    y_range = draw(st.none() | st.integers(1, 50_000).map(
        lambda width: (y_lo / 1000, (y_lo + width) / 1000)))
    limit_formula, limit_point, direction, _what = draw(st.sampled_from(LIMIT_PRESETS))
    return CalculusView(
        formula=draw(st.sampled_from([text for text, _what in CALCULUS_PRESETS])),
        tab=draw(st.sampled_from(["derivative", "taylor", "limit", "critical"])),
        x_range=(lo / 1000, hi / 1000), y_range=y_range,
        tangent_at=draw(st.integers(-(-lo // 10), hi // 10)) / 100,
        log10_h=draw(st.integers(-64, 0)) / 4, float32=draw(st.booleans()),
        taylor_centre=draw(st.integers(-(-lo // 50), hi // 50)) / 20,
        taylor_order=draw(st.integers(0, MAX_ORDER)), limit_formula=limit_formula,
        limit_point=limit_point,
        limit_direction=draw(st.sampled_from([direction, "+-", "+", "-"])))


def log_stops(minimum: float, maximum: float, per_decade: int) -> list[float]:
    """The values a LogSlider's stops give (two significant digits), within its range."""
    ticks = round(math.log10(maximum / minimum) * per_decade)
    values = [float(f"{minimum * 10 ** (t / per_decade):.2g}") for t in range(ticks + 1)]
    return [v for v in values if v <= maximum]


def log_slider(minimum: float, maximum: float, per_decade: int, decimals: int = 6):
    """A LogSlider's stops, or a number typed in its spin box (`decimals` places)."""
    scale = 10 ** decimals
    typed = st.integers(math.ceil(minimum * scale), math.floor(maximum * scale))
    return st.sampled_from(log_stops(minimum, maximum, per_decade)) | typed.map(
        lambda v: v / scale)


@st.composite
def optimizer_settings(draw, kind: str) -> OptimizerSettings:
    """Every hyper-parameter on its slider (the panel shows them all, greying the unused);
    Nesterov with momentum > 0, which torch needs."""
    return OptimizerSettings(
        kind=kind, enabled=draw(st.booleans()), lr=draw(log_slider(1e-4, 3.0, 10)),
        momentum=draw(st.integers(1 if kind == "nesterov" else 0, 99)) / 100,
        beta1=draw(st.integers(0, 99)) / 100, beta2=draw(st.integers(5000, 9999)) / 10_000,
        eps=draw(log_slider(1e-10, 1.0, 2, decimals=11)),
        weight_decay=draw(st.just(0.0) | log_slider(1e-4, 1.0, 4)),
        alpha=draw(st.integers(500, 999)) / 1000)


@st.composite
def optimizers_views(draw) -> OptimizersView:
    """Preset surfaces and the odd typed one, starts in the maps' domains (4 decimals, as
    a click gives), short runs on the sliders' steps; the basin map is not drawn (its tab
    is not shown), so its settings cost nothing."""
    surface = draw(st.sampled_from([name for name in SURFACES if name != "custom"])
                   | st.just("custom"))
    steps = 10 * draw(st.integers(1, 30))
    return OptimizersView(
        surface=surface, condition=draw(log_slider(1.0, 1000.0, 8)),
        formula=draw(st.sampled_from(["x^2 + 3y^2", "(x - 1)^2 + y^2 + sin(3x)",
                                      OptimizersView().formula])),
        start=(draw(st.integers(-30_000, 30_000)) / 10_000,
               draw(st.integers(-30_000, 30_000)) / 10_000),
        steps=steps, optimizers=tuple(draw(optimizer_settings(kind)) for kind in KINDS),
        batch_size=draw(st.integers(0, 256)), noise=draw(st.integers(0, 100)) / 10,
        seed=draw(st.integers(0, 999)),
        scheduler=draw(st.sampled_from(["none", "step", "exponential", "cosine", "plateau"])),
        step_size=draw(st.integers(1, 500)), gamma=draw(st.integers(500, 999)) / 1000,
        plateau_factor=draw(st.integers(1, 19)) / 20, plateau_patience=draw(st.integers(0, 100)),
        shown_step=draw(st.just(-1) | st.integers(0, steps)),
        basin_kind=draw(st.sampled_from(KINDS)), basin_resolution=draw(st.integers(8, 200)),
        basin_steps=10 * draw(st.integers(1, 200)), editing=draw(st.sampled_from(KINDS)))


STRATEGIES = {
    "normalization": normalization_views(),
    "training": training_views(),
    "augment": augment_views(),
    "architectures": architectures_views(),
    "welcome": st.just(WelcomeView()),
    "pooling": pooling_views(),
    "conv": conv_views(),
    "regularization": regularization_views(),
    "calculus": calculus_views(),
    "optimizers": optimizers_views(),
}
