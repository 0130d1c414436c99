"""Prepared views of the Normalization panel, one per concept of CONCEPTS.md."""

from __future__ import annotations

from lab.normalization.view import NormView
from lab.params import Example

EXAMPLES: dict[int, Example] = {
    14: Example("train() vs eval(): after 5 batches BatchNorm's running statistics differ "
                "from the batch's, and so does the output",
                NormView(method="batch", steps=5, tab="running")),
    20: Example("GroupNorm with G = 2 on conv features of 4 digits: cells of one colour "
                "share a mean and a variance",
                NormView(method="group", groups=2, cell=(1, 2, 3, 3),
                         tab="axes")),
    21: Example("BatchNorm2d: per-channel statistics over N·H·W, then γ and β; running "
                "statistics with momentum 0.1 over 20 batches",
                NormView(method="batch", gamma=(1.5, 1.0, 0.5, 1.0), beta=(0.5, 0.0, -0.5, 0.0),
                         steps=20, tab="running")),
    22: Example("Feature scaling: the sample photos' per-channel mean and std and the "
                "Normalize they imply",
                NormView(scaling_source="photos", tab="scaling")),
}
