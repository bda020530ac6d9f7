import math

import pytest
import torch

from cmdkit.data import COLOURS, SHAPES, ToyImageDataset, ToyVideoDataset
from cmdkit.data.toyworld import signed_distance
from cmdkit.metrics import (binomial_interval, caption_colour, caption_direction, caption_shape, colour_accuracy,
                            direction_accuracy, dominant_colour, dominant_shape, motion_direction, shape_accuracy,
                            shape_fit, streak_accuracy, streak_axis)


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


@pytest.mark.parametrize("size", [32, 64])
def test_shape_probe_reads_real_toy_images(size):
    stills = ToyImageDataset(150, size, size, num_objects=1, seed=7)
    images = torch.stack([stills[i]["image"] for i in range(150)])
    captions = [stills[i]["caption"] for i in range(150)]
    assert shape_accuracy(images, captions) == 1.0
    # Each shape read as another one scores 0: the probe tells all three apart.
    swap = {"circle": "square", "square": "triangle", "triangle": "circle"}
    assert shape_accuracy(images, [c.replace(caption_shape(c), swap[caption_shape(c)]) for c in captions]) == 0.0


def test_shape_probe_ignores_stray_pixels_and_fails_on_noise():
    stills = ToyImageDataset(30, 32, 32, num_objects=1, seed=1)
    images = torch.stack([stills[i]["image"] for i in range(30)])
    captions = [stills[i]["caption"] for i in range(30)]
    speckled = images.clone()
    speckled[:, :, 0, 0] = torch.tensor([1.0, -1.0, -1.0]).view(1, 3)  # one saturated pixel in a corner
    assert shape_accuracy(speckled, captions) == 1.0  # the largest region is still the object
    noise = torch.rand(90, 3, 32, 32) * 2 - 1
    assert shape_accuracy(noise, ["a red circle", "a red square", "a red triangle"] * 30) < 0.5
    assert dominant_shape(torch.zeros(1, 3, 8, 8)) == ["none"]
    with pytest.raises(ValueError, match="names no toy-world shape"):
        caption_shape("a red blob")


def _sharpest_frame_per_pixel(videos: torch.Tensor) -> torch.Tensor:
    """(B, 3, L, H, W) → (B, 3, H, W): each pixel from the frame where it is most saturated — a
    content frame with one-hot weights, which keeps the object all along its path."""
    saturation = videos.amax(dim=1) - videos.amin(dim=1)  # (B, L, H, W)
    pick = saturation.argmax(dim=1, keepdim=True)  # (B, 1, H, W)
    return videos.gather(2, pick[:, None].expand(-1, 3, -1, -1, -1)).squeeze(2)


def test_streak_probe_reads_content_frames_and_rejects_stills():
    videos, captions = _clips(count=96, seed=5)
    frames = _sharpest_frame_per_pixel(videos)
    assert streak_accuracy(frames, captions) == 1.0
    assert streak_accuracy(frames.transpose(-1, -2), captions) == 0.0  # turned a quarter: the other axis
    # A still object is as tall as it is wide: its first frame has no streak.
    assert streak_accuracy(videos[:, :, 0], captions) < 0.2
    assert streak_axis(torch.zeros(1, 3, 8, 8)) == ["none"]


def test_binomial_interval():
    low, high = binomial_interval(0.5, 8)
    assert 0.2 < low < 0.23 and 0.77 < high < 0.8  # one image moves such a score by 12 points
    low, high = binomial_interval(0.5, 54)
    assert 0.36 < low < 0.38 and 0.62 < high < 0.64
    assert binomial_interval(1.0, 48)[1] == pytest.approx(1.0) and binomial_interval(1.0, 48)[0] > 0.9
    with pytest.raises(ValueError):
        binomial_interval(1.5, 10)


def test_still_probe_prompts_name_every_colour_and_shape_once():
    from cmdkit.data import SHAPES
    from cmdkit.metrics import STILL_PROBE_PROMPTS

    named = [(caption_colour(p), caption_shape(p)) for p in STILL_PROBE_PROMPTS]
    assert sorted(named) == sorted((c, s) for c in COLOURS for s in SHAPES)
    assert "an orange triangle" in STILL_PROBE_PROMPTS and "a red circle" in STILL_PROBE_PROMPTS


def _drawn(shape: str, matrix: torch.Tensor, size: int = 32, radius: float = 5.5) -> torch.Tensor:
    """A red toy shape on grey (3, size, size) in [-1, 1], drawn through the 2×2 linear map
    ``matrix`` (a turn, stretch or shear) about the frame's centre."""
    c = torch.arange(size, dtype=torch.float32) - size / 2 + 0.5
    py, px = torch.meshgrid(c, c, indexing="ij")
    inverse = torch.linalg.inv(matrix)
    qx, qy = inverse[0, 0] * px + inverse[0, 1] * py, inverse[1, 0] * px + inverse[1, 1] * py
    inside = (signed_distance(shape, qx, qy, radius) <= 0).float()
    red = torch.tensor([1.0, -1.0, -1.0]).view(3, 1, 1)
    return red * inside + torch.full((3, 1, 1), -0.4) * (1 - inside)


def test_shape_probe_reads_turned_stretched_and_sheared_shapes():
    # A generated square drawn askew, an oval for a circle, a leaning triangle: each is still
    # the shape it was meant to be, and the probe must say so (the bounding-box probe it
    # replaced read askew squares as circles).
    generator = torch.Generator().manual_seed(0)
    images, captions = [], []
    for _ in range(30):
        angle = torch.rand(1, generator=generator).item() * 6.3
        stretch = 1 + 0.4 * torch.rand(1, generator=generator).item()
        shear = 0.3 * (torch.rand(1, generator=generator).item() - 0.5)
        turn = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        matrix = turn @ torch.tensor([[stretch, shear], [0.0, 1 / stretch]])
        for shape in SHAPES:
            images.append(_drawn(shape, matrix))
            captions.append(f"a red {shape}")
    assert shape_accuracy(torch.stack(images), captions) >= 0.95


def test_shape_fit_is_one_for_the_drawn_shape_and_lower_for_the_others():
    for shape in SHAPES:
        fits = shape_fit(_drawn(shape, torch.eye(2)).amax(dim=0) > 0)
        assert fits[shape] > 0.85
        assert all(fits[other] < fits[shape] - 0.05 for other in SHAPES if other != shape), fits
