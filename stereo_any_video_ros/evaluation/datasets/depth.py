# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Readers for monocular video-depth benchmarks: RGB frames with metric GT depth.

Each reader lists and checks a dataset's files when called and returns ``DepthSequence``
objects that read pixels only in ``load(i)``. The defaults reproduce the frames and depth caps
of DepthCrafter's benchmark (``benchmark/dataset_extract/*.py``, ``benchmark/eval/eval.sh``),
which StereoDiff's numbers follow (stereodiff-architecture.md §6.1):

============  ======================  =========  ===============  =====================
dataset       frames read             max_depth  protocol_frames  depth file
============  ======================  =========  ===============  =====================
Sintel        all                     70 m       50               .dpt, metres
ScanNet       first 270, every 3rd    10 m       90               PNG mm (/1000)
Bonn          associated 30 .. 139    10 m       110              PNG /5000
TUM RGB-D     first 270, every 3rd    10 m       90               PNG /5000
============  ======================  =========  ===============  =====================

TUM is not in DepthCrafter's benchmark; its defaults follow MonST3R's TUM preparation
(``datasets_preprocess/prepare_tum.py``: associated frames, every 3rd, at most 90) and the
10 m cap of the other Kinect-style indoor sets. GT depth that the files mark as missing (0,
non-finite, non-positive) is NaN.
"""
from __future__ import annotations

import bisect
import logging
import math
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from stereo_any_video_ros.evaluation.datasets.base import (DatasetError, DepthSample,
                                                           DepthSequence)
from stereo_any_video_ros.evaluation.datasets.formats import read_depth, read_image
from stereo_any_video_ros.evaluation.datasets.layout import (files_by_stem, IMAGE_SUFFIXES,
                                                             match_stems, require_folder,
                                                             select_sequences, sequence_folders,
                                                             subfolders)

LOGGER = logging.getLogger(__name__)

PathLike = Union[str, Path]
FramePair = Tuple[Path, Path]  # (RGB image, GT depth)

SINTEL_MAX_DEPTH, SINTEL_PROTOCOL_FRAMES = 70.0, 50
# MonST3R's caps (depth cap, cap of the aligned depth) where its notebook sets them.
SINTEL_MONST3R_CAPS = (70.0, 70.0)
BONN_MONST3R_CAPS = (70.0, None)
SCANNET_MAX_DEPTH, SCANNET_PROTOCOL_FRAMES = 10.0, 90
BONN_MAX_DEPTH, BONN_PROTOCOL_FRAMES = 10.0, 110
TUM_MAX_DEPTH, TUM_PROTOCOL_FRAMES = 10.0, 90

# DepthCrafter skips Bonn's first 30 frames (the camera still at rest) and keeps 110.
BONN_FRAMES = slice(30, 140)
# DepthCrafter's ScanNet (and MonST3R's TUM): every 3rd of the first 270 frames = 90 frames.
SCANNET_FRAMES = slice(0, 270, 3)
TUM_FRAMES = slice(0, 270, 3)
# Rows and columns DepthCrafter cuts from each side of a ScanNet frame: the black border that
# registering colour to the depth camera leaves.
SCANNET_BORDER = (8, 11)
# Kinect frames of TUM RGB-D and Bonn: depth 16-bit PNG, 5000 per metre.
TUM_PNG_SCALE = 5000.0
SCANNET_PNG_SCALE = 1000.0
# TUM's associate.py default: an RGB and a depth frame at most 20 ms apart are one frame.
TUM_MAX_TIME_DIFFERENCE = 0.02

DEPTH_SUFFIXES = ('.npy', '.pfm', '.png', '.dpt')


# --- small helpers -------------------------------------------------------------------------------

def _pair_by_stem(image_dir: Path, depth_dir: Path, depth_suffixes: Sequence[str],
                  layout: str) -> List[FramePair]:
    """(image, depth) pairs with equal file name stems, in natural order of the stems."""
    images = files_by_stem(image_dir, IMAGE_SUFFIXES, 'image', layout)
    depths = files_by_stem(depth_dir, depth_suffixes, 'depth', layout)
    return [(images[stem], depths[stem]) for stem in match_stems(images, depths)]


def _depth_sequence(name: str, source: Path, frames: List[FramePair],
                    read_gt: Callable[[Path], np.ndarray], max_depth: float,
                    protocol_frames: Optional[int],
                    fit: Optional[Callable[[np.ndarray, np.ndarray],
                                           Tuple[np.ndarray, np.ndarray]]] = None
                    ) -> DepthSequence:
    """A lazy sequence; `fit` may resize/crop (image, depth) before the size check."""
    if not frames:
        raise DatasetError(f'{source}: sequence {name!r} has no frames to evaluate (after the '
                           'frame selection)')

    def load(index: int) -> DepthSample:
        image_path, depth_path = frames[index]
        image, depth = read_image(image_path), read_gt(depth_path)
        if fit is not None:
            image, depth = fit(image, depth)
        if image.shape[:2] != depth.shape:
            raise DatasetError(
                f'{image_path} is {image.shape[1]}x{image.shape[0]} but its depth {depth_path} '
                f'is {depth.shape[1]}x{depth.shape[0]}; image and GT depth must have one size')
        return DepthSample(image, depth)

    return DepthSequence(name, len(frames), load, max_depth, str(source), protocol_frames)


def _with_monst3r_caps(sequences: List[DepthSequence], max_depth: Optional[float],
                       post_clip: Optional[float]) -> List[DepthSequence]:
    for sequence in sequences:
        sequence.monst3r_max_depth = max_depth
        sequence.monst3r_post_clip = post_clip
    return sequences


# --- MPI-Sintel depth ----------------------------------------------------------------------------

SINTEL_LAYOUT = ('<root>/training/{clean,final}/<seq>/frame_XXXX.png and '
                 '<root>/training/depth/<seq>/frame_XXXX.dpt (or those folders in <root>)')


def read_sintel_depth_dataset(root: PathLike, pass_name: str = 'clean',
                              sequences: Optional[Sequence[str]] = None
                              ) -> List[DepthSequence]:
    """MPI-Sintel training sequences with the depth of MPI-Sintel-depth-training.

    The sequences are those of ``training/depth``; each must have the same frames in
    ``training/<pass_name>``. Depth is in metres as stored; max_depth 70, first 50 frames
    evaluated (DepthCrafter).
    """
    if pass_name not in ('clean', 'final'):
        raise ValueError(f"pass_name must be 'clean' or 'final', got {pass_name!r}")
    root = Path(root)
    training = root / 'training' if (root / 'training').is_dir() else root
    found = subfolders(training / 'depth', 'Sintel depth', SINTEL_LAYOUT)
    image_root = require_folder(training / pass_name, f'Sintel {pass_name}', SINTEL_LAYOUT)
    result = []
    for name, depth_dir in select_sequences(found, sequences, training / 'depth').items():
        image_dir = image_root / name
        if not image_dir.is_dir():
            raise DatasetError(f'{depth_dir} has depth but {image_dir} does not exist; '
                               f'expected {SINTEL_LAYOUT}')
        frames = _pair_by_stem(image_dir, depth_dir, ('.dpt',), SINTEL_LAYOUT)
        result.append(_depth_sequence(name, image_dir, frames, read_depth, SINTEL_MAX_DEPTH,
                                      SINTEL_PROTOCOL_FRAMES))
    return _with_monst3r_caps(result, *SINTEL_MONST3R_CAPS)


# --- TUM RGB-D and Bonn RGB-D Dynamic ------------------------------------------------------------

TUM_LAYOUT = ('<root>/<seq>/{rgb.txt, depth.txt, rgb/*.png, depth/*.png} (or those directly '
              'in <root>), list files with lines "<timestamp> <relative file>"')


def read_tum_list(path: Path) -> List[Tuple[float, Path]]:
    """(timestamp s, file) of a TUM list file (rgb.txt, depth.txt); '#' lines are comments."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DatasetError(f'{path} does not exist; expected the layout {TUM_LAYOUT}') from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.replace(',', ' ').replace('\t', ' ').split()
        if not fields or fields[0].startswith('#'):
            continue
        try:
            stamp, name = float(fields[0]), fields[1]
        except (ValueError, IndexError):
            raise DatasetError(f'{path}:{number}: expected "<timestamp> <file>", got '
                               f'{line.strip()!r}') from None
        file = path.parent / name
        if not file.is_file():
            raise DatasetError(f'{path}:{number} lists {name}, but {file} does not exist')
        entries.append((stamp, file))
    if not entries:
        raise DatasetError(f'{path} lists no frames')
    return entries


def associate(first: Sequence[float], second: Sequence[float], max_difference: float
              ) -> List[Tuple[int, int]]:
    """Index pairs (i, j) of stamps less than `max_difference` apart, sorted by i.

    TUM's associate.py rule: of all candidate pairs, the closest are taken first, and each
    stamp joins at most one pair.
    """
    order = sorted(range(len(second)), key=lambda j: second[j])
    sorted_second = [second[j] for j in order]
    candidates = []
    for i, stamp in enumerate(first):
        low = bisect.bisect_right(sorted_second, stamp - max_difference)
        high = bisect.bisect_left(sorted_second, stamp + max_difference)
        candidates.extend((abs(stamp - sorted_second[k]), stamp, sorted_second[k], i, order[k])
                          for k in range(low, high))
    candidates.sort()
    used_first, used_second, pairs = set(), set(), []
    for _, _, _, i, j in candidates:
        if i not in used_first and j not in used_second:
            used_first.add(i)
            used_second.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def _rgbd_sequences(root: PathLike, sequences: Optional[Sequence[str]], frames: slice,
                    max_difference: float, max_depth: float, protocol_frames: Optional[int]
                    ) -> List[DepthSequence]:
    """TUM-format sequences: RGB and depth paired by nearest timestamp, then `frames` kept."""
    def is_sequence(folder: Path) -> bool:
        return (folder / 'rgb.txt').is_file() or (folder / 'rgb').is_dir()

    root = Path(root)
    found = sequence_folders(root, is_sequence, 'rgb.txt or rgb/ folder', TUM_LAYOUT)
    result = []
    for name, folder in select_sequences(found, sequences, root).items():
        images = read_tum_list(folder / 'rgb.txt')
        depths = read_tum_list(folder / 'depth.txt')
        pairs = associate([stamp for stamp, _ in images], [stamp for stamp, _ in depths],
                          max_difference)
        if not pairs:
            raise DatasetError(
                f'{folder}: no RGB frame ({images[0][0]:.3f} .. {images[-1][0]:.3f} s) has a '
                f'depth frame ({depths[0][0]:.3f} .. {depths[-1][0]:.3f} s) within '
                f'{max_difference} s; are rgb.txt and depth.txt of the same recording?')
        if len(pairs) < max(len(images), len(depths)):
            LOGGER.info('%s: %d RGB and %d depth frames, %d associated within %g s', folder,
                        len(images), len(depths), len(pairs), max_difference)
        paired = [(images[i][1], depths[j][1]) for i, j in pairs][frames]
        result.append(_depth_sequence(name, folder, paired,
                                      lambda path: read_depth(path, TUM_PNG_SCALE), max_depth,
                                      protocol_frames))
    return result


def read_bonn(root: PathLike, sequences: Optional[Sequence[str]] = None,
              frames: slice = BONN_FRAMES, max_difference: float = TUM_MAX_TIME_DIFFERENCE
              ) -> List[DepthSequence]:
    """Bonn RGB-D Dynamic (``rgbd_bonn_<seq>/``, TUM format, depth PNG / 5000).

    RGB and depth are associated by timestamp (within `max_difference` s), then `frames` of
    the associated list are kept: by default DepthCrafter's 30 .. 139 (110 frames). Bonn's
    frames are synchronised, so this equals DepthCrafter's pairing by sorted file index.
    Pass ``frames=slice(None)`` for all frames.
    """
    return _with_monst3r_caps(_rgbd_sequences(root, sequences, frames, max_difference,
                                              BONN_MAX_DEPTH, BONN_PROTOCOL_FRAMES),
                              *BONN_MONST3R_CAPS)


def read_tum(root: PathLike, sequences: Optional[Sequence[str]] = None,
             frames: slice = TUM_FRAMES, max_difference: float = TUM_MAX_TIME_DIFFERENCE
             ) -> List[DepthSequence]:
    """TUM RGB-D (``rgbd_dataset_<seq>/``: rgb.txt, depth.txt, depth PNG / 5000).

    RGB and depth are associated by timestamp as TUM's associate.py does (within
    `max_difference` s), then `frames` are kept: by default every 3rd of the first 270 (as
    MonST3R prepares TUM). Pass ``frames=slice(None)`` for all frames.
    """
    return _rgbd_sequences(root, sequences, frames, max_difference, TUM_MAX_DEPTH,
                           TUM_PROTOCOL_FRAMES)


# --- ScanNet -------------------------------------------------------------------------------------

SCANNET_LAYOUT = ('<root>/<scene>/color/<n>.jpg and <root>/<scene>/depth/<n>.png (as exported '
                  "by ScanNet's SensReader; or color/ and depth/ directly in <root>)")


def read_scannet(root: PathLike, sequences: Optional[Sequence[str]] = None,
                 frames: slice = SCANNET_FRAMES, border: Tuple[int, int] = SCANNET_BORDER
                 ) -> List[DepthSequence]:
    """ScanNet scenes exported to color/*.jpg and depth/*.png (millimetres, 0 = missing).

    Frames are ordered by number and `frames` of them kept (default DepthCrafter's: every 3rd
    of the first 270). ScanNet's colour (1296x968) is larger than its depth (640x480): the
    colour is resized to the depth size (area averaging), then `border` = (rows, columns) is
    cut from every side of both, as DepthCrafter does (8, 11); (0, 0) keeps everything.
    Intrinsics are not read: the protocol does not need them.
    """
    rows, columns = border
    if rows < 0 or columns < 0:
        raise ValueError(f'border must be (rows, columns) >= 0, got {border}')

    def is_sequence(folder: Path) -> bool:
        return (folder / 'color').is_dir()

    def fit(image: np.ndarray, depth: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        height, width = depth.shape
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        if 2 * rows >= height or 2 * columns >= width:
            raise DatasetError(f'a {width}x{height} ScanNet frame is too small for a border of '
                               f'{rows} rows and {columns} columns')
        window = (slice(rows, height - rows), slice(columns, width - columns))
        return image[window], depth[window]

    root = Path(root)
    found = sequence_folders(root, is_sequence, 'color/ folder', SCANNET_LAYOUT)
    result = []
    for name, folder in select_sequences(found, sequences, root).items():
        paired = _pair_by_stem(folder / 'color', folder / 'depth', ('.png',),
                               SCANNET_LAYOUT)[frames]
        result.append(_depth_sequence(name, folder, paired,
                                      lambda path: read_depth(path, SCANNET_PNG_SCALE),
                                      SCANNET_MAX_DEPTH, SCANNET_PROTOCOL_FRAMES, fit))
    return result


# --- generic folders -----------------------------------------------------------------------------

FOLDER_LAYOUT = ('<root>/{rgb or images}/<frame>.{png,jpg} and <root>/depth/<frame>.{npy,pfm,'
                 'png,dpt}, or <root>/<seq>/ folders with that layout')


def read_depth_folder(root: PathLike, png_scale: float = 1000.0, max_depth: float = math.inf,
                      sequences: Optional[Sequence[str]] = None) -> List[DepthSequence]:
    """Any RGB + metric depth video in a plain folder layout.

    `root` is one sequence, or holds sequences as subfolders. A sequence folder has ``rgb/``
    (or ``images/``) with PNG/JPG frames and ``depth/`` with one GT depth map per frame, with
    the same file name stem (``rgb/000123.png`` <-> ``depth/000123.npy``); frames are ordered
    by stem, numbers compared as numbers. Depth files:

    * ``.npy`` (H, W) float, metres;  ``.pfm`` one channel, metres;
    * ``.png`` 16-bit, metres * `png_scale` (default 1000: millimetres);
    * ``.dpt`` MPI-Sintel depth, metres.

    0, negative and non-finite depths are missing GT. `max_depth` is the evaluation cap in
    metres (default: none); the whole sequence is evaluated (protocol_frames None).
    """
    def image_dir(folder: Path) -> Optional[Path]:
        return next((folder / name for name in ('rgb', 'images') if (folder / name).is_dir()),
                    None)

    root = Path(root)
    found = sequence_folders(root, lambda folder: image_dir(folder) is not None,
                             'rgb/ or images/ folder', FOLDER_LAYOUT)
    result = []
    for name, folder in select_sequences(found, sequences, root).items():
        paired = _pair_by_stem(image_dir(folder), folder / 'depth', DEPTH_SUFFIXES,
                               FOLDER_LAYOUT)
        result.append(_depth_sequence(name, folder, paired,
                                      lambda path: read_depth(path, png_scale), max_depth,
                                      None))
    return result


DEPTH_READERS: Dict[str, Callable[..., List[DepthSequence]]] = {
    'depth-folder': read_depth_folder,
    'sintel-depth': read_sintel_depth_dataset,
    'bonn': read_bonn,
    'tum': read_tum,
    'scannet': read_scannet,
}

__all__ = ['associate', 'DEPTH_READERS', 'read_bonn', 'read_depth_folder', 'read_scannet',
           'read_sintel_depth_dataset', 'read_tum', 'read_tum_list']
