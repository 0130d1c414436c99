"""The panel's parameter dataclasses, jobs and exported code (no Qt)."""

import contextlib
import io

import pytest
import torch

from lab import architectures as arch
from lab.architectures.graphs import InputTooSmallError
from lab.models import ChannelScale, Flatten, LeNet5, classic_model, notes_example


def run_code(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})  # noqa: S102 - our own generated code
    return out.getvalue()


def test_connectivity_code_builds_the_same_nets():
    params = arch.ConnectivityParams(depth=3, width=4, growth_rate=2, blocks=1)
    printed = run_code(arch.connectivity_code(params))
    for pattern in ("plain", "resnet", "densenet"):
        net = arch.build_connectivity(params, pattern, "cpu")
        total = sum(p.numel() for p in net.parameters())
        assert f"{total:,} parameters" in printed
    assert printed.count("output: (1, 10)") == 3


def test_classic_code_prints_the_table_totals():
    printed = run_code(arch.classic_code(arch.ClassicParams()))
    assert "parameters: 61706" in printed
    assert "modules(): 15  children(): 2  named_parameters(): 10" in printed
    assert "classifier_1" in printed and "(120,)" in printed


def test_prepare_classic_progress_result_and_cache():
    params = arch.ClassicParams.for_model("resnet18")
    assert (params.input_size, params.in_channels, params.num_classes) == (224, 3, 1000)
    items = list(arch.prepare_classic(params, None))
    stages = [i.stage for i in items if isinstance(i, arch.Progress)]
    assert stages[0] == "building ResNet-18" and "tracing" in stages[1]
    result = items[-1]
    assert isinstance(result, arch.PreparedGraph) and not result.options.collapse
    small = arch.ClassicParams("resnet18", 32, 3, 1000)
    again = list(arch.prepare_classic(small, None, result.traced))
    assert not any("tracing" in getattr(i, "stage", "") for i in again)
    assert again[-1].graph.input_shape == (3, 32, 32)
    with pytest.raises(InputTooSmallError, match="features.3"):
        list(arch.prepare_classic(arch.ClassicParams("lenet5", 8, 1, 10), None))
    assert arch.ClassicParams(input_size=0).validate() == [
        "the input size must be at least 1 pixel (got 0)"]


def test_big_graphs_start_collapsed():
    params = arch.ClassicParams.for_model("densenet121")
    result = list(arch.prepare_classic(arch.ClassicParams("densenet121", 32, 3, 10), None))[-1]
    assert params.title == "DenseNet-121" and result.options.collapse
    assert [n.count for n in result.view.groups()] == [6, 12, 24, 16]


def test_classic_models_take_any_channels_and_classes():
    model = classic_model("resnet18", num_classes=7, in_channels=1)
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 7)
    assert not model.training
    lenet = classic_model("lenet5", in_channels=3)
    assert isinstance(lenet, LeNet5) and lenet.features[0].in_channels == 3
    with pytest.raises(ValueError, match="unknown model"):
        classic_model("resnet50")
    with pytest.raises(ValueError, match="in_channels must be at least 1"):
        classic_model("vgg11", in_channels=0)


def test_googlenet_has_the_papers_5x5_branch():
    with torch.device("meta"):
        model = classic_model("googlenet")
    conv = model.inception3a.branch3[1].conv
    assert conv.kernel_size == (5, 5) and conv.padding == (2, 2)


def test_notes_example_and_module_counts():
    model = notes_example()
    counts = arch.ModuleCounts.of(model)
    assert (counts.modules, counts.children, counts.named_parameters) == (6, 5, 5)
    assert counts.parameters == sum(p.numel() for p in model.parameters())
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert [type(m) for m in model.children()][1:4] == [ChannelScale, torch.nn.ReLU, Flatten]
    assert "1.scale" in dict(model.named_parameters())
    rows = arch.tree_rows(model)
    assert rows[0][:2] == ("", "Sequential") and rows[2] == ("1", "ChannelScale", "scale (4,)",
                                                             4, 4)


@pytest.mark.parametrize("choice", list(arch.TREE_MODELS))
def test_every_tree_choice_builds(choice):
    model = arch.build_tree_model(choice, arch.ConnectivityParams(depth=3))
    assert len(list(model.modules())) >= 6


@pytest.mark.slow
def test_exported_architecture_code_is_plain_pytorch_and_reproduces_the_numbers(tmp_path):
    """No `lab` import (issue 19): the blocks themselves are in the script, and the numbers
    it prints are the panel's — GoogLeNet's count included (the paper's 5×5 is done in the
    code too, not silently)."""
    from lab.architectures import gradient_flow as gf
    from tests.plain_python import run_plain

    dense = arch.ConnectivityParams(kind="dense", depth=3, width=4, growth_rate=2, blocks=1)
    conv = arch.ConnectivityParams(depth=4, width=3, growth_rate=2, blocks=2, batchnorm=False)
    classics = [arch.ClassicParams("lenet5", 32, 3, 10),
                arch.ClassicParams("googlenet", 64, 3, 1000),
                arch.ClassicParams("resnet18", 32, 1, 10)]
    gradient = gf.GradientParams(depth=5, width=4, growth_rate=2, init="kaiming")
    printed = run_plain([arch.connectivity_code(dense), arch.connectivity_code(conv),
                         *(arch.classic_code(p) for p in classics), gf.gradient_code(gradient)],
                        tmp_path)
    for params, text in ((dense, printed[0]), (conv, printed[1])):
        for pattern in ("plain", "resnet", "densenet"):
            net = arch.build_connectivity(params, pattern, "cpu")
            assert f"{sum(p.numel() for p in net.parameters()):,} parameters" in text
    for params, text in zip(classics, printed[2:5], strict=True):
        model = classic_model(params.model, params.num_classes, params.in_channels)
        assert f"parameters: {sum(p.numel() for p in model.parameters())}\n" in text
    assert "parameters: 7005832" in printed[3]  # the paper's 5×5: torchvision's is 6,624,904
    lines = dict(line.split(" ", 1) for line in printed[5].splitlines())
    for pattern in ("plain", "resnet", "densenet"):
        norms = gf.gradient_profile(gradient, pattern).norms
        assert lines[pattern] == " ".join(f"{n:.1e}" for n in norms)
