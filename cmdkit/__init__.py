"""cmdkit: learn, train and measure CMD, the content-frame / motion-latent video diffusion model.

Yu et al., "Efficient Video Diffusion Models via Content-Frame Motion-Latent
Decomposition", ICLR 2024. Notebooks in ``notebooks/`` teach each stage; this package
holds the code they import.

The main classes are importable from the top level (``cmdkit.CMDPipeline``); they load on
first use, so ``import cmdkit`` stays light. diffusers also finds the kit's models here when
it loads a saved :class:`CMDPipeline` (its ``model_index.json`` names library ``cmdkit``).
"""

__version__ = "0.1.0"

_LAZY = {
    "CMDAutoencoder": "cmdkit.models.autoencoder",
    "MotionDiT": "cmdkit.models.motion_dit",
    "TinyAutoencoder": "cmdkit.models.vae",
    "CMDPipeline": "cmdkit.pipeline",
    "CMDPipelineOutput": "cmdkit.pipeline",
    "ContentFramePipeline": "cmdkit.pipeline",
    "DirectVideoPipeline": "cmdkit.pipeline",
    "FrameSpace": "cmdkit.space",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cmdkit' has no attribute {name!r}")
