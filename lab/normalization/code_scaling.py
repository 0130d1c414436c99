"""The plain PyTorch script of the feature-scaling tab: per-channel mean and std of the
image or data set, the transforms.v2.Normalize they imply, and the channels' mean and std
after it. It imports neither `lab` nor `widgets`."""

from __future__ import annotations

import inspect

from lab import images as lab_images
from lab.normalization.scaling import Scaling


def _image_lines(source: str, gray: bool) -> str:
    """Lines that set `pixels`: the image's uint8 (H, W) or (H, W, 3) array."""
    sample = source.removeprefix("sample:") if source.startswith("sample:") else None
    if sample in ("china", "flower"):
        return ("from sklearn.datasets import load_sample_image\n\n"
                f"pixels = np.asarray(load_sample_image({sample + '.jpg'!r}), dtype=np.uint8)\n")
    if sample == "pattern":
        return (inspect.getsource(lab_images._make_test_pattern)
                + "\n\npixels = _make_test_pattern()  # Visual Lab's built-in test pattern\n")
    if sample == "digits":
        return (inspect.getsource(lab_images._digits_montage)
                + "\n\npixels = _digits_montage()  # Visual Lab's montage of the digits\n")
    mode = "L" if gray else "RGB"
    path, note = (source, "") if source else (
        "image.png", "  # the lab's image came from no file: save it and name it here")
    return ("from PIL import Image\n\n"
            f"pixels = np.asarray(Image.open({path!r}).convert({mode!r}), dtype=np.uint8)"
            f"{note}\n")


def _data_lines(name: str, image_source: str, gray: bool) -> str:
    """Lines that set `x`: (N, C, H, W) float32 in [0, 1]."""
    if name == "digits":
        return ("from sklearn.datasets import load_digits\n\n"
                "x = torch.from_numpy(load_digits().images / 16.0).float()[:, None]  "
                "# 1,797 digits\n")
    if name == "photos":
        return ("from sklearn.datasets import load_sample_images\n\n"
                "x = torch.stack([torch.from_numpy(np.array(p)).permute(2, 0, 1).float() / 255"
                "\n                 for p in load_sample_images().images])  # both 427×640\n")
    layout = "[None]" if gray else ".permute(2, 0, 1)"
    return (_image_lines(image_source, gray)
            + f"x = (torch.from_numpy(np.array(pixels)){layout}.float() / 255)[None]  "
            "# as ToDtype(scale=True) gives\n")


def scaling_code(stats: Scaling, name: str, image_source: str = "", gray: bool = False) -> str:
    """The script for `stats`, computed from the data set `name` ("digits", "photos") or,
    for "image", from the image whose LabImage.source is `image_source`."""
    mean, std = stats.rounded()
    return f'''"""Input feature scaling: per-channel mean and std of {stats.description}, and the
transforms.v2.Normalize they imply. Reproduces Visual Lab's Normalization panel."""
import numpy as np
import torch
import torchvision.transforms.v2  # loads transforms.v2
from torchvision import transforms

{_data_lines(name, image_source, gray)}
flat = x.double().transpose(0, 1).reshape(x.shape[1], -1)  # one row per channel
mean = flat.mean(dim=1)
std = flat.std(dim=1, correction=0)  # population std (÷ n), as torchvision's recipes
print("values per channel:", flat.shape[1])
print("mean:", [round(v, 6) for v in mean.tolist()])
print("std:", [round(v, 6) for v in std.tolist()])

# the Normalize step these numbers imply (rounded to 4 decimals, as the panel sends them)
normalize = transforms.v2.Normalize(mean={mean}, std={std})
after = normalize(x).double().transpose(0, 1).reshape(x.shape[1], -1)
print("after Normalize, mean:", [round(v, 4) for v in after.mean(dim=1).tolist()])
print("after Normalize, std:", [round(v, 4) for v in after.std(dim=1, correction=0).tolist()])
'''
