"""The GPU device check, rehearsed on the CPU at the smoke size (``--quick``), so that the command
a borrowed GPU runs is known to work."""

import json

import pytest
import torch

from cmdkit.cli import main


def test_quick_device_check_writes_every_section(tmp_path, capsys, monkeypatch):
    # A two-minute budget: every measurement runs (about 50 s here), the notebook series (last) is
    # skipped and says why.
    # A compiler that fails costs only the compiled table: the check records why and goes on.
    def no_compiler(*args, **kwargs):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", no_compiler)
    assert main(["device-check", "--device", "cpu", "--quick", "--notebooks", "--budget", "120", "--compile",
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
    assert "no compiler here" in report["compile_failed"] and "Compiled sampling failed" in text
    for heading in ("matmul peak", "## Sampling one video", "## Training slices", "Direct / CMD", "Notebooks not run"):
        assert heading in text
    assert "results:" in capsys.readouterr().out


def test_a_spent_budget_skips_the_training_slices_and_says_so(tmp_path, monkeypatch):
    """A lending's end is hard: once the budget is spent the remaining sections are reported as
    not run instead of timed (on an H200 the compiled sampling alone took minutes)."""
    from cmdkit import device_check

    timed = []
    monkeypatch.setattr(device_check, "matmul_peak", lambda *a: 1.0)
    monkeypatch.setattr(device_check, "time_sampling", lambda *a: {
        "preset": "smoke", "shape": [8, 32, 32], "dtype": "torch.float32", "compile": False, "runs": {},
        "direct_over_cmd": 10.0, "image_decoder": {"seconds": 0.1, "peak_gb": None, "frames": 8, "latent_size": [32, 32]}})
    monkeypatch.setattr(device_check, "time_training_stage", lambda stage, *a, **k: timed.append(stage))
    path = device_check.run_device_check("cpu", quick=True, notebooks=False, out=str(tmp_path), budget_s=0,
                                         echo=lambda *a: None)
    report = json.loads(path.with_suffix(".json").read_text())
    assert timed == [] and report["training"] == []
    assert report["training_skipped"] == ["autoencoder", "content", "motion", "baseline"]
    assert "Training slices not run, the budget spent: autoencoder, content, motion, baseline" in path.read_text()


def test_cuda_asked_for_without_cuda_is_a_clear_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="torch sees no CUDA device"):
        main(["device-check", "--device", "cuda", "--out", str(tmp_path)])


def test_notebooks_are_recorded_one_by_one_and_a_failure_does_not_stop_the_series(tmp_path, monkeypatch):
    from cmdkit import runner
    from cmdkit.device_check import CheckSettings, _run_notebooks, markdown

    ran = []

    def fake_run(notebook, run_dir, params):
        ran.append((notebook.stem, params["preset"]))
        failed = notebook.stem.startswith("01")
        return runner.RunResult(notebook.stem, run_dir / notebook.name, params, "failed" if failed else "ok",
                                1.5, {}, "ValueError: boom (cell 3, execution count 2)" if failed else None)

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    settings = CheckSettings.for_device("cpu", quick=True)
    series = _run_notebooks(tmp_path, settings, echo=lambda *a: None)
    first = next(series)  # a generator: the check saves its report after each notebook
    assert first == {"notebook": "00_tour", "ok": True, "seconds": 1.5} and len(ran) == 1
    rows = [first, *series]
    assert [r["notebook"][:2] for r in rows] == [f"{i:02d}" for i in range(8)]
    assert not rows[1]["ok"] and all(r["ok"] for r in rows[2:])  # 02… ran after 01 failed
    assert {preset for _, preset in ran} == {"smoke"}
    late = list(_run_notebooks(tmp_path, settings, echo=lambda *a: None, deadline=0.0))  # a budget already spent
    assert len(late) == 8 and len(ran) == 8 and all(r["error"] == "not run: the budget is spent" for r in late)
    report = {"settings": {"device": "cpu", "quick": True, "dtype": "torch.float32", "matmul_size": 512,
                           "training_preset": "smoke", "train_steps": 3},
              "date": "2026-12-02", "torch": torch.__version__, "device_name": "cpu",
              "notebooks": rows, "text_encoder": "/tmp/text-encoder"}
    text = markdown(report)
    assert "Text encoder: /tmp/text-encoder." in text and "| 01_autoencoder | no: ValueError: boom" in text


@pytest.mark.skipif(not torch.cuda.is_available(), reason="counts CUDA host synchronisations")
def test_host_syncs_are_counted_on_cuda():
    from cmdkit.device_check import count_host_syncs

    x = torch.ones(4, device="cuda")
    assert count_host_syncs(lambda: x.sum().item()) >= 1
    assert count_host_syncs(lambda: x * 2) == 0


def test_the_notebook_section_runs_with_a_string_out_folder(tmp_path, monkeypatch):
    # The CLI passes --out as a string; the measurements are faked here (the test above runs them)
    # so that only the check's order of sections and its notebook folder are exercised.
    from cmdkit import device_check, runner

    monkeypatch.setattr(device_check, "matmul_peak", lambda *a, **k: 1.0)
    monkeypatch.setattr(device_check, "time_sampling", lambda *a, **k: {
        "preset": "smoke", "shape": [8, 32, 32], "dtype": "torch.float32", "compile": False, "runs": {},
        "direct_over_cmd": 8.0, "image_decoder": {"seconds": 0.1, "peak_gb": None, "frames": 8, "latent_size": [4, 4]}})
    monkeypatch.setattr(device_check, "time_training_stage", lambda stage, *a, **k: {
        "stage": stage, "batch": 8, "micro_batch": None, "checkpointing": False, "parameters": 1e6,
        "steps_per_s": 1.0, "peak_gb": None, "full_steps": 10, "projected_minutes": 0.2})
    folders = set()

    def fake_run(notebook, run_dir, params):
        folders.add(run_dir)
        return runner.RunResult(notebook.stem, run_dir / notebook.name, params, "ok", 0.5)

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    path = device_check.run_device_check("cpu", quick=True, notebooks=True, out=str(tmp_path), budget_s=3600,
                                         echo=lambda *a: None)
    report = json.loads(path.with_suffix(".json").read_text())
    assert [n["notebook"][:2] for n in report["notebooks"]] == [f"{i:02d}" for i in range(8)]
    assert folders == {path.with_name(f"{path.stem}-notebooks")}
