"""The toy world draws what its captions say: checked from the pixels."""

import math
import random

import pytest
import torch

from cmdkit.data import (CLASS_NAMES, COLOURS, DIRECTIONS, SHAPES, STILL_CLASS_NAMES, ToyImageDataset,
                         ToyVideoDataset, render_video, sample_scene)
from cmdkit.data.toyworld import Scene, ToyObject


def test_same_seed_same_clip_other_seed_other_clip():
    a = ToyVideoDataset(20, 8, 32, 48, seed=3)
    b = ToyVideoDataset(20, 8, 32, 48, seed=3)
    c = ToyVideoDataset(20, 8, 32, 48, seed=4)
    for i in (0, 7, 19):
        assert torch.equal(a[i]["video"], b[i]["video"]) and a[i]["caption"] == b[i]["caption"]
    assert any(not torch.equal(a[i]["video"], c[i]["video"]) for i in range(5))


@pytest.mark.parametrize("num_frames, height, width", [(1, 16, 16), (5, 32, 32), (16, 48, 80), (40, 64, 24)])
def test_any_length_any_size(num_frames, height, width):
    item = ToyVideoDataset(3, num_frames, height, width, num_objects=(1, 3), seed=1)[2]
    video = item["video"]
    assert video.shape == (3, num_frames, height, width) and video.dtype == torch.float32
    assert video.min() >= -1 and video.max() <= 1
    assert 0 <= item["label"] < len(CLASS_NAMES)


def _object_mask(video, colour):
    """Pixels within a small distance of the named colour (backgrounds are grey, far from all)."""
    rgb = (video + 1) / 2  # (3, L, H, W)
    target = torch.tensor(COLOURS[colour]).view(3, 1, 1, 1)
    return ((rgb - target).abs().amax(dim=0) < 0.05).float()  # (L, H, W)


def _centroids(mask):
    L, H, W = mask.shape
    ys = torch.arange(H).view(1, H, 1).float()
    xs = torch.arange(W).view(1, 1, W).float()
    area = mask.sum(dim=(1, 2))
    return torch.stack([(mask * xs).sum((1, 2)) / area, (mask * ys).sum((1, 2)) / area], dim=1), area


def _parse(caption):
    words = caption.split()
    start = 1  # after the article
    return {"colour": words[start], "shape": words[start + 1], "direction": words[start + 3],
            "speed": words[start + 4]}


@pytest.mark.parametrize("seed", range(3))
def test_caption_names_what_is_drawn_and_where_it_goes(seed):
    """Colour: a blob of that colour exists. Shape: how much of its bounding box it fills.
    Direction and speed: its centroid's displacement."""
    world = ToyVideoDataset(24, 12, 64, 96, num_objects=1, seed=seed)
    fill_expected = {"circle": math.pi / 4, "square": 1.0, "triangle": 0.5}
    for index in range(len(world)):
        item = world[index]
        said = _parse(item["caption"])
        mask = _object_mask(item["video"], said["colour"])
        centres, area = _centroids(mask)
        assert (area > 20).all(), f"{item['caption']}: the {said['colour']} object is not visible"
        # Shape, from the first frame's fill ratio of the bounding box.
        ys, xs = torch.nonzero(mask[0], as_tuple=True)
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        fill = area[0].item() / box.item()
        closest = min(fill_expected, key=lambda s: abs(fill_expected[s] - fill))
        assert closest == said["shape"], f"{item['caption']}: fill ratio {fill:.2f} looks like a {closest}"
        # Direction, and the speed as the fraction of the frame travelled.
        (dx, dy) = (centres[-1] - centres[0]).tolist()
        ex, ey = DIRECTIONS[said["direction"]]
        along, across = (dx * ex + dy * ey), abs(dx * ey) + abs(dy * ex)
        extent = 96 if ex else 64
        travelled = along / extent
        assert across < 1.0, f"{item['caption']}: drifted {across:.1f} px sideways"
        expected = {"slowly": 0.25, "quickly": 0.5}[said["speed"]]
        assert abs(travelled - expected) < 0.03, f"{item['caption']}: travelled {travelled:.2f} of the frame"
        assert item["label"] == CLASS_NAMES.index(f"{said['shape']} moving {said['direction']}")


def test_motion_is_monotone_frame_to_frame():
    scene = Scene((ToyObject("square", "red", "right", "quickly", 0.15, (0.3, 0.5)),), "stripes")
    centres, _ = _centroids(_object_mask(render_video(scene, 10, 40, 40), "red"))
    steps = centres[1:, 0] - centres[:-1, 0]
    assert (steps > 0).all() and steps.std() < 0.3  # a steady rightward motion


def test_several_objects_are_all_captioned_and_distinct():
    rng = random.Random(0)
    for _ in range(50):
        scene = sample_scene(rng, num_objects=3)
        assert scene.caption.count(" and ") == 2
        assert len({(o.colour, o.shape) for o in scene.objects}) == 3
        assert all(o.shape in SHAPES for o in scene.objects)
    with pytest.raises(ValueError, match="num_objects"):
        sample_scene(rng, num_objects=0)


def test_objects_never_leave_the_frame():
    world = ToyVideoDataset(200, 2, 32, 32, seed=5)
    for index in range(len(world)):
        for obj in world.scene(index).objects:
            for t in (0.0, 1.0):
                x, y = obj.centre(torch.tensor([t]))[0].tolist()
                assert obj.size - 1e-6 <= x <= 1 - obj.size + 1e-6 and obj.size - 1e-6 <= y <= 1 - obj.size + 1e-6


def test_still_images_for_the_image_prior():
    stills = ToyImageDataset(10, 32, 48, seed=0)
    item = stills[4]
    assert item["image"].shape == (3, 32, 48)
    assert item["caption"].startswith(("a ", "an ")) and "moves" not in item["caption"]
    assert STILL_CLASS_NAMES[item["label"]] in item["caption"]
    assert torch.equal(stills[4]["image"], item["image"])


def test_stills_picture_the_scene_at_the_moment_asked():
    """moment 0 is the clip's first frame, 1 its last, 0.5 half-way: the same scenes, the objects moved."""
    clips = ToyVideoDataset(6, 3, 32, 32, num_objects=1, seed=3)  # frames at t = 0, 0.5, 1
    for moment, frame in ((0.0, 0), (0.5, 1), (1.0, 2)):
        stills = ToyImageDataset(6, 32, 32, num_objects=1, seed=3, moment=moment)
        for i in range(6):
            assert torch.allclose(stills[i]["image"], clips[i]["video"][:, frame], atol=1e-6)
            assert clips[i]["caption"].startswith(stills[i]["caption"] + " moves")
    first, middle = ToyImageDataset(6, 32, 32, seed=3), ToyImageDataset(6, 32, 32, seed=3, moment=0.5)
    assert not all(torch.equal(first[i]["image"], middle[i]["image"]) for i in range(6))
    with pytest.raises(ValueError, match="moment must be in"):
        ToyImageDataset(2, 32, 32, moment=1.5)


def test_bad_requests():
    with pytest.raises(ValueError, match="at least 8×8"):
        ToyVideoDataset(2, 4, 4, 4)[0]
    with pytest.raises(IndexError):
        ToyVideoDataset(2, 4, 16, 16)[5]
