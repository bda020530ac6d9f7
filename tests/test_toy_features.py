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
