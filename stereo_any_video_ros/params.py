# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The sav_node parameter table, ROS-free.

One table drives everything that names a parameter: the node declares its descriptors from it,
config/sav.yaml and launch/sav.launch.py are checked against it, and `NodeConfig` turns the
values into one validated object. Names follow stereo_image_proc where it has one.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
import math
from typing import Any, Mapping, Optional, Tuple, Union

Value = Union[bool, int, float, str]
NEURAL_BACKENDS = ('sav',)


@dataclass(frozen=True)
class ParamSpec:
    """One node parameter: default, help text and the values it accepts."""

    name: str
    default: Value
    description: str
    range: Optional[Tuple[float, float, float]] = None  # (min, max, step); step 0 = any
    choices: Tuple[str, ...] = ()
    # Cheap output filters may change at run time; everything else needs a restart.
    dynamic: bool = False

    def check(self, value: Any) -> Optional[str]:
        """Return why `value` is not acceptable, or None."""
        if type(value) is not type(self.default):
            # ROS passes integers for doubles written without a decimal point in YAML.
            if not (isinstance(self.default, float) and type(value) is int):
                return (f'{self.name} must be a {type(self.default).__name__}, '
                        f'got {value!r}')
        if self.choices and value not in self.choices:
            return f'{self.name} must be one of {list(self.choices)}, got {value!r}'
        if self.range is not None:
            low, high, step = self.range
            if not low <= value <= high:  # also rejects NaN
                return f'{self.name} must lie in [{low}, {high}], got {value!r}'
            if step and (value - low) % step:
                return f'{self.name} must be {low} plus a multiple of {step}, got {value!r}'
        return None


_SPECS = (
    # sync
    ParamSpec('approximate_sync', False,
              'Match left/right by nearest stamp within a tolerance instead of exact stamps.'),
    ParamSpec('approximate_sync_tolerance_seconds', 0.0,
              'Slop for approximate_sync; 0 = half the measured frame period.',
              range=(0.0, 10.0, 0.0)),
    ParamSpec('queue_size', 5, 'Per-image sync queue length.', range=(1, 100, 1)),
    # io
    ParamSpec('image_transport', 'raw',
              'raw subscribes Image; compressed subscribes <topic>/compressed.',
              choices=('raw', 'compressed')),
    ParamSpec('frame_id', '', 'Output frame override; empty keeps the left image frame_id.'),
    ParamSpec('baseline_override', 0.0,
              'Baseline in metres; 0 uses -P_right[3]/P_right[0] from camera_info.',
              range=(0.0, 100.0, 0.0)),
    # clip
    ParamSpec('clip_length', 0, 'Frames per clip; 0 = the backend default.',
              range=(0, 32, 1)),
    ParamSpec('clip_stride', 1, 'Run the backend every N new pairs (at most clip_length).',
              range=(1, 32, 1)),
    ParamSpec('output_delay_frames', 0,
              'Publish the frames this many pairs older than the newest of each clip: 0 gives '
              'the lowest latency; clip_length/2 gives each frame context on both sides.',
              range=(0, 31, 1)),
    ParamSpec('warmup', 'replicate',
              'Before a clip is full: replicate the first frame, or wait for clip_length frames.',
              choices=('replicate', 'wait')),
    ParamSpec('max_frame_gap_seconds', 0.5,
              'Reset the clip when consecutive pairs are further apart than this.',
              range=(0.0, 3600.0, 0.0)),
    ParamSpec('max_pending_pairs', 2,
              'Pairs waiting for the worker; overflow drops the oldest.', range=(1, 100, 1)),
    # model
    ParamSpec('backend', 'sgbm', 'Stereo backend: sgbm (OpenCV) or sav (Stereo Any Video).',
              choices=('sgbm', 'sav')),
    ParamSpec('checkpoint', '',
              'Weights of a neural backend: for sav the official StereoAnyVideo_MIX.pth or '
              'StereoAnyVideo_SF.pth (local path; nothing is downloaded).'),
    ParamSpec('device', 'cuda:0',
              'Torch device for neural backends (cpu, cuda, cuda:N); sgbm runs on the CPU.'),
    ParamSpec('precision', 'fp16', 'Neural backend precision; sgbm ignores it.',
              choices=('fp32', 'fp16', 'bf16')),
    ParamSpec('inference_width', 0, 'Backend input width; 0 = native.', range=(0, 8192, 1)),
    ParamSpec('inference_height', 0, 'Backend input height; 0 = native.', range=(0, 8192, 1)),
    ParamSpec('output_resolution', 'input',
              'input: upsample disparity to the image size; inference: publish at the '
              'inference size with scaled camera_info.',
              choices=('input', 'inference')),
    # filter
    ParamSpec('min_disparity', 0.0,
              'Smallest valid disparity (px); 0 = f*t/max_depth.', range=(0.0, 10000.0, 0.0),
              dynamic=True),
    ParamSpec('max_disparity', 0.0,
              'Largest valid disparity (px); 0 = f*t/min_depth.', range=(0.0, 10000.0, 0.0),
              dynamic=True),
    ParamSpec('min_depth', 0.1, 'Nearest valid depth (m).', range=(0.001, 1000.0, 0.0),
              dynamic=True),
    ParamSpec('max_depth', 20.0, 'Farthest valid depth (m).', range=(0.001, 10000.0, 0.0),
              dynamic=True),
    ParamSpec('delta_d', 0.0625, 'DisparityImage.delta_d (px).', range=(0.0, 16.0, 0.0),
              dynamic=True),
    ParamSpec('invalid_disparity_value', 0.0,
              'Value written to invalid disparity pixels: 0.0 or nan.', dynamic=True),
    # depth
    ParamSpec('depth_encoding', '32FC1',
              '32FC1 = metres, NaN invalid; 16UC1 = millimetres, 0 invalid.',
              choices=('32FC1', '16UC1'), dynamic=True),
    # cloud
    ParamSpec('use_color', True, 'Add rgb from the left image to points2.', dynamic=True),
    ParamSpec('avoid_point_cloud_padding', False,
              'Pack xyz+rgb in 16 B/pt instead of the PCL-padded 32 B/pt.', dynamic=True),
    ParamSpec('point_cloud_decimation', 1, 'Pixel stride of points2.', range=(1, 16, 1),
              dynamic=True),
    ParamSpec('point_cloud_organized', True,
              'true: H x W cloud with NaN points; false: valid points only.', dynamic=True),
    ParamSpec('point_cloud_max_depth', 0.0, 'Extra depth cap for points2 (m); 0 = off.',
              range=(0.0, 10000.0, 0.0), dynamic=True),
    ParamSpec('point_cloud_rate', 0.0, 'Rate cap for points2 (Hz); 0 = every frame.',
              range=(0.0, 1000.0, 0.0), dynamic=True),
    # publishers
    ParamSpec('publish_disparity', True, 'Create the disparity publisher.'),
    ParamSpec('publish_depth', True, 'Create the depth/image_rect and depth/camera_info '
              'publishers.'),
    ParamSpec('publish_point_cloud', True, 'Create the points2 publisher.'),
    # sgbm backend (cv2.StereoSGBM_create arguments)
    ParamSpec('sgbm.min_disparity', 0, 'SGBM minDisparity (px).', range=(-256, 256, 1)),
    ParamSpec('sgbm.num_disparities', 64, 'SGBM numDisparities (px, multiple of 16).',
              range=(16, 512, 16)),
    ParamSpec('sgbm.block_size', 5, 'SGBM blockSize (odd).', range=(1, 31, 2)),
    ParamSpec('sgbm.p1', 0, 'SGBM P1; 0 = 8*3*block_size^2.', range=(0, 100000, 1)),
    ParamSpec('sgbm.p2', 0, 'SGBM P2; 0 = 32*3*block_size^2.', range=(0, 100000, 1)),
    ParamSpec('sgbm.disp12_max_diff', 1, 'SGBM disp12MaxDiff; -1 disables the check.',
              range=(-1, 512, 1)),
    ParamSpec('sgbm.pre_filter_cap', 63, 'SGBM preFilterCap.', range=(1, 255, 1)),
    ParamSpec('sgbm.uniqueness_ratio', 10, 'SGBM uniquenessRatio (%).', range=(0, 100, 1)),
    ParamSpec('sgbm.speckle_window_size', 100, 'SGBM speckleWindowSize; 0 disables.',
              range=(0, 1000, 1)),
    ParamSpec('sgbm.speckle_range', 2, 'SGBM speckleRange.', range=(0, 64, 1)),
    ParamSpec('sgbm.mode', 'sgbm', 'SGBM mode.', choices=('sgbm', 'hh', 'sgbm_3way', 'hh4')),
    # sav backend
    ParamSpec('sav.vda_checkpoint', '',
              'Optional video_depth_anything_vits.pth for checkpoints without VDA weights.'),
    ParamSpec('sav.iters', 20, 'Refinement updates at 1/4 (half as many at 1/16 and 1/8).',
              range=(2, 64, 2)),
)

PARAMETERS: Mapping[str, ParamSpec] = {spec.name: spec for spec in _SPECS}


class ConfigError(ValueError):
    """Parameter values that cannot work together."""


@dataclass(frozen=True)
class NodeConfig:
    """All sav_node parameters, validated, with dots in names turned into underscores."""

    approximate_sync: bool
    approximate_sync_tolerance_seconds: float
    queue_size: int
    image_transport: str
    frame_id: str
    baseline_override: float
    clip_length: int
    clip_stride: int
    output_delay_frames: int
    warmup: str
    max_frame_gap_seconds: float
    max_pending_pairs: int
    backend: str
    checkpoint: str
    device: str
    precision: str
    inference_width: int
    inference_height: int
    output_resolution: str
    min_disparity: float
    max_disparity: float
    min_depth: float
    max_depth: float
    delta_d: float
    invalid_disparity_value: float
    depth_encoding: str
    use_color: bool
    avoid_point_cloud_padding: bool
    point_cloud_decimation: int
    point_cloud_organized: bool
    point_cloud_max_depth: float
    point_cloud_rate: float
    publish_disparity: bool
    publish_depth: bool
    publish_point_cloud: bool
    sgbm_min_disparity: int
    sgbm_num_disparities: int
    sgbm_block_size: int
    sgbm_p1: int
    sgbm_p2: int
    sgbm_disp12_max_diff: int
    sgbm_pre_filter_cap: int
    sgbm_uniqueness_ratio: int
    sgbm_speckle_window_size: int
    sgbm_speckle_range: int
    sgbm_mode: str
    sav_vda_checkpoint: str
    sav_iters: int

    @classmethod
    def from_values(cls, values: Mapping[str, Value]) -> 'NodeConfig':
        """Build from {parameter name: value}; missing names take their defaults."""
        unknown = set(values) - set(PARAMETERS)
        if unknown:
            raise ConfigError(f'unknown parameters: {sorted(unknown)}')
        merged = {}
        for name, spec in PARAMETERS.items():
            value = values.get(name, spec.default)
            problem = spec.check(value)
            if problem:
                raise ConfigError(problem)
            if isinstance(spec.default, float):
                value = float(value)
            merged[name.replace('.', '_')] = value
        config = cls(**merged)
        config._check_combination()
        return config

    def _check_combination(self) -> None:
        if not (self.invalid_disparity_value == 0.0 or math.isnan(self.invalid_disparity_value)):
            raise ConfigError('invalid_disparity_value must be 0.0 or nan, '
                              f'got {self.invalid_disparity_value}')
        if self.min_depth >= self.max_depth:
            raise ConfigError(f'min_depth ({self.min_depth}) must be below max_depth '
                              f'({self.max_depth})')
        if self.max_disparity and self.min_disparity >= self.max_disparity:
            raise ConfigError(f'min_disparity ({self.min_disparity}) must be below '
                              f'max_disparity ({self.max_disparity})')
        if self.clip_length and self.clip_stride + self.output_delay_frames > self.clip_length:
            raise ConfigError(f'clip_stride ({self.clip_stride}) plus output_delay_frames '
                              f'({self.output_delay_frames}) cannot exceed clip_length '
                              f'({self.clip_length}): frames would be skipped')
        if (self.inference_width == 0) != (self.inference_height == 0):
            raise ConfigError('set both inference_width and inference_height, or neither')
        if not (self.device == 'cpu' or self.device == 'cuda' or
                (self.device.startswith('cuda:') and self.device[5:].isdigit())):
            raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")

    def replace(self, **changes: Value) -> 'NodeConfig':
        """Return a validated copy with `changes` (parameter names, dots allowed)."""
        values = {spec.name: getattr(self, spec.name.replace('.', '_'))
                  for spec in PARAMETERS.values()}
        values.update(changes)
        return NodeConfig.from_values(values)

    def backend_options(self) -> dict:
        """The options of the selected backend, without its prefix; neural backends also get
        the checkpoint."""
        prefix = self.backend + '_'
        options = {f.name[len(prefix):]: getattr(self, f.name)
                   for f in fields(self) if f.name.startswith(prefix)}
        if self.backend in NEURAL_BACKENDS:
            options['checkpoint'] = self.checkpoint
        return options
