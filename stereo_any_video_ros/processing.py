# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""clip -> backend -> per-frame disparity, depth and cloud arrays, ROS-free.

This is everything the node does to a clip between synchronization and publishing, so the
whole numeric path is tested without rclpy and the node only fills messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from stereo_any_video_ros.backends import StereoBackend
from stereo_any_video_ros.calibration import StereoCalibration
from stereo_any_video_ros.clip import Clip, ClipFrame
from stereo_any_video_ros.geometry import (
    correct_disparity, depth_to_millimetres, disparity_to_depth, DisparityRange, PointCloud,
    PointCloudBuilder, resize_disparity, valid_window)
from stereo_any_video_ros.models.checkpoint import CheckpointError
from stereo_any_video_ros.params import NodeConfig


@dataclass(frozen=True)
class FrameResult:
    """Everything published for one stereo pair, at the output resolution."""

    frame: ClipFrame
    calibration: StereoCalibration
    disparity: np.ndarray  # (H, W) float32, invalid = config.invalid_disparity_value
    disparity_range: DisparityRange
    valid_window: Tuple[int, int, int, int]  # x, y, width, height
    depth: Optional[np.ndarray]  # float32 metres (NaN invalid) or uint16 mm (0 invalid)
    cloud: Optional[PointCloud]


class StereoProcessor:
    """Runs a backend on clips and turns its raw disparity into the published quantities.

    `config` may be replaced between calls to apply dynamic filter parameters.
    """

    def __init__(self, backend: StereoBackend, config: NodeConfig):
        self.backend = backend
        self.config = config
        self._cloud_builder = PointCloudBuilder()
        # id(frame) -> (frame, resized left, resized right) for the last clip's frames: with
        # clip_stride < clip_length consecutive clips share frames, and each is resized once.
        self._resized: Dict[int, Tuple[ClipFrame, np.ndarray, np.ndarray]] = {}

    def _inference_size(self, width: int, height: int) -> Tuple[int, int]:
        if self.config.inference_width:
            return self.config.inference_width, self.config.inference_height
        return width, height

    def infer(self, clip: Clip) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Raw disparity x_l - x_r of the clip's new frames at the output resolution.

        Returns (num_new, H_out, W_out) float32 and, when the output is at the inference
        resolution, the resized left images (num_new, H_out, W_out, 3) for colouring clouds.
        """
        height, width = clip.frames[0].left.shape[:2]
        inference_width, inference_height = self._inference_size(width, height)
        resized = (inference_width, inference_height) != (width, height)
        if resized:
            left, right = self._resized_clip(clip, inference_width, inference_height)
        else:
            left, right = clip.stacked()  # (T, H, W, 3)
        raw = self.backend.infer(left, right)[clip.emitted]  # (N, h, w)
        if not resized:
            return raw, None
        if self.config.output_resolution == 'inference':
            return raw, left[clip.emitted]
        return np.stack([resize_disparity(d, width, height) for d in raw]), None

    def _resized_clip(self, clip: Clip, width: int, height: int
                      ) -> Tuple[np.ndarray, np.ndarray]:
        """The clip at the inference size, (T, h, w, 3) left and right."""
        interpolation = cv2.INTER_AREA if width < clip.frames[0].left.shape[1] \
            else cv2.INTER_LINEAR
        cache = {}
        for frame in clip.frames:
            entry = self._resized.get(id(frame)) or cache.get(id(frame))
            if entry is None or entry[0] is not frame:  # ids of freed frames get reused
                entry = (frame, *(cv2.resize(image, (width, height), interpolation=interpolation)
                                  for image in (frame.left, frame.right)))
            cache[id(frame)] = entry
        self._resized = cache
        return (np.stack([cache[id(frame)][1] for frame in clip.frames]),
                np.stack([cache[id(frame)][2] for frame in clip.frames]))

    def output_calibration(self, calibration: StereoCalibration) -> StereoCalibration:
        """The calibration that goes with published images."""
        if self.config.output_resolution == 'inference' and self.config.inference_width:
            return calibration.scaled(self.config.inference_width, self.config.inference_height)
        return calibration

    def finish(self, frame: ClipFrame, raw_disparity: np.ndarray,
               resized_left: Optional[np.ndarray] = None,
               want_depth: bool = True, want_cloud: bool = True) -> FrameResult:
        """Turn one frame's raw disparity into its published quantities."""
        config = self.config
        calibration = self.output_calibration(frame.calibration)
        disparity_range = DisparityRange.from_limits(
            calibration.fx, calibration.baseline, config.min_depth, config.max_depth,
            config.min_disparity, config.max_disparity)
        disparity = correct_disparity(raw_disparity, calibration.cx_offset, disparity_range)
        valid = np.isfinite(disparity)
        depth = None
        cloud = None
        if want_depth or want_cloud:
            metres = disparity_to_depth(disparity, calibration.fx, calibration.baseline)
            if want_cloud:
                left = calibration.left
                rgb = (resized_left if resized_left is not None else frame.left) \
                    if config.use_color else None
                cloud = self._cloud_builder.build(
                    metres, left.fx, left.fy, left.cx, left.cy, rgb,
                    decimation=config.point_cloud_decimation,
                    organized=config.point_cloud_organized,
                    padded=not config.avoid_point_cloud_padding,
                    max_depth=config.point_cloud_max_depth)
            if want_depth:
                depth = metres if config.depth_encoding == '32FC1' else \
                    depth_to_millimetres(metres)
        window = valid_window(valid)
        if config.invalid_disparity_value == 0.0:
            disparity[~valid] = 0.0
        return FrameResult(frame, calibration, disparity, disparity_range, window, depth, cloud)

    def process(self, clip: Clip, want_depth: bool = True, want_cloud: bool = True
                ) -> List[FrameResult]:
        """Run the backend once and finish every new frame of the clip."""
        raw, resized_left = self.infer(clip)
        return [self.finish(frame, raw[i],
                            None if resized_left is None else resized_left[i],
                            want_depth, want_cloud)
                for i, frame in enumerate(clip.new_frames)]


# -- whole recorded sequences (bag tool, evaluation) --------------------------------------------

SequenceInference = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


def sequence_inference(config: NodeConfig) -> SequenceInference:
    """(left, right, out) → raw disparity x_l − x_r for the whole sequence, at the input size,
    through the backend's offline path: SAV's official windows, SGBM frame by frame."""
    if config.backend == 'sav':
        from stereo_any_video_ros.engines.sav import SavEngine
        if not config.checkpoint:
            raise CheckpointError('--method sav needs --sav-checkpoint: the local '
                                  'StereoAnyVideo_MIX.pth or _SF.pth (see the README)')
        engine = SavEngine.from_checkpoint(config.checkpoint, config.sav_vda_checkpoint or None,
                                           config.device, config.precision, config.sav_iters)

        def run(left, right):
            return engine.infer_sequence(left, right, progress=True)
    else:
        from stereo_any_video_ros.backends import create_backend
        backend = create_backend('sgbm', config.backend_options())

        def run(left, right):
            return backend.infer(left, right)

    def infer(left: np.ndarray, right: np.ndarray, out: np.ndarray) -> None:
        height, width = left.shape[1:3]
        size = (config.inference_height, config.inference_width) if config.inference_width \
            else (height, width)
        if size == (height, width):
            out[:] = run(left, right)
            return
        interpolation = cv2.INTER_AREA if size[0] < height else cv2.INTER_LINEAR
        small = [np.stack([cv2.resize(image, size[::-1], interpolation=interpolation)
                           for image in images]) for images in (left, right)]
        for k, disparity in enumerate(run(*small)):
            out[k] = resize_disparity(disparity, width, height)
    return infer
