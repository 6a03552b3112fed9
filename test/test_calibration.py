# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for camera_info validation and scaling (stereo_any_video_ros.calibration)."""
from __future__ import annotations

from typing import Tuple

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest
from sensor_msgs.msg import CameraInfo

from stereo_any_video_ros.calibration import (CalibrationError, check_pair_size, PinholeInfo,
                                              stereo_calibration, StereoCalibration)

FX, CX, CY, BASELINE = 400.0, 319.5, 239.5, 0.12


def make_info(fx: float = FX, fy: float = 0.0, cx: float = CX, cy: float = CY,
              tx: float = 0.0, width: int = 640, height: int = 480, frame_id: str = 'cam',
              k0: float = 0.0) -> PinholeInfo:
    """Return a rectified camera: K = [fx 0 cx; 0 fy cy; 0 0 1], P = [K | (tx, 0, 0)]."""
    fy = fy or fx
    k = (k0 or fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0)
    p = (fx, 0.0, cx, tx, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0)
    return PinholeInfo(width, height, k, p, frame_id)


def make_pair(baseline: float = BASELINE, cx_right: float = CX - 2.5, **right_changes
              ) -> Tuple[PinholeInfo, PinholeInfo]:
    left = make_info()
    fx = right_changes.pop('fx', FX)
    right = make_info(fx=fx, cx=cx_right, tx=-fx * baseline, **right_changes)
    return left, right


def make_msg(width: int = 640, height: int = 480, binning: Tuple[int, int] = (0, 0),
             roi: Tuple[int, int, int, int] = (0, 0, 0, 0), tx: float = 0.0) -> CameraInfo:
    msg = CameraInfo()
    msg.header.frame_id = 'left_optical'
    msg.width, msg.height = width, height
    msg.k = [FX, 0.0, CX, 0.0, FX + 1.0, CY, 0.0, 0.0, 1.0]
    msg.p = [FX, 0.0, CX, tx, 0.0, FX + 1.0, CY, 0.0, 0.0, 0.0, 1.0, 0.0]
    msg.binning_x, msg.binning_y = binning
    msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height = roi
    return msg


# --- valid pairs --------------------------------------------------------------------------------

def test_valid_pair_baseline_and_cx_offset() -> None:
    left, right = make_pair(baseline=0.12, cx_right=CX - 2.5)
    calibration = stereo_calibration(left, right)
    assert calibration.baseline == pytest.approx(-right.p[3] / right.p[0])
    assert calibration.baseline == pytest.approx(0.12)
    assert calibration.cx_offset == pytest.approx(left.cx - right.cx) == pytest.approx(2.5)
    assert calibration.fx == FX
    assert (calibration.width, calibration.height) == (640, 480)
    assert calibration.warnings == []


@settings(max_examples=100, deadline=None)
@given(st.floats(50.0, 5000.0), st.floats(0.01, 2.0), st.floats(-20.0, 20.0))
def test_baseline_from_right_projection(fx: float, baseline: float, cx_shift: float) -> None:
    left = make_info(fx=fx)
    right = make_info(fx=fx, cx=CX + cx_shift, tx=-fx * baseline)
    calibration = stereo_calibration(left, right)
    assert calibration.baseline == pytest.approx(baseline, rel=1e-9)
    assert calibration.cx_offset == pytest.approx(-cx_shift, abs=1e-9)


def test_baseline_override_wins_over_bad_or_good_projection() -> None:
    left, right = make_pair()
    bad_right = make_info(cx=CX - 2.5, tx=0.0)
    assert stereo_calibration(left, bad_right, baseline_override=0.25).baseline == 0.25
    assert stereo_calibration(left, right, baseline_override=0.3).baseline == 0.3


def test_differing_frame_ids_warn_not_fail() -> None:
    left = make_info(frame_id='left_optical')
    right = make_info(cx=CX, tx=-FX * BASELINE, frame_id='right_optical')
    calibration = stereo_calibration(left, right)
    assert len(calibration.warnings) == 1
    assert 'left_optical' in calibration.warnings[0]
    assert 'right_optical' in calibration.warnings[0]


def test_small_rounding_differences_accepted() -> None:
    left = make_info()
    right = make_info(fx=FX * (1 + 5e-4), cy=CY + 0.4, tx=-FX * BASELINE)
    stereo_calibration(left, right)  # no error


def test_equality_ignores_warnings() -> None:
    # ClipBuffer compares calibrations with ==: equal cameras must compare equal.
    left, right = make_pair()
    renamed = PinholeInfo(right.width, right.height, right.k, right.p, 'other')
    assert stereo_calibration(left, right) == stereo_calibration(left, right)
    assert StereoCalibration(left, right, 0.1, ['a']) == StereoCalibration(left, right, 0.1)
    assert stereo_calibration(left, renamed) != stereo_calibration(left, right)
    assert StereoCalibration(left, right, 0.1) != StereoCalibration(left, right, 0.2)


# --- invalid pairs ------------------------------------------------------------------------------

@pytest.mark.parametrize('side', ['left', 'right'])
def test_uncalibrated_camera_rejected(side: str) -> None:
    left, right = make_pair()
    uncalibrated = PinholeInfo(640, 480, (0.0,) * 9, (0.0,) * 12, 'cam')
    pair = (uncalibrated, right) if side == 'left' else (left, uncalibrated)
    with pytest.raises(CalibrationError) as raised:
        stereo_calibration(*pair)
    message = str(raised.value)
    assert f'{side}/camera_info' in message
    assert 'K[0]' in message and 'uncalibrated' in message and 'Calibrate' in message


def test_zero_k0_alone_rejected() -> None:
    left, right = make_pair()
    k_zero = PinholeInfo(640, 480, (0.0,) + left.k[1:], left.p, 'cam')
    with pytest.raises(CalibrationError, match='uncalibrated'):
        stereo_calibration(k_zero, right)


def test_zero_size_rejected() -> None:
    left, right = make_pair()
    with pytest.raises(CalibrationError, match='width and height'):
        stereo_calibration(make_info(width=0), right)


def test_left_with_translation_rejected() -> None:
    left, right = make_pair()
    swapped_left = make_info(tx=-FX * BASELINE)
    with pytest.raises(CalibrationError) as raised:
        stereo_calibration(swapped_left, right)
    message = str(raised.value)
    assert 'left/camera_info' in message and 'P[3]' in message
    assert 'reference' in message and 'swapped' in message


@pytest.mark.parametrize('tx', [0.0, FX * BASELINE])
def test_non_positive_baseline_rejected(tx: float) -> None:
    left = make_info()
    right = make_info(cx=CX, tx=tx)
    with pytest.raises(CalibrationError) as raised:
        stereo_calibration(left, right)
    message = str(raised.value)
    assert 'baseline' in message and 'not positive' in message
    assert 'baseline_override' in message and 'swapped' in message


def test_fx_mismatch_rejected() -> None:
    left, right = make_pair(fx=FX * 1.01)
    with pytest.raises(CalibrationError) as raised:
        stereo_calibration(left, right)
    message = str(raised.value)
    assert 'fx differs' in message and 'same stereo rectification' in message


def test_cy_mismatch_rejected() -> None:
    left, right = make_pair(cy=CY + 3.0)
    with pytest.raises(CalibrationError) as raised:
        stereo_calibration(left, right)
    message = str(raised.value)
    assert 'cy differs' in message and 'rectified' in message


def test_size_mismatch_rejected() -> None:
    left = make_info()
    right = make_info(cx=CX, tx=-FX * BASELINE, width=320, height=240)
    with pytest.raises(CalibrationError) as raised:
        stereo_calibration(left, right)
    message = str(raised.value)
    assert '640x480' in message and '320x240' in message and 'one size' in message


# --- CameraInfo messages ------------------------------------------------------------------------

def test_from_msg_plain() -> None:
    msg = make_msg()
    info = PinholeInfo.from_msg(msg)
    assert (info.width, info.height) == (640, 480)
    assert info.k == tuple(msg.k) and info.p == tuple(msg.p)
    assert all(isinstance(v, float) for v in info.k + info.p)
    assert info.frame_id == 'left_optical'
    assert (info.fx, info.fy, info.cx, info.cy) == (FX, FX + 1.0, CX, CY)


@pytest.mark.parametrize('binning, roi, size', [
    ((1, 1), (0, 0, 0, 0), (640, 480)),
    ((2, 2), (0, 0, 0, 0), (320, 240)),
    ((2, 4), (0, 0, 0, 0), (320, 120)),
    ((0, 0), (100, 40, 320, 200), (320, 200)),
    ((2, 2), (100, 40, 320, 200), (160, 100)),
])
def test_from_msg_size_with_roi_and_binning(binning, roi, size) -> None:
    info = PinholeInfo.from_msg(make_msg(binning=binning, roi=roi))
    assert (info.width, info.height) == size


@pytest.mark.parametrize('binning, roi', [
    ((2, 2), (0, 0, 0, 0)),
    ((2, 4), (0, 0, 0, 0)),
    ((1, 1), (100, 40, 320, 200)),
    ((2, 2), (100, 40, 320, 200)),
])
def test_from_msg_intrinsics_match_binned_roi_image(binning, roi) -> None:
    # CameraInfo K and P are in full-resolution sensor pixels (REP 104); an image taken with
    # ROI and binning has the principal point moved by the ROI offset and everything divided
    # by the binning (image_geometry.PinholeCameraModel does the same). width/height are
    # reduced, so fx, fy, cx, cy must describe the reduced image too.
    msg = make_msg(binning=binning, roi=roi, tx=-FX * BASELINE)
    info = PinholeInfo.from_msg(msg)
    bx, by = binning
    x_offset, y_offset = roi[:2]
    assert info.fx == pytest.approx(msg.p[0] / bx)
    assert info.fy == pytest.approx(msg.p[5] / by)
    assert info.cx == pytest.approx((msg.p[2] - x_offset) / bx)
    assert info.cy == pytest.approx((msg.p[6] - y_offset) / by)
    # The baseline does not depend on binning.
    assert -info.p[3] / info.p[0] == pytest.approx(BASELINE)


def test_from_msg_pair_validates() -> None:
    left_msg = make_msg()
    right_msg = make_msg(tx=-FX * BASELINE)
    right_msg.header.frame_id = 'left_optical'
    calibration = stereo_calibration(PinholeInfo.from_msg(left_msg),
                                     PinholeInfo.from_msg(right_msg))
    assert calibration.baseline == pytest.approx(BASELINE)
    assert calibration.warnings == []


# --- scaling ------------------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(st.integers(16, 4000), st.integers(16, 4000))
def test_scaled_info(width: int, height: int) -> None:
    info = make_info(fx=FX, fy=FX + 2.0, tx=-FX * BASELINE, frame_id='f')
    scaled = info.scaled(width, height)
    sx, sy = width / info.width, height / info.height
    assert (scaled.width, scaled.height, scaled.frame_id) == (width, height, 'f')
    assert scaled.fx == pytest.approx(info.fx * sx)
    assert scaled.cx == pytest.approx(info.cx * sx)
    assert scaled.p[3] == pytest.approx(info.p[3] * sx)
    assert scaled.fy == pytest.approx(info.fy * sy)
    assert scaled.cy == pytest.approx(info.cy * sy)
    assert scaled.k[0] == pytest.approx(info.k[0] * sx)
    assert scaled.k[2] == pytest.approx(info.k[2] * sx)
    assert scaled.k[4] == pytest.approx(info.k[4] * sy)
    assert scaled.k[5] == pytest.approx(info.k[5] * sy)
    assert scaled.k[8] == 1.0 and scaled.p[10] == 1.0
    assert -scaled.p[3] / scaled.p[0] == pytest.approx(BASELINE)


def test_scaled_calibration_keeps_baseline() -> None:
    left, right = make_pair(baseline=0.2, cx_right=CX - 4.0)
    calibration = stereo_calibration(left, right)
    half = calibration.scaled(320, 240)
    assert (half.width, half.height) == (320, 240)
    assert half.baseline == calibration.baseline
    assert half.fx == pytest.approx(calibration.fx / 2)
    assert half.cx_offset == pytest.approx(calibration.cx_offset / 2)
    # The scaled pair is still a valid rectified pair with the same baseline.
    assert stereo_calibration(half.left, half.right).baseline == pytest.approx(0.2)


# --- image sizes --------------------------------------------------------------------------------

def test_check_pair_size() -> None:
    calibration = stereo_calibration(*make_pair())
    check_pair_size(calibration, (480, 640, 3), (480, 640, 3))
    check_pair_size(calibration, (480, 640), (480, 640))
    with pytest.raises(CalibrationError) as raised:
        check_pair_size(calibration, (480, 640, 3), (480, 600, 3))
    assert 'left image is 640x480' in str(raised.value)
    assert 'right image is 600x480' in str(raised.value)
    with pytest.raises(CalibrationError) as raised:
        check_pair_size(calibration, (240, 320, 3), (240, 320, 3))
    message = str(raised.value)
    assert '320x240' in message and 'camera_info says 640x480' in message
