# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the SGBM backend and processing.py on synthetic scenes with exact ground truth."""
from __future__ import annotations

import functools
from typing import Sequence, Tuple

import cv2
import numpy as np
import pytest

from stereo_any_video_ros.backends import create_backend
from stereo_any_video_ros.backends.sgbm import SGBMBackend
from stereo_any_video_ros.calibration import PinholeInfo, stereo_calibration, StereoCalibration
from stereo_any_video_ros.clip import Clip, ClipFrame
from stereo_any_video_ros.evaluation.stereo_metrics import stereo_video_metrics
from stereo_any_video_ros.params import NodeConfig
from stereo_any_video_ros.processing import FrameResult, StereoProcessor
from stereo_any_video_ros.synthetic import StereoFrame, StereoRig, SyntheticScene

FX, BASELINE = 200.0, 0.12
RIG = StereoRig(320, 240, FX, BASELINE)
# cx_r = cx_l - 3: raw disparities carry +3 px on top of fx*B/Z.
RIG_OFFSET = StereoRig(320, 240, FX, BASELINE, cx_right_offset=-3.0)
# The default scene has its background at 10 m (2.4 px); depth accuracy is checked on a
# nearer background (4 m, 6 px) where a 5 % depth error is more than SGBM's sub-pixel noise.
NEAR = 4.0
NEAR_OBJECTS = (1.25, 2.0, 3.0)
# 32 disparities cover the scene (at most 19.2 + 3 px) and leave a narrower unmatched border.
CONFIG = {'sgbm.num_disparities': 32}


@functools.lru_cache(maxsize=None)
def scene_frames(rig: StereoRig, near: bool, indices: Tuple[int, ...] = (0,)
                 ) -> Tuple[StereoFrame, ...]:
    if near:
        scene = SyntheticScene(rig, seed=1, background_depth=NEAR, object_depths=NEAR_OBJECTS)
    else:
        scene = SyntheticScene(rig, seed=1)
    return tuple(scene.frame(i) for i in indices)


def calibration_for(rig: StereoRig) -> StereoCalibration:
    left = PinholeInfo(rig.width, rig.height, tuple(rig.K_left.ravel()),
                       tuple(rig.P_left.ravel()), 'cam')
    right = PinholeInfo(rig.width, rig.height, tuple(rig.K_right.ravel()),
                        tuple(rig.P_right.ravel()), 'cam')
    return stereo_calibration(left, right)


def make_clip(rig: StereoRig, frames: Sequence[StereoFrame], num_new: int = 0) -> Clip:
    calibration = calibration_for(rig)
    return Clip(tuple(ClipFrame(1000 * frame.index, frame.left, frame.right, 'cam',
                                calibration, payload=frame.index) for frame in frames),
                num_new or len(frames))


def make_processor(**values) -> StereoProcessor:
    config = NodeConfig.from_values({**CONFIG, **values})
    return StereoProcessor(create_backend('sgbm', config.backend_options()), config)


def process_one(rig: StereoRig, near: bool = True, want_depth: bool = True,
                want_cloud: bool = True, **values) -> Tuple[FrameResult, StereoFrame]:
    frame, = scene_frames(rig, near)
    values.setdefault('invalid_disparity_value', float('nan'))  # keeps EPE honest
    results = make_processor(**values).process(make_clip(rig, [frame]), want_depth, want_cloud)
    assert len(results) == 1
    return results[0], frame


def matched_epe(pred: np.ndarray, gt: np.ndarray) -> float:
    """SAV's EPE of one frame over the pixels the matcher estimated (finite, > 0)."""
    pred = np.asarray(pred)[None]
    with np.errstate(invalid='ignore'):
        estimated = np.isfinite(pred) & (pred > 0)
    return stereo_video_metrics(pred, np.asarray(gt)[None], estimated)['epe']


def fraction_within(depth: np.ndarray, truth: np.ndarray, relative: float) -> float:
    """Fraction of all ground-truth pixels whose depth is within `relative` (NaN fails)."""
    with np.errstate(invalid='ignore'):
        return float(np.mean(np.abs(depth - truth) <= relative * truth))


# --- backends -----------------------------------------------------------------------------------

def test_create_sgbm_backend() -> None:
    backend = create_backend('sgbm', {})
    assert isinstance(backend, SGBMBackend)
    assert backend.default_clip_length == 1
    assert isinstance(create_backend('sgbm', {'num_disparities': 32, 'mode': 'hh'}, 'cpu',
                                     'fp32'), SGBMBackend)


def test_unknown_backend() -> None:
    with pytest.raises(ValueError) as raised:
        create_backend('raft_stereo', {})
    assert 'raft_stereo' in str(raised.value) and 'sgbm' in str(raised.value)


@pytest.mark.parametrize('options, word', [
    ({'num_disparities': 70}, 'num_disparities'),
    ({'num_disparities': 0}, 'num_disparities'),
    ({'block_size': 4}, 'block_size'),
    ({'mode': 'bm'}, 'mode'),
    ({'p1': 500, 'p2': 400}, 'p2 > p1'),
])
def test_sgbm_rejects_bad_options(options: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        create_backend('sgbm', options)


def test_sgbm_rejects_bad_clips() -> None:
    backend = SGBMBackend()
    image = np.zeros((1, 16, 24, 3), np.uint8)
    with pytest.raises(ValueError, match='clips'):
        backend.infer(image, image[:, :, :20])
    with pytest.raises(ValueError, match='clips'):
        backend.infer(image[0], image[0])


def test_sgbm_infer_synthetic_clip() -> None:
    frames = scene_frames(RIG, False, (0, 30))
    left = np.stack([frame.left for frame in frames])
    right = np.stack([frame.right for frame in frames])
    disparity = SGBMBackend().infer(left, right)
    assert disparity.shape == (2, 240, 320) and disparity.dtype == np.float32
    for t, frame in enumerate(frames):
        # No match is possible where x - num_disparities falls off the right image.
        assert np.isnan(disparity[t, :, :63]).all()
        assert np.isfinite(disparity[t]).mean() > 0.6
        assert matched_epe(disparity[t], frame.disparity) < 1.0


# --- processing ---------------------------------------------------------------------------------

def test_process_depth_matches_ground_truth() -> None:
    result, frame = process_one(RIG)
    assert result.frame.payload == frame.index
    assert result.calibration == calibration_for(RIG)
    assert result.disparity.shape == result.depth.shape == (240, 320)
    assert result.disparity.dtype == result.depth.dtype == np.float32
    assert matched_epe(result.disparity, frame.disparity) < 1.0
    assert fraction_within(result.depth, frame.depth, 0.05) > 0.8
    assert result.disparity_range.low == pytest.approx(FX * BASELINE / 20.0)
    assert result.disparity_range.high == pytest.approx(FX * BASELINE / 0.1)


def test_process_valid_window_excludes_unmatched_border() -> None:
    result, _ = process_one(RIG, invalid_disparity_value=float('nan'))
    x, y, width, height = result.valid_window
    valid = np.isfinite(result.disparity)
    assert x >= 31 and x + width == 320
    assert valid[:, x].any() and not valid[:, :x].any()
    assert valid[y].any() and valid[y + height - 1].any()


def test_process_applies_cx_offset_once() -> None:
    result, frame = process_one(RIG_OFFSET)
    offset = RIG_OFFSET.cx_left - RIG_OFFSET.cx_right
    assert offset == pytest.approx(3.0)
    assert result.calibration.cx_offset == pytest.approx(offset)
    assert matched_epe(result.disparity, frame.disparity - offset) < 1.0
    assert matched_epe(result.disparity, frame.disparity) > 2.0  # not left out
    assert matched_epe(result.disparity, frame.disparity - 2 * offset) > 2.0  # not applied twice
    assert fraction_within(result.depth, frame.depth, 0.05) > 0.8


def test_process_only_new_frames_of_a_clip() -> None:
    frames = scene_frames(RIG, True, (0, 40, 80))
    results = make_processor().process(make_clip(RIG, frames, num_new=2))
    assert [result.frame.payload for result in results] == [40, 80]
    for result, own, other in zip(results, frames[1:], frames[:2]):
        own_error = matched_epe(result.disparity, own.disparity)
        assert own_error < 1.0
        assert own_error < matched_epe(result.disparity, other.disparity)


@pytest.mark.parametrize('rig', [RIG, RIG_OFFSET], ids=['centred', 'offset'])
def test_half_size_inference_output_at_input_size(rig: StereoRig) -> None:
    result, frame = process_one(rig, near=False, inference_width=160, inference_height=120,
                                output_resolution='input')
    truth = frame.disparity - (rig.cx_left - rig.cx_right)
    assert result.disparity.shape == (240, 320)
    assert result.calibration == calibration_for(rig)
    assert matched_epe(result.disparity, truth) < 1.5
    # Values are in input pixels: on the near objects (> 10 px) the ratio to the truth is 1,
    # not 1/2. (Far pixels are left out: at 1-2 px SGBM's sub-pixel estimate locks to steps.)
    near = np.isfinite(result.disparity) & (truth > 10.0)
    assert near.sum() > 1000
    assert np.median(result.disparity[near] / truth[near]) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize('rig', [RIG, RIG_OFFSET], ids=['centred', 'offset'])
def test_half_size_inference_output_at_inference_size(rig: StereoRig) -> None:
    result, frame = process_one(rig, inference_width=160, inference_height=120,
                                output_resolution='inference')
    full = calibration_for(rig)
    assert result.disparity.shape == result.depth.shape == (120, 160)
    assert (result.calibration.width, result.calibration.height) == (160, 120)
    assert result.calibration.fx == pytest.approx(full.fx / 2)
    assert result.calibration.baseline == pytest.approx(full.baseline)
    assert result.calibration.cx_offset == pytest.approx(full.cx_offset / 2)
    truth = (frame.disparity - full.cx_offset)[::2, ::2] / 2
    assert matched_epe(result.disparity, truth) < 1.0
    # f and d both halve, so the depth does not change. Scaling only one of them would be off
    # by 50-100 %; the 10 % bound leaves room for SGBM locking to sub-pixel steps at 3-5 px.
    depth_truth = frame.depth[::2, ::2]
    valid = np.isfinite(result.depth)
    assert valid.mean() > 0.6
    assert np.median(np.abs(result.depth[valid] / depth_truth[valid] - 1.0)) < 0.1
    assert (result.cloud.height, result.cloud.width) == (120, 160)


def test_invalid_disparity_value_zero_or_nan() -> None:
    as_nan, _ = process_one(RIG, invalid_disparity_value=float('nan'))
    as_zero, _ = process_one(RIG, invalid_disparity_value=0.0)
    invalid = np.isnan(as_nan.disparity)
    assert invalid[:, :31].all() and 0.05 < invalid.mean() < 0.5
    assert not np.isnan(as_zero.disparity).any()
    assert (as_zero.disparity[invalid] == 0.0).all()
    np.testing.assert_array_equal(as_zero.disparity[~invalid], as_nan.disparity[~invalid])
    assert (as_nan.disparity[~invalid] > 0).all()
    # Depth keeps NaN whatever the disparity message uses.
    np.testing.assert_array_equal(np.isnan(as_zero.depth), invalid)
    assert as_zero.valid_window == as_nan.valid_window


def test_depth_16uc1_millimetres() -> None:
    metres, _ = process_one(RIG, depth_encoding='32FC1')
    millimetres, frame = process_one(RIG, depth_encoding='16UC1')
    assert millimetres.depth.dtype == np.uint16
    invalid = np.isnan(metres.depth)
    assert (millimetres.depth[invalid] == 0).all()
    assert (millimetres.depth[~invalid] > 0).all()
    difference = millimetres.depth[~invalid].astype(np.float64) - 1000.0 * metres.depth[~invalid]
    assert np.abs(difference).max() <= 0.5 + 1e-2
    assert fraction_within(millimetres.depth / 1000.0, frame.depth, 0.05) > 0.8


@pytest.mark.parametrize('want_depth, want_cloud', [
    (False, True), (True, False), (False, False), (True, True)])
def test_wanted_outputs_only(want_depth: bool, want_cloud: bool) -> None:
    result, _ = process_one(RIG, want_depth=want_depth, want_cloud=want_cloud)
    assert (result.depth is not None) == want_depth
    assert (result.cloud is not None) == want_cloud
    assert result.disparity.shape == (240, 320)


def test_cloud_options_follow_config() -> None:
    organized, _ = process_one(RIG)
    assert (organized.cloud.height, organized.cloud.width) == (240, 320)
    assert organized.cloud.point_step == 32 and organized.cloud.fields[-1][0] == 'rgb'
    compact, _ = process_one(RIG, point_cloud_organized=False, use_color=False,
                             avoid_point_cloud_padding=True)
    assert compact.cloud.height == 1
    assert compact.cloud.width == np.isfinite(compact.depth).sum()
    assert compact.cloud.point_step == 12
    assert [name for name, _ in compact.cloud.fields] == ['x', 'y', 'z']
    decimated, _ = process_one(RIG, point_cloud_decimation=2)
    assert (decimated.cloud.height, decimated.cloud.width) == (120, 160)


def test_config_replacement_applies_filters() -> None:
    frame, = scene_frames(RIG, True)
    processor = make_processor()
    clip = make_clip(RIG, [frame])
    before, = processor.process(clip)
    processor.config = processor.config.replace(max_depth=3.0)
    after, = processor.process(clip)
    assert after.disparity_range.low == pytest.approx(FX * BASELINE / 3.0)
    background = frame.depth == NEAR
    assert np.isfinite(before.depth[background]).mean() > 0.5
    # Only mismatches next to occlusions can still pass the 8 px limit on the background.
    assert np.isfinite(after.depth[background]).mean() < 0.02
    finite = np.isfinite(after.depth)
    assert finite.any() and (after.depth[finite] <= 3.0 * 1.0001).all()


class RecordingBackend:
    """Echoes the left clip's red channel, and keeps every clip it was given."""

    default_clip_length = 3

    def __init__(self):
        self.clips = []

    def warmup(self, height: int, width: int, frames: int) -> None:
        pass

    def infer(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        self.clips.append(left)
        return left[..., 0].astype(np.float32)


def test_overlapping_clips_resize_each_frame_once(monkeypatch) -> None:
    rig = StereoRig(64, 48, fx=50.0, baseline=0.1)
    frames = [SyntheticScene(rig, seed=1).frame(i) for i in range(5)]
    calibration = calibration_for(rig)
    clip_frames = [ClipFrame(1000 * i, f.left, f.right, 'cam', calibration)
                   for i, f in enumerate(frames)]
    config = NodeConfig.from_values({**CONFIG, 'inference_width': 32, 'inference_height': 24})
    backend = RecordingBackend()
    processor = StereoProcessor(backend, config)
    calls = []
    original = cv2.resize
    monkeypatch.setattr(cv2, 'resize', lambda image, *a, **k: calls.append(1) or
                        original(image, *a, **k))
    # Warm-up replicas of frame 0, then a stride-1 ring of 3 frames.
    clips = [Clip((clip_frames[0],) * 3, 3)] + [
        Clip(tuple(clip_frames[i - 2:i + 1]), 1) for i in range(2, 5)]
    for clip in clips:
        processor.infer(clip)
    # 5 distinct frames × 2 views, plus each emitted disparity back to the input size.
    assert len(calls) == 2 * 5 + sum(clip.num_new for clip in clips)
    for clip, seen in zip(clips, backend.clips):
        expected = np.stack([original(f.left, (32, 24), interpolation=cv2.INTER_AREA)
                             for f in clip.frames])
        assert np.array_equal(seen, expected)
