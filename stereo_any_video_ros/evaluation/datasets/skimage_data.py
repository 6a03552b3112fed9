# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Middlebury 2014 *Motorcycle* as scikit-image ships it: real stereo with GT, no download.

``skimage.data.stereo_motorcycle()`` gives the default-exposure pair of the Middlebury 2014
training scene, down-sampled 4× (741×500), with GT disparity (+inf = no GT, read here as
NaN). Its calibration
is in the function's documentation; it is repeated here because the function returns none.
"""
from __future__ import annotations

from typing import List

import numpy as np
from stereo_any_video_ros.calibration import PinholeInfo, stereo_calibration
from stereo_any_video_ros.evaluation.datasets.base import (
    DatasetError, StereoSample, StereoSequence)

# From the docstring of skimage.data.stereo_motorcycle (valid for the down-sampled images).
FOCAL_PX = 994.978
CX_LEFT, CY = 311.193, 254.877
DOFFS_PX = 31.086  # cx_right - cx_left
BASELINE_M = 0.193001


def read_skimage_motorcycle(root: str = '') -> List[StereoSequence]:
    """One 1-frame sequence, 'motorcycle'; ``root`` is unused (the data ships with
    scikit-image)."""
    try:
        from skimage import data
    except ImportError:
        raise DatasetError('the skimage-motorcycle dataset needs scikit-image '
                           '(pip install scikit-image)') from None
    left, right, disparity = data.stereo_motorcycle()
    height, width = disparity.shape
    cx_right = CX_LEFT + DOFFS_PX
    left_info = PinholeInfo(width, height, (FOCAL_PX, 0, CX_LEFT, 0, FOCAL_PX, CY, 0, 0, 1),
                            (FOCAL_PX, 0, CX_LEFT, 0, 0, FOCAL_PX, CY, 0, 0, 0, 1, 0))
    right_info = PinholeInfo(width, height, (FOCAL_PX, 0, cx_right, 0, FOCAL_PX, CY, 0, 0, 1),
                             (FOCAL_PX, 0, cx_right, -FOCAL_PX * BASELINE_M, 0, FOCAL_PX, CY,
                              0, 0, 0, 1, 0))
    # Middlebury's principal points differ in x by doffs, which stereo_calibration accepts
    # as a horizontal offset of a rectified pair.
    calibration = stereo_calibration(left_info, right_info)
    disparity = np.where(np.isfinite(disparity), disparity, np.nan).astype(np.float32)
    sample = StereoSample(np.ascontiguousarray(left), np.ascontiguousarray(right), disparity)

    def load(index: int) -> StereoSample:
        return sample

    return [StereoSequence('motorcycle', 1, load, calibration,
                           'skimage.data.stereo_motorcycle (Middlebury 2014, 1/4 size)')]
