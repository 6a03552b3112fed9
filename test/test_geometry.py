# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for disparity, depth and point-cloud geometry (stereo_any_video_ros.geometry)."""
from __future__ import annotations

from typing import Dict

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from stereo_any_video_ros.geometry import (cloud_layout, correct_disparity, depth_to_millimetres,
                                           disparity_to_depth, DisparityRange, PointCloud,
                                           PointCloudBuilder, resize_disparity, valid_window)

FX, FY, CX, CY = 200.0, 210.0, 15.5, 9.25


def unpack(cloud: PointCloud) -> Dict[str, np.ndarray]:
    """Read the packed points back through a structured dtype: x, y, z float32, rgb uint32."""
    names = [name for name, _ in cloud.fields]
    dtype = np.dtype({'names': names,
                      'formats': ['<f4' if name != 'rgb' else '<u4' for name in names],
                      'offsets': [offset for _, offset in cloud.fields],
                      'itemsize': cloud.point_step})
    assert cloud.data.dtype == np.uint8
    assert cloud.data.size == cloud.height * cloud.row_step
    points = cloud.data.view(dtype).reshape(cloud.height, cloud.width)
    return {name: points[name] for name in names}


def depth_image(height: int = 20, width: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 10.0, (height, width)).astype(np.float32)


# --- disparity range ----------------------------------------------------------------------------

def test_range_from_depth_limits() -> None:
    limits = DisparityRange.from_limits(fx=400.0, baseline=0.1, min_depth=0.5, max_depth=20.0)
    assert limits.low == pytest.approx(400.0 * 0.1 / 20.0)
    assert limits.high == pytest.approx(400.0 * 0.1 / 0.5)


def test_explicit_disparity_limits_win() -> None:
    both = DisparityRange.from_limits(400.0, 0.1, 0.5, 20.0, min_disparity=5.0,
                                      max_disparity=50.0)
    assert (both.low, both.high) == (5.0, 50.0)
    low_only = DisparityRange.from_limits(400.0, 0.1, 0.5, 20.0, min_disparity=5.0)
    assert low_only.low == 5.0 and low_only.high == pytest.approx(80.0)
    high_only = DisparityRange.from_limits(400.0, 0.1, 0.5, 20.0, max_disparity=50.0)
    assert high_only.low == pytest.approx(2.0) and high_only.high == 50.0


# --- disparity correction -----------------------------------------------------------------------

def test_correct_disparity_subtracts_offset_once() -> None:
    raw = np.array([10.0, 20.0, 30.0, np.nan, 5.0, 7.5], np.float32)
    out = correct_disparity(raw, 2.5, DisparityRange(5.0, 20.0))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [7.5, 17.5, np.nan, np.nan, np.nan, 5.0])
    np.testing.assert_array_equal(raw[:3], [10.0, 20.0, 30.0])  # input untouched


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-100.0, 200.0, width=32), min_size=1, max_size=50),
       st.floats(-10.0, 10.0), st.floats(0.0, 50.0), st.floats(0.0, 150.0))
def test_correct_disparity_property(raw, offset, low, span) -> None:
    raw = np.array(raw, np.float32)
    limits = DisparityRange(low, low + span)
    out = correct_disparity(raw, offset, limits)
    expected = raw - np.float32(offset)
    inside = (expected >= limits.low) & (expected <= limits.high)
    np.testing.assert_array_equal(out[inside], expected[inside])
    assert np.isnan(out[~inside]).all()


# --- depth --------------------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.01, 1000.0), min_size=1, max_size=40),
       st.floats(10.0, 5000.0), st.floats(0.01, 2.0))
def test_disparity_to_depth_is_fx_b_over_d(disparity, fx, baseline) -> None:
    disparity = np.array(disparity, np.float32)
    depth = disparity_to_depth(disparity, fx, baseline)
    assert depth.dtype == np.float32
    np.testing.assert_allclose(depth, fx * baseline / disparity.astype(np.float64), rtol=1e-5)


def test_disparity_to_depth_invalid() -> None:
    disparity = np.array([[np.nan, 0.0, -3.0], [12.0, -0.0, 24.0]], np.float32)
    depth = disparity_to_depth(disparity, 400.0, 0.12)
    assert np.isnan(depth[0]).all()
    assert depth[1, 0] == pytest.approx(4.0)
    assert np.isnan(depth[1, 1])
    assert depth[1, 2] == pytest.approx(2.0)


def test_depth_to_millimetres() -> None:
    depth = np.array([1.2344, 1.2346, np.nan, 65.535, 70.0, 0.0, 0.0004, 0.0006], np.float32)
    mm = depth_to_millimetres(depth)
    assert mm.dtype == np.uint16
    np.testing.assert_array_equal(mm, [1234, 1235, 0, 65535, 65535, 0, 0, 1])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 65.5, width=32), min_size=1, max_size=40))
def test_depth_to_millimetres_rounds(depth) -> None:
    depth = np.array(depth, np.float32)
    mm = depth_to_millimetres(depth).astype(np.int64)
    exact = depth.astype(np.float64) * 1000.0
    assert (np.abs(mm - exact) <= 0.5 + 5e-3).all()


# --- valid window -------------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, 30), st.integers(1, 30))
def test_valid_window_of_rectangle(data, height, width) -> None:
    x0 = data.draw(st.integers(0, width - 1))
    y0 = data.draw(st.integers(0, height - 1))
    w = data.draw(st.integers(1, width - x0))
    h = data.draw(st.integers(1, height - y0))
    valid = np.zeros((height, width), bool)
    valid[y0:y0 + h, x0:x0 + w] = True
    assert valid_window(valid) == (x0, y0, w, h)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 29)), min_size=1, max_size=10))
def test_valid_window_of_scattered_pixels(pixels) -> None:
    valid = np.zeros((20, 30), bool)
    for row, column in pixels:
        valid[row, column] = True
    rows = [row for row, _ in pixels]
    columns = [column for _, column in pixels]
    assert valid_window(valid) == (min(columns), min(rows), max(columns) - min(columns) + 1,
                                   max(rows) - min(rows) + 1)


def test_valid_window_empty() -> None:
    assert valid_window(np.zeros((4, 5), bool)) == (0, 0, 0, 0)


# --- resize -------------------------------------------------------------------------------------

@pytest.mark.parametrize('size', [(80, 60), (20, 15), (40, 30)])
def test_resize_disparity_scales_values(size) -> None:
    width, height = size
    disparity = np.full((30, 40), 10.0, np.float32)
    resized = resize_disparity(disparity, width, height)
    assert resized.shape == (height, width) and resized.dtype == np.float32
    np.testing.assert_allclose(resized, 10.0 * width / 40, rtol=1e-6)


def test_resize_disparity_uses_width_ratio_only() -> None:
    disparity = np.full((30, 40), 8.0, np.float32)
    resized = resize_disparity(disparity, 80, 30)  # width x2, height x1
    np.testing.assert_allclose(resized, 16.0, rtol=1e-6)


# --- point clouds -------------------------------------------------------------------------------

@pytest.mark.parametrize('use_color, padded, fields, point_step', [
    (True, True, (('x', 0), ('y', 4), ('z', 8), ('rgb', 16)), 32),
    (True, False, (('x', 0), ('y', 4), ('z', 8), ('rgb', 12)), 16),
    (False, True, (('x', 0), ('y', 4), ('z', 8)), 16),
    (False, False, (('x', 0), ('y', 4), ('z', 8)), 12),
])
def test_cloud_layouts(use_color, padded, fields, point_step) -> None:
    assert cloud_layout(use_color, padded) == (fields, point_step)
    depth = depth_image(4, 6)
    rgb = np.zeros((4, 6, 3), np.uint8) if use_color else None
    cloud = PointCloudBuilder().build(depth, FX, FY, CX, CY, rgb, padded=padded)
    assert cloud.fields == fields and cloud.point_step == point_step
    assert (cloud.height, cloud.width) == (4, 6)
    assert cloud.row_step == 6 * point_step
    assert cloud.data.size == 4 * 6 * point_step
    np.testing.assert_array_equal(unpack(cloud)['z'], depth)


@settings(max_examples=100, deadline=None)
@given(st.floats(50.0, 2000.0), st.floats(50.0, 2000.0), st.floats(-50.0, 50.0),
       st.floats(-50.0, 50.0), st.floats(0.1, 100.0), st.integers(0, 11), st.integers(0, 7),
       st.booleans())
def test_one_pixel_back_projection(fx, fy, cx, cy, z, u, v, padded) -> None:
    depth = np.full((8, 12), np.nan, np.float32)
    depth[v, u] = z
    cloud = PointCloudBuilder().build(depth, fx, fy, cx, cy, padded=padded)
    points = unpack(cloud)
    z32 = float(np.float32(z))
    assert points['x'][v, u] == pytest.approx((u - cx) * z32 / fx, rel=1e-5, abs=1e-6)
    assert points['y'][v, u] == pytest.approx((v - cy) * z32 / fy, rel=1e-5, abs=1e-6)
    assert points['z'][v, u] == z32
    others = np.ones(depth.shape, bool)
    others[v, u] = False
    for name in 'xyz':
        assert np.isnan(points[name][others]).all()


def test_whole_image_back_projection() -> None:
    depth = depth_image()
    points = unpack(PointCloudBuilder().build(depth, FX, FY, CX, CY))
    v, u = np.mgrid[:depth.shape[0], :depth.shape[1]]
    np.testing.assert_allclose(points['x'], (u - CX) * depth / FX, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(points['y'], (v - CY) * depth / FY, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(points['z'], depth)


@pytest.mark.parametrize('padded', [True, False])
def test_rgb_packing(padded: bool) -> None:
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    rgb[0, 0] = (0x12, 0x34, 0x56)
    cloud = PointCloudBuilder().build(depth_image(5, 7), FX, FY, CX, CY, rgb, padded=padded)
    packed = unpack(cloud)['rgb']
    assert packed[0, 0] == 0x00123456
    expected = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | \
        rgb[..., 2].astype(np.uint32)
    np.testing.assert_array_equal(packed, expected)


def test_organized_keeps_invalid_points_as_nan() -> None:
    depth = depth_image(6, 8)
    depth[2, 3] = np.nan
    depth[5, :] = np.nan
    cloud = PointCloudBuilder().build(depth, FX, FY, CX, CY, organized=True)
    assert (cloud.height, cloud.width) == (6, 8)
    assert cloud.is_dense is False
    points = unpack(cloud)
    invalid = np.isnan(depth)
    for name in 'xyz':
        assert np.isnan(points[name][invalid]).all()
        assert np.isfinite(points[name][~invalid]).all()


def test_compact_drops_invalid_points() -> None:
    depth = depth_image(6, 8)
    depth[2, 3] = np.nan
    depth[5, :] = np.nan
    rgb = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    cloud = PointCloudBuilder().build(depth, FX, FY, CX, CY, rgb, organized=False)
    valid = np.isfinite(depth)
    assert cloud.height == 1 and cloud.width == valid.sum()
    assert cloud.is_dense is True
    points = unpack(cloud)
    v, u = np.nonzero(valid)  # row-major order
    np.testing.assert_array_equal(points['z'][0], depth[valid])
    np.testing.assert_allclose(points['x'][0], (u - CX) * depth[valid] / FX, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(points['y'][0], (v - CY) * depth[valid] / FY, rtol=1e-5,
                               atol=1e-6)
    colour = rgb[valid].astype(np.uint32)
    np.testing.assert_array_equal(points['rgb'][0],
                                  (colour[:, 0] << 16) | (colour[:, 1] << 8) | colour[:, 2])


def test_compact_all_invalid_is_empty() -> None:
    depth = np.full((3, 4), np.nan, np.float32)
    cloud = PointCloudBuilder().build(depth, FX, FY, CX, CY, organized=False)
    assert (cloud.height, cloud.width) == (1, 0) and cloud.data.size == 0


@pytest.mark.parametrize('step', [2, 3, 5])
def test_decimation_uses_original_pixel_coordinates(step: int) -> None:
    depth = depth_image(11, 17)
    rgb = np.random.default_rng(2).integers(0, 256, (11, 17, 3), dtype=np.uint8)
    cloud = PointCloudBuilder().build(depth, FX, FY, CX, CY, rgb, decimation=step)
    rows, columns = np.arange(0, 11, step), np.arange(0, 17, step)
    assert (cloud.height, cloud.width) == (rows.size, columns.size)
    points = unpack(cloud)
    v, u = np.meshgrid(rows, columns, indexing='ij')
    z = depth[v, u]
    np.testing.assert_array_equal(points['z'], z)
    np.testing.assert_allclose(points['x'], (u - CX) * z / FX, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(points['y'], (v - CY) * z / FY, rtol=1e-5, atol=1e-6)
    colour = rgb[v, u].astype(np.uint32)
    np.testing.assert_array_equal(points['rgb'],
                                  (colour[..., 0] << 16) | (colour[..., 1] << 8) | colour[..., 2])


def test_max_depth_cap() -> None:
    depth = np.array([[1.0, 4.9, 5.0, 5.1, 50.0]], np.float32)
    capped = unpack(PointCloudBuilder().build(depth, FX, FY, CX, CY, max_depth=5.0))
    np.testing.assert_array_equal(capped['z'], [[depth[0, 0], depth[0, 1], 5.0, np.nan, np.nan]])
    assert np.isnan(capped['x'][0, 3:]).all()
    uncapped = unpack(PointCloudBuilder().build(depth, FX, FY, CX, CY, max_depth=0.0))
    np.testing.assert_array_equal(uncapped['z'], depth)
    compact = PointCloudBuilder().build(depth, FX, FY, CX, CY, organized=False, max_depth=5.0)
    assert compact.width == 3


def test_builder_recomputes_rays_for_a_new_camera() -> None:
    builder = PointCloudBuilder()
    depth = depth_image(6, 8)
    first = unpack(builder.build(depth, FX, FY, CX, CY))
    second = unpack(builder.build(depth, 2 * FX, FY, CX + 1.0, CY))
    u = np.arange(8)[None, :]
    np.testing.assert_allclose(first['x'], (u - CX) * depth / FX, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second['x'], (u - CX - 1.0) * depth / (2 * FX), rtol=1e-5,
                               atol=1e-6)
    small = unpack(builder.build(depth[:3, :4], FX, FY, CX, CY))
    np.testing.assert_allclose(small['x'], (u[:, :4] - CX) * depth[:3, :4] / FX, rtol=1e-5,
                               atol=1e-6)
