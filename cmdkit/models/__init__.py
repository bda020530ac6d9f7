"""The kit's models: the CMD autoencoder (more stages to come)."""

from .autoencoder import CMDAutoencoder, CMDAutoencoderOutput, CMDEncoding, content_frame

__all__ = ["CMDAutoencoder", "CMDAutoencoderOutput", "CMDEncoding", "content_frame"]
