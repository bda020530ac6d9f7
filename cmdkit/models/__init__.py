"""The kit's models: the CMD autoencoder and the image autoencoder for latent mode (more stages to come)."""

from .autoencoder import (CMDAutoencoder, CMDAutoencoderOutput, CMDEncoding, content_frame, encode_clips,
                          reconstruction_loss, weight_smoothness)
from .vae import TinyAutoencoder, WeightsNotFoundError

__all__ = ["CMDAutoencoder", "CMDAutoencoderOutput", "CMDEncoding", "content_frame", "encode_clips", "reconstruction_loss",
           "weight_smoothness", "TinyAutoencoder",
           "WeightsNotFoundError"]
