# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The stereodiff_bag tool end to end, on real bags written with rosbags and real weight folders
written by our own savers (tiny MonST3R and DepthCrafter, full-size SAV with key-derived weights).

Each run goes through ``main(argv)``, the console script's entry point, in this process; one
runs the installed console script in a subprocess. Every run checks that the input is untouched
and that nothing but the finished output is left next to it.
"""

import json
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest
from stereo_any_video_ros import stereodiff_bag
from stereo_any_video_ros.bag_io import stamp_ns
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereo_any_video_ros.synthetic import StereoRig, SyntheticScene
from stereodiff_ros.engines.stage1 import Stage1Engine
from stereodiff_ros.engines.stage2 import Stage2Engine, Stage2Settings
from stereodiff_ros.models.checkpoint import save_monst3r_pretrained
from stereodiff_ros.models.depthcrafter import save_depthcrafter, tiny_depthcrafter
from stereodiff_ros.models.monst3r import AsymmetricCroCo3DStereo
from stereodiff_ros.pipeline import StereoDiffPipeline
from stereodiff_ros.synthetic import drifting_texture
from test_bag_io import (
    camera_info, COMPRESSED, compressed_image, digest, IMAGE, INFO, metadata, NS, raw_image,
    read_back, STRING, string, T0, write_bag)
from test_stereodiff_pipeline import LONG_SIDE, TINY_MONST3R

MONO_TOPIC = '/cam/image_raw'
OUTPUT_TOPIC = '/cam/mono_depth/relative_inverse_depth/image'
HEIGHT, WIDTH = 48, 64
NUM_FRAMES = 6


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp('weights')
    save_monst3r_pretrained(fill_synthetic(AsymmetricCroCo3DStereo(**TINY_MONST3R), 1.5),
                            folder / 'monst3r')
    save_depthcrafter(tiny_depthcrafter(), folder / 'unet', folder / 'svd')
    return folder


def mono_records(encoding='rgb8', compressed=''):
    """Frames every 0.1 s with a camera_info each, plus an unrelated topic."""
    records = []
    for i, frame in enumerate(drifting_texture(NUM_FRAMES, HEIGHT, WIDTH)):
        log_time = T0 + i * NS // 10
        stamp = log_time - 1000  # acquisition just before logging, as drivers do
        if compressed:
            records.append((MONO_TOPIC + '/compressed', COMPRESSED, log_time,
                            compressed_image(stamp, frame, compressed)))
        else:
            records.append((MONO_TOPIC, IMAGE, log_time, raw_image(stamp, frame, encoding)))
        records.append(('/cam/camera_info', INFO, log_time,
                        camera_info(stamp, 50.0, width=WIDTH, height=HEIGHT)))
    records.append(('/chatter', STRING, T0 + 5, string('unrelated')))
    return records


def stereodiff_args(bag, output, weights, *extra):
    return ['--input', str(bag), '--output', str(output), '--device', 'cpu',
            '--precision', 'fp32', '--monst3r-checkpoint', str(weights / 'monst3r'),
            '--depthcrafter-unet', str(weights / 'unet'), '--svd-folder', str(weights / 'svd'),
            '--stage1-resolution', str(LONG_SIDE), '--clip-length', '4', '--clip-overlap', '1',
            *extra]


def run_tool(args, inputs, output):
    """main(args), checking the input is untouched and no scratch or partial file is left."""
    before = {path: digest(path) for path in inputs}
    code = stereodiff_bag.main(args)
    assert {path: digest(path) for path in inputs} == before
    leftovers = {p.name for p in output.parent.iterdir()} - {output.name} - \
        {p.name for p in inputs}
    assert not {name for name in leftovers if name.startswith('.') or 'partial' in name}
    return code


def source_frames(records, topic):
    return [(log_time, msg) for t, _, log_time, msg in records if t == topic]


def outputs(path, topic):
    return [(log_time, msg) for t, log_time, msg in read_back(path) if t == topic]


@pytest.mark.parametrize('storage, encoding, compressed', [
    ('mcap', 'rgb8', ''), ('sqlite3', 'bgr8', ''), ('mcap', '', 'png')])
def test_stereodiff_writes_relative_inverse_depth_with_source_headers(
        tmp_path, weights, storage, encoding, compressed):
    records = mono_records(encoding, compressed)
    bag = write_bag(tmp_path / 'in', records, storage)
    output = tmp_path / 'out'
    assert run_tool(stereodiff_args(bag, output, weights, '--storage', storage), [bag],
                    output) == 0

    topic = MONO_TOPIC + ('/compressed' if compressed else '')
    sources = source_frames(records, topic)
    written = outputs(output, OUTPUT_TOPIC)
    assert [t for t, _ in written] == [t for t, _ in sources]
    for (_, msg), (_, source) in zip(written, sources):
        assert stamp_ns(msg.header) == stamp_ns(source.header)
        assert msg.header.frame_id == source.header.frame_id
        assert (msg.encoding, msg.height, msg.width) == ('32FC1', HEIGHT, WIDTH)
    disparity = np.stack([msg.data.view(np.float32).reshape(HEIGHT, WIDTH)
                          for _, msg in written])
    assert disparity.min() == 0.0 and disparity.max() == pytest.approx(1.0)

    # every input topic is copied with its messages and log times
    copied = [(t, log_time) for t, log_time, _ in read_back(output) if t != OUTPUT_TOPIC]
    in_time_order = sorted(records, key=lambda record: record[2])
    assert copied == [(t, log_time) for t, _, log_time, _ in in_time_order]
    info = metadata(output)
    assert info['storage_identifier'] == storage
    qos = {entry['topic_metadata']['name']: entry['topic_metadata']['offered_qos_profiles']
           for entry in info['topics_with_message_count']}[OUTPUT_TOPIC]
    assert qos[0]['reliability'] == 'reliable' and qos[0]['durability'] == 'volatile'
    custom = info['custom_data']
    assert custom['depth_kind'] == 'relative' and 'larger = closer' in \
        custom['output_semantics']
    assert json.loads(custom['settings'])['stage2']['window'] == 4
    hashes = json.loads(custom['checkpoint_sha256'])
    assert hashes[str(weights / 'monst3r' / 'model.safetensors')] == \
        stereodiff_bag.file_digest(weights / 'monst3r' / 'model.safetensors')
    assert custom['tool_version'] and json.loads(custom['input_bags']) == [str(bag.resolve())]


def test_the_tool_writes_what_the_pipeline_computes(tmp_path, weights):
    records = mono_records()
    bag = write_bag(tmp_path / 'in', records)
    output = tmp_path / 'out'
    assert run_tool(stereodiff_args(bag, output, weights, '--every-n', '2', '--copy', 'none'),
                    [bag], output) == 0
    frames = [drifting_texture(NUM_FRAMES, HEIGHT, WIDTH)[k] for k in range(0, NUM_FRAMES, 2)]
    pipeline = StereoDiffPipeline(
        Stage1Engine.from_checkpoint(weights / 'monst3r', long_side=LONG_SIDE),
        Stage2Engine.from_pretrained(weights / 'unet', weights / 'svd',
                                     settings=Stage2Settings(window=4, overlap=1)))
    expected = pipeline.run(frames, progress=False).disparity
    written = read_back(output)
    assert {t for t, _, _ in written} == {OUTPUT_TOPIC}  # --copy none
    got = np.stack([msg.data.view(np.float32).reshape(HEIGHT, WIDTH) for _, _, msg in written])
    np.testing.assert_array_equal(got, expected)


def test_copy_camera_keeps_the_camera_topics_only(tmp_path, weights):
    bag = write_bag(tmp_path / 'in', mono_records())
    output = tmp_path / 'out'
    assert run_tool(stereodiff_args(bag, output, weights, '--copy', 'camera',
                                    '--max-frames', '3'), [bag], output) == 0
    topics = {}
    for topic, _, _ in read_back(output):
        topics[topic] = topics.get(topic, 0) + 1
    assert topics == {MONO_TOPIC: NUM_FRAMES, '/cam/camera_info': NUM_FRAMES, OUTPUT_TOPIC: 3}


def test_console_script_runs_from_a_params_file(tmp_path, weights):
    bag = write_bag(tmp_path / 'in', mono_records())
    output = tmp_path / 'out'
    params = tmp_path / 'params.yaml'
    params.write_text('/**:\n  ros__parameters:\n    device: cpu\n    precision: fp32\n'
                      f'    monst3r_checkpoint: {weights / "monst3r"}\n'
                      f'    depthcrafter_unet: {weights / "unet"}\n'
                      f'    svd_folder: {weights / "svd"}\n'
                      f'    stage1_resolution: {LONG_SIDE}\n')
    script = Path(sys.executable).with_name('stereodiff_bag')
    done = subprocess.run(
        [str(script), '--input', str(bag), '--output', str(output), '--ros-args',
         '-r', '__node:=stereodiff_bag', '--params-file', str(params), '-p', 'clip_length:=3',
         '-p', 'clip_overlap:=1'], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(outputs(output, OUTPUT_TOPIC)) == NUM_FRAMES
    settings = json.loads(metadata(output)['custom_data']['settings'])
    assert (settings['stage2']['window'], settings['stage1']['long_side']) == (3, LONG_SIDE)


# -- stereo -----------------------------------------------------------------------------------

RIG = StereoRig(width=128, height=96, fx=100.0, baseline=0.2)


def stereo_records(num_frames=4):
    scene = SyntheticScene(RIG, seed=1)
    records = []
    for i in range(num_frames):
        log_time = T0 + i * NS // 10
        frame = scene.frame(i)
        for side, image, tx in (('left', frame.left, 0.0),
                                ('right', frame.right, -RIG.fx * RIG.baseline)):
            records.append((f'/stereo/{side}/image_rect', IMAGE, log_time,
                            raw_image(log_time, image, 'rgb8', 'stereo_left_optical')))
            records.append((f'/stereo/{side}/camera_info', INFO, log_time,
                            camera_info(log_time, RIG.fx, tx, RIG.width, RIG.height)))
    return records, scene


def stereo_args(bag, output, method, *extra):
    return ['--input', str(bag), '--output', str(output), '--method', method,
            '--left-topic', '/stereo/left/image_rect', '--right-topic',
            '/stereo/right/image_rect', '--device', 'cpu', '--precision', 'fp32', *extra]


def test_sgbm_writes_disparity_metric_depth_and_clouds(tmp_path):
    records, scene = stereo_records()
    bag = write_bag(tmp_path / 'in', records)
    output = tmp_path / 'out'
    assert run_tool(stereo_args(bag, output, 'sgbm', '--points', '--copy', 'none'), [bag],
                    output) == 0
    written = read_back(output)
    topics = {t for t, _, _ in written}
    assert topics == {'/stereo/disparity', '/stereo/depth/image_rect',
                      '/stereo/depth/camera_info', '/stereo/points2'}
    lefts = source_frames(records, '/stereo/left/image_rect')
    for topic in topics:
        messages = [(t, m) for name, t, m in written if name == topic]
        assert [t for t, _ in messages] == [t for t, _ in lefts]
        for (_, msg), (_, source) in zip(messages, lefts):
            assert stamp_ns(msg.header) == stamp_ns(source.header)
            assert msg.header.frame_id == 'stereo_left_optical'
    disparity = [m for name, _, m in written if name == '/stereo/disparity'][0]
    assert (disparity.f, disparity.t) == pytest.approx((RIG.fx, RIG.baseline))
    depth = [m for name, _, m in written if name == '/stereo/depth/image_rect'][0]
    metres = depth.data.view(np.float32).reshape(RIG.height, RIG.width)
    truth = scene.frame(0).depth
    valid = np.isfinite(metres)
    assert valid[:, 64:].mean() > 0.8  # SGBM's 64 disparities leave the left 64 columns
    assert np.median(np.abs(metres[valid] - truth[valid]) / truth[valid]) < 0.05
    assert metadata(output)['custom_data']['depth_kind'] == 'metric'


def test_sav_runs_the_official_windows_over_the_stereo_bag(tmp_path):
    from stereo_any_video_ros.engines.sav import SavEngine
    from stereo_any_video_ros.models.checkpoint import save_sav_weights
    from stereo_any_video_ros.models.stereoanyvideo.stereoanyvideo import StereoAnyVideo

    checkpoint = save_sav_weights(fill_synthetic(StereoAnyVideo()), tmp_path / 'sav.pth')
    records, scene = stereo_records(3)
    bag = write_bag(tmp_path / 'in', records)
    output = tmp_path / 'out'
    args = stereo_args(bag, output, 'sav', '--sav-checkpoint', str(checkpoint),
                       '--inference-width', '64', '--inference-height', '32', '--copy', 'none')
    assert run_tool(args, [bag], output) == 0
    disparities = [m for name, _, m in read_back(output) if name == '/stereo/disparity']
    assert len(disparities) == 3
    got = np.stack([m.image.data.view(np.float32).reshape(RIG.height, RIG.width)
                    for m in disparities])
    assert np.isfinite(got).any()
    # the same frames through the engine directly: what the tool wrote is what SAV computed
    engine = SavEngine.from_checkpoint(checkpoint, None, 'cpu', 'fp32')
    import cv2
    small = [np.stack([cv2.resize(frame, (64, 32), interpolation=cv2.INTER_AREA)
                       for frame in frames])
             for frames in ([scene.frame(i).left for i in range(3)],
                            [scene.frame(i).right for i in range(3)])]
    raw = engine.infer_sequence(*small)
    scaled = np.stack([cv2.resize(d, (RIG.width, RIG.height)) * (RIG.width / 64) for d in raw])
    both = np.isfinite(got)
    np.testing.assert_allclose(got[both], scaled[both], rtol=1e-4, atol=1e-3)


# -- bad input: one clear error, nothing left behind -------------------------------------------

def expect_failure(args, inputs, output, caplog, *words, code=1):
    assert run_tool(args, inputs, output) == code
    assert not output.exists()
    text = caplog.text
    for word in words:
        assert word in text, text


def test_empty_bag(tmp_path, weights, caplog):
    bag = write_bag(tmp_path / 'in', [])
    expect_failure(stereodiff_args(bag, tmp_path / 'out', weights), [bag], tmp_path / 'out',
                   caplog, 'no messages')


def test_missing_topic(tmp_path, weights, caplog):
    bag = write_bag(tmp_path / 'in', mono_records())
    expect_failure(stereodiff_args(bag, tmp_path / 'out', weights, '--image-topic', '/nope'),
                   [bag], tmp_path / 'out', caplog, '/nope', MONO_TOPIC)


def test_corrupt_file(tmp_path, weights, caplog):
    bag = tmp_path / 'broken.mcap'
    bag.write_bytes(b'\x89MCAP0\r\n' + bytes(range(256)) * 4)
    expect_failure(stereodiff_args(bag, tmp_path / 'out', weights), [bag], tmp_path / 'out',
                   caplog, 'broken.mcap')


def test_unknown_encoding(tmp_path, weights, caplog):
    records = [r for r in mono_records() if r[0] != MONO_TOPIC]
    records += [(MONO_TOPIC, IMAGE, T0 + i, raw_image(T0 + i, np.zeros((4, 8, 2), np.uint8),
                                                      'yuv422')) for i in range(3)]
    bag = write_bag(tmp_path / 'in', records)
    expect_failure(stereodiff_args(bag, tmp_path / 'out', weights), [bag], tmp_path / 'out',
                   caplog, 'yuv422')


@pytest.mark.parametrize('part, words', [
    ('svd', ('stabilityai/stable-video-diffusion-img2vid-xt', 'hf download')),
    ('unet', ('tencent/DepthCrafter',)),
    ('monst3r', ('MonST3R',)),
])
def test_missing_weight_folder(tmp_path, weights, caplog, part, words):
    bag = write_bag(tmp_path / 'in', mono_records())
    args = stereodiff_args(bag, tmp_path / 'out', weights)
    args[args.index(str(weights / part))] = str(tmp_path / 'absent')
    expect_failure(args, [bag], tmp_path / 'out', caplog, str(tmp_path / 'absent'), *words)


def test_missing_options_are_usage_errors(tmp_path, caplog):
    bag = write_bag(tmp_path / 'in', mono_records())
    expect_failure(['--input', str(bag), '--output', str(tmp_path / 'out')], [bag],
                   tmp_path / 'out', caplog, 'monst3r_checkpoint', code=2)


@pytest.mark.parametrize('extra, words', [
    (['--zero-snr'], ("sigmas='trailing'",)),
    (['--start', '5', '--end', '5'], ('must be later than start',)),
])
def test_inconsistent_settings_are_refused_before_any_model_loads(
        tmp_path, weights, caplog, monkeypatch, extra, words):
    bag = write_bag(tmp_path / 'in', mono_records())
    monkeypatch.setattr(StereoDiffPipeline, 'from_pretrained', pytest.fail)
    expect_failure(stereodiff_args(bag, tmp_path / 'out', weights, *extra), [bag],
                   tmp_path / 'out', caplog, *words)


def test_inconsistent_stereo_options_are_refused_before_any_model_loads(tmp_path, caplog):
    records, _ = stereo_records(2)
    bag = write_bag(tmp_path / 'in', records)
    expect_failure(stereo_args(bag, tmp_path / 'out', 'sav', '--sav-checkpoint',
                               str(tmp_path / 'absent.pth'), '--min-depth', '30'),
                   [bag], tmp_path / 'out', caplog, 'min_depth (30.0) must be below max_depth')


def test_existing_output_is_refused_before_any_work(tmp_path, weights, caplog, monkeypatch):
    bag = write_bag(tmp_path / 'in', mono_records())
    output = tmp_path / 'out'
    output.mkdir()
    (output / 'keep.txt').write_text('mine')
    monkeypatch.setattr(StereoDiffPipeline, 'from_pretrained', pytest.fail)
    assert run_tool(stereodiff_args(bag, output, weights), [bag, output], output) == 1
    assert (output / 'keep.txt').read_text() == 'mine'
    assert str(output) in caplog.text


@pytest.mark.parametrize('where', ['inference', 'writing'])
def test_ctrl_c_leaves_nothing_behind(tmp_path, weights, caplog, monkeypatch, where):
    bag = write_bag(tmp_path / 'in', mono_records())
    output = tmp_path / 'out'
    if where == 'inference':
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(StereoDiffPipeline, 'run', interrupted)
    else:  # after the output bag was opened and half of it written
        write = stereodiff_bag.image_message
        calls = []

        def interrupted_write(*args):
            calls.append(1)
            if len(calls) == 3:
                assert (tmp_path / 'out.partial').exists()
                raise KeyboardInterrupt
            return write(*args)
        monkeypatch.setattr(stereodiff_bag, 'image_message', interrupted_write)
    expect_failure(stereodiff_args(bag, output, weights), [bag], output, caplog,
                   'interrupted', code=130)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']
