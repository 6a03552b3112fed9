# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Readers and writers for the image, disparity and depth files of the benchmark datasets.

Every reader checks what it reads (magic tag, bit depth, channel count, size against the
header) and raises ``DatasetError`` naming the file and what was expected, so a corrupt or
mislabelled file stops an evaluation with a reason instead of producing wrong numbers. Missing
ground truth comes back as NaN, never as the 0 or inf that the file formats use for it.

Formats:

* PNG/JPG colour images -> (H, W, 3) uint8 RGB.
* PFM (Middlebury, SceneFlow): one-channel 'Pf' float32, rows stored bottom-up, the sign of
  the scale line giving the byte order (negative = little-endian).
* MPI-Sintel disparity PNG: 8-bit RGB, d = 4 R + G / 2**6 + B / 2**14 pixels.
* MPI-Sintel depth ``.dpt``: float32 tag 202021.25, int32 width, int32 height, float32 data.
* 16-bit PNG: value = stored / scale, 0 = missing (KITTI disparity and depth 256, TUM and Bonn
  depth 5000, ScanNet depth 1000).
* Middlebury ``calib.txt``: the two camera matrices, doffs and the baseline in mm.
"""
from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import re
from typing import Dict, Optional, Tuple, Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError
from stereo_any_video_ros.calibration import (CalibrationError, PinholeInfo, stereo_calibration,
                                              StereoCalibration)
from stereo_any_video_ros.evaluation.datasets.base import DatasetError

PathLike = Union[str, os.PathLike]

# The float that opens MPI-Sintel .dpt, .cam and Middlebury .flo files.
SINTEL_TAG = 202021.25
# Sintel disparity PNGs: R counts 4 px steps, G 1/64 px, B 1/16384 px.
_SINTEL_STEPS = (4.0, 2.0 ** -6, 2.0 ** -14)
# Largest image side accepted from a binary header; more means the header is garbage.
_MAX_SIDE = 1 << 16


# ---------------------------------------------------------------------------------------------
# Colour images


def read_image(path: PathLike) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a PNG or JPG; alpha is dropped, grayscale replicated."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode in ('I', 'I;16', 'I;16B', 'I;16L', 'F'):
                raise DatasetError(
                    f'{path}: is a {mode} image (16-bit or float), expected an 8-bit RGB or '
                    'grayscale image; is this a depth or disparity map in the image folder?')
            if mode == 'RGB':
                rgb = np.asarray(image)
            elif mode in ('L', 'LA'):
                gray = np.asarray(image.getchannel(0))
                rgb = np.repeat(gray[:, :, None], 3, axis=2)
            else:  # RGBA, palette, CMYK, 1-bit: PIL converts each to 8-bit RGB exactly.
                rgb = np.asarray(image.convert('RGB'))
    except (FileNotFoundError, IsADirectoryError):
        raise DatasetError(f'{path}: image file not found') from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f'{path}: cannot read the image ({exc})') from None
    return np.ascontiguousarray(rgb, dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# PFM


def read_pfm(path: PathLike) -> np.ndarray:
    """(H, W) float32 from a one-channel 'Pf' PFM file, top row first.

    Three-channel 'PF' files are refused: a disparity or depth map has one channel, and taking
    one of three would hide a wrong file.
    """
    path = Path(path)
    data = _read_bytes(path, 'PFM file')
    lines = data.split(b'\n', 3)
    if len(lines) < 4:
        raise DatasetError(f'{path}: truncated PFM header, expected 3 lines (Pf, width height, '
                           'scale)')
    magic, size, scale_text, payload = lines[0].strip(), lines[1], lines[2].strip(), lines[3]
    if magic == b'PF':
        raise DatasetError(f'{path}: 3-channel PFM (PF), expected a 1-channel disparity or '
                           "depth map ('Pf')")
    if magic != b'Pf':
        raise DatasetError(f'{path}: not a PFM file: first line is {magic[:16]!r}, expected '
                           "b'Pf'")
    match = re.fullmatch(rb'\s*(\d+)\s+(\d+)\s*', size)
    if match is None:
        raise DatasetError(f'{path}: malformed PFM size line {size[:32]!r}, expected '
                           "'<width> <height>'")
    width, height = int(match.group(1)), int(match.group(2))
    try:
        scale = float(scale_text)
    except ValueError:
        raise DatasetError(f'{path}: malformed PFM scale line {scale_text[:32]!r}, expected a '
                           'number whose sign gives the byte order') from None
    if scale == 0.0:
        raise DatasetError(f'{path}: PFM scale is 0; its sign must give the byte order')
    _check_size(path, width, height)
    if len(payload) != 4 * width * height:
        raise DatasetError(f'{path}: PFM header says {width}x{height} ({4 * width * height} '
                           f'bytes of float32) but the file has {len(payload)} bytes of data')
    dtype = np.dtype('<f4') if scale < 0 else np.dtype('>f4')
    rows = np.frombuffer(payload, dtype=dtype).reshape(height, width)
    return np.ascontiguousarray(rows[::-1], dtype=np.float32)  # stored bottom row first


def write_pfm(path: PathLike, array: np.ndarray) -> None:
    """Write an (H, W) array as a little-endian one-channel PFM (values kept as float32)."""
    values = _as_2d_float32(array, 'write_pfm')
    height, width = values.shape
    header = f'Pf\n{width} {height}\n-1.0\n'.encode('ascii')
    Path(path).write_bytes(header + values[::-1].astype('<f4').tobytes())


# ---------------------------------------------------------------------------------------------
# MPI-Sintel


def read_sintel_disparity(path: PathLike) -> np.ndarray:
    """(H, W) float32 pixels from an MPI-Sintel disparity PNG; 0 (no disparity) is NaN."""
    path = Path(path)
    rgb = _read_png(path, 'Sintel disparity')
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DatasetError(f'{path}: Sintel disparity must be an 8-bit RGB PNG, got '
                           f'{_describe(rgb)}')
    rgb = rgb[:, :, ::-1].astype(np.float64)  # OpenCV reads BGR
    disparity = (rgb[:, :, 0] * _SINTEL_STEPS[0] + rgb[:, :, 1] * _SINTEL_STEPS[1]
                 + rgb[:, :, 2] * _SINTEL_STEPS[2]).astype(np.float32)
    # SAV and the Sintel SDK count only d > 0 as ground truth.
    disparity[disparity == 0] = np.nan
    return disparity


def write_sintel_disparity(path: PathLike, disparity: np.ndarray) -> None:
    """Encode (H, W) disparity in [0, 1024) px as a Sintel PNG; NaN is written as 0.

    Values are truncated to multiples of 2**-14 px, as the Sintel SDK does.
    """
    values = _as_2d_float32(disparity, 'write_sintel_disparity').astype(np.float64)
    finite = values[np.isfinite(values)]
    if np.isinf(values).any() or (finite.size and (finite.min() < 0 or finite.max() >= 1024)):
        raise ValueError('write_sintel_disparity: values must be NaN or in [0, 1024) px')
    values = np.nan_to_num(values, nan=0.0)
    red = np.floor(values / 4.0)
    green = np.floor(np.mod(values * 2.0 ** 6, 256.0))
    blue = np.floor(np.mod(values * 2.0 ** 14, 256.0))
    rgb = np.stack([red, green, blue], axis=2).astype(np.uint8)
    _write_png(Path(path), rgb[:, :, ::-1])


def read_sintel_depth(path: PathLike) -> np.ndarray:
    """(H, W) float32 metres from an MPI-Sintel ``.dpt`` file (values as stored)."""
    path = Path(path)
    data = _read_bytes(path, 'Sintel depth file')
    if len(data) < 12:
        raise DatasetError(f'{path}: {len(data)} bytes, too short for a .dpt header '
                           '(tag, width, height)')
    tag = np.frombuffer(data, '<f4', count=1)[0]
    if tag != np.float32(SINTEL_TAG):
        raise DatasetError(f'{path}: wrong .dpt tag {tag!r}, expected {SINTEL_TAG} '
                           '(not a Sintel depth file, or big-endian)')
    width, height = (int(v) for v in np.frombuffer(data, '<i4', count=2, offset=4))
    _check_size(path, width, height)
    payload = data[12:]
    if len(payload) != 4 * width * height:
        raise DatasetError(f'{path}: .dpt header says {width}x{height} '
                           f'({4 * width * height} bytes of float32) but the file has '
                           f'{len(payload)} bytes of data')
    return np.frombuffer(payload, '<f4').reshape(height, width).astype(np.float32)


def write_sintel_depth(path: PathLike, depth: np.ndarray) -> None:
    """Write (H, W) depth as an MPI-Sintel ``.dpt`` file."""
    values = _as_2d_float32(depth, 'write_sintel_depth')
    height, width = values.shape
    header = np.array([SINTEL_TAG], '<f4').tobytes() + np.array([width, height], '<i4').tobytes()
    Path(path).write_bytes(header + values.astype('<f4').tobytes())


def read_sintel_camera(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """(K (3, 3), extrinsic [R|t] (3, 4)) float64 from an MPI-Sintel ``.cam`` file."""
    path = Path(path)
    data = _read_bytes(path, 'Sintel camera file')
    expected = 4 + 8 * (9 + 12)
    if len(data) < expected:
        raise DatasetError(f'{path}: {len(data)} bytes, expected {expected} (tag, 3x3 K and '
                           '3x4 extrinsic as float64)')
    tag = np.frombuffer(data, '<f4', count=1)[0]
    if tag != np.float32(SINTEL_TAG):
        raise DatasetError(f'{path}: wrong .cam tag {tag!r}, expected {SINTEL_TAG}')
    values = np.frombuffer(data, '<f8', count=21, offset=4)
    return values[:9].reshape(3, 3).copy(), values[9:].reshape(3, 4).copy()


def write_sintel_camera(path: PathLike, intrinsics: np.ndarray, extrinsics: np.ndarray) -> None:
    """Write an MPI-Sintel ``.cam`` file: tag, K (3, 3), [R|t] (3, 4)."""
    k = np.asarray(intrinsics, '<f8').reshape(3, 3)
    rt = np.asarray(extrinsics, '<f8').reshape(3, 4)
    Path(path).write_bytes(np.array([SINTEL_TAG], '<f4').tobytes() + k.tobytes() + rt.tobytes())


# ---------------------------------------------------------------------------------------------
# 16-bit PNG


def read_png16(path: PathLike, scale: float) -> np.ndarray:
    """(H, W) float32 stored / scale from a one-channel 16-bit PNG; stored 0 is NaN."""
    path = Path(path)
    stored = _read_png(path, '16-bit PNG')
    if stored.dtype != np.uint16 or stored.ndim != 2:
        raise DatasetError(f'{path}: expected a 1-channel 16-bit PNG (value * {scale:g}), got '
                           f'{_describe(stored)}')
    values = stored.astype(np.float32) / np.float32(scale)
    values[stored == 0] = np.nan
    return values


def write_png16(path: PathLike, values: np.ndarray, scale: float) -> None:
    """Store round(values * scale) as a 16-bit PNG, NaN as 0.

    Refuses values whose code would leave [1, 65535]: 0 means missing, so a real value must
    not round to it.
    """
    array = _as_2d_float32(values, 'write_png16').astype(np.float64)
    missing = np.isnan(array)
    codes = np.round(np.where(missing, 0.0, array) * scale)
    present = codes[~missing]
    if present.size and (present.min() < 1 or present.max() > 65535):
        raise ValueError(f'write_png16: values must be NaN or in [{1 / scale:g}, '
                         f'{65535 / scale:g}] at scale {scale:g}, got '
                         f'[{array[~missing].min():g}, {array[~missing].max():g}]')
    _write_png(Path(path), codes.astype(np.uint16))


def read_float16_png(path: PathLike) -> np.ndarray:
    """(H, W) float32 from a 16-bit PNG whose samples are float16 bit patterns (as stored).

    Dynamic Replica stores its depth maps this way (PyTorch3D's ``_load_16big_png_depth``).
    """
    path = Path(path)
    stored = _read_png(path, 'float16 PNG')
    if stored.dtype != np.uint16 or stored.ndim != 2:
        raise DatasetError(f'{path}: expected a 1-channel 16-bit PNG holding float16 values, '
                           f'got {_describe(stored)}')
    return stored.view(np.float16).astype(np.float32)


def write_float16_png(path: PathLike, values: np.ndarray) -> None:
    """Store (H, W) values as float16 bit patterns in a 16-bit PNG."""
    array = _as_2d_float32(values, 'write_float16_png')
    _write_png(Path(path), np.ascontiguousarray(array.astype(np.float16)).view(np.uint16))


def read_mask(path: PathLike) -> np.ndarray:
    """(H, W) uint8 from a one-channel 8-bit PNG mask (occlusion, validity), values as stored."""
    path = Path(path)
    mask = _read_png(path, 'mask')
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise DatasetError(f'{path}: expected a 1-channel 8-bit PNG mask, got '
                           f'{_describe(mask)}')
    return mask


# ---------------------------------------------------------------------------------------------
# Middlebury calib.txt


@dataclass(frozen=True)
class MiddleburyCalibration:
    """A Middlebury 2014/2021 ``calib.txt``: Z = baseline * f / (d + doffs), baseline in mm."""

    cam0: np.ndarray  # (3, 3) left intrinsics, pixels
    cam1: np.ndarray  # (3, 3) right intrinsics, pixels
    doffs: float      # cx1 - cx0, pixels
    baseline: float   # millimetres
    width: int
    height: int
    ndisp: Optional[int] = None
    isint: Optional[int] = None
    vmin: Optional[int] = None
    vmax: Optional[int] = None
    dyavg: Optional[float] = None
    dymax: Optional[float] = None

    def stereo_calibration(self) -> StereoCalibration:
        """The rectified pair, baseline in metres; its cx_offset is -doffs."""
        def pinhole(k: np.ndarray, tx: float) -> PinholeInfo:
            p = np.zeros((3, 4))
            p[:, :3] = k
            p[0, 3] = tx
            return PinholeInfo(self.width, self.height, tuple(k.ravel()), tuple(p.ravel()))

        baseline_m = self.baseline / 1000.0
        left = pinhole(self.cam0, 0.0)
        right = pinhole(self.cam1, -self.cam1[0, 0] * baseline_m)
        try:
            return stereo_calibration(left, right)
        except CalibrationError as exc:
            raise DatasetError(f'Middlebury calibration is not a rectified pair: {exc}') from None


_MIDDLEBURY_REQUIRED = ('cam0', 'cam1', 'doffs', 'baseline', 'width', 'height')
_MIDDLEBURY_INTS = ('width', 'height', 'ndisp', 'isint', 'vmin', 'vmax')
_MIDDLEBURY_FLOATS = ('doffs', 'baseline', 'dyavg', 'dymax')


def read_middlebury_calib(path: PathLike) -> MiddleburyCalibration:
    """Parse a Middlebury ``calib.txt`` (``key=value`` lines, matrices as ``[a b c; ...]``)."""
    path = Path(path)
    entries: Dict[str, str] = {}
    for number, line in enumerate(_read_text(path, 'Middlebury calib.txt').splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition('=')
        if not sep:
            raise DatasetError(f'{path}:{number}: expected key=value, got {line.strip()!r}')
        entries[key.strip()] = value.strip()
    missing = [key for key in _MIDDLEBURY_REQUIRED if key not in entries]
    if missing:
        raise DatasetError(f'{path}: missing {", ".join(missing)}; a Middlebury calib.txt has '
                           'cam0, cam1, doffs, baseline, width and height')
    fields = {'cam0': _middlebury_matrix(path, 'cam0', entries['cam0']),
              'cam1': _middlebury_matrix(path, 'cam1', entries['cam1'])}
    for key in _MIDDLEBURY_INTS + _MIDDLEBURY_FLOATS:
        if key in entries:
            try:
                number = float(entries[key])
            except ValueError:
                raise DatasetError(f'{path}: {key}={entries[key]!r} is not a number') from None
            if key in _MIDDLEBURY_INTS:
                if number != int(number):
                    raise DatasetError(f'{path}: {key}={entries[key]!r} must be an integer')
                number = int(number)
            fields[key] = number
    calib = MiddleburyCalibration(**fields)
    cx_step = calib.cam1[0, 2] - calib.cam0[0, 2]
    if abs(cx_step - calib.doffs) > 1e-2:
        raise DatasetError(f'{path}: doffs={calib.doffs} but cam1 cx - cam0 cx = {cx_step:g}; '
                           'the two must agree')
    if not calib.baseline > 0:
        raise DatasetError(f'{path}: baseline={calib.baseline} mm, expected > 0')
    return calib


def write_middlebury_calib(path: PathLike, calib: MiddleburyCalibration) -> None:
    """Write ``calib`` in the Middlebury ``calib.txt`` format (optional keys only when set)."""
    def matrix(k: np.ndarray) -> str:
        return '[' + '; '.join(' '.join(f'{v:g}' for v in row) for row in k) + ']'

    lines = [f'cam0={matrix(calib.cam0)}', f'cam1={matrix(calib.cam1)}',
             f'doffs={calib.doffs!r}', f'baseline={calib.baseline!r}']
    for key in ('width', 'height', 'ndisp', 'isint', 'vmin', 'vmax', 'dyavg', 'dymax'):
        value = getattr(calib, key)
        if value is not None:
            lines.append(f'{key}={value!r}')
    Path(path).write_text('\n'.join(lines) + '\n', encoding='ascii')


def _middlebury_matrix(path: Path, key: str, text: str) -> np.ndarray:
    match = re.fullmatch(r'\[(.*)\]', text)
    rows = match.group(1).split(';') if match else []
    try:
        values = np.array([[float(v) for v in row.split()] for row in rows], dtype=np.float64)
    except ValueError:
        values = np.zeros(0)
    if values.shape != (3, 3):
        raise DatasetError(f'{path}: {key}={text!r}, expected a 3x3 matrix '
                           "'[f 0 cx; 0 f cy; 0 0 1]'")
    return values


# ---------------------------------------------------------------------------------------------
# KITTI calibration


def read_kitti_calib(path: PathLike) -> Dict[str, np.ndarray]:
    """``key: numbers`` lines of a KITTI calibration file (non-numeric entries skipped)."""
    text = _read_text(Path(path), 'KITTI calibration file')
    entries = {}
    for line in text.splitlines():
        key, sep, value = line.partition(':')
        if not sep:
            continue
        try:
            entries[key.strip()] = np.array([float(v) for v in value.split()])
        except ValueError:
            continue  # calib_time is a date
    return entries


# ---------------------------------------------------------------------------------------------
# Dispatch by suffix


def read_disparity(path: PathLike) -> np.ndarray:
    """(H, W) float32 px, NaN where there is no GT, from .pfm, 16-bit .png (/256) or .npy.

    PFM and NPY mark missing GT with inf or NaN; PNG (KITTI convention) with 0.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == '.png':
        return read_png16(path, 256.0)
    if suffix == '.pfm':
        values = read_pfm(path)
    elif suffix == '.npy':
        values = _read_npy(path)
    else:
        raise DatasetError(f'{path}: unknown disparity format {suffix!r}; expected .pfm, '
                           '16-bit .png (disparity * 256) or .npy')
    return np.where(np.isfinite(values), values, np.float32(np.nan)).astype(np.float32)


def read_depth(path: PathLike, png_scale: Optional[float] = None) -> np.ndarray:
    """(H, W) float32 metres, NaN where there is no GT, from .pfm, .npy, .dpt or 16-bit .png.

    A 16-bit PNG stores depth * ``png_scale`` (which must be given for PNGs). Non-finite and
    non-positive depths are missing GT.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == '.png':
        if png_scale is None:
            raise DatasetError(f'{path}: a 16-bit PNG depth map needs its scale (stored value '
                               'per metre, e.g. 256 KITTI, 5000 TUM/Bonn, 1000 ScanNet)')
        return read_png16(path, png_scale)
    if suffix == '.pfm':
        values = read_pfm(path)
    elif suffix == '.npy':
        values = _read_npy(path)
    elif suffix == '.dpt':
        values = read_sintel_depth(path)
    elif suffix == '.exr':
        raise DatasetError(f'{path}: OpenEXR depth is not supported; convert it to .npy or '
                           '.pfm')
    else:
        raise DatasetError(f'{path}: unknown depth format {suffix!r}; expected .pfm, .npy, '
                           '.dpt or 16-bit .png')
    return np.where(np.isfinite(values) & (values > 0), values,
                    np.float32(np.nan)).astype(np.float32)


def read_size(path: PathLike) -> Tuple[int, int]:
    """(width, height) of an image, PFM, .dpt or .npy file from its header alone.

    Readers use it to check a dataset's frame sizes when it is opened without loading pixels.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == '.pfm':
        header = _read_head(path, 'PFM file').split(b'\n')
        match = re.fullmatch(rb'\s*(\d+)\s+(\d+)\s*', header[1]) if len(header) > 2 else None
        if not header[0].strip().startswith(b'P') or match is None:
            raise DatasetError(f'{path}: malformed PFM header')
        return int(match.group(1)), int(match.group(2))
    if suffix == '.dpt':
        head = _read_head(path, 'Sintel depth file')
        if len(head) < 12:
            raise DatasetError(f'{path}: too short for a .dpt header')
        width, height = np.frombuffer(head, '<i4', count=2, offset=4)
        return int(width), int(height)
    if suffix == '.npy':
        try:
            shape = np.load(path, mmap_mode='r', allow_pickle=False).shape
        except FileNotFoundError:
            raise DatasetError(f'{path}: file not found') from None
        except (OSError, ValueError) as exc:
            raise DatasetError(f'{path}: cannot read the .npy file ({exc})') from None
        if len(shape) < 2:
            raise DatasetError(f'{path}: expected a 2-D array, got shape {shape}')
        return int(shape[1]), int(shape[0])
    try:
        with Image.open(path) as image:
            return image.size
    except (FileNotFoundError, IsADirectoryError):
        raise DatasetError(f'{path}: file not found') from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f'{path}: cannot read the image header ({exc})') from None


# ---------------------------------------------------------------------------------------------
# Helpers


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise DatasetError(f'{path}: {what} not found') from None
    except OSError as exc:
        raise DatasetError(f'{path}: cannot read the {what} ({exc})') from None


def _read_head(path: Path, what: str) -> bytes:
    try:
        with path.open('rb') as stream:
            return stream.read(256)
    except (FileNotFoundError, IsADirectoryError):
        raise DatasetError(f'{path}: {what} not found') from None
    except OSError as exc:
        raise DatasetError(f'{path}: cannot read the {what} ({exc})') from None


def _read_text(path: Path, what: str) -> str:
    data = _read_bytes(path, what)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        raise DatasetError(f'{path}: {what} is not a text file') from None


def _read_png(path: Path, what: str) -> np.ndarray:
    """The PNG's stored samples, bit depth and channels unchanged (OpenCV order)."""
    data = _read_bytes(path, what)
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise DatasetError(f'{path}: cannot decode the {what} (not an image file)')
    return array


def _write_png(path: Path, array: np.ndarray) -> None:
    ok, encoded = cv2.imencode('.png', array)
    if not ok:
        raise ValueError(f'{path}: OpenCV could not encode a {_describe(array)} PNG')
    path.write_bytes(encoded.tobytes())


def _read_npy(path: Path) -> np.ndarray:
    try:
        values = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f'{path}: file not found') from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f'{path}: cannot read the .npy file ({exc})') from None
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[:, :, 0]
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.number):
        raise DatasetError(f'{path}: expected a 2-D numeric array, got shape {values.shape} '
                           f'{values.dtype}')
    return values.astype(np.float32)


def _describe(array: np.ndarray) -> str:
    channels = 1 if array.ndim == 2 else array.shape[2]
    return f'{channels}-channel {8 * array.dtype.itemsize}-bit'


def _check_size(path: Path, width: int, height: int) -> None:
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        raise DatasetError(f'{path}: header gives size {width}x{height}, which is not a '
                           'plausible image size (corrupt header?)')


def _as_2d_float32(array: np.ndarray, caller: str) -> np.ndarray:
    values = np.asarray(array, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f'{caller}: expected an (H, W) array, got shape {values.shape}')
    return values


__all__ = ['MiddleburyCalibration', 'read_depth', 'read_disparity', 'read_float16_png',
           'read_image', 'read_kitti_calib', 'read_mask', 'read_middlebury_calib', 'read_pfm',
           'read_png16', 'read_sintel_camera', 'read_sintel_depth', 'read_sintel_disparity',
           'read_size', 'SINTEL_TAG', 'write_float16_png', 'write_middlebury_calib', 'write_pfm',
           'write_png16', 'write_sintel_camera', 'write_sintel_depth', 'write_sintel_disparity']
