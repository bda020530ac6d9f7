"""Gradient checkpointing in the kit's transformers trades compute for memory without changing
what is computed; the training-memory estimate extrapolates from measured small batches."""

import pytest
import torch

from cmdkit.device_check import estimate_training_memory
from cmdkit.models import CMDAutoencoder, MotionDiT


def _gradients(model, loss_fn):
    model.zero_grad()
    loss = loss_fn(model)
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("which", ["autoencoder", "motion"])
def test_checkpointing_gives_the_same_loss_and_gradients(which):
    torch.manual_seed(0)
    if which == "autoencoder":
        model = CMDAutoencoder(width=32, depth=2, heads=2, patch_size=4)
        video = torch.rand(2, 3, 4, 16, 16) * 2 - 1
        loss_fn = lambda m: (m(video).sample - video).pow(2).mean()  # noqa: E731
    else:
        model = MotionDiT(hidden_size=32, depth=2, num_heads=2, patch_size=2, content_patch_size=8, text_dim=16)
        for block in model.blocks:  # adaLN-Zero starts every block as the identity: make them do something
            torch.nn.init.normal_(block.modulation[-1].weight, std=0.1)
        torch.nn.init.normal_(model.final_linear.weight, std=0.1)
        z, frame, text = torch.randn(2, 8, 4, 8), torch.randn(2, 3, 16, 16), torch.randn(2, 5, 16)
        loss_fn = lambda m: m(z, torch.tensor([10, 500]), frame, encoder_hidden_states=text).sample.pow(2).mean()  # noqa: E731
    loss, grads = _gradients(model, loss_fn)
    model.enable_gradient_checkpointing()
    assert all(getattr(m, "gradient_checkpointing", True) for m in model.modules() if hasattr(m, "gradient_checkpointing"))
    loss_ckpt, grads_ckpt = _gradients(model, loss_fn)
    torch.testing.assert_close(loss_ckpt, loss)
    assert grads.keys() == grads_ckpt.keys() and len(grads) > 4
    for name in grads:
        torch.testing.assert_close(grads_ckpt[name], grads[name], msg=name)


def test_memory_estimate_grows_with_the_batch_and_extrapolates_to_the_presets():
    estimate = estimate_training_memory("motion", "smoke", batches=(8, 128))
    measured = estimate["measured_gb"]
    assert measured["128"] > measured["8"] > 0.1  # the interpreter and torch alone take more than 100 MB
    assert estimate["batch"] == 32 and measured["8"] < estimate["projected_gb"] < measured["128"]
