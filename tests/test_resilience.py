"""Bad input, clear error: one catalogue of what users get wrong and what the kit answers.

Each case builds a bad input in a temporary folder, calls the kit as a user would, and checks
that the error is of the expected kind and names the input and the problem — never a silent
wrong result or a bare traceback from deep inside torch. ``python tests/test_resilience.py``
prints every case with the message a user sees.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch

CASES = {}


def case(description: str, error: type[BaseException], pattern: str):
    def register(build):
        CASES[description] = (build, error, pattern)
        return build
    return register


# --- videos ---------------------------------------------------------------------------

def _sample_bytes() -> bytes:
    from cmdkit.data.samples import SAMPLES_DIR

    return (SAMPLES_DIR / "videos" / "clip_00.mp4").read_bytes()


@case("zero-byte .mp4", "VideoReadError", r"empty\.mp4: file is empty")
def _(tmp: Path):
    from cmdkit.data import read_video

    (tmp / "empty.mp4").write_bytes(b"")
    read_video(tmp / "empty.mp4", num_frames=4)


@case("text file renamed .mp4", "VideoReadError", r"notes\.mp4: not a readable video")
def _(tmp: Path):
    from cmdkit.data import read_video

    (tmp / "notes.mp4").write_text("a shopping list")
    read_video(tmp / "notes.mp4", num_frames=4)


@case("truncated .mp4 (first half of a real file)", "VideoReadError", r"cut\.mp4: not a readable video")
def _(tmp: Path):
    from cmdkit.data import read_video

    whole = _sample_bytes()
    (tmp / "cut.mp4").write_bytes(whole[: len(whole) // 2])
    read_video(tmp / "cut.mp4", num_frames=4)


@case("clip shorter than num_frames", "VideoReadError", r"short\.mp4: has 24 frames; a clip of 32 frames")
def _(tmp: Path):
    from cmdkit.data import read_video

    (tmp / "short.mp4").write_bytes(_sample_bytes())
    read_video(tmp / "short.mp4", num_frames=32)


@case("dataset folder that does not exist", FileNotFoundError, r"nowhere.*does not exist")
def _(tmp: Path):
    from cmdkit.data import VideoFolder

    VideoFolder(tmp / "nowhere", num_frames=4)


@case("empty dataset folder", ValueError, r"no videos found")
def _(tmp: Path):
    from cmdkit.data import VideoFolder

    (tmp / "empty").mkdir()
    VideoFolder(tmp / "empty", num_frames=4)


@case("CSV without a caption column", ValueError, r"captions\.csv has no caption column")
def _(tmp: Path):
    from cmdkit.data import VideoFolder

    (tmp / "captions.csv").write_text("file_name,description\nclip.mp4,a dog\n")
    VideoFolder(tmp, num_frames=4)


@case("CSV listing videos that are not there", FileNotFoundError, r"lists 1 file\(s\) that do not exist, e\.g\. .*123\.mp4")
def _(tmp: Path):
    from cmdkit.data import VideoFolder

    (tmp / "captions.csv").write_text("videoid,name\n123,a dog\n")
    VideoFolder(tmp, num_frames=4)


# --- notebook parameters --------------------------------------------------------------

@case("parameter of the wrong type (train_steps='100')", ValueError, r"train_steps must be an integer; got '100'")
def _(tmp: Path):
    from cmdkit.config import validate_params

    validate_params("smoke", train_steps="100")


@case("parameter out of range (guidance_scale=0.5)", ValueError, r"guidance_scale must be >= 1\.0; got 0\.5")
def _(tmp: Path):
    from cmdkit.config import validate_params

    validate_params("smoke", guidance_scale=0.5)


@case("unknown preset", ValueError, r"preset must be one of 'smoke', 'classroom', 'paper'; got 'smok'")
def _(tmp: Path):
    from cmdkit.config import validate_params

    validate_params("smok")


@case("misspelt parameter name", ValueError, r"unknown parameter 'trian_steps'; known parameters: .*train_steps")
def _(tmp: Path):
    from cmdkit.config import validate_params

    validate_params("smoke", trian_steps=10)


@case("frame size the patch does not divide", ValueError, r"height must be a multiple of 4 .* Try 32 or 36")
def _(tmp: Path):
    from cmdkit.config import validate_params

    validate_params("smoke", height=34, width=32)


@case("papermill run with a parameter no notebook declares", ValueError, r"colour_mode")
def _(tmp: Path):
    from cmdkit.runner import run_series

    run_series(tmp, {"preset": "smoke", "colour_mode": "rgb"}, only=["00"], echo=lambda *_: None)


# --- saved models and checkpoints -----------------------------------------------------

@case("another model's folder given as the autoencoder", ValueError, r"holds a MotionDiT, not a CMDAutoencoder")
def _(tmp: Path):
    from cmdkit.models import CMDAutoencoder, MotionDiT

    MotionDiT(hidden_size=32, depth=1, num_heads=2).save_pretrained(tmp / "motion")
    CMDAutoencoder.from_pretrained(tmp / "motion")


@case("saved model folder without its config", FileNotFoundError, r"has no config\.json: it is not a saved MotionDiT")
def _(tmp: Path):
    from cmdkit.models import MotionDiT

    (tmp / "half").mkdir()
    MotionDiT.from_pretrained(tmp / "half")


@case("saved model whose weights do not fit its config", ValueError, r"could not load the CMDAutoencoder in .*ae")
def _(tmp: Path):
    import json

    from cmdkit.models import CMDAutoencoder

    CMDAutoencoder(width=32, depth=1, heads=2).save_pretrained(tmp / "ae")
    config = json.loads((tmp / "ae" / "config.json").read_text())
    (tmp / "ae" / "config.json").write_text(json.dumps({**config, "width": 64}))
    CMDAutoencoder.from_pretrained(tmp / "ae")


@case("resuming training from a checkpoint of another config", ValueError, r"checkpoint .*step-000002 does not fit this model")
def _(tmp: Path):
    from cmdkit.train import TrainConfig, train

    def batches(step):
        return torch.randn(4, 3)

    def loss(model, batch):
        return model(batch).square().mean()

    config = TrainConfig(steps=2, progress=False, ema_decay=None)
    train(torch.nn.Linear(3, 2), loss, batches, config, checkpoint_dir=tmp / "ckpt")
    train(torch.nn.Linear(3, 5), loss, batches, TrainConfig(steps=4, progress=False, ema_decay=None),
          checkpoint_dir=tmp / "ckpt")


@case("content-model folder missing parts", FileNotFoundError, r"not a Stable Diffusion-layout folder: missing model_index\.json, unet/config\.json")
def _(tmp: Path):
    from cmdkit.pipeline import load_content_pipeline

    (tmp / "sd").mkdir()
    load_content_pipeline(tmp / "sd")


@case("FVD without I3D weights", FileNotFoundError, r"I3D weights are needed for FVD .*i3d_pretrained_400\.pt")
def _(tmp: Path):
    from cmdkit.metrics.fvd import load_i3d

    load_i3d(tmp / "i3d_pretrained_400.pt")


@case("a stage's output that has not been made yet", FileNotFoundError, r"01_autoencoder")
def _(tmp: Path):
    from cmdkit.experiment import start

    start("03_content_frames", preset="smoke", run_dir=str(tmp)).stage_output("01_autoencoder", "autoencoder")


@case("the direct baseline's image prior before notebook 02 has run", FileNotFoundError, r"02_image_prior")
def _(tmp: Path):
    from cmdkit.experiment import start

    start("06_evaluation", preset="smoke", run_dir=str(tmp)).image_prior()


# --- shapes the models cannot take ----------------------------------------------------

@case("video with the wrong number of channels", ValueError, r"video has 1 channels; this autoencoder takes 3")
def _(tmp: Path):
    from cmdkit.models import CMDAutoencoder

    CMDAutoencoder(width=32, depth=1, heads=2)(torch.zeros(1, 1, 4, 16, 16))


@case("frame size the autoencoder's patch does not divide", ValueError, r"frame size 18×16 is not divisible by the autoencoder's patch size 4")
def _(tmp: Path):
    from cmdkit.models import CMDAutoencoder

    CMDAutoencoder(width=32, depth=1, heads=2)(torch.zeros(1, 3, 4, 18, 16))


@case("text features of the wrong width for the motion model", ValueError, r"encoder_hidden_states must be \(B, T, 384\)")
def _(tmp: Path):
    from cmdkit.models import MotionDiT

    MotionDiT(hidden_size=32, depth=1, num_heads=2)(torch.zeros(1, 8, 4, 8), 1, torch.zeros(1, 3, 16, 16),
                                                    encoder_hidden_states=torch.zeros(1, 5, 512))


@case("pipeline asked for a size its models cannot take", ValueError, r"height and width must be multiples of")
def _(tmp: Path):
    from cmdkit import CMDPipeline
    from cmdkit.models import CMDAutoencoder, MotionDiT
    from cmdkit.diffusion import build_noise_scheduler
    from cmdkit.models import build_content_unet

    pipe = CMDPipeline(autoencoder=CMDAutoencoder(width=32, depth=1, heads=2),
                       unet=build_content_unet("smoke", sample_size=16), scheduler=build_noise_scheduler(clip_sample=True),
                       motion_transformer=MotionDiT(hidden_size=32, depth=1, num_heads=2, content_patch_size=8),
                       motion_scheduler=build_noise_scheduler(clip_sample=True), text_encoder=None, tokenizer=None)
    pipe("a red circle", height=20, width=16, progress=False)


def _resolve(error):
    if isinstance(error, str):
        from cmdkit.data import VideoReadError

        return {"VideoReadError": VideoReadError}[error]
    return error


@pytest.mark.parametrize("description", list(CASES))
def test_bad_input_gets_a_clear_error(description, tmp_path):
    build, error, pattern = CASES[description]
    with pytest.raises(_resolve(error), match=pattern):
        build(tmp_path)


if __name__ == "__main__":
    for description, (build, error, _) in CASES.items():
        with tempfile.TemporaryDirectory() as folder:
            try:
                build(Path(folder))
                print(f"- {description}: NO ERROR")
            except Exception as err:  # noqa: BLE001 — printing what the user would see
                message = str(err).replace(folder, "<tmp>").splitlines()[0]
                print(f"- {description}: `{type(err).__name__}: {message}`")
