# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Dataset readers by name, for ``eval --dataset NAME``.

Stereo video (GT disparity): ``stereo-folder`` (our generic layout), ``sintel``,
``kitti2015``, ``kitti-depth``, ``middlebury2014``, ``dynamic-replica`` and
``skimage-motorcycle`` (Middlebury 2014 Motorcycle as scikit-image ships it). Monocular video
(GT depth): ``depth-folder`` (generic), ``sintel-depth``, ``bonn``, ``tum``, ``scannet`` and
``depthcrafter-benchmark`` (the csv + mp4 + npz files DepthCrafter's and StereoDiff's tables
are computed on).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Union

from stereo_any_video_ros.evaluation.datasets.base import (
    DatasetError, DepthSample, DepthSequence, FrameSelection, metric_depth, StereoSample,
    StereoSequence)
from stereo_any_video_ros.evaluation.datasets.depth import DEPTH_READERS
from stereo_any_video_ros.evaluation.datasets.depthcrafter_benchmark import (
    read_depthcrafter_benchmark)
from stereo_any_video_ros.evaluation.datasets.skimage_data import read_skimage_motorcycle
from stereo_any_video_ros.evaluation.datasets.stereo import STEREO_READERS

Reader = Callable[..., List[Union[StereoSequence, DepthSequence]]]
READERS: Dict[str, Reader] = {**STEREO_READERS, **DEPTH_READERS,
                              'depthcrafter-benchmark': read_depthcrafter_benchmark,
                              'skimage-motorcycle': read_skimage_motorcycle}


def open_dataset(name: str, root: str, **options: Any
                 ) -> List[Union[StereoSequence, DepthSequence]]:
    """The sequences of dataset ``name`` under ``root``; ``options`` a reader does not take
    (e.g. ``pass_name`` for KITTI) are left out, so one call serves every reader."""
    try:
        reader = READERS[name]
    except KeyError:
        raise DatasetError(f'unknown dataset {name!r}; known: {", ".join(sorted(READERS))}'
                           ) from None
    accepted = inspect.signature(reader).parameters
    return reader(root, **{k: v for k, v in options.items() if k in accepted})


__all__ = ['DatasetError', 'DepthSample', 'DepthSequence', 'FrameSelection', 'metric_depth',
           'open_dataset', 'READERS', 'StereoSample', 'StereoSequence']
