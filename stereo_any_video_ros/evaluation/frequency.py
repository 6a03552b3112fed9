# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Frequency analysis of depth errors over time: bands F0 (global bias) to F10 (flicker).

StereoDiff argues that stereo matching wins on the low-frequency (sequence-level) error and
video diffusion on the high-frequency (frame-to-frame flicker) error. The paper does not give
its recipe, so the band definition here is OURS:

* A per-frame error series e_t, t = 0 .. T-1 (e.g. the per-frame AbsRel after the
  sequence's DepthCrafter alignment), has the amplitude spectrum A_k = |rfft(e)_k| / T,
  k = 0 .. T//2 (56 bins for T = 110). A_0 is the mean error; a sinusoid of amplitude a
  with k whole cycles in the sequence (0 < k < T/2) gives A_k = a / 2.
* F0 is the DC bin k = 0 alone: the global error that one scale and shift cannot remove.
* F1 .. F10 split the bins 1 .. T//2 into 10 contiguous groups of near-equal size
  (``np.array_split``: the first groups take one bin more), i.e. equal slices of the
  normalised frequency (0, 0.5] cycles/frame; F10 is the fastest flicker.
* With fewer non-DC bins than bands (T < 20) each bin is its own band, so there are fewer
  bands: ``band_amplitudes`` returns the first entries of ``band_labels``.
* A band's value is the mean amplitude of its bins.

A series with NaN (a frame without a valid pixel) is refused: dropping or filling frames
would change the time axis the spectrum is about, so the caller decides.

``pixel_temporal_spectrum`` is the per-pixel variant: the FFT along time of the error at
each pixel valid in every frame, averaged; it separates flicker from static bias without a
per-frame summary.
"""
from __future__ import annotations

from typing import List

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_NUM_BANDS = 10


def amplitude_spectrum(series: ArrayLike) -> np.ndarray:
    """|rfft(series)| / T of a finite (T,) series. (T//2 + 1,)."""
    e = np.asarray(series, dtype=np.float64)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f'the error series must be a non-empty (T,) array, got {e.shape}')
    missing = np.flatnonzero(~np.isfinite(e))
    if missing.size:
        raise ValueError(f'the error series is not finite at frames {missing.tolist()}; '
                         'a spectrum needs every frame, so fill or cut the series first')
    return np.abs(np.fft.rfft(e)) / e.size


def frequency_bands(num_bins: int, num_bands: int = DEFAULT_NUM_BANDS) -> List[np.ndarray]:
    """Bin indices of F0 (the DC bin) and F1 .. F<num_bands> (contiguous, near-equal).

    Fewer than ``num_bands`` non-DC bins give one band per bin.
    """
    if num_bins < 1 or num_bands < 1:
        raise ValueError(f'need num_bins >= 1 and num_bands >= 1, got {num_bins}, {num_bands}')
    ac_bins = np.arange(1, num_bins)
    bands = [np.array([0])]
    if ac_bins.size:
        bands += np.array_split(ac_bins, min(num_bands, ac_bins.size))
    return bands


def band_amplitudes(amplitude: ArrayLike, num_bands: int = DEFAULT_NUM_BANDS) -> np.ndarray:
    """Mean amplitude of each band F0 .. F<n> of an amplitude spectrum. (1 + n,)."""
    a = np.asarray(amplitude, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f'amplitude must be a (K,) spectrum, got shape {a.shape}')
    return np.array([a[band].mean() for band in frequency_bands(a.size, num_bands)])


def band_labels(num_bands: int = DEFAULT_NUM_BANDS) -> List[str]:
    """['F0', 'F1', ..., f'F{num_bands}']; a short series has only the first few bands."""
    return [f'F{i}' for i in range(num_bands + 1)]


def pixel_temporal_spectrum(error: ArrayLike, valid: ArrayLike) -> np.ndarray:
    """Mean over pixels valid (with a finite error) in every frame of |rfft_t(error)| / T.

    error, valid: (T, H, W). Returns (T//2 + 1,).
    """
    e = np.asarray(error, dtype=np.float64)
    v = np.asarray(valid, dtype=bool)
    if e.ndim != 3 or v.shape != e.shape:
        raise ValueError(f'error {e.shape} and valid {v.shape} must be the same (T, H, W)')
    always = np.all(v & np.isfinite(e), axis=0)
    if not always.any():
        raise ValueError(f'no pixel is valid in all {e.shape[0]} frames')
    series = e[:, always]  # (T, N)
    return (np.abs(np.fft.rfft(series, axis=0)) / e.shape[0]).mean(axis=1)
