# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Read and write the ROS camera calibration YAML format.

This is the file that camera_calibration writes and camera_info_manager loads:

    image_width: 640
    image_height: 480
    camera_name: left
    camera_matrix: {rows: 3, cols: 3, data: [...]}
    distortion_model: plumb_bob
    distortion_coefficients: {rows: 1, cols: 5, data: [...]}
    rectification_matrix: {rows: 3, cols: 3, data: [...]}
    projection_matrix: {rows: 3, cols: 4, data: [...]}

As in camera_calibration_parsers, `camera_name` and `distortion_model` may be absent (empty
name, plumb_bob); every other key is required. Matrices are stored row-major.
"""
from __future__ import annotations

from dataclasses import dataclass
import errno
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import yaml

PathLike = Union[str, os.PathLike]

DEFAULT_DISTORTION_MODEL = 'plumb_bob'


@dataclass(frozen=True, eq=False)
class CameraCalibration:
    """Calibration of one camera; arrays are float64 and read-only.

    Equality compares every field, arrays element-wise and exactly.
    """

    width: int
    height: int
    camera_name: str
    K: np.ndarray  # (3, 3) intrinsics
    D: np.ndarray  # (N,) distortion coefficients, N may be 0
    R: np.ndarray  # (3, 3) rectification rotation
    P: np.ndarray  # (3, 4) projection of the rectified image
    distortion_model: str = DEFAULT_DISTORTION_MODEL

    def __post_init__(self) -> None:
        for name in ('width', 'height'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f'{name} must be a non-negative integer, got {value!r}')
            object.__setattr__(self, name, int(value))
        for name, shape in (('K', (3, 3)), ('R', (3, 3)), ('P', (3, 4)), ('D', None)):
            arr = np.array(getattr(self, name), dtype=np.float64)
            if shape is None:
                arr = arr.reshape(-1)
            elif arr.shape != shape:
                raise ValueError(f'{name} must have shape {shape}, got {arr.shape}')
            # Read-only so a frozen calibration cannot be changed through its arrays.
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraCalibration):
            return NotImplemented
        return (self.width == other.width and self.height == other.height
                and self.camera_name == other.camera_name
                and self.distortion_model == other.distortion_model
                and all(np.array_equal(getattr(self, n), getattr(other, n))
                        for n in ('K', 'D', 'R', 'P')))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays; equality is by value

    def to_dict(self) -> Dict[str, Any]:
        """Return the YAML document as plain Python types, keys in the order ROS writes them."""
        def matrix(a: np.ndarray, rows: int, cols: int) -> Dict[str, Any]:
            return {'rows': rows, 'cols': cols, 'data': [float(v) for v in a.reshape(-1)]}

        return {
            'image_width': self.width,
            'image_height': self.height,
            'camera_name': self.camera_name,
            'camera_matrix': matrix(self.K, 3, 3),
            'distortion_model': self.distortion_model,
            'distortion_coefficients': matrix(self.D, 1, self.D.size),
            'rectification_matrix': matrix(self.R, 3, 3),
            'projection_matrix': matrix(self.P, 3, 4),
        }


def _matrix(doc: Mapping[str, Any], key: str, shape: Optional[Tuple[int, int]],
            source: str) -> np.ndarray:
    """Parse a {rows, cols, data} node; `shape` None accepts any rows x cols."""
    if key not in doc:
        raise ValueError(f'{source}: missing key {key!r}')
    node = doc[key]
    if not isinstance(node, Mapping):
        raise ValueError(f'{source}: {key!r} must be a mapping with rows, cols and data')
    for sub in ('rows', 'cols', 'data'):
        if sub not in node:
            raise ValueError(f'{source}: missing key {key}.{sub}')
    rows, cols, data = node['rows'], node['cols'], node['data']
    for sub, value in (('rows', rows), ('cols', cols)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f'{source}: {key}.{sub} must be a non-negative integer, '
                             f'got {value!r}')
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ValueError(f'{source}: {key}.data must be a list of numbers')
    values = [_number(v, f'{key}.data', source) for v in data]
    if len(values) != rows * cols:
        raise ValueError(f'{source}: {key} declares {rows}x{cols} = {rows * cols} values '
                         f'but data has {len(values)}')
    if shape is not None and (rows, cols) != shape:
        raise ValueError(f'{source}: {key} must be {shape[0]}x{shape[1]}, got {rows}x{cols}')
    return np.array(values, dtype=np.float64).reshape(rows, cols)


def _number(value: Any, key: str, source: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        # YAML 1.1 (PyYAML) reads exponents without a dot, e.g. 1e-05, as strings; other
        # YAML writers emit them, so accept anything that is plainly a number.
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f'{source}: {key} must contain only numbers, got {value!r}')


def calibration_from_dict(doc: Any, source: str = '<dict>') -> CameraCalibration:
    """Build a CameraCalibration from a parsed YAML document; errors name `source`."""
    if not isinstance(doc, Mapping):
        raise ValueError(f'{source}: expected a mapping at the top level, '
                         f'got {type(doc).__name__}')
    size = {}
    for key in ('image_width', 'image_height'):
        if key not in doc:
            raise ValueError(f'{source}: missing key {key!r}')
        value = doc[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f'{source}: {key!r} must be a non-negative integer, got {value!r}')
        size[key] = value
    texts = {}
    for key, default in (('camera_name', ''), ('distortion_model', DEFAULT_DISTORTION_MODEL)):
        value = doc.get(key, default)
        # An unquoted name such as 1234 parses as a number; it is still a name.
        if value is None or isinstance(value, (bool, list, dict)):
            raise ValueError(f'{source}: {key!r} must be a string, got {value!r}')
        texts[key] = str(value)
    distortion = _matrix(doc, 'distortion_coefficients', None, source)
    if distortion.shape[0] > 1:
        raise ValueError(f'{source}: distortion_coefficients must have 1 row, '
                         f'got {distortion.shape[0]}')
    return CameraCalibration(
        width=size['image_width'], height=size['image_height'],
        camera_name=texts['camera_name'],
        K=_matrix(doc, 'camera_matrix', (3, 3), source),
        D=distortion.reshape(-1),
        R=_matrix(doc, 'rectification_matrix', (3, 3), source),
        P=_matrix(doc, 'projection_matrix', (3, 4), source),
        distortion_model=texts['distortion_model'])


def load_camera_yaml(path: PathLike) -> CameraCalibration:
    """Load a ROS camera calibration YAML file.

    Raises FileNotFoundError if `path` does not exist and ValueError, naming the file and the
    offending key, if it is not a valid calibration.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, 'camera calibration file not found',
                                str(p)) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f'{p}: not valid YAML: {exc}') from exc
    return calibration_from_dict(doc, str(p))


def save_camera_yaml(calib: CameraCalibration, path: PathLike) -> None:
    """Write `calib` in the ROS camera calibration YAML format.

    Floats are written with Python's shortest round-trip repr, so loading the file back gives
    bit-identical arrays.
    """
    # default_flow_style=None puts scalar lists on one line, like the files ROS tools write.
    text = yaml.safe_dump(calib.to_dict(), default_flow_style=None, sort_keys=False)
    Path(path).write_text(text, encoding='utf-8')
