"""The self-checking exercises: the reference passes, answers written as a learner would pass,
every catalogued mistake fails with its own explanation, and an unfinished cell gets a hint."""

import pytest
import torch

from cmdkit.diffusion import build_noise_scheduler
from cmdkit.exercises import EXERCISES, check, solution


# Correct answers written from the formulas, independently of the library's code.
def content_frame(video, logits):
    return (logits.softmax(dim=2) * video).sum(dim=2)


def v_target(sample, noise, alpha_bar):
    a = alpha_bar.view(-1, 1, 1, 1)
    return a.sqrt() * noise - (1 - a).sqrt() * sample


def predict_x0(noisy, v, t):
    a = build_noise_scheduler().alphas_cumprod[t]
    return a.sqrt() * noisy - (1 - a).sqrt() * v


def scale_motion(z, still_scale, moving_scale):
    still = z.mean(dim=2, keepdim=True)
    return still_scale * still + moving_scale * (z - still)


def guide(conditional, unconditional, scale):
    return unconditional + scale * (conditional - unconditional)


def frechet_distance(a, b):
    import numpy as np

    a, b = a.numpy(), b.numpy()
    m1, m2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eigenvalues = np.linalg.eigvals(c1 @ c2)  # (Σ₁Σ₂)^½ has the square roots of these as eigenvalues
    return float(((m1 - m2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * np.sqrt(eigenvalues.real.clip(0)).sum())


LEARNER = {f.__name__: f for f in (content_frame, v_target, predict_x0, scale_motion, guide, frechet_distance)}


def test_every_exercise_has_a_learner_answer():
    assert set(LEARNER) == set(EXERCISES)


@pytest.mark.parametrize("name", list(EXERCISES))
def test_reference_and_a_learners_answer_pass(name):
    assert check(name, solution(name))
    result = check(name, LEARNER[name])
    assert result.ok, result.message
    assert "matches" in result.message


@pytest.mark.parametrize("name,index", [(n, i) for n, e in EXERCISES.items() for i in range(len(e.mistakes))])
def test_each_mistake_fails_with_its_explanation(name, index):
    explanation, wrong = EXERCISES[name].mistakes[index]
    result = check(name, wrong)
    assert not result and explanation in result.message


@pytest.mark.parametrize("name", list(EXERCISES))
def test_an_unfinished_cell_gets_a_hint_not_a_traceback(name):
    def empty(*args):
        ...  # the body a learner starts from

    for answer in (None, empty):
        result = check(name, answer)
        assert not result and "Hint:" in result.message
    broken = check(name, lambda *args: args[0].reshape(-1, 7, 7))  # a shape error inside the learner's code
    assert not broken and "your function raised" in broken.message


def test_an_unlisted_mistake_still_gets_a_useful_message():
    off_by_a_bit = check("guide", lambda c, u, s: u + s * (c - u) + 0.01)
    assert not off_by_a_bit and "largest gap" in off_by_a_bit.message
    wrong_shape = check("content_frame", lambda v, x: v)
    assert not wrong_shape and "expected a tensor of shape (2, 3, 4, 6)" in wrong_shape.message


def test_unknown_exercise():
    with pytest.raises(KeyError, match="no exercise 'nope'"):
        check("nope", None)


def test_check_leaves_the_inputs_alone():
    def in_place(video, logits):
        video.mul_(0)  # a learner's in-place edit must not change the reference's inputs
        return content_frame(video, logits)

    assert not check("content_frame", in_place)
    assert check("content_frame", content_frame)
