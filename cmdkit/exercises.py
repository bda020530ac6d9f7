"""Exercises that check themselves: the learner writes a small piece of CMD, the kit runs it on
random inputs beside its own implementation and says in words what differs.

Each notebook 01–06 has a "your turn" cell::

    def content_frame(video, logits):
        ...  # your code here

    if solutions:  # a papermill parameter: CI fills in the reference answers
        content_frame = exercises.solution("content_frame")
    exercises.check("content_frame", content_frame)

:func:`check` never raises for a wrong or unfinished answer: an empty body gets a hint, an
exception is reported with the shapes it was given, and a wrong result is compared with the
usual mistakes (wrong axis, forgotten softmax, swapped guidance branches…) to name the one
made. It returns a :class:`CheckResult`, true when the answer matches on every trial.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

__all__ = ["Exercise", "CheckResult", "EXERCISES", "check", "solution"]


@dataclass(frozen=True)
class Exercise:
    name: str
    task: str  # what to write, in one sentence
    hint: str  # shown when the body is still empty
    inputs: Callable[[torch.Generator], tuple]  # one random trial's arguments
    reference: Callable[..., Any]  # the library's answer
    mistakes: tuple[tuple[str, Callable[..., Any]], ...]  # (what went wrong, an answer that makes that mistake)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def _repr_markdown_(self) -> str:  # what a notebook shows
        return ("✅ " if self.ok else "✏️ ") + self.message

    def __str__(self) -> str:
        return ("✓ " if self.ok else "✗ ") + self.message


# --- 01 · the content frame ----------------------------------------------------------------------


def _content_frame_inputs(g):
    b, c, l, h, w = 2, 3, 5, 4, 6  # every axis a different length, so a wrong axis shows
    return torch.randn(b, c, l, h, w, generator=g), torch.randn(b, c, l, h, w, generator=g)


def _content_frame_reference(video, logits):
    from .models.autoencoder import content_frame

    return content_frame(video, logits)[0]


# --- 02 · the v target --------------------------------------------------------------------------


def _v_inputs(g):
    sample, noise = torch.randn(4, 3, 5, 5, generator=g), torch.randn(4, 3, 5, 5, generator=g)
    return sample, noise, torch.rand(4, generator=g) * 0.9 + 0.05  # ᾱ per sample, in (0, 1)


def _v_reference(sample, noise, alpha_bar):
    from types import SimpleNamespace

    from .diffusion import diffusion_target

    # The library reads ᾱ from a scheduler's table at each sample's timestep; here the table is ᾱ itself.
    table = SimpleNamespace(config=SimpleNamespace(prediction_type="v_prediction"), alphas_cumprod=alpha_bar)
    return diffusion_target(table, sample, noise, torch.arange(len(alpha_bar)))


def _per_sample(alpha_bar, like):
    return alpha_bar.view(-1, *([1] * (like.ndim - 1)))


# --- 03 · the clean estimate from a v prediction ----------------------------------------------------


def _x0_inputs(g):
    t = int(torch.randint(50, 950, (1,), generator=g))
    return torch.randn(2, 3, 5, 5, generator=g), torch.randn(2, 3, 5, 5, generator=g), t


def _x0_reference(noisy, v, t):
    from .diffusion import build_noise_scheduler

    scheduler = build_noise_scheduler("v_prediction")
    scheduler.set_timesteps(1000)
    return scheduler.step(v, t, noisy).pred_original_sample  # diffusers' DDIM computes x̂₀ on the way


def _alpha_bar_at(t):
    from .diffusion import build_noise_scheduler

    return build_noise_scheduler().alphas_cumprod[t]


# --- 04 · scaling the motion latent ---------------------------------------------------------------


def _scale_inputs(g):
    z = torch.randn(2, 4, 6, 7, generator=g)  # (B, D, L, H'+W'): L ≠ H'+W'
    return z, 1.5, 4.0


def _scale_reference(z, still_scale, moving_scale):
    from .models.motion_dit import MotionDiT

    model = MotionDiT(motion_channels=z.shape[1], hidden_size=8, depth=1, num_heads=1, latent_scale=still_scale,
                      motion_scale=moving_scale)
    return model.scale_latents(z)


# --- 05 · classifier-free guidance -------------------------------------------------------------------


def _guide_inputs(g):
    return torch.randn(3, 4, 5, generator=g), torch.randn(3, 4, 5, generator=g), 3.5


def _guide_reference(conditional, unconditional, scale):
    from .diffusion import combine_guidance

    return combine_guidance(torch.cat([conditional, unconditional]), scale)


# --- 06 · the Fréchet distance --------------------------------------------------------------------


def _frechet_inputs(g):
    a = torch.randn(64, 6, generator=g, dtype=torch.float64)
    b = torch.randn(48, 6, generator=g, dtype=torch.float64) @ torch.randn(6, 6, generator=g, dtype=torch.float64) * 0.7 + 0.5
    return a, b


def _frechet_reference(a, b):
    from .metrics.frechet import frechet_distance_from_features

    return frechet_distance_from_features(a, b)


def _frechet_without_root(a, b):
    from .metrics.frechet import gaussian_statistics

    (m1, c1), (m2, c2) = gaussian_statistics(a), gaussian_statistics(b)
    return float((m1 - m2).square().sum() + torch.trace(c1 + c2 - 2 * c1 @ c2))


def _frechet_means_only(a, b):
    return float((a.mean(0) - b.mean(0)).square().sum())


def _frechet_elementwise_root(a, b):
    from .metrics.frechet import gaussian_statistics

    (m1, c1), (m2, c2) = gaussian_statistics(a), gaussian_statistics(b)
    return float((m1 - m2).square().sum() + torch.trace(c1 + c2 - 2 * (c1 @ c2).abs().sqrt()))


def _frechet_biased(a, b):
    def stats(x):
        centred = x - x.mean(0)
        return x.mean(0), centred.T @ centred / x.shape[0]

    from .metrics.frechet import frechet_distance

    return frechet_distance(*stats(a), *stats(b))


EXERCISES: dict[str, Exercise] = {e.name: e for e in (
    Exercise(
        "content_frame",
        "x̄ = Σ_l softmax_l(logits) ⊙ x_l: video and logits (B, C, L, H, W) → the content frame (B, C, H, W).",
        "turn the logits into weights with a softmax over time (the L axis, dim=2), multiply by the video "
        "and sum over time.",
        _content_frame_inputs, _content_frame_reference,
        (("the softmax runs over the wrong axis: the weights must sum to 1 over time, the L axis (dim=2), "
          "not over the channels (dim=1).", lambda v, x: (torch.softmax(x, 1) * v).sum(2)),
         ("the softmax runs over the wrong axis: over time (dim=2), not over the rows (dim=3).",
          lambda v, x: (torch.softmax(x, 3) * v).sum(2)),
         ("the softmax is missing: raw logits are not weights (they can be negative and need not sum to 1).",
          lambda v, x: (x * v).sum(2)),
         ("that is the plain mean over time: it ignores the logits (the paper's ablation, not CMD's content frame).",
          lambda v, x: v.mean(2)),
         ("the weights are right but the sum runs over the wrong axis: sum over time (dim=2).",
          lambda v, x: (torch.softmax(x, 2) * v).sum(1)),
         ("the weights are right but averaged, not summed: softmax weights already sum to 1, so divide by nothing.",
          lambda v, x: (torch.softmax(x, 2) * v).mean(2)))),
    Exercise(
        "v_target",
        "v = √ᾱ·ε − √(1−ᾱ)·x₀: clean samples x₀ and noise ε (B, C, H, W), ᾱ (B,) → the v target (B, C, H, W).",
        "reshape ᾱ to (B, 1, 1, 1) so it broadcasts, then combine noise and sample with the two square roots.",
        _v_inputs, _v_reference,
        (("the signs are swapped: v = √ᾱ·ε − √(1−ᾱ)·x₀, noise first.",
          lambda x, e, a: (1 - _per_sample(a, x)).sqrt() * x - _per_sample(a, x).sqrt() * e),
         ("that is ε, the target of ε-prediction, not v.", lambda x, e, a: e),
         ("√ᾱ and √(1−ᾱ) are swapped: the noise is weighted by √ᾱ.",
          lambda x, e, a: (1 - _per_sample(a, x)).sqrt() * e - _per_sample(a, x).sqrt() * x),
         ("the square roots are missing: the weights are √ᾱ and √(1−ᾱ), not ᾱ and 1−ᾱ.",
          lambda x, e, a: _per_sample(a, x) * e - (1 - _per_sample(a, x)) * x),
         ("that is the noisy sample x_t = √ᾱ·x₀ + √(1−ᾱ)·ε, not the target.",
          lambda x, e, a: _per_sample(a, x).sqrt() * x + (1 - _per_sample(a, x)).sqrt() * e))),
    Exercise(
        "predict_x0",
        "x̂₀ = √ᾱ_t·x_t − √(1−ᾱ_t)·v: a noisy sample x_t, the model's v (B, C, H, W) and the timestep t → x̂₀.",
        "read ᾱ_t from the schedule (`build_noise_scheduler().alphas_cumprod[t]`) and undo the mixing.",
        _x0_inputs, _x0_reference,
        (("v was treated as ε: (x_t − √(1−ᾱ)·v)/√ᾱ is x̂₀ for ε-prediction.",
          lambda x, v, t: (x - (1 - _alpha_bar_at(t)).sqrt() * v) / _alpha_bar_at(t).sqrt()),
         ("√ᾱ and √(1−ᾱ) are swapped.",
          lambda x, v, t: (1 - _alpha_bar_at(t)).sqrt() * x - _alpha_bar_at(t).sqrt() * v),
         ("the sign of v is wrong: x̂₀ = √ᾱ·x_t − √(1−ᾱ)·v.",
          lambda x, v, t: _alpha_bar_at(t).sqrt() * x + (1 - _alpha_bar_at(t)).sqrt() * v),
         ("the square roots are missing: the weights are √ᾱ and √(1−ᾱ).",
          lambda x, v, t: _alpha_bar_at(t) * x - (1 - _alpha_bar_at(t)) * v))),
    Exercise(
        "scale_motion",
        "z (B, D, L, H'+W') → still·s_still + (z − still)·s_moving, where still is z's mean over time (kept as one frame).",
        "the still part is `z.mean(dim=2, keepdim=True)`; scale it and the rest separately and add them.",
        _scale_inputs, _scale_reference,
        (("the still part is the mean over time (dim=2, L), not over the positions H'+W' (dim=3).",
          lambda z, a, b: a * z.mean(3, keepdim=True) + b * (z - z.mean(3, keepdim=True))),
         ("the two factors are swapped: the still part takes the first (latent_scale).",
          lambda z, a, b: b * z.mean(2, keepdim=True) + a * (z - z.mean(2, keepdim=True))),
         ("one factor for both parts: the point is to scale what moves apart from what stays.",
          lambda z, a, b: a * z),
         ("the still part is missing: add it back, scaled by its own factor.",
          lambda z, a, b: b * (z - z.mean(2, keepdim=True))))),
    Exercise(
        "guide",
        "classifier-free guidance: conditional c and unconditional u predictions, scale s → u + s·(c − u).",
        "start from the unconditional prediction and step s times along (conditional − unconditional).",
        _guide_inputs, _guide_reference,
        (("the branches are swapped: start from the unconditional prediction, u + s·(c − u).",
          lambda c, u, s: c + s * (u - c)),
         ("the base is missing: s·(c − u) is only the direction; add it to u.", lambda c, u, s: s * (c - u)),
         ("only the conditional prediction is scaled: s·c is not guidance.", lambda c, u, s: s * c),
         ("the step starts from c: c + s·(c − u) overshoots by one step; start from u.",
          lambda c, u, s: c + s * (c - u)),
         ("the scale is ignored: that is the conditional prediction (s = 1).", lambda c, u, s: c))),
    Exercise(
        "frechet_distance",
        "d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) between Gaussians fitted to features (N₁, D) and (N₂, D).",
        "fit means and (unbiased) covariances, then take the matrix square root of Σ₁Σ₂ — e.g. through "
        "the eigenvalues of √Σ₁·Σ₂·√Σ₁ — and return a Python float.",
        _frechet_inputs, _frechet_reference,
        (("only the means are compared: the covariance term tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) is missing.", _frechet_means_only),
         ("the matrix square root is missing: the cross term is 2·tr((Σ₁Σ₂)^½), not 2·tr(Σ₁Σ₂).", _frechet_without_root),
         ("the square root is taken entry by entry: (Σ₁Σ₂)^½ is a matrix square root (e.g. scipy.linalg.sqrtm).",
          _frechet_elementwise_root),
         ("the covariances divide by N, not N − 1 (the unbiased estimate the library and the FVD code use).",
          _frechet_biased))),
)}


def solution(name: str) -> Callable[..., Any]:
    """The library's answer to exercise ``name`` (what ``solutions=True`` fills in)."""
    return _exercise(name).reference


def _exercise(name: str) -> Exercise:
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; there are {', '.join(EXERCISES)}")
    return EXERCISES[name]


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_describe(v) for v in value) + ")"
    return f"{type(value).__name__} {value!r}" if isinstance(value, (int, float)) else type(value).__name__


def _same(a, b) -> bool:
    if isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and a.shape == b.shape
                and torch.allclose(a.to(b.dtype), b, rtol=1e-4, atol=1e-5))
    if isinstance(b, float):
        try:
            return math.isclose(float(a), b, rel_tol=1e-4, abs_tol=1e-6)
        except (TypeError, ValueError, RuntimeError):
            return False
    return a == b


def check(name: str, answer: Callable[..., Any] | None, trials: int = 3, seed: int = 0) -> CheckResult:
    """Run ``answer`` beside the library on ``trials`` random inputs and say what differs.

    Never raises for an unfinished or wrong answer: the message says what to do.
    """
    exercise = _exercise(name)
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        args = exercise.inputs(generator)
        expected = exercise.reference(*args)
        if answer is None:
            return CheckResult(False, f"**{name}**: not written yet. Task: {exercise.task} Hint: {exercise.hint}")
        try:
            got = answer(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
        except NotImplementedError:
            got = None
        except Exception as err:  # the learner's bug: report it, do not stop the notebook
            return CheckResult(False, f"**{name}**: your function raised `{type(err).__name__}: {err}` when given "
                                      f"{_describe(args)}. Task: {exercise.task}")
        if got is None:
            return CheckResult(False, f"**{name}**: your function returns nothing yet (is the body still `...`, "
                                      f"or is a `return` missing?). Task: {exercise.task} Hint: {exercise.hint}")
        if _same(got, expected):
            continue
        for explanation, wrong in exercise.mistakes:
            if _same(got, wrong(*args)):
                return CheckResult(False, f"**{name}**: not yet — {explanation}")
        if isinstance(expected, torch.Tensor) and (not isinstance(got, torch.Tensor) or got.shape != expected.shape):
            return CheckResult(False, f"**{name}**: expected {_describe(expected)}, got {_describe(got)}. "
                                      f"Task: {exercise.task}")
        if isinstance(expected, torch.Tensor):
            gap = (got.to(expected.dtype) - expected).abs().max().item()
            return CheckResult(False, f"**{name}**: right shape, but the values differ (largest gap {gap:.3g} on "
                                      f"random trial {trial + 1}). Task: {exercise.task}")
        return CheckResult(False, f"**{name}**: expected {expected:.6g}, got {_describe(got)}. Task: {exercise.task}")
    return CheckResult(True, f"**{name}**: matches cmdkit's implementation on {trials} random inputs.")
