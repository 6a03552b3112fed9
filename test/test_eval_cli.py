# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``eval`` end to end: real data (Middlebury 2014 Motorcycle from scikit-image), synthetic
stereo and monocular sequences written in our folder layouts, a real bag, and bad input."""
import json
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest
from stereo_any_video_ros.backends.sgbm import SGBMBackend
from stereo_any_video_ros.camera_yaml import CameraCalibration, save_camera_yaml
from stereo_any_video_ros.evaluation import depth_metrics, stereo_metrics
from stereo_any_video_ros.evaluation.cli import main
from stereo_any_video_ros.evaluation.datasets.formats import write_pfm
from stereo_any_video_ros.synthetic import StereoRig, SyntheticScene
from test_eval_bag import gt_depth, one_bag, relative, RELATIVE_TOPIC  # noqa: F401
from test_stereodiff_bag import weights  # noqa: F401

RIG = StereoRig(width=128, height=96, fx=100.0, baseline=0.2)
NUM_FRAMES = 6


def run_eval(*args):
    return main([str(a) for a in args])


def report(folder: Path) -> dict:
    return json.loads((folder / 'metrics.json').read_text())


def figures(folder: Path) -> dict:
    """The overall figures without the wall times, which differ between runs."""
    return {label: {k: v for k, v in values.items() if k != 'seconds'}
            for label, values in report(folder)['overall'].items()}


# -- real data: Middlebury 2014 Motorcycle (scikit-image) ------------------------------------

def test_sgbm_on_middlebury_motorcycle(tmp_path):
    """SGBM on the real pair through the whole command. The bad-2px figure is pinned: it
    moves if the reader, the padding/resizing or the disparity geometry changes (OpenCV
    5.0.0.93, 64 disparities, block 5; invalid pixels count as errors, Middlebury-style)."""
    output = tmp_path / 'out'
    assert run_eval('--dataset', 'skimage-motorcycle', '--method', 'sgbm',
                    '--sgbm-num-disparities', 64, '--output', output) == 0
    figures = report(output)['overall']['sgbm']
    stereo = figures['stereo']
    assert 5.0 < stereo['epe_bad_2px'] < 40.0  # sane for SGBM on Middlebury at 1/4 size
    assert stereo['epe_bad_2px'] == pytest.approx(PINNED_BAD_2PX, abs=0.01)
    assert stereo['density'] > 0.8 and stereo['frames'] == 1
    # calibrated: SGBM's metric depth fx·B/(d + doffs) is scored by both depth protocols
    assert figures['depth_depthcrafter']['abs_rel'] < 0.3
    assert figures['depth_monst3r']['abs_rel'] < 0.3
    assert (output / 'plots' / 'motorcycle_frame000000_disparity.png').is_file()


# The first run's figure (2026-11-21); SGBM leaves 13 % unmatched, counted as errors.
PINNED_BAD_2PX = 18.7208


def test_the_same_pair_read_as_a_middlebury_folder_scores_the_same(tmp_path):
    from skimage import data
    from stereo_any_video_ros.evaluation.datasets.formats import read_image
    import cv2
    left, right, disparity = data.stereo_motorcycle()
    scene = tmp_path / 'MiddEval' / 'Motorcycle-perfect'
    scene.mkdir(parents=True)
    for name, image in (('im0.png', left), ('im1.png', right)):
        cv2.imwrite(str(scene / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert np.array_equal(read_image(scene / 'im0.png'), left)
    write_pfm(scene / 'disp0GT.pfm', disparity)
    (scene / 'calib.txt').write_text(
        'cam0=[994.978 0 311.193; 0 994.978 254.877; 0 0 1]\n'
        'cam1=[994.978 0 342.279; 0 994.978 254.877; 0 0 1]\n'
        'doffs=31.086\nbaseline=193.001\nwidth=741\nheight=500\nndisp=70\n')
    folder_run, builtin_run = tmp_path / 'folder', tmp_path / 'builtin'
    common = ('--method', 'sgbm', '--sgbm-num-disparities', 64, '--no-plots')
    assert run_eval('--dataset', 'middlebury2014', '--root', scene.parent, *common,
                    '--output', folder_run) == 0
    assert run_eval('--dataset', 'skimage-motorcycle', *common, '--output', builtin_run) == 0
    assert figures(folder_run) == figures(builtin_run)


# -- synthetic stereo video in the generic folder layout -------------------------------------

@pytest.fixture(scope='module')
def stereo_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp('stereo') / 'drive'
    scene = SyntheticScene(RIG, seed=3)
    for sub in ('left', 'right', 'disparity'):
        (root / sub).mkdir(parents=True)
    import cv2
    for i in range(NUM_FRAMES):
        frame = scene.frame(i)
        cv2.imwrite(str(root / 'left' / f'{i:06d}.png'), frame.left[..., ::-1])
        cv2.imwrite(str(root / 'right' / f'{i:06d}.png'), frame.right[..., ::-1])
        write_pfm(root / 'disparity' / f'{i:06d}.pfm', frame.disparity)
    for name, k, p in (('left', RIG.K_left, RIG.P_left), ('right', RIG.K_right, RIG.P_right)):
        save_camera_yaml(CameraCalibration(RIG.width, RIG.height, name, k, np.zeros(5),
                                           np.eye(3), p), root / f'{name}.yaml')
    return root, scene


def test_stereo_folder_with_sgbm_selection_plots_and_saved_predictions(tmp_path,
                                                                       stereo_folder):
    root, scene = stereo_folder
    output = tmp_path / 'out'
    assert run_eval('--dataset', 'stereo-folder', '--root', root, '--method', 'sgbm',
                    '--sgbm-num-disparities', 64, '--every-n', 2, '--max-frames', 3,
                    '--vis-frames', 2, '--save-predictions', '--output', output) == 0
    written = report(output)
    assert written['sequences']['drive']['frames'] == [0, 2, 4]
    # the figures are SAV's metrics of what SGBM computes on those frames
    frames = [scene.frame(i) for i in (0, 2, 4)]
    left, right = (np.stack([getattr(f, side) for f in frames]) for side in ('left', 'right'))
    truth = np.stack([f.disparity for f in frames])
    expected = stereo_metrics.stereo_video_metrics(
        SGBMBackend(num_disparities=64).infer(left, right), truth)
    got = written['sequences']['drive']['sgbm']['stereo']
    assert got == pytest.approx(expected, rel=1e-6)
    assert written['overall']['sgbm']['stereo']['tepe'] == pytest.approx(expected['tepe'])
    plots = output / 'plots'
    for name in ('drive_curves_epe_px.png', 'drive_curves_tepe_px.png',
                 'drive_curves_depth_absrel.png', 'drive_frame000002_disparity.png'):
        assert (plots / name).stat().st_size > 1000, name
    saved = output / 'predictions' / 'sgbm'
    assert (saved / 'drive.npz').is_file()

    # the saved predictions read back give the same figures, without running SGBM
    again = tmp_path / 'again'
    assert run_eval('--dataset', 'stereo-folder', '--root', root, '--predictions', saved,
                    '--every-n', 2, '--max-frames', 3, '--no-plots', '--output', again) == 0
    assert report(again)['overall']['sgbm']['stereo'] == \
        written['overall']['sgbm']['stereo']
    # ... and refuse to be scored on other frames
    assert run_eval('--dataset', 'stereo-folder', '--root', root, '--predictions', saved,
                    '--no-plots', '--output', tmp_path / 'wrong') == 1


def test_signed_tepe_is_an_option(tmp_path, stereo_folder):
    root, _ = stereo_folder
    results = {}
    for form in ('absolute', 'signed'):
        output = tmp_path / form
        assert run_eval('--dataset', 'stereo-folder', '--root', root, '--method', 'sgbm',
                        '--sgbm-num-disparities', 64, '--max-frames', 3, '--tepe-form', form,
                        '--no-plots', '--output', output) == 0
        results[form] = report(output)['overall']['sgbm']['stereo']
    assert results['absolute']['epe'] == results['signed']['epe']
    assert results['absolute']['tepe'] < results['signed']['tepe']


# -- synthetic monocular video: StereoDiff and its stage 1 -----------------------------------

@pytest.fixture(scope='module')
def depth_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp('mono') / 'walk'
    scene = SyntheticScene(StereoRig(width=64, height=48, fx=50.0, baseline=0.2), seed=5)
    (root / 'rgb').mkdir(parents=True)
    (root / 'depth').mkdir()
    import cv2
    for i in range(NUM_FRAMES):
        frame = scene.frame(i)
        cv2.imwrite(str(root / 'rgb' / f'{i:04d}.png'), frame.left[..., ::-1])
        np.save(root / 'depth' / f'{i:04d}.npy', frame.depth)
    return root, scene


def test_stereodiff_and_its_stage1_under_both_protocols_with_spectra(tmp_path, depth_folder,
                                                                     weights):  # noqa: F811
    root, scene = depth_folder
    output = tmp_path / 'out'
    assert run_eval('--dataset', 'depth-folder', '--root', root, '--method', 'stereodiff',
                    '--monst3r-checkpoint', weights / 'monst3r', '--depthcrafter-unet',
                    weights / 'unet', '--svd-folder', weights / 'svd', '--stage1-resolution',
                    64, '--clip-length', 4, '--clip-overlap', 1, '--max-depth', 20,
                    '--save-predictions', '--output', output) == 0
    written = report(output)
    sequence = written['sequences']['walk']
    assert set(sequence) == {'frames', 'stereodiff', 'stereodiff/stage1'}
    # relative disparity: DepthCrafter's protocol only; stage-1 depth: both, apart
    assert set(sequence['stereodiff']) >= {'depthcrafter', 'frequency'}
    assert 'monst3r' not in sequence['stereodiff']
    assert set(sequence['stereodiff/stage1']) >= {'depthcrafter', 'monst3r', 'frequency'}
    bands = sequence['stereodiff']['frequency']['AbsRel']
    assert list(bands) == ['F0', 'F1', 'F2', 'F3']  # 6 frames: 3 non-DC bins, one band each
    # the reported figures are the protocol's, on the saved prediction
    saved = np.load(output / 'predictions' / 'stereodiff' / 'walk.npz')
    truth = np.stack([scene.frame(i).depth for i in range(NUM_FRAMES)])
    expected = depth_metrics.depthcrafter_protocol(saved['values'], truth, 20.0)
    assert sequence['stereodiff']['depthcrafter']['abs_rel'] == \
        pytest.approx(expected.abs_rel)
    assert written['overall']['stereodiff']['depthcrafter']['abs_rel'] == \
        pytest.approx(expected.abs_rel)
    assert str(saved['kind']) == 'relative_disparity'
    assert bands['F0'] == pytest.approx(np.mean(expected.per_frame['abs_rel']))  # DC = mean
    plots = output / 'plots'
    for name in ('walk_spectrum.png', 'walk_bands_absrel.png', 'walk_curves_absrel.png',
                 'walk_frame000000_depth.png'):
        assert (plots / name).stat().st_size > 1000, name


def test_stereo_and_monocular_methods_meet_on_metric_depth(tmp_path, stereo_folder,
                                                           weights):  # noqa: F811
    """On a calibrated stereo dataset a monocular method sees the left camera with GT depth
    fx·B/d, and the stereo method's metric depth is scored the same way: one table."""
    root, scene = stereo_folder
    output = tmp_path / 'out'
    assert run_eval('--dataset', 'stereo-folder', '--root', root, '--method', 'sgbm',
                    'stereo-stage1', '--sgbm-num-disparities', 64, '--monst3r-checkpoint',
                    weights / 'monst3r', '--stage1-resolution', 64, '--max-frames', 3,
                    '--max-depth', 50, '--save-predictions', '--no-plots',
                    '--output', output) == 0
    sequence = report(output)['sequences']['drive']
    assert set(sequence['sgbm']) >= {'stereo', 'depth_depthcrafter', 'depth_monst3r'}
    assert set(sequence['stereo-stage1']) >= {'depthcrafter', 'monst3r', 'frequency'}
    assert 'stereo' not in sequence['stereo-stage1']
    saved = np.load(output / 'predictions' / 'stereo-stage1' / 'drive.npz')
    truth = np.stack([scene.frame(i).depth for i in range(3)])
    expected = depth_metrics.depthcrafter_protocol(
        depth_metrics.depth_to_disparity(saved['values']), truth, 50.0)
    assert sequence['stereo-stage1']['depthcrafter']['abs_rel'] == \
        pytest.approx(expected.abs_rel, rel=1e-5)


def test_a_monocular_method_needs_a_calibrated_stereo_dataset(
        tmp_path, stereo_folder, weights, caplog):  # noqa: F811
    root, _ = stereo_folder
    bare = tmp_path / 'bare'
    for sub in ('left', 'right', 'disparity'):
        (bare / sub).mkdir(parents=True)
        for path in sorted((root / sub).iterdir())[:2]:
            (bare / sub / path.name).write_bytes(path.read_bytes())
    assert run_eval('--dataset', 'stereo-folder', '--root', bare, '--method',
                    'stereo-stage1', '--monst3r-checkpoint', weights / 'monst3r',
                    '--output', tmp_path / 'out') == 1
    assert 'has no calibration' in caplog.text and 'camera_info YAML' in caplog.text


def test_depthcrafter_benchmark_files_with_saved_depth(tmp_path):
    """DepthCrafter's benchmark csv + mp4 + npz, scored from saved predictions: the GT itself,
    saved as a depth method's .npy, scores perfectly under both protocols with Bonn's caps."""
    from test_eval_depthcrafter_benchmark import expected_depth, FRAMES, write_benchmark
    write_benchmark(tmp_path / 'data', csv_name='bonn.csv', data='bonn',
                    sequences=('balloon',))
    saved = tmp_path / 'gt_as_prediction'
    saved.mkdir()
    np.save(saved / 'balloon.npy', np.stack([expected_depth(0, i) for i in range(FRAMES)]))
    output = tmp_path / 'out'
    assert run_eval('--dataset', 'depthcrafter-benchmark', '--root', tmp_path / 'data',
                    '--predictions', saved, '--prediction-kind', 'depth', '--no-plots',
                    '--output', output) == 0
    scored = report(output)['sequences']['balloon']['gt_as_prediction']
    assert scored['depthcrafter']['max_depth'] == 10.0  # Bonn under DepthCrafter
    assert scored['monst3r']['max_depth'] == 70.0  # Bonn under MonST3R
    assert scored['depthcrafter']['abs_rel'] == pytest.approx(0.0, abs=1e-6)
    assert scored['depthcrafter']['delta1'] == 1.0
    assert scored['monst3r']['abs_rel'] == pytest.approx(0.0, abs=1e-3)


# -- a bag against its GT depth topic ---------------------------------------------------------

def test_bag_prediction_against_gt_topic(tmp_path, one_bag):  # noqa: F811
    output = tmp_path / 'out'
    assert run_eval('--dataset', 'bag', '--root', one_bag, '--prediction-topic',
                    RELATIVE_TOPIC, '--gt-topic', '/gt/depth', '--image-topic',
                    '/cam/image_raw', '--max-depth', 10, '--output', output) == 0
    written = report(output)
    (name, sequence), = written['sequences'].items()
    paired = [0, 1, 3]  # frame 2 has no GT
    expected = depth_metrics.depthcrafter_protocol(
        np.stack([relative(i) for i in paired]),
        np.stack([np.where(gt_depth(i) > 0, gt_depth(i), np.nan) for i in paired]), 10.0)
    assert sequence[RELATIVE_TOPIC]['depthcrafter']['abs_rel'] == \
        pytest.approx(expected.abs_rel)
    assert (output / 'plots' / f'{name}_frame000000_depth.png').is_file()


# -- bad input and usage ---------------------------------------------------------------------

def test_bad_input_is_one_clear_error(tmp_path, stereo_folder, depth_folder, caplog):
    root, _ = stereo_folder
    assert run_eval('--dataset', 'stereo-folder', '--root', root, '--method', 'sgbm',
                    '--sequence', 'nope', '--output', tmp_path / 'a') == 1
    assert "no sequence ['nope']" in caplog.text and 'drive' in caplog.text
    assert run_eval('--dataset', 'depth-folder', '--root', depth_folder[0], '--method',
                    'sgbm', '--output', tmp_path / 'b') == 1
    assert 'sgbm is a stereo method but walk is monocular' in caplog.text
    assert run_eval('--dataset', 'stereo-folder', '--root', tmp_path / 'missing', '--method',
                    'sgbm', '--output', tmp_path / 'c') == 1
    assert run_eval('--dataset', 'stereo-folder', '--root', root, '--method', 'stereodiff',
                    '--output', tmp_path / 'd') == 1
    assert '--monst3r-checkpoint' in caplog.text
    assert not (tmp_path / 'a' / 'metrics.json').exists()


@pytest.mark.parametrize('args', [
    [],  # no method
    ['--method', 'sgbm', 'sgbm'],
    ['--method', 'sav:int8'],
    ['--method', 'sgbm', '--every-n', '0'],
    ['--method', 'sgbm', '--inference-width', '64'],
])
def test_usage_errors_exit_2(args, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        run_eval('--dataset', 'skimage-motorcycle', '--output', tmp_path, *args)
    assert exit_info.value.code == 2


def test_module_entry_point(tmp_path):
    """``python -m stereo_any_video_ros.eval`` is the command outside ``ros2 run``."""
    done = subprocess.run([sys.executable, '-m', 'stereo_any_video_ros.eval', '--dataset',
                           'skimage-motorcycle', '--method', 'sgbm', '--no-plots',
                           '--output', str(tmp_path)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert 'sgbm: EPE' in done.stderr
