# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the F0..F10 frequency bands of per-frame and per-pixel depth error."""
from __future__ import annotations

import numpy as np
import pytest

from stereo_any_video_ros.evaluation.frequency import (amplitude_spectrum, band_amplitudes,
                                                       band_labels, frequency_bands,
                                                       pixel_temporal_spectrum)


def test_spectrum_of_a_constant_is_its_mean_at_dc() -> None:
    amplitude = amplitude_spectrum(np.full(50, 0.2))
    assert amplitude.shape == (26,)
    assert amplitude[0] == pytest.approx(0.2)
    np.testing.assert_allclose(amplitude[1:], 0.0, atol=1e-12)


def test_bands_for_110_frames() -> None:
    bands = frequency_bands(56)  # T = 110
    assert len(bands) == 11
    assert bands[0].tolist() == [0]
    # 55 non-DC bins: five groups of 6, then five of 5.
    assert [b.tolist() for b in bands[1:3]] == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]
    assert bands[4].tolist() == [19, 20, 21, 22, 23, 24]
    assert bands[6].tolist() == [31, 32, 33, 34, 35]
    assert bands[10].tolist() == [51, 52, 53, 54, 55]
    assert np.concatenate(bands).tolist() == list(range(56))


def test_sinusoid_lands_in_its_band_and_bias_in_f0() -> None:
    t = np.arange(110)
    # 23 cycles over 110 frames: bin 23, which is in F4 (bins 19-24). Bias 0.1 is F0.
    series = 0.1 + 0.04 * np.cos(2 * np.pi * 23 * t / 110 + 0.3)
    amplitude = amplitude_spectrum(series)
    assert amplitude[23] == pytest.approx(0.02)
    bands = band_amplitudes(amplitude)
    expected = np.zeros(11)
    expected[0] = 0.1
    expected[4] = 0.02 / 6
    np.testing.assert_allclose(bands, expected, atol=1e-12)


def test_fastest_flicker_is_f10() -> None:
    series = 0.5 * (-1.0) ** np.arange(50)  # Nyquist, bin 25 of 26
    bands = band_amplitudes(amplitude_spectrum(series))
    assert np.argmax(bands) == 10
    assert bands[10] == pytest.approx(0.5 / 2)  # F10 holds bins 24 and 25


def test_short_series_have_one_band_per_bin() -> None:
    assert [b.tolist() for b in frequency_bands(4)] == [[0], [1], [2], [3]]
    assert [b.tolist() for b in frequency_bands(1)] == [[0]]
    assert band_amplitudes(amplitude_spectrum(np.arange(6.0))).shape == (4,)
    assert band_labels()[:4] == ['F0', 'F1', 'F2', 'F3']
    assert band_labels() == [f'F{i}' for i in range(11)]
    three = [b.tolist() for b in frequency_bands(7, num_bands=3)]
    assert three == [[0], [1, 2], [3, 4], [5, 6]]


def test_series_with_nan_is_refused_naming_the_frames() -> None:
    series = np.ones(10)
    series[[3, 7]] = np.nan
    with pytest.raises(ValueError, match=r'\[3, 7\]'):
        amplitude_spectrum(series)
    with pytest.raises(ValueError, match='non-empty'):
        amplitude_spectrum(np.ones((2, 5)))
    with pytest.raises(ValueError):
        frequency_bands(0)


def test_pixel_spectrum_separates_bias_from_flicker() -> None:
    t = np.arange(8)[:, None, None]
    bias = np.array([[0.2, 0.4, 5.0]])[None]  # (1, 1, 3)
    flicker = np.array([[0.1, 0.3, 5.0]])[None]
    error = bias + flicker * (-1.0) ** t  # (8, 1, 3)
    valid = np.ones(error.shape, bool)
    valid[4, 0, 2] = False  # the third pixel drops out once: left out entirely
    spectrum = pixel_temporal_spectrum(error, valid)
    assert spectrum.shape == (5,)
    assert spectrum[0] == pytest.approx(0.3)  # mean bias of the two pixels kept
    assert spectrum[4] == pytest.approx(0.2)  # mean flicker amplitude at Nyquist
    np.testing.assert_allclose(spectrum[1:4], 0.0, atol=1e-12)
    error[2, 0, 0] = np.nan  # a non-finite error also drops the pixel
    assert pixel_temporal_spectrum(error, valid)[0] == pytest.approx(0.4)


def test_pixel_spectrum_rejects_bad_input() -> None:
    valid = np.ones((3, 2, 2), bool)
    valid[1] = False  # a frame without a valid pixel leaves no pixel valid throughout
    with pytest.raises(ValueError, match='all 3 frames'):
        pixel_temporal_spectrum(np.zeros((3, 2, 2)), valid)
    with pytest.raises(ValueError, match='same'):
        pixel_temporal_spectrum(np.zeros((3, 2, 2)), np.ones((3, 2, 1), bool))
