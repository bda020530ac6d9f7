"""The two diffusers UNets of the kit, built at a preset's size for a frame space.

* The **content-frame model** is a text-to-image ``UNet2DConditionModel``. CMD's key
  observation is that the content frame x̄ looks like an image, so a *pretrained* image
  diffusion model, fine-tuned on content frames, generates it — the paper fine-tunes all of
  Stable Diffusion's weights, adds no parameters and keeps text in SD's own cross-attention.
  Offline, notebook 02 pretrains this UNet on still images in place of SD; ``paper`` is
  SD 2.1-base's UNet (865 M parameters).
* The **direct video baseline** is diffusers' ``UNet3DConditionModel`` — the ModelScope
  text-to-video architecture, spatial convolutions and attention with temporal ones
  interleaved — which denoises all L frames jointly, (B, C, L, H, W) at every step: the model
  CMD is measured against. ``paper`` is ModelScope's own configuration (1.4 B parameters),
  the model of the paper's efficiency comparison (Table 9).

Both train with :func:`cmdkit.diffusion.text_unet_loss` and sample through
:func:`cmdkit.diffusion.guided_sample`, so a comparison with CMD differs only in what is
denoised. Their sizes live in the presets (:attr:`cmdkit.config.Preset.content_unet`,
:attr:`~cmdkit.config.Preset.baseline_unet`); channels and sample size come from the space.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import UNet2DConditionModel, UNet3DConditionModel

__all__ = ["build_content_unet", "build_baseline_unet", "inflate_image_unet"]


def _build(unet_class, sizes: str, preset, space, cross_attention_dim: int, overrides: dict):
    from ..config import Preset, get_preset
    from ..space import FrameSpace

    preset = preset if isinstance(preset, Preset) else get_preset(preset)
    space = space if space is not None else FrameSpace.for_preset(preset)
    height, _ = space.model_size(preset.data.height, preset.data.width)
    config = dict(sample_size=height, in_channels=space.channels, out_channels=space.channels,
                  cross_attention_dim=cross_attention_dim, **getattr(preset, sizes))
    return unet_class(**{**config, **overrides})


def build_content_unet(preset, space=None, cross_attention_dim: int = 384, **overrides: Any) -> UNet2DConditionModel:
    """The content-frame UNet of a preset (a :class:`~cmdkit.config.Preset` or its name) for
    frames of ``space`` (:class:`cmdkit.space.FrameSpace`; default: the preset's own), reading
    text features of width ``cross_attention_dim``. ``overrides`` replace config entries
    (``sample_size=16`` for a small test)."""
    return _build(UNet2DConditionModel, "content_unet", preset, space, cross_attention_dim, overrides)


def build_baseline_unet(preset, space=None, cross_attention_dim: int = 384, **overrides: Any) -> UNet3DConditionModel:
    """The direct video UNet of a preset for clips of ``space``, as :func:`build_content_unet`."""
    return _build(UNet3DConditionModel, "baseline_unet", preset, space, cross_attention_dim, overrides)


def inflate_image_unet(image_unet: UNet2DConditionModel, video_unet: UNet3DConditionModel) -> UNet3DConditionModel:
    """Start a direct video UNet from a pretrained image UNet, as ModelScope and LVDM start from
    Stable Diffusion: every spatial weight is copied, and each temporal layer's output is zeroed,
    so the video UNet begins as the image model applied to each frame on its own and learns only
    how frames relate. CMD receives the same image model for its content frames; a baseline that
    trained from scratch would be charged for learning what both are given.

    The two UNets must share their spatial layout (:func:`build_baseline_unet` and
    :func:`build_content_unet` of one preset do). Returns ``video_unet``, changed in place.
    """
    image_state, video_state = image_unet.state_dict(), video_unet.state_dict()
    # Equal weight shapes do not make equal attention: the same projections split into other heads
    # compute another function. diffusers' 2-D and 3-D UNets read `attention_head_dim` differently
    # (heads per level, head width), so a preset must set the two to agree (cmdkit.config).
    video_modules = dict(video_unet.named_modules())
    for name, module in image_unet.named_modules():
        heads = getattr(module, "heads", None)
        if isinstance(heads, int) and name in video_modules and video_modules[name].heads != heads:
            raise ValueError(f"{name}: the image UNet attends with {heads} heads, the video UNet with "
                             f"{video_modules[name].heads}: give the two the same head width")
    missing = sorted(set(image_state) - set(video_state))
    if missing:
        raise ValueError(f"the image UNet has {len(missing)} weights the video UNet lacks (e.g. {missing[0]}): "
                         "build both from one preset, so that their spatial layers match")
    copied = {}
    for name, weight in image_state.items():
        target = video_state[name]
        if weight.shape != target.shape:
            # A transformer's 1×1-convolution projection read as the linear layer the video UNet uses.
            if weight.dim() == 4 and weight.shape[2:] == (1, 1) and weight.shape[:2] == target.shape:
                weight = weight[:, :, 0, 0]
            else:
                raise ValueError(f"{name}: image UNet {tuple(weight.shape)}, video UNet {tuple(target.shape)}")
        copied[name] = weight
    video_unet.load_state_dict(copied, strict=False)
    # Temporal convolutions already end in a zeroed layer (diffusers' TemporalConvLayer); the
    # temporal transformers' residual branches are zeroed here.
    for name, module in video_unet.named_modules():
        if type(module).__name__ == "TransformerTemporalModel":
            torch.nn.init.zeros_(module.proj_out.weight)
            torch.nn.init.zeros_(module.proj_out.bias)
    return video_unet
