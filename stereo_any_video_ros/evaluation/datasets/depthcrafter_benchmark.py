# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Reader for DepthCrafter's benchmark files: one MP4 and one NPZ per sequence, listed in a csv.

DepthCrafter's ``benchmark/dataset_extract/*.py`` turn Sintel, ScanNet, KITTI, Bonn and NYUv2
into the exact inputs of its tables (and StereoDiff's): ``<dataset>/<seq>_rgb_left.mp4`` (the RGB
frames, H.264 via imageio) and ``<dataset>/<seq>_disparity.npz`` whose ``disparity`` array,
despite its name, holds metric DEPTH in metres shaped (T, 1, H, W), with -1 (or 0) where there
is no GT. A csv with columns ``filepath_left`` and ``filepath_disparity`` lists the pairs,
relative to the data root; the extract scripts write it as ``<data root>/<dataset>.csv``, and
DepthCrafter's repository ships them as ``benchmark/csv/meta_*.csv``. Reading these files,
rather than re-deriving frames from the raw datasets, scores a method on the very frames,
crops and depth values of the published numbers.

Per dataset, ``benchmark/eval/eval.sh`` evaluates the first ``seq_len`` frames with depth
capped at ``dataset_max_depth``; they become ``protocol_frames`` and ``max_depth``:

=========  ===============  =========  ====================
dataset    protocol_frames  max_depth  csv in DepthCrafter
=========  ===============  =========  ====================
sintel     50               70 m       meta_sintel.csv
scannet    90               10 m       meta_scannet_test.csv
kitti      110              80 m       meta_kitti_val.csv
bonn       110              10 m       meta_bonn.csv
nyu        1                10 m       meta_nyu_test.csv
=========  ===============  =========  ====================

Frames are decoded lazily; the decoded frames and GT of the sequence read last are kept, so
reading a sequence front to back decodes each frame once and memory holds one sequence.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Sequence, Tuple, Union
import zipfile

import cv2
import numpy as np
from stereo_any_video_ros.evaluation.datasets.base import (DatasetError, DepthSample,
                                                           DepthSequence)
from stereo_any_video_ros.evaluation.datasets.depth import (
    BONN_MAX_DEPTH, BONN_MONST3R_CAPS, BONN_PROTOCOL_FRAMES, SCANNET_MAX_DEPTH,
    SCANNET_PROTOCOL_FRAMES, SINTEL_MAX_DEPTH, SINTEL_MONST3R_CAPS, SINTEL_PROTOCOL_FRAMES)
from stereo_any_video_ros.evaluation.datasets.layout import select_sequences

PathLike = Union[str, Path]

KITTI_MAX_DEPTH, KITTI_PROTOCOL_FRAMES = 80.0, 110
# NYUv2 test images are one-frame "videos" (654 of them), each evaluated alone.
NYU_MAX_DEPTH, NYU_PROTOCOL_FRAMES = 10.0, 1

VIDEO_COLUMN, GT_COLUMN = 'filepath_left', 'filepath_disparity'
VIDEO_SUFFIX = '_rgb_left'
# DepthCrafter's eval.py reads 'disparity' and falls back to np.savez's default name.
GT_KEYS = ('disparity', 'arr_0')
LAYOUT = ('<data root>/<dataset>.csv (columns filepath_left, filepath_disparity) listing '
          '<dataset>/<seq>_rgb_left.mp4 and <dataset>/<seq>_disparity.npz relative to the '
          "csv's folder, as DepthCrafter's benchmark/dataset_extract scripts write them")


@dataclass(frozen=True)
class BenchmarkProtocol:
    """DepthCrafter's evaluation settings for one dataset, plus MonST3R's caps where set."""

    max_depth: float
    protocol_frames: int
    monst3r_caps: Tuple[Optional[float], Optional[float]] = (None, None)


PROTOCOLS: Dict[str, BenchmarkProtocol] = {
    'sintel': BenchmarkProtocol(SINTEL_MAX_DEPTH, SINTEL_PROTOCOL_FRAMES, SINTEL_MONST3R_CAPS),
    'scannet': BenchmarkProtocol(SCANNET_MAX_DEPTH, SCANNET_PROTOCOL_FRAMES),
    'kitti': BenchmarkProtocol(KITTI_MAX_DEPTH, KITTI_PROTOCOL_FRAMES),
    'bonn': BenchmarkProtocol(BONN_MAX_DEPTH, BONN_PROTOCOL_FRAMES, BONN_MONST3R_CAPS),
    'nyu': BenchmarkProtocol(NYU_MAX_DEPTH, NYU_PROTOCOL_FRAMES),
}


@dataclass(frozen=True)
class BenchmarkRow:
    """One csv row: a sequence's video and GT archive, checked to exist."""

    line: int  # csv line, for messages
    video_entry: PurePosixPath  # as written in the csv
    video: Path
    gt: Path


# --- the csv -------------------------------------------------------------------------------------

def _datasets_named_in(text: str) -> List[str]:
    """The dataset keys that occur in `text` ('meta_kitti_val' -> ['kitti'])."""
    return [name for name in PROTOCOLS if name in text.lower()]


def _find_csv(root: Path, dataset: str) -> Path:
    """`root` if it is a csv; else the one csv in folder `root` (or the one named after
    `dataset`, when the folder holds the csvs of several datasets)."""
    if root.is_file():
        return root
    if not root.is_dir():
        raise DatasetError(f'{root} does not exist; pass the benchmark csv or the folder that '
                           f'holds it: {LAYOUT}')
    found = sorted(root.glob('*.csv'))
    if dataset and len(found) > 1:
        named = [path for path in found if dataset in _datasets_named_in(path.stem)]
        found = named if len(named) == 1 else found
    if len(found) == 1:
        return found[0]
    if not found:
        raise DatasetError(f'{root} holds no .csv file; expected {LAYOUT}')
    names = ', '.join(path.name for path in found)
    raise DatasetError(f'{root} holds several csv files ({names}); pass one of them as the root, '
                       'or name the dataset with --benchmark-dataset '
                       f'({", ".join(PROTOCOLS)}) to pick the csv named after it')


def _read_rows(csv_path: Path) -> List[BenchmarkRow]:
    try:
        with csv_path.open(newline='', encoding='utf-8-sig') as file:
            reader = csv.DictReader(file)
            columns = reader.fieldnames or []
            missing = [name for name in (VIDEO_COLUMN, GT_COLUMN) if name not in columns]
            if missing:
                raise DatasetError(f'{csv_path} has columns {columns} but no {missing}; a '
                                   f'DepthCrafter benchmark csv has {VIDEO_COLUMN} and '
                                   f'{GT_COLUMN}')
            entries = [(reader.line_num, (row[VIDEO_COLUMN] or '').strip(),
                        (row[GT_COLUMN] or '').strip()) for row in reader]
    except UnicodeDecodeError as error:
        raise DatasetError(f'{csv_path} is not a UTF-8 text csv ({error})') from None
    if not entries:
        raise DatasetError(f'{csv_path} lists no sequence')
    return [BenchmarkRow(line, PurePosixPath(video),
                         _existing(csv_path, line, video, VIDEO_COLUMN),
                         _existing(csv_path, line, gt, GT_COLUMN))
            for line, video, gt in entries]


def _existing(csv_path: Path, line: int, entry: str, column: str) -> Path:
    """The file a csv entry names, relative to the csv's folder."""
    if not entry:
        raise DatasetError(f'{csv_path}:{line}: the {column} column is empty')
    path = csv_path.parent / entry
    if not path.is_file():
        raise DatasetError(
            f'{csv_path}:{line}: {column} {entry} does not exist ({path}); the paths are read '
            "relative to the csv's folder, so the csv must sit in the data root beside the "
            "dataset folders (copy DepthCrafter's benchmark/csv/meta_*.csv there)")
    return path


def _infer_dataset(csv_path: Path, rows: Sequence[BenchmarkRow]) -> str:
    """The dataset named by the csv's file name, else by the folder that holds the videos
    (first csv path component), else by the csv's folder; the first unambiguous one wins."""
    top_folders = {row.video_entry.parts[0] for row in rows if len(row.video_entry.parts) > 1}
    hints = [csv_path.stem, *(top_folders if len(top_folders) == 1 else ()),
             csv_path.parent.name]
    for hint in hints:
        named = _datasets_named_in(hint)
        if len(named) == 1:
            return named[0]
    raise DatasetError(f'cannot tell which dataset {csv_path} holds from its name or folders '
                       f'({", ".join(repr(hint) for hint in hints)}); name it with '
                       f'--benchmark-dataset, one of {", ".join(PROTOCOLS)}')


def _sequence_names(rows: Sequence[BenchmarkRow]) -> List[str]:
    """'<seq>' of '<dataset>/<seq>_rgb_left.mp4'. Where two rows share it, every name gets its
    parent folders as a prefix, joined by '_' ('kitchen_0004_rgb_0001'), until all differ;
    names stay file names, since predictions are saved as '<name>.npz'."""
    paths = [row.video_entry for row in rows]
    stems = [path.stem[:-len(VIDEO_SUFFIX)] if path.stem.endswith(VIDEO_SUFFIX) else path.stem
             for path in paths]
    for folders in range(max(len(path.parts) for path in paths)):
        names = ['_'.join(path.parts[-1 - folders:-1] + (stem,))
                 for path, stem in zip(paths, stems)]
        if len(set(names)) == len(names):
            return names
    twice = sorted({str(path) for path in paths if paths.count(path) > 1})
    raise DatasetError(f'the csv lists {", ".join(twice)} more than once')


# --- the files of one sequence -------------------------------------------------------------------

def _gt_header(path: Path) -> Tuple[str, Tuple[int, ...]]:
    """(key, shape) of the GT array in a .npz, read from its header without loading it."""
    try:
        with np.load(path) as archive:
            key = next((key for key in GT_KEYS if key in archive.files), None)
            if key is None:
                raise DatasetError(f'{path} has arrays {archive.files} but no "disparity"; '
                                   "DepthCrafter's GT archives store the (T, 1, H, W) depth "
                                   'under that key')
            with archive.zip.open(f'{key}.npy') as member:
                version = np.lib.format.read_magic(member)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, _ = read_header(member)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DatasetError(f'{path} is not a readable .npz archive ({error})') from None
    return key, shape


def _video_header(path: Path) -> Tuple[int, int, int]:
    """(frames, width, height) of a video as its container states them."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DatasetError(f'OpenCV cannot open the video {path}; is it an MP4 that its '
                               'FFmpeg backend decodes?')
        return tuple(int(capture.get(prop)) for prop in (
            cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        capture.release()


def _check_row(row: BenchmarkRow) -> Tuple[str, int]:
    """The GT key and frame count of a row whose video and GT agree in frames and size."""
    key, shape = _gt_header(row.gt)
    if len(shape) != 4 or shape[1] != 1:
        raise DatasetError(f'{row.gt}: "{key}" has shape {shape}; expected (T, 1, H, W)')
    gt_frames, height, width = shape[0], shape[2], shape[3]
    video_frames, video_width, video_height = _video_header(row.video)
    if video_frames != gt_frames:
        raise DatasetError(f'{row.video} has {video_frames} frames but its GT {row.gt} has '
                           f'{gt_frames}; they must have one frame each')
    if (video_width, video_height) != (width, height):
        raise DatasetError(f'{row.video} is {video_width}x{video_height} but its GT {row.gt} is '
                           f'{width}x{height}; they must have one size')
    return key, gt_frames


class _LastSequence:
    """The decoded frames and GT depth of the sequence read last, shared by the sequences of
    one reader call: reading frames in order decodes each once, memory holds one sequence."""

    def __init__(self) -> None:
        self._video: Optional[Path] = None
        self._capture: Optional[cv2.VideoCapture] = None
        self._frames: List[np.ndarray] = []  # (H, W, 3) uint8 RGB, decoded so far
        self._depth = np.empty((0, 0, 0), np.float32)  # (T, H, W) metres, NaN = no GT

    def sample(self, row: BenchmarkRow, key: str, index: int) -> DepthSample:
        if row.video != self._video:
            self._open(row, key)
        while len(self._frames) <= index:
            ok, frame = self._capture.read()
            if not ok:
                raise DatasetError(f'decoding {row.video} stopped after {len(self._frames)} '
                                   f'frames, but it and {row.gt} state {len(self._depth)}')
            self._frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        if len(self._frames) == len(self._depth):
            self._capture.release()
        return DepthSample(self._frames[index].copy(), self._depth[index].copy())

    def _open(self, row: BenchmarkRow, key: str) -> None:
        if self._capture is not None:
            self._capture.release()
        self._video, self._frames = None, []
        with np.load(row.gt) as archive:
            depth = archive[key][:, 0].astype(np.float32)
        # -1 marks missing GT in the extract scripts; ScanNet and NYU leave 0.
        depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
        self._depth = depth
        self._capture = cv2.VideoCapture(str(row.video))
        self._video = row.video


# --- the reader ----------------------------------------------------------------------------------

def read_depthcrafter_benchmark(root: PathLike, dataset: str = '',
                                sequences: Optional[Sequence[str]] = None
                                ) -> List[DepthSequence]:
    """The sequences of one DepthCrafter benchmark csv, as DepthCrafter's tables evaluate them.

    `root` is the csv or the folder that holds it; the csv's paths are relative to its folder.
    `dataset` (sintel, scannet, kitti, bonn, nyu) sets ``max_depth`` and ``protocol_frames``;
    empty = named by the csv file, the videos' folder or the csv's folder. `sequences` keeps
    those names ('<seq>' of '<seq>_rgb_left.mp4'). Files, GT key and shape, and the video's
    frame count and size are checked now; frames are decoded when loaded.
    """
    root = Path(root)
    dataset = dataset.lower()
    if dataset and dataset not in PROTOCOLS:
        raise DatasetError(f'unknown benchmark dataset {dataset!r}; --benchmark-dataset is one '
                           f'of {", ".join(PROTOCOLS)}')
    csv_path = _find_csv(root, dataset)
    rows = _read_rows(csv_path)
    protocol = PROTOCOLS[dataset or _infer_dataset(csv_path, rows)]
    by_name = select_sequences(dict(zip(_sequence_names(rows), rows)), sequences, csv_path)
    cache = _LastSequence()
    result = []
    for name, row in by_name.items():
        key, frames = _check_row(row)
        result.append(DepthSequence(
            name, frames, lambda index, row=row, key=key: cache.sample(row, key, index),
            protocol.max_depth, str(row.video), protocol.protocol_frames,
            *protocol.monst3r_caps))
    return result


__all__ = ['BenchmarkProtocol', 'PROTOCOLS', 'read_depthcrafter_benchmark']
