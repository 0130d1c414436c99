"""Prepared views of the Architectures panel, by concept number (CONCEPTS.md)."""

from __future__ import annotations

from lab.architectures import ClassicParams
from lab.architectures.view import ArchitecturesView, ClassicView, ModuleView
from lab.params import Example

EXAMPLES: dict[int, Example] = {
    15: Example("A home-made layer: the notes' Flatten class, and where it sits in an "
                "nn.Sequential's module tree",
                ArchitecturesView(tab="modules", modules=ModuleView("notes", "Flatten"))),
    16: Example("Own parameters with nn.Parameter: ChannelScale's weight shows up in "
                "named_parameters()",
                ArchitecturesView(tab="modules", modules=ModuleView("notes", "ChannelScale"))),
    17: Example("modules() vs children(): the notes' nn.Sequential of 5 nodes, counted both "
                "ways",
                ArchitecturesView(tab="modules", modules=ModuleView("notes", "example"))),
    18: Example("Plain vs ResNet vs DenseNet, 8 layers each: the shortcuts and dense "
                "connections drawn and counted, and the gradient that reaches layer 1",
                ArchitecturesView(tab="connectivity")),
    19: Example("LeNet-5: every layer's output shape, parameters and multiply-adds",
                ArchitecturesView(tab="classic", classic=ClassicView(ClassicParams("lenet5")))),
}
