"""Measurements: reconstruction quality, toy-world probes (colour, direction), the Fréchet distance and FVD."""

from .probes import (PROBE_PROMPTS, caption_colour, caption_direction, colour_accuracy, direction_accuracy, dominant_colour,
                     motion_direction, probe_videos)
from .frechet import frechet_distance, frechet_distance_from_features
from .recon import psnr

__all__ = ["psnr", "frechet_distance", "frechet_distance_from_features", "dominant_colour", "caption_colour", "colour_accuracy", "motion_direction", "caption_direction",
           "direction_accuracy", "PROBE_PROMPTS", "probe_videos"]
