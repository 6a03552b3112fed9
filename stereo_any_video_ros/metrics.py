# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Disparity metrics for single frames and video sequences, on plain numpy arrays.

Conventions shared by every function:

* `gt` pixels that are not finite are never evaluated; an optional boolean `valid` mask
  narrows the evaluated set further (it is combined with the finite-gt test, not a
  replacement for it).
* NaN (or any non-finite value) in `pred` means "no estimate". Accuracy metrics (`epe`,
  `bad_pixel_rate`, `tepe`) skip such pixels; `density` counts them as missing.
* A metric over an empty pixel set is NaN rather than an exception, so a frame with no
  estimates does not abort a benchmark run; callers can test with math.isnan.
* Shape mismatches raise ValueError.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike


def _as_float(name: str, a: ArrayLike) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f'{name} must be numeric, got dtype {arr.dtype}')
    # float64 so that sums over megapixel sequences do not lose precision.
    return arr.astype(np.float64, copy=False)


def _check_mask(name: str, mask: Optional[ArrayLike], shape: Tuple[int, ...]) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    arr = np.asarray(mask)
    if arr.shape != shape:
        raise ValueError(f'{name} has shape {arr.shape}, expected {shape}')
    return arr.astype(bool, copy=False)


def _prepare(pred: ArrayLike, gt: ArrayLike,
             valid: Optional[ArrayLike]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (pred, gt, mask) with mask = valid & finite(gt) & finite(pred)."""
    p = _as_float('pred', pred)
    g = _as_float('gt', gt)
    if p.shape != g.shape:
        raise ValueError(f'pred has shape {p.shape} but gt has shape {g.shape}')
    mask = _check_mask('valid', valid, g.shape) & np.isfinite(g) & np.isfinite(p)
    return p, g, mask


def abs_error(pred: ArrayLike, gt: ArrayLike,
              valid: Optional[ArrayLike] = None) -> np.ndarray:
    """Absolute disparity errors of the evaluated pixels, as a flat float64 array."""
    p, g, mask = _prepare(pred, gt, valid)
    return np.abs(p[mask] - g[mask])


def epe(pred: ArrayLike, gt: ArrayLike, valid: Optional[ArrayLike] = None) -> float:
    """Mean absolute disparity error (end-point error) in pixels."""
    err = abs_error(pred, gt, valid)
    return float(err.mean()) if err.size else float('nan')


def bad_pixel_rate(pred: ArrayLike, gt: ArrayLike, threshold: float = 1.0,
                   valid: Optional[ArrayLike] = None) -> float:
    """Fraction in [0, 1] of evaluated pixels whose absolute error exceeds `threshold` px."""
    if not threshold >= 0.0:
        raise ValueError(f'threshold must be >= 0, got {threshold}')
    err = abs_error(pred, gt, valid)
    return float(np.count_nonzero(err > threshold) / err.size) if err.size else float('nan')


def density(pred: ArrayLike, valid: Optional[ArrayLike] = None) -> float:
    """Fraction in [0, 1] of `valid` pixels (default: all) with a finite, positive estimate.

    Zero and negative disparities count as missing because matchers such as OpenCV SGBM use
    them to mark invalid pixels.
    """
    p = _as_float('pred', pred)
    mask = _check_mask('valid', valid, p.shape)
    total = np.count_nonzero(mask)
    if not total:
        return float('nan')
    with np.errstate(invalid='ignore'):
        good = np.isfinite(p) & (p > 0.0) & mask
    return float(np.count_nonzero(good) / total)


def tepe(pred_seq: ArrayLike, gt_seq: ArrayLike,
         valid_seq: Optional[ArrayLike] = None) -> float:
    """Temporal end-point error of a (T, H, W) sequence, T >= 2.

    For every t >= 1 and pixel evaluated in both frames t-1 and t, the error is
    |(pred_t - pred_{t-1}) - (gt_t - gt_{t-1})|, the temporal-consistency measure used by
    BiDAStereo and Stereo Any Video. The result is the mean over all such (t, pixel) pairs,
    so every pixel pair weighs the same however the valid area varies between frames. A
    prediction that is off by a constant, or that flickers in step with the ground truth,
    scores 0; independent flicker does not.
    """
    p, g, mask = _prepare(pred_seq, gt_seq, valid_seq)
    if p.ndim < 2 or p.shape[0] < 2:
        raise ValueError(f'tepe needs a sequence of at least 2 frames, got shape {p.shape}')
    both = mask[1:] & mask[:-1]
    # Non-finite pixels are excluded by `both`; zero them so the differences stay finite.
    p = np.where(mask, p, 0.0)
    g = np.where(mask, g, 0.0)
    err = np.abs(np.diff(p, axis=0) - np.diff(g, axis=0))[both]
    return float(err.mean()) if err.size else float('nan')
