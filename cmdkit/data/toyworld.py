"""A procedural, captioned video world: coloured shapes moving over simple backgrounds.

It stands in for WebVid/UCF-101 wherever the kit must run offline and fast. Every clip is
drawn from a :class:`Scene` — which shapes, which colours, where they start, which way
and how fast they move — so captions are exact and tests can check them against the
pixels (the object named is the one drawn, and its centroid moves the named way).

Shapes are rendered from signed distance functions with a one-pixel anti-aliased edge,
vectorised over frames, so any number of frames at any H×W (square or not) is cheap.

Speed is the distance travelled over the whole clip (a fraction of the frame), not per
frame: a 32-frame clip shows the same motion as an 8-frame one, sampled more finely — as
if filmed at a higher frame rate — and objects never leave the frame.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

__all__ = [
    "SHAPES",
    "COLOURS",
    "DIRECTIONS",
    "SPEEDS",
    "BACKGROUNDS",
    "CLASS_NAMES",
    "STILL_CLASS_NAMES",
    "ToyObject",
    "Scene",
    "sample_scene",
    "signed_distance",
    "render_frames",
    "render_video",
    "render_image",
    "ToyVideoDataset",
    "ToyImageDataset",
]

SHAPES = ("circle", "square", "triangle")
# Saturated colours over desaturated backgrounds, so colour is easy to measure.
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.15, 0.15),
    "green": (0.15, 0.80, 0.25),
    "blue": (0.20, 0.40, 1.00),
    "yellow": (0.95, 0.85, 0.15),
    "purple": (0.65, 0.25, 0.85),
    "orange": (1.00, 0.55, 0.10),
}
# Unit steps in image coordinates (x to the right, y downwards).
DIRECTIONS: dict[str, tuple[int, int]] = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
# Fraction of the frame travelled over the clip.
SPEEDS: dict[str, float] = {"slowly": 0.25, "quickly": 0.5}
BACKGROUNDS = ("dark", "gradient", "stripes")

# Fixed class lists: labels index these, whatever the dataset's size or seed.
CLASS_NAMES = tuple(f"{shape} moving {direction}" for shape in SHAPES for direction in DIRECTIONS)
STILL_CLASS_NAMES = tuple(f"{colour} {shape}" for colour in COLOURS for shape in SHAPES)

_SIZE_RANGE = (0.14, 0.2)  # object radius as a fraction of min(H, W)


@dataclass(frozen=True)
class ToyObject:
    """One moving shape. Positions are normalised: x ∈ [0, 1] across, y ∈ [0, 1] down."""

    shape: str
    colour: str
    direction: str
    speed: str
    size: float  # radius, as a fraction of min(H, W)
    start: tuple[float, float]  # centre at the first frame

    def centre(self, t: torch.Tensor) -> torch.Tensor:
        """Centre at clip times ``t`` ∈ [0, 1], shape (L,) → (L, 2) as (x, y)."""
        dx, dy = DIRECTIONS[self.direction]
        travel = SPEEDS[self.speed]
        x = self.start[0] + dx * travel * t
        y = self.start[1] + dy * travel * t
        return torch.stack([x, y], dim=-1)

    @property
    def label(self) -> int:
        """Index into :data:`CLASS_NAMES` (shape × direction)."""
        return CLASS_NAMES.index(f"{self.shape} moving {self.direction}")

    @property
    def still_label(self) -> int:
        """Index into :data:`STILL_CLASS_NAMES` (colour × shape)."""
        return STILL_CLASS_NAMES.index(f"{self.colour} {self.shape}")

    def describe(self, moving: bool = True) -> str:
        article = "an" if self.colour[0] in "aeiou" else "a"
        noun = f"{article} {self.colour} {self.shape}"
        return f"{noun} moves {self.direction} {self.speed}" if moving else noun


@dataclass(frozen=True)
class Scene:
    objects: tuple[ToyObject, ...]
    background: str

    @property
    def caption(self) -> str:
        """Plain English from a small grammar: "a red circle moves left quickly and …"."""
        return " and ".join(obj.describe(moving=True) for obj in self.objects)

    @property
    def still_caption(self) -> str:
        return " and ".join(obj.describe(moving=False) for obj in self.objects)

    @property
    def label(self) -> int:
        """Class of the first (main) object; see :data:`CLASS_NAMES`."""
        return self.objects[0].label


def sample_scene(rng: random.Random, num_objects: int = 1) -> Scene:
    """Draw a scene; objects have distinct (colour, shape) pairs so captions are unambiguous."""
    if not 1 <= num_objects <= 4:
        raise ValueError(f"num_objects must be between 1 and 4; got {num_objects}")
    pairs = rng.sample([(c, s) for c in COLOURS for s in SHAPES], num_objects)
    objects = []
    for colour, shape in pairs:
        direction = rng.choice(tuple(DIRECTIONS))
        speed = rng.choice(tuple(SPEEDS))
        size = rng.uniform(*_SIZE_RANGE)
        travel = SPEEDS[speed]
        dx, dy = DIRECTIONS[direction]
        # Keep the whole path inside the frame: a margin of one radius on each side,
        # plus the travel on the side the object moves towards.
        def coordinate(step: int) -> float:
            low, high = size, 1.0 - size
            if step > 0:
                high -= travel
            elif step < 0:
                low += travel
            return rng.uniform(low, high)

        objects.append(ToyObject(shape, colour, direction, speed, size, (coordinate(dx), coordinate(dy))))
    return Scene(tuple(objects), rng.choice(BACKGROUNDS))


def _background(name: str, height: int, width: int) -> torch.Tensor:
    """(3, H, W) in [0, 1]; muted, so objects' colours stand out."""
    ys = torch.linspace(0, 1, height).view(1, height, 1)
    xs = torch.linspace(0, 1, width).view(1, 1, width)
    if name == "dark":
        return torch.tensor([0.10, 0.10, 0.12]).view(3, 1, 1).expand(3, height, width).clone()
    if name == "gradient":
        top, bottom = torch.tensor([0.05, 0.07, 0.15]), torch.tensor([0.30, 0.30, 0.34])
        return (top.view(3, 1, 1) * (1 - ys) + bottom.view(3, 1, 1) * ys).expand(3, height, width).clone()
    if name == "stripes":
        # Diagonal stripes, four periods across the frame whatever its size.
        phase = (xs + ys) * 4 * math.pi
        # A steep but smooth square wave: crisp stripes without stair-stepped edges.
        grey = 0.18 + 0.06 * (3 * torch.sin(phase)).clamp(-1, 1)
        return grey.expand(3, height, width).clone()
    raise ValueError(f"background must be one of {BACKGROUNDS}; got {name!r}")


def signed_distance(shape: str, px: torch.Tensor, py: torch.Tensor, radius: float) -> torch.Tensor:
    """Signed distance in pixels from points (px, py) — relative to the centre — to the shape
    (negative inside): a circle of ``radius``, a square of half-side 0.85 ``radius``, an
    apex-up equilateral triangle of circumradius ``radius``."""
    if shape == "circle":
        return torch.sqrt(px**2 + py**2) - radius
    if shape == "square":
        half = 0.85 * radius  # a square of similar area to the circle
        return torch.maximum(px.abs(), py.abs()) - half
    if shape == "triangle":
        # Equilateral, apex up, circumradius `radius`: the max over its three edges' half-planes.
        inradius = radius / 2
        c, s = math.sqrt(3) / 2, 0.5
        px, py = torch.broadcast_tensors(px, py)
        edges = torch.stack([py, c * px - s * py, -c * px - s * py])
        return edges.max(dim=0).values - inradius
    raise ValueError(f"shape must be one of {SHAPES}; got {shape!r}")


def render_frames(scene: Scene, times: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Frames of ``scene`` at clip times ``times`` ∈ [0, 1] (L,) → (3, L, H, W) in [0, 1]."""
    if height < 8 or width < 8:
        raise ValueError(f"frames must be at least 8×8 pixels; got {height}×{width}")
    num_frames = times.shape[0]
    frames = _background(scene.background, height, width).unsqueeze(1).repeat(1, num_frames, 1, 1)
    ys = torch.arange(height, dtype=torch.float32).view(1, height, 1) + 0.5  # pixel centres
    xs = torch.arange(width, dtype=torch.float32).view(1, 1, width) + 0.5
    for obj in scene.objects:
        centre = obj.centre(times)  # (L, 2), normalised
        cx = (centre[:, 0] * width).view(-1, 1, 1)
        cy = (centre[:, 1] * height).view(-1, 1, 1)
        radius = obj.size * min(height, width)
        distance = signed_distance(obj.shape, xs - cx, ys - cy, radius)  # (L, H, W)
        alpha = (0.5 - distance).clamp(0, 1).unsqueeze(0)  # one-pixel anti-aliased edge
        colour = torch.tensor(COLOURS[obj.colour]).view(3, 1, 1, 1)
        frames = frames * (1 - alpha) + colour * alpha
    return frames


def render_video(scene: Scene, num_frames: int, height: int, width: int) -> torch.Tensor:
    """The clip of ``scene``: (3, L, H, W) in [-1, 1]."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1; got {num_frames}")
    times = torch.linspace(0, 1, num_frames) if num_frames > 1 else torch.zeros(1)
    return render_frames(scene, times, height, width) * 2 - 1


def render_image(scene: Scene, height: int, width: int, moment: float = 0.0) -> torch.Tensor:
    """A still of ``scene`` at ``moment`` (0: its first, 1: its last): (3, H, W) in [-1, 1]."""
    if not 0.0 <= moment <= 1.0:
        raise ValueError(f"moment must be in [0, 1]; got {moment}")
    return render_frames(scene, torch.tensor([float(moment)]), height, width)[:, 0] * 2 - 1


class ToyVideoDataset(Dataset):
    """``length`` captioned clips; item ``i`` depends only on ``(seed, i)``.

    Each item is ``{"video": (3, L, H, W) in [-1, 1], "caption": str, "label": int}``, with
    ``label`` indexing :data:`CLASS_NAMES` (the first object's shape × direction).
    ``num_objects`` is an int or an inclusive ``(low, high)`` range.
    """

    def __init__(
        self,
        length: int = 1000,
        num_frames: int = 16,
        height: int = 64,
        width: int = 64,
        num_objects: int | tuple[int, int] = 1,
        seed: int = 0,
    ):
        if length < 1:
            raise ValueError(f"length must be >= 1; got {length}")
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1; got {num_frames}")
        self.length, self.num_frames, self.height, self.width = length, num_frames, height, width
        self.num_objects = (num_objects, num_objects) if isinstance(num_objects, int) else tuple(num_objects)
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        # Names everything an item depends on: caches of encoded clips are keyed by it.
        return (f"ToyVideoDataset(length={self.length}, num_frames={self.num_frames}, height={self.height}, "
                f"width={self.width}, num_objects={self.num_objects}, seed={self.seed})")

    def scene(self, index: int) -> Scene:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} clips")
        # A string seed hashes deterministically across runs and platforms (no PYTHONHASHSEED).
        rng = random.Random(f"cmdkit-toyworld/{self.seed}/{index}")
        return sample_scene(rng, rng.randint(*self.num_objects))

    def __getitem__(self, index: int) -> dict:
        scene = self.scene(index)
        video = render_video(scene, self.num_frames, self.height, self.width)
        return {"video": video, "caption": scene.caption, "label": scene.label}


class ToyImageDataset(ToyVideoDataset):
    """Still scenes for pretraining an image prior.

    Items are ``{"image": (3, H, W) in [-1, 1], "caption": "a red circle", "label": int}``,
    with ``label`` indexing :data:`STILL_CLASS_NAMES` (colour × shape of the first object).
    ``moment`` is when each scene is pictured: 0 its first moment, 0.5 the middle of its clip,
    where a keyframe content frame (notebook 01) shows the objects.
    """

    def __init__(self, length: int = 1000, height: int = 64, width: int = 64,
                 num_objects: int | tuple[int, int] = 1, seed: int = 0, moment: float = 0.0):
        super().__init__(length, 1, height, width, num_objects, seed)
        if not 0.0 <= moment <= 1.0:
            raise ValueError(f"moment must be in [0, 1]; got {moment}")
        self.moment = float(moment)

    def __getitem__(self, index: int) -> dict:
        scene = self.scene(index)
        image = render_image(scene, self.height, self.width, self.moment)
        return {"image": image, "caption": scene.still_caption, "label": scene.objects[0].still_label}
