# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""What every dataset reader returns: sequences that load one frame at a time.

A stereo reader returns ``StereoSequence`` objects (left/right RGB and GT disparity); a
monocular reader returns ``DepthSequence`` objects (RGB and GT metric depth). Frames are read
lazily, so a 1000-frame sequence costs nothing until a frame is asked for. Missing ground
truth is NaN, never 0, so no metric can mistake it for a value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from stereo_any_video_ros.calibration import StereoCalibration


class DatasetError(ValueError):
    """A dataset folder that is not what its reader expects; the text says what is wrong."""


@dataclass(frozen=True)
class StereoSample:
    left: np.ndarray       # (H, W, 3) uint8 RGB
    right: np.ndarray      # (H, W, 3) uint8 RGB
    disparity: np.ndarray  # (H, W) float32 px, positive, NaN where there is no GT
    # (H, W) bool: extra pixels to evaluate on (e.g. non-occluded), None = all GT pixels
    valid: Optional[np.ndarray] = None


@dataclass(frozen=True)
class DepthSample:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    depth: np.ndarray  # (H, W) float32 metres, NaN where there is no GT


@dataclass
class StereoSequence:
    """A rectified stereo video with GT disparity; ``load(i)`` reads frame i from disk."""

    name: str
    length: int
    load: Callable[[int], StereoSample]
    # Rectified pair at the GT resolution, when the dataset gives one (needed for depth).
    calibration: Optional[StereoCalibration] = None
    # Where the frames came from, for error messages and the JSON report.
    source: str = ''

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> StereoSample:
        if not 0 <= index < self.length:
            raise IndexError(f'{self.name} has {self.length} frames, asked for {index}')
        return self.load(index)


@dataclass
class DepthSequence:
    """A monocular video with GT metric depth; ``load(i)`` reads frame i from disk."""

    name: str
    length: int
    load: Callable[[int], DepthSample]
    # The depth cap of the evaluation protocols for this dataset (DepthCrafter's list:
    # Sintel 70, ScanNet 10, KITTI 80, Bonn 10, NYU 10), in metres.
    max_depth: float
    source: str = ''
    # Frames the DepthCrafter protocol evaluates (its `seq_len`); None = all of them.
    protocol_frames: Optional[int] = None
    # The MonST3R protocol's own caps (depth_metric.ipynb): Sintel 70 with the aligned
    # depth clipped at 70, Bonn 70, KITTI none.
    monst3r_max_depth: Optional[float] = None
    monst3r_post_clip: Optional[float] = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> DepthSample:
        if not 0 <= index < self.length:
            raise IndexError(f'{self.name} has {self.length} frames, asked for {index}')
        return self.load(index)


@dataclass(frozen=True)
class FrameSelection:
    """Which frames of a sequence an evaluation reads: every n-th, at most ``max_frames``."""

    every_n: int = 1
    max_frames: Optional[int] = None

    def __post_init__(self) -> None:
        if self.every_n < 1:
            raise ValueError(f'every_n must be >= 1, got {self.every_n}')
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f'max_frames must be >= 1, got {self.max_frames}')

    def indices(self, length: int) -> Sequence[int]:
        return range(0, length, self.every_n)[:self.max_frames]


def metric_depth(disparity: np.ndarray, calibration: StereoCalibration) -> np.ndarray:
    """Depth fx·B/(d − (cx_l − cx_r)) in metres of (..., H, W) raw disparity; NaN where the
    disparity is missing or not positive. The calibration is rescaled to the array's size."""
    height, width = disparity.shape[-2:]
    if (calibration.width, calibration.height) != (width, height):
        calibration = calibration.scaled(width, height)
    corrected = disparity - np.float32(calibration.cx_offset)
    with np.errstate(divide='ignore', invalid='ignore'):
        depth = (np.float32(calibration.fx * calibration.baseline) / corrected).astype(np.float32)
    depth[~(np.isfinite(corrected) & (corrected > 0))] = np.nan
    return depth


__all__ = ['DatasetError', 'DepthSample', 'DepthSequence', 'FrameSelection',
           'StereoSample', 'StereoSequence', 'metric_depth']
