# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the monocular depth dataset readers on tiny datasets written by each test."""
from __future__ import annotations

import math
from pathlib import Path
from typing import List, Sequence

import numpy as np
from PIL import Image
import pytest
from stereo_any_video_ros.evaluation.datasets.base import DatasetError
from stereo_any_video_ros.evaluation.datasets.depth import (
    associate, DEPTH_READERS, read_bonn, read_depth_folder, read_scannet,
    read_sintel_depth_dataset, read_tum)
from stereo_any_video_ros.evaluation.datasets.formats import (write_pfm, write_png16,
                                                              write_sintel_depth)

WIDTH, HEIGHT = 8, 6


def rgb(seed: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def depth(seed: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """Metres in [0.5, 5) on a 1 mm grid (exact in every file format), one pixel missing."""
    values = np.random.default_rng(100 + seed).integers(500, 5000, (height, width)) / 1000.0
    values = values.astype(np.float32)
    values[0, 0] = np.nan
    return values


def save_rgb(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def assert_depth(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6)


# --- MPI-Sintel ----------------------------------------------------------------------------------

def write_sintel(root: Path, sequence: str, count: int) -> None:
    training = root / 'training'
    (training / 'depth' / sequence).mkdir(parents=True)
    for i in range(1, count + 1):
        for pass_name, offset in (('clean', 0), ('final', 50)):
            save_rgb(training / pass_name / sequence / f'frame_{i:04d}.png', rgb(i + offset))
        values = depth(i)
        values[0, 0] = 0.0  # .dpt has no "missing" code; 0 is not a depth
        write_sintel_depth(training / 'depth' / sequence / f'frame_{i:04d}.dpt', values)


def test_sintel_reads_frames_in_order_with_protocol(tmp_path: Path) -> None:
    write_sintel(tmp_path, 'alley_1', 3)
    write_sintel(tmp_path, 'market_2', 2)
    sequences = read_sintel_depth_dataset(tmp_path)
    assert [(s.name, len(s), s.max_depth, s.protocol_frames) for s in sequences] == [
        ('alley_1', 3, 70.0, 50), ('market_2', 2, 70.0, 50)]
    sample = sequences[0][2]
    np.testing.assert_array_equal(sample.image, rgb(3))
    assert_depth(sample.depth, depth(3))
    final = read_sintel_depth_dataset(tmp_path / 'training', 'final', sequences=['market_2'])
    assert [s.name for s in final] == ['market_2']
    np.testing.assert_array_equal(final[0][0].image, rgb(51))


def test_sintel_is_lazy(tmp_path: Path) -> None:
    write_sintel(tmp_path, 'alley_1', 2)
    sequence = read_sintel_depth_dataset(tmp_path)[0]
    (tmp_path / 'training/depth/alley_1/frame_0002.dpt').unlink()
    sequence[0]
    with pytest.raises(DatasetError, match='frame_0002.dpt: Sintel depth file not found'):
        sequence[1]


def test_sintel_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r'errors\d+/depth: Sintel depth folder not found; '
                                           r'expected layout:\n<root>/training/\{clean,final\}'):
        read_sintel_depth_dataset(tmp_path)
    write_sintel(tmp_path, 'alley_1', 3)
    (tmp_path / 'training/clean/alley_1/frame_0003.png').unlink()
    with pytest.raises(DatasetError, match=r'training: clean/alley_1/ has 2 frames, '
                                           r'depth/alley_1/ has 3; .*: depth/alley_1/'
                                           r'frame_0003\.dpt has no clean/alley_1/ file$'):
        read_sintel_depth_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"depth: no sequence 'cave_4'; available: alley_1$"):
        read_sintel_depth_dataset(tmp_path, sequences=['cave_4'])
    (tmp_path / 'training/depth/bamboo_1').mkdir()
    with pytest.raises(DatasetError, match='bamboo_1 has depth but .*clean/bamboo_1 does not '
                                           'exist'):
        read_sintel_depth_dataset(tmp_path, sequences=['bamboo_1'])
    with pytest.raises(ValueError, match="pass_name must be 'clean' or 'final'"):
        read_sintel_depth_dataset(tmp_path, 'albedo')


# --- TUM RGB-D and Bonn --------------------------------------------------------------------------

def write_tum(folder: Path, rgb_stamps: Sequence[float], depth_stamps: Sequence[float]) -> None:
    """A TUM-format sequence; frame i's depth is depth(i), its image rgb(i)."""
    rgb_lines = ['# color images', '# file: test', '# timestamp filename']
    depth_lines = ['# depth maps']
    for i, stamp in enumerate(rgb_stamps):
        save_rgb(folder / 'rgb' / f'{stamp:.6f}.png', rgb(i))
        rgb_lines.append(f'{stamp:.6f} rgb/{stamp:.6f}.png')
    (folder / 'depth').mkdir()
    for i, stamp in enumerate(depth_stamps):
        write_png16(folder / 'depth' / f'{stamp:.6f}.png', depth(i), 5000.0)
        depth_lines.append(f'{stamp:.6f} depth/{stamp:.6f}.png')
    (folder / 'rgb.txt').write_text('\n'.join(rgb_lines) + '\n')
    (folder / 'depth.txt').write_text('\n'.join(depth_lines) + '\n')


def test_associate_takes_closest_pairs_first() -> None:
    # 1.004 and 1.003 are the closest pair, so 1.0 falls back to 1.012 (12 ms away).
    assert associate([1.0, 1.004], [1.003, 1.012], 0.02) == [(0, 1), (1, 0)]
    assert associate([1.0, 2.0], [2.005, 1.019, 3.0], 0.02) == [(0, 1), (1, 0)]
    assert associate([1.0], [1.021], 0.02) == []  # farther than max_difference
    assert associate([1.0, 1.01], [1.009], 0.02) == [(1, 0)]


def test_bonn_pairs_by_timestamp_and_scales_by_5000(tmp_path: Path) -> None:
    sequence_dir = tmp_path / 'rgbd_bonn_balloon'
    # Depth 5 ms after each image, after an extra depth frame with no image: depth(i + 1)
    # belongs to rgb(i), which pairing by index would miss.
    rgb_stamps = [10.0, 10.033, 10.066, 10.1]
    write_tum(sequence_dir, rgb_stamps, [9.0] + [s + 0.005 for s in rgb_stamps])
    write_tum(tmp_path / 'rgbd_bonn_crowd', [1.0, 1.1], [1.01, 1.11])
    (tmp_path / 'notes').mkdir()  # not a sequence: no rgb.txt, no rgb/
    sequences = read_bonn(tmp_path, frames=slice(None))
    assert [(s.name, len(s), s.max_depth, s.protocol_frames) for s in sequences] == [
        ('rgbd_bonn_balloon', 4, 10.0, 110), ('rgbd_bonn_crowd', 2, 10.0, 110)]
    sample = sequences[0][3]
    np.testing.assert_array_equal(sample.image, rgb(3))
    assert_depth(sample.depth, depth(4))  # stored round(d * 5000), read back / 5000
    window = read_bonn(sequence_dir, frames=slice(1, 3))[0]
    assert window.name == 'rgbd_bonn_balloon' and len(window) == 2
    np.testing.assert_array_equal(window[0].image, rgb(1))
    assert_depth(window[1].depth, depth(3))


def test_bonn_default_window_is_depthcrafters(tmp_path: Path) -> None:
    stamps = [100.0 + i / 30 for i in range(150)]
    folder = tmp_path / 'rgbd_bonn_person_tracking'
    folder.mkdir()
    (folder / 'rgb.txt').write_text(''.join(f'{s:.6f} rgb/{i}.png\n' for i, s in
                                            enumerate(stamps)))
    (folder / 'depth.txt').write_text(''.join(f'{s + 0.001:.6f} depth/{i}.png\n' for i, s in
                                              enumerate(stamps)))
    for sub in ('rgb', 'depth'):
        (folder / sub).mkdir()
        for i in range(150):
            (folder / sub / f'{i}.png').touch()  # listed files must exist; not read here
    sequence = read_bonn(tmp_path)[0]
    assert len(sequence) == 110 == sequence.protocol_frames
    with pytest.raises(DatasetError, match=r'rgb/30\.png: cannot read the image'):
        sequence[0]  # frame 0 of the window is file 30


def test_tum_default_frames_every_third(tmp_path: Path) -> None:
    stamps = [5.0 + i * 0.1 for i in range(7)]
    write_tum(tmp_path / 'rgbd_dataset_freiburg1_desk', stamps, [s - 0.01 for s in stamps])
    sequence = read_tum(tmp_path)[0]
    assert (sequence.name, len(sequence), sequence.max_depth, sequence.protocol_frames) == (
        'rgbd_dataset_freiburg1_desk', 3, 10.0, 90)
    np.testing.assert_array_equal(sequence[1].image, rgb(3))
    assert_depth(sequence[2].depth, depth(6))
    assert DEPTH_READERS['tum'] is read_tum and DEPTH_READERS['bonn'] is read_bonn


def test_tum_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r'no rgb\.txt or rgb/ folder in it or in any '
                                           r'sub-folder; expected layout:\n<root>/<seq>/'
                                           r'\{rgb\.txt'):
        read_tum(tmp_path)
    folder = tmp_path / 'seq'
    write_tum(folder, [1.0, 1.1], [9.0, 9.1])
    with pytest.raises(DatasetError, match=r'no RGB frame \(1\.000 \.\. 1\.100 s\) has a depth '
                                           r'frame \(9\.000 \.\. 9\.100 s\) within 0\.02 s'):
        read_tum(tmp_path)
    (folder / 'depth.txt').unlink()
    with pytest.raises(DatasetError, match=r'depth\.txt does not exist; expected the layout'):
        read_tum(tmp_path)
    (folder / 'depth.txt').write_text('1.0 depth/9.000000.png\nnot-a-stamp depth/x.png\n')
    with pytest.raises(DatasetError, match=r'depth\.txt:2: expected "<timestamp> <file>", '
                                           r"got 'not-a-stamp depth/x.png'"):
        read_tum(tmp_path)
    (folder / 'depth.txt').write_text('1.0 depth/gone.png\n')
    with pytest.raises(DatasetError, match=r'depth\.txt:1 lists depth/gone\.png, but .* does '
                                           'not exist'):
        read_tum(tmp_path)
    (folder / 'depth.txt').write_text('# nothing\n')
    with pytest.raises(DatasetError, match=r'depth\.txt lists no frames'):
        read_tum(tmp_path)
    (folder / 'depth.txt').write_text('1.001 depth/9.000000.png\n')
    with pytest.raises(DatasetError, match='no frames to evaluate'):
        read_tum(tmp_path, frames=slice(5, None))


def test_tum_size_mismatch_is_reported_on_load(tmp_path: Path) -> None:
    write_tum(tmp_path, [1.0], [1.0])
    write_png16(tmp_path / 'depth' / '1.000000.png', depth(0, width=4), 5000.0)
    sequence = read_tum(tmp_path, frames=slice(None))[0]
    assert sequence.name == tmp_path.name  # the root is the sequence
    with pytest.raises(DatasetError, match=r'1\.000000\.png is 8x6 but its depth .* is 4x6'):
        sequence[0]


# --- ScanNet -------------------------------------------------------------------------------------

def gradient(seed: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A smooth image (8 levels per column, 4 per row), which JPEG keeps almost exactly."""
    rows, columns = np.mgrid[0:height, 0:width]
    channels = [seed * 10 + 8 * columns + 4 * rows + offset for offset in (0, 40, 80)]
    return np.stack(channels, axis=2).astype(np.uint8)


def test_scannet_resizes_colour_crops_border_and_takes_every_third(tmp_path: Path) -> None:
    scene = tmp_path / 'scene0707_00'
    (scene / 'depth').mkdir(parents=True)
    for i in range(11):  # 0 .. 10: natural order must put 10 last
        # Colour at twice the depth size, in 2x2 blocks, so area resizing gives `gradient`.
        big = gradient(i).repeat(2, axis=0).repeat(2, axis=1)
        save_rgb(scene / 'color' / f'{i}.jpg', big)
        write_png16(scene / 'depth' / f'{i}.png', depth(i), 1000.0)
    sequence = read_scannet(tmp_path, border=(1, 2))[0]
    assert (sequence.name, len(sequence), sequence.max_depth, sequence.protocol_frames) == (
        'scene0707_00', 4, 10.0, 90)  # frames 0, 3, 6, 9
    sample = sequence[3]
    assert sample.image.shape == (4, 4, 3)
    # JPEG changes a few levels; a window one column off would be 8 levels off.
    error = np.abs(sample.image.astype(int) - gradient(9)[1:5, 2:6].astype(int))
    assert error.max() <= 3
    assert_depth(sample.depth, depth(9)[1:5, 2:6])
    full = read_scannet(scene, frames=slice(None), border=(0, 0))[0]
    assert len(full) == 11 and full[10].image.shape == (HEIGHT, WIDTH, 3)
    assert_depth(full[10].depth, depth(10))


def test_scannet_errors(tmp_path: Path) -> None:
    scene = tmp_path / 'scene0000_00'
    save_rgb(scene / 'color' / '0.jpg', rgb(0))
    with pytest.raises(DatasetError, match=r'scene0000_00/depth: depth folder not found; '
                                           r'expected layout:\n<root>/<scene>/color/<n>\.jpg'):
        read_scannet(tmp_path)
    (scene / 'depth').mkdir()
    with pytest.raises(DatasetError, match=r'scene0000_00/depth: no depth files \(\.png\)'):
        read_scannet(tmp_path)
    write_png16(scene / 'depth' / '0.png', depth(0), 1000.0)
    with pytest.raises(DatasetError, match='8x6 ScanNet frame is too small for a border of 3 '
                                           'rows and 4 columns'):
        read_scannet(tmp_path, border=(3, 4))[0][0]


# --- generic folders -----------------------------------------------------------------------------

def write_folder(folder: Path, image_dir: str = 'rgb') -> List[np.ndarray]:
    """Four frames, one per depth format; returns the GT depth of each frame."""
    expected = [depth(i) for i in range(4)]
    (folder / 'depth').mkdir(parents=True)
    for i in range(4):
        save_rgb(folder / image_dir / f'{i:06d}.png', rgb(i))
    np.save(folder / 'depth' / '000000.npy', np.nan_to_num(expected[0], nan=0.0))
    write_pfm(folder / 'depth' / '000001.pfm', np.nan_to_num(expected[1], nan=np.inf))
    write_png16(folder / 'depth' / '000002.png', expected[2], 1000.0)
    write_sintel_depth(folder / 'depth' / '000003.dpt', np.nan_to_num(expected[3], nan=-1.0))
    return expected


def test_depth_folder_reads_every_format(tmp_path: Path) -> None:
    expected = write_folder(tmp_path)
    (sequence,) = read_depth_folder(tmp_path)
    assert (sequence.name, len(sequence), sequence.protocol_frames) == (tmp_path.name, 4, None)
    assert math.isinf(sequence.max_depth)
    for i in range(4):
        np.testing.assert_array_equal(sequence[i].image, rgb(i))
        assert_depth(sequence[i].depth, expected[i])


def test_depth_folder_sequences_png_scale_and_max_depth(tmp_path: Path) -> None:
    write_folder(tmp_path / 'walk', image_dir='images')
    write_folder(tmp_path / 'drive')
    write_png16(tmp_path / 'walk' / 'depth' / '000002.png', depth(2), 256.0)
    sequences = read_depth_folder(tmp_path, png_scale=256.0, max_depth=20.0)
    assert [(s.name, len(s), s.max_depth) for s in sequences] == [
        ('drive', 4, 20.0), ('walk', 4, 20.0)]
    assert_depth(sequences[1][2].depth, np.round(depth(2) * 256) / 256)
    assert DEPTH_READERS['depth-folder'] is read_depth_folder


def test_depth_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r'no rgb/ or images/ folder in it or in any '
                                           r'sub-folder; expected layout:\n<root>/\{rgb or '
                                           r'images\}'):
        read_depth_folder(tmp_path)
    write_folder(tmp_path)
    np.save(tmp_path / 'depth' / '000000.npy', np.ones((HEIGHT, WIDTH)))
    (tmp_path / 'depth' / '000001.pfm').rename(tmp_path / 'depth' / '000000.pfm')
    with pytest.raises(DatasetError, match=r"two depth files for frame '000000': "):
        read_depth_folder(tmp_path)
    (tmp_path / 'depth' / '000000.pfm').rename(tmp_path / 'depth' / '000009.pfm')
    with pytest.raises(DatasetError, match=r'rgb/ has 4 frames, depth/ has 4; .*: '
                                           r'rgb/000001\.png has no depth/ file; '
                                           r'depth/000009\.pfm has no rgb/ file$'):
        read_depth_folder(tmp_path)


def test_readers_are_registered() -> None:
    assert DEPTH_READERS == {'depth-folder': read_depth_folder,
                             'sintel-depth': read_sintel_depth_dataset, 'bonn': read_bonn,
                             'tum': read_tum, 'scannet': read_scannet}
