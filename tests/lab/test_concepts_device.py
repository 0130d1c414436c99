import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lab.concepts import load_concepts
from lab.device import describe_device, pick_device, place_model
from lab.models import mlp, small_cnn

ROOT = Path(__file__).resolve().parents[2]


def test_concept_map_has_all_35_rows_in_order():
    concepts = load_concepts()
    assert [c.number for c in concepts] == list(range(1, 36))
    assert concepts[22].where == "Pooling" and "max" in concepts[22].idea.lower()


def test_device_choice_and_label():
    device = pick_device("auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.type == expected
    if expected == "cpu":
        assert describe_device(device).startswith(f"CPU ({torch.get_num_threads()} thread")
    threads = torch.get_num_threads()
    try:  # one thread is "1 thread", not "1 threads"
        torch.set_num_threads(1)
        assert describe_device("cpu") == "CPU (1 thread)"
    finally:
        torch.set_num_threads(threads)
    with pytest.raises(ValueError, match="one of"):
        pick_device("tpu")


_FAULTS_SCRIPT = """
import ctypes, resource, sys, threading
import numpy as np
from lab.device import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
faults = []
def steps():  # like training steps: allocate 50 MB of activations, free them, again
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(20):
        activations = [np.ones(10 * 2**20 // 8) for _ in range(5)]
        del activations
    faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
thread = threading.Thread(target=steps)
thread.start()
thread.join()
print(applied, faults[0], flush=True)
ctypes.CDLL("libc.so.6").malloc_stats()  # one "Arena n:" block per arena, on stderr
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_keep_freed_memory_stops_page_faulting_freed_memory_back():
    def run(mode: str) -> tuple[str, int, int]:
        done = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT, mode], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        applied, faults = done.stdout.split()
        return applied, int(faults), done.stderr.count("Arena ")

    applied, kept, kept_arenas = run("keep")
    _, default, default_arenas = run("default")
    assert applied == "True"
    # by default glibc hands the 50 MB back at each free and faults it in again (~51k
    # faults here); kept, only the first step faults (~2.6k)
    assert kept * 5 < default
    # and the thread shares the main arena instead of getting its own
    assert kept_arenas == 1 and default_arenas >= 2


def test_place_model_trains_cpu_convolutions_channels_last_with_the_same_outputs():
    torch.manual_seed(0)
    cnn = small_cnn(3, 3, width=4).eval()  # 3 input channels: 1 would be both layouts at once
    x = torch.randn(5, 3, 12, 12)
    expected = cnn(x)
    assert not cnn[0].weight.is_contiguous(memory_format=torch.channels_last)
    placed = place_model(cnn, torch.device("cpu"))
    assert placed[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(placed(x), expected, atol=1e-5)
    dense = place_model(mlp(2, 3, depth=2, width=8), torch.device("cpu"))
    assert all(p.is_contiguous() for p in dense.parameters())  # nothing to change

