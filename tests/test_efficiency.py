"""Cost accounting: FLOP counts against closed forms, paper-scale models on the meta device,
and the benchmark command at a small size."""

import json

import pytest
import torch
from torch import nn

from cmdkit.efficiency import build_models, cmd_costs, count_flops, direct_costs, token_counts


def test_linear_and_conv_flops_match_the_closed_form():
    b, n, d_in, d_out = 4, 7, 32, 48
    linear = nn.Linear(d_in, d_out)
    counted = count_flops(lambda: linear(torch.randn(b, n, d_in)))
    assert counted.total == 2 * b * n * d_in * d_out  # one multiply-add = 2 FLOPs
    assert counted.macs == b * n * d_in * d_out
    conv = nn.Conv2d(3, 16, kernel_size=3, padding=1)
    counted = count_flops(lambda: conv(torch.randn(2, 3, 10, 12)))
    assert counted.total == 2 * (2 * 16 * 10 * 12) * (3 * 3 * 3)


def test_attention_core_is_reported_separately():
    q = torch.randn(2, 4, 10, 8, device="meta")  # on meta SDPA runs unfused, as matmuls the counter sees
    counted = count_flops(lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q))
    assert counted.attention == counted.total == 2 * (2 * 2 * 4 * 10 * 10 * 8)  # QKᵀ and (·)V
    assert counted.macs_without_attention == 0


def test_paper_scale_models_build_on_meta_and_cmd_is_cheaper():
    models = build_models("paper", device="meta")
    params = {name: sum(p.numel() for p in getattr(models, name).parameters())
              for name in ("content_unet", "autoencoder", "motion", "baseline")}
    assert 860e6 < params["content_unet"] < 870e6  # SD-2.1-base's UNet: 865.9 M
    assert 1.40e9 < params["baseline"] < 1.42e9  # ModelScope's video UNet: 1.41 B
    assert 670e6 < params["motion"] < 690e6  # DiT-XL/2
    assert next(models.baseline.parameters()).is_meta
    cmd = cmd_costs(models, 16, 64, 128, steps=50, guidance=False)
    direct = direct_costs(models, 16, 64, 128, steps=50, guidance=False)
    assert [c.calls for c in cmd] == [50, 50, 1] and direct[0].calls == 50
    cmd_total = sum(c.flops.total for c in cmd)
    assert direct[0].flops.total > 15 * cmd_total
    guided = cmd_costs(models, 16, 64, 128, steps=50, guidance=True)
    assert guided[0].flops.total == 2 * cmd[0].flops.total


def test_token_counts():
    paper = token_counts(16, 64, 128, patch_size=2)
    assert (paper.direct, paper.cmd) == (32768, 2048 + 16 * 96)
    with pytest.raises(ValueError, match="multiples of patch_size"):
        token_counts(16, 63, 128, patch_size=2)


def test_cpu_bench_runs_at_small_size(tmp_path):
    from cmdkit.bench import run_bench

    path = run_bench("cpu", steps_list=[2], time_preset="smoke", out=tmp_path, repeats=1, echo=lambda *_: None)
    text = path.read_text()
    assert "| 2 | no | CMD | total |" in text and "Time per video" in text
    report = json.loads(path.with_suffix(".json").read_text())
    assert report["torch"] == torch.__version__
    timing = report["timing"][0]
    assert timing["CMD"]["seconds"] > 0 and timing["direct"]["seconds"] > 0


def test_bench_refuses_a_missing_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from cmdkit.bench import run_bench

    with pytest.raises(RuntimeError, match="no CUDA device"):
        run_bench("cuda", steps_list=[2], out=tmp_path)
