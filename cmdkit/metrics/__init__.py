"""Measurements: reconstruction quality and toy-world probes (colour, direction)."""

from .probes import (PROBE_PROMPTS, caption_colour, caption_direction, colour_accuracy, direction_accuracy, dominant_colour,
                     motion_direction, probe_videos)
from .recon import psnr

__all__ = ["psnr", "dominant_colour", "caption_colour", "colour_accuracy", "motion_direction", "caption_direction",
           "direction_accuracy", "PROBE_PROMPTS", "probe_videos"]
