"""The kit's models: the CMD autoencoder, the motion DiT, the two diffusers UNets (content
frames, direct video baseline) and the image autoencoder for latent mode."""

from .autoencoder import (CMDAutoencoder, CMDAutoencoderOutput, CMDEncoding, content_frame, reconstruction_loss,
                          weight_entropy, weight_smoothness)
from .motion_dit import MOTION_DIT_SIZES, MotionDiT, MotionDiTOutput
from .unets import build_baseline_unet, build_content_unet, inflate_image_unet
from .vae import TinyAutoencoder, WeightsNotFoundError

__all__ = ["CMDAutoencoder", "CMDAutoencoderOutput", "CMDEncoding", "content_frame", "reconstruction_loss",
           "weight_smoothness", "weight_entropy", "MotionDiT", "MotionDiTOutput", "MOTION_DIT_SIZES", "build_content_unet",
           "build_baseline_unet", "inflate_image_unet", "TinyAutoencoder", "WeightsNotFoundError"]
