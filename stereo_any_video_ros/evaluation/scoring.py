# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""One prediction against one sequence's ground truth: which metrics apply, and the series
and maps the figures need.

* ``disparity`` (sgbm, sav): SAV's stereo-video metrics against GT disparity; on a calibrated
  dataset also the video-depth protocols on its metric depth fx·B/(d − (cx_l − cx_r)), so
  stereo and monocular methods meet on one scale.
* ``depth`` (StereoDiff stage 1, metric topics): the DepthCrafter protocol on 1/depth and the
  MonST3R protocol on the depth itself.
* ``relative_disparity`` (StereoDiff): the DepthCrafter protocol only; an inverse of a
  relative disparity is not depth up to a scale and shift, so MonST3R's depth-space fit does
  not apply.

Every depth-kind result also gets the frequency analysis: the per-frame AbsRel and 1 − δ1
series of the DepthCrafter protocol, their amplitude spectra and F0..F10 bands, and the
per-pixel temporal spectrum of the aligned relative depth error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from stereo_any_video_ros.calibration import StereoCalibration
from stereo_any_video_ros.evaluation import depth_metrics, frequency, plots, stereo_metrics
from stereo_any_video_ros.evaluation.datasets.base import (
    DatasetError, DepthSequence, metric_depth)
from stereo_any_video_ros.evaluation.methods import Prediction
from tqdm import tqdm

LOG = logging.getLogger(__name__)

# Depth cap when a stereo dataset is scored with the depth protocols and none is given.
DEFAULT_MAX_DEPTH = 80.0

DEFINITIONS = {
    'stereo': 'SAV eval_endpoint_error_sequence: EPE and TEPE (no warping) averaged over '
              'pixels with a non-zero error; bad_Npx in percent of those pixels; '
              'tepe_bad_1px is delta^t_1px; sequences weighted by length; a non-finite '
              'prediction counts as disparity 0 (density is reported beside it)',
    'depthcrafter': 'DepthCrafter benchmark: one least-squares scale and shift per sequence '
                    'of the predicted disparity against 1/GT depth over valid pixels '
                    '(1e-3 < gt < max_depth), per-frame AbsRel / RMSE / delta1 averaged '
                    'over frames, plain mean over sequences',
    'monst3r': 'MonST3R depth_evaluation: L1 scale and shift in depth space over the whole '
               'sequence, metrics pooled over pixels, sequences weighted by valid pixels',
    'frequency': 'per-frame error series e_t of the DepthCrafter protocol; amplitude '
                 '|rfft(e)|/T; F0 = DC bin, F1..F10 = the other bins split into 10 '
                 'contiguous near-equal groups (ours: the paper gives no band edges)',
}


@dataclass
class Truth:
    """The evaluated frames of one sequence, in memory."""

    name: str
    frames: np.ndarray  # (T,) dataset frame indices
    images: np.ndarray  # (T, H, W, 3) uint8 RGB (left camera for stereo)
    right: Optional[np.ndarray]  # (T, H, W, 3) uint8, stereo only
    disparity: Optional[np.ndarray]  # (T, H, W) float32 px, NaN = no GT; stereo only
    valid: Optional[np.ndarray]  # (T, H, W) bool extra evaluation mask, or None
    depth: Optional[np.ndarray]  # (T, H, W) float32 m, NaN = no GT; None if uncalibrated
    calibration: Optional[StereoCalibration]
    max_depth: float  # the DepthCrafter protocol's cap
    # MonST3R's own caps (Sintel 70 with post-clip 70, Bonn 70, KITTI none)
    monst3r_max_depth: Optional[float] = None
    monst3r_post_clip: Optional[float] = None


def load_truth(sequence, frames: np.ndarray, max_depth: float,
               monst3r_max_depth: Optional[float] = None) -> Truth:
    """Read the selected frames of a stereo or depth sequence (with a progress bar).

    ``monst3r_max_depth`` overrides the sequence's own MonST3R cap (``--max-depth``).
    """
    reading = tqdm(frames, desc=f'reading {sequence.name}', unit='frame', leave=False)
    samples = [sequence[int(i)] for i in reading]
    if not samples:
        raise DatasetError(f'{sequence.name}: the frame selection is empty '
                           f'({len(sequence)} frames)')
    if isinstance(sequence, DepthSequence):
        return Truth(sequence.name, frames, _stack([s.image for s in samples], sequence),
                     None, None, None, _stack([s.depth for s in samples], sequence), None,
                     max_depth, monst3r_max_depth or sequence.monst3r_max_depth,
                     sequence.monst3r_post_clip)
    disparity = _stack([s.disparity for s in samples], sequence)
    valid = None if samples[0].valid is None else _stack([s.valid for s in samples], sequence)
    depth = None if sequence.calibration is None else \
        metric_depth(disparity, sequence.calibration)
    return Truth(sequence.name, frames, _stack([s.left for s in samples], sequence),
                 _stack([s.right for s in samples], sequence), disparity, valid, depth,
                 sequence.calibration, max_depth, monst3r_max_depth)


def _stack(arrays: Sequence[np.ndarray], sequence) -> np.ndarray:
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise DatasetError(f'{sequence.name} ({sequence.source}) changes size between frames '
                           f'({sorted(shapes)}); one sequence needs one size')
    return np.stack(arrays)


@dataclass
class Scored:
    """A prediction's figures on one sequence, and what the plots draw."""

    label: str
    report: Dict[str, Any]  # JSON-ready, by protocol
    length: int
    curves: Dict[str, Tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    spectra: Dict[str, np.ndarray] = field(default_factory=dict)
    bands: Dict[str, np.ndarray] = field(default_factory=dict)
    # position in the sequence -> (prediction in GT units at GT size, |error|, quantity)
    frame_maps: Optional[Callable[[int], Tuple[np.ndarray, np.ndarray, str]]] = None


def score(prediction: Prediction, truth: Truth, tepe_form: str = 'absolute',
          monst3r_solver: str = 'adam') -> Scored:
    values = prediction.values
    if len(values) != len(truth.frames):
        raise DatasetError(f'{prediction.label} has {len(values)} frames for {truth.name} but '
                           f'{len(truth.frames)} are evaluated')
    scored = Scored(prediction.label, {'seconds': prediction.seconds}, len(values))
    if prediction.kind == 'disparity':
        _score_disparity(scored, values, truth, tepe_form)
        if truth.depth is None:
            return scored
        depth = metric_depth(values, truth.calibration)
        _score_depth(scored, depth, 'depth', truth, monst3r_solver, prefix='depth_')
        return scored
    if truth.depth is None:
        raise DatasetError(f'{prediction.label} predicts {prediction.kind} but {truth.name} '
                           'has no GT depth (give the stereo dataset its calibration)')
    _score_depth(scored, values, prediction.kind, truth, monst3r_solver)
    return scored


def _score_disparity(scored: Scored, values: np.ndarray, truth: Truth, tepe_form: str
                     ) -> None:
    if truth.disparity is None:
        raise DatasetError(f'{scored.label} predicts disparity but {truth.name} has no GT '
                           'disparity: score a stereo method on a stereo dataset')
    if values.shape != truth.disparity.shape:
        raise DatasetError(f'{scored.label}: disparity of shape {values.shape} for GT of '
                           f'shape {truth.disparity.shape}; disparity must be at the GT size')
    scored.report['stereo'] = stereo_metrics.stereo_video_metrics(
        values, truth.disparity, truth.valid, tepe_form=tepe_form)
    frames = truth.frames
    scored.curves['EPE [px]'] = (frames, stereo_metrics.per_frame_epe(
        values, truth.disparity, truth.valid))
    if len(frames) > 1:
        scored.curves['TEPE [px]'] = (frames[1:], stereo_metrics.per_frame_tepe(
            values, truth.disparity, truth.valid, form=tepe_form))

    def frame_maps(position: int):
        error = np.abs(np.nan_to_num(values[position]) - truth.disparity[position])
        return values[position], error, 'disparity [px]'
    scored.frame_maps = frame_maps


def _score_depth(scored: Scored, values: np.ndarray, kind: str, truth: Truth,
                 monst3r_solver: str, prefix: str = '') -> None:
    gt = truth.depth
    disparity = values if kind == 'relative_disparity' else \
        depth_metrics.depth_to_disparity(values)
    crafter = depth_metrics.depthcrafter_protocol(disparity, gt, truth.max_depth)
    scored.report[f'{prefix}depthcrafter'] = {**crafter.summary(),
                                              'max_depth': truth.max_depth}
    if kind == 'depth':
        try:
            monst3r = depth_metrics.monst3r_protocol(values, gt, truth.monst3r_max_depth,
                                                     truth.monst3r_post_clip,
                                                     solver=monst3r_solver)
        except ValueError as error:
            # e.g. a sparse matcher's depth, mostly holes: Adam's start needs a median > 0.
            # The sequence's other figures stand; the report says why this one is missing.
            LOG.warning('%s on %s: MonST3R protocol skipped: %s', scored.label, truth.name,
                        error)
            scored.report[f'{prefix}monst3r'] = {'skipped': str(error)}
        else:
            scored.report[f'{prefix}monst3r'] = {
                **monst3r.summary(), 'max_depth': truth.monst3r_max_depth,
                'post_clip': truth.monst3r_post_clip, 'solver': monst3r_solver}
    # Frames without a valid GT pixel have no error; the series skips them.
    kept = crafter.frames_evaluated
    series = {'AbsRel': crafter.per_frame['abs_rel'],
              '1 - delta1': 1.0 - crafter.per_frame['delta1']}
    for name, values_t in series.items():
        scored.curves[f'{prefix}{name}'] = (truth.frames[kept], values_t)

    def frame_maps(position: int):
        aligned = crafter.aligned_depth[position]
        error = np.where(crafter.valid[position], np.abs(aligned - gt[position]), np.nan)
        return aligned, error, 'depth [m]'
    if not prefix:
        scored.frame_maps = frame_maps
    if prefix or len(series['AbsRel']) < 2:
        return  # the spectra compare the depth methods; one frame has no spectrum
    report = {}
    with np.errstate(divide='ignore', invalid='ignore'):
        pixel_error = np.abs(crafter.aligned_depth - gt) / gt
    amplitudes = {**{name: frequency.amplitude_spectrum(v) for name, v in series.items()},
                  'pixel AbsRel': frequency.pixel_temporal_spectrum(pixel_error,
                                                                    crafter.valid)}
    for name, amplitude in amplitudes.items():
        if name in series:
            scored.spectra[name] = amplitude
        scored.bands[name] = frequency.band_amplitudes(amplitude)
        report[name] = dict(zip(frequency.band_labels(), scored.bands[name].tolist()))
    scored.report['frequency'] = report


# -- aggregation over sequences ------------------------------------------------------------

def overall(scored: Dict[str, List[Scored]]) -> Dict[str, Dict[str, Any]]:
    """Per label: each protocol aggregated its own way (see DEFINITIONS)."""
    result = {}
    for label, runs in scored.items():
        figures: Dict[str, Any] = {'sequences': len(runs),
                                   'seconds': float(sum(r.report['seconds'] for r in runs))}
        stereo = [(r.report['stereo'], r.length) for r in runs if 'stereo' in r.report]
        if stereo:
            figures['stereo'] = stereo_metrics.aggregate_by_length(stereo)
        for prefix in ('', 'depth_'):
            crafter = [r.report[f'{prefix}depthcrafter'] for r in runs
                       if f'{prefix}depthcrafter' in r.report]
            if crafter:
                figures[f'{prefix}depthcrafter'] = depth_metrics.aggregate_depthcrafter(crafter)
            monst3r = [r.report[f'{prefix}monst3r'] for r in runs
                       if 'skipped' not in r.report.get(f'{prefix}monst3r', {'skipped': ''})]
            if monst3r:
                figures[f'{prefix}monst3r'] = depth_metrics.aggregate_monst3r(monst3r)
        bands = [r.bands for r in runs if r.bands]
        if bands:  # bands a short sequence lacks are averaged over the sequences having them
            figures['frequency'] = {
                series: {label: float(np.mean([b[series][k] for b in bands
                                               if k < len(b[series])]))
                         for k, label in enumerate(frequency.band_labels())
                         if any(k < len(b[series]) for b in bands)}
                for series in bands[0]}
        result[label] = figures
    return result


def headline(figures: Dict[str, Any]) -> str:
    """One log line per method."""
    parts = []
    if 'stereo' in figures:
        stereo = figures['stereo']
        parts.append(f"EPE {stereo['epe']:.3f} px, bad-2px {stereo['epe_bad_2px']:.2f} %")
        if 'tepe' in stereo:
            parts.append(f"TEPE {stereo['tepe']:.3f} px, "
                         f"δt1px {stereo['tepe_bad_1px']:.2f} %")
    for key in ('depthcrafter', 'depth_depthcrafter'):
        if key in figures:
            crafter = figures[key]
            parts.append(f"{key}: AbsRel {crafter['abs_rel']:.4f}, "
                         f"δ1 {crafter['delta1']:.4f}")
    return '; '.join(parts)


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f'{type(value).__name__} is not JSON serialisable')


# -- figures -------------------------------------------------------------------------------

def plot_sequence(folder: Path, name: str, truth: Truth, runs: List[Scored],
                  vis_frames: Sequence[int]) -> None:
    series = sorted({key for run in runs for key in run.curves})
    for key in series:
        having = [run for run in runs if len(run.curves.get(key, ((), ()))[1]) > 1]
        if not having:
            continue  # a single frame makes no curve
        plots.plot_error_curves(
            folder / f'{name}_curves_{_slug(key)}.png', f'{name}: per-frame {key}', key,
            {run.label: run.curves[key][1] for run in having},
            {run.label: run.curves[key][0] for run in having})
    spectral = [run for run in runs if run.spectra]
    if spectral:
        plots.plot_spectra(
            folder / f'{name}_spectrum.png', f'{name}: error magnitude spectrum',
            {key: {run.label: run.spectra[key] for run in spectral}
             for key in spectral[0].spectra})
        for key in spectral[0].bands:
            plots.plot_bands(
                folder / f'{name}_bands_{_slug(key)}.png', f'{name}: {key} by frequency band',
                frequency.band_labels()[:len(spectral[0].bands[key])],
                {run.label: run.bands[key] for run in spectral})
    positions = {int(f): k for k, f in enumerate(truth.frames)}
    for frame in vis_frames:
        if frame not in positions:
            continue
        position = positions[frame]
        drawn = [run for run in runs if run.frame_maps is not None]
        maps = {run.label: run.frame_maps(position) for run in drawn}
        quantities = {m[2] for m in maps.values()}
        for quantity in sorted(quantities):
            reference = truth.disparity if quantity.startswith('disparity') else truth.depth
            chosen = {label: m for label, m in maps.items() if m[2] == quantity}
            plots.plot_frame(
                folder / f'{name}_frame{frame:06d}_{quantity.split()[0]}.png',
                f'{name}, frame {frame}', truth.images[position], reference[position],
                {label: m[0] for label, m in chosen.items()},
                {label: m[1] for label, m in chosen.items()}, quantity)


def _slug(text: str) -> str:
    return '_'.join(''.join(c if c.isalnum() else ' ' for c in text).split()).lower()
