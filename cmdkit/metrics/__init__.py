"""Measurements: reconstruction quality and toy-world probes; FVD to come."""

from .probes import caption_colour, colour_accuracy, dominant_colour
from .recon import psnr

__all__ = ["psnr", "dominant_colour", "caption_colour", "colour_accuracy"]
