"""The shared training loop: learning, exact resume, atomic checkpoints, NaN handling."""

import json

import pytest
import torch

from regression_task import Regression, batches, config, loss, make_model
from cmdkit.data.batches import dataset_batches
from cmdkit.train import TrainConfig, latest_checkpoint, split_batch, train


def testloss_falls_and_history_is_recorded():
    result = train(make_model(), loss, batches(), config(60))
    assert result.losses[-1] < 0.2 * result.losses[0]
    assert result.steps[0] == 1 and result.steps[-1] == 60
    assert result.ema_model is not None
    assert not all(torch.equal(a, b) for a, b in zip(result.model.parameters(), result.ema_model.parameters()))


def test_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    data = batches()
    straight = train(make_model(), loss, data, config(30))
    first = train(make_model(), loss, data, config(15, checkpoint_every=15), checkpoint_dir=tmp_path)
    assert first.checkpoint == tmp_path / "step-000015"
    # A new process would start from a fresh model: resume replaces its weights.
    resumed = train(make_model(), loss, data, config(30, checkpoint_every=15), checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 15
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    for a, b in zip(straight.ema_model.parameters(), resumed.ema_model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert [h["step"] for h in resumed.history] == [h["step"] for h in straight.history]


def test_checkpoints_are_complete_and_pruned(tmp_path):
    train(make_model(), loss, batches(),
          config(40, checkpoint_every=10, keep_checkpoints=2), checkpoint_dir=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["latest", "step-000030", "step-000040"]  # no temporary folders left behind
    assert (tmp_path / "latest").read_text() == "step-000040"
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000040"
    files = sorted(p.name for p in (tmp_path / "step-000040").iterdir())
    assert files == ["ema.safetensors", "model.safetensors", "optimizer.pt", "state.json"]
    assert json.loads((tmp_path / "step-000040" / "state.json").read_text())["step"] == 40


def test_a_half_written_checkpoint_is_never_used(tmp_path):
    data = batches()
    train(make_model(), loss, data, config(10, checkpoint_every=10), checkpoint_dir=tmp_path)
    # A run killed mid-save leaves only a temporary folder: it must be ignored.
    (tmp_path / ".tmp-step-000020-999").mkdir()
    (tmp_path / ".tmp-step-000020-999" / "model.safetensors").write_bytes(b"partial")
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000010"
    resumed = train(make_model(), loss, data, config(12), checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 10


def test_nan_loss_stops_with_a_clear_message(tmp_path):
    calls = []

    def exploding(model, batch):  # fine for six steps, NaN from the seventh
        calls.append(1)
        value = loss(model, batch)
        return value * float("nan") if len(calls) >= 7 else value

    with pytest.raises(FloatingPointError, match=r"loss became nan at step 7; .*step-000005"):
        train(make_model(), exploding, batches(),
              config(20, checkpoint_every=5), checkpoint_dir=tmp_path)
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000005"


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    data = batches()
    train(make_model(), loss, data, config(5), checkpoint_dir=tmp_path)
    other = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.GELU(), torch.nn.Linear(8, 3))
    with pytest.raises(ValueError, match="does not fit this model"):
        train(other, loss, data, config(10), checkpoint_dir=tmp_path)


def test_badconfig():
    with pytest.raises(ValueError, match="steps must be >= 0"):
        TrainConfig(steps=-1)
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(steps=1, ema_decay=1.5)
    with pytest.raises(ValueError, match="divisible by the number of processes"):
        dataset_batches(Regression(), 10, world_size=3)


def test_training_time_accumulates_across_resumes(tmp_path):
    data = batches()
    first = train(make_model(), loss, data, config(10), checkpoint_dir=tmp_path)
    again = train(make_model(), loss, data, config(10), checkpoint_dir=tmp_path)  # nothing left to do
    assert again.resumed_from == 10 and again.seconds >= first.seconds > 0


def test_a_time_budget_stops_training_and_a_resumed_run_keeps_it(tmp_path):
    """max_seconds stops a run once that much training time is spent (the compute-matched
    comparison of notebook 06), saves the step it reached, and a rerun does not train further."""
    import time

    model = torch.nn.Linear(4, 1)

    def slow_loss(m, batch):
        time.sleep(0.05)
        return (m(batch) ** 2).mean()

    config = TrainConfig(steps=1000, learning_rate=1e-2, max_seconds=0.5, progress=False, ema_decay=None)
    result = train(model, slow_loss, lambda step: torch.randn(8, 4), config, checkpoint_dir=tmp_path)
    assert 3 <= result.final_step < 100, result.final_step
    assert result.seconds >= 0.5 and result.checkpoint.name == f"step-{result.final_step:06d}"
    again = train(torch.nn.Linear(4, 1), slow_loss, lambda step: torch.randn(8, 4), config, checkpoint_dir=tmp_path)
    assert again.final_step == result.final_step
    assert torch.equal(again.model.weight, result.model.weight)
    with pytest.raises(ValueError, match="max_seconds"):
        TrainConfig(steps=10, max_seconds=0)


@pytest.mark.parametrize("cuda, capability, expected", [(False, None, "no"), (True, (7, 5), "fp16"),
                                                        (True, (8, 0), "bf16"), (True, (9, 0), "bf16")])
def test_auto_precision_follows_the_hardware(monkeypatch, cuda, capability, expected):
    """A T4 (compute capability 7.5) has no bf16 units: fp16 with a gradient scaler, not emulated bf16."""
    from cmdkit.train import _resolve_precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: capability)
    assert _resolve_precision("auto") == expected
    assert _resolve_precision("no") == "no"


def test_gradient_checkpointing_is_switched_on_or_refused():
    from cmdkit.models import CMDAutoencoder

    model = CMDAutoencoder(width=16, depth=1, heads=2, patch_size=4)
    video = torch.rand(2, 3, 2, 8, 8) * 2 - 1
    train(model, lambda m, b: (m(b).sample - b).pow(2).mean(), lambda step: video,
          TrainConfig(steps=1, ema_decay=None, progress=False, gradient_checkpointing=True))
    assert any(getattr(m, "gradient_checkpointing", False) for m in model.modules())
    with pytest.raises(ValueError, match="Linear does not support gradient checkpointing"):
        train(torch.nn.Linear(2, 1), lambda m, b: m(b).sum(), lambda step: torch.ones(1, 2),
              TrainConfig(steps=1, ema_decay=None, progress=False, gradient_checkpointing=True))


def test_split_batch_cuts_every_per_sample_entry_and_weights_the_pieces():
    batch = {"image": torch.arange(10.0).view(5, 2), "text": torch.zeros(5, 3, 4), "null": torch.ones(1, 3, 4),
             "caption": list("abcde")}
    pieces = split_batch(batch, 2)
    assert [share for _, share in pieces] == [0.4, 0.4, 0.2]
    assert torch.equal(torch.cat([p["image"] for p, _ in pieces]), batch["image"])
    assert [p["caption"] for p, _ in pieces] == [["a", "b"], ["c", "d"], ["e"]]
    assert all(p["null"] is batch["null"] for p, _ in pieces)  # shared entries are not cut
    assert split_batch(batch, None) == [(batch, 1.0)] and split_batch(batch, 8) == [(batch, 1.0)]


def test_micro_batches_train_as_the_whole_batch_does():
    """Accumulating the gradients of micro-batches is the gradient of the batch: the same losses
    and the same weights after several AdamW steps (a deterministic loss, so only rounding differs)."""
    data = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    target = data @ torch.tensor([1.0, -2.0, 0.5]) + 0.3

    def run(micro):
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        result = train(model, lambda m, b: (m(b["x"]).squeeze(-1) - b["y"]).pow(2).mean(),
                       lambda step: {"x": data[step * 8 % 64:][:8], "y": target[step * 8 % 64:][:8]},
                       TrainConfig(steps=6, learning_rate=0.05, ema_decay=None, progress=False, log_every=1,
                                   micro_batch=micro))
        return result.losses, model.weight.detach().clone()

    whole, micro = run(None), run(3)
    torch.testing.assert_close(torch.tensor(micro[0]), torch.tensor(whole[0]))
    torch.testing.assert_close(micro[1], whole[1])
    assert whole[0][-1] < whole[0][0]


def test_stop_at_is_the_first_part_of_the_longer_run(tmp_path):
    """stop_at ends a run early on the learning-rate schedule of the full run: its weights are the
    full run's at that step, which load_checkpoint_weights reads back from the full run's checkpoint."""
    from cmdkit.train import load_checkpoint_weights

    data = batches()
    settings = dict(lr_schedule="cosine", warmup_steps=2)
    full = train(make_model(), loss, data, config(30, checkpoint_every=15, **settings), checkpoint_dir=tmp_path / "full")
    first = train(make_model(), loss, data, config(30, stop_at=15, **settings), checkpoint_dir=tmp_path / "first")
    assert first.final_step == 15 and first.steps[-1] == 15
    assert first.history[-1]["lr"] > 0.4 * config(30).learning_rate  # cosine over 30 steps: half-way, not at zero
    assert (tmp_path / "first" / "step-000015").is_dir()
    for ema in (False, True):
        mid = load_checkpoint_weights(tmp_path / "full" / "step-000015", make_model(), ema=ema)
        ours = first.ema_model if ema else first.model
        for a, b in zip(mid.parameters(), ours.parameters()):
            assert torch.allclose(a, b, atol=1e-6)
    end = load_checkpoint_weights(tmp_path / "full", make_model())  # a folder: its newest checkpoint
    for a, b in zip(end.parameters(), full.ema_model.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="stop_at must be in"):
        TrainConfig(steps=10, stop_at=11)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint_weights(tmp_path / "nowhere", make_model())
