# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the synthetic stereo renderer: geometry, exactness, determinism, usability."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereo_any_video_ros.evaluation.stereo_metrics import density, stereo_video_metrics
from stereo_any_video_ros.synthetic import (DEFAULT_BACKGROUND_DEPTH, DEFAULT_OBJECT_DEPTHS,
                                            render_sequence, StereoFrame, StereoRig,
                                            SyntheticScene)

RIG_640 = StereoRig(640, 480, 400.0, 0.12)
RIG_320 = StereoRig(320, 240, 200.0, 0.12)


def matched_epe(pred: np.ndarray, gt: np.ndarray) -> float:
    """SAV's EPE of one frame over the pixels the matcher estimated (finite, > 0)."""
    pred = np.asarray(pred)[None]
    with np.errstate(invalid='ignore'):
        estimated = np.isfinite(pred) & (pred > 0)
    return stereo_video_metrics(pred, np.asarray(gt)[None], estimated)['epe']


def shift_right_to_left(right: np.ndarray, disparity: np.ndarray) -> np.ndarray:
    """Bilinear sample of `right` at (x - d(x), y), float32; NaN where that leaves the image."""
    h, w = disparity.shape
    xr = np.arange(w, dtype=np.float64)[None, :] - disparity.astype(np.float64)
    i0 = np.floor(xr).astype(np.int64)
    f = (xr - i0)[..., None]
    inside = (i0 >= 0) & (i0 + 1 < w) | (i0 == w - 1) & (f[..., 0] == 0)
    i0c = np.clip(i0, 0, w - 1)
    i1c = np.clip(i0 + 1, 0, w - 1)
    rows = np.arange(h)[:, None]
    img = right.astype(np.float32)
    out = (1 - f) * img[rows, i0c] + f * img[rows, i1c]
    out[~inside] = np.nan
    return out.astype(np.float32)


def test_rig_matrices() -> None:
    rig = StereoRig(640, 480, 400.0, 0.12, cx_right_offset=-2.5)
    assert rig.cx_left == pytest.approx(319.5)
    assert rig.cy_left == pytest.approx(239.5)
    np.testing.assert_array_equal(rig.K_left, [[400, 0, 319.5], [0, 400, 239.5], [0, 0, 1]])
    np.testing.assert_array_equal(rig.K_right, [[400, 0, 317.0], [0, 400, 239.5], [0, 0, 1]])
    np.testing.assert_array_equal(rig.P_left[:, :3], rig.K_left)
    np.testing.assert_array_equal(rig.P_left[:, 3], 0.0)
    np.testing.assert_array_equal(rig.P_right[:, :3], rig.K_right)
    assert rig.P_right[0, 3] == pytest.approx(-400.0 * 0.12)
    np.testing.assert_array_equal(rig.P_right[1:, 3], 0.0)
    for m in (rig.K_left, rig.K_right, rig.P_left, rig.P_right):
        assert m.dtype == np.float64
    # raw disparity = fx B / Z + (cx_l - cx_r)
    assert rig.disparity_for_depth(2.0) == pytest.approx(24.0 + 2.5)
    assert rig.depth_for_disparity(26.5) == pytest.approx(2.0)
    explicit = StereoRig(100, 80, 50.0, 0.1, cx=40.0, cy=30.0)
    assert explicit.K_left[0, 2] == 40.0 and explicit.K_left[1, 2] == 30.0


def test_projection_matches_disparity() -> None:
    # Project a 3-D point through P_left/P_right; x_l - x_r must equal disparity_for_depth.
    rig = StereoRig(640, 480, 400.0, 0.12, cx_right_offset=1.75)
    point = np.array([0.3, -0.2, 2.5, 1.0])
    pl = rig.P_left @ point
    pr = rig.P_right @ point
    d = pl[0] / pl[2] - pr[0] / pr[2]
    assert d == pytest.approx(rig.disparity_for_depth(2.5))
    assert pl[1] / pl[2] == pytest.approx(pr[1] / pr[2])


@pytest.mark.parametrize('kwargs', [dict(width=4, height=100, fx=1.0, baseline=1.0),
                                    dict(width=100, height=100, fx=0.0, baseline=1.0),
                                    dict(width=100, height=100, fx=1.0, baseline=-0.1)])
def test_rig_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        StereoRig(**kwargs)


def test_default_disparities_fit_sgbm_range() -> None:
    scene = SyntheticScene(RIG_640)
    d = np.array(scene.layer_disparities)
    assert d.min() >= 4.0 and d.max() <= 50.0
    assert scene.layer_depths[0] == DEFAULT_BACKGROUND_DEPTH
    assert sorted(scene.layer_depths[1:]) == sorted(DEFAULT_OBJECT_DEPTHS)
    frame = scene.frame(0)
    assert frame.disparity.min() >= 4.0 and frame.disparity.max() <= 50.0


def test_frame_types_and_shapes() -> None:
    frame = SyntheticScene(RIG_320, seed=3).frame(7)
    assert isinstance(frame, StereoFrame)
    assert frame.index == 7
    for img in (frame.left, frame.right):
        assert img.shape == (240, 320, 3) and img.dtype == np.uint8
    for a in (frame.disparity, frame.depth):
        assert a.shape == (240, 320) and a.dtype == np.float32
        assert np.isfinite(a).all()


def test_renders_720p() -> None:
    frame = SyntheticScene(StereoRig(1280, 720, 800.0, 0.12), seed=1).frame(0)
    assert frame.left.shape == (720, 1280, 3)
    assert frame.disparity.shape == (720, 1280)


def test_disparity_piecewise_constant_and_consistent_with_depth() -> None:
    rig = StereoRig(320, 240, 200.0, 0.12, cx_right_offset=-2.5)
    scene = SyntheticScene(rig, seed=5)
    fxb = rig.fx * rig.baseline
    expected = {np.float32(fxb / z + 2.5) for z in scene.layer_depths}
    frame = scene.frame(11)
    values = set(np.unique(frame.disparity).tolist())
    assert values <= {float(v) for v in expected}
    assert len(values) >= 2  # background plus at least one visible object
    # depth = fx B / (d - (cx_l - cx_r)), per pixel
    np.testing.assert_allclose(frame.depth, fxb / (frame.disparity - 2.5), rtol=1e-5)
    np.testing.assert_allclose(rig.depth_for_disparity(frame.disparity), frame.depth, rtol=1e-5)


def test_integer_disparities_reproduce_left_exactly() -> None:
    # fx B = 10 px m and depths chosen so every layer's disparity is an integer; then the right
    # view sampled at x - d is the same texture sample as the left view, bit for bit.
    rig = StereoRig(320, 240, 100.0, 0.1, cx_right_offset=-3.0)
    scene = SyntheticScene(rig, seed=9, background_depth=2.0, object_depths=(0.4, 0.5, 1.0))
    assert scene.layer_disparities == [8.0, 13.0, 23.0, 28.0]
    for index in (0, 13):
        frame = scene.frame(index)
        d = frame.disparity.astype(np.int64)
        h, w = d.shape
        xr = np.arange(w)[None, :] - d
        inside = xr >= 0
        rows = np.broadcast_to(np.arange(h)[:, None], (h, w))
        warped = frame.right[rows[inside], xr[inside]].astype(np.int16)
        diff = np.abs(warped - frame.left[inside].astype(np.int16)).max(axis=-1)
        # Only occluded pixels may differ; the objects here cover well under a fifth.
        assert np.mean(diff <= 1) > 0.85
        # The nearest layer cannot be occluded, so it must match everywhere it is visible.
        nearest = (d == d.max())[inside]
        assert nearest.sum() > 500
        assert diff[nearest].max() <= 1
        # A left pixel fails to match exactly when a nearer layer covers its right-view pixel,
        # which shows in the left ground truth as that layer at xr + d_near (when it is not
        # itself hidden there, or outside the image, both rare).
        occluded = np.zeros((h, w), bool)
        for d_near in scene.layer_disparities:
            x_near = xr + int(d_near)
            ok = inside & (d_near > d) & (x_near < w)
            hit = np.zeros((h, w), bool)
            hit[ok] = d[rows[ok], x_near[ok]] == d_near
            occluded |= hit
        occluded = occluded[inside]
        assert occluded.sum() > 100
        assert np.mean(diff[occluded] > 1) > 0.95
        assert np.mean(occluded[diff > 1]) > 0.95


def _warp_error(frame: StereoFrame, offset: float) -> np.ndarray:
    """Per-pixel max-channel |left - right(x - d - offset)|; NaN where x - d leaves the image."""
    warped = shift_right_to_left(frame.right, frame.disparity + offset)
    return np.abs(warped - frame.left.astype(np.float32)).max(axis=-1)


@pytest.mark.parametrize('seed', [0, 1, 4])
def test_subpixel_disparities_reproduce_left(seed: int) -> None:
    scene = SyntheticScene(RIG_320, seed=seed)
    frame = scene.frame(3)
    d_near = max(scene.layer_disparities)
    assert d_near != round(d_near)
    # The nearest layer is never occluded; erode it so bilinear taps stay on the object.
    near = cv2.erode((frame.disparity == np.float32(d_near)).astype(np.uint8),
                     np.ones((3, 5), np.uint8)).astype(bool)
    near &= np.isfinite(_warp_error(frame, 0.0))
    assert near.sum() > 500
    median = {off: float(np.median(_warp_error(frame, off)[near]))
              for off in (-0.25, -0.1, 0.0, 0.1, 0.25)}
    # Re-interpolating the right image is not the continuous texture, hence a tolerance, but
    # the ground truth must be the best alignment: even a 0.1 px error is worse.
    assert median[0.0] < 3.0
    assert all(median[0.0] < v for off, v in median.items() if off != 0.0)
    # Across the whole image only occluded pixels fail; a wrong disparity fails nearly all.
    err = _warp_error(frame, 0.0)
    assert np.mean(err[np.isfinite(err)] <= 12.0) > 0.85
    wrong = _warp_error(frame, 1.5)
    assert np.mean(wrong[np.isfinite(wrong)] <= 12.0) < 0.2


def test_texture_has_full_contrast() -> None:
    frame = SyntheticScene(RIG_320, seed=0).frame(0)
    grey = cv2.cvtColor(frame.left, cv2.COLOR_RGB2GRAY)
    assert grey.std() > 30.0
    assert grey.min() < 20 and grey.max() > 235
    # Local texture everywhere: the 7x7 local standard deviation is rarely small.
    g = grey.astype(np.float32)
    local_var = cv2.blur(g * g, (7, 7)) - cv2.blur(g, (7, 7)) ** 2
    assert np.mean(np.sqrt(np.maximum(local_var, 0.0)) > 5.0) > 0.95
    # Colour, not grey replicated into three channels.
    assert np.abs(frame.left[..., 0].astype(int) - frame.left[..., 2]).mean() > 10.0


def test_deterministic_for_a_seed() -> None:
    a = SyntheticScene(RIG_320, seed=42).frame(6)
    b = SyntheticScene(RIG_320, seed=42).frame(6)
    for name in ('left', 'right', 'disparity', 'depth'):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = SyntheticScene(RIG_320, seed=43).frame(6)
    assert not np.array_equal(a.left, c.left)


def test_frame_is_independent_of_render_order() -> None:
    scene = SyntheticScene(RIG_320, seed=8)
    for _ in scene.frames(4):
        pass
    later = scene.frame(9)
    fresh = SyntheticScene(RIG_320, seed=8).frame(9)
    np.testing.assert_array_equal(later.left, fresh.left)
    np.testing.assert_array_equal(later.disparity, fresh.disparity)


def test_objects_move_smoothly() -> None:
    frames = list(SyntheticScene(RIG_320, seed=1).frames(6))
    changed = [np.mean(frames[i].disparity != frames[i - 1].disparity) for i in range(1, 6)]
    # Something moves every frame, but only by a few pixels: a small fraction of labels change.
    assert all(c > 0.0 for c in changed)
    assert all(c < 0.1 for c in changed)
    assert not np.array_equal(frames[0].left, frames[5].left)
    assert not np.array_equal(frames[0].disparity, frames[5].disparity)


def test_render_sequence() -> None:
    frames = list(render_sequence(RIG_320, 3, seed=2, num_objects=1))
    assert [f.index for f in frames] == [0, 1, 2]
    assert len(np.unique(frames[0].disparity)) <= 2
    again = list(render_sequence(RIG_320, 3, seed=2, num_objects=1))
    np.testing.assert_array_equal(frames[2].right, again[2].right)


def test_no_objects_is_a_single_plane() -> None:
    frame = SyntheticScene(RIG_320, num_objects=0).frame(0)
    assert np.unique(frame.disparity).tolist() == [pytest.approx(2.4)]


@pytest.mark.parametrize('kwargs', [dict(num_objects=-1),
                                    dict(background_depth=0.0),
                                    dict(object_depths=(20.0,)),
                                    dict(object_depths=())])
def test_scene_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SyntheticScene(RIG_320, **kwargs)


@pytest.mark.parametrize('seed', [0, 1])
def test_sgbm_recovers_ground_truth(seed: int) -> None:
    frame = SyntheticScene(RIG_320, seed=seed).frame(seed * 10)
    sgbm = cv2.StereoSGBM_create(minDisparity=0, numDisparities=64, blockSize=5,
                                 P1=8 * 3 * 25, P2=32 * 3 * 25,
                                 mode=cv2.STEREO_SGBM_MODE_SGBM)
    pred = sgbm.compute(frame.left, frame.right).astype(np.float32) / 16.0
    pred[pred < 0.0] = np.nan  # SGBM marks failures with minDisparity - 1
    assert matched_epe(pred, frame.disparity) < 1.5
    assert density(pred[None], np.isfinite(frame.disparity)[None]) > 0.7
