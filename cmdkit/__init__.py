"""cmdkit: learn, train and measure CMD, the content-frame / motion-latent video diffusion model.

Yu et al., "Efficient Video Diffusion Models via Content-Frame Motion-Latent
Decomposition", ICLR 2024. Notebooks in ``notebooks/`` teach each stage; this package
holds the code they import.
"""

__version__ = "0.1.0"
