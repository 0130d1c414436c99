import pytest
import torch

from lab.data import DataConfig
from lab.training import RunFinished, TrainConfig, build_model, checkpoints, train
from lab.training.checkpoints import (
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    state_problems,
)

CFG = TrainConfig(data=DataConfig("moons", samples=80), epochs=2, width=8, dropout=0.2)


@pytest.fixture(scope="module")
def trained():
    return [i for i in train(CFG) if isinstance(i, RunFinished)][-1].state_dict


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "checkpoints"
    path.mkdir()
    return path


def test_round_trip_gives_the_same_model(folder, trained):
    tmp_path = folder
    path = save_checkpoint(tmp_path / "moons.pt", CFG, trained, (2,), ["a", "b"],
                           {"run": "#1", "epoch": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["moons.pt"]  # no temp file left behind
    loaded = load_checkpoint(path)
    assert loaded.config == CFG and loaded.class_names == ["a", "b"]
    assert loaded.meta == {"run": "#1", "epoch": 2} and loaded.input_shape == (2,)
    model = loaded.build()
    reference = build_model(CFG, (2,), 2)
    reference.load_state_dict(trained)
    reference.eval()
    x = torch.randn(10, 2)
    assert torch.equal(model(x), reference(x))


def test_loading_uses_weights_only(tmp_path, trained, monkeypatch):
    path = save_checkpoint(tmp_path / "m.pt", CFG, trained, (2,), ["a", "b"])
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(checkpoints.torch, "load", spy)
    load_checkpoint(path)
    assert seen["weights_only"] is True


def test_saving_replaces_atomically_and_keeps_the_old_file_on_failure(folder, trained,
                                                                      monkeypatch):
    tmp_path = folder
    path = save_checkpoint(tmp_path / "m.pt", CFG, trained, (2,), ["a", "b"])
    before = path.read_bytes()

    def half_written(obj, f, *args, **kwargs):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.torch, "save", half_written)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, CFG, trained, (2,), ["a", "b"])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_corrupt_files_get_clear_messages(tmp_path, trained):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00\x01 definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="damaged or not a PyTorch checkpoint"):
        load_checkpoint(garbage)
    good = save_checkpoint(tmp_path / "good.pt", CFG, trained, (2,), ["a", "b"])
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(truncated)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


class Payload:
    """Any class: unpickling it would import and call code."""


def test_files_with_code_or_without_settings_are_refused(tmp_path, trained):
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "visual-lab-checkpoint", "thing": Payload()}, pickled)
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(pickled)
    bare = tmp_path / "bare.pt"
    torch.save(trained, bare)
    with pytest.raises(CheckpointError, match="bare state_dict"):
        load_checkpoint(bare)
    other = tmp_path / "other.pt"
    torch.save({"epoch": 3}, other)
    with pytest.raises(CheckpointError, match="not a Visual Lab checkpoint"):
        load_checkpoint(other)
    newer = tmp_path / "newer.pt"
    torch.save({"format": "visual-lab-checkpoint", "version": 99}, newer)
    with pytest.raises(CheckpointError, match="newer Visual Lab"):
        load_checkpoint(newer)


def test_mismatched_weights_are_named(tmp_path, trained):
    wider = build_model(TrainConfig(width=16), (2,), 2)
    problems = state_problems(wider, trained)
    assert any(p.startswith("wrong shapes: ") and "(8, 2) vs model (16, 2)" in p
               for p in problems)
    deeper = build_model(TrainConfig(width=8, depth=3), (2,), 2)
    assert any(p.startswith("missing weights: ") for p in state_problems(deeper, trained))
    assert state_problems(build_model(CFG, (2,), 2), trained) == []
    path = save_checkpoint(tmp_path / "m.pt", TrainConfig(width=16, data=CFG.data), trained,
                           (2,), ["a", "b"])
    with pytest.raises(CheckpointError, match="do not fit its own settings"):
        load_checkpoint(path).build()


def test_checkpointed_saves_the_final_weights_where_the_run_runs(folder):
    path = folder / "run-1.pt"
    items = list(checkpoints.checkpointed(train(CFG), path, CFG, {"run": "#1"}))
    finished = items[-1]
    saved = load_checkpoint(path)
    assert saved.meta == {"run": "#1", "epoch": 2, "status": "completed"}
    assert all(torch.equal(saved.state_dict[k], v) for k, v in finished.state_dict.items())
    blocked = folder / "file"
    blocked.write_text("a file where a folder should be")
    items = list(checkpoints.checkpointed(train(CFG), blocked / "run.pt", CFG))
    assert items[-1].status == "completed"
    assert "could not save the weights: a file is where its folder should be" in items[-1].message
