import pytest
import torch
from torch import nn

from lab.models import (
    ChannelScale,
    ConnectivityNet,
    Flatten,
    LeNet5,
    NetConfig,
    mlp,
    small_cnn,
)


@pytest.mark.parametrize("pattern", ["plain", "resnet", "densenet"])
@pytest.mark.parametrize("kind", ["conv", "dense"])
def test_connectivity_nets_run_and_count_layers(pattern, kind):
    config = NetConfig(pattern, kind, depth=6, width=8, growth_rate=4, blocks=2,
                       in_channels=3 if kind == "conv" else 2, num_classes=5, dropout=0.2)
    net = ConnectivityNet(config)
    x = torch.randn(4, 3, 12, 12) if kind == "conv" else torch.randn(4, 2)
    assert net(x).shape == (4, 5)
    assert len(net.body_layers()) == 6
    net(x).sum().backward()
    assert all(layer.weight.grad is not None for layer in net.body_layers())


def test_dense_block_widths_grow_by_the_growth_rate():
    net = ConnectivityNet(NetConfig("densenet", "conv", depth=4, width=8, growth_rate=5,
                                    blocks=1))
    in_channels = [layer.in_channels for layer in net.body_layers()]
    assert in_channels == [8, 13, 18, 23]


def test_resnet_block_adds_its_input():
    net = ConnectivityNet(NetConfig("resnet", "dense", depth=2, width=4, blocks=1,
                                    in_channels=4, batchnorm=False))
    block = net.body[0]
    for p in block.body.parameters():
        nn.init.zeros_(p)
    x = torch.randn(3, 4)
    assert torch.equal(block(x), x)  # relu(0) = 0, so only the shortcut remains


def test_config_validation_names_the_rule():
    assert NetConfig(blocks=9, depth=4, pattern="resnet").validate() == [
        "blocks (9) cannot exceed depth (4): every block needs at least one layer"]
    assert "dropout p must be in [0, 1)" in NetConfig(dropout=1.0).validate()[0]
    with pytest.raises(ValueError, match="unknown pattern"):
        ConnectivityNet(NetConfig(pattern="vgg"))
    assert NetConfig(depth=7, blocks=3).layers_per_block() == [3, 2, 2]


def test_small_models_and_custom_layers():
    assert mlp(2, 3, depth=3, width=16)(torch.randn(5, 2)).shape == (5, 3)
    assert small_cnn(1, 10)(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    lenet = LeNet5()
    assert lenet(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    assert sum(p.numel() for p in lenet.parameters()) == 61706
    assert Flatten()(torch.zeros(2, 3, 4, 5)).shape == (2, 60)
    # a channels-last tensor (the lab trains CNNs so on the CPU) flattens in C·H·W order
    x = torch.arange(120.0).reshape(2, 3, 4, 5)
    assert torch.equal(Flatten()(x.to(memory_format=torch.channels_last)), x.reshape(2, 60))
    scale = ChannelScale(3)
    assert [name for name, _ in scale.named_parameters()] == ["scale"]
    assert scale(torch.ones(1, 3, 2, 2)).shape == (1, 3, 2, 2)
