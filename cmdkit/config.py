"""Presets and parameter validation.

One set of code runs at three scales, chosen by name:

    smoke      a 2-core CPU in minutes: CI, laptops, a first look at every notebook
    classroom  one GPU, well under an hour per stage: results worth looking at
    paper      the published configuration (16×512×1024 in Stable Diffusion's latent space)

A preset fixes the data geometry and the size of every model. Notebooks take the preset
name plus a handful of knobs as papermill parameters; :func:`validate_params` checks each
one on entry, so a typo fails at the top of the notebook with a message naming the
parameter and what it may be, not twenty cells later inside torch.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

__all__ = [
    "PRESETS",
    "Preset",
    "DataConfig",
    "AutoencoderSize",
    "MotionSize",
    "get_preset",
    "in_latent_space",
    "validate_params",
    "check_choice",
    "check_int",
    "check_float",
    "check_frame_size",
]


@dataclass(frozen=True)
class DataConfig:
    """Clip geometry a preset trains on: L frames of H×W pixels."""

    num_frames: int
    height: int
    width: int
    # "pixel": the models see RGB frames; "latent": frames go through an image VAE first.
    # What that implies (channels, scale, clipping) is decided by cmdkit.space.FrameSpace.
    space: str = "pixel"

    @property
    def scale(self) -> int:
        """How much smaller the models' frames are than the video's (:func:`cmdkit.space.space_scale`)."""
        from .space import space_scale

        return space_scale(self.space)

    @property
    def model_shape(self) -> tuple[int, int, int]:
        """(L, h, w) of the clips the models see: frames, or VAE latents in latent mode."""
        return self.num_frames, self.height // self.scale, self.width // self.scale


@dataclass(frozen=True)
class AutoencoderSize:
    """Size of the CMD autoencoder (paper: width 384, depth 12 per side, patch 2, D 8)."""

    width: int
    depth: int
    heads: int
    patch_size: int
    motion_channels: int = 8  # D in the paper
    # The paper weighs every channel of every pixel on its own. Shared weights mix whole colours
    # of a pixel over time, so a moving object's streak keeps its hue: on the smoke world the
    # colour probe reads 95 % of such content frames right against 68 % (per channel: yellow
    # turns orange, orange red), at the same PSNR (benchmarks/autoencoder_ablation.py).
    importance_per_channel: bool = True
    # Hidden channels of the per-frame convolution that joins the decoder's patches at full
    # resolution; 0: none (the paper). On the smoke world at 300 steps: about the same held-out
    # PSNR (24.2–24.9 dB against 24.5), and crisper content frames: colour probe 100 % and shape
    # 77 % against 95 % and 65 % (benchmarks/autoencoder_ablation.py; see PixelRefiner).
    refiner_width: int = 0
    # A fixed logit for the middle frame in the importance softmax; 0: none (the paper, weights start
    # uniform). Started uniform, the smoke autoencoder learns content frames that are streaks (an
    # object at every place it passes), which an image model cannot learn to orient from the caption;
    # started at the middle frame (4.0) x̄ stays a sharp keyframe at the same held-out PSNR (24.1 against
    # 24.2 dB; x̄ shape probe 100 % against 51 %, 512 clips; benchmarks/autoencoder_ablation.py).
    # The classroom preset starts the same way (16 frames: 78 % of the weight); not yet measured there.
    keyframe_logit: float = 0.0
    # How far (in pixels, or latent cells) the decoder may copy each pixel from in x̄; 0: no copying
    # (the paper). It reconstructs far better: on the smoke world (objects move up to 9 px from the
    # middle frame) R = 10 gives 27.5 dB at 300 steps against 24.1, and 30.6 dB at 800 steps. Its motion
    # latent is generated well only by a motion model that sees x̄ in 4×4 patches (the smoke preset's
    # content_patch_size): with the paper's 8×8 the direction probe read 78 % of 64 clips, with 4×4 98 %.
    # The smoke preset copies (R = 10); classroom and paper keep the paper's decoder, not yet measured
    # with copying. Notebook 01 gives the measurements; see cmdkit.models.autoencoder.copy_from.
    copy_radius: int = 0


@dataclass(frozen=True)
class MotionSize:
    """Size of the motion DiT (paper: DiT-XL, motion patch 2, content patch 8)."""

    size: str  # a key of cmdkit.models.motion_dit.MOTION_DIT_SIZES: smoke, S, B, L, XL
    patch_size: int = 2  # p on the motion latent's L × (H'+W') grid
    content_patch_size: int = 8  # q on the content frame
    batch_size: int = 32  # motion latents are small: larger batches than the other stages
    # How the content tokens take part: "joint" (the paper) — they join the sequence and every block
    # updates them as it does the motion tokens; "context" — every block's motion tokens attend to them
    # as extra keys and values, and they stay as embedded, so a block's cost grows with the motion tokens
    # alone (and x̄'s keys do not depend on the noise level).
    content_attention: str = "joint"


# diffusers UNet sizes per preset, for the content-frame model (a 2-D text-to-image UNet) and
# the direct video baseline (the ModelScope 3-D UNet). On the smoke preset both put attention
# only at the coarser level, where it is affordable on a CPU. Each preset gives the two the same
# spatial layout: notebook 06 starts the baseline from the image prior (models.inflate_image_unet).
#
# The same layout includes the same attention heads, and diffusers reads `attention_head_dim`
# differently in the two: UNet2DConditionModel takes it as the number of heads per level (a
# naming kept for old configs), UNet3DConditionModel's blocks as the width of each head. So the
# content UNets give heads per level and the baselines one head width, and they agree:
# smoke 64 channels / 4 heads = 16 = the baseline's width; classroom (8, 16, 32) heads of 8 on
# (64, 128, 256) channels; paper SD-2.1's (5, 10, 20, 20) heads of 64.
# Smoke's heads are 16 wide, not 8: the CPU's fused attention runs 8-wide heads at a fraction of
# its speed, and the image prior's training step takes 0.187 s against 0.250 (1,200 steps: 224 s
# against 294; shape probe 85 % (73–92) of 54 against 96 % (87–99); benchmarks/prior_ablation.py
# --only heads4). The baseline pays for it in its input temporal transformer (8 heads of the width).
_CONTENT_UNETS: dict[str, dict] = {
    "smoke": dict(block_out_channels=(32, 64), layers_per_block=1, attention_head_dim=4, norm_num_groups=8,
                  down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                  up_block_types=("CrossAttnUpBlock2D", "UpBlock2D")),
    "classroom": dict(block_out_channels=(64, 128, 256), layers_per_block=2, attention_head_dim=(8, 16, 32),
                      norm_num_groups=32,
                      down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                      up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D")),
    # Stable Diffusion 2.1-base's UNet (865 M parameters).
    "paper": dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, attention_head_dim=(5, 10, 20, 20),
                  norm_num_groups=32, use_linear_projection=True,
                  down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                    "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")),
}
_BASELINE_UNETS: dict[str, dict] = {
    "smoke": dict(block_out_channels=(32, 64), layers_per_block=1, attention_head_dim=16, norm_num_groups=8,
                  down_block_types=("DownBlock3D", "CrossAttnDownBlock3D"),
                  up_block_types=("CrossAttnUpBlock3D", "UpBlock3D")),
    # Attention where the content UNet has it (32×32 and 16×16, not at 64×64): the comparison
    # with CMD differs in what is denoised, not in the layout. Spatial attention over 64×64
    # frames would hold 16 frames × 4096² scores per head wherever attention is not fused.
    "classroom": dict(block_out_channels=(64, 128, 256), layers_per_block=2, attention_head_dim=8,
                      norm_num_groups=32,
                      down_block_types=("DownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D"),
                      up_block_types=("CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "UpBlock3D")),
    # damo-vilab/text-to-video-ms-1.7b's UNet (diffusers' defaults are this configuration).
    "paper": dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, attention_head_dim=64,
                  norm_num_groups=32,
                  down_block_types=("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D",
                                    "DownBlock3D"),
                  up_block_types=("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D")),
}


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    data: DataConfig
    autoencoder: AutoencoderSize
    motion: MotionSize
    # The diffusers UNets' sizes: keyword arguments of UNet2DConditionModel (content frames)
    # and UNet3DConditionModel (the direct baseline), channels and sample size left out.
    content_unet: Mapping[str, Any]
    baseline_unet: Mapping[str, Any]
    # Training budgets (optimizer steps) and learning rates, per stage. Later stages add keys.
    steps: Mapping[str, int] = field(default_factory=dict)
    learning_rates: Mapping[str, float] = field(default_factory=dict)
    batch_size: int = 8
    # Stages whose batch is cut into micro-batches of this size with gradients accumulated
    # (cmdkit.train.TrainConfig.micro_batch): the preset's batch in a 16 GB GPU's memory.
    micro_batch: Mapping[str, int] = field(default_factory=dict)
    # Objects per still scene the image prior pretrains on (an inclusive range). One is what
    # a CPU budget can learn: with pairs in half of the stills, a prior of a few hundred steps
    # draws a second object for a one-object prompt and learns shape less than half as well.
    still_objects: tuple[int, int] = (1, 2)
    # When in its clip each toy still scene is pictured (0: the first moment, 0.5: the middle). A
    # keyframe content frame shows objects where they are mid-clip, away from the edges they move
    # between; a prior pretrained on such stills draws content frames the motion model can animate.
    still_moment: float = 0.0

    @property
    def spatial_multiple(self) -> int:
        """Frame sizes must be a multiple of this (the autoencoder's patch in pixels)."""
        return self.autoencoder.patch_size * self.data.scale

    def with_data(self, **changes: Any) -> "Preset":
        """A copy with some data fields changed (e.g. a non-square ``height``/``width``)."""
        return replace(self, data=replace(self.data, **changes))


PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        name="smoke",
        description="CPU in minutes (CI, laptops)",
        data=DataConfig(num_frames=8, height=32, width=32),
        autoencoder=AutoencoderSize(width=64, depth=2, heads=4, patch_size=4, importance_per_channel=False,
                                    refiner_width=32, keyframe_logit=4.0, copy_radius=10),
        # Content patches of 4 pixels, not the paper's 8: the copying decoder's motion latent says
        # where, to the pixel, to fetch each moving object from in x̄, and a motion model that sees
        # x̄ in 8×8 patches could not tell: its direction probe read 78 % of 64 clips after 1,800
        # steps, and 98 % (92–100) after 900 steps with 4×4 patches, at about twice the cost a step
        # (benchmarks/copy-decoder-rate-2026-12-04.jsonl; notebook 01, §6).
        # Content tokens as read-only context: each block's 32 motion tokens attend to x̄'s 64 tokens, which
        # are not updated, so a training step costs half (0.074 s against 0.150; 900 steps 87 s against
        # 159) and learns as well: direction probe 98 % of 64 clips with seed 0 and with seed 1, 95 % and
        # 91 % at guidance 1 (joint: 98 %, 86 %), on the encodings of the demo of 8b677fe
        # (benchmarks/motion-and-content-budget-2026-12-04.jsonl). 700 steps are too few here too: 72 %.
        motion=MotionSize("smoke", patch_size=2, content_patch_size=4, batch_size=32, content_attention="context"),
        content_unet=_CONTENT_UNETS["smoke"], baseline_unet=_BASELINE_UNETS["smoke"],
        # The direct baseline starts from the image prior and trains for as long as CMD's video stages
        # did in the same run (notebook 06 measures it); its step count here is only a cap.
        # The image prior's 1,200 steps: shape is learned late (the shape probe at equal seconds,
        # one-object stills: 37 % after 500 steps, 54 % after 1,350; colour from the first hundreds;
        # benchmarks/prior_ablation.py: shape 83 % of 54 samples at 1,000 steps, 98 % at 1,200; with the
        # 16-wide heads of today's UNet 74 % (61–84) at 1,000 and 85 % at 1,200, 89 % in the demo).
        # The motion DiT's 900 steps are not padding: at 600 it found the named direction in 48 % of
        # 64 clips (38 % with cosine decay), at 900 in 98 % with seed 0 and with seed 1, and 900 steps
        # of batch 16 (half the seconds) in 42 %: what it needs is clips seen, about 29,000
        # (benchmarks/motion-and-content-budget-2026-12-04.jsonl). The autoencoder at 600 steps: 29.7 dB;
        # the image prior at 800 steps: shape 68 % of 108 samples (benchmarks/prior-ablation-2026-12-05.jsonl).
        steps={"autoencoder": 800, "image_prior": 1200, "content": 150, "motion": 900, "baseline": 1000},
        learning_rates={"autoencoder": 3e-3, "image_prior": 2e-3, "content": 5e-4, "motion": 2e-3, "baseline": 1e-3},
        batch_size=8,
        still_objects=(1, 1),
        # Stills at the middle moment: text to video on notebook 06's held-out captions found the named
        # direction in 89.6 % of 768 clips (twelve seeds) against 85.7 % with first-moment stills, ahead
        # in each set of three seeds (z = 2.3); prior shape probe 96 % against 89 % of 54
        # (benchmarks/guidance-sweep-2026-12-05.jsonl, motion-and-content-budget-2026-12-04.jsonl).
        still_moment=0.5,
    ),
    "classroom": Preset(
        name="classroom",
        description="one GPU, under an hour per stage",
        data=DataConfig(num_frames=16, height=64, width=64),
        autoencoder=AutoencoderSize(width=256, depth=6, heads=8, patch_size=4, importance_per_channel=False,
                                    refiner_width=32, keyframe_logit=4.0),
        motion=MotionSize("S", patch_size=2, content_patch_size=8, batch_size=128),
        content_unet=_CONTENT_UNETS["classroom"], baseline_unet=_BASELINE_UNETS["classroom"],
        steps={"autoencoder": 20_000, "image_prior": 20_000, "content": 10_000, "motion": 20_000, "baseline": 20_000},
        learning_rates={"autoencoder": 3e-4, "image_prior": 2e-4, "content": 1e-4, "motion": 2e-4, "baseline": 2e-4},
        batch_size=32,
        # Measured on the CPU in fp32 (benchmarks/classroom-memory-cpu-2026-12-02.md), an upper
        # bound for a GPU's bf16/fp16: the autoencoder needs 1.3 GB and the direct video UNet
        # 9.2 GB per clip (full-resolution 3-D convolutions), so 32 clips at once need 41 and 297 GB;
        # micro-batches of 8 and 1 need 10.8 GB each. Content UNet and motion DiT fit whole (8–11 GB).
        micro_batch={"autoencoder": 8, "baseline": 1},
    ),
    "paper": Preset(
        name="paper",
        description="published sizes: 16×512×1024 in SD latent space",
        data=DataConfig(num_frames=16, height=512, width=1024, space="latent"),
        autoencoder=AutoencoderSize(width=384, depth=12, heads=6, patch_size=2),
        motion=MotionSize("XL", patch_size=2, content_patch_size=8, batch_size=256),
        content_unet=_CONTENT_UNETS["paper"], baseline_unet=_BASELINE_UNETS["paper"],
        steps={"autoencoder": 400_000, "content": 100_000, "motion": 400_000},
        learning_rates={"autoencoder": 1e-4, "content": 1e-5, "motion": 1e-4},
        batch_size=32,
    ),
}


# Latent mode (frames through an image VAE, 8× smaller): per preset, the frame size, the
# autoencoder patch and the motion model's content patch that fit the latents. Smoke keeps its
# 32×32 frames (4×4 latents, patch 1: a 4×4 token grid, and 16 content tokens as in pixel
# space), because on a 2-core CPU the VAE itself costs ~10 ms per 32×32 frame.
LATENT_GEOMETRY: dict[str, dict[str, int]] = {
    "smoke": {"height": 32, "width": 32, "patch_size": 1, "content_patch_size": 1},
    "classroom": {"height": 128, "width": 128, "patch_size": 2, "content_patch_size": 2},
}


def in_latent_space(preset: Preset) -> Preset:
    """The preset for latent mode: its frames made larger and its autoencoder's and motion
    model's patches smaller (:data:`LATENT_GEOMETRY`). ``paper`` already works in latent space and is returned as is."""
    if preset.data.space == "latent":
        return preset
    from .space import space_scale

    geometry = LATENT_GEOMETRY[preset.name]
    # The copy radius counts cells of the frames the autoencoder sees: the same reach in latent cells.
    copy_radius = -(-preset.autoencoder.copy_radius // space_scale("latent"))
    return replace(preset, data=replace(preset.data, space="latent", height=geometry["height"], width=geometry["width"]),
                   autoencoder=replace(preset.autoencoder, patch_size=geometry["patch_size"], copy_radius=copy_radius),
                   motion=replace(preset.motion, content_patch_size=geometry["content_patch_size"]))


def _fmt_choices(choices) -> str:
    return ", ".join(repr(c) for c in choices)


def check_choice(name: str, value: Any, choices) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in tuple(choices):
        raise ValueError(f"{name} must be one of {_fmt_choices(choices)}; got {value!r}")
    return value


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """Raise ``ValueError`` unless ``value`` is an integer in [minimum, maximum]."""
    # bool is an int subclass; `num_frames=True` is a typo, not a request for one frame.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}; got {value}")
    return int(value)


def check_float(name: str, value: Any, minimum: float | None = None, maximum: float | None = None) -> float:
    """Raise ``ValueError`` unless ``value`` is a real number in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number; got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}")
    return float(value)


def check_frame_size(height: Any, width: Any, multiple: int) -> tuple[int, int]:
    """Frame sizes the models can take: positive multiples of the patch size in pixels."""
    for name, value in (("height", height), ("width", width)):
        check_int(name, value, minimum=multiple)
        if value % multiple:
            lower, upper = value - value % multiple, value - value % multiple + multiple
            raise ValueError(
                f"{name} must be a multiple of {multiple} (the autoencoder's patch size in "
                f"pixels for this preset); got {value}. Try {max(lower, multiple)} or {upper}."
            )
    return int(height), int(width)


def get_preset(name: Any) -> Preset:
    """The preset called ``name``; ``ValueError`` naming the allowed ones otherwise."""
    check_choice("preset", name, PRESETS)
    return PRESETS[name]


# Rules for the knobs notebooks expose. One table, so every notebook spells and checks a
# parameter the same way. A rule gets (name, value) and returns the cleaned value.
_Rule = Callable[[str, Any], Any]
PARAM_RULES: dict[str, _Rule] = {
    "seed": lambda n, v: check_int(n, v, minimum=0),
    "num_frames": lambda n, v: check_int(n, v, minimum=2, maximum=1024),
    "num_clips": lambda n, v: check_int(n, v, minimum=1, maximum=10_000),
    "num_objects": lambda n, v: check_int(n, v, minimum=1, maximum=4),
    "train_steps": lambda n, v: check_int(n, v, minimum=0),
    "baseline_steps": lambda n, v: check_int(n, v, minimum=0),
    "compare_clips": lambda n, v: check_int(n, v, minimum=2, maximum=10_000),
    "compare_steps": lambda n, v: check_int(n, v, minimum=1, maximum=1000),
    "batch_size": lambda n, v: check_int(n, v, minimum=1),
    "learning_rate": lambda n, v: check_float(n, v, minimum=1e-8, maximum=1.0),
    "fps": lambda n, v: check_int(n, v, minimum=1, maximum=120),
    "num_images": lambda n, v: check_int(n, v, minimum=1, maximum=1_000_000),
    "smoothness": lambda n, v: check_float(n, v, minimum=0.0, maximum=10.0),
    "copy_radius": lambda n, v: check_int(n, v, minimum=0, maximum=64),
    "motion_channels": lambda n, v: check_int(n, v, minimum=1, maximum=256),
    "sampling_steps": lambda n, v: check_int(n, v, minimum=1, maximum=1000),
    "guidance_scale": lambda n, v: check_float(n, v, minimum=1.0, maximum=50.0),
    "content_steps": lambda n, v: check_int(n, v, minimum=1, maximum=1000),
    "motion_steps": lambda n, v: check_int(n, v, minimum=1, maximum=1000),
    "content_guidance": lambda n, v: check_float(n, v, minimum=1.0, maximum=50.0),
    "motion_guidance": lambda n, v: check_float(n, v, minimum=1.0, maximum=50.0),
    "pretrained_model_path": lambda n, v: v if v is None else _check_path(n, v),
    "space": lambda n, v: check_choice(n, v, ("pixel", "latent")),  # cmdkit.space.SPACES
    "vae_path": lambda n, v: v if v is None else _check_path(n, v),
    "data": lambda n, v: v if v is None else _check_path(n, str(v)),  # checked by cmdkit.data.DataSource
    "condition": lambda n, v: check_choice(n, v, ("text", "class")),
    "frame_stride": lambda n, v: check_int(n, v, minimum=1, maximum=64),
    "run_dir": lambda n, v: _check_path(n, v),
}


# Parameters whose default depends on the notebook's stage: None passes through.
_STAGE_DEFAULTS = {"train_steps", "baseline_steps", "learning_rate"}


def _check_path(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty path string; got {value!r}")
    return value


def validate_params(preset: Any, **params: Any) -> tuple[Preset, dict[str, Any]]:
    """Check a notebook's parameters against the preset; return ``(preset, cleaned)``.

    ``None`` means "the preset's default" for ``num_frames``, ``height``, ``width``,
    ``batch_size``, ``copy_radius`` and ``motion_channels``; for ``train_steps`` and
    ``learning_rate`` it stays ``None`` and the notebook takes its stage's value from the
    preset (``preset.steps[stage]``).
    ``height``/``width`` must be multiples of the preset's patch size.
    An unknown parameter name is an error, listing the known ones.
    """
    chosen = get_preset(preset)
    if params.get("space") == "latent":
        chosen = in_latent_space(chosen)
    defaults = {
        "num_frames": chosen.data.num_frames,
        "height": chosen.data.height,
        "width": chosen.data.width,
        "batch_size": chosen.batch_size,
        "copy_radius": chosen.autoencoder.copy_radius,  # in latent cells for a latent-space run
        "motion_channels": chosen.autoencoder.motion_channels,
    }
    cleaned: dict[str, Any] = {}
    for name, value in params.items():
        if value is None and name in defaults:
            value = defaults[name]
        if value is None and name in _STAGE_DEFAULTS:
            cleaned[name] = None
        elif name in ("height", "width"):
            cleaned[name] = value  # checked together below
        elif name in PARAM_RULES:
            cleaned[name] = PARAM_RULES[name](name, value)
        else:
            known = sorted([*PARAM_RULES, "height", "width"])
            raise ValueError(f"unknown parameter {name!r}; known parameters: {', '.join(known)}")
    if "height" in cleaned or "width" in cleaned:
        h = cleaned.get("height", chosen.data.height)
        w = cleaned.get("width", chosen.data.width)
        cleaned["height"], cleaned["width"] = check_frame_size(h, w, chosen.spatial_multiple)
    return chosen, cleaned
