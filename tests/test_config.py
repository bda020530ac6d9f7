import pytest

from cmdkit.config import PRESETS, check_frame_size, get_preset, validate_params


def test_presets_scale_up():
    smoke, classroom, paper = (PRESETS[n] for n in ("smoke", "classroom", "paper"))
    assert smoke.autoencoder.width < classroom.autoencoder.width < paper.autoencoder.width
    # The paper's autoencoder: width 384, depth 12 per side, patch 2, D = 8, on SD latents.
    assert (paper.autoencoder.width, paper.autoencoder.depth, paper.autoencoder.patch_size,
            paper.autoencoder.motion_channels) == (384, 12, 2, 8)
    assert (paper.data.num_frames, paper.data.height, paper.data.width) == (16, 512, 1024)
    assert paper.spatial_multiple == 16  # patch 2 on ×8-downsampled latents


def test_unknown_preset_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"preset must be one of 'smoke', 'classroom', 'paper'; got 'smok'"):
        get_preset("smok")


@pytest.mark.parametrize("name, value, pattern", [
    ("train_steps", -5, r"train_steps must be an integer >= 0; got -5"),
    ("num_frames", 1, r"num_frames must be an integer >= 2"),
    ("num_frames", "16", r"num_frames must be an integer; got '16' \(str\)"),
    ("num_clips", True, r"num_clips must be an integer; got True \(bool\)"),
    ("learning_rate", 3.0, r"learning_rate must be <= 1.0"),
    ("seed", 1.5, r"seed must be an integer"),
    ("run_dir", "", r"run_dir must be a non-empty path"),
    ("copy_radius", -1, r"copy_radius must be an integer >= 0"),
    ("motion_channels", 0, r"motion_channels must be an integer >= 1"),
])
def test_bad_parameters_get_a_clear_error(name, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        validate_params("smoke", **{name: value})


def test_sizes_the_model_cannot_take():
    with pytest.raises(ValueError, match=r"height must be a multiple of 4 .* got 30\. Try 28 or 32"):
        validate_params("smoke", height=30, width=32)
    with pytest.raises(ValueError, match=r"width must be a multiple of 16"):
        validate_params("paper", height=512, width=1000)
    with pytest.raises(ValueError, match=r"height must be an integer >= 4"):
        check_frame_size(0, 32, 4)


def test_unknown_parameter_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown parameter 'num_frame'; known parameters: .*num_frames"):
        validate_params("smoke", num_frame=8)


def test_defaults_come_from_the_preset_and_non_square_is_fine():
    preset, params = validate_params("smoke", num_frames=None, height=None, width=None, train_steps=10)
    assert params == {"num_frames": 8, "height": 32, "width": 32, "train_steps": 10}
    _, params = validate_params("classroom", height=32, width=64)
    assert (params["height"], params["width"]) == (32, 64)
    # The autoencoder's design: the preset's (smoke copies from up to 10 pixels; latent cells in latent space)
    _, params = validate_params("smoke", copy_radius=None, motion_channels=None)
    assert params == {"copy_radius": 10, "motion_channels": 8}
    assert validate_params("smoke", space="latent", copy_radius=None)[1]["copy_radius"] == 2
    assert validate_params("classroom", copy_radius=None, motion_channels=4)[1] == {"copy_radius": 0, "motion_channels": 4}


def test_stage_defaults_pass_through_as_none():
    preset, params = validate_params("smoke", train_steps=None, learning_rate=None)
    assert params == {"train_steps": None, "learning_rate": None}
    assert preset.steps["autoencoder"] > 0 and preset.learning_rates["autoencoder"] > 0


def test_micro_batches_name_real_stages_and_divide_their_batch():
    for preset in PRESETS.values():
        for stage, micro in preset.micro_batch.items():
            assert stage in preset.steps, (preset.name, stage)
            batch = preset.motion.batch_size if stage == "motion" else preset.batch_size
            assert 1 <= micro < batch and batch % micro == 0, (preset.name, stage, micro)
