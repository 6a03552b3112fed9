# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for Image / CompressedImage / PointCloud2 <-> NumPy (stereo_any_video_ros.conversions)."""
from __future__ import annotations

import array
import sys

import cv2
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image, PointCloud2, PointField

from stereo_any_video_ros.conversions import (cloud_to_array, compressed_to_rgb8, fill_image,
                                              image_to_array, image_to_rgb8, ImageFormatError)

# encoding -> (dtype, channels), as the ROS image encodings define them.
ENCODINGS = {
    'mono8': (np.uint8, 1),
    'mono16': (np.uint16, 1),
    'rgb8': (np.uint8, 3),
    'bgr8': (np.uint8, 3),
    'rgba8': (np.uint8, 4),
    'bgra8': (np.uint8, 4),
    '16UC1': (np.uint16, 1),
    '32FC1': (np.float32, 1),
}


def random_pixels(encoding: str, height: int, width: int, seed: int = 0) -> np.ndarray:
    dtype, channels = ENCODINGS[encoding]
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 1 else (height, width, channels)
    if dtype == np.float32:
        return rng.uniform(-1e3, 1e3, shape).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def padded_message(pixels: np.ndarray, encoding: str, padding: int,
                   big_endian: bool = False) -> Image:
    """Return an Image with `padding` junk bytes after every row."""
    height, width = pixels.shape[:2]
    dtype = pixels.dtype.newbyteorder('>' if big_endian else '<')
    rows = pixels.astype(dtype).reshape(height, -1).view(np.uint8)
    junk = np.full((height, padding), 0xAB, np.uint8)
    msg = Image()
    msg.height, msg.width = height, width
    msg.encoding = encoding
    msg.is_bigendian = big_endian
    msg.step = rows.shape[1] + padding
    msg.data = np.hstack([rows, junk]).tobytes()
    return msg


# --- round trips --------------------------------------------------------------------------------

@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_fill_then_read_round_trip(encoding: str) -> None:
    pixels = random_pixels(encoding, 7, 5)
    msg = fill_image(Image(), pixels, encoding)
    dtype, channels = ENCODINGS[encoding]
    assert (msg.height, msg.width, msg.encoding) == (7, 5, encoding)
    assert msg.step == 5 * channels * np.dtype(dtype).itemsize
    assert bool(msg.is_bigendian) == (sys.byteorder == 'big')
    assert isinstance(msg.data, array.array) and msg.data.typecode == 'B'
    assert len(msg.data) == msg.step * msg.height
    back = image_to_array(msg)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, pixels)


def test_fill_image_stores_byte_array() -> None:
    class Plain:  # fill_image must not depend on the rclpy setter converting for it
        pass

    msg = fill_image(Plain(), np.arange(12, dtype=np.uint8).reshape(3, 4), 'mono8')
    assert isinstance(msg.data, array.array) and msg.data.typecode == 'B'
    assert msg.data.tobytes() == bytes(range(12))


def test_fill_image_accepts_single_channel_axis() -> None:
    pixels = np.arange(6, dtype=np.uint16).reshape(2, 3, 1)
    msg = fill_image(Image(), pixels, 'mono16')
    np.testing.assert_array_equal(image_to_array(msg), pixels[:, :, 0])


def test_fill_image_rejects_mismatch() -> None:
    with pytest.raises(ImageFormatError, match='yuv422'):
        fill_image(Image(), np.zeros((2, 2), np.uint8), 'yuv422')
    with pytest.raises(ImageFormatError, match='32FC1'):
        fill_image(Image(), np.zeros((2, 2), np.float64), '32FC1')
    with pytest.raises(ImageFormatError, match='rgb8'):
        fill_image(Image(), np.zeros((2, 2), np.uint8), 'rgb8')


def test_fill_image_non_contiguous_input() -> None:
    base = random_pixels('rgb8', 6, 8)
    view = base[::2, ::2]
    msg = fill_image(Image(), view, 'rgb8')
    np.testing.assert_array_equal(image_to_array(msg), view)


# --- padded rows and endianness -----------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(ENCODINGS)), st.integers(1, 12), st.integers(1, 12),
       st.integers(0, 9), st.booleans())
def test_read_padded_rows(encoding, width, height, pad_items, big_endian) -> None:
    pixels = random_pixels(encoding, height, width, seed=width * 31 + height)
    itemsize = np.dtype(ENCODINGS[encoding][0]).itemsize
    msg = padded_message(pixels, encoding, pad_items * itemsize, big_endian)
    back = image_to_array(msg)
    assert back.dtype == ENCODINGS[encoding][0]
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, pixels)


def test_mono16_big_endian() -> None:
    pixels = np.array([[0x0102, 0xFF00, 0x00FF]], np.uint16)
    msg = Image()
    msg.height, msg.width, msg.encoding, msg.step = 1, 3, 'mono16', 6
    msg.is_bigendian = True
    msg.data = bytes([0x01, 0x02, 0xFF, 0x00, 0x00, 0xFF])
    np.testing.assert_array_equal(image_to_array(msg), pixels)
    msg.is_bigendian = False  # the same bytes read little-endian
    np.testing.assert_array_equal(image_to_array(msg), [[0x0201, 0x00FF, 0xFF00]])


def test_extra_trailing_data_is_ignored() -> None:
    msg = padded_message(np.arange(6, dtype=np.uint8).reshape(2, 3), 'mono8', 0)
    msg.data = bytes(msg.data) + b'\x99' * 5
    np.testing.assert_array_equal(image_to_array(msg), [[0, 1, 2], [3, 4, 5]])


# --- to RGB -------------------------------------------------------------------------------------

@pytest.mark.parametrize('encoding, pixel, rgb', [
    ('rgb8', (10, 20, 30), (10, 20, 30)),
    ('bgr8', (10, 20, 30), (30, 20, 10)),
    ('rgba8', (10, 20, 30, 40), (10, 20, 30)),
    ('bgra8', (10, 20, 30, 40), (30, 20, 10)),
    ('mono8', 77, (77, 77, 77)),
])
def test_image_to_rgb8_channel_order(encoding, pixel, rgb) -> None:
    _, channels = ENCODINGS[encoding]
    shape = (3, 4) if channels == 1 else (3, 4, channels)
    pixels = np.empty(shape, np.uint8)
    pixels[...] = pixel
    pixels[0, 0] = 0  # one different pixel stays in place
    out = image_to_rgb8(fill_image(Image(), pixels, encoding))
    assert out.shape == (3, 4, 3) and out.dtype == np.uint8
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out[1:, :], np.broadcast_to(rgb, (2, 4, 3)))
    np.testing.assert_array_equal(out[0, 0], (0, 0, 0))


def test_image_to_rgb8_padded_bgr() -> None:
    pixels = random_pixels('bgr8', 5, 7)
    out = image_to_rgb8(padded_message(pixels, 'bgr8', 3))
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, pixels[:, :, ::-1])


def test_mono16_full_range_map() -> None:
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    out = image_to_rgb8(fill_image(Image(), values, 'mono16'))
    expected = np.rint(values / 257.0).astype(np.uint8)
    for channel in range(3):
        np.testing.assert_array_equal(out[:, :, channel], expected)
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255


# --- errors -------------------------------------------------------------------------------------

def test_unsupported_encoding() -> None:
    msg = padded_message(np.zeros((2, 4), np.uint8), 'mono8', 0)
    msg.encoding = 'yuv422'
    with pytest.raises(ImageFormatError) as raised:
        image_to_array(msg)
    assert 'yuv422' in str(raised.value) and 'mono8' in str(raised.value)
    with pytest.raises(ImageFormatError, match='yuv422'):
        image_to_rgb8(msg)


@pytest.mark.parametrize('encoding', ['32FC1', '16UC1'])
def test_non_stereo_encoding_to_rgb8(encoding: str) -> None:
    msg = fill_image(Image(), random_pixels(encoding, 2, 2), encoding)
    with pytest.raises(ImageFormatError) as raised:
        image_to_rgb8(msg)
    assert encoding in str(raised.value) and 'stereo input' in str(raised.value)


def test_step_smaller_than_row() -> None:
    msg = fill_image(Image(), np.zeros((4, 5, 3), np.uint8), 'rgb8')
    msg.step = 14
    with pytest.raises(ImageFormatError) as raised:
        image_to_array(msg)
    assert 'step 14' in str(raised.value) and '15' in str(raised.value)


def test_step_not_multiple_of_item_size() -> None:
    msg = padded_message(np.zeros((2, 3), np.uint16), 'mono16', 1)
    with pytest.raises(ImageFormatError, match='multiple'):
        image_to_array(msg)


def test_data_shorter_than_height_times_step() -> None:
    msg = fill_image(Image(), np.zeros((4, 5), np.uint8), 'mono8')
    msg.data = bytes(19)
    with pytest.raises(ImageFormatError) as raised:
        image_to_array(msg)
    assert '19 bytes' in str(raised.value) and '20' in str(raised.value)


# --- compressed ---------------------------------------------------------------------------------

def test_compressed_png_decodes_to_rgb() -> None:
    bgr = random_pixels('bgr8', 9, 11)
    ok, encoded = cv2.imencode('.png', bgr)
    assert ok
    msg = CompressedImage()
    msg.format = 'png'
    msg.data = encoded.tobytes()
    rgb = compressed_to_rgb8(msg)
    assert rgb.shape == (9, 11, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, bgr[:, :, ::-1])


@pytest.mark.parametrize('payload', [b'not an image at all', b''])
def test_compressed_garbage_raises(payload: bytes) -> None:
    msg = CompressedImage()
    msg.format = 'jpeg'
    msg.data = payload
    with pytest.raises(ImageFormatError) as raised:
        compressed_to_rgb8(msg)
    assert 'jpeg' in str(raised.value) and f'{len(payload)} bytes' in str(raised.value)


# --- point clouds -------------------------------------------------------------------------------

@pytest.mark.parametrize('big_endian', [False, True])
def test_cloud_to_array_reads_hand_built_cloud(big_endian: bool) -> None:
    order = '>' if big_endian else '<'
    dtype = np.dtype({'names': ['x', 'y', 'z', 'intensity', 'ring'],
                      'formats': [order + 'f4', order + 'f4', order + 'f4', order + 'f8',
                                  order + 'u2'],
                      'offsets': [0, 4, 8, 16, 24], 'itemsize': 32})
    points = np.zeros((2, 3), dtype)
    points['x'] = np.arange(6).reshape(2, 3)
    points['y'] = -np.arange(6).reshape(2, 3)
    points['z'] = 0.5
    points['intensity'] = np.linspace(0, 1, 6).reshape(2, 3)
    points['ring'] = [[1, 2, 3], [4, 5, 600]]
    msg = PointCloud2()
    msg.height, msg.width = 2, 3
    msg.fields = [PointField(name='x', offset=0, datatype=PointField.FLOAT32, count=1),
                  PointField(name='y', offset=4, datatype=PointField.FLOAT32, count=1),
                  PointField(name='z', offset=8, datatype=PointField.FLOAT32, count=1),
                  PointField(name='intensity', offset=16, datatype=PointField.FLOAT64,
                             count=1),
                  PointField(name='ring', offset=24, datatype=PointField.UINT16, count=1)]
    msg.is_bigendian = big_endian
    msg.point_step = 32
    msg.row_step = 96
    msg.data = points.tobytes()
    cloud = cloud_to_array(msg)
    assert cloud.shape == (2, 3)
    for name in dtype.names:
        np.testing.assert_array_equal(cloud[name], points[name])


def test_cloud_to_array_rejects_padded_rows() -> None:
    msg = PointCloud2()
    msg.height, msg.width = 1, 2
    msg.fields = [PointField(name='x', offset=0, datatype=PointField.FLOAT32, count=1)]
    msg.point_step = 4
    msg.row_step = 12
    msg.data = bytes(12)
    with pytest.raises(ImageFormatError, match='row_step'):
        cloud_to_array(msg)
