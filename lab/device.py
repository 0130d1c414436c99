"""Which device heavy tensors and training run on, and how to say so to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def available_devices() -> list[str]:
    """Device names usable on this machine, best first ("cpu" is always last)."""
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def pick_device(preference: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU for "auto"; a named device if it is available.

    Raises ValueError naming the devices that exist when the named one does not.
    """
    import torch

    if preference not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not {preference!r}")
    found = available_devices()
    if preference == "auto":
        return torch.device(found[0])
    if preference not in found:
        raise ValueError(f"{preference} is not available on this machine; "
                         f"available: {', '.join(found)}")
    return torch.device(preference)


def describe_device(device: torch.device | str) -> str:
    """A short label for the status bar: "CUDA: NVIDIA H100 (80 GB)" or "CPU (2 threads)"."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"CUDA: {props.name} ({props.total_memory / 2**30:.0f} GB)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def library_versions() -> dict[str, str]:
    """Versions shown in Help ▸ About."""
    import torch
    import torchvision

    return {"torch": torch.__version__, "torchvision": torchvision.__version__}
