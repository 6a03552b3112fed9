# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the disparity metrics on hand-made arrays and property-based inputs."""
from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from stereo_any_video_ros.metrics import abs_error, bad_pixel_rate, density, epe, tepe

NAN = float('nan')


def test_epe_known_value() -> None:
    gt = np.array([[1.0, 2.0], [3.0, 4.0]])
    pred = np.array([[1.5, 2.0], [1.0, 5.0]])
    assert epe(pred, gt) == pytest.approx((0.5 + 0.0 + 2.0 + 1.0) / 4)


def test_epe_skips_nan_pred_and_invalid_gt() -> None:
    gt = np.array([[1.0, NAN], [3.0, 4.0]], dtype=np.float32)
    pred = np.array([[2.0, 100.0], [NAN, 6.0]], dtype=np.float32)
    # Only (0,0) and (1,1) count.
    assert epe(pred, gt) == pytest.approx(1.5)
    valid = np.array([[True, True], [True, False]])
    assert epe(pred, gt, valid) == pytest.approx(1.0)


def test_valid_mask_cannot_reintroduce_nonfinite_gt() -> None:
    gt = np.array([1.0, np.inf, NAN])
    pred = np.array([2.0, 5.0, 5.0])
    assert epe(pred, gt, np.ones(3, bool)) == pytest.approx(1.0)


def test_empty_selection_is_nan() -> None:
    gt = np.full((2, 2), NAN)
    pred = np.ones((2, 2))
    assert math.isnan(epe(pred, gt))
    assert math.isnan(bad_pixel_rate(pred, gt))
    assert math.isnan(density(pred, np.zeros((2, 2), bool)))


def test_bad_pixel_rate_known_value() -> None:
    gt = np.zeros(5)
    pred = np.array([0.0, 0.5, 1.0, 1.5, NAN])
    # Strictly greater than the threshold is bad; NaN is excluded, not bad.
    assert bad_pixel_rate(pred, gt) == pytest.approx(1 / 4)
    assert bad_pixel_rate(pred, gt, threshold=0.4) == pytest.approx(3 / 4)
    assert bad_pixel_rate(pred, gt, threshold=3.0) == 0.0
    assert bad_pixel_rate(pred, gt, threshold=0.0) == pytest.approx(3 / 4)
    with pytest.raises(ValueError):
        bad_pixel_rate(pred, gt, threshold=-1.0)


def test_density_counts_nan_and_nonpositive_as_missing() -> None:
    pred = np.array([[1.0, NAN], [0.0, -1.0]])
    assert density(pred) == pytest.approx(0.25)
    assert density(pred, np.array([[True, False], [False, False]])) == 1.0
    assert density(np.array([[2.0, np.inf]])) == pytest.approx(0.5)


def test_abs_error_returns_evaluated_pixels() -> None:
    err = abs_error(np.array([1.0, NAN, 4.0]), np.array([2.0, 2.0, 2.0]))
    np.testing.assert_array_equal(err, [1.0, 2.0])


def test_tepe_known_value() -> None:
    gt = np.zeros((3, 1, 2))
    pred = np.array([[[0.0, 0.0]], [[1.0, 0.0]], [[1.0, 0.5]]])
    # t=1: |1-0|, |0-0|; t=2: |0|, |0.5|  -> mean over four pixel pairs
    assert tepe(pred, gt) == pytest.approx((1.0 + 0.0 + 0.0 + 0.5) / 4)


def test_tepe_uses_pixels_valid_in_both_frames() -> None:
    gt = np.zeros((2, 1, 3))
    pred = np.array([[[0.0, NAN, 0.0]], [[2.0, 5.0, 1.0]]])
    valid = np.array([[[True, True, True]], [[True, True, False]]])
    # Pixel 1 lacks an estimate at t=0, pixel 2 lacks valid gt at t=1.
    assert tepe(pred, gt, valid) == pytest.approx(2.0)


def test_tepe_rejects_short_sequences() -> None:
    with pytest.raises(ValueError):
        tepe(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)))


@pytest.mark.parametrize('fn', [epe, bad_pixel_rate])
def test_shape_mismatch_raises(fn) -> None:
    with pytest.raises(ValueError, match='shape'):
        fn(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match='shape'):
        fn(np.zeros((2, 3)), np.zeros((2, 3)), valid=np.ones((2, 2), bool))


def test_shape_mismatch_raises_tepe_and_density() -> None:
    with pytest.raises(ValueError, match='shape'):
        tepe(np.zeros((3, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match='shape'):
        tepe(np.zeros((3, 2, 2)), np.zeros((3, 2, 2)), np.ones((3, 2, 1), bool))
    with pytest.raises(ValueError, match='shape'):
        density(np.zeros((2, 2)), np.ones((2, 3), bool))


def test_non_numeric_input_raises() -> None:
    with pytest.raises(ValueError):
        epe(np.zeros((2, 2), bool), np.zeros((2, 2)))


finite = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False, width=32)
frames = hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=8),
                    elements=finite)
sequences = hnp.arrays(np.float64, st.tuples(st.integers(2, 5), st.integers(1, 6),
                                             st.integers(1, 6)), elements=finite)


@settings(max_examples=50, deadline=None)
@given(frames)
def test_epe_of_identical_is_zero(x: np.ndarray) -> None:
    assert epe(x, x) == 0.0
    assert bad_pixel_rate(x, x, threshold=0.0) == 0.0


@settings(max_examples=50, deadline=None)
@given(frames, st.floats(-20.0, 20.0, allow_nan=False))
def test_epe_of_constant_offset_is_the_offset(x: np.ndarray, c: float) -> None:
    gt = x.astype(np.float64)
    assert epe(gt + c, gt) == pytest.approx(abs(c), abs=1e-9)
    expected_bad = 1.0 if abs(c) > 1.0 else 0.0
    if abs(abs(c) - 1.0) > 1e-9:
        assert bad_pixel_rate(gt + c, gt) == expected_bad


@settings(max_examples=50, deadline=None)
@given(frames, frames)
def test_epe_is_symmetric_and_bounds_bad_pixels(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        return
    assert epe(a, b) == pytest.approx(epe(b, a))
    # Markov: the share of errors above t is at most EPE / t.
    for t in (0.5, 2.0, 10.0):
        assert bad_pixel_rate(a, b, t) <= epe(a, b) / t + 1e-12


@settings(max_examples=50, deadline=None)
@given(sequences, st.floats(-20.0, 20.0, allow_nan=False))
def test_tepe_ignores_constant_offset(gt: np.ndarray, c: float) -> None:
    assert tepe(gt + c, gt) == pytest.approx(0.0, abs=1e-9)
    assert tepe(gt, gt) == 0.0


@settings(max_examples=50, deadline=None)
@given(sequences, st.floats(0.5, 5.0))
def test_tepe_detects_flicker(gt: np.ndarray, amplitude: float) -> None:
    # Alternating +-a on a static error: each step changes the error by 2a.
    signs = np.where(np.arange(gt.shape[0]) % 2 == 0, 1.0, -1.0)[:, None, None]
    assert tepe(gt + amplitude * signs, gt) == pytest.approx(2.0 * amplitude)


@settings(max_examples=50, deadline=None)
@given(frames)
def test_density_is_a_fraction(x: np.ndarray) -> None:
    d = density(x)
    assert 0.0 <= d <= 1.0
    assert d == pytest.approx(np.mean(x > 0))
