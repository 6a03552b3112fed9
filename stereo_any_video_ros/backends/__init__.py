# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stereo backends: a left/right clip in, disparity in input pixels out.

Every backend takes (T, H, W, 3) uint8 RGB left and right clips and returns (T, H, W) float32
raw disparity x_l - x_r in pixels of its input, NaN where it has no estimate. The node does
the rest (cx correction, ranges, depth, clouds), so a new backend only registers a factory.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Protocol

import numpy as np


class StereoBackend(Protocol):
    """What the node needs from a stereo model."""

    # Frames per clip when the user leaves clip_length at 0.
    default_clip_length: int

    def infer(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 RGB left/right -> (T, H, W) float32 disparity, NaN = none."""

    def warmup(self, height: int, width: int, frames: int) -> None:
        """Do the one-off start-up work (device init, kernel selection) before data arrives."""


BackendFactory = Callable[[Mapping[str, Any], str, str], StereoBackend]


def _create_sgbm(options: Mapping[str, Any], device: str, precision: str) -> StereoBackend:
    from stereo_any_video_ros.backends.sgbm import SGBMBackend
    return SGBMBackend(**options)


def _create_sav(options: Mapping[str, Any], device: str, precision: str) -> StereoBackend:
    from stereo_any_video_ros.backends.sav import SavBackend
    return SavBackend(device=device, precision=precision, **options)


# name -> factory(options, device, precision); imports stay lazy so that torch-based
# backends cost nothing when unused.
BACKENDS: Dict[str, BackendFactory] = {
    'sgbm': _create_sgbm,
    'sav': _create_sav,
}


def create_backend(name: str, options: Mapping[str, Any], device: str = 'cpu',
                   precision: str = 'fp32') -> StereoBackend:
    """Build a registered backend from its options (parameter names without the prefix)."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(f'unknown backend {name!r}; available: {sorted(BACKENDS)}') from None
    return factory(options, device, precision)
