"""Prepared views of the Augmentation panel, by concept number (CONCEPTS.md). Sizes are
small, so each fits any image."""

from __future__ import annotations

from lab.augment import make_spec, new_step
from lab.augment.view import AugmentView
from lab.params import Example

_SHAPE = (3, 48, 48)


def _step(name: str, **params) -> dict:
    step = new_step(name, _SHAPE)
    step["params"].update(params)
    return step


def _view(*steps: dict, **kwargs) -> AugmentView:
    return AugmentView(spec=make_spec(steps), **kwargs)


EXAMPLES: dict[int, Example] = {
    6: Example("Random flips: p = 0.5 left↔right and top↕bottom; the grid shows which draws "
               "flipped", _view(_step("RandomHorizontalFlip", p=0.5),
                                _step("RandomVerticalFlip", p=0.5))),
    7: Example("Random rotation between −45° and 45°, the canvas expanded so no corner is "
               "cut", _view(_step("RandomRotation", degrees=[-45, 45], expand=True))),
    8: Example("Resize to a list [h, w] = [32, 48]: an exact size, the aspect ratio changes",
               _view(_step("Resize", size=[32, 48]))),
    9: Example("Random crop of 24×24 with 4 pixels of padding: the object shifts in every "
               "draw", _view(_step("RandomCrop", size=[24, 24], padding=4,
                                   pad_if_needed=True))),
    10: Example("transforms.Compose chains steps: flip, rotate, resize, crop and noise, in "
                "order", _view(_step("RandomHorizontalFlip", p=0.5),
                               _step("RandomRotation", degrees=[-15, 15]),
                               _step("Resize", size=[40, 40]),
                               _step("RandomCrop", size=[32, 32]),
                               _step("GaussianNoise", sigma=0.05), selected_step=4)),
    11: Example("Gaussian noise with σ = 0.1 added to every pixel",
                _view(_step("GaussianNoise", sigma=0.1))),
    22: Example("Feature scaling: Normalize each channel with mean 0.5 and std 0.25",
                _view(_step("Normalize", mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25]))),
}
