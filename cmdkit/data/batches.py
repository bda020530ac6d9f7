"""Training batches for the generative stages, each a pure function of ``(seed, step)``.

The training loop (:func:`cmdkit.train.train`) asks for batch ``step``; drawing it from a
generator seeded by :func:`cmdkit.train.step_seed` makes a resumed run see exactly the
batches an uninterrupted one would. Condition dropout is not done here: it is part of the
objective (:func:`cmdkit.diffusion.diffusion_loss`).
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["batch_indices", "dataset_batches", "captioned_batches", "motion_batches"]


def batch_indices(count: int, batch_size: int, seed: int, step: int) -> torch.Tensor:
    """(batch_size,) indices into a set of ``count`` items for batch ``step`` of a run seeded ``seed``."""
    from ..train import step_seed

    return torch.randint(count, (batch_size,), generator=torch.Generator().manual_seed(step_seed(seed, step)))


def dataset_batches(dataset, batch_size: int, seed: int = 0, key: str = "video", rank: int = 0,
                    world_size: int = 1) -> Callable[[int], torch.Tensor]:
    """``step → (batch_size / world_size, …)``: the ``key`` entries of items drawn from ``dataset``
    (clips of the toy world or of a video folder).

    Every process draws the same global batch indices and keeps its own slice, so N processes
    see exactly the batch one process would.
    """
    if batch_size % world_size:
        raise ValueError(f"batch_size {batch_size} must be divisible by the number of processes {world_size}")
    share = batch_size // world_size

    def batch(step: int) -> torch.Tensor:
        indices = batch_indices(len(dataset), batch_size, seed, step)[rank * share:(rank + 1) * share]
        return torch.stack([dataset[int(i)][key] for i in indices])

    return batch


def captioned_batches(images: torch.Tensor, captions: list[str], texts, batch_size: int,
                      seed: int = 0) -> Callable[[int], dict]:
    """``step → {"image": (B, C, H, W), "text": (B, T, D)}`` from a fixed set of images — or of
    clips (N, C, L, H, W), which come out as (B, C, L, H, W). ``texts`` maps captions to token
    features (a :class:`cmdkit.text.PromptCache`)."""
    if len(images) != len(captions):
        raise ValueError(f"got {len(images)} images but {len(captions)} captions")

    def batch(step: int) -> dict:
        index = batch_indices(len(images), batch_size, seed, step)
        return {"image": images[index], "text": texts([captions[i] for i in index.tolist()])}

    return batch


def motion_batches(encoded: dict, batch_size: int, texts=None, seed: int = 0) -> Callable[[int], dict]:
    """``step → {"motion", "content", "text" | "label"}`` from precomputed encodings (see
    :func:`cmdkit.data.encode_clips`). With ``texts`` (a :class:`cmdkit.text.PromptCache`) the
    condition is the caption's features; without, the class label."""
    count = len(encoded["motion_latent"])

    def batch(step: int) -> dict:
        index = batch_indices(count, batch_size, seed, step)
        out = {"motion": encoded["motion_latent"][index], "content": encoded["content_frame"][index]}
        if texts is not None:
            out["text"] = texts([encoded["caption"][i] for i in index.tolist()])
        else:
            out["label"] = encoded["label"][index]
        return out

    return batch
