# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""sav_node as users run it: a separate process, config/sav.yaml, real DDS on loopback.

Each test starts its own node in its own namespace (conftest.py keeps DDS on loopback in a
per-run domain), streams synthetic stereo with exact ground truth, and reads what comes back.
"""
import itertools
from pathlib import Path
import time
import uuid

import numpy as np
import pytest
import rclpy

from stereo_any_video_ros.conversions import cloud_to_array, fill_image, image_to_array
from stereo_any_video_ros.demo import (
    camera_info_msg, disparity_array, lossless_qos_overrides, OUTPUT_TOPICS, rig_calibrations,
    start_sav_node, StereoStreamClient, stop_process)
from stereo_any_video_ros.synthetic import StereoRig, SyntheticScene

RIG = StereoRig(320, 240, fx=200.0, baseline=0.12)
FRAME_ID = 'left_camera_optical_frame'
ALL_OUTPUTS = tuple(OUTPUT_TOPICS)


@pytest.fixture(scope='module')
def ros():
    rclpy.init()
    yield
    rclpy.try_shutdown()


@pytest.fixture(scope='module')
def scene():
    return SyntheticScene(RIG, seed=3)


class NodeUnderTest:
    """A sav_node process, a client in its namespace, and the node's log."""

    def __init__(self, log: Path, extra_parameters=None):
        self.namespace = f'/itest_{uuid.uuid4().hex[:8]}'
        self.log = log
        self.process = start_sav_node(
            self.namespace,
            {**lossless_qos_overrides(self.namespace), 'device': 'cpu',
             **(extra_parameters or {})}, log)
        self.client = StereoStreamClient(self.namespace)
        self._stamps = itertools.count(1_000)
        left, right = rig_calibrations(RIG)
        self.left_info = camera_info_msg(left, FRAME_ID)
        self.right_info = camera_info_msg(right, FRAME_ID)
        assert self.client.wait_for_node(30.0, ALL_OUTPUTS), self.log_text()

    def next_stamp(self) -> int:
        return next(self._stamps) * 100_000_000  # 10 Hz

    def send(self, frame, stamp=None, infos=True, **kwargs) -> int:
        stamp = self.next_stamp() if stamp is None else stamp
        if infos:
            self.client.publish_infos(self.left_info, self.right_info, stamp)
        self.client.publish_pair(frame.left, frame.right, stamp, **kwargs)
        self.client.spin_for(0.05)
        return stamp

    def wait_outputs(self, stamp: int, kinds=ALL_OUTPUTS, timeout: float = 15.0) -> dict:
        assert self.client.wait_until(lambda: self.client.has(stamp, kinds), timeout), (
            f'no {kinds} for stamp {stamp}; node log:\n{self.log_text()}')
        return self.client.received[stamp].msgs

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ''

    def wait_log(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log_text()
            if text in log:
                return log
            self.client.spin_for(0.1)
        raise AssertionError(f'{text!r} never logged; node log:\n{self.log_text()}')

    def close(self) -> None:
        self.client.destroy_node()
        stop_process(self.process)


@pytest.fixture
def sav(ros, tmp_path):
    node = NodeUnderTest(tmp_path / 'sav_node.log')
    yield node
    node.close()


def test_outputs_match_ground_truth_and_conventions(sav, scene):
    sav.client.prime_infos(sav.left_info, sav.right_info)
    stamps = [sav.send(scene.frame(i)) for i in range(4)]
    msgs = sav.wait_outputs(stamps[-1])
    frame = scene.frame(3)
    sec, nanosec = divmod(stamps[-1], 10**9)

    for kind, msg in msgs.items():
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (sec, nanosec), kind
        assert msg.header.frame_id == FRAME_ID, kind

    disparity_msg = msgs['disparity']
    fb = RIG.fx * RIG.baseline
    assert disparity_msg.image.header == disparity_msg.header
    assert disparity_msg.image.encoding == '32FC1'
    assert (disparity_msg.image.width, disparity_msg.image.height) == (320, 240)
    assert disparity_msg.f == pytest.approx(RIG.fx)
    assert disparity_msg.t == pytest.approx(RIG.baseline)
    assert disparity_msg.min_disparity == pytest.approx(fb / 20.0)  # max_depth 20 m
    assert disparity_msg.max_disparity == pytest.approx(fb / 0.1)  # min_depth 0.1 m
    assert disparity_msg.delta_d == pytest.approx(0.0625)
    window = disparity_msg.valid_window
    # SGBM cannot match the leftmost num_disparities columns; the window says so.
    assert 40 <= window.x_offset <= 70 and window.width > 200
    assert window.x_offset + window.width <= 320 and window.y_offset + window.height <= 240
    disparity = disparity_array(disparity_msg)
    assert np.nanmedian(np.abs(disparity - frame.disparity)) < 0.25

    depth_msg = msgs['depth']
    assert depth_msg.encoding == '32FC1' and depth_msg.step == 320 * 4
    depth = image_to_array(depth_msg)
    valid = np.isfinite(depth)
    assert valid.mean() > 0.6
    # Depth is f*t/d of the published disparity, pixel for pixel...
    np.testing.assert_allclose(depth[valid] * disparity[valid], fb, rtol=1e-5)
    assert np.isnan(disparity[~valid]).all()
    # ...and metric: the ground truth in disparity space, and in metres where d is large
    # enough for SGBM's ~0.2 px noise to be a small fraction (the background is at d = 2.4).
    assert np.mean(np.abs(fb / depth[valid] - frame.disparity[valid]) < 1.0) > 0.9
    near = valid & (frame.depth < 4.0)
    assert near.sum() > 2000
    assert np.median(np.abs(depth[near] - frame.depth[near]) / frame.depth[near]) < 0.03

    info = msgs['depth_info']
    assert (info.width, info.height) == (320, 240)
    np.testing.assert_allclose(info.k, RIG.K_left.ravel())
    np.testing.assert_allclose(info.p, RIG.P_left.ravel())

    cloud_msg = msgs['points']
    assert [(f.name, f.offset, f.datatype, f.count) for f in cloud_msg.fields] == [
        ('x', 0, 7, 1), ('y', 4, 7, 1), ('z', 8, 7, 1), ('rgb', 16, 7, 1)]
    assert (cloud_msg.height, cloud_msg.width, cloud_msg.point_step) == (240, 320, 32)
    assert cloud_msg.row_step == 320 * 32 and not cloud_msg.is_dense
    points = cloud_to_array(cloud_msg)
    v, u = 150, 200
    z = depth[v, u]
    assert np.isfinite(z)
    np.testing.assert_allclose(
        [points['x'][v, u], points['y'][v, u], points['z'][v, u]],
        [(u - RIG.cx_left) * z / RIG.fx, (v - RIG.cy_left) * z / RIG.fx, z], rtol=1e-5)
    rgb = points['rgb'][v, u:u + 1].view(np.uint32)[0]
    assert [(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255] == list(frame.left[v, u])
    assert np.isnan(points['z'][~valid]).all()
    assert sav.process.poll() is None


def _assert_recovers(sav, scene, index=0):
    stamp = sav.send(scene.frame(index))
    sav.wait_outputs(stamp, ('disparity',))
    sav.wait_log('recovered after')
    assert sav.process.poll() is None


def test_missing_camera_info_is_reported_then_recovered(sav, scene):
    sav.send(scene.frame(0), infos=False)
    log = sav.wait_log('no camera_info received on')
    assert f'{sav.namespace}/left/camera_info' in log
    sav.client.prime_infos(sav.left_info, sav.right_info)
    _assert_recovers(sav, scene)


def test_wrong_encoding_is_reported_then_recovered(sav, scene):
    sav.client.prime_infos(sav.left_info, sav.right_info)
    float_image = np.zeros((240, 320), np.float32)
    sav.client.publish_infos(sav.left_info, sav.right_info, 0)
    stamp = sav.next_stamp()
    sav.client.publish_pair(float_image, float_image, stamp, encoding='32FC1')
    sav.wait_log("encoding '32FC1' is not a stereo input")
    _assert_recovers(sav, scene)


def test_mismatched_sizes_are_reported_then_recovered(sav, scene):
    sav.client.prime_infos(sav.left_info, sav.right_info)
    frame = scene.frame(0)
    stamp = sav.next_stamp()
    sav.client.publish_pair(frame.left, np.ascontiguousarray(frame.right[:120, :160]), stamp)
    sav.wait_log('left image is 320x240 but right image is 160x120')
    _assert_recovers(sav, scene)


@pytest.mark.parametrize('broken, message', [
    ('uncalibrated', 'is uncalibrated'),
    ('negative_baseline', 'is not positive'),
])
def test_invalid_camera_info_is_reported_then_recovered(sav, scene, broken, message):
    good_left, good_right = sav.left_info, sav.right_info
    if broken == 'uncalibrated':
        sav.left_info = camera_info_msg(rig_calibrations(RIG)[0], FRAME_ID)
        sav.left_info.k = [0.0] * 9
        sav.left_info.p = [0.0] * 12
    else:
        sav.right_info = camera_info_msg(rig_calibrations(RIG)[1], FRAME_ID)
        sav.right_info.p[3] = abs(sav.right_info.p[3])
    sav.client.prime_infos(sav.left_info, sav.right_info)
    sav.send(scene.frame(0))
    sav.wait_log(message)
    sav.left_info, sav.right_info = good_left, good_right
    sav.client.prime_infos(sav.left_info, sav.right_info)
    _assert_recovers(sav, scene)


def test_stamps_going_backwards_restart_the_stream(sav, scene):
    sav.client.prime_infos(sav.left_info, sav.right_info)
    late = [sav.send(scene.frame(i)) for i in range(3)]
    sav.wait_outputs(late[-1], ('disparity',))
    early = late[0] - 10**9
    sav.send(scene.frame(3), stamp=early)
    sav.wait_log('stamp went backwards')
    # A bag that loops keeps going from its new, earlier time.
    stamp = sav.send(scene.frame(4), stamp=early + 10**8)
    sav.wait_outputs(stamp, ('disparity',))
    sav.wait_log('recovered after')
    assert sav.process.poll() is None


def test_diagnostics_report_rates_and_drops(sav, scene):
    from diagnostic_msgs.msg import DiagnosticArray
    statuses = []
    sav.client.create_subscription(DiagnosticArray, '/diagnostics',
                                   lambda msg: statuses.extend(msg.status), 10)
    sav.client.prime_infos(sav.left_info, sav.right_info)
    stamps = [sav.send(scene.frame(i)) for i in range(5)]
    sav.wait_outputs(stamps[-1], ('disparity',))
    ours = f'{sav.namespace}/sav_node: stereo depth'
    assert sav.client.wait_until(
        lambda: any(s.name == ours and dict((kv.key, kv.value) for kv in s.values)
                    .get('synchronized pairs') == '5' for s in statuses), 5.0)
    values = {kv.key: kv.value for kv in [s for s in statuses if s.name == ours][-1].values}
    assert float(values['latency p50 (ms)']) > 0
    assert float(values['output frames (Hz)']) > 0
    assert values['sync dropped left'] == '0' and values['worker queue dropped'] == '0'


def test_unsynchronized_inputs_warn_with_counts(sav, scene):
    sav.client.prime_infos(sav.left_info, sav.right_info)
    frame = scene.frame(0)
    for _ in range(8):  # right stamps 1 ms late: never an exact match
        stamp = sav.next_stamp()
        for side, image, side_stamp in (('left', frame.left, stamp),
                                        ('right', frame.right, stamp + 1_000_000)):
            msg = fill_image(sav.client.image_pubs[side].msg_type(), image, 'rgb8')
            msg.header.frame_id = FRAME_ID
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(side_stamp, 10**9)
            sav.client.image_pubs[side].publish(msg)
        sav.client.spin_for(0.05)
    log = sav.wait_log('do not appear to be synchronized')
    assert 'synchronized pairs 0' in log and 'approximate_sync' in log
    assert sav.process.poll() is None


# --- backend: sav, on a checkpoint written by our own saver ---------------------------------

SAV_PARAMETERS = {'backend': 'sav', 'precision': 'fp32', 'clip_length': 2, 'sav.iters': 4,
                  'inference_width': 128, 'inference_height': 64}


@pytest.fixture(scope='module')
def sav_checkpoint(tmp_path_factory):
    from stereo_any_video_ros.models.checkpoint import save_sav_weights
    from stereo_any_video_ros.models.stereoanyvideo.stereoanyvideo import StereoAnyVideo
    from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
    return save_sav_weights(fill_synthetic(StereoAnyVideo()),
                            tmp_path_factory.mktemp('weights') / 'sav.pth')


def test_sav_backend_publishes_what_the_engine_computes(ros, scene, sav_checkpoint, tmp_path):
    from stereo_any_video_ros.backends import create_backend
    from stereo_any_video_ros.calibration import PinholeInfo, stereo_calibration
    from stereo_any_video_ros.clip import ClipBuffer, ClipFrame
    from stereo_any_video_ros.params import NodeConfig
    from stereo_any_video_ros.processing import StereoProcessor

    parameters = {**SAV_PARAMETERS, 'checkpoint': str(sav_checkpoint)}
    node = NodeUnderTest(tmp_path / 'sav_node.log', parameters)
    try:
        assert 'sav warmed up' in node.log_text()
        node.client.prime_infos(node.left_info, node.right_info)
        stamps = [node.send(scene.frame(i)) for i in range(3)]
        msgs = node.wait_outputs(stamps[-1], timeout=120.0)
    finally:
        node.close()

    # The same clips through the same processor, in this process.
    config = NodeConfig.from_values({**parameters, 'device': 'cpu'})
    backend = create_backend('sav', config.backend_options(), 'cpu', 'fp32')
    processor = StereoProcessor(backend, config)
    calibration = stereo_calibration(*(PinholeInfo.from_msg(camera_info_msg(side, FRAME_ID))
                                       for side in rig_calibrations(RIG)))
    clips = ClipBuffer(2)
    for i, stamp in enumerate(stamps):
        frame = scene.frame(i)
        due, _ = clips.push(ClipFrame(stamp, frame.left, frame.right, FRAME_ID, calibration))
    expected = processor.process(due[0])[0]

    disparity = image_to_array(msgs['disparity'].image)
    assert disparity.shape == (240, 320)  # output_resolution: input
    np.testing.assert_allclose(disparity, expected.disparity, rtol=1e-4, atol=1e-4)
    assert np.isfinite(image_to_array(msgs['depth'])).mean() > 0.5


def test_sav_backend_without_checkpoint_file_exits_with_where_to_get_it(ros, tmp_path):
    log = tmp_path / 'sav_node.log'
    process = start_sav_node('/itest_missing', {
        **SAV_PARAMETERS, 'device': 'cpu', 'checkpoint': str(tmp_path / 'absent.pth')}, log)
    try:
        assert process.wait(timeout=120) == 1
    finally:
        stop_process(process)
    text = log.read_text()
    assert 'cannot start' in text and 'absent.pth' in text and 'drive.google.com' in text
