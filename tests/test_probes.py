import pytest
import torch

from cmdkit.data import COLOURS, ToyImageDataset, ToyVideoDataset
from cmdkit.metrics import (caption_colour, caption_direction, colour_accuracy, direction_accuracy, dominant_colour,
                            motion_direction)


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


def _clips(count=96, seed=3):
    world = ToyVideoDataset(count, 8, 32, 32, num_objects=1, seed=seed)
    return torch.stack([world[i]["video"] for i in range(count)]), [world[i]["caption"] for i in range(count)]


def test_direction_probe_reads_real_toy_clips():
    videos, captions = _clips()
    assert direction_accuracy(videos, captions) == 1.0
    # Played backwards, every clip moves the opposite way.
    assert direction_accuracy(videos.flip(2), captions) == 0.0


def test_direction_probe_on_noise_and_frozen_clips():
    videos, captions = _clips()
    noise = torch.rand_like(videos) * 2 - 1
    assert direction_accuracy(noise, captions) < 0.35  # 4 directions: chance is 1/4
    frozen = videos[:, :, :1].expand_as(videos)
    assert set(motion_direction(frozen)) == {"still"}
    assert motion_direction(torch.zeros(1, 3, 4, 8, 8)) == ["none"]
    with pytest.raises(ValueError, match="RGB clips"):
        motion_direction(videos[:, :1])


def test_caption_direction():
    assert caption_direction("a red circle moves up slowly") == "up"
    with pytest.raises(ValueError, match="names no toy-world direction"):
        caption_direction("a red circle")
