"""The GPU device check, rehearsed on the CPU at the smoke size (``--quick``), so that the command
a borrowed GPU runs is known to work."""

import json

import pytest

from cmdkit.cli import main


def test_quick_device_check_writes_every_section(tmp_path, capsys):
    # A one-second budget: every measurement still runs, the notebook series (last) is skipped and says why.
    assert main(["device-check", "--device", "cpu", "--quick", "--notebooks", "--budget", "1",
                 "--out", str(tmp_path)]) == 0
    [report_file] = tmp_path.glob("device-check-*.json")
    report = json.loads(report_file.read_text())
    assert report["settings"]["quick"] and report["matmul_tflops"] > 0
    [sampling] = report["sampling"]
    assert sampling["shape"] == [8, 32, 32]
    runs = sampling["runs"]
    assert set(runs) == {"CMD, DDIM 4 steps", "CMD, DPM-Solver++ 2 steps", "direct UNet3D, DDIM 4 steps"}
    assert all(r["seconds"] > 0 and r["tflop"] > 0 for r in runs.values())
    # Fewer steps, fewer FLOPs; the direct model denoises every frame, so it costs more per step.
    assert runs["CMD, DPM-Solver++ 2 steps"]["tflop"] == pytest.approx(runs["CMD, DDIM 4 steps"]["tflop"] / 2, rel=0.2)
    assert runs["direct UNet3D, DDIM 4 steps"]["tflop"] > 2 * runs["CMD, DDIM 4 steps"]["tflop"]
    assert sampling["image_decoder"]["seconds"] > 0
    stages = {t["stage"]: t for t in report["training"]}
    assert set(stages) == {"autoencoder", "content", "motion", "baseline"}
    assert all(t["steps_per_s"] > 0 and t["projected_minutes"] > 0 for t in stages.values())
    assert stages["motion"]["batch"] == 32  # the motion stage's own batch, not the clips' batch
    text = report_file.with_suffix(".md").read_text()
    assert "notebooks" not in report and "budget left" in report["notebooks_skipped"]
    for heading in ("matmul peak", "## Sampling one video", "## Training slices", "Direct / CMD", "Notebooks not run"):
        assert heading in text
    assert "results:" in capsys.readouterr().out


def test_cuda_asked_for_without_cuda_is_a_clear_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="torch sees no CUDA device"):
        main(["device-check", "--device", "cuda", "--out", str(tmp_path)])
