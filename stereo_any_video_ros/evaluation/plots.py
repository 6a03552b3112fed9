# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Figures of an evaluation run, written as PNG files with matplotlib's Agg backend.

* per-frame error curves, one line per method;
* the error magnitude spectrum after StereoDiff's Fig. 3: one panel per error series
  (AbsRel, 1 − δ1), amplitude against normalised frequency, and the ratio of two methods;
* the F0..F10 band amplitudes as grouped bars;
* colour maps of chosen frames: the image, the ground truth, each prediction and its error.

Colour ranges come from the ground truth (2nd–98th percentile), so every panel of a figure
shares one scale and a prediction that is off shows as off.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping, Sequence

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')  # files only: no display on robots and CI
    import matplotlib.pyplot as plt
    return plt


def _save(figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches='tight')
    _pyplot().close(figure)
    return path


def plot_error_curves(path: Path, title: str, ylabel: str,
                      curves: Mapping[str, np.ndarray],
                      frames: Mapping[str, Sequence[int]]) -> Path:
    """One line per label; x is the dataset frame index, so selections stay comparable."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 3.5))
    for label, values in curves.items():
        axes.plot(list(frames[label]), values, marker='.', label=label)
    axes.set(title=title, xlabel='frame', ylabel=ylabel)
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


def plot_spectra(path: Path, title: str,
                 spectra: Mapping[str, Mapping[str, np.ndarray]]) -> Path:
    """``spectra[series][label]`` = |rfft|/T of that label's per-frame error series.

    Panels: one per series, amplitude against the bin k = cycles per sequence (k/T cycles per
    frame; DC left out, as its scale dwarfs the rest: it is F0 in the band figure); with two
    labels, a last panel of their amplitude ratio, after the paper's Fig. 3c.
    """
    plt = _pyplot()
    series = list(spectra)
    labels = list(next(iter(spectra.values())))
    ratio = len(labels) == 2
    figure, axes = plt.subplots(1, len(series) + ratio, figsize=(4.5 * (len(series) + ratio),
                                                                 3.5), squeeze=False)
    for panel, name in zip(axes[0], series):
        for label in labels:
            amplitude = spectra[name][label]
            panel.plot(np.arange(1, len(amplitude)), amplitude[1:], label=label)
        panel.set(title=name, xlabel='cycles per sequence', ylabel='|FFT| / T')
        panel.grid(alpha=0.3)
        panel.legend()
    if ratio:
        panel = axes[0][-1]
        for name in series:
            first, second = (spectra[name][label] for label in labels)
            with np.errstate(divide='ignore', invalid='ignore'):
                quotient = second / first
            panel.plot(np.arange(1, len(first)), quotient[1:], label=name)
        panel.axhline(1.0, color='grey', linewidth=0.8)
        panel.set(title=f'{labels[1]} / {labels[0]}', xlabel='cycles per sequence',
                  ylabel='amplitude ratio')
        panel.grid(alpha=0.3)
        panel.legend()
    figure.suptitle(title, y=1.02)
    return _save(figure, path)


def plot_bands(path: Path, title: str, band_labels: Sequence[str],
               bands: Mapping[str, np.ndarray]) -> Path:
    """Grouped bars: mean amplitude per frequency band, one colour per label."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(len(bands), 1)
    x = np.arange(len(band_labels))
    for k, (label, values) in enumerate(bands.items()):
        axes.bar(x + (k - (len(bands) - 1) / 2) * width, values, width, label=label)
    axes.set_xticks(x, band_labels)
    axes.set(title=title, ylabel='mean |FFT| / T')
    axes.grid(alpha=0.3, axis='y')
    axes.legend()
    return _save(figure, path)


def _limits(reference: np.ndarray) -> Dict[str, float]:
    finite = reference[np.isfinite(reference)]
    if not finite.size:
        return {}
    low, high = np.percentile(finite, [2, 98])
    return {'vmin': float(low), 'vmax': float(high) if high > low else float(low) + 1.0}


def plot_frame(path: Path, title: str, image: np.ndarray, ground_truth: np.ndarray,
               predictions: Mapping[str, np.ndarray], errors: Mapping[str, np.ndarray],
               quantity: str) -> Path:
    """Image and GT on top, then one row per prediction: its map and its absolute error.

    ``quantity`` names what the maps hold ('disparity [px]', 'depth [m]'); predictions must
    already be in the GT's units (aligned, for relative methods).
    """
    plt = _pyplot()
    rows = 1 + len(predictions)
    figure, axes = plt.subplots(rows, 2, figsize=(9, 3 * rows), squeeze=False)
    limits = _limits(ground_truth)
    colour_map = 'magma' if quantity.startswith('disparity') else 'magma_r'
    axes[0][0].imshow(image)
    axes[0][0].set_title('image')
    shown = axes[0][1].imshow(ground_truth, cmap=colour_map, **limits)
    axes[0][1].set_title(f'ground truth {quantity}')
    figure.colorbar(shown, ax=axes[0][1], fraction=0.046)
    error_limit = _limits(np.concatenate([np.ravel(e) for e in errors.values()])) \
        if errors else {}
    for row, label in enumerate(predictions, start=1):
        shown = axes[row][0].imshow(predictions[label], cmap=colour_map, **limits)
        axes[row][0].set_title(label)
        figure.colorbar(shown, ax=axes[row][0], fraction=0.046)
        shown = axes[row][1].imshow(errors[label], cmap='viridis', vmin=0.0,
                                    vmax=error_limit.get('vmax', 1.0))
        axes[row][1].set_title(f'{label}: |error|')
        figure.colorbar(shown, ax=axes[row][1], fraction=0.046)
    for axis in axes.ravel():
        axis.set_axis_off()
    figure.suptitle(title, y=1.01)
    return _save(figure, path)
