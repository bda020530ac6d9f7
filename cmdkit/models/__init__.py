"""The kit's models: the CMD autoencoder, the motion DiT, and the image autoencoder for latent mode."""

from .autoencoder import (CMDAutoencoder, CMDAutoencoderOutput, CMDEncoding, content_frame, encode_clips,
                          reconstruction_loss, weight_smoothness)
from .motion_dit import MOTION_DIT_SIZES, MotionDiT, MotionDiTOutput
from .vae import TinyAutoencoder, WeightsNotFoundError

__all__ = ["CMDAutoencoder", "CMDAutoencoderOutput", "CMDEncoding", "content_frame", "encode_clips", "reconstruction_loss",
           "weight_smoothness", "MotionDiT", "MotionDiTOutput", "MOTION_DIT_SIZES", "TinyAutoencoder",
           "WeightsNotFoundError"]
