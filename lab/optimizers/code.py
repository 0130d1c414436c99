"""The plain PyTorch script that reproduces the shown trajectories: the surface and its
gradient as Python (sympy's printer, the very code the panel's gradient is made from),
the same `torch.optim` classes, the same seeded noise and scheduler. No `lab` import."""

from __future__ import annotations

from sympy.printing.pycode import PythonCodePrinter

from lab.optimizers.surfaces import Surface
from lab.optimizers.trajectories import noise_std
from lab.optimizers.view import OPTIMIZER_KINDS, OptimizerSettings, OptimizersView


def python_expression(expr) -> str:
    return PythonCodePrinter({"fully_qualified_modules": True}).doprint(expr)


def optimizer_call(s: OptimizerSettings) -> str:
    """The torch.optim constructor, with the arguments lab.optim.make_optimizer passes."""
    if s.kind in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if s.kind == "sgd" else s.momentum
        nesterov = s.kind == "nesterov" and momentum > 0
        return (f"torch.optim.SGD(params, lr={s.lr!r}, momentum={momentum!r}, "
                f"nesterov={nesterov}, weight_decay={s.weight_decay!r})")
    if s.kind in ("adam", "adamw"):
        name = "Adam" if s.kind == "adam" else "AdamW"
        return (f"torch.optim.{name}(params, lr={s.lr!r}, betas=({s.beta1!r}, {s.beta2!r}), "
                f"weight_decay={s.weight_decay!r}, eps={s.eps!r})")
    if s.kind == "rmsprop":
        return (f"torch.optim.RMSprop(params, lr={s.lr!r}, alpha={s.alpha!r}, "
                f"momentum={s.momentum!r}, weight_decay={s.weight_decay!r}, eps={s.eps!r})")
    return (f"torch.optim.Adagrad(params, lr={s.lr!r}, weight_decay={s.weight_decay!r}, "
            f"eps={s.eps!r})")


def scheduler_call(view: OptimizersView) -> str:
    sched = "torch.optim.lr_scheduler"
    if view.scheduler == "step":
        return f"{sched}.StepLR(optimizer, step_size={view.step_size}, gamma={view.gamma!r})"
    if view.scheduler == "exponential":
        return f"{sched}.ExponentialLR(optimizer, gamma={view.gamma!r})"
    if view.scheduler == "cosine":
        return f"{sched}.CosineAnnealingLR(optimizer, T_max=STEPS)"
    if view.scheduler == "plateau":
        return (f"{sched}.ReduceLROnPlateau(optimizer, 'min', factor={view.plateau_factor!r}, "
                f"patience={view.plateau_patience})")
    return "None"


def trajectory_code(surface: Surface, view: OptimizersView) -> str:
    f, (fx, fy) = surface.expr, surface.gradient
    rows = "\n".join(f"    {s.kind!r}: lambda params: {optimizer_call(s)},  "
                     f"# {OPTIMIZER_KINDS[s.kind][0]}" for s in view.enabled())
    step_scheduler = ("scheduler.step(loss)  # ReduceLROnPlateau watches the loss"
                      if view.scheduler == "plateau" else "scheduler.step()")
    return f'''"""{surface.title}: {len(view.enabled())} optimizers from {view.start}.
Made by Visual Lab's Optimizers panel; plain PyTorch."""
import math

import torch


def f_and_gradient(x, y):
    """f(x, y) and its exact gradient (differentiated by sympy)."""
    return (
        {python_expression(f)},
        {python_expression(fx)},
        {python_expression(fy)},
    )


START = {tuple(float(v) for v in view.start)!r}
STEPS = {view.steps}
SEED = {view.seed}
# mini-batch noise: N(0, σ²/batch) per axis{'' if view.batch_size else ' (full batch: none)'}
NOISE_STD = {noise_std(view)!r}


def run(make_optimizer):
    p = torch.tensor(START, dtype=torch.float64)
    optimizer = make_optimizer([p])
    scheduler = {scheduler_call(view)}
    generator = torch.Generator().manual_seed(SEED)
    points = [tuple(p.tolist())]
    for _ in range(STEPS):
        x, y = p.tolist()
        if not (math.isfinite(x) and math.isfinite(y)) or math.hypot(x, y) > 1e6:
            break  # diverged
        loss, gx, gy = f_and_gradient(x, y)
        grad = torch.tensor((gx, gy), dtype=torch.float64)
        if NOISE_STD:
            grad.add_(torch.randn(2, generator=generator, dtype=torch.float64), alpha=NOISE_STD)
        p.grad = grad
        optimizer.step()
        if scheduler is not None:
            {step_scheduler}
        points.append(tuple(p.tolist()))
    return points


OPTIMIZERS = {{
{rows}
}}
trajectories = {{name: run(make) for name, make in OPTIMIZERS.items()}}
for name, points in trajectories.items():
    x, y = points[-1]
    print(f"{{name:>9}}: ({{x:.6f}}, {{y:.6f}}) after {{len(points) - 1}} steps, "
          f"f = {{f_and_gradient(x, y)[0]:.6g}}")
'''
