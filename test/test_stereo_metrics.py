# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for SAV's EPE/TEPE metrics: hand-computed cases and parity with the official code."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from stereo_any_video_ros.evaluation.stereo_metrics import (aggregate_by_length, density,
                                                            epe_map, per_frame_epe,
                                                            per_frame_tepe, stereo_video_metrics,
                                                            summarize_error, tepe_map)

NAN = float('nan')
GOLDEN = Path(__file__).parent / 'golden' / 'eval_metrics_golden.npz'


def seq(*frames) -> np.ndarray:
    """(T, 1, W) from rows of values."""
    return np.array(frames, dtype=np.float64)[:, None, :]


def test_epe_map_masks_nan_gt_and_zeroes_nan_pred() -> None:
    gt = seq([1.0, 2.0, NAN, 4.0])
    pred = seq([1.5, 2.0, 9.0, NAN])
    # NaN GT is never scored; NaN pred counts as disparity 0, so it costs |gt|.
    np.testing.assert_array_equal(epe_map(pred, gt), seq([0.5, 0.0, 0.0, 4.0]))
    valid = seq([1, 1, 1, 0]).astype(bool)
    np.testing.assert_array_equal(epe_map(pred, gt, valid), seq([0.5, 0.0, 0.0, 0.0]))


def test_mean_is_over_nonzero_errors_only() -> None:
    gt = seq([1.0, 2.0, NAN, 4.0])
    pred = seq([1.5, 2.0, 9.0, NAN])
    metrics = stereo_video_metrics(pred, gt)
    # Three scored pixels, errors 0.5, 0, 4: the exact one does not count.
    assert metrics['epe'] == pytest.approx((0.5 + 4.0) / 2)
    assert metrics['epe_bad_0.5px'] == pytest.approx(50.0)  # strictly greater
    assert metrics['epe_bad_1px'] == pytest.approx(50.0)
    assert metrics['epe_bad_3px'] == pytest.approx(50.0)
    assert metrics['density'] == pytest.approx(2 / 3)
    assert metrics['frames'] == 1
    assert 'tepe' not in metrics


def test_all_zero_error_map_gives_zero_as_upstream() -> None:
    summary = summarize_error(np.zeros((2, 3, 3)), 'epe')
    assert summary == {'epe': 0.0, 'epe_bad_0.5px': 0.0, 'epe_bad_1px': 0.0,
                       'epe_bad_2px': 0.0, 'epe_bad_3px': 0.0}


def test_custom_thresholds_name_their_keys() -> None:
    summary = summarize_error(np.array([0.0, 0.2, 1.0, 6.0]), 'tepe', thresholds=(0.25, 5))
    assert summary == pytest.approx({'tepe': 7.2 / 3, 'tepe_bad_0.25px': 200 / 3,
                                     'tepe_bad_5px': 100 / 3})


def test_valid_mask_threshold_is_half_as_upstream() -> None:
    gt = seq([0.0, 0.0])
    pred = seq([1.0, 2.0])
    assert epe_map(pred, gt, seq([0.3, 0.7]))[0, 0].tolist() == [0.0, 2.0]


def test_signed_and_absolute_tepe_differ() -> None:
    # GT falls by 2 where the prediction rises by 2: same magnitude, opposite sign.
    gt = seq([2.0, 5.0], [0.0, 5.0])
    pred = seq([0.0, 5.0], [2.0, 6.5])
    np.testing.assert_array_equal(tepe_map(pred, gt), seq([0.0, 1.5]))
    np.testing.assert_array_equal(tepe_map(pred, gt, form='signed'), seq([4.0, 1.5]))
    assert stereo_video_metrics(pred, gt)['tepe'] == pytest.approx(1.5)
    assert stereo_video_metrics(pred, gt, tepe_form='signed')['tepe'] == pytest.approx(2.75)


def test_tepe_needs_the_pixel_valid_in_both_frames() -> None:
    gt = seq([0.0, 0.0, 0.0], [0.0, 0.0, NAN], [0.0, 0.0, 0.0])
    pred = seq([0.0, 1.0, 3.0], [2.0, 1.0, 3.0], [2.0, 4.0, 5.0])
    valid = np.ones(gt.shape, bool)
    valid[2, 0, 1] = False
    # Pair (0,1): 2, 0, pixel 2 invalid at t=1. Pair (1,2): 0, invalid, invalid.
    np.testing.assert_array_equal(tepe_map(pred, gt, valid), seq([2.0, 0.0, 0.0],
                                                                 [0.0, 0.0, 0.0]))
    np.testing.assert_array_equal(per_frame_tepe(pred, gt, valid), [2.0, NAN])


def test_constant_offset_has_epe_of_the_offset_and_no_tepe() -> None:
    gt = np.random.default_rng(0).uniform(1.0, 30.0, (5, 4, 6))
    metrics = stereo_video_metrics(gt + 1.5, gt)
    assert metrics['epe'] == pytest.approx(1.5)
    assert metrics['epe_bad_1px'] == 100.0 and metrics['epe_bad_2px'] == 0.0
    assert metrics['tepe'] == pytest.approx(0.0, abs=1e-12)


def test_per_frame_epe_is_nan_for_a_frame_without_errors() -> None:
    gt = seq([1.0, 1.0], [1.0, 1.0], [1.0, NAN])
    pred = seq([2.0, 1.0], [1.0, 1.0], [4.0, 7.0])
    np.testing.assert_array_equal(per_frame_epe(pred, gt), [1.0, NAN, 3.0])


def test_density_counts_nonfinite_and_nonpositive_as_missing() -> None:
    pred = seq([1.0, NAN, 0.0, -1.0], [np.inf, 2.0, 3.0, 4.0])
    assert density(pred) == pytest.approx(4 / 8)
    valid = seq([1, 1, 0, 0], [0, 0, 0, 0]).astype(bool)
    assert density(pred, valid) == pytest.approx(0.5)
    assert math.isnan(density(pred, np.zeros(pred.shape, bool)))
    # stereo_video_metrics counts over the scored pixels (finite GT).
    gt = seq([1.0, 1.0, NAN, NAN], [NAN, NAN, NAN, NAN])
    assert stereo_video_metrics(pred, gt)['density'] == pytest.approx(0.5)


def test_aggregate_weights_by_length_and_skips_missing_metrics() -> None:
    long = {'epe': 1.0, 'tepe': 2.0, 'density': 1.0, 'frames': 3}
    short = {'epe': 5.0, 'density': NAN, 'frames': 1}  # one frame: no TEPE, no density
    aggregate = aggregate_by_length([(long, 3), (short, 1)])
    assert aggregate == pytest.approx({'epe': (3 * 1.0 + 5.0) / 4, 'tepe': 2.0,
                                       'density': 1.0, 'frames': 4, 'sequences': 2})
    with pytest.raises(ValueError, match='positive'):
        aggregate_by_length([(long, 0)])


@pytest.mark.parametrize('call', [
    lambda: epe_map(np.zeros((2, 3, 4)), np.zeros((2, 4, 3))),
    lambda: epe_map(np.zeros((3, 4)), np.zeros((3, 4))),
    lambda: epe_map(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.ones((2, 3, 1))),
    lambda: density(np.zeros((2, 3, 4)), np.ones((2, 3, 1))),
    lambda: stereo_video_metrics(np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 3, 4))),
], ids=['mismatch', 'ndim', 'valid', 'density', 'channels'])
def test_bad_shapes_raise_naming_them(call) -> None:
    with pytest.raises(ValueError, match='shape'):
        call()


def test_other_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match='form'):
        tepe_map(np.zeros((2, 1, 1)), np.zeros((2, 1, 1)), form='warped')
    with pytest.raises(ValueError, match='2 frames'):
        tepe_map(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match='numeric'):
        epe_map(np.zeros((1, 1, 1), bool), np.zeros((1, 1, 1)))


def test_matches_official_sav_evaluation() -> None:
    golden = np.load(GOLDEN)
    pred, gt, valid = golden['stereo_pred'], golden['stereo_gt'], golden['stereo_valid']
    whole = stereo_video_metrics(pred, gt, valid)
    head = stereo_video_metrics(pred[:3], gt[:3], valid[:3])
    for prefix, metrics in (('stereo_whole', whole), ('stereo_head', head)):
        for key in ('epe', 'tepe'):
            for suffix in ('', '_bad_0.5px', '_bad_1px', '_bad_2px', '_bad_3px'):
                # Upstream sums in float32; we in float64.
                assert metrics[key + suffix] == pytest.approx(
                    float(golden[f'{prefix}_{key}{suffix}']), rel=1e-6, abs=1e-6)
    aggregate = aggregate_by_length([(whole, 4), (head, 3)])
    for key in ('epe', 'tepe', 'epe_bad_1px'):
        assert aggregate[key] == pytest.approx(float(golden[f'stereo_aggregate_{key}']),
                                               rel=1e-6)
