"""Measurements: reconstruction quality, toy-world probes (colour, shape, direction), the Fréchet distance and FVD."""

from .frechet import frechet_distance, frechet_distance_from_features
from .probes import (PROBE_PROMPTS, STILL_PROBE_PROMPTS, binomial_interval, caption_colour, caption_direction,
                     caption_shape, colour_accuracy, direction_accuracy, dominant_colour, dominant_shape, motion_direction,
                     probe_videos, shape_accuracy, shape_fit, streak_accuracy, streak_axis)
from .recon import error_where_moved, psnr, psnr_per_frame, ssim

__all__ = ["psnr", "psnr_per_frame", "error_where_moved", "ssim", "frechet_distance", "frechet_distance_from_features", "dominant_colour", "caption_colour",
           "colour_accuracy", "dominant_shape", "caption_shape", "shape_accuracy", "shape_fit", "binomial_interval",
           "motion_direction", "caption_direction", "direction_accuracy", "PROBE_PROMPTS", "STILL_PROBE_PROMPTS",
           "probe_videos", "streak_axis", "streak_accuracy"]
