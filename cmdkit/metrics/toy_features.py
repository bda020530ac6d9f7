"""An offline feature network for the toy world, for Fréchet distances without I3D.

FVD needs I3D weights, which cannot be downloaded here. As MNIST-style FID uses a digit
classifier, the kit trains a small video classifier on the toy world — what shape moves which
way (12 classes) and in which colour (6) — and takes its penultimate features (128-d) for the
same Fréchet machinery. Numbers computed this way are **FVD-toy**: they measure the toy
world's own factors, are comparable only with each other under the same classifier, and are
never to be reported as FVD (which means I3D on Kinetics-400).

A distance is only comparable under one feature network, so FVD fixes its network: everybody
uses the same I3D weights. FVD-toy does the same. For the smoke preset's clips (8 frames of
32×32) the kit ships one trained classifier (``weights/toy-classifier-8x32x32``, made with
``cmdkit train-toy-classifier``) and :func:`toy_classifier` returns it; for other clip shapes, or
when asked, it trains one (300 steps, about 20 s on a 2-core CPU for smoke clips). Two classifiers
trained from the same seed on different machines are not bit-identical, and neither are their
FVD-toy values.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from ..models.loading import CheckedLoadingMixin
from .fvd import FVDResult
from .frechet import frechet_distance_from_features

__all__ = ["ToyVideoClassifier", "train_toy_classifier", "toy_classifier", "shipped_toy_classifier",
           "shipped_classifier_folder", "held_out_accuracy", "toy_features", "toy_fvd"]

# The classifiers the kit ships, one folder per clip shape: toy-classifier-<L>x<H>x<W>.
SHIPPED_CLASSIFIERS = Path(__file__).parent / "weights"
DEFAULT_STEPS = 300


class ToyVideoClassifier(CheckedLoadingMixin, ModelMixin, ConfigMixin):
    """Three strided 3-D convolutions, global average pooling, then two heads: shape × direction
    (``CLASS_NAMES``) and colour. Any L ≥ 4 and H, W ≥ 8. ``features`` gives the pooled
    penultimate vector (B, width)."""

    @register_to_config
    def __init__(self, width: int = 128, num_classes: int = 12, num_colours: int = 6):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(3, width // 4, 3, stride=(1, 2, 2), padding=1), nn.GroupNorm(4, width // 4), nn.GELU(),
            nn.Conv3d(width // 4, width // 2, 3, stride=2, padding=1), nn.GroupNorm(8, width // 2), nn.GELU(),
            nn.Conv3d(width // 2, width, 3, stride=2, padding=1), nn.GroupNorm(8, width), nn.GELU(),
        )
        self.classes = nn.Linear(width, num_classes)
        self.colours = nn.Linear(width, num_colours)

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        """Clips (B, 3, L, H, W) in [-1, 1] → (B, width)."""
        if videos.ndim != 5 or videos.shape[1] != 3:
            raise ValueError(f"videos must be RGB clips (B, 3, L, H, W); got {tuple(videos.shape)}")
        return self.body(videos.to(self.dtype)).mean(dim=(2, 3, 4))

    def forward(self, videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits for shape × direction (B, 12) and for colour (B, 6)."""
        h = self.features(videos)
        return self.classes(h), self.colours(h)


def _colour_labels(captions: list[str]) -> torch.Tensor:
    """The colour head's targets: the index in ``COLOURS`` of each caption's colour, (N,)."""
    from ..data.toyworld import COLOURS
    from .probes import caption_colour

    index = {name: i for i, name in enumerate(COLOURS)}
    return torch.tensor([index[caption_colour(caption)] for caption in captions])


def train_toy_classifier(num_frames: int, height: int, width: int, steps: int = DEFAULT_STEPS, batch_size: int = 32,
                         seed: int = 0, checkpoint_dir=None, progress: bool = True):
    """Train the classifier on single-object toy clips; returns ``(model, held-out accuracies)``."""
    from ..data.batches import batch_indices
    from ..data.toyworld import ToyVideoDataset
    from ..train import TrainConfig, train

    world = ToyVideoDataset(length=4096, num_frames=num_frames, height=height, width=width, num_objects=1,
                            seed=seed + 50_000)

    def batches(step: int) -> dict:
        items = [world[int(i)] for i in batch_indices(len(world), batch_size, seed, step)]
        return {"video": torch.stack([item["video"] for item in items]),
                "label": torch.tensor([item["label"] for item in items]),
                "colour": _colour_labels([item["caption"] for item in items])}

    def loss(model, batch):
        classes, colours = model(batch["video"])
        return F.cross_entropy(classes, batch["label"]) + F.cross_entropy(colours, batch["colour"])

    model = ToyVideoClassifier()
    config = TrainConfig(steps=steps, learning_rate=2e-3, warmup_steps=min(20, steps // 10), ema_decay=None,
                         seed=seed, progress=progress, description="toy-world classifier")
    result = train(model, loss, batches, config, checkpoint_dir=checkpoint_dir)
    model = result.model.eval()
    return model, held_out_accuracy(model, num_frames, height, width, seed=seed)


@torch.no_grad()
def held_out_accuracy(model: ToyVideoClassifier, num_frames: int, height: int, width: int,
                      seed: int = 0) -> dict[str, float]:
    """The classifier's accuracy on 256 single-object clips it never trained on:
    ``{"shape_direction": …, "colour": …}`` (chance 1/12 and 1/6)."""
    from ..data.toyworld import ToyVideoDataset

    held_out = ToyVideoDataset(length=256, num_frames=num_frames, height=height, width=width, num_objects=1,
                               seed=seed + 60_000)
    videos = torch.stack([held_out[i]["video"] for i in range(len(held_out))])
    labels = torch.tensor([held_out[i]["label"] for i in range(len(held_out))])
    colours = _colour_labels([held_out[i]["caption"] for i in range(len(held_out))])
    classes, colour_logits = model.eval()(videos.to(model.device))
    return {"shape_direction": (classes.argmax(1).cpu() == labels).float().mean().item(),
            "colour": (colour_logits.argmax(1).cpu() == colours).float().mean().item()}


def shipped_classifier_folder(num_frames: int, height: int, width: int) -> Path:
    """Where the kit keeps (or ``cmdkit train-toy-classifier`` writes) the classifier for L×H×W clips."""
    return SHIPPED_CLASSIFIERS / f"toy-classifier-{num_frames}x{height}x{width}"


def shipped_toy_classifier(num_frames: int, height: int, width: int) -> ToyVideoClassifier | None:
    """The kit's trained classifier for clips of L×H×W, or ``None`` where it ships none."""
    folder = shipped_classifier_folder(num_frames, height, width)
    if not (folder / "config.json").exists():
        return None
    return ToyVideoClassifier.from_pretrained(folder).eval()


def toy_classifier(num_frames: int, height: int, width: int, steps: int | None = None, seed: int = 0,
                   checkpoint_dir=None, progress: bool = True) -> tuple[ToyVideoClassifier, dict[str, float]]:
    """FVD-toy's feature network for clips of L×H×W, and its held-out accuracy: the shipped one
    (:func:`shipped_toy_classifier`) unless ``steps`` is given or none ships for this shape; else
    one trained here for ``steps`` (default 300) with ``seed``."""
    if steps is None and (model := shipped_toy_classifier(num_frames, height, width)) is not None:
        return model, held_out_accuracy(model, num_frames, height, width)
    return train_toy_classifier(num_frames, height, width, steps=steps or DEFAULT_STEPS, seed=seed,
                                checkpoint_dir=checkpoint_dir, progress=progress)


@torch.no_grad()
def toy_features(model: ToyVideoClassifier, videos: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Penultimate features (N, width) of clips (N, 3, L, H, W) in [-1, 1]."""
    model.eval()
    return torch.cat([model.features(batch.to(model.device)).float().cpu() for batch in videos.split(batch_size)])


def toy_fvd(real_videos: torch.Tensor, fake_videos: torch.Tensor, model: ToyVideoClassifier) -> FVDResult:
    """FVD-toy: the Fréchet distance of toy-classifier features. Labelled as such, never as FVD."""
    real, fake = toy_features(model, real_videos), toy_features(model, fake_videos)
    protocol = {"features": f"toy-world classifier, penultimate ({model.config.width}-d) — FVD-toy, not I3D",
                "num_real": len(real), "num_fake": len(fake), "frames": real_videos.shape[2],
                "resolution": real_videos.shape[-1], "value_range": "[-1, 1]",
                "note": "comparable only with FVD-toy from the same classifier"}
    return FVDResult(frechet_distance_from_features(real, fake), protocol)
