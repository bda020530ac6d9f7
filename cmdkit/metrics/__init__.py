"""Measurements: reconstruction quality now; FVD and toy-world probes to come."""

from .recon import psnr

__all__ = ["psnr"]
