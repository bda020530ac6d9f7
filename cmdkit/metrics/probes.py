"""Toy-world probes: measure from pixels what a caption says, so generated images and videos
can be scored.

Backgrounds in the toy world are grey (desaturated) and objects are saturated colours, so the
saturated pixels of an image are its objects: their mean colour names the object's colour, and
their centroid, tracked over the frames of a clip, gives the direction it moves.
"""

from __future__ import annotations

import math
import re

import torch

from ..data.toyworld import COLOURS, DIRECTIONS, SHAPES, signed_distance

__all__ = ["dominant_colour", "caption_colour", "colour_accuracy", "dominant_shape", "caption_shape",
           "shape_accuracy", "shape_fit", "streak_axis", "streak_accuracy", "motion_direction", "caption_direction",
           "direction_accuracy", "PROBE_PROMPTS",
           "STILL_PROBE_PROMPTS",
           "probe_videos", "binomial_interval"]

_PALETTE = torch.tensor(list(COLOURS.values()))  # (K, 3) in [0, 1]
_NAMES = list(COLOURS)


def _saturation(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB in [0, 1] and saturation (max − min over channels) of images (…, 3, H, W) in [-1, 1]."""
    rgb = ((images.detach().float().cpu() + 1) / 2).clamp(0, 1)
    return rgb, rgb.amax(dim=-3) - rgb.amin(dim=-3)


def dominant_colour(images: torch.Tensor, min_saturation: float = 0.3, min_fraction: float = 0.01) -> list[str]:
    """For images (B, 3, H, W) in [-1, 1]: the named colour nearest the mean of the saturated
    pixels, or ``"none"`` when fewer than ``min_fraction`` of the pixels are saturated."""
    rgb, saturation = _saturation(images)  # (B, 3, H, W), (B, H, W)
    names = []
    for image, mask in zip(rgb, saturation > min_saturation):
        if mask.float().mean() < min_fraction:
            names.append("none")
            continue
        mean = image[:, mask].mean(dim=1)  # (3,)
        names.append(_NAMES[int(torch.cdist(mean[None], _PALETTE).argmin())])
    return names


def _first_named(caption: str, vocabulary, what: str) -> str:
    for word in re.findall(r"[a-z]+", caption.lower()):
        if word in vocabulary:
            return word
    raise ValueError(f"caption names no toy-world {what}: {caption!r}")


def caption_colour(caption: str) -> str:
    """The first colour a toy caption names ("a red circle moves left" → "red")."""
    return _first_named(caption, COLOURS, "colour")


def _agreement(found: list[str], captions: list[str], named) -> float:
    """Fraction of ``found`` names that equal what ``named(caption)`` reads from their captions."""
    return sum(f == named(c) for f, c in zip(found, captions)) / len(captions)


def colour_accuracy(images: torch.Tensor, captions: list[str]) -> float:
    """Fraction of images whose dominant colour is the one their caption names first."""
    return _agreement(dominant_colour(images), captions, caption_colour)


def _largest_blob(mask: torch.Tensor) -> torch.Tensor:
    """The largest 4-connected region of a boolean mask (H, W), so that stray saturated pixels
    of a generated image do not stretch the object's bounding box."""
    h, w = mask.shape
    best: list[tuple[int, int]] = []
    cells = mask.tolist()
    visited = [[False] * w for _ in range(h)]
    for y0, x0 in torch.nonzero(mask).tolist():
        if visited[y0][x0]:
            continue
        stack, blob = [(y0, x0)], []
        visited[y0][x0] = True
        while stack:
            y, x = stack.pop()
            blob.append((y, x))
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and cells[ny][nx] and not visited[ny][nx]:
                    visited[ny][nx] = True
                    stack.append((ny, nx))
        if len(blob) > len(best):
            best = blob
    region = torch.zeros_like(mask)
    if best:
        ys, xs = zip(*best)
        region[list(ys), list(xs)] = True
    return region


def _object_regions(images: torch.Tensor, min_saturation: float):
    """For images (B, 3, H, W) in [-1, 1]: per image, a mask (H, W) of its largest saturated
    region — the object the shape and streak probes measure."""
    _, saturation = _saturation(images)
    for mask in saturation > min_saturation:
        yield _largest_blob(mask)


# Each toy shape at circumradius 1 (cmdkit.data.toyworld draws a square of half-side 0.85 and an
# equilateral triangle): the variance of its points along any axis (all three are isotropic),
# and the turns that can bring a template onto a region (a circle needs none).
_SHAPE_VARIANCE = {"circle": 1 / 4, "square": 0.85**2 / 3, "triangle": 1 / 8}
_SHAPE_TURNS = {"circle": torch.zeros(1),
                "square": torch.deg2rad(torch.arange(0.0, 90.0, 5.0)),
                "triangle": torch.deg2rad(torch.arange(0.0, 120.0, 5.0))}


def shape_fit(region: torch.Tensor) -> dict[str, float]:
    """How well each toy shape covers a region (H, W) of True pixels, up to an affine map.

    The region's pixel coordinates are whitened by their own mean and covariance. That turns an
    ellipse into a circle, a parallelogram into a square and any triangle into an equilateral
    one, while keeping the three apart: corners survive a linear map. Each shape is then drawn
    in that frame with the same spread as the region, turned in 5° steps, and the best
    intersection over union with the region is its fit (1.0 is perfect).
    """
    ys, xs = torch.nonzero(region, as_tuple=True)
    points = torch.stack([xs, ys], dim=1).double()
    mean = points.mean(dim=0)
    # Plus a unit pixel's own variance per axis (1/12): a pixel is a square, not a point.
    covariance = torch.cov(points.T) + torch.eye(2, dtype=torch.float64) / 12
    values, vectors = torch.linalg.eigh(covariance)
    whiten = vectors @ torch.diag(values.rsqrt()) @ vectors.T  # C^{-1/2}
    h, w = region.shape
    grid = torch.stack(torch.meshgrid(torch.arange(w, dtype=torch.float64), torch.arange(h, dtype=torch.float64),
                                      indexing="xy"), dim=-1) - mean  # (H, W, 2) as (x, y)
    white = grid @ whiten.T  # every pixel in the frame where the region has unit variance
    wx, wy = white[..., 0], white[..., 1]
    fits = {}
    for shape, turns in _SHAPE_TURNS.items():
        cos, sin = turns.double().cos().view(-1, 1, 1), turns.double().sin().view(-1, 1, 1)
        qx, qy = cos * wx + sin * wy, -sin * wx + cos * wy  # (turns, H, W)
        # In whitened units the shape of circumradius r has variance r²·v: choose r for unit variance.
        template = signed_distance(shape, qx, qy, 1 / math.sqrt(_SHAPE_VARIANCE[shape])) <= 0
        overlap = (template & region).sum(dim=(1, 2)).double()
        union = (template | region).sum(dim=(1, 2)).double()
        fits[shape] = (overlap / union).max().item()
    return fits


def dominant_shape(images: torch.Tensor, min_saturation: float = 0.3, min_pixels: int = 6) -> list[str]:
    """For images (B, 3, H, W) in [-1, 1] of one object each: ``"circle"``, ``"square"`` or
    ``"triangle"``, whichever fits the largest saturated region best (:func:`shape_fit`), or
    ``"none"`` when that region has fewer than ``min_pixels`` pixels.

    Matching templates up to an affine map, rather than measuring the region's upright bounding
    box, makes the probe indifferent to how a shape is turned, stretched or sheared: a generated
    square drawn 10° askew fills only about 85 % of its upright bounding box, as much as a
    circle does, yet it is plainly a square; an oval is a circle, not a square.
    """
    names = []
    for region in _object_regions(images, min_saturation):
        if region.sum() < min_pixels:
            names.append("none")
            continue
        fits = shape_fit(region)
        names.append(max(fits, key=fits.get))
    return names


def caption_shape(caption: str) -> str:
    """The first shape a toy caption names ("a red circle moves left" → "circle")."""
    return _first_named(caption, SHAPES, "shape")


def shape_accuracy(images: torch.Tensor, captions: list[str]) -> float:
    """Fraction of single-object images whose shape is the one their caption names."""
    return _agreement(dominant_shape(images), captions, caption_shape)


def streak_axis(images: torch.Tensor, min_saturation: float = 0.3, min_pixels: int = 6,
                elongation: float = 1.3) -> list[str]:
    """For content frames (B, 3, H, W) in [-1, 1] of one object each: ``"horizontal"`` or
    ``"vertical"`` when the largest saturated region is at least ``elongation`` times longer
    along that axis than across it, ``"round"`` otherwise, ``"none"`` below ``min_pixels``.

    A content frame keeps a moving object along part of its path (notebook 01), so it is a
    streak along the motion: a quick object's is two to three times as long as it is wide. A
    still object's own outline is round by this measure (the toy world's shapes are as tall as
    they are wide).
    """
    names = []
    for region in _object_regions(images, min_saturation):
        ys, xs = torch.nonzero(region, as_tuple=True)
        if len(ys) < min_pixels:
            names.append("none")
            continue
        height, width = int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1
        if width >= elongation * height:
            names.append("horizontal")
        elif height >= elongation * width:
            names.append("vertical")
        else:
            names.append("round")
    return names


def _motion_axis(caption: str) -> str:
    return "horizontal" if caption_direction(caption) in ("left", "right") else "vertical"


def streak_accuracy(images: torch.Tensor, captions: list[str]) -> float:
    """Fraction of single-object content frames streaked along the axis of the motion their
    caption names (left/right: horizontal, up/down: vertical)."""
    return _agreement(streak_axis(images), captions, _motion_axis)


def binomial_interval(fraction: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's 95 % interval for a probe score ``fraction`` measured on ``n`` samples: 50 % on
    8 samples is anything from 22 % to 78 %; on 54 samples, from 37 % to 63 %."""
    if n < 1 or not 0 <= fraction <= 1:
        raise ValueError(f"need n >= 1 and a fraction in [0, 1]; got {fraction} of {n}")
    p = fraction
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def motion_direction(videos: torch.Tensor, min_saturation: float = 0.3, min_fraction: float = 0.005,
                     min_travel: float = 0.06) -> list[str]:
    """For clips (B, 3, L, H, W) in [-1, 1]: the way the saturated pixels' centroid moves.

    The centroid is averaged over the first and the last quarter of the frames (steadier than
    two single frames); the larger component of the displacement names the direction —
    ``"left"``, ``"right"``, ``"up"`` or ``"down"``. ``"still"`` when it travels less than
    ``min_travel`` of the frame (the toy world's slowest motion covers 0.25), ``"none"`` when
    some frame has (almost) no object pixels.
    """
    if videos.ndim != 5 or videos.shape[1] != 3:
        raise ValueError(f"videos must be RGB clips (B, 3, L, H, W); got {tuple(videos.shape)}")
    _, saturation = _saturation(videos.transpose(1, 2))  # (B, L, H, W)
    mask = (saturation > min_saturation).float()
    b, length, h, w = mask.shape
    mass = mask.sum(dim=(2, 3))  # (B, L)
    ys = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w)
    centre = torch.stack([(mask * xs).sum(dim=(2, 3)) / w, (mask * ys).sum(dim=(2, 3)) / h], dim=-1)
    centre = centre / mass.clamp(min=1)[..., None]  # (B, L, 2) as fractions of the frame
    k = max(1, length // 4)
    travel = centre[:, -k:].mean(dim=1) - centre[:, :k].mean(dim=1)  # (B, 2): (dx, dy)
    names = []
    for (dx, dy), frames_mass in zip(travel.tolist(), mass):
        if (frames_mass < min_fraction * h * w).any():
            names.append("none")
        elif max(abs(dx), abs(dy)) < min_travel:
            names.append("still")
        elif abs(dx) >= abs(dy):
            names.append("right" if dx > 0 else "left")
        else:
            names.append("down" if dy > 0 else "up")
    return names


def caption_direction(caption: str) -> str:
    """The first direction a toy caption names ("a red circle moves left" → "left")."""
    return _first_named(caption, DIRECTIONS, "direction")


def direction_accuracy(videos: torch.Tensor, captions: list[str]) -> float:
    """Fraction of clips whose object moves the way their caption says (single-object captions)."""
    return _agreement(motion_direction(videos), captions, caption_direction)


# A fixed prompt set for scoring a generator: every colour and every direction, one object each.
PROBE_PROMPTS: tuple[str, ...] = tuple(
    f"{'an' if colour[0] in 'aeiou' else 'a'} {colour} {shape} moves {direction} quickly"
    for colour, shape, direction in zip(
        [c for c in COLOURS for _ in range(2)],
        ["circle", "square", "triangle"] * 4,
        list(DIRECTIONS) * 3,
    )
)


def probe_videos(videos: torch.Tensor, captions: list[str]) -> dict[str, float]:
    """Colour (of the middle frame) and direction accuracy of clips (B, 3, L, H, W) in [-1, 1]."""
    middle = videos[:, :, videos.shape[2] // 2]
    return {"colour": colour_accuracy(middle, captions), "direction": direction_accuracy(videos, captions)}

# The image prior's prompts: every colour × shape once ("a red circle", …, "an orange triangle").
STILL_PROBE_PROMPTS: tuple[str, ...] = tuple(
    f"{'an' if colour[0] in 'aeiou' else 'a'} {colour} {shape}" for colour in COLOURS for shape in SHAPES
)
