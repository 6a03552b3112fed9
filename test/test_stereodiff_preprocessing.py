# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""MonST3R input preprocessing: upstream's no-crop `load_images` sizes and normalisation.

The pixels were checked identical (torch.equal) to upstream's `crop_img(..., crop=False)` and
ToTensor/Normalize (Junyi42/monst3r 574cc77) on 15 sizes when written, including upscaling,
portrait and square frames; here the size arithmetic is checked against hand-computed values.
"""
import numpy as np
import pytest
from stereodiff_ros.preprocessing import (preprocess_frame, preprocess_frames, resized_size,
                                          target_size)
import torch


@pytest.mark.parametrize('size,expected', [
    ((480, 640), (384, 512)),  # Bonn / ScanNet: 512×384 already
    ((436, 1024), (208, 512)),  # Sintel: 512×218 → 208
    ((375, 1242), (144, 512)),  # KITTI: 512×155 → 144
    ((640, 480), (512, 384)),  # portrait: not transposed
    ((1080, 1920), (288, 512)),
    ((200, 300), (336, 512)),  # upscaled (BICUBIC): 341 → 336
    ((512, 512), (384, 512)),  # square: height 3/4 of the width
    ((100, 100), (384, 512)),
    ((1999, 2000), (384, 512)),  # square after rounding (511.7 → 512)
    ((999, 1000), (496, 512)),
])
def test_target_size(size, expected):
    assert target_size(*size) == expected


def test_first_resize_rounds_like_python():
    # 437 · 512 / 1024 = 218.5: Python's round goes to the even neighbour, as upstream's does.
    assert resized_size(437, 1024) == (218, 512)
    assert resized_size(436, 1024) == (218, 512)
    assert resized_size(375, 1242) == (155, 512)


def test_frame_at_the_target_size_is_only_normalised():
    frame = np.random.default_rng(0).integers(0, 256, (384, 512, 3), dtype=np.uint8)
    got = preprocess_frame(frame)
    assert got.shape == (1, 3, 384, 512) and got.dtype == torch.float32
    expected = (torch.from_numpy(frame).permute(2, 0, 1).float() / 255 - 0.5) / 0.5
    torch.testing.assert_close(got[0], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize('value,expected', [(0, -1.0), (255, 1.0)])
def test_normalisation_range(value, expected):
    frame = np.full((375, 1242, 3), value, dtype=np.uint8)
    got = preprocess_frame(frame)
    assert got.shape == (1, 3, 144, 512)
    assert torch.all(got == expected)


def test_frames_as_list_or_array_match_single_frames():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 60, 90, 3), dtype=np.uint8)
    batch = preprocess_frames(frames)
    assert batch.shape == (3, 3, 336, 512) and batch.dtype == torch.float32
    assert torch.equal(batch, preprocess_frames(list(frames)))
    assert torch.equal(batch[2:], preprocess_frame(frames[2]))


@pytest.mark.parametrize('frames', [
    [np.zeros((48, 64, 3), np.uint8), np.zeros((48, 60, 3), np.uint8)],
    [np.zeros((48, 64, 3), np.float32)],
    [np.zeros((48, 64), np.uint8)],
    [],
])
def test_bad_frames_are_rejected(frames):
    with pytest.raises(ValueError):
        preprocess_frames(frames)
