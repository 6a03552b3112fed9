# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Video depth metrics under the two published protocols, DepthCrafter's and MonST3R's.

The protocols differ in what is aligned, how, and how errors are pooled, so their numbers
differ on the same prediction. NEVER mix them when comparing with published tables: use
``depthcrafter_protocol`` beside DepthCrafter/StereoDiff tables and ``monst3r_protocol``
beside MonST3R tables, each with the dataset settings of that paper.

DepthCrafter (Tencent/DepthCrafter ``benchmark/eval/eval.py`` + ``metric.py``, domain 'depth',
the one StereoDiff's numbers follow):

1. the predicted relative DISPARITY (T, h, w) is resized to the GT size with bilinear
   ``cv2.resize``; GT is metric depth (T, H, W);
2. valid = (gt > 1e-3) & (gt < max_depth); the prediction is clipped to >= 1e-3;
3. ONE scale and shift per sequence: ordinary least squares (``np.linalg.lstsq``) of the
   prediction against 1 / (gt + 1e-8) over the valid pixels of all frames;
4. aligned = max(s * pred + t, 1e-3); depth = 1 / aligned, clipped to [1e-3, max_depth];
5. AbsRel, RMSE and delta1 (max(p/g, g/p) < 1.25) per frame over its valid pixels, then the
   mean over the frames that have one; sequences are averaged plainly.

Callers take the benchmark's first ``seq_len`` frames (Sintel 50, ScanNet 90, KITTI 110,
Bonn 110, NYU 1) and its ``max_depth`` (70, 10, 80, 10, 10). A method that predicts metric
DEPTH is scored on ``depth_to_disparity(depth)`` (0 where the depth is missing).

MonST3R (Junyi42/monst3r ``dust3r/depth_eval.py`` ``depth_evaluation`` as its
``depth_metric.ipynb`` calls it, ``align_with_lad2=True``):

1. the predicted DEPTH is resized to the GT size with bicubic ``cv2.resize``;
2. valid = gt > 0 (and gt < max_depth when given: Sintel and Bonn 70, KITTI none);
3. ONE scale and shift per sequence minimising the L1 error in depth space over all valid
   pixels; upstream runs Adam (lr 1e-4, at most 1000 steps, s0 = median(gt) / median(pred)
   with torch's lower median, t0 = 0, stop when the loss changes by < 1e-6), which stops
   short of the L1 minimum on real data, so ``solver='adam'`` (the default) is what the
   published numbers used and ``solver='exact'`` gives the true minimum;
4. the aligned depth is clipped to <= post_clip_max when given (Sintel 70);
5. metrics POOLED over every valid pixel of the sequence: AbsRel, SqRel, RMSE, then (depth
   clamped >= 1e-5) log RMSE and delta < 1.25, 1.25^2, 1.25^3; sequences are averaged
   weighted by their valid-pixel count.

Upstream computes in the inputs' dtype (float32 for Sintel); we compute the metrics in
float64, which differs at float32 rounding level (~1e-6 relative).

Our conventions where upstream has no case (its predictions are dense): a non-finite
prediction counts as 0 (no estimate), replaced before resizing so that it does not spread;
a sequence without a single valid GT pixel raises ValueError.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from numpy.typing import ArrayLike

# DepthCrafter's floor for valid GT, the clipped prediction and the output depth.
DEPTHCRAFTER_MIN = 1e-3
# Both protocols invert GT depth as 1 / (gt + 1e-8).
_INVERSE_EPS = 1e-8
# MonST3R clamps the aligned depth before its log and ratio metrics.
_MONST3R_LOG_FLOOR = 1e-5
MONST3R_SOLVERS = ('adam', 'exact')
DEPTHCRAFTER_METRIC_NAMES = ('abs_rel', 'rmse', 'delta1')
MONST3R_METRIC_NAMES = ('abs_rel', 'sq_rel', 'rmse', 'log_rmse', 'delta1', 'delta2', 'delta3')


@dataclass(frozen=True)
class DepthCrafterResult:
    """One sequence under the DepthCrafter protocol."""

    abs_rel: float
    rmse: float
    delta1: float
    scale: float
    shift: float
    frames_evaluated: np.ndarray  # (T,) bool: frames with a valid pixel, the ones averaged
    per_frame: Dict[str, np.ndarray]  # abs_rel, rmse, delta1 of the evaluated frames, (n,)
    aligned_depth: np.ndarray  # (T, H, W) metres, clipped to [1e-3, max_depth]
    valid: np.ndarray  # (T, H, W) bool

    def summary(self) -> Dict[str, float]:
        """The scalars, for reports and ``aggregate_depthcrafter``."""
        return {'abs_rel': self.abs_rel, 'rmse': self.rmse, 'delta1': self.delta1,
                'scale': self.scale, 'shift': self.shift,
                'frames': int(np.count_nonzero(self.frames_evaluated))}


@dataclass(frozen=True)
class Monst3rResult:
    """One sequence under the MonST3R protocol (metrics pooled over all valid pixels)."""

    abs_rel: float
    sq_rel: float
    rmse: float
    log_rmse: float
    delta1: float
    delta2: float
    delta3: float
    valid_pixels: int
    scale: float
    shift: float
    aligned_depth: np.ndarray  # (T, H, W) s * pred + t, clipped to post_clip_max
    valid: np.ndarray  # (T, H, W) bool

    def summary(self) -> Dict[str, float]:
        """The scalars, for reports and ``aggregate_monst3r``."""
        figures = {name: getattr(self, name) for name in MONST3R_METRIC_NAMES}
        figures.update(valid_pixels=self.valid_pixels, scale=self.scale, shift=self.shift)
        return figures


def _check_pair(pred: ArrayLike, gt: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred)
    g = np.asarray(gt)
    if p.ndim != 3 or g.ndim != 3 or p.shape[0] != g.shape[0]:
        raise ValueError(f'prediction {p.shape} and GT {g.shape} must be (T, h, w) and '
                         '(T, H, W) with the same T; take the same frames of both')
    for name, arr in (('prediction', p), ('GT', g)):
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f'{name} must be numeric, got dtype {arr.dtype}')
    if p.dtype not in (np.float32, np.float64):
        p = p.astype(np.float64)  # cv2.resize needs float32 or float64
    return p, g


def _resize_frames(frames: np.ndarray, size: Tuple[int, int], interpolation: int
                   ) -> np.ndarray:
    """Each (h, w) frame resized to size = (H, W); non-finite values become 0 first."""
    frames = np.where(np.isfinite(frames), frames, 0)
    if frames.shape[1:] == size:
        return frames  # cv2.resize to the same size is a copy
    height, width = size
    return np.stack([cv2.resize(frame, (width, height), interpolation=interpolation)
                     for frame in frames])


def _no_valid_pixel(valid: np.ndarray, rule: str) -> None:
    if not valid.any():
        raise ValueError(f'no GT pixel satisfies {rule} in this sequence {valid.shape}; '
                         'check the GT units and max_depth')


def depth_to_disparity(depth: ArrayLike) -> np.ndarray:
    """1 / depth where depth is finite and > 0, else 0: a depth method's relative disparity."""
    d = np.asarray(depth, dtype=np.float64)
    positive = np.isfinite(d) & (d > 0)
    return np.divide(1.0, d, out=np.zeros_like(d), where=positive)


def depthcrafter_protocol(pred_disparity: ArrayLike, gt_depth: ArrayLike, max_depth: float
                          ) -> DepthCrafterResult:
    """DepthCrafter protocol on one sequence: relative disparity (T, h, w) vs depth (T, H, W)."""
    if not max_depth > DEPTHCRAFTER_MIN:
        raise ValueError(f'max_depth must exceed {DEPTHCRAFTER_MIN} m, got {max_depth}')
    pred, gt = _check_pair(pred_disparity, gt_depth)
    pred = _resize_frames(pred, gt.shape[1:], cv2.INTER_LINEAR).astype(np.float64)
    gt = gt.astype(np.float64)
    with np.errstate(invalid='ignore'):
        valid = (gt > DEPTHCRAFTER_MIN) & (gt < max_depth)
    _no_valid_pixel(valid, f'{DEPTHCRAFTER_MIN} < depth < {max_depth}')
    pred = np.clip(pred, DEPTHCRAFTER_MIN, None)

    # Least squares in disparity space: [pred, 1] @ (s, t) ~ 1 / gt.
    design = np.stack([pred[valid], np.ones(np.count_nonzero(valid))], axis=1)
    target = 1.0 / (gt[valid] + _INVERSE_EPS)
    (scale, shift), *_ = np.linalg.lstsq(design, target, rcond=None)
    aligned = np.clip(scale * pred + shift, DEPTHCRAFTER_MIN, None)
    depth = np.clip(1.0 / aligned, DEPTHCRAFTER_MIN, max_depth)

    evaluated = valid.any(axis=(1, 2))  # upstream drops frames without a valid pixel
    per_frame: Dict[str, List[float]] = {'abs_rel': [], 'rmse': [], 'delta1': []}
    for t in np.flatnonzero(evaluated):
        p, g = depth[t][valid[t]], gt[t][valid[t]]
        per_frame['abs_rel'].append(np.mean(np.abs(p - g) / g))
        per_frame['rmse'].append(np.sqrt(np.mean((p - g) ** 2)))
        per_frame['delta1'].append(np.mean(np.maximum(p / g, g / p) < 1.25))
    series = {name: np.array(values) for name, values in per_frame.items()}
    return DepthCrafterResult(
        abs_rel=float(series['abs_rel'].mean()), rmse=float(series['rmse'].mean()),
        delta1=float(series['delta1'].mean()), scale=float(scale), shift=float(shift),
        frames_evaluated=evaluated, per_frame=series, aligned_depth=depth, valid=valid)


def _summaries(results: Sequence[Any]) -> List[Mapping[str, float]]:
    if not results:
        raise ValueError('no sequence to aggregate')
    return [r if isinstance(r, Mapping) else r.summary() for r in results]


def aggregate_depthcrafter(results: Sequence[Union[Mapping[str, float], DepthCrafterResult]]
                           ) -> Dict[str, float]:
    """Plain mean over sequences, as DepthCrafter's eval.py; results or their summaries."""
    summaries = _summaries(results)
    aggregate = {name: float(np.mean([s[name] for s in summaries]))
                 for name in DEPTHCRAFTER_METRIC_NAMES}
    aggregate['sequences'] = len(summaries)
    return aggregate


def lower_median(values: np.ndarray) -> float:
    """The lower of the two middle values for an even count, as torch.median returns."""
    k = (values.size - 1) // 2
    return np.partition(values, k)[k]


def lad_scale_shift_adam(pred: np.ndarray, gt: np.ndarray, scale_init: float,
                         lr: float = 1e-4, max_iters: int = 1000, tol: float = 1e-6
                         ) -> Tuple[float, float]:
    """MonST3R's L1 fit of gt ~ s * pred + t by Adam from (scale_init, 0), step for step.

    Runs in the inputs' dtypes with torch's Adam defaults, as upstream; stops after a step
    whose (pre-step) loss differs from the previous one by less than ``tol``.
    """
    import torch  # only this solver needs torch; the rest of the module is numpy

    p = torch.from_numpy(np.ascontiguousarray(pred))
    g = torch.from_numpy(np.ascontiguousarray(gt))
    scale = torch.tensor([scale_init], dtype=p.dtype, requires_grad=True)
    shift = torch.tensor([0.0], dtype=p.dtype, requires_grad=True)
    optimizer = torch.optim.Adam([scale, shift], lr=lr)
    previous = None
    for _ in range(max_iters):
        optimizer.zero_grad()
        loss = torch.abs(scale * p + shift - g).sum()
        loss.backward()
        optimizer.step()
        if previous is not None and abs(previous - loss.item()) < tol:
            break
        previous = loss.item()
    return scale.item(), shift.item()


def lad_scale_shift_exact(pred: np.ndarray, gt: np.ndarray) -> Tuple[float, float]:
    """The (s, t) minimising sum |s * pred + t - gt|, to floating-point precision.

    For a fixed s the best t is median(gt - s * pred), and the remaining cost f(s) is
    convex (a partial minimum of a jointly convex function), so a bracketing plus
    golden-section search over s finds the minimum; f is piecewise linear, which rules out
    derivative-based methods but not this one.
    """
    p = np.asarray(pred, dtype=np.float64).ravel()
    g = np.asarray(gt, dtype=np.float64).ravel()
    if p.size < 2 or np.ptp(p) == 0:
        raise ValueError(f'the prediction is constant over the {p.size} valid pixels, so '
                         'no scale can be fitted')

    def cost(s: float) -> float:
        residual = g - s * p
        return float(np.abs(residual - np.median(residual)).sum())

    # Start from the least-squares slope and walk downhill until the cost rises again.
    s0 = float(np.cov(p, g, bias=True)[0, 1] / np.var(p))
    step = 0.1 * abs(s0) or float(np.std(g) / np.std(p)) or 1.0
    a, b = s0, s0 + step
    fa, fb = cost(a), cost(b)
    if fb > fa:
        a, b, fa, fb = b, a, fb, fa
    c = b + 2.0 * (b - a)
    fc = cost(c)
    while fc < fb:
        a, b, fb = b, c, fc
        c = b + 2.0 * (b - a)
        fc = cost(c)
    low, high = min(a, c), max(a, c)

    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = high - ratio * (high - low), low + ratio * (high - low)
    f1, f2 = cost(x1), cost(x2)
    while high - low > 4.0 * np.finfo(float).eps * max(abs(low), abs(high), 1e-300):
        if f1 <= f2:
            high, x2, f2 = x2, x1, f1
            x1 = high - ratio * (high - low)
            f1 = cost(x1)
        else:
            low, x1, f1 = x1, x2, f2
            x2 = low + ratio * (high - low)
            f2 = cost(x2)
        if not low < x1 < x2 < high:
            break  # the interval cannot shrink further in floating point
    scale = float(0.5 * (low + high))
    return scale, float(np.median(g - scale * p))


def monst3r_protocol(pred_depth: ArrayLike, gt_depth: ArrayLike,
                     max_depth: Optional[float] = None, post_clip_max: Optional[float] = None,
                     solver: str = 'adam', lr: float = 1e-4, max_iters: int = 1000
                     ) -> Monst3rResult:
    """MonST3R protocol on one sequence: predicted depth (T, h, w) vs GT depth (T, H, W).

    ``max_depth`` None keeps every gt > 0 (KITTI); ``lr`` and ``max_iters`` are Adam's.
    """
    if solver not in MONST3R_SOLVERS:
        raise ValueError(f'solver must be one of {MONST3R_SOLVERS}, got {solver!r}')
    pred, gt = _check_pair(pred_depth, gt_depth)
    pred = _resize_frames(pred, gt.shape[1:], cv2.INTER_CUBIC)
    with np.errstate(invalid='ignore'):
        valid = gt > 0
        if max_depth is not None:
            valid &= gt < max_depth
    _no_valid_pixel(valid, 'depth > 0' if max_depth is None else f'0 < depth < {max_depth}')
    pred_valid, gt_valid = pred[valid], gt[valid]

    if solver == 'adam':
        median = lower_median(pred_valid)
        if not median > 0:
            raise ValueError(f'the median predicted depth over the valid pixels is {median}; '
                             "Adam's initial scale median(gt) / median(pred) needs it > 0 "
                             '(is the prediction mostly holes?)')
        scale_init = float(lower_median(gt_valid) / median)
        scale, shift = lad_scale_shift_adam(pred_valid, gt_valid, scale_init, lr, max_iters)
    else:
        scale, shift = lad_scale_shift_exact(pred_valid, gt_valid)
    # In the prediction's dtype, as upstream (python floats do not promote float32).
    aligned = scale * pred + shift
    if post_clip_max is not None:
        aligned = np.minimum(aligned, post_clip_max)
    aligned = aligned.astype(np.float64)

    d, g = aligned[valid], gt_valid.astype(np.float64)
    abs_rel = np.mean(np.abs(d - g) / g)
    sq_rel = np.mean((d - g) ** 2 / g)
    rmse = np.sqrt(np.mean((d - g) ** 2))
    d = np.maximum(d, _MONST3R_LOG_FLOOR)  # after the linear metrics, as upstream
    log_rmse = np.sqrt(np.mean((np.log(d) - np.log(g)) ** 2))
    ratio = np.maximum(d / g, g / d)
    return Monst3rResult(
        abs_rel=float(abs_rel), sq_rel=float(sq_rel), rmse=float(rmse),
        log_rmse=float(log_rmse), delta1=float(np.mean(ratio < 1.25)),
        delta2=float(np.mean(ratio < 1.25 ** 2)), delta3=float(np.mean(ratio < 1.25 ** 3)),
        valid_pixels=int(np.count_nonzero(valid)), scale=float(scale), shift=float(shift),
        aligned_depth=aligned, valid=valid)


def aggregate_monst3r(results: Sequence[Union[Mapping[str, float], Monst3rResult]]
                      ) -> Dict[str, float]:
    """Mean over sequences weighted by valid-pixel count, as MonST3R's notebook; results or
    their summaries."""
    summaries = _summaries(results)
    weights = [s['valid_pixels'] for s in summaries]
    aggregate = {name: float(np.average([s[name] for s in summaries], weights=weights))
                 for name in MONST3R_METRIC_NAMES}
    aggregate['valid_pixels'] = int(sum(weights))
    aggregate['sequences'] = len(summaries)
    return aggregate
