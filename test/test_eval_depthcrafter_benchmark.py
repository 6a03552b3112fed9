# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the DepthCrafter benchmark reader on tiny MP4 + NPZ + csv benchmarks.

The videos are written with OpenCV's 'mp4v' (MPEG-4 part 2) encoder, which this OpenCV build
has; DepthCrafter's own files are H.264 (imageio), which the same FFmpeg backend decodes. Each
frame is one flat colour, so the lossy codec returns it within a few levels.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
import pytest
from stereo_any_video_ros.evaluation.datasets.base import DatasetError
from stereo_any_video_ros.evaluation.datasets.depthcrafter_benchmark import (
    PROTOCOLS, read_depthcrafter_benchmark)

WIDTH, HEIGHT, FRAMES = 32, 24, 4
# Lossy codec: flat frames come back within this many levels per channel.
CODEC_TOLERANCE = 8


def colours(seed: int, frames: int = FRAMES) -> np.ndarray:
    """(T, 3) RGB colours, far apart so a swapped frame or channel cannot pass."""
    return np.array([[40 + 50 * t, 200 - 40 * t, (90 + 70 * seed) % 256]
                     for t in range(frames)], np.uint8)


def depth(seed: int, frames: int = FRAMES, width: int = WIDTH, height: int = HEIGHT
          ) -> np.ndarray:
    """(T, 1, H, W) metres as the extract scripts store them: -1 = no GT (and 0, ScanNet)."""
    rows, columns = np.mgrid[0:height, 0:width]
    values = np.stack([1.0 + seed + t + 0.01 * rows + 0.001 * columns for t in range(frames)])
    values[:, 0, 0] = -1.0
    values[:, 0, 1] = 0.0
    return values[:, None]  # float64, like PNG / 5000


def write_video(path: Path, rgb: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 15, (width, height))
    assert writer.isOpened(), 'this OpenCV build cannot write mp4v'
    for colour in rgb:
        writer.write(np.full((height, width, 3), colour[::-1], np.uint8))  # BGR
    writer.release()


def write_benchmark(folder: Path, csv_name: str = 'sintel.csv', data: str = 'sintel',
                    sequences: Sequence[str] = ('alley_1', 'ambush_5'),
                    gt_key: str = 'disparity',
                    gt_frames: Optional[int] = None, gt_size: Tuple[int, int] = (WIDTH, HEIGHT)
                    ) -> Path:
    """DepthCrafter's layout: <folder>/<csv_name> listing <data>/<seq>_{rgb_left.mp4,
    disparity.npz}; sequence k has colours(k) and depth(k)."""
    rows = []
    for seed, name in enumerate(sequences):
        video, gt = f'{data}/{name}_rgb_left.mp4', f'{data}/{name}_disparity.npz'
        write_video(folder / video, colours(seed))
        np.savez(folder / gt, **{gt_key: depth(seed, gt_frames or FRAMES, *gt_size)})
        rows.append({'filepath_left': video, 'filepath_disparity': gt})
    return write_csv(folder / csv_name, rows)


def write_csv(path: Path, rows: Sequence[Dict[str, str]],
              columns: Sequence[str] = ('filepath_left', 'filepath_disparity')) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('w', newline='') as file:
        writer = csv.DictWriter(file, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def expected_depth(seed: int, index: int) -> np.ndarray:
    values = depth(seed)[index, 0].astype(np.float32)
    values[0, :2] = np.nan
    return values


def assert_frame(sample, seed: int, index: int) -> None:
    assert sample.image.shape == (HEIGHT, WIDTH, 3) and sample.image.dtype == np.uint8
    difference = np.abs(sample.image.astype(int) - colours(seed)[index].astype(int))
    assert difference.max() <= CODEC_TOLERANCE
    assert sample.depth.dtype == np.float32 and sample.depth.shape == (HEIGHT, WIDTH)
    np.testing.assert_array_equal(sample.depth, expected_depth(seed, index))


def test_reads_sequences_with_images_depth_and_sintel_protocol(tmp_path):
    write_benchmark(tmp_path)
    sequences = read_depthcrafter_benchmark(tmp_path)
    assert [s.name for s in sequences] == ['alley_1', 'ambush_5']
    assert [len(s) for s in sequences] == [FRAMES, FRAMES]
    first = sequences[0]
    assert first.source == str(tmp_path / 'sintel' / 'alley_1_rgb_left.mp4')
    assert (first.max_depth, first.protocol_frames) == (70.0, 50)
    assert (first.monst3r_max_depth, first.monst3r_post_clip) == (70.0, 70.0)
    sample = first[2]
    assert_frame(sample, 0, 2)
    assert math.isnan(sample.depth[0, 0]) and math.isnan(sample.depth[0, 1])  # -1 and 0
    assert sample.depth[3, 5] == pytest.approx(1.0 + 2 + 0.03 + 0.005)
    with pytest.raises(IndexError):
        first[FRAMES]


def test_any_access_order_returns_the_right_frames(tmp_path):
    write_benchmark(tmp_path)
    first, second = read_depthcrafter_benchmark(tmp_path)
    for sequence, seed, index in [(first, 0, 3), (first, 0, 0), (second, 1, 1), (first, 0, 1),
                                  (second, 1, 3), (second, 1, 0)]:
        assert_frame(sequence[index], seed, index)
    # A caller that writes into a sample must not change what the next load returns.
    sample = second[0]
    sample.image[:] = 0
    sample.depth[:] = 0
    assert_frame(second[0], 1, 0)


@pytest.mark.parametrize('dataset, max_depth, frames, caps', [
    ('sintel', 70.0, 50, (70.0, 70.0)),
    ('scannet', 10.0, 90, (None, None)),
    ('kitti', 80.0, 110, (None, None)),
    ('bonn', 10.0, 110, (70.0, None)),
    ('nyu', 10.0, 1, (None, None)),
    ('KITTI', 80.0, 110, (None, None)),
])
def test_dataset_sets_depthcrafter_protocol(tmp_path, dataset, max_depth, frames, caps):
    write_benchmark(tmp_path, csv_name='meta.csv', data='data', sequences=['seq'])
    (sequence,) = read_depthcrafter_benchmark(tmp_path, dataset=dataset)
    assert (sequence.max_depth, sequence.protocol_frames) == (max_depth, frames)
    assert (sequence.monst3r_max_depth, sequence.monst3r_post_clip) == caps


def test_protocols_cover_the_five_datasets_of_eval_sh():
    assert {name: (p.max_depth, p.protocol_frames) for name, p in PROTOCOLS.items()} == {
        'sintel': (70, 50), 'scannet': (10, 90), 'kitti': (80, 110), 'bonn': (10, 110),
        'nyu': (10, 1)}


@pytest.mark.parametrize('csv_name, data, folder, dataset', [
    ('meta_kitti_val.csv', 'KITTI', 'csv', 'kitti'),     # DepthCrafter's repository csv
    ('NYUv2.csv', 'NYUv2', 'datasets', 'nyu'),           # the extract script's csv
    ('meta.csv', 'bonn', 'datasets', 'bonn'),            # the videos' folder
    ('meta.csv', 'videos', 'scannet_benchmark', 'scannet'),  # the csv's folder
    ('meta_sintel.csv', 'KITTI', 'x', 'sintel'),         # the csv name comes first
])
def test_dataset_is_inferred_from_names(tmp_path, csv_name, data, folder, dataset):
    write_benchmark(tmp_path / folder, csv_name=csv_name, data=data, sequences=['seq'])
    (sequence,) = read_depthcrafter_benchmark(tmp_path / folder)
    assert sequence.max_depth == PROTOCOLS[dataset].max_depth
    assert sequence.protocol_frames == PROTOCOLS[dataset].protocol_frames


def test_unnamed_dataset_asks_for_benchmark_dataset(tmp_path):
    write_benchmark(tmp_path / 'mine', csv_name='meta.csv', data='videos', sequences=['seq'])
    with pytest.raises(DatasetError, match='--benchmark-dataset, one of sintel, scannet, kitti, '
                                           'bonn, nyu'):
        read_depthcrafter_benchmark(tmp_path / 'mine')
    with pytest.raises(DatasetError, match="unknown benchmark dataset 'eth3d'"):
        read_depthcrafter_benchmark(tmp_path / 'mine', dataset='eth3d')


def test_several_csvs_pick_by_dataset_or_file(tmp_path):
    write_benchmark(tmp_path, csv_name='sintel.csv', data='sintel', sequences=['alley_1'])
    write_benchmark(tmp_path, csv_name='KITTI.csv', data='KITTI', sequences=['drive_0005_sync'])
    with pytest.raises(DatasetError, match=r'several csv files \(KITTI.csv, sintel.csv\); pass '
                                           'one of them as the root, or name the dataset with '
                                           '--benchmark-dataset'):
        read_depthcrafter_benchmark(tmp_path)
    (kitti,) = read_depthcrafter_benchmark(tmp_path, dataset='kitti')
    assert (kitti.name, kitti.max_depth) == ('drive_0005_sync', 80.0)
    (sintel,) = read_depthcrafter_benchmark(tmp_path / 'sintel.csv')
    assert (sintel.name, sintel.max_depth) == ('alley_1', 70.0)


def test_sequences_selects_and_skips_the_others(tmp_path):
    write_benchmark(tmp_path, sequences=['alley_1', 'ambush_5', 'bamboo_2'])
    (tmp_path / 'sintel' / 'alley_1_disparity.npz').write_bytes(b'broken')
    sequences = read_depthcrafter_benchmark(tmp_path, sequences=['bamboo_2', 'ambush_5'])
    assert [s.name for s in sequences] == ['bamboo_2', 'ambush_5']
    assert_frame(sequences[0][1], 2, 1)
    with pytest.raises(DatasetError, match=r"sintel\.csv: no sequence 'cave_4'; available: "
                                           r'alley_1, ambush_5, bamboo_2$'):
        read_depthcrafter_benchmark(tmp_path, sequences=['cave_4'])


def test_equal_stems_get_their_folders_as_prefix(tmp_path):
    rows = []
    for seed, scene in enumerate(['kitchen_0004', 'office_0001']):
        video = f'NYUv2/test/{scene}/rgb_0001_rgb_left.mp4'
        gt = f'NYUv2/test/{scene}/rgb_0001_disparity.npz'
        write_video(tmp_path / video, colours(seed, 1))
        np.savez(tmp_path / gt, disparity=depth(seed, 1))
        rows.append({'filepath_left': video, 'filepath_disparity': gt})
    write_csv(tmp_path / 'meta_nyu_test.csv', rows)
    sequences = read_depthcrafter_benchmark(tmp_path)
    assert [s.name for s in sequences] == ['kitchen_0004_rgb_0001', 'office_0001_rgb_0001']
    assert [(len(s), s.protocol_frames) for s in sequences] == [(1, 1), (1, 1)]
    assert_frame(sequences[1][0], 1, 0)


def test_arr_0_key_is_read_as_depthcrafter_eval_does(tmp_path):
    write_benchmark(tmp_path, sequences=['alley_1'], gt_key='arr_0')
    (sequence,) = read_depthcrafter_benchmark(tmp_path)
    assert_frame(sequence[3], 0, 3)


def test_missing_root_and_csv(tmp_path):
    with pytest.raises(DatasetError, match=r'nowhere does not exist; pass the benchmark csv'):
        read_depthcrafter_benchmark(tmp_path / 'nowhere')
    with pytest.raises(DatasetError, match=r'holds no \.csv file; expected <data root>/'):
        read_depthcrafter_benchmark(tmp_path)


def test_missing_column(tmp_path):
    write_csv(tmp_path / 'sintel.csv', [{'filepath_left': 'a.mp4', 'depth': 'a.npz'}],
              columns=('filepath_left', 'depth'))
    with pytest.raises(DatasetError, match=r"has columns \['filepath_left', 'depth'\] but no "
                                           r"\['filepath_disparity'\]"):
        read_depthcrafter_benchmark(tmp_path)


def test_empty_csv(tmp_path):
    write_csv(tmp_path / 'sintel.csv', [])
    with pytest.raises(DatasetError, match='lists no sequence'):
        read_depthcrafter_benchmark(tmp_path)


@pytest.mark.parametrize('missing, column', [
    ('sintel/ambush_5_rgb_left.mp4', 'filepath_left'),
    ('sintel/ambush_5_disparity.npz', 'filepath_disparity'),
])
def test_missing_file_names_csv_line(tmp_path, missing, column):
    write_benchmark(tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(DatasetError, match=rf'sintel.csv:3: {column} {missing} does not exist '
                                           r".*relative to the csv's folder"):
        read_depthcrafter_benchmark(tmp_path)


def test_npz_without_disparity(tmp_path):
    write_benchmark(tmp_path, sequences=['alley_1'], gt_key='depth')
    with pytest.raises(DatasetError, match=r"alley_1_disparity.npz has arrays \['depth'\] but "
                                           'no "disparity"'):
        read_depthcrafter_benchmark(tmp_path)


def test_gt_of_wrong_shape_or_not_npz(tmp_path):
    write_benchmark(tmp_path, sequences=['alley_1'])
    gt = tmp_path / 'sintel' / 'alley_1_disparity.npz'
    np.savez(gt, disparity=np.ones((FRAMES, HEIGHT, WIDTH)))
    with pytest.raises(DatasetError, match=r'"disparity" has shape \(4, 24, 32\); expected '
                                           r'\(T, 1, H, W\)'):
        read_depthcrafter_benchmark(tmp_path)
    gt.write_bytes(b'not a zip')
    with pytest.raises(DatasetError, match='is not a readable .npz archive'):
        read_depthcrafter_benchmark(tmp_path)


def test_frame_count_mismatch_names_both_counts(tmp_path):
    write_benchmark(tmp_path, sequences=['alley_1'], gt_frames=FRAMES + 1)
    with pytest.raises(DatasetError, match=r'alley_1_rgb_left.mp4 has 4 frames but its GT '
                                           r'.*alley_1_disparity.npz has 5'):
        read_depthcrafter_benchmark(tmp_path)


def test_size_mismatch_names_both_sizes(tmp_path):
    write_benchmark(tmp_path, sequences=['alley_1'], gt_size=(WIDTH - 2, HEIGHT))
    with pytest.raises(DatasetError, match=r'alley_1_rgb_left.mp4 is 32x24 but its GT '
                                           r'.*alley_1_disparity.npz is 30x24'):
        read_depthcrafter_benchmark(tmp_path)


def test_undecodable_video(tmp_path):
    write_benchmark(tmp_path, sequences=['alley_1'])
    (tmp_path / 'sintel' / 'alley_1_rgb_left.mp4').write_bytes(b'not a video')
    with pytest.raises(DatasetError, match='OpenCV cannot open the video'):
        read_depthcrafter_benchmark(tmp_path)


def test_reading_in_order_decodes_each_frame_once(tmp_path, monkeypatch):
    write_benchmark(tmp_path)
    first, second = read_depthcrafter_benchmark(tmp_path)
    opened, reads = [], []
    real_capture = cv2.VideoCapture

    class CountingCapture:
        def __init__(self, path: str) -> None:
            opened.append(Path(path).name)
            self.capture = real_capture(path)

        def read(self):
            reads.append(1)
            return self.capture.read()

        def __getattr__(self, name: str):
            return getattr(self.capture, name)

    monkeypatch.setattr(cv2, 'VideoCapture', CountingCapture)
    for sequence in (first, first, second):
        for index in range(FRAMES):
            sequence[index]
    assert opened == ['alley_1_rgb_left.mp4', 'ambush_5_rgb_left.mp4']
    assert len(reads) == 2 * FRAMES
