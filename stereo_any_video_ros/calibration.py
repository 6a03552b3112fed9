# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Rectified stereo calibration from a pair of camera_info messages, validated.

`PinholeInfo.from_msg` reads any object with sensor_msgs/CameraInfo field names, so rclpy
messages, rosbags dataclasses and test doubles all work.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Tuple

import numpy as np


class CalibrationError(ValueError):
    """camera_info that cannot describe a rectified stereo pair; the text says how to fix it."""


@dataclass(frozen=True)
class PinholeInfo:
    """The parts of a CameraInfo that rectified stereo needs."""

    width: int
    height: int
    k: Tuple[float, ...]  # row-major 3x3
    p: Tuple[float, ...]  # row-major 3x4
    frame_id: str = ''

    @classmethod
    def from_msg(cls, msg: Any) -> 'PinholeInfo':
        """Read a CameraInfo for the image it describes, ROI and binning applied.

        K and P are in full-resolution sensor pixels; an image cropped to the ROI and binned
        has its principal point moved by the ROI offset and every pixel quantity divided by
        the binning (as image_geometry's PinholeCameraModel does).
        """
        binning_x = max(int(msg.binning_x), 1)
        binning_y = max(int(msg.binning_y), 1)
        roi = msg.roi
        width = roi.width if roi.width else msg.width
        height = roi.height if roi.height else msg.height
        k = np.asarray(msg.k, dtype=np.float64).reshape(3, 3).copy()
        p = np.asarray(msg.p, dtype=np.float64).reshape(3, 4).copy()
        k[0, 2] -= roi.x_offset
        k[1, 2] -= roi.y_offset
        p[0, 2] -= roi.x_offset
        p[1, 2] -= roi.y_offset
        scale = np.array([[1.0 / binning_x], [1.0 / binning_y], [1.0]])
        return cls(width=int(width) // binning_x, height=int(height) // binning_y,
                   k=tuple((k * scale).ravel()), p=tuple((p * scale).ravel()),
                   frame_id=msg.header.frame_id)

    @property
    def fx(self) -> float:
        return self.p[0]

    @property
    def fy(self) -> float:
        return self.p[5]

    @property
    def cx(self) -> float:
        return self.p[2]

    @property
    def cy(self) -> float:
        return self.p[6]

    def scaled(self, width: int, height: int) -> 'PinholeInfo':
        """The same camera at another resolution (image_proc ResizeNode rule)."""
        sx, sy = width / self.width, height / self.height
        k = np.asarray(self.k).reshape(3, 3) * [[sx], [sy], [1.0]]
        p = np.asarray(self.p).reshape(3, 4) * [[sx], [sy], [1.0]]
        return PinholeInfo(width, height, tuple(k.ravel()), tuple(p.ravel()), self.frame_id)


@dataclass(frozen=True)
class StereoCalibration:
    """A validated rectified pair. Disparity d (x_l - x_r - (cx_l - cx_r)) -> Z = fx*B/d."""

    left: PinholeInfo
    right: PinholeInfo
    baseline: float
    warnings: List[str] = field(default_factory=list, compare=False)

    @property
    def fx(self) -> float:
        return self.left.fx

    @property
    def cx_offset(self) -> float:
        """cx_l - cx_r, subtracted once from raw network disparity."""
        return self.left.cx - self.right.cx

    @property
    def width(self) -> int:
        return self.left.width

    @property
    def height(self) -> int:
        return self.left.height

    def scaled(self, width: int, height: int) -> 'StereoCalibration':
        """The pair at another resolution; the baseline does not change."""
        return StereoCalibration(self.left.scaled(width, height),
                                 self.right.scaled(width, height), self.baseline,
                                 self.warnings)


def stereo_calibration(left: PinholeInfo, right: PinholeInfo,
                       baseline_override: float = 0.0,
                       fx_tolerance: float = 1e-3, cy_tolerance: float = 0.5,
                       ) -> StereoCalibration:
    """Validate a left/right pair and derive the baseline.

    fx_tolerance is relative, cy_tolerance in pixels: a rectified pair shares both exactly,
    so anything beyond rounding means the images are not rectified together.
    """
    for side, info in (('left', left), ('right', right)):
        if info.k[0] == 0.0 or info.p[0] == 0.0:
            raise CalibrationError(
                f'{side}/camera_info has K[0] = {info.k[0]} and P[0] = {info.p[0]}: the camera '
                'is uncalibrated. Calibrate it (camera_calibration) and publish the '
                'rectified camera_info.')
        if info.width <= 0 or info.height <= 0:
            raise CalibrationError(
                f'{side}/camera_info has size {info.width}x{info.height}; set width and height.')
    if abs(left.p[3]) > 1e-9 * max(abs(left.p[0]), 1.0):
        raise CalibrationError(
            f'left/camera_info has P[3] = {left.p[3]}, expected 0: the left camera must be the '
            'reference of the rectified pair. Are left and right swapped?')
    if baseline_override > 0.0:
        baseline = baseline_override
    else:
        baseline = -right.p[3] / right.p[0]
        if not baseline > 0.0:
            raise CalibrationError(
                f'baseline -P_right[3]/P_right[0] = {baseline:.6g} m is not positive '
                f'(right P[3] = {right.p[3]}). Are left and right swapped? Fix the right '
                'camera_info or set baseline_override (metres).')
    if abs(left.fx - right.fx) > fx_tolerance * abs(left.fx):
        raise CalibrationError(
            f'rectified fx differs: left {left.fx}, right {right.fx}. Both camera_infos must '
            'come from the same stereo rectification.')
    if abs(left.cy - right.cy) > cy_tolerance:
        raise CalibrationError(
            f'rectified cy differs: left {left.cy}, right {right.cy}. Rows are not aligned; '
            'publish the rectified camera_info of both cameras.')
    if (left.width, left.height) != (right.width, right.height):
        raise CalibrationError(
            f'left camera_info is {left.width}x{left.height} but right is '
            f'{right.width}x{right.height}; rectified pairs share one size.')
    warnings = []
    if left.frame_id != right.frame_id:
        warnings.append(
            f"left and right camera_info frame_ids differ ('{left.frame_id}' vs "
            f"'{right.frame_id}'); outputs use the left frame.")
    return StereoCalibration(left, right, baseline, warnings)


def check_pair_size(calibration: StereoCalibration, left_shape: Tuple[int, ...],
                    right_shape: Tuple[int, ...]) -> None:
    """Raise if the two images differ in size or do not have the size camera_info gives."""
    (left_height, left_width), (right_height, right_width) = left_shape[:2], right_shape[:2]
    if (left_width, left_height) != (right_width, right_height):
        raise CalibrationError(
            f'left image is {left_width}x{left_height} but right image is '
            f'{right_width}x{right_height}; subscribe both to rectified images of one size.')
    if (left_width, left_height) != (calibration.width, calibration.height):
        raise CalibrationError(
            f'images are {left_width}x{left_height} but camera_info says '
            f'{calibration.width}x{calibration.height}; publish the camera_info that belongs '
            'to these images (after any resize, ROI or binning).')
