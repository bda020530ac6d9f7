"""FVD-toy: a toy-world classifier's features in the Fréchet machinery behave like a video metric."""

import pytest
import torch

from cmdkit.data import ToyVideoDataset
from cmdkit.metrics.toy_features import ToyVideoClassifier, train_toy_classifier, toy_fvd


@pytest.fixture(scope="module")
def classifier():
    return train_toy_classifier(8, 16, 16, steps=120, batch_size=32, progress=False)


def test_classifier_learns_colour_and_beats_chance_on_motion(classifier):
    _, accuracy = classifier
    assert accuracy["colour"] > 0.9  # chance 1/6
    assert accuracy["shape_direction"] > 0.25  # chance 1/12


def test_fvd_toy_separates_real_from_degraded(classifier):
    model, _ = classifier
    world = ToyVideoDataset(length=384, num_frames=8, height=16, width=16, num_objects=(1, 2), seed=7)
    clips = torch.stack([world[i]["video"] for i in range(384)])
    real, held_out = clips[:192], clips[192:]
    close = toy_fvd(real, held_out, model)
    frozen = toy_fvd(real, held_out[:, :, :1].expand_as(held_out), model)
    noisy = toy_fvd(real, (held_out + 0.8 * torch.randn_like(held_out)).clamp(-1, 1), model)
    assert frozen.value > 3 * close.value and noisy.value > 3 * close.value
    assert "FVD-toy, not I3D" in close.protocol["features"]


def test_save_load_and_bad_input(classifier, tmp_path):
    model, _ = classifier
    model.save_pretrained(tmp_path / "toy")
    loaded = ToyVideoClassifier.from_pretrained(tmp_path / "toy")
    clips = torch.rand(2, 3, 8, 16, 16) * 2 - 1
    torch.testing.assert_close(loaded.features(clips), model.features(clips))
    with pytest.raises(ValueError, match="RGB clips"):
        model.features(clips[:, :1])


def test_the_shipped_classifier_is_what_smoke_runs_score_with():
    """FVD-toy's fixed feature network for 8×32×32 clips: it loads, reads the toy world well above
    chance (measured when made: shape × direction 67.6 %, colour 100 % of 256 held-out clips), and
    toy_classifier returns it unless asked to train — for other clip shapes it trains."""
    from cmdkit.metrics.toy_features import held_out_accuracy, shipped_toy_classifier, toy_classifier

    shipped = shipped_toy_classifier(8, 32, 32)
    assert shipped is not None
    accuracy = held_out_accuracy(shipped, 8, 32, 32)
    assert accuracy["colour"] > 0.95 and accuracy["shape_direction"] > 0.5  # chance 1/6 and 1/12
    model, reported = toy_classifier(8, 32, 32)
    assert reported == accuracy
    clips = torch.rand(2, 3, 8, 32, 32) * 2 - 1
    torch.testing.assert_close(model.features(clips), shipped.features(clips))
    assert shipped_toy_classifier(8, 16, 16) is None
    trained, _ = toy_classifier(8, 32, 32, steps=2, progress=False)  # asked to train: not the shipped weights
    assert not torch.allclose(trained.features(clips), shipped.features(clips))


def test_the_command_that_made_it_writes_weights_and_provenance(tmp_path):
    import json

    from cmdkit.cli import main

    assert main(["train-toy-classifier", "--frames", "4", "--height", "8", "--width", "8", "--steps", "2",
                 "--out", str(tmp_path / "toy")]) == 0
    made = json.loads((tmp_path / "toy" / "provenance.json").read_text())
    assert made["command"].endswith("--steps 2 --seed 0") and set(made["held_out_accuracy"]) == {"shape_direction", "colour"}
    assert ToyVideoClassifier.from_pretrained(tmp_path / "toy").features(torch.zeros(1, 3, 4, 8, 8)).shape == (1, 128)
