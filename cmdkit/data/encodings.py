"""The training set in the generators' terms: every clip encoded once by the autoencoder.

Notebooks 03, 04 and 06 train on content frames x̄ and motion latents z rather than on clips;
encoding once (and caching the result in safetensors, keyed by the autoencoder's weights, the
dataset and the frame space) makes each of their training steps cost only the generator.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..models.autoencoder import CMDAutoencoder

__all__ = ["encode_clips"]


def _fingerprint(model: torch.nn.Module) -> str:
    """A short checksum of a model's weights: a cache made by other weights is not reused."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


@torch.no_grad()
def encode_clips(autoencoder: CMDAutoencoder, dataset, count: int, batch_size: int = 64,
                 progress: bool = True, cache: str | Path | None = None, frame_space=None) -> dict:
    """Encode the first ``count`` clips of ``dataset`` once, for the generative stages to train on.
    In latent mode pass the run's ``frame_space`` (:class:`cmdkit.space.FrameSpace`): each
    clip goes through its image VAE first.

    Returns ``{"content_frame": (N, C, H, W), "motion_latent": (N, D, L, H'+W'),
    "caption": [str] * N, "label": (N,)}`` on the CPU.

    With ``cache`` (a ``.safetensors`` path) the result is written there and reused by later
    calls — but only if it was made from the same autoencoder weights, the same number of clips
    and the same captions' clip geometry; otherwise it is recomputed.
    """
    from tqdm.auto import tqdm

    if count > len(dataset):
        raise ValueError(f"asked for {count} clips but the dataset has {len(dataset)}")
    key = {"autoencoder": _fingerprint(autoencoder), "count": str(count), "dataset": repr(dataset),
           "space": repr(frame_space)}
    if cache is not None and Path(cache).is_file():
        found = _read_encodings(Path(cache), key)
        if found is not None:
            return found
    autoencoder.eval()
    frames, motions, captions, labels = [], [], [], []
    for start in tqdm(range(0, count, batch_size), desc="encoding clips", disable=not progress):
        items = [dataset[i] for i in range(start, min(start + batch_size, count))]
        video = torch.stack([item["video"] for item in items])
        if frame_space is not None:
            video = frame_space.encode(video)
        encoding = autoencoder.encode(video.to(autoencoder.device, autoencoder.dtype))
        frames.append(encoding.content_frame.float().cpu())
        motions.append(encoding.motion_latent.float().cpu())
        captions += [item["caption"] for item in items]
        labels += [item["label"] for item in items]
    encoded = {"content_frame": torch.cat(frames), "motion_latent": torch.cat(motions), "caption": captions,
               "label": torch.tensor(labels)}
    if cache is not None:
        _write_encodings(Path(cache), encoded, key)
    return encoded


def _write_encodings(path: Path, encoded: dict, key: dict) -> None:
    import json
    import os

    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tensors = {k: encoded[k].contiguous() for k in ("content_frame", "motion_latent", "label")}
    save_file(tensors, tmp, metadata={**key, "captions": json.dumps(encoded["caption"])})
    os.replace(tmp, path)  # atomic: a killed run leaves no half-written cache


def _read_encodings(path: Path, key: dict) -> dict | None:
    import json

    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        if any(meta.get(k) != v for k, v in key.items()):
            return None
        encoded = {k: f.get_tensor(k) for k in ("content_frame", "motion_latent", "label")}
    encoded["caption"] = json.loads(meta["captions"])
    return encoded
