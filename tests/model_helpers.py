"""Helpers shared by model tests."""

import torch


def randomise(model, scale: float = 0.1, seed: int = 0):
    """Add seeded noise to every parameter — giving the zero-initialised layers (adaLN, output
    heads) values — so that every input the model takes changes its output. Returns it in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=generator))
    return model.eval()
