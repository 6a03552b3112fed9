# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stereo-video disparity metrics with Stereo Any Video's definitions (EPE, TEPE, bad-N px).

The numbers follow SAV's ``eval_endpoint_error_sequence`` and ``aggregate_eval_results``
(TomTomTommi/stereoanyvideo ``evaluation/utils/eval_utils.py``, ``evaluation/utils/utils.py``)
so that they can be put beside the paper's tables. Arrays are single-channel (T, H, W).

Per-pixel error maps (zero wherever a pixel is not evaluated):

* EPE_t(p) = |pred_t(p) - gt_t(p)| * m_t(p)
* TEPE_t(p), t = 0 .. T-2, over the same pixel in consecutive frames (no warping):
  ``form='absolute'`` (SAV, the default): ||pred_t - pred_t+1| - |gt_t - gt_t+1|| * m_t * m_t+1;
  ``form='signed'`` (DynamicStereo, BiDAStereo): |(pred_t - pred_t+1) - (gt_t - gt_t+1)| * ....
  The absolute form is never larger than the signed one, so the two are not comparable.

Summary of an error map E, as upstream:

* mean = sum(E) / count_nonzero(E): the mean over pixels with a NON-ZERO error only; a pixel
  predicted exactly right does not pull the mean down. An all-zero map gives 0 (upstream
  clamps the count to 1e-5 and divides 0 by it).
* bad_N = 100 * #(E > N) / count_nonzero(E), a percentage, for N in ``thresholds``.
  SAV's temporal accuracy delta^t_1px is ``tepe_bad_1px``.

Keys: ``epe``, ``epe_bad_0.5px``, ``epe_bad_1px``, ``epe_bad_2px``, ``epe_bad_3px``, ``tepe``,
``tepe_bad_0.5px`` ... (``{N:g}`` names the threshold), ``density`` and ``frames``.

Our conventions where upstream has no case (its networks are dense, its masks binary):

* The valid mask m is ``valid > 0.5`` (a bool mask or SAV's float mask) AND finite GT: a
  non-finite GT pixel is never evaluated. (Upstream sets NaN GT to 0 after masking, so a NaN
  under a set mask would count as GT 0; SAV's datasets never produce one.)
* A non-finite PREDICTION counts as disparity 0, so a pixel a matcher left unmatched costs
  |gt|, as the Middlebury convention counts invalid pixels as bad. ``density`` (the share of
  evaluated pixels with a finite, positive estimate) is reported beside the errors so that a
  sparse method's EPE can be read for what it is.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_THRESHOLDS = (0.5, 1.0, 2.0, 3.0)
TEPE_FORMS = ('absolute', 'signed')

# Upstream divides by max(count_nonzero, 1e-5): an all-zero map then has mean 0, not NaN.
_COUNT_FLOOR = 1e-5


def _as_sequence(name: str, array: ArrayLike) -> np.ndarray:
    arr = np.asarray(array)
    if arr.ndim != 3:
        raise ValueError(f'{name} must be a (T, H, W) sequence, got shape {arr.shape}')
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f'{name} must be numeric, got dtype {arr.dtype}')
    # float64: sums over a 150-frame megapixel sequence keep their precision.
    return arr.astype(np.float64, copy=False)


def evaluated_mask(gt: ArrayLike, valid: Optional[ArrayLike] = None) -> np.ndarray:
    """Pixels that are scored: ``valid > 0.5`` (all when None) and finite GT. (T, H, W) bool."""
    g = _as_sequence('gt', gt)
    finite = np.isfinite(g)
    if valid is None:
        return finite
    v = np.asarray(valid)
    if v.shape != g.shape:
        raise ValueError(f'valid has shape {v.shape} but gt has shape {g.shape}')
    return (v > 0.5) & finite


def _prepare(pred: ArrayLike, gt: ArrayLike, valid: Optional[ArrayLike]
             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, gt, mask) with x = pred*m (non-finite pred -> 0) and y = gt*m (NaN -> 0)."""
    p = _as_sequence('pred', pred)
    g = _as_sequence('gt', gt)
    if p.shape != g.shape:
        raise ValueError(f'pred has shape {p.shape} but gt has shape {g.shape}')
    mask = evaluated_mask(g, valid)
    x = np.where(mask & np.isfinite(p), p, 0.0)
    y = np.where(mask, g, 0.0)
    return x, y, mask


def epe_map(pred: ArrayLike, gt: ArrayLike, valid: Optional[ArrayLike] = None) -> np.ndarray:
    """Per-pixel end-point error |pred - gt| on evaluated pixels, 0 elsewhere. (T, H, W)."""
    x, y, _ = _prepare(pred, gt, valid)
    return np.abs(x - y)


def tepe_map(pred: ArrayLike, gt: ArrayLike, valid: Optional[ArrayLike] = None,
             form: str = 'absolute') -> np.ndarray:
    """Per-pixel temporal EPE of each frame pair (t, t+1), no warping. (T-1, H, W).

    ``form='absolute'`` compares the magnitudes of the changes (SAV); ``form='signed'``
    compares the changes themselves (DynamicStereo, BiDAStereo).
    """
    if form not in TEPE_FORMS:
        raise ValueError(f'form must be one of {TEPE_FORMS}, got {form!r}')
    x, y, mask = _prepare(pred, gt, valid)
    if x.shape[0] < 2:
        raise ValueError(f'TEPE needs at least 2 frames, got shape {x.shape}')
    dx = x[:-1] - x[1:]
    dy = y[:-1] - y[1:]
    if form == 'absolute':
        dx, dy = np.abs(dx), np.abs(dy)
    return np.abs(dx - dy) * (mask[:-1] & mask[1:])


def summarize_error(error: ArrayLike, name: str,
                    thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> Dict[str, float]:
    """``{name: mean, f'{name}_bad_{N:g}px': percent}`` over the non-zero pixels of ``error``."""
    e = np.asarray(error, dtype=np.float64)
    count = max(np.count_nonzero(e), _COUNT_FLOOR)
    summary = {name: float(e.sum() / count)}
    for threshold in thresholds:
        bad = np.count_nonzero(e > threshold)
        summary[f'{name}_bad_{threshold:g}px'] = float(100.0 * bad / count)
    return summary


def _per_frame_mean(error: np.ndarray) -> np.ndarray:
    counts = np.count_nonzero(error, axis=(1, 2))
    sums = error.sum(axis=(1, 2))
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(counts > 0, sums / counts, np.nan)


def per_frame_epe(pred: ArrayLike, gt: ArrayLike, valid: Optional[ArrayLike] = None
                  ) -> np.ndarray:
    """Each frame's EPE (mean over its non-zero errors), NaN for a frame with none. (T,)."""
    return _per_frame_mean(epe_map(pred, gt, valid))


def per_frame_tepe(pred: ArrayLike, gt: ArrayLike, valid: Optional[ArrayLike] = None,
                   form: str = 'absolute') -> np.ndarray:
    """Each frame pair's TEPE (mean over its non-zero errors), NaN where none. (T-1,)."""
    return _per_frame_mean(tepe_map(pred, gt, valid, form))


def density(pred: ArrayLike, valid: Optional[ArrayLike] = None) -> float:
    """Share in [0, 1] of ``valid`` pixels (all when None) with a finite, positive estimate.

    Zero and negative disparities count as missing: OpenCV SGBM marks failures with them.
    NaN when no pixel is valid.
    """
    p = _as_sequence('pred', pred)
    mask = np.ones(p.shape, bool) if valid is None else np.asarray(valid)
    if mask.shape != p.shape:
        raise ValueError(f'valid has shape {mask.shape} but pred has shape {p.shape}')
    mask = mask > 0.5
    total = np.count_nonzero(mask)
    if not total:
        return math.nan
    with np.errstate(invalid='ignore'):
        estimated = np.isfinite(p) & (p > 0.0)
    return float(np.count_nonzero(estimated & mask) / total)


def stereo_video_metrics(pred: ArrayLike, gt: ArrayLike, valid: Optional[ArrayLike] = None,
                         tepe_form: str = 'absolute',
                         thresholds: Sequence[float] = DEFAULT_THRESHOLDS
                         ) -> Dict[str, float]:
    """SAV's EPE and TEPE summaries of one (T, H, W) sequence, plus density and frames.

    A single frame (T = 1) has no TEPE keys.
    """
    x, y, mask = _prepare(pred, gt, valid)
    results = summarize_error(epe_map(x, y, mask), 'epe', thresholds)
    if x.shape[0] >= 2:
        results.update(summarize_error(tepe_map(x, y, mask, tepe_form), 'tepe', thresholds))
    results['density'] = density(pred, mask)
    results['frames'] = x.shape[0]
    return results


def aggregate_by_length(results: Sequence[Tuple[Dict[str, float], int]]) -> Dict[str, float]:
    """Average per-sequence metrics weighted by sequence length, as SAV's 'sum' reduction.

    ``results`` holds (metrics, length) pairs. Each metric is sum(value * length) / sum(length)
    over the sequences in which it is present and not NaN; upstream divides by the length of
    all sequences, which would count a missing metric (e.g. TEPE of a one-frame sequence, or
    the density of a sequence without GT) as 0. ``frames`` becomes the total number of frames
    and ``sequences`` the number of sequences.
    """
    sums: Dict[str, float] = {}
    weights: Dict[str, float] = {}
    total_frames = 0
    for metrics, length in results:
        if length <= 0:
            raise ValueError(f'sequence lengths must be positive, got {length}')
        total_frames += length
        for key, value in metrics.items():
            if key == 'frames' or math.isnan(value):
                continue
            sums[key] = sums.get(key, 0.0) + value * length
            weights[key] = weights.get(key, 0.0) + length
    aggregate = {key: sums[key] / weights[key] for key in sums}
    aggregate['frames'] = total_frames
    aggregate['sequences'] = len(results)
    return aggregate
