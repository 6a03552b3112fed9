# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""OpenCV semi-global block matching, the classical baseline stereo_image_proc uses."""
from __future__ import annotations

import cv2
import numpy as np

MODES = {
    'sgbm': cv2.STEREO_SGBM_MODE_SGBM,
    'hh': cv2.STEREO_SGBM_MODE_HH,
    'sgbm_3way': cv2.STEREO_SGBM_MODE_SGBM_3WAY,
    'hh4': cv2.STEREO_SGBM_MODE_HH4,
}


class SGBMBackend:
    """cv2.StereoSGBM per frame; it has no temporal model, so its natural clip is 1 frame."""

    default_clip_length = 1

    def __init__(self, min_disparity: int = 0, num_disparities: int = 64, block_size: int = 5,
                 p1: int = 0, p2: int = 0, disp12_max_diff: int = 1, pre_filter_cap: int = 63,
                 uniqueness_ratio: int = 10, speckle_window_size: int = 100,
                 speckle_range: int = 2, mode: str = 'sgbm'):
        if num_disparities <= 0 or num_disparities % 16:
            raise ValueError(f'num_disparities must be a positive multiple of 16, '
                             f'got {num_disparities}')
        if block_size < 1 or block_size % 2 == 0:
            raise ValueError(f'block_size must be odd and positive, got {block_size}')
        if mode not in MODES:
            raise ValueError(f'mode must be one of {sorted(MODES)}, got {mode!r}')
        # OpenCV's recommended smoothness penalties for 3-channel input.
        p1 = p1 or 8 * 3 * block_size ** 2
        p2 = p2 or 32 * 3 * block_size ** 2
        if p2 <= p1:
            raise ValueError(f'SGBM needs p2 > p1, got p1={p1}, p2={p2}')
        self._matcher = cv2.StereoSGBM_create(
            minDisparity=min_disparity, numDisparities=num_disparities, blockSize=block_size,
            P1=p1, P2=p2, disp12MaxDiff=disp12_max_diff, preFilterCap=pre_filter_cap,
            uniquenessRatio=uniqueness_ratio, speckleWindowSize=speckle_window_size,
            speckleRange=speckle_range, mode=MODES[mode])
        self._min_disparity = min_disparity

    def warmup(self, height: int, width: int, frames: int) -> None:
        """Nothing to prepare: OpenCV allocates per call."""

    def infer(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 RGB clips -> (T, H, W) float32 disparity, NaN where unmatched."""
        if left.shape != right.shape or left.ndim != 4 or left.shape[-1] != 3:
            raise ValueError(f'expected two (T, H, W, 3) clips of one shape, got {left.shape} '
                             f'and {right.shape}')
        disparity = np.empty(left.shape[:3], dtype=np.float32)
        for t in range(left.shape[0]):
            fixed_point = self._matcher.compute(left[t], right[t])  # int16, 1/16 px
            np.multiply(fixed_point, np.float32(1.0 / 16.0), out=disparity[t])
            # OpenCV marks unmatched pixels with (minDisparity - 1) * 16.
            disparity[t][fixed_point < self._min_disparity * 16] = np.nan
        return disparity
