# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stereo video datasets with ground-truth disparity, read lazily and checked when opened.

Each reader finds every frame's left image, right image and ground truth when it is called and
raises ``DatasetError`` with the expected layout if anything is missing, so a broken download
fails before a long evaluation starts, not in the middle of it. The first frame of each
sequence has its sizes checked from the file headers; pixels are read by ``load(i)``, which
checks the sizes of every frame it reads.

Where Stereo Anything Video (SAV) evaluates a dataset, the reader follows SAV's loader
(``datasets/video_datasets.py``): the same folders, the same frames, the same GT mask and the
same depth-to-disparity conversion, so scores are comparable with the paper's.
"""
from __future__ import annotations

from dataclasses import dataclass
import gzip
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from stereo_any_video_ros.calibration import (CalibrationError, PinholeInfo, stereo_calibration,
                                              StereoCalibration)
from stereo_any_video_ros.camera_yaml import load_camera_yaml
from stereo_any_video_ros.evaluation.datasets.base import (DatasetError, StereoSample,
                                                           StereoSequence)
from stereo_any_video_ros.evaluation.datasets.formats import (read_disparity, read_float16_png,
                                                              read_image, read_kitti_calib,
                                                              read_mask,
                                                              read_middlebury_calib, read_png16,
                                                              read_sintel_camera,
                                                              read_sintel_disparity, read_size)
from stereo_any_video_ros.evaluation.datasets.layout import (files_by_stem, IMAGE_SUFFIXES,
                                                             match_stems, require_folder,
                                                             select_sequences, sequence_folders,
                                                             subfolders)

PathLike = Union[str, os.PathLike]

DISPARITY_SUFFIXES = ('.pfm', '.png', '.npy')

# MPI-Sintel's stereo rig (dataset web page; SAV uses the same value).
SINTEL_BASELINE_M = 0.1
# SAV's depth -> disparity rule: depth below this is missing, disparity at or above the cap is
# dropped from the GT (``StereoSequenceDataset.depth_eps`` and ``valid_disp = disp < 512``).
DEPTH_EPS = 1e-5
MAX_GT_DISPARITY = 512.0
# SAV's KITTI Depth test split (13 scenes) and validation split (1 scene), taken from CODD.
KITTI_DEPTH_TEST = (
    '2011_09_26_drive_0002_sync', '2011_09_26_drive_0005_sync', '2011_09_26_drive_0013_sync',
    '2011_09_26_drive_0020_sync', '2011_09_26_drive_0023_sync', '2011_09_26_drive_0036_sync',
    '2011_09_26_drive_0079_sync', '2011_09_26_drive_0095_sync', '2011_09_26_drive_0113_sync',
    '2011_09_28_drive_0037_sync', '2011_09_29_drive_0026_sync', '2011_09_30_drive_0016_sync',
    '2011_10_03_drive_0047_sync')
KITTI_DEPTH_VAL = ('2011_10_03_drive_0042_sync',)


@dataclass(frozen=True)
class _Frame:
    left: Path
    right: Path
    truth: Path                   # GT disparity, or GT depth turned into disparity on load
    valid: Optional[Path] = None  # mask of the pixels to evaluate


def _sequence(name: str, frames: Sequence[_Frame], read_truth: Callable[[Path], np.ndarray],
              calibration: Optional[StereoCalibration], source: Path,
              read_valid: Optional[Callable[[Path], np.ndarray]] = None) -> StereoSequence:
    """A lazy sequence over checked frame paths; the first frame's sizes are checked now.

    ``read_valid`` turns a frame's mask file into the bool ``valid`` array (default: non-zero
    pixels are valid).
    """
    read_valid = read_valid or _nonzero
    if not frames:
        raise DatasetError(f'{source}: sequence {name!r} has no frames')
    _check_sizes(frames[0], calibration)

    def load(index: int) -> StereoSample:
        frame = frames[index]
        left, right = read_image(frame.left), read_image(frame.right)
        disparity = read_truth(frame.truth)
        valid = None if frame.valid is None else read_valid(frame.valid)
        shapes = {frame.left: left.shape[:2], frame.right: right.shape[:2],
                  frame.truth: disparity.shape}
        if valid is not None:
            shapes[frame.valid] = valid.shape
        _same_size(shapes)
        return StereoSample(left, right, disparity, valid)

    return StereoSequence(name, len(frames), load, calibration, str(source))


def _nonzero(path: Path) -> np.ndarray:
    return read_mask(path) > 0


def _check_sizes(frame: _Frame, calibration: Optional[StereoCalibration]) -> None:
    paths = [frame.left, frame.right, frame.truth] + ([frame.valid] if frame.valid else [])
    sizes = {path: read_size(path)[::-1] for path in paths}  # (height, width) like shapes
    _same_size(sizes)
    height, width = sizes[frame.left]
    if calibration is not None and (calibration.width, calibration.height) != (width, height):
        raise DatasetError(f'{frame.left} is {width}x{height} but its calibration is for '
                           f'{calibration.width}x{calibration.height}')


def _same_size(shapes: Mapping[Path, Tuple[int, ...]]) -> None:
    """Raise naming every file's size unless all (height, width) shapes agree."""
    if len(set(shapes.values())) > 1:
        folder = Path(os.path.commonpath([str(path.parent) for path in shapes]))
        listing = ', '.join(f'{path.relative_to(folder)} {shape[1]}x{shape[0]}'
                            for path, shape in shapes.items())
        raise DatasetError(f'{folder}: frame files differ in size ({listing}); left, right and '
                           'ground truth must have one size')


def _rectified_pair(width: int, height: int, k: np.ndarray, baseline: float,
                    source: Path) -> StereoCalibration:
    """A rectified pair sharing the intrinsics ``k`` (so cx_offset = 0), baseline in metres."""
    p_left = np.hstack([k, np.zeros((3, 1))])
    p_right = p_left.copy()
    p_right[0, 3] = -k[0, 0] * baseline
    kk = tuple(np.asarray(k, dtype=np.float64).ravel())
    try:
        return stereo_calibration(PinholeInfo(width, height, kk, tuple(p_left.ravel())),
                                  PinholeInfo(width, height, kk, tuple(p_right.ravel())))
    except CalibrationError as exc:
        raise DatasetError(f'{source}: calibration is not a valid rectified pair: {exc}'
                           ) from None


def _disparity_from_depth(depth: np.ndarray, depth_to_disparity: float) -> np.ndarray:
    """GT disparity fx*B/depth, NaN where SAV drops the pixel (depth < 1e-5, disp >= 512)."""
    depth = depth.astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        disparity = depth_to_disparity / depth
    disparity[~(depth >= DEPTH_EPS) | ~(disparity < MAX_GT_DISPARITY)] = np.nan
    return disparity.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Generic folder

_FOLDER_LAYOUT = """\
  <root>/                       one sequence, or <root>/<sequence>/ for several
    left/      000000.png ...   rectified left images (.png/.jpg)
    right/     000000.png ...   rectified right images, same names
    disparity/ 000000.pfm ...   GT left disparity: .pfm, 16-bit .png (disparity*256,
                                0 = none) or .npy; inf/NaN = none
    valid/     000000.png ...   optional 8-bit masks, non-zero = evaluate this pixel
    left.yaml, right.yaml       optional rectified ROS camera_info YAML (in the sequence
                                folder, or in <root> for all sequences)"""


def read_stereo_folder(root: PathLike) -> List[StereoSequence]:
    """Our generic layout (``_FOLDER_LAYOUT`` above, which every error prints): a folder per
    sequence with left/, right/, disparity/, optional valid/ and left.yaml/right.yaml.

    Files are paired by name without suffix and ordered by name in natural order (numbers
    compared as numbers: frame2 before frame10), so frame names must sort in time order.
    ``root`` is itself the sequence when it has a ``left/`` folder; otherwise every sub-folder
    with a ``left/`` folder is a sequence. With ``left.yaml`` and ``right.yaml``
    (camera_calibration's format, the rectified pair) the sequences get a calibration, and
    with it metric depth.
    """
    root = Path(root)
    folders = sequence_folders(root, lambda path: (path / 'left').is_dir(), 'left/ folder',
                               _FOLDER_LAYOUT)
    return [_folder_sequence(folder, root) for folder in folders.values()]


def _folder_sequence(folder: Path, root: Path) -> StereoSequence:
    def files(name: str, suffixes: Sequence[str], what: str) -> Dict[str, Path]:
        return files_by_stem(folder / name, suffixes, what, _FOLDER_LAYOUT)

    left = files('left', IMAGE_SUFFIXES, 'left image')
    right = files('right', IMAGE_SUFFIXES, 'right image')
    truth = files('disparity', DISPARITY_SUFFIXES, 'disparity')
    valid = files('valid', ('.png',), 'valid mask') if (folder / 'valid').is_dir() else None
    stems = match_stems(left, right, truth, *([valid] if valid else []))
    frames = [_Frame(left[stem], right[stem], truth[stem], valid[stem] if valid else None)
              for stem in stems]
    return _sequence(folder.name, frames, read_disparity, _yaml_calibration(folder, root),
                     folder)


def _yaml_calibration(folder: Path, root: Path) -> Optional[StereoCalibration]:
    for place in (folder, root):
        left, right = place / 'left.yaml', place / 'right.yaml'
        if left.is_file() != right.is_file():
            present, absent = (left, right) if left.is_file() else (right, left)
            raise DatasetError(f'{place}: has {present.name} but not {absent.name}; give both '
                               'rectified camera_info files or neither')
        if left.is_file():
            try:
                infos = [load_camera_yaml(path) for path in (left, right)]
                pair = [PinholeInfo(info.width, info.height, tuple(info.K.ravel()),
                                    tuple(info.P.ravel())) for info in infos]
                return stereo_calibration(*pair)
            except (CalibrationError, ValueError) as exc:
                raise DatasetError(f'{place}: left.yaml/right.yaml: {exc}') from None
    return None


# ---------------------------------------------------------------------------------------------
# MPI-Sintel stereo

_SINTEL_PASSES = ('clean', 'final')
_SINTEL_LAYOUT = """\
  <root>/training/   (or <root> itself)
    clean_left/<sequence>/frame_0001.png ...   final_left/, clean_right/, final_right/ alike
    disparities/<sequence>/frame_0001.png ...  Sintel-encoded RGB disparity
    occlusions/<sequence>/frame_0001.png ...   needed when non_occluded (the default)
    camdata_left/<sequence>/frame_0001.cam ... optional, gives the calibration"""


def read_sintel_stereo(root: PathLike, pass_name: str = 'clean',
                       sequences: Optional[Sequence[str]] = None,
                       non_occluded: bool = True) -> List[StereoSequence]:
    """MPI-Sintel stereo ``training/``, every sequence whole, as SAV evaluates it.

    SAV scores only non-occluded pixels (``readDispSintelStereo``: occlusion mask 0 and
    disparity > 0), so ``non_occluded`` (default) sets ``valid`` from ``occlusions/``; with
    it False every pixel with GT counts. The calibration, when ``camdata_left/`` is there, is
    the first frame's intrinsics from its ``.cam`` file and Sintel's 0.1 m baseline (SAV's
    ``depth2disp_scale``); the right camera shares the intrinsics.
    """
    if pass_name not in _SINTEL_PASSES:
        raise DatasetError(f'unknown Sintel pass {pass_name!r}; expected one of '
                           f'{", ".join(_SINTEL_PASSES)}')
    root = Path(root)
    training = root / 'training' if (root / 'training').is_dir() else root
    left_root = training / f'{pass_name}_left'
    available = subfolders(left_root, f'Sintel {pass_name}_left', _SINTEL_LAYOUT)
    names = select_sequences(available, sequences, left_root)
    return [_sintel_sequence(training, pass_name, name, non_occluded) for name in names]


def _sintel_sequence(training: Path, pass_name: str, name: str,
                     non_occluded: bool) -> StereoSequence:
    def files(folder: str, what: str, suffix: str = '.png') -> Dict[str, Path]:
        return files_by_stem(training / folder / name, (suffix,), what, _SINTEL_LAYOUT)

    left = files(f'{pass_name}_left', 'left image')
    right = files(f'{pass_name}_right', 'right image')
    truth = files('disparities', 'disparity')
    occlusions = files('occlusions', 'occlusion mask') if non_occluded else None
    stems = match_stems(left, right, truth, *([occlusions] if occlusions else []))
    frames = [_Frame(left[stem], right[stem], truth[stem],
                     occlusions[stem] if occlusions else None) for stem in stems]
    calibration = None
    if (training / 'camdata_left').is_dir():
        camera = training / 'camdata_left' / name / f'{stems[0]}.cam'
        if not camera.is_file():
            raise DatasetError(f'{camera}: camera file of the first frame not found '
                               '(camdata_left/ is there, so every sequence needs its .cam '
                               'files)')
        k, _ = read_sintel_camera(camera)
        width, height = read_size(frames[0].left)
        calibration = _rectified_pair(width, height, k, SINTEL_BASELINE_M, camera)
    return _sequence(name, frames, read_sintel_disparity, calibration,
                     training / f'{pass_name}_left' / name,
                     read_valid=lambda path: read_mask(path) == 0)


# ---------------------------------------------------------------------------------------------
# KITTI 2015

_KITTI2015_LAYOUT = """\
  <root>/training/   (or <root> itself)
    image_2/000000_10.png ...            left
    image_3/000000_10.png ...            right
    disp_occ_0/000000_10.png ...         16-bit GT disparity*256 (disp_noc_0 with occluded=False)
    calib_cam_to_cam/000000.txt ...      optional (data_scene_flow_calib), gives calibration"""


def read_kitti2015(root: PathLike, occluded: bool = True) -> List[StereoSequence]:
    """KITTI 2015 stereo ``training/``: each scene is a one-frame sequence.

    Ground truth exists only for frame 10 of each scene, so the neighbouring frames of the
    multiview download are not used. ``occluded`` picks ``disp_occ_0`` (all pixels with GT)
    or ``disp_noc_0`` (non-occluded only). The calibration, when ``calib_cam_to_cam/`` is
    there, is P_rect_02 with the baseline (P_rect_02[0,3] - P_rect_03[0,3]) / fx.
    """
    root = Path(root)
    training = root / 'training' if (root / 'training').is_dir() else root
    truth_folder = 'disp_occ_0' if occluded else 'disp_noc_0'

    def files(folder: str, what: str) -> Dict[str, Path]:
        return files_by_stem(training / folder, ('.png',), what, _KITTI2015_LAYOUT,
                             pattern='*_10.png')

    left, right = files('image_2', 'left image'), files('image_3', 'right image')
    truth = files(truth_folder, 'disparity')
    calib_folder = training / 'calib_cam_to_cam'
    sequences = []
    for stem in match_stems(left, right, truth):
        frame = _Frame(left[stem], right[stem], truth[stem])
        scene = stem[:-len('_10')]
        calibration = None
        if calib_folder.is_dir():
            width, height = read_size(frame.left)
            calibration = _kitti2015_calibration(calib_folder / f'{scene}.txt', width, height)
        sequences.append(_sequence(scene, [frame], read_disparity, calibration,
                                   training / 'image_2'))
    return sequences


def _kitti_entry(entries: Mapping[str, np.ndarray], key: str, size: int,
                 path: Path) -> np.ndarray:
    value = entries.get(key)
    if value is None or value.size != size:
        raise DatasetError(f'{path}: needs {key} with {size} numbers, found '
                           f'{"none" if value is None else value.size}')
    return value


def _kitti2015_calibration(path: Path, width: int, height: int) -> StereoCalibration:
    entries = read_kitti_calib(path)
    p2 = _kitti_entry(entries, 'P_rect_02', 12, path).reshape(3, 4)
    p3 = _kitti_entry(entries, 'P_rect_03', 12, path).reshape(3, 4)
    baseline = (p2[0, 3] - p3[0, 3]) / p2[0, 0]
    return _rectified_pair(width, height, p2[:, :3], baseline, path)


# ---------------------------------------------------------------------------------------------
# KITTI Depth (SAV's KITTIDepthDataset)

_KITTI_DEPTH_SPLITS = ('test', 'val', 'train')
_KITTI_DEPTH_LAYOUT = """\
  <root>/   (SAV's data/datasets/kitti_depth)
    input/<date>/calib_cam_to_cam.txt                       KITTI raw calibration
    input/<date>/<date>_drive_NNNN_sync/image_02/data/0000000005.png ...   left
    input/<date>/<date>_drive_NNNN_sync/image_03/data/0000000005.png ...   right
    gt_depth/<date>_drive_NNNN_sync/proj_depth/groundtruth/image_02/0000000005.png ...
                                                            16-bit depth*256 (annotated)"""


def read_kitti_depth(root: PathLike, split: str = 'test',
                     max_frames: Optional[int] = 300) -> List[StereoSequence]:
    """KITTI raw stereo video with the annotated depth of KITTI depth completion, as SAV.

    The frames are those with annotated left depth (the first and last 5 raw frames have
    none), the first ``max_frames`` of each sequence (SAV's ``sample_len`` 300 with
    ``only_first_n_samples=1``; None for all). Splits are SAV's (from CODD): ``test`` 13
    scenes, ``val`` 1 scene, ``train`` every other scene under ``gt_depth/``; the sequences of
    the split present under ``gt_depth/`` are read. GT disparity is fx*B/depth with
    fx = P_rect_02[0,0] and B = |T_02 - T_03| from ``calib_cam_to_cam.txt``, depth < 1e-5 and
    disparity >= 512 dropped, as SAV computes it.
    """
    if split not in _KITTI_DEPTH_SPLITS:
        raise DatasetError(f'unknown KITTI Depth split {split!r}; expected one of '
                           f'{", ".join(_KITTI_DEPTH_SPLITS)}')
    root = Path(root)
    input_root = require_folder(root / 'input', 'KITTI raw input', _KITTI_DEPTH_LAYOUT)
    gt_root = require_folder(root / 'gt_depth', 'KITTI annotated depth', _KITTI_DEPTH_LAYOUT)
    present = sorted(path.name for path in gt_root.iterdir() if path.is_dir())
    held_out = KITTI_DEPTH_TEST + KITTI_DEPTH_VAL
    chosen = {'test': [n for n in present if n in KITTI_DEPTH_TEST],
              'val': [n for n in present if n in KITTI_DEPTH_VAL],
              'train': [n for n in present if n not in held_out]}[split]
    if not chosen:
        expected = {'test': KITTI_DEPTH_TEST, 'val': KITTI_DEPTH_VAL}.get(split, ('any other',))
        raise DatasetError(f'{gt_root}: no sequence of the {split} split (expected '
                           f'{", ".join(expected)}); expected layout:\n{_KITTI_DEPTH_LAYOUT}')
    return [_kitti_depth_sequence(input_root, gt_root / name, max_frames) for name in chosen]


def _kitti_depth_sequence(input_root: Path, gt_folder: Path,
                          max_frames: Optional[int]) -> StereoSequence:
    name = gt_folder.name
    drive = input_root / name[:10] / name
    truth = files_by_stem(gt_folder / 'proj_depth' / 'groundtruth' / 'image_02', ('.png',),
                          'annotated depth', _KITTI_DEPTH_LAYOUT)
    stems = list(truth)[:max_frames]
    frames = []
    for stem in stems:
        left = drive / 'image_02' / 'data' / f'{stem}.png'
        right = drive / 'image_03' / 'data' / f'{stem}.png'
        for side, path in (('left', left), ('right', right)):
            if not path.is_file():
                raise DatasetError(f'{path}: {side} image of annotated frame {stem} not found; '
                                   f'expected layout:\n{_KITTI_DEPTH_LAYOUT}')
        frames.append(_Frame(left, right, truth[stem]))
    calib_path = input_root / name[:10] / 'calib_cam_to_cam.txt'
    entries = read_kitti_calib(calib_path)
    projection = _kitti_entry(entries, 'P_rect_02', 12, calib_path).reshape(3, 4)
    baseline = float(np.linalg.norm(_kitti_entry(entries, 'T_02', 3, calib_path)
                                    - _kitti_entry(entries, 'T_03', 3, calib_path)))
    width, height = read_size(frames[0].left)
    calibration = _rectified_pair(width, height, projection[:, :3], baseline, calib_path)
    scale = calibration.fx * calibration.baseline

    def read_truth(path: Path) -> np.ndarray:
        return _disparity_from_depth(read_png16(path, 256.0), scale)

    return _sequence(name, frames, read_truth, calibration, drive)


# ---------------------------------------------------------------------------------------------
# Middlebury 2014

_MIDDLEBURY_LAYOUT = """\
  <root>/<scene>/   (or <root> is one scene)
    im0.png, im1.png           left, right
    disp0GT.pfm or disp0.pfm   GT left disparity, inf = none
    calib.txt                  cam0, cam1, doffs, baseline (mm), width, height, ...
    mask0nocc.png              needed when non_occluded: 255 = non-occluded"""


def read_middlebury2014(root: PathLike, non_occluded: bool = False) -> List[StereoSequence]:
    """Middlebury 2014 (and MiddEval3 training) scenes, each a one-frame sequence.

    The calibration comes from ``calib.txt``: its cx_offset is -doffs, so depth is
    baseline*f/(d + doffs) as Middlebury defines it. ``non_occluded`` scores only pixels
    that ``mask0nocc.png`` marks 255 (as SAV's ``readDispMiddlebury``); by default every
    pixel with GT counts.
    """
    scenes = sequence_folders(Path(root), lambda path: (path / 'im0.png').is_file(), 'im0.png',
                              _MIDDLEBURY_LAYOUT)
    return [_middlebury_scene(scene, non_occluded) for scene in scenes.values()]


def _middlebury_scene(scene: Path, non_occluded: bool) -> StereoSequence:
    def required(*names: str) -> Path:
        for name in names:
            if (scene / name).is_file():
                return scene / name
        raise DatasetError(f'{scene}: missing {" or ".join(names)}; expected layout:\n'
                           f'{_MIDDLEBURY_LAYOUT}')

    frame = _Frame(required('im0.png'), required('im1.png'),
                   required('disp0GT.pfm', 'disp0.pfm'),
                   required('mask0nocc.png') if non_occluded else None)
    calibration = read_middlebury_calib(required('calib.txt')).stereo_calibration()
    return _sequence(scene.name, [frame], read_disparity, calibration, scene,
                     read_valid=lambda path: read_mask(path) == 255)


# ---------------------------------------------------------------------------------------------
# Dynamic Replica (SAV's DynamicReplicaDataset)

_DYNAMIC_REPLICA_LAYOUT = """\
  <root>/<split>/frame_annotations_<split>.jgz   gzip JSON list of frame annotations
  <root>/<split>/<image.path>, <depth.path>      paths as the annotations give them"""


def read_dynamic_replica(root: PathLike, split: str = 'test',
                         max_frames: Optional[int] = 150) -> List[StereoSequence]:
    """Dynamic Replica stereo videos, the first ``max_frames`` frames of each, as SAV.

    The annotations list frames per sequence and camera (``camera_name`` left/right) in
    time order. GT disparity is fx*B/depth from the left depth map (float16 in a 16-bit PNG),
    depth < 1e-5 and disparity >= 512 dropped. fx and B come from the first frame's
    viewpoints as PyTorch3D's OpenCV conversion gives them (SAV's ``depth2disparity_scale``):
    fx = focal_length[0] * s (s = min(W, H)/2 for ``ndc_isotropic``, W/2 for
    ``ndc_norm_image_bounds``) and B = T_right[0] - T_left[0]. Both cameras share the left
    intrinsics. SAV (``sample_len`` 150, ``only_first_n_samples=1``) drops sequences shorter
    than 150 frames; here they are read whole (the test split has none).
    """
    root = Path(root)
    annotations_path = root / split / f'frame_annotations_{split}.jgz'
    try:
        with gzip.open(annotations_path, 'rt', encoding='utf-8') as stream:
            annotations = json.load(stream)
    except FileNotFoundError:
        raise DatasetError(f'{annotations_path}: annotations not found; expected layout:\n'
                           f'{_DYNAMIC_REPLICA_LAYOUT}') from None
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f'{annotations_path}: not a gzip JSON file ({exc})') from None
    if not isinstance(annotations, list) or not annotations:
        raise DatasetError(f'{annotations_path}: expected a non-empty JSON list of frames')
    by_sequence: Dict[str, Dict[str, List[Mapping[str, Any]]]] = {}
    for index, frame in enumerate(annotations):
        try:
            cameras = by_sequence.setdefault(frame['sequence_name'], {'left': [], 'right': []})
            cameras[frame['camera_name']].append(frame)
        except (KeyError, TypeError):
            raise DatasetError(f'{annotations_path}: frame {index} needs sequence_name and '
                               "camera_name 'left' or 'right'") from None
    return [_dynamic_replica_sequence(root / split, name, cameras, max_frames, annotations_path)
            for name, cameras in by_sequence.items()]


def _dynamic_replica_sequence(split_root: Path, name: str,
                              cameras: Mapping[str, List[Mapping[str, Any]]],
                              max_frames: Optional[int], source: Path) -> StereoSequence:
    left, right = cameras['left'][:max_frames], cameras['right'][:max_frames]
    if len(cameras['left']) != len(cameras['right']):
        raise DatasetError(f'{source}: sequence {name!r} has {len(cameras["left"])} left and '
                           f'{len(cameras["right"])} right frames')
    try:
        frames = []
        for left_frame, right_frame in zip(left, right):
            if left_frame['frame_number'] != right_frame['frame_number']:
                raise DatasetError(f'{source}: sequence {name!r} pairs left frame '
                                   f'{left_frame["frame_number"]} with right frame '
                                   f'{right_frame["frame_number"]}')
            frame = _Frame(split_root / left_frame['image']['path'],
                           split_root / right_frame['image']['path'],
                           split_root / left_frame['depth']['path'])
            for what, path in (('left image', frame.left), ('right image', frame.right),
                               ('left depth', frame.truth)):
                if not path.is_file():
                    raise DatasetError(f'{path}: {what} of sequence {name!r} frame '
                                       f'{left_frame["frame_number"]} not found')
            frames.append(frame)
        calibration = _dynamic_replica_calibration(left[0], right[0], source)
    except (KeyError, TypeError, IndexError) as exc:
        raise DatasetError(f'{source}: sequence {name!r} has a malformed frame annotation '
                           f'({type(exc).__name__}: {exc})') from None
    scale = calibration.fx * calibration.baseline

    def read_truth(path: Path) -> np.ndarray:
        return _disparity_from_depth(read_float16_png(path), scale)

    return _sequence(name, frames, read_truth, calibration, split_root)


def _dynamic_replica_calibration(left: Mapping[str, Any], right: Mapping[str, Any],
                                 source: Path) -> StereoCalibration:
    height, width = (int(v) for v in left['image']['size'])
    viewpoint = left['viewpoint']
    intrinsics_format = viewpoint.get('intrinsics_format', 'ndc_norm_image_bounds').lower()
    if intrinsics_format == 'ndc_isotropic':
        rescale = np.array([min(width, height), min(width, height)]) / 2.0
    elif intrinsics_format == 'ndc_norm_image_bounds':
        rescale = np.array([width, height]) / 2.0
    else:
        raise DatasetError(f'{source}: unknown intrinsics_format {intrinsics_format!r}')
    focal = np.asarray(viewpoint['focal_length'], dtype=np.float64) * rescale
    # PyTorch3D NDC has +x to the left: the pixel principal point is half the size minus it.
    principal = np.array([width, height]) / 2.0 - np.asarray(viewpoint['principal_point'],
                                                             dtype=np.float64) * rescale
    k = np.array([[focal[0], 0.0, principal[0]], [0.0, focal[1], principal[1]],
                  [0.0, 0.0, 1.0]])
    # OpenCV's tvec is PyTorch3D's T with x and y negated, so B = tvec_l[0] - tvec_r[0].
    baseline = float(right['viewpoint']['T'][0]) - float(viewpoint['T'][0])
    return _rectified_pair(width, height, k, baseline, source)


STEREO_READERS: Dict[str, Callable[..., List[StereoSequence]]] = {
    'stereo-folder': read_stereo_folder,
    'sintel': read_sintel_stereo,
    'kitti2015': read_kitti2015,
    'kitti-depth': read_kitti_depth,
    'middlebury2014': read_middlebury2014,
    'dynamic-replica': read_dynamic_replica,
}

__all__ = ['STEREO_READERS', 'read_dynamic_replica', 'read_kitti2015', 'read_kitti_depth',
           'read_middlebury2014', 'read_sintel_stereo', 'read_stereo_folder']
