# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stereo video dataset readers on tiny datasets written here: values, calibration, errors."""
import gzip
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
import pytest
from stereo_any_video_ros.camera_yaml import CameraCalibration, save_camera_yaml
from stereo_any_video_ros.evaluation.datasets import open_dataset
from stereo_any_video_ros.evaluation.datasets.base import DatasetError, metric_depth
from stereo_any_video_ros.evaluation.datasets.formats import (
    MiddleburyCalibration, write_float16_png, write_middlebury_calib, write_pfm, write_png16,
    write_sintel_camera, write_sintel_disparity)
from stereo_any_video_ros.evaluation.datasets.stereo import (
    read_dynamic_replica, read_kitti2015, read_kitti_depth, read_middlebury2014,
    read_sintel_stereo, read_stereo_folder, STEREO_READERS)

H, W = 6, 8


def image(seed: int, height: int = H, width: int = W) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def save_image(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def disparity(frame: int) -> np.ndarray:
    # Multiples of 1/256 px, so every format stores them exactly.
    return (np.arange(H * W, dtype=np.float32).reshape(H, W) / 4 + frame + 1).astype(np.float32)


def save_mask(path: Path, mask: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), mask.astype(np.uint8))


# --- generic folder --------------------------------------------------------------------------


def write_folder_sequence(folder: Path, frames: int = 3) -> None:
    for i in range(frames):
        save_image(folder / 'left' / f'{i:06d}.png', image(i))
        save_image(folder / 'right' / f'{i:06d}.jpg' if i == 1 else
                   folder / 'right' / f'{i:06d}.png', image(10 + i))
    (folder / 'disparity').mkdir()
    writers = [lambda path, values: write_pfm(path.with_suffix('.pfm'), values),
               lambda path, values: write_png16(path.with_suffix('.png'), values, 256.0),
               lambda path, values: np.save(path.with_suffix('.npy'), values)]
    for i in range(frames):
        writers[i](folder / 'disparity' / f'{i:06d}', disparity(i))


def write_camera_yaml(folder: Path, fx: float = 40.0, baseline: float = 0.12,
                      width: int = W, height: int = H) -> None:
    k = np.array([[fx, 0, 3.5], [0, fx, 2.5], [0, 0, 1]])
    for side, tx in (('left', 0.0), ('right', -fx * baseline)):
        p = np.hstack([k, [[tx], [0], [0]]])
        save_camera_yaml(CameraCalibration(width, height, side, k, np.zeros(5), np.eye(3), p),
                         folder / f'{side}.yaml')


def test_stereo_folder_single_sequence_loads_every_disparity_format(tmp_path):
    write_folder_sequence(tmp_path / 'walk')
    [sequence] = read_stereo_folder(tmp_path / 'walk')
    assert (sequence.name, len(sequence), sequence.calibration) == ('walk', 3, None)
    for i in range(3):
        sample = sequence[i]
        np.testing.assert_array_equal(sample.left, image(i))
        if i != 1:  # frame 1's right image is a lossy JPG
            np.testing.assert_array_equal(sample.right, image(10 + i))
        assert sample.right.shape == (H, W, 3)
        np.testing.assert_array_equal(sample.disparity, disparity(i))
        assert sample.valid is None


def test_stereo_folder_sequences_valid_masks_and_shared_calibration(tmp_path):
    for name in ('b_seq', 'a_seq'):
        write_folder_sequence(tmp_path / name, frames=2)
    (tmp_path / 'notes').mkdir()  # no left/: not a sequence
    mask = np.zeros((H, W), np.uint8)
    mask[2, 3] = 255
    for i in range(2):
        save_mask(tmp_path / 'a_seq' / 'valid' / f'{i:06d}.png', mask)
    write_camera_yaml(tmp_path, fx=40.0, baseline=0.12)
    sequences = read_stereo_folder(tmp_path)
    assert [s.name for s in sequences] == ['a_seq', 'b_seq']
    valid = sequences[0][1].valid
    assert valid.dtype == bool and valid.sum() == 1 and valid[2, 3]
    assert sequences[1][0].valid is None
    for sequence in sequences:
        assert sequence.calibration.fx == 40.0
        assert sequence.calibration.baseline == pytest.approx(0.12, abs=1e-12)


def test_stereo_folder_sequence_calibration_wins_over_root(tmp_path):
    write_folder_sequence(tmp_path / 'seq', frames=1)
    write_camera_yaml(tmp_path, fx=40.0)
    write_camera_yaml(tmp_path / 'seq', fx=50.0)
    assert read_stereo_folder(tmp_path)[0].calibration.fx == 50.0


def test_stereo_folder_missing_right_image(tmp_path):
    write_folder_sequence(tmp_path)
    (tmp_path / 'right' / '000002.png').unlink()
    with pytest.raises(DatasetError, match=r'left/ has 3 frames, right/ has 2; they pair by '
                                           r'file name stem: left/000002\.png has no right/ '
                                           r'file$'):
        read_stereo_folder(tmp_path)


def test_stereo_folder_extra_disparity_and_missing_folder(tmp_path):
    write_folder_sequence(tmp_path)
    np.save(tmp_path / 'disparity' / '000003.npy', disparity(3))
    with pytest.raises(DatasetError, match=r'disparity/ has 4; .*: disparity/000003\.npy has '
                                           r'no left/ file$'):
        read_stereo_folder(tmp_path)
    for path in (tmp_path / 'disparity').iterdir():
        path.unlink()
    (tmp_path / 'disparity').rmdir()
    with pytest.raises(DatasetError, match=r'(?s)disparity: disparity folder not found; '
                                           r'expected layout:\n.*left/'):
        read_stereo_folder(tmp_path)


def test_stereo_folder_wrong_sizes(tmp_path):
    write_folder_sequence(tmp_path)
    save_image(tmp_path / 'right' / '000000.png', image(0, H - 1, W))
    with pytest.raises(DatasetError, match=r'frame files differ in size \(left/000000\.png 8x6, '
                                           r'right/000000\.png 8x5, disparity/000000\.pfm 8x6\)'):
        read_stereo_folder(tmp_path)
    save_image(tmp_path / 'right' / '000000.png', image(0))
    save_image(tmp_path / 'left' / '000002.png', image(0, H, W + 1))  # only checked on load
    [sequence] = read_stereo_folder(tmp_path)
    with pytest.raises(DatasetError, match=r'left/000002\.png 9x6'):
        sequence[2]


def test_stereo_folder_calibration_errors(tmp_path):
    write_folder_sequence(tmp_path)
    write_camera_yaml(tmp_path, width=16, height=12)
    with pytest.raises(DatasetError, match=r'000000\.png is 8x6 but its calibration is for '
                                           r'16x12'):
        read_stereo_folder(tmp_path)
    (tmp_path / 'right.yaml').unlink()
    with pytest.raises(DatasetError, match=r'has left\.yaml but not right\.yaml'):
        read_stereo_folder(tmp_path)
    write_camera_yaml(tmp_path, baseline=-0.1)
    with pytest.raises(DatasetError, match=r'left\.yaml/right\.yaml: baseline .* not positive'):
        read_stereo_folder(tmp_path)


def test_stereo_folder_without_sequences(tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DatasetError, match=r'no left/ folder in it or in any sub-folder'):
        read_stereo_folder(tmp_path)
    with pytest.raises(DatasetError, match=r'nothing: dataset folder not found'):
        read_stereo_folder(tmp_path / 'nothing')
    (tmp_path / 'empty' / 'left').mkdir()
    with pytest.raises(DatasetError, match=r'left: no left image files'):
        read_stereo_folder(tmp_path / 'empty')


# --- MPI-Sintel ------------------------------------------------------------------------------

SINTEL_K = np.array([[1120.0, 0, 3.5], [0, 1120.0, 2.5], [0, 0, 1]])


def write_sintel(root: Path, sequences=('alley_1', 'bamboo_2'), frames: int = 2) -> Path:
    training = root / 'training'
    for s, name in enumerate(sequences):
        for i in range(frames):
            frame = f'frame_{i + 1:04d}'
            for n, folder in enumerate(('clean_left', 'clean_right', 'final_left',
                                        'final_right')):
                save_image(training / folder / name / f'{frame}.png', image(100 * s + 10 * n + i))
            (training / 'disparities' / name).mkdir(parents=True, exist_ok=True)
            write_sintel_disparity(training / 'disparities' / name / f'{frame}.png',
                                   disparity(i))
            occlusion = np.zeros((H, W), np.uint8)
            occlusion[:, 0] = 255
            save_mask(training / 'occlusions' / name / f'{frame}.png', occlusion)
            (training / 'camdata_left' / name).mkdir(parents=True, exist_ok=True)
            write_sintel_camera(training / 'camdata_left' / name / f'{frame}.cam', SINTEL_K,
                                np.zeros((3, 4)))
    return training


def test_sintel_reads_pass_disparity_occlusions_and_calibration(tmp_path):
    write_sintel(tmp_path)
    sequences = read_sintel_stereo(tmp_path, pass_name='final')
    assert [(s.name, len(s)) for s in sequences] == [('alley_1', 2), ('bamboo_2', 2)]
    sample = sequences[1][1]
    np.testing.assert_array_equal(sample.left, image(100 + 20 + 1))   # final_left
    np.testing.assert_array_equal(sample.right, image(100 + 30 + 1))  # final_right
    np.testing.assert_array_equal(sample.disparity, disparity(1))
    assert not sample.valid[:, 0].any() and sample.valid[:, 1:].all()
    calibration = sequences[0].calibration
    assert (calibration.fx, calibration.baseline, calibration.cx_offset) == (1120.0, 0.1, 0.0)
    assert (calibration.width, calibration.height) == (W, H)
    clean = read_sintel_stereo(tmp_path / 'training', sequences=['bamboo_2'])
    assert [s.name for s in clean] == ['bamboo_2']
    np.testing.assert_array_equal(clean[0][0].left, image(100))


def test_sintel_all_pixels_without_occlusions_or_cameras(tmp_path):
    training = write_sintel(tmp_path, sequences=('alley_1',))
    for folder in ('occlusions', 'camdata_left'):
        for path in (training / folder / 'alley_1').iterdir():
            path.unlink()
        (training / folder / 'alley_1').rmdir()
        (training / folder).rmdir()
    [sequence] = read_sintel_stereo(tmp_path, non_occluded=False)
    assert sequence.calibration is None and sequence[0].valid is None
    with pytest.raises(DatasetError, match=r'occlusions/alley_1: occlusion mask folder not '
                                           r'found'):
        read_sintel_stereo(tmp_path)


def test_sintel_errors(tmp_path):
    training = write_sintel(tmp_path, sequences=('alley_1',))
    with pytest.raises(DatasetError, match=r"unknown Sintel pass 'albedo'; expected one of "
                                           r'clean, final'):
        read_sintel_stereo(tmp_path, pass_name='albedo')
    with pytest.raises(DatasetError, match=r"no sequence 'cave_4'; available: alley_1"):
        read_sintel_stereo(tmp_path, sequences=['cave_4'])
    (training / 'clean_right' / 'alley_1' / 'frame_0002.png').unlink()
    with pytest.raises(DatasetError, match=r'training: clean_left/alley_1/ has 2 frames, '
                                           r'clean_right/alley_1/ has 1; .*: clean_left/alley_1/'
                                           r'frame_0002\.png has no clean_right/alley_1/ file'):
        read_sintel_stereo(tmp_path)
    (training / 'camdata_left' / 'alley_1' / 'frame_0001.cam').unlink()
    with pytest.raises(DatasetError, match=r'frame_0001\.cam: camera file of the first frame'):
        read_sintel_stereo(tmp_path, pass_name='final')
    with pytest.raises(DatasetError, match=r'elsewhere/clean_left: Sintel clean_left folder '
                                           r'not found'):
        read_sintel_stereo(tmp_path / 'elsewhere')


# --- KITTI 2015 ------------------------------------------------------------------------------

KITTI_P2 = [721.5377, 0, 3.5, 44.85728, 0, 721.5377, 2.5, 0.2163791, 0, 0, 1, 0.002745884]
KITTI_P3 = [721.5377, 0, 3.5, -339.5242, 0, 721.5377, 2.5, 2.199936, 0, 0, 1, 0.002729905]


def kitti_calib_text() -> str:
    def row(values):
        return ' '.join(f'{v:.6e}' for v in values)

    return (f'calib_time: 09-Jan-2012 13:57:47\nP_rect_02: {row(KITTI_P2)}\n'
            f'P_rect_03: {row(KITTI_P3)}\nT_02: {row([5.956621e-02, 2.900141e-04, 2.577209e-03])}'
            f'\nT_03: {row([-4.731050e-01, 5.551470e-03, -5.250882e-03])}\n')


def write_kitti2015(root: Path, scenes: int = 2) -> Path:
    training = root / 'training'
    (training / 'calib_cam_to_cam').mkdir(parents=True)
    for scene in range(scenes):
        for suffix in ('10', '11'):  # frame 11 has no GT and is ignored
            save_image(training / 'image_2' / f'{scene:06d}_{suffix}.png', image(scene))
            save_image(training / 'image_3' / f'{scene:06d}_{suffix}.png', image(10 + scene))
        for folder, offset in (('disp_occ_0', 0), ('disp_noc_0', 100)):
            (training / folder).mkdir(exist_ok=True)
            gt = disparity(scene + offset)
            gt[0, 0] = np.nan
            write_png16(training / folder / f'{scene:06d}_10.png', gt, 256.0)
        (training / 'calib_cam_to_cam' / f'{scene:06d}.txt').write_text(kitti_calib_text())
    return training


def test_kitti2015_scenes_are_one_frame_sequences(tmp_path):
    write_kitti2015(tmp_path)
    sequences = read_kitti2015(tmp_path)
    assert [(s.name, len(s)) for s in sequences] == [('000000', 1), ('000001', 1)]
    sample = sequences[1][0]
    np.testing.assert_array_equal(sample.left, image(1))
    np.testing.assert_array_equal(sample.right, image(11))
    expected = disparity(1)
    expected[0, 0] = np.nan
    np.testing.assert_array_equal(sample.disparity, expected)
    calibration = sequences[0].calibration
    assert calibration.fx == 721.5377 and calibration.cx_offset == 0.0
    assert calibration.baseline == pytest.approx((44.85728 + 339.5242) / 721.5377, abs=1e-9)
    noc = read_kitti2015(tmp_path / 'training', occluded=False)
    assert noc[0][0].disparity[1, 1] == disparity(100)[1, 1]


def test_kitti2015_errors(tmp_path):
    training = write_kitti2015(tmp_path)
    (training / 'calib_cam_to_cam' / '000001.txt').write_text('P_rect_02: 1 2 3\n')
    with pytest.raises(DatasetError, match=r'000001\.txt: needs P_rect_02 with 12 numbers, '
                                           r'found 3'):
        read_kitti2015(tmp_path)
    (training / 'calib_cam_to_cam' / '000001.txt').unlink()
    with pytest.raises(DatasetError, match=r'000001\.txt: KITTI calibration file not found'):
        read_kitti2015(tmp_path)
    (training / 'image_3' / '000000_10.png').unlink()
    with pytest.raises(DatasetError, match=r'image_2/ has 2 frames, image_3/ has 1; .*: '
                                           r'image_2/000000_10\.png has no image_3/ file'):
        read_kitti2015(tmp_path)


# --- KITTI Depth -----------------------------------------------------------------------------


def write_kitti_depth(root: Path, drives=('2011_09_26_drive_0002_sync',
                                          '2011_09_26_drive_0001_sync'), frames: int = 3):
    date = root / 'input' / '2011_09_26'
    date.mkdir(parents=True)
    (date / 'calib_cam_to_cam.txt').write_text(kitti_calib_text())
    for d, drive in enumerate(drives):
        for i in range(frames):
            name = f'{i + 5:010d}.png'
            save_image(date / drive / 'image_02' / 'data' / name, image(10 * d + i))
            save_image(date / drive / 'image_03' / 'data' / name, image(50 + 10 * d + i))
            depth = np.full((H, W), 10.0 + i)
            depth[0, 0] = np.nan             # no lidar point
            depth[0, 1] = 1 / 256            # so close that disparity >= 512: dropped by SAV
            gt = root / 'gt_depth' / drive / 'proj_depth' / 'groundtruth' / 'image_02'
            gt.mkdir(parents=True, exist_ok=True)
            write_png16(gt / name, depth, 256.0)


def test_kitti_depth_test_split_disparity_from_depth(tmp_path):
    write_kitti_depth(tmp_path)
    [sequence] = read_kitti_depth(tmp_path, max_frames=2)
    assert (sequence.name, len(sequence)) == ('2011_09_26_drive_0002_sync', 2)
    baseline = np.linalg.norm(np.array([5.956621e-02, 2.900141e-04, 2.577209e-03])
                              - np.array([-4.731050e-01, 5.551470e-03, -5.250882e-03]))
    assert sequence.calibration.baseline == pytest.approx(baseline, abs=1e-12)
    assert sequence.calibration.fx == 721.5377
    sample = sequence[1]
    np.testing.assert_array_equal(sample.left, image(1))
    np.testing.assert_array_equal(sample.right, image(51))
    assert np.isnan(sample.disparity[0, :2]).all()
    assert sample.disparity[3, 3] == np.float32(721.5377 * baseline / 11.0)
    assert [s.name for s in read_kitti_depth(tmp_path, split='train')] == [
        '2011_09_26_drive_0001_sync']
    assert len(read_kitti_depth(tmp_path, max_frames=None)[0]) == 3


def test_kitti_depth_errors(tmp_path):
    write_kitti_depth(tmp_path)
    with pytest.raises(DatasetError, match=r'no sequence of the val split \(expected '
                                           r'2011_10_03_drive_0042_sync\)'):
        read_kitti_depth(tmp_path, split='val')
    with pytest.raises(DatasetError, match=r"unknown KITTI Depth split 'eval'"):
        read_kitti_depth(tmp_path, split='eval')
    drive = tmp_path / 'input' / '2011_09_26' / '2011_09_26_drive_0002_sync'
    (drive / 'image_03' / 'data' / '0000000006.png').unlink()
    with pytest.raises(DatasetError, match=r'0000000006\.png: right image of annotated frame '
                                           r'0000000006 not found'):
        read_kitti_depth(tmp_path)
    (tmp_path / 'input' / '2011_09_26' / 'calib_cam_to_cam.txt').unlink()
    with pytest.raises(DatasetError, match=r'calib_cam_to_cam\.txt: KITTI calibration file not '
                                           r'found'):
        read_kitti_depth(tmp_path, max_frames=1)
    with pytest.raises(DatasetError, match=r'input: KITTI raw input folder not found'):
        read_kitti_depth(tmp_path / 'input')


# --- Middlebury 2014 -------------------------------------------------------------------------

DOFFS = 2.5


def write_middlebury_scene(scene: Path, gt_name: str = 'disp0GT.pfm') -> np.ndarray:
    save_image(scene / 'im0.png', image(1))
    save_image(scene / 'im1.png', image(2))
    gt = disparity(0) * 2
    gt[5, 7] = np.inf
    write_pfm(scene / gt_name, gt)
    mask = np.full((H, W), 255, np.uint8)
    mask[0] = 128
    save_mask(scene / 'mask0nocc.png', mask)
    k0 = np.array([[100.0, 0, 3.5], [0, 100.0, 2.5], [0, 0, 1]])
    k1 = k0.copy()
    k1[0, 2] += DOFFS
    write_middlebury_calib(scene / 'calib.txt', MiddleburyCalibration(
        k0, k1, doffs=DOFFS, baseline=160.0, width=W, height=H, ndisp=64))
    gt[5, 7] = np.nan
    return gt


def test_middlebury_scenes_calibration_and_nonoccluded_mask(tmp_path):
    expected = write_middlebury_scene(tmp_path / 'Adirondack')
    write_middlebury_scene(tmp_path / 'Bicycle1', gt_name='disp0.pfm')
    sequences = read_middlebury2014(tmp_path)
    assert [(s.name, len(s)) for s in sequences] == [('Adirondack', 1), ('Bicycle1', 1)]
    sample = sequences[0][0]
    np.testing.assert_array_equal(sample.left, image(1))
    np.testing.assert_array_equal(sample.right, image(2))
    np.testing.assert_array_equal(sample.disparity, expected)
    assert sample.valid is None
    np.testing.assert_array_equal(sequences[1][0].disparity, expected)
    calibration = sequences[0].calibration
    assert (calibration.fx, calibration.baseline, calibration.cx_offset) == (100.0, 0.16, -DOFFS)
    [scene] = read_middlebury2014(tmp_path / 'Adirondack', non_occluded=True)
    valid = scene[0].valid
    assert not valid[0].any() and valid[1:].all()


def test_middlebury_metric_depth_adds_doffs(tmp_path):
    gt = write_middlebury_scene(tmp_path)
    [sequence] = read_middlebury2014(tmp_path)
    depth = metric_depth(sequence[0].disparity, sequence.calibration)
    # Middlebury: Z = baseline * f / (d + doffs), baseline 0.16 m, f 100 px.
    expected = (0.16 * 100.0 / (gt.astype(np.float64) + DOFFS)).astype(np.float32)
    np.testing.assert_allclose(depth, expected, rtol=1e-6)
    assert np.isnan(depth[5, 7])


def test_middlebury_errors(tmp_path):
    write_middlebury_scene(tmp_path / 'scene')
    (tmp_path / 'scene' / 'mask0nocc.png').unlink()
    with pytest.raises(DatasetError, match=r'scene: missing mask0nocc\.png'):
        read_middlebury2014(tmp_path, non_occluded=True)
    (tmp_path / 'scene' / 'calib.txt').write_text(
        (tmp_path / 'scene' / 'calib.txt').read_text().replace('width=8', 'width=16'))
    with pytest.raises(DatasetError, match=r'im0\.png is 8x6 but its calibration is for 16x6'):
        read_middlebury2014(tmp_path)
    (tmp_path / 'scene' / 'calib.txt').unlink()
    with pytest.raises(DatasetError, match=r'scene: missing calib\.txt'):
        read_middlebury2014(tmp_path)
    (tmp_path / 'scene' / 'disp0GT.pfm').unlink()
    with pytest.raises(DatasetError, match=r'missing disp0GT\.pfm or disp0\.pfm'):
        read_middlebury2014(tmp_path)
    (tmp_path / 'scene' / 'im0.png').unlink()
    with pytest.raises(DatasetError, match=r'no im0\.png in it or in any sub-folder'):
        read_middlebury2014(tmp_path)


# --- Dynamic Replica -------------------------------------------------------------------------


def dynamic_replica_frame(sequence: str, camera: str, number: int, tx: float,
                          intrinsics_format: str = 'ndc_isotropic') -> dict:
    return {'sequence_name': sequence, 'camera_name': camera, 'frame_number': number,
            'image': {'path': f'{sequence}/images/{sequence}_{camera}-{number:04d}.png',
                      'size': [H, W]},
            'depth': {'path': f'{sequence}/depths/{sequence}_{camera}-{number:04d}.geometric.png',
                      'scale_adjustment': 1.0},
            'mask': {'path': f'{sequence}/masks/{sequence}_{camera}-{number:04d}.png'},
            'viewpoint': {'R': np.eye(3).tolist(), 'T': [tx, 0.0, 1.0],
                          'focal_length': [2.0, 2.0], 'principal_point': [0.25, 0.0],
                          'intrinsics_format': intrinsics_format}}


def write_dynamic_replica(root: Path, frames: int = 3, **kwargs) -> Path:
    split = root / 'test'
    annotations = []
    for i in range(frames):
        for camera, tx in (('left', 0.1), ('right', 0.6)):
            frame = dynamic_replica_frame('seq_a', camera, i, tx, **kwargs)
            annotations.append(frame)
            save_image(split / frame['image']['path'], image(i + (10 if camera == 'right' else 0)))
            depth = np.full((H, W), 1.5 + i, np.float32)
            depth[0, 0] = 0.0
            depth[0, 1] = 0.001  # disparity 3 / 0.001 >= 512: dropped as SAV does
            (split / frame['depth']['path']).parent.mkdir(parents=True, exist_ok=True)
            write_float16_png(split / frame['depth']['path'], depth)
    with gzip.open(split / 'frame_annotations_test.jgz', 'wt', encoding='utf-8') as stream:
        json.dump(annotations, stream)
    return split


def test_dynamic_replica_disparity_from_depth_and_camera(tmp_path):
    write_dynamic_replica(tmp_path)
    [sequence] = read_dynamic_replica(tmp_path, max_frames=2)
    assert (sequence.name, len(sequence)) == ('seq_a', 2)
    calibration = sequence.calibration
    # ndc_isotropic: s = min(8, 6) / 2 = 3; fx = 2 * 3; cx = 8/2 - 0.25 * 3; B = 0.6 - 0.1.
    assert calibration.fx == 6.0 and calibration.left.cx == 3.25 and calibration.left.cy == 3.0
    assert calibration.baseline == pytest.approx(0.5, abs=1e-12)
    sample = sequence[1]
    np.testing.assert_array_equal(sample.left, image(1))
    np.testing.assert_array_equal(sample.right, image(11))
    assert np.isnan(sample.disparity[0, :2]).all()
    assert sample.disparity[2, 2] == np.float32(3.0 / 2.5)
    assert len(read_dynamic_replica(tmp_path)[0]) == 3


def test_dynamic_replica_norm_image_bounds_intrinsics(tmp_path):
    write_dynamic_replica(tmp_path, frames=1, intrinsics_format='ndc_norm_image_bounds')
    calibration = read_dynamic_replica(tmp_path)[0].calibration
    assert (calibration.fx, calibration.left.fy, calibration.left.cx) == (8.0, 6.0, 3.0)


def test_dynamic_replica_errors(tmp_path):
    with pytest.raises(DatasetError, match=r'frame_annotations_test\.jgz: annotations not found'):
        read_dynamic_replica(tmp_path)
    split = write_dynamic_replica(tmp_path, frames=2, intrinsics_format='ndc_weird')
    with pytest.raises(DatasetError, match=r"unknown intrinsics_format 'ndc_weird'"):
        read_dynamic_replica(tmp_path)
    split = write_dynamic_replica(tmp_path / 'b', frames=2)
    (split / 'seq_a' / 'images' / 'seq_a_right-0001.png').unlink()
    with pytest.raises(DatasetError, match=r"right image of sequence 'seq_a' frame 1 not found"):
        read_dynamic_replica(tmp_path / 'b')
    with gzip.open(split / 'frame_annotations_test.jgz', 'rt') as stream:
        annotations = json.load(stream)
    with gzip.open(split / 'frame_annotations_test.jgz', 'wt') as stream:
        json.dump(annotations[:-1], stream)
    with pytest.raises(DatasetError, match=r"sequence 'seq_a' has 2 left and 1 right frames"):
        read_dynamic_replica(tmp_path / 'b')
    (split / 'frame_annotations_test.jgz').write_bytes(b'plain')
    with pytest.raises(DatasetError, match=r'not a gzip JSON file'):
        read_dynamic_replica(tmp_path / 'b')


# --- registry --------------------------------------------------------------------------------


def test_readers_are_registered_and_open_dataset_passes_their_options(tmp_path):
    assert STEREO_READERS == {
        'stereo-folder': read_stereo_folder, 'sintel': read_sintel_stereo,
        'kitti2015': read_kitti2015, 'kitti-depth': read_kitti_depth,
        'middlebury2014': read_middlebury2014, 'dynamic-replica': read_dynamic_replica}
    write_sintel(tmp_path, sequences=('alley_1',), frames=1)
    [sequence] = open_dataset('sintel', str(tmp_path), pass_name='final', max_frames=5)
    np.testing.assert_array_equal(sequence[0].left, image(20))
