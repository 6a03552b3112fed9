# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""sensor_msgs/Image and PointCloud2 payloads <-> NumPy, without cv_bridge or sensor_msgs_py.

The functions read and write message fields by name, so they work on rclpy messages and on
rosbags dataclasses alike, and import nothing from ROS. Reading is zero-copy where the layout
allows; writing fills `data` with one `array.array('B').frombytes(memoryview)` copy, the fast
path (assigning `bytes` to an rclpy `data` property is orders of magnitude slower).
"""
from __future__ import annotations

import array
import sys
from typing import Any

import cv2
import numpy as np

# encoding -> (dtype, channels)
_LAYOUTS = {
    'mono8': (np.uint8, 1),
    'mono16': (np.uint16, 1),
    'rgb8': (np.uint8, 3),
    'bgr8': (np.uint8, 3),
    'rgba8': (np.uint8, 4),
    'bgra8': (np.uint8, 4),
    '16UC1': (np.uint16, 1),
    '32FC1': (np.float32, 1),
}
# What a stereo backend can take as colour input.
STEREO_INPUT_ENCODINGS = ('mono8', 'mono16', 'rgb8', 'bgr8', 'rgba8', 'bgra8')
_HOST_BIG_ENDIAN = sys.byteorder == 'big'


class ImageFormatError(ValueError):
    """An Image whose encoding, size or step cannot be read."""


def image_to_array(msg: Any) -> np.ndarray:
    """View an Image as (H, W) or (H, W, C) in its own encoding, honouring step and endianness.

    The result shares memory with `msg.data` when no byte swap is needed.
    """
    layout = _LAYOUTS.get(msg.encoding)
    if layout is None:
        raise ImageFormatError(
            f"unsupported encoding '{msg.encoding}'; supported: {sorted(_LAYOUTS)}")
    dtype, channels = layout
    itemsize = np.dtype(dtype).itemsize
    row_bytes = msg.width * channels * itemsize
    if msg.step < row_bytes:
        raise ImageFormatError(
            f'step {msg.step} is smaller than width*channels*bytes = {row_bytes} '
            f'for a {msg.width}x{msg.height} {msg.encoding} image')
    if msg.step % itemsize:
        raise ImageFormatError(f'step {msg.step} is not a multiple of {itemsize} bytes')
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size < msg.step * msg.height:
        raise ImageFormatError(
            f'data has {buffer.size} bytes, but height*step = {msg.height}*{msg.step} = '
            f'{msg.height * msg.step}')
    rows = buffer[:msg.step * msg.height].reshape(msg.height, msg.step)
    pixels = rows[:, :row_bytes].view(np.dtype(dtype).newbyteorder(
        '>' if msg.is_bigendian else '<'))
    pixels = pixels.reshape(msg.height, msg.width, channels)
    if itemsize > 1 and bool(msg.is_bigendian) != _HOST_BIG_ENDIAN:
        pixels = pixels.astype(dtype)
    return pixels[:, :, 0] if channels == 1 else pixels


def to_rgb8(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """Convert an image in a stereo input encoding to contiguous (H, W, 3) uint8 RGB."""
    if encoding not in STEREO_INPUT_ENCODINGS:
        raise ImageFormatError(
            f"encoding '{encoding}' is not a stereo input; use one of "
            f'{list(STEREO_INPUT_ENCODINGS)}')
    if encoding == 'mono16':
        # Full-range linear map: keeps relative contrast for 10/12/16-bit sensors alike.
        pixels = cv2.convertScaleAbs(pixels, alpha=1.0 / 257.0)
        encoding = 'mono8'
    conversion = {
        'mono8': cv2.COLOR_GRAY2RGB,
        'bgr8': cv2.COLOR_BGR2RGB,
        'rgba8': cv2.COLOR_RGBA2RGB,
        'bgra8': cv2.COLOR_BGRA2RGB,
    }.get(encoding)
    if conversion is None:
        return np.ascontiguousarray(pixels)
    return cv2.cvtColor(np.ascontiguousarray(pixels), conversion)


def image_to_rgb8(msg: Any) -> np.ndarray:
    """Read an Image in any stereo input encoding as (H, W, 3) uint8 RGB."""
    if msg.encoding not in STEREO_INPUT_ENCODINGS:
        raise ImageFormatError(
            f"encoding '{msg.encoding}' is not a stereo input; publish one of "
            f'{list(STEREO_INPUT_ENCODINGS)} (e.g. the rectified colour or mono image)')
    return to_rgb8(image_to_array(msg), msg.encoding)


def compressed_to_rgb8(msg: Any) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (jpeg or png) to (H, W, 3) uint8 RGB."""
    encoded = np.frombuffer(msg.data, dtype=np.uint8)
    bgr = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if encoded.size else None
    if bgr is None:
        raise ImageFormatError(
            f"cannot decode CompressedImage with format '{msg.format}' ({encoded.size} bytes)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def as_byte_array(pixels: np.ndarray) -> array.array:
    """Copy an array's bytes into an array('B'), the type rclpy stores uint8[] fields in."""
    packed = array.array('B')
    packed.frombytes(memoryview(np.ascontiguousarray(pixels)).cast('B'))
    return packed


def fill_image(msg: Any, pixels: np.ndarray, encoding: str) -> Any:
    """Write (H, W[, C]) pixels into an Image in `encoding`, tightly packed, host byte order."""
    layout = _LAYOUTS.get(encoding)
    if layout is None:
        raise ImageFormatError(f"cannot write encoding '{encoding}'")
    dtype, channels = layout
    if pixels.dtype != dtype or (pixels.shape[2:] or (1,))[0] != channels:
        raise ImageFormatError(
            f'{encoding} needs {channels}-channel {np.dtype(dtype).name} pixels, got '
            f'{pixels.dtype.name} of shape {pixels.shape}')
    msg.height, msg.width = pixels.shape[:2]
    msg.encoding = encoding
    msg.is_bigendian = _HOST_BIG_ENDIAN
    msg.step = msg.width * channels * pixels.itemsize
    msg.data = as_byte_array(pixels)
    return msg


_POINT_FIELD_TYPES = {1: np.int8, 2: np.uint8, 3: np.int16, 4: np.uint16, 5: np.int32,
                      6: np.uint32, 7: np.float32, 8: np.float64}


def cloud_to_array(msg: Any) -> np.ndarray:
    """View a PointCloud2 as a structured array of shape (height, width), zero-copy."""
    byte_order = '>' if msg.is_bigendian else '<'
    dtype = np.dtype({
        'names': [field.name for field in msg.fields],
        'formats': [np.dtype(_POINT_FIELD_TYPES[field.datatype]).newbyteorder(byte_order)
                    if field.count == 1 else
                    (np.dtype(_POINT_FIELD_TYPES[field.datatype]).newbyteorder(byte_order),
                     (field.count,)) for field in msg.fields],
        'offsets': [field.offset for field in msg.fields],
        'itemsize': msg.point_step,
    })
    if msg.row_step != msg.width * msg.point_step:
        raise ImageFormatError(f'row_step {msg.row_step} != width*point_step '
                               f'{msg.width}*{msg.point_step}; padded rows are not supported')
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    return buffer[:msg.height * msg.row_step].view(dtype).reshape(msg.height, msg.width)
