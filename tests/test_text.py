"""The text encoders' folders: the MiniLM default, the CMDKIT_TEXT_ENCODER override and the
random-weight stand-in the device check builds where MiniLM's weights cannot travel."""

import pytest
import torch

from cmdkit.text import (TOKENIZER_FILES, default_text_encoder_folder, encode_prompts, load_text_encoder,
                         minilm_folder, save_stand_in_encoder)


@pytest.fixture(scope="module")
def config_only(tmp_path_factory):
    """MiniLM's config and tokenizer without its weights: what travels to the GPU machine."""
    folder = tmp_path_factory.mktemp("text-encoder")
    for name in TOKENIZER_FILES:
        (folder / name).write_bytes((minilm_folder() / name).read_bytes())
    return folder


def test_stand_in_has_minilm_shapes_and_random_weights(config_only, tmp_path, monkeypatch):
    out = save_stand_in_encoder(config_only, tmp_path / "stand-in")
    prompts = ["a red circle moving left", "a blue square moving up"]
    real = encode_prompts(*load_text_encoder(), prompts)
    monkeypatch.setenv("CMDKIT_TEXT_ENCODER", str(out))
    assert default_text_encoder_folder() == out
    stand_in = encode_prompts(*load_text_encoder(), prompts)  # the default now reads the override
    assert stand_in.shape == real.shape == (2, 32, 384)
    assert torch.isfinite(stand_in).all()
    assert not torch.allclose(stand_in, real, atol=1e-2)  # same shapes, other weights


def test_default_is_minilm_without_the_override(monkeypatch):
    monkeypatch.delenv("CMDKIT_TEXT_ENCODER", raising=False)
    assert default_text_encoder_folder() == minilm_folder()


def test_stand_in_needs_the_tokenizer_files(config_only, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_bytes((config_only / "config.json").read_bytes())
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        save_stand_in_encoder(partial, tmp_path / "out")


def test_override_to_a_missing_folder_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CMDKIT_TEXT_ENCODER", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_text_encoder()
