# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The main job: run the real sav_node process on a stereo sequence over DDS and score it.

By default the sequence is synthetic, with exact ground truth; `--left/--right` with
`--left-info/--right-info` (camera_calibration YAML of the *rectified* cameras) use real
frames. Prints EPE, TEPE, bad-1px (Stereo Any Video's definitions) and density when there is
ground truth, output rate and latency, and writes left | disparity | depth PNGs.

`StereoStreamClient` and `start_sav_node` are also what the integration test and the
benchmark use, so all three drive the node exactly the same way.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import logging
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from stereo_any_video_ros.camera_yaml import CameraCalibration, load_camera_yaml
from stereo_any_video_ros.conversions import fill_image, image_to_array, to_rgb8
from stereo_any_video_ros.evaluation.stereo_metrics import stereo_video_metrics
from stereo_any_video_ros.synthetic import StereoRig, SyntheticScene
from stereo_msgs.msg import DisparityImage

LOG = logging.getLogger('sav_demo')
PACKAGE = 'stereo_any_video_ros'
OUTPUT_TOPICS = {
    'disparity': DisparityImage,
    'depth': Image,
    'depth_info': CameraInfo,
    'points': PointCloud2,
}
_OUTPUT_NAMES = {'disparity': 'disparity', 'depth': 'depth/image_rect',
                 'depth_info': 'depth/camera_info', 'points': 'points2'}


def config_file(name: str) -> Path:
    """A file of config/, from the source tree or, in a ROS install, the package share."""
    source = Path(__file__).resolve().parent.parent / 'config' / name
    if source.exists():
        return source
    from ament_index_python.packages import get_package_share_directory
    return Path(get_package_share_directory(PACKAGE)) / 'config' / name


def start_sav_node(namespace: str, parameters: Dict[str, str], log_path: Optional[Path] = None,
                   params_file: Optional[Path] = None) -> subprocess.Popen:
    """Start sav_node in its own process, the way the launch file would."""
    command = [sys.executable, '-m', f'{PACKAGE}.sav_node', '--ros-args',
               '--params-file', str(params_file or config_file('sav.yaml')),
               '-r', f'__ns:={namespace}']
    for name, value in parameters.items():
        command += ['-p', f'{name}:={value}']
    output = open(log_path, 'w') if log_path else subprocess.DEVNULL
    return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PYTHONUNBUFFERED='1'))


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT, as Ctrl-C or launch would, then kill if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def lossless_qos_overrides(namespace: str, depth: int = 5) -> Dict[str, str]:
    """sav_node QoS overrides for offline-style streaming: nothing may be dropped.

    The node's defaults suit a live camera (best-effort inputs, latest-only outputs). A demo
    or test that scores every frame wants reliable inputs, as from a bag, and a few frames of
    output history, which is what users set through these same parameters.
    """
    overrides = {}
    for side in ('left', 'right'):
        for topic in ('image_rect', 'camera_info'):
            overrides[f'qos_overrides.{namespace}/{side}/{topic}.subscription.reliability'] = \
                'reliable'
    for topic in _OUTPUT_NAMES.values():
        overrides[f'qos_overrides.{namespace}/{topic}.publisher.depth'] = str(depth)
    return overrides


def camera_info_msg(calibration: CameraCalibration, frame_id: str) -> CameraInfo:
    msg = CameraInfo(width=calibration.width, height=calibration.height,
                     distortion_model=calibration.distortion_model,
                     d=[float(v) for v in calibration.D], k=calibration.K.ravel().tolist(),
                     r=calibration.R.ravel().tolist(), p=calibration.P.ravel().tolist())
    msg.header.frame_id = frame_id
    return msg


def rig_calibrations(rig: StereoRig) -> Tuple[CameraCalibration, CameraCalibration]:
    """camera_calibration-style left/right calibrations of a synthetic rig."""
    return tuple(CameraCalibration(rig.width, rig.height, name, k, np.zeros(5), np.eye(3), p)
                 for name, k, p in (('left', rig.K_left, rig.P_left),
                                    ('right', rig.K_right, rig.P_right)))


@dataclass
class Received:
    """Outputs for one stamp, and when they arrived (time.monotonic)."""

    msgs: Dict[str, object]
    arrival: Dict[str, float]


class StereoStreamClient(Node):
    """Publishes a rectified stereo stream into a namespace and collects sav_node's outputs."""

    def __init__(self, namespace: str, name: str = 'sav_stream_client'):
        super().__init__(name, namespace=namespace)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.image_pubs = {side: self.create_publisher(Image, f'{side}/image_rect', reliable)
                           for side in ('left', 'right')}
        self.info_pubs = {side: self.create_publisher(CameraInfo, f'{side}/camera_info',
                                                      reliable)
                          for side in ('left', 'right')}
        self.received: Dict[int, Received] = {}
        self.sent: Dict[int, float] = {}
        for kind, msg_type in OUTPUT_TOPICS.items():
            self.create_subscription(msg_type, _OUTPUT_NAMES[kind],
                                     lambda msg, kind=kind: self._on_output(kind, msg), reliable)

    def _on_output(self, kind: str, msg: object) -> None:
        stamp = msg.header.stamp
        entry = self.received.setdefault(stamp.sec * 10**9 + stamp.nanosec, Received({}, {}))
        entry.msgs[kind] = msg
        entry.arrival[kind] = time.monotonic()

    def spin_for(self, seconds: float) -> None:
        import rclpy
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=min(0.02, max(deadline - time.monotonic(), 0)))

    def wait_until(self, condition, timeout: float) -> bool:
        """Spin until condition() holds or the timeout passes."""
        import rclpy
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            rclpy.spin_once(self, timeout_sec=0.02)
        return True

    def wait_for_node(self, timeout: float = 20.0, kinds: Sequence[str] = ('disparity',)
                      ) -> bool:
        """Wait until sav_node subscribes our inputs and publishes the given outputs."""
        def connected() -> bool:
            inputs = all(pub.get_subscription_count() > 0
                         for pub in [*self.image_pubs.values(), *self.info_pubs.values()])
            outputs = all(self.count_publishers(self.resolve_topic_name(_OUTPUT_NAMES[kind])) > 0
                          for kind in kinds)
            return inputs and outputs
        return self.wait_until(connected, timeout)

    def publish_infos(self, left: CameraInfo, right: CameraInfo, stamp_ns: int) -> None:
        for side, info in (('left', left), ('right', right)):
            info.header.stamp.sec, info.header.stamp.nanosec = divmod(stamp_ns, 10**9)
            self.info_pubs[side].publish(info)

    def prime_infos(self, left: CameraInfo, right: CameraInfo, seconds: float = 1.0) -> None:
        """Publish camera_info for a while first: discovery matches each reader on its own
        schedule, and an image that arrives before its camera_info is rejected."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.publish_infos(left, right, 0)
            self.spin_for(0.05)

    def publish_pair(self, left: np.ndarray, right: np.ndarray, stamp_ns: int,
                     frame_id: str = 'left_camera_optical_frame', encoding: str = 'rgb8',
                     right_frame_id: Optional[str] = None) -> None:
        """Publish one pair of images (already in `encoding`) with one stamp."""
        for side, pixels, side_frame in (('left', left, frame_id),
                                         ('right', right, right_frame_id or frame_id)):
            msg = fill_image(Image(), pixels, encoding)
            msg.header.frame_id = side_frame
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
            self.image_pubs[side].publish(msg)
        self.sent[stamp_ns] = time.monotonic()

    def has(self, stamp_ns: int, kinds: Sequence[str]) -> bool:
        entry = self.received.get(stamp_ns)
        return entry is not None and all(kind in entry.msgs for kind in kinds)


def disparity_array(msg: DisparityImage) -> np.ndarray:
    """Disparity in pixels with NaN for invalid (0 or below min_disparity)."""
    disparity = image_to_array(msg.image).astype(np.float32)
    with np.errstate(invalid='ignore'):
        disparity[~(disparity >= msg.min_disparity)] = np.nan
    return disparity


def colourise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Turbo colour map (BGR), black where invalid."""
    scaled = np.clip((np.nan_to_num(values, nan=low) - low) / max(high - low, 1e-6), 0, 1)
    image = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    image[~np.isfinite(values)] = 0
    return image


@dataclass
class StereoSequence:
    """Frames to publish, their calibrations and, if known, ground-truth disparity."""

    frames: Iterator[Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]]
    left: CameraCalibration
    right: CameraCalibration
    count: int


def synthetic_sequence(width: int, height: int, count: int, seed: int) -> StereoSequence:
    rig = StereoRig(width, height, fx=400.0 * width / 640, baseline=0.12)
    scene = SyntheticScene(rig, seed=seed)
    left, right = rig_calibrations(rig)

    def frames():
        for frame in scene.frames(count):
            yield frame.left, frame.right, frame.disparity - np.float32(rig.disparity_offset)
    return StereoSequence(frames(), left, right, count)


def folder_sequence(left_dir: Path, right_dir: Path, left_info: Path, right_info: Path,
                    count: int) -> StereoSequence:
    lefts = sorted(p for p in left_dir.iterdir() if p.suffix.lower() in ('.png', '.jpg'))
    rights = sorted(p for p in right_dir.iterdir() if p.suffix.lower() in ('.png', '.jpg'))
    if not lefts or len(lefts) != len(rights):
        raise SystemExit(f'need the same non-zero number of images in {left_dir} '
                         f'({len(lefts)}) and {right_dir} ({len(rights)})')
    pairs = list(zip(lefts, rights))[:count or None]

    def read(path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise SystemExit(f'cannot read image {path}')
        if image.ndim == 2:
            encoding = 'mono16' if image.dtype == np.uint16 else 'mono8'
        else:
            encoding = 'bgr8' if image.shape[2] == 3 else 'bgra8'
        return to_rgb8(image, encoding)

    def frames():
        for left_path, right_path in pairs:
            yield read(left_path), read(right_path), None
    return StereoSequence(frames(), load_camera_yaml(left_info),
                          load_camera_yaml(right_info), len(pairs))


def run(sequence: StereoSequence, output: Path, rate_hz: float, node_parameters: Dict[str, str],
        namespace: str = '/sav_demo') -> Dict[str, float]:
    """Stream the sequence through a real sav_node process; return the figures it prints."""
    import rclpy
    output.mkdir(parents=True, exist_ok=True)
    node_log = output / 'sav_node.log'
    process = start_sav_node(
        namespace, {**lossless_qos_overrides(namespace), **node_parameters}, node_log)
    rclpy.init()
    client = StereoStreamClient(namespace, 'sav_demo_client')
    figures: Dict[str, float] = {}
    try:
        if not client.wait_for_node(30.0, kinds=tuple(OUTPUT_TOPICS)):
            raise SystemExit(f'sav_node did not come up; see {node_log}')
        left_info = camera_info_msg(sequence.left, 'left_camera_optical_frame')
        right_info = camera_info_msg(sequence.right, 'left_camera_optical_frame')
        client.prime_infos(left_info, right_info)
        stamps: List[int] = []
        truth: Dict[int, np.ndarray] = {}
        images: Dict[int, np.ndarray] = {}
        period = 1.0 / rate_hz
        start_ns = 1_700_000_000 * 10**9
        for index, (left, right, gt) in enumerate(sequence.frames):
            stamp = start_ns + int(index * period * 1e9)
            tick = time.monotonic()
            client.publish_infos(left_info, right_info, stamp)
            client.publish_pair(left, right, stamp)
            stamps.append(stamp)
            images[stamp] = left
            if gt is not None:
                truth[stamp] = gt
            client.spin_for(max(period - (time.monotonic() - tick), 0.0))
        client.wait_until(lambda: all(client.has(s, ('disparity',)) for s in stamps), 10.0)
        figures = summarise(client, stamps, truth)
        write_pngs(client, stamps, images, output)
    finally:
        client.destroy_node()
        rclpy.try_shutdown()
        stop_process(process)
    return figures


def summarise(client: StereoStreamClient, stamps: List[int], truth: Dict[int, np.ndarray]
              ) -> Dict[str, float]:
    done = [s for s in stamps if client.has(s, ('disparity',))]
    figures: Dict[str, float] = {'frames sent': len(stamps), 'frames received': len(done)}
    if len(done) >= 2:
        arrivals = sorted(client.received[s].arrival['disparity'] for s in done)
        figures['output rate (Hz)'] = (len(done) - 1) / (arrivals[-1] - arrivals[0])
        latencies = [(client.received[s].arrival['disparity'] - client.sent[s]) * 1e3
                     for s in done]
        figures['latency p50 (ms)'] = float(np.percentile(latencies, 50))
        figures['latency p95 (ms)'] = float(np.percentile(latencies, 95))
    scored = [s for s in done if s in truth]
    if scored:
        predictions = np.stack([disparity_array(client.received[s].msgs['disparity'])
                                for s in scored])
        gts = np.stack([truth[s] for s in scored])
        # SAV's definitions: means over non-zero errors, a pixel without an estimate
        # counts as disparity 0 (density tells how many there were).
        metrics = stereo_video_metrics(predictions, gts)
        figures['EPE (px)'] = metrics['epe']
        figures['bad-1px (%)'] = metrics['epe_bad_1px']
        figures['density (%)'] = 100 * metrics['density']
        if 'tepe' in metrics:
            figures['TEPE (px)'] = metrics['tepe']
    return figures


def write_pngs(client: StereoStreamClient, stamps: List[int], images: Dict[int, np.ndarray],
               output: Path) -> None:
    for index, stamp in enumerate(stamps):
        entry = client.received.get(stamp)
        if entry is None or not {'disparity', 'depth'} <= entry.msgs.keys():
            continue
        disparity_msg = entry.msgs['disparity']
        disparity = disparity_array(disparity_msg)
        depth = image_to_array(entry.msgs['depth']).astype(np.float32)
        if entry.msgs['depth'].encoding == '16UC1':
            depth = np.where(depth > 0, depth / 1000.0, np.nan)
        finite_depth = depth[np.isfinite(depth)]
        panel = np.hstack([
            cv2.cvtColor(images[stamp], cv2.COLOR_RGB2BGR),
            colourise(disparity, disparity_msg.min_disparity,
                      np.nanmax(disparity) if np.isfinite(disparity).any() else 1.0),
            colourise(-depth, -(np.percentile(finite_depth, 98) if finite_depth.size else 1.0),
                      -(finite_depth.min() if finite_depth.size else 0.0)),
        ])
        cv2.imwrite(str(output / f'frame_{index:04d}.png'), panel)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--left', type=Path, help='folder of rectified left images')
    parser.add_argument('--right', type=Path, help='folder of rectified right images')
    parser.add_argument('--left-info', type=Path, help='left camera_calibration YAML')
    parser.add_argument('--right-info', type=Path, help='right camera_calibration YAML')
    parser.add_argument('--frames', type=int, default=40, help='frames to stream (0 = all)')
    parser.add_argument('--width', type=int, default=640, help='synthetic image width')
    parser.add_argument('--height', type=int, default=480, help='synthetic image height')
    parser.add_argument('--seed', type=int, default=0, help='synthetic scene seed')
    parser.add_argument('--rate', type=float, default=10.0, help='publish rate (Hz)')
    parser.add_argument('--output', type=Path, default=Path('demo_output'))
    parser.add_argument('-p', '--param', action='append', default=[], metavar='NAME:=VALUE',
                        help='extra sav_node parameter, e.g. -p backend:=sgbm')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    real = [args.left, args.right, args.left_info, args.right_info]
    if any(real) and not all(real):
        parser.error('real frames need --left, --right, --left-info and --right-info')
    sequence = folder_sequence(*real, args.frames) if all(real) else \
        synthetic_sequence(args.width, args.height, args.frames, args.seed)
    parameters = {'device': 'cpu'}
    for item in args.param:
        name, _, value = item.partition(':=')
        parameters[name] = value
    LOG.info('streaming %d stereo pairs at %.1f Hz through sav_node (%s) ...', sequence.count,
             args.rate, ', '.join(f'{k}={v}' for k, v in parameters.items()))
    figures = run(sequence, args.output, args.rate, parameters)
    for name, value in figures.items():
        LOG.info('%-20s %s', name, f'{value:.3f}' if isinstance(value, float) else value)
    LOG.info('PNGs (left | disparity | depth) and the node log are in %s/', args.output)
    return 0 if figures.get('frames received') else 1


if __name__ == '__main__':
    sys.exit(main())
