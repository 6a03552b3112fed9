# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Disparity, depth and point clouds for a rectified pair, ROS-free.

Conventions (ros2-conventions.md §5): disparity is positive, already corrected by
(cx_l - cx_r), and depth is Z = f*t/d in metres along the optical axis. Invalid is NaN in
float arrays; message-level invalid values are applied at the edge.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

FLOAT32 = 7  # sensor_msgs/PointField.FLOAT32


@dataclass(frozen=True)
class DisparityRange:
    """Valid disparities [low, high] in pixels, and the depth range they stand for."""

    low: float
    high: float

    @classmethod
    def from_limits(cls, fx: float, baseline: float, min_depth: float, max_depth: float,
                    min_disparity: float = 0.0, max_disparity: float = 0.0
                    ) -> 'DisparityRange':
        """Explicit disparity limits win; 0 derives them from the depth limits."""
        low = min_disparity or fx * baseline / max_depth
        high = max_disparity or fx * baseline / min_depth
        return cls(low, high)


def correct_disparity(raw: np.ndarray, cx_offset: float, valid_range: DisparityRange
                      ) -> np.ndarray:
    """Raw x_l - x_r -> message disparity x_l - x_r - (cx_l - cx_r), NaN outside the range."""
    disparity = np.subtract(raw, np.float32(cx_offset), dtype=np.float32)
    with np.errstate(invalid='ignore'):
        invalid = ~((disparity >= valid_range.low) & (disparity <= valid_range.high))
    disparity[invalid] = np.nan
    return disparity


def disparity_to_depth(disparity: np.ndarray, fx: float, baseline: float) -> np.ndarray:
    """Z = fx*B/d in metres; NaN where d is NaN or not positive."""
    with np.errstate(divide='ignore', invalid='ignore'):
        depth = np.float32(fx * baseline) / disparity
    depth[~(disparity > 0)] = np.nan
    return depth


def depth_to_millimetres(depth: np.ndarray) -> np.ndarray:
    """REP-118 16UC1: millimetres, 0 = invalid, saturating at 65.535 m."""
    millimetres = np.nan_to_num(depth * np.float32(1000.0), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(np.rint(millimetres), 0, 65535).astype(np.uint16)


def valid_window(valid: np.ndarray) -> Tuple[int, int, int, int]:
    """(x_offset, y_offset, width, height) bounding the valid pixels; all 0 if none."""
    columns = np.flatnonzero(valid.any(axis=0))
    rows = np.flatnonzero(valid.any(axis=1))
    if columns.size == 0:
        return 0, 0, 0, 0
    return (int(columns[0]), int(rows[0]), int(columns[-1] - columns[0] + 1),
            int(rows[-1] - rows[0] + 1))


def resize_disparity(disparity: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resample a disparity map to (height, width); values scale with the width ratio."""
    scale = width / disparity.shape[1]
    resized = cv2.resize(disparity, (width, height), interpolation=cv2.INTER_LINEAR)
    return resized * np.float32(scale)


@dataclass(frozen=True)
class PointCloud:
    """A PointCloud2 payload: fields as (name, offset) FLOAT32 x1, and the packed points."""

    fields: Tuple[Tuple[str, int], ...]
    point_step: int
    height: int
    width: int
    is_dense: bool
    data: np.ndarray  # uint8, height * width * point_step bytes

    @property
    def row_step(self) -> int:
        return self.width * self.point_step


def cloud_layout(use_color: bool, padded: bool) -> Tuple[Tuple[Tuple[str, int], ...], int]:
    """Fields and point_step: PCL-padded (16 or 32 B) as stereo_image_proc, or tight."""
    if use_color:
        return ((('x', 0), ('y', 4), ('z', 8), ('rgb', 16)), 32) if padded else \
            ((('x', 0), ('y', 4), ('z', 8), ('rgb', 12)), 16)
    return (('x', 0), ('y', 4), ('z', 8)), 16 if padded else 12


def _pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint32 0x00RRGGBB, the bits PCL's rgb float carries."""
    # B, G, R, A bytes read as a little-endian uint32 are 0xAARRGGBB; then clear A.
    bgra = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA)
    bits = bgra.view('<u4')[..., 0].astype(np.uint32, copy=False)
    bits &= np.uint32(0x00FFFFFF)
    return bits


class PointCloudBuilder:
    """Back-projects depth through the left K: X = (u-cx)Z/fx, Y = (v-cy)Z/fy.

    The per-pixel rays depend only on the camera and decimation, so they are computed once
    per camera rather than per frame.
    """

    def __init__(self) -> None:
        self._rays_key: Optional[tuple] = None
        self._rays: Tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))

    def _rays_for(self, width: int, height: int, fx: float, fy: float, cx: float, cy: float,
                  step: int) -> Tuple[np.ndarray, np.ndarray]:
        key = (width, height, fx, fy, cx, cy, step)
        if key != self._rays_key:
            u = (np.arange(0, width, step, dtype=np.float32) - np.float32(cx)) / np.float32(fx)
            v = (np.arange(0, height, step, dtype=np.float32) - np.float32(cy)) / np.float32(fy)
            self._rays = (np.broadcast_to(u, (v.size, u.size)),
                          np.broadcast_to(v[:, None], (v.size, u.size)))
            self._rays_key = key
        return self._rays

    def build(self, depth: np.ndarray, fx: float, fy: float, cx: float, cy: float,
              rgb: Optional[np.ndarray] = None, decimation: int = 1, organized: bool = True,
              padded: bool = True, max_depth: float = 0.0) -> PointCloud:
        """Pack depth (H, W) metres (NaN invalid) and optional RGB (H, W, 3) uint8."""
        height, width = depth.shape
        ray_x, ray_y = self._rays_for(width, height, fx, fy, cx, cy, decimation)
        z = depth[::decimation, ::decimation]
        if max_depth > 0.0:
            z = np.where(z <= max_depth, z, np.float32(np.nan))
        rgb_bits = None if rgb is None else _pack_rgb(rgb[::decimation, ::decimation])
        if not organized:
            keep = np.isfinite(z)
            z, ray_x, ray_y = z[keep], ray_x[keep], ray_y[keep]
            rgb_bits = None if rgb_bits is None else rgb_bits[keep]
        fields, point_step = cloud_layout(rgb is not None, padded)
        points = np.zeros(z.shape + (point_step,), dtype=np.uint8)
        xyz = points[..., :12].view(np.float32)  # (..., 3) float32 view into the packed bytes
        np.multiply(ray_x, z, out=xyz[..., 0])
        np.multiply(ray_y, z, out=xyz[..., 1])
        xyz[..., 2] = z
        if rgb_bits is not None:
            rgb_offset = fields[3][1]
            points[..., rgb_offset:rgb_offset + 4].view(np.uint32)[..., 0] = rgb_bits
        out_height, out_width = z.shape if organized else (1, z.size)
        return PointCloud(fields, point_step, out_height, out_width,
                          is_dense=not organized, data=points.reshape(-1))
