import pytest
import torch

from lab.concepts import load_concepts
from lab.device import describe_device, pick_device


def test_concept_map_has_all_35_rows_in_order():
    concepts = load_concepts()
    assert [c.number for c in concepts] == list(range(1, 36))
    assert concepts[22].where == "Pooling" and "max" in concepts[22].idea.lower()


def test_device_choice_and_label():
    device = pick_device("auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.type == expected
    if expected == "cpu":
        assert describe_device(device) == f"CPU ({torch.get_num_threads()} threads)"
    with pytest.raises(ValueError, match="one of"):
        pick_device("tpu")
