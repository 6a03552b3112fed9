# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the DepthCrafter and MonST3R depth protocols: hand cases, solvers, parity."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from stereo_any_video_ros.evaluation.depth_metrics import (aggregate_depthcrafter,
                                                           aggregate_monst3r,
                                                           depth_to_disparity,
                                                           depthcrafter_protocol,
                                                           lad_scale_shift_adam,
                                                           lad_scale_shift_exact,
                                                           lower_median, MONST3R_METRIC_NAMES,
                                                           monst3r_protocol)

NAN = float('nan')
GOLDEN = Path(__file__).parent / 'golden' / 'eval_metrics_golden.npz'


def smooth_depth(shape, low=1.0, high=20.0, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t, h, w = shape
    ramp = np.linspace(0.0, 1.0, w)[None, None, :] + np.linspace(0.0, 0.5, h)[None, :, None]
    return low + (high - low) * (ramp / 1.5) * rng.uniform(0.8, 1.0, (t, 1, 1))


# --- DepthCrafter ---------------------------------------------------------------------------

def test_depthcrafter_recovers_scale_and_shift_exactly() -> None:
    gt = smooth_depth((3, 6, 8), 1.0, 9.0)
    pred = (1.0 / gt - 0.02) / 4.0  # 1/gt = 4 * pred + 0.02
    result = depthcrafter_protocol(pred, gt, max_depth=10.0)
    assert result.scale == pytest.approx(4.0, rel=1e-6)
    assert result.shift == pytest.approx(0.02, rel=1e-5)
    assert result.abs_rel == pytest.approx(0.0, abs=1e-6)
    assert result.delta1 == 1.0
    np.testing.assert_allclose(result.aligned_depth, gt, rtol=1e-6)


def test_depthcrafter_hand_case_per_frame_then_mean() -> None:
    # Valid pixels have pred 1, 2 (frame 0) and 3 (frame 1) against 1/gt = 1, 2, 5:
    # least squares gives s = 2, t = -4/3, so depth = 1 / (2 p - 4/3) = 1.5, 0.375, 0.2143.
    gt = np.array([[[1.0, 0.5, NAN]], [[0.2, 0.0, 50.0]], [[NAN, 0.0, 99.0]]])
    pred = np.array([[[1.0, 2.0, 7.0]], [[3.0, 8.0, 9.0]], [[1.0, 1.0, 1.0]]])
    result = depthcrafter_protocol(pred, gt, max_depth=1.4)
    assert result.scale == pytest.approx(2.0, rel=1e-6)
    assert result.shift == pytest.approx(-4 / 3, rel=1e-6)
    depth0 = [1.4, 0.375]  # 1.5 clipped to max_depth
    depth1 = 1.0 / (6.0 - 4 / 3)
    frame0 = (abs(depth0[0] - 1.0) / 1.0 + abs(depth0[1] - 0.5) / 0.5) / 2
    frame1 = abs(depth1 - 0.2) / 0.2
    np.testing.assert_array_equal(result.frames_evaluated, [True, True, False])
    np.testing.assert_allclose(result.per_frame['abs_rel'], [frame0, frame1], rtol=1e-6)
    assert result.abs_rel == pytest.approx((frame0 + frame1) / 2, rel=1e-6)
    rmse0 = math.sqrt(((depth0[0] - 1.0) ** 2 + (depth0[1] - 0.5) ** 2) / 2)
    assert result.rmse == pytest.approx((rmse0 + abs(depth1 - 0.2)) / 2, rel=1e-6)
    # Ratios 1.4 and 1.33 fail delta1, 1.07 passes.
    np.testing.assert_array_equal(result.per_frame['delta1'], [0.0, 1.0])
    assert result.delta1 == 0.5
    assert result.valid.sum() == 3


def test_depthcrafter_clips_prediction_before_fitting() -> None:
    gt = smooth_depth((2, 4, 5), 1.0, 9.0)
    pred = 1.0 / gt
    low = pred.copy()
    low[0, 0, 0] = -5.0
    clipped = pred.copy()
    clipped[0, 0, 0] = 1e-3
    assert depthcrafter_protocol(low, gt, 10.0).abs_rel == \
        depthcrafter_protocol(clipped, gt, 10.0).abs_rel


def test_depthcrafter_resizes_bilinearly_to_the_gt() -> None:
    small = np.array([[[1.0, 2.0]], [[2.0, 4.0]]])
    # cv2 bilinear, half-pixel centres, 2 -> 4 columns: a, a + (b-a)/4, a + 3(b-a)/4, b.
    enlarged = np.array([[[1.0, 1.25, 1.75, 2.0]], [[2.0, 2.5, 3.5, 4.0]]])
    result = depthcrafter_protocol(small, 1.0 / enlarged, 10.0)
    assert result.aligned_depth.shape == (2, 1, 4)
    np.testing.assert_allclose(result.aligned_depth, 1.0 / enlarged, rtol=1e-6)
    assert result.abs_rel == pytest.approx(0.0, abs=1e-6)


def test_nonfinite_prediction_counts_as_zero() -> None:
    gt = smooth_depth((2, 4, 5), 1.0, 9.0)
    pred = 1.0 / gt
    holes, zeros = pred.copy(), pred.copy()
    holes[1, 2, 3], zeros[1, 2, 3] = NAN, 0.0
    assert depthcrafter_protocol(holes, gt, 10.0).abs_rel == \
        depthcrafter_protocol(zeros, gt, 10.0).abs_rel


def test_disparity_from_depth_is_zero_where_depth_is_unusable() -> None:
    np.testing.assert_array_equal(depth_to_disparity([2.0, 0.0, NAN, -1.0, np.inf, 0.25]),
                                  [0.5, 0.0, 0.0, 0.0, 0.0, 4.0])


def test_depthcrafter_on_metric_depth_through_its_inverse() -> None:
    gt = smooth_depth((2, 5, 5), 1.0, 9.0)
    pred_depth = 1.0 / (0.5 / gt + 0.1)  # affine in disparity
    fit = depthcrafter_protocol(depth_to_disparity(pred_depth), gt, 10.0)
    assert fit.scale == pytest.approx(2.0, rel=1e-6)
    assert fit.shift == pytest.approx(-0.2, rel=1e-5)
    pred_depth[0, 0, 0] = NAN  # a hole is disparity 0, clipped to 1e-3: far away
    holed = depthcrafter_protocol(depth_to_disparity(pred_depth), gt, 10.0)
    assert holed.aligned_depth[0, 0, 0] == 10.0  # 2e-3 - 0.2 < 1e-3, so 1 / 1e-3, clipped


def test_depthcrafter_aggregate_is_a_plain_mean() -> None:
    gt = smooth_depth((2, 4, 5), 1.0, 9.0)
    a = depthcrafter_protocol(1.0 / gt, gt, 10.0)
    b = depthcrafter_protocol(1.0 / gt[:, :2] ** 2, gt[:, :2], 10.0)  # fewer pixels
    assert a.summary() == {'abs_rel': a.abs_rel, 'rmse': a.rmse, 'delta1': a.delta1,
                           'scale': a.scale, 'shift': a.shift, 'frames': 2}
    aggregate = aggregate_depthcrafter([a.summary(), b])  # summaries (reports) or results
    assert aggregate['abs_rel'] == pytest.approx((a.abs_rel + b.abs_rel) / 2)
    assert aggregate['rmse'] == pytest.approx((a.rmse + b.rmse) / 2)
    assert aggregate['delta1'] == pytest.approx((a.delta1 + b.delta1) / 2)
    assert aggregate['sequences'] == 2


@pytest.mark.parametrize('pred, gt, max_depth, word', [
    (np.ones((2, 3, 3)), np.ones((3, 3, 3)), 10.0, 'same T'),
    (np.ones((3, 3)), np.ones((3, 3)), 10.0, 'same T'),
    (np.ones((1, 3, 3)), np.full((1, 3, 3), 20.0), 10.0, 'no GT pixel'),
    (np.ones((1, 3, 3)), np.ones((1, 3, 3)), 0.0, 'max_depth'),
])
def test_depthcrafter_rejects_bad_input(pred, gt, max_depth, word) -> None:
    with pytest.raises(ValueError, match=word):
        depthcrafter_protocol(pred, gt, max_depth)


def test_depthcrafter_matches_official_eval() -> None:
    golden = np.load(GOLDEN)
    result = depthcrafter_protocol(golden['dc_pred'], golden['dc_gt'],
                                   float(golden['dc_max_depth']))
    assert result.abs_rel == pytest.approx(float(golden['dc_abs_rel']), rel=1e-9)
    assert result.rmse == pytest.approx(float(golden['dc_rmse']), rel=1e-9)
    # Upstream counts delta1 in float32.
    assert result.delta1 == pytest.approx(float(golden['dc_delta1']), rel=1e-6)
    np.testing.assert_array_equal(result.frames_evaluated, [True, True, False, True])
    assert result.per_frame['abs_rel'].shape == (3,)


# --- MonST3R --------------------------------------------------------------------------------

def test_lower_median_is_torch_median() -> None:
    assert lower_median(np.array([4.0, 1.0, 3.0, 2.0])) == 2.0
    assert lower_median(np.array([5.0, 1.0, 3.0])) == 3.0


def test_exact_lad_recovers_scale_and_shift_despite_outliers() -> None:
    rng = np.random.default_rng(3)
    pred = rng.uniform(0.0, 10.0, 4000)
    gt = 2.5 * pred + 0.7
    outliers = rng.random(pred.size) < 0.3
    gt[outliers] += rng.normal(0.0, 20.0, outliers.sum())
    scale, shift = lad_scale_shift_exact(pred, gt)
    assert scale == pytest.approx(2.5, rel=1e-12)
    assert shift == pytest.approx(0.7, rel=1e-12)
    assert lad_scale_shift_exact(pred, 0.7 - 2.5 * pred) == pytest.approx((-2.5, 0.7))


def test_exact_lad_reaches_the_linear_programme_minimum() -> None:
    rng = np.random.default_rng(4)
    pred = rng.uniform(1.0, 5.0, 60)
    gt = 1.7 * pred + 0.3 + rng.standard_t(2, 60)
    n = pred.size
    # min sum u  s.t.  -u <= gt - s p - t <= u
    bounds = [(None, None)] * 2 + [(0, None)] * n
    a_ub = np.block([[-pred[:, None], -np.ones((n, 1)), -np.eye(n)],
                     [pred[:, None], np.ones((n, 1)), -np.eye(n)]])
    lp = linprog(np.r_[0.0, 0.0, np.ones(n)], A_ub=a_ub, b_ub=np.r_[-gt, gt], bounds=bounds)
    scale, shift = lad_scale_shift_exact(pred, gt)
    assert np.abs(scale * pred + shift - gt).sum() == pytest.approx(lp.fun, rel=1e-9)


def test_exact_lad_rejects_a_constant_prediction() -> None:
    with pytest.raises(ValueError, match='constant'):
        lad_scale_shift_exact(np.ones(5), np.arange(5.0))


def test_adam_lad_gets_close_from_the_median_ratio() -> None:
    rng = np.random.default_rng(5)
    pred = rng.uniform(1.0, 10.0, 500)
    gt = 2.0 * pred + 0.05
    scale, shift = lad_scale_shift_adam(pred, gt, lower_median(gt) / lower_median(pred))
    assert scale == pytest.approx(2.0, abs=1e-4)
    assert shift == pytest.approx(0.05, abs=1e-3)
    # 1000 steps of at most lr = 1e-4 each: Adam cannot travel far from t0 = 0.
    _, far = lad_scale_shift_adam(pred, gt + 5.0, lower_median(gt) / lower_median(pred))
    assert far < 0.2


def test_monst3r_pools_pixels_over_the_sequence() -> None:
    # 7 pixels on gt = pred and one gt outlier; the L1 fit keeps s = 1, t = 0.
    pred = np.array([[[1.0, 2.0, 3.0, 4.0, 9.0]], [[5.0, 6.0, 7.0, 8.0, 9.0]]])
    gt = np.array([[[1.0, 2.0, 3.0, 4.0, 30.0]], [[5.0, 6.0, 7.0, 20.0, -1.0]]])
    result = monst3r_protocol(pred, gt, max_depth=25.0, solver='exact')
    assert (result.scale, result.shift) == pytest.approx((1.0, 0.0), abs=1e-12)
    assert result.valid_pixels == 8
    # Pooled over 8 pixels, not per frame ((0 + 0.6 / 4) / 2 would be per frame).
    assert result.abs_rel == pytest.approx(12.0 / 20.0 / 8)
    assert result.sq_rel == pytest.approx(144.0 / 20.0 / 8)
    assert result.rmse == pytest.approx(math.sqrt(144.0 / 8))
    assert result.log_rmse == pytest.approx(math.sqrt(math.log(2.5) ** 2 / 8))
    assert (result.delta1, result.delta2, result.delta3) == pytest.approx((7 / 8,) * 3)
    clipped = monst3r_protocol(pred, gt, max_depth=25.0, post_clip_max=6.0, solver='exact')
    # Depths 7 and 8 become 6.
    assert clipped.abs_rel == pytest.approx((1.0 / 7.0 + 14.0 / 20.0) / 8)
    assert clipped.aligned_depth.max() == 6.0


def test_monst3r_floors_depth_only_for_log_and_ratio_metrics() -> None:
    pred = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0]]])  # 0 stays 0 after the fit
    gt = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.5]]])
    result = monst3r_protocol(pred, gt, solver='exact')
    assert (result.scale, result.shift) == pytest.approx((1.0, 0.0), abs=1e-12)
    assert result.abs_rel == pytest.approx(1.0 / 8)
    assert result.log_rmse == pytest.approx(math.sqrt(math.log(0.5 / 1e-5) ** 2 / 8))


def test_monst3r_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match='solver'):
        monst3r_protocol(np.ones((1, 2, 2)), np.ones((1, 2, 2)), solver='lstsq')
    with pytest.raises(ValueError, match='no GT pixel'):
        monst3r_protocol(np.ones((1, 2, 2)), -np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match='median predicted depth'):
        monst3r_protocol(np.array([[[0.0, 0.0, 1.0]]]), np.ones((1, 1, 3)))
    with pytest.raises(ValueError, match='no sequence'):
        aggregate_monst3r([])


def test_monst3r_aggregate_weights_by_valid_pixels() -> None:
    gt = smooth_depth((2, 4, 5), 2.0, 9.0)
    a = monst3r_protocol(gt + 0.1 * gt ** 2, gt, solver='exact')
    b = monst3r_protocol(gt[:, :1] + 1.0, gt[:, :1] ** 2, solver='exact')
    assert a.summary()['valid_pixels'] == 40
    aggregate = aggregate_monst3r([a, b.summary()])
    for name in MONST3R_METRIC_NAMES:
        expected = (40 * getattr(a, name) + 10 * getattr(b, name)) / 50
        assert aggregate[name] == pytest.approx(expected)
    assert aggregate['valid_pixels'] == 50 and aggregate['sequences'] == 2


@pytest.mark.parametrize('name', ['sintel', 'kitti'])
def test_monst3r_matches_official_depth_evaluation(name: str) -> None:
    golden = np.load(GOLDEN)
    max_depth = float(golden[f'm_{name}_max_depth'])
    post_clip_max = float(golden[f'm_{name}_post_clip_max'])
    settings = dict(max_depth=None if math.isnan(max_depth) else max_depth,
                    post_clip_max=None if math.isnan(post_clip_max) else post_clip_max)
    pred, gt = golden[f'm_{name}_pred'], golden[f'm_{name}_gt']
    result = monst3r_protocol(pred, gt, **settings)
    assert result.valid_pixels == int(golden[f'm_{name}_valid_pixels'])
    # Same Adam steps as upstream: s * pred + t agrees to the last bit on this machine;
    # the metrics differ by upstream's float32 sums.
    aligned = golden[f'm_{name}_aligned'].reshape(result.aligned_depth.shape)
    if not math.isnan(post_clip_max):
        aligned = np.minimum(aligned, post_clip_max)
    np.testing.assert_allclose(result.aligned_depth, aligned, rtol=1e-6)
    for metric in MONST3R_METRIC_NAMES:
        assert getattr(result, metric) == pytest.approx(float(golden[f'm_{name}_{metric}']),
                                                        rel=1e-6)
    # The exact L1 minimum is a different (better) fit: the protocols' solvers matter.
    exact = monst3r_protocol(pred, gt, solver='exact', **settings)
    assert abs(exact.shift - result.shift) > 1.0
