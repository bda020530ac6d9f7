import pytest
import torch

from cmdkit.data import COLOURS, ToyImageDataset, ToyVideoDataset
from cmdkit.metrics import caption_colour, colour_accuracy, dominant_colour


def test_colour_probe_reads_real_toy_images():
    stills = ToyImageDataset(60, 32, 32, num_objects=1, seed=0)
    images = torch.stack([stills[i]["image"] for i in range(60)])
    assert colour_accuracy(images, [stills[i]["caption"] for i in range(60)]) == 1.0


def test_colour_probe_on_noise_and_blank_images_is_near_chance():
    noise = torch.rand(120, 3, 32, 32) * 2 - 1
    captions = [f"a {c} circle" for c in COLOURS] * 20
    assert colour_accuracy(noise, captions) < 0.35  # 6 colours: chance is 1/6
    assert dominant_colour(torch.zeros(2, 3, 8, 8)) == ["none", "none"]


def test_caption_colour():
    clip = ToyVideoDataset(1, 4, 16, 16, seed=0)[0]
    assert caption_colour(clip["caption"]) in COLOURS
    with pytest.raises(ValueError, match="names no toy-world colour"):
        caption_colour("a dog runs")
