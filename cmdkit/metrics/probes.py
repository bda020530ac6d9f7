"""Toy-world probes: measure from pixels what a caption says, so generated images can be scored.

Backgrounds in the toy world are grey (desaturated) and objects are saturated colours, so the
saturated pixels of an image are its objects and their mean colour names the object's colour.
"""

from __future__ import annotations

import re

import torch

from ..data.toyworld import COLOURS

__all__ = ["dominant_colour", "caption_colour", "colour_accuracy"]

_PALETTE = torch.tensor(list(COLOURS.values()))  # (K, 3) in [0, 1]
_NAMES = list(COLOURS)


def dominant_colour(images: torch.Tensor, min_saturation: float = 0.3, min_fraction: float = 0.01) -> list[str]:
    """For images (B, 3, H, W) in [-1, 1]: the named colour nearest the mean of the saturated
    pixels, or ``"none"`` when fewer than ``min_fraction`` of the pixels are saturated."""
    rgb = ((images.detach().float().cpu() + 1) / 2).clamp(0, 1)
    saturation = rgb.amax(dim=1) - rgb.amin(dim=1)  # (B, H, W)
    names = []
    for image, mask in zip(rgb, saturation > min_saturation):
        if mask.float().mean() < min_fraction:
            names.append("none")
            continue
        mean = image[:, mask].mean(dim=1)  # (3,)
        names.append(_NAMES[int(torch.cdist(mean[None], _PALETTE).argmin())])
    return names


def caption_colour(caption: str) -> str:
    """The first colour a toy caption names ("a red circle moves left" → "red")."""
    for word in re.findall(r"[a-z]+", caption.lower()):
        if word in COLOURS:
            return word
    raise ValueError(f"caption names no toy-world colour: {caption!r}")


def colour_accuracy(images: torch.Tensor, captions: list[str]) -> float:
    """Fraction of images whose dominant colour is the one their caption names first."""
    found = dominant_colour(images)
    return sum(f == caption_colour(c) for f, c in zip(found, captions)) / len(captions)
