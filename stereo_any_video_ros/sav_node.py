# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""sav_node: rectified stereo in, DisparityImage, metric depth and PointCloud2 out.

The node owns parameters, QoS, threads and messages; the numeric path is the ROS-free
`StereoProcessor`. Subscription callbacks only pair images and enqueue them; one worker thread
converts, buffers clips, runs the backend and publishes, so a slow backend never blocks the
executor and drops happen in one visible place.
"""
from __future__ import annotations

from collections import deque
import math
import sys
import threading
import time
from typing import Any, Deque, Dict, List, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np
from rcl_interfaces.msg import (
    FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult)
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy)
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from stereo_any_video_ros.backends import create_backend
from stereo_any_video_ros.calibration import (
    CalibrationError, check_pair_size, PinholeInfo, stereo_calibration, StereoCalibration)
from stereo_any_video_ros.clip import ClipBuffer, ClipFrame
from stereo_any_video_ros.conversions import compressed_to_rgb8, image_to_rgb8, ImageFormatError
from stereo_any_video_ros.messages import camera_info_msg, cloud_msg, depth_msg, disparity_msg
from stereo_any_video_ros.params import ConfigError, NodeConfig, PARAMETERS, ParamSpec
from stereo_any_video_ros.processing import FrameResult, StereoProcessor
from stereo_any_video_ros.sync import StereoPair, StereoSynchronizer, TimeJumpError
from stereo_msgs.msg import DisparityImage

_OUTPUT_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.VOLATILE)
_INPUT_ERRORS = (CalibrationError, ImageFormatError)
_STATS_WINDOW_S = 10.0


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(name=spec.name, description=spec.description,
                                     read_only=not spec.dynamic)
    if spec.choices:
        descriptor.additional_constraints = 'one of: ' + ', '.join(spec.choices)
    if spec.range is not None:
        low, high, step = spec.range
        if isinstance(spec.default, int):
            descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high),
                                                     step=int(step))]
        else:
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=float(low), to_value=float(high), step=float(step))]
    return descriptor


class _RateWindow:
    """Event times (and optional values) over the last few seconds, for diagnostics."""

    def __init__(self, window_s: float = _STATS_WINDOW_S):
        self._window_s = window_s
        self._events: Deque[Tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def add(self, value: float = 0.0) -> None:
        with self._lock:
            self._events.append((time.monotonic(), value))

    def _recent(self) -> List[Tuple[float, float]]:
        now = time.monotonic()
        with self._lock:
            while self._events and self._events[0][0] < now - self._window_s:
                self._events.popleft()
            return list(self._events)

    def rate(self) -> float:
        events = self._recent()
        if len(events) < 2:
            return 0.0
        return (len(events) - 1) / max(events[-1][0] - events[0][0], 1e-9)

    def percentile(self, q: float) -> float:
        values = [value for _, value in self._recent()]
        return float(np.percentile(values, q)) if values else math.nan


class SavNode(Node):
    """Stereo depth node; see ros2-conventions.md §2 for its interface contract."""

    def __init__(self, **kwargs: Any):
        super().__init__('sav_node', **kwargs)
        for spec in PARAMETERS.values():
            self.declare_parameter(spec.name, spec.default, _descriptor(spec))
        values = {name: self.get_parameter(name).value for name in PARAMETERS}
        self.config = NodeConfig.from_values(values)
        config = self.config

        backend = create_backend(config.backend, config.backend_options(), config.device,
                                 config.precision)
        if config.backend == 'sgbm':
            self.get_logger().info('sgbm runs on the CPU; device and precision apply to '
                                   'neural backends only.')
        self._processor = StereoProcessor(backend, config)
        clip_length = config.clip_length or backend.default_clip_length
        self._clips = ClipBuffer(clip_length, config.clip_stride, config.warmup,
                                 int(config.max_frame_gap_seconds * 1e9),
                                 config.output_delay_frames)
        start = time.monotonic()
        # The real image size is unknown until data arrives; the inference size, when set,
        # also lets the backend pick its kernels for it.
        backend.warmup(config.inference_height or 64, config.inference_width or 64,
                       clip_length if config.inference_width else min(clip_length, 2))
        self.get_logger().info(f'{config.backend} warmed up in {time.monotonic() - start:.1f} s')
        self._sync: StereoSynchronizer = StereoSynchronizer(
            config.queue_size, config.approximate_sync,
            int(config.approximate_sync_tolerance_seconds * 1e9))

        self._infos: Dict[str, Optional[PinholeInfo]] = {'left': None, 'right': None}
        self._calibration: Optional[StereoCalibration] = None
        self._calibration_error: Optional[str] = None

        # Worker queue: bounded, drop-oldest.
        self._pending: Deque[Tuple[StereoPair, Optional[StereoCalibration], float]] = deque()
        self._pending_dropped = 0
        self._wake = threading.Condition()
        self._stopping = False

        self._problem: Optional[str] = None
        self._problem_lock = threading.Lock()
        self._rejected_since_problem = 0
        self._last_cloud_stamp_ns: Optional[int] = None
        self._input_rate = _RateWindow()
        self._output_rate = _RateWindow()
        self._latency_ms = _RateWindow()
        self._backend_ms = _RateWindow()
        self._last_sync_drops = 0

        overrides = QoSOverridingOptions.with_default_policies()
        compressed = config.image_transport == 'compressed'
        self._image_subs: Dict[str, Any] = {}
        self._info_subs: Dict[str, Any] = {}
        for side in ('left', 'right'):
            self._image_subs[side] = self.create_subscription(
                CompressedImage if compressed else Image,
                f'{side}/image_rect/compressed' if compressed else f'{side}/image_rect',
                lambda msg, side=side: self._on_image(side, msg), qos_profile_sensor_data,
                qos_overriding_options=overrides)
            self._info_subs[side] = self.create_subscription(
                CameraInfo, f'{side}/camera_info', lambda msg, side=side: self._on_info(side, msg),
                qos_profile_sensor_data, qos_overriding_options=overrides)
        self._to_rgb = compressed_to_rgb8 if compressed else image_to_rgb8

        def publisher(enabled: bool, msg_type: Any, topic: str) -> Any:
            if not enabled:
                return None
            return self.create_publisher(msg_type, topic, _OUTPUT_QOS,
                                         qos_overriding_options=overrides)

        self._disparity_pub = publisher(config.publish_disparity, DisparityImage, 'disparity')
        self._depth_pub = publisher(config.publish_depth, Image, 'depth/image_rect')
        self._depth_info_pub = publisher(config.publish_depth, CameraInfo, 'depth/camera_info')
        self._cloud_pub = publisher(config.publish_point_cloud, PointCloud2, 'points2')
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_timer(1.0, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self._worker = threading.Thread(target=self._work, name='sav_worker', daemon=True)
        self._worker.start()
        self.get_logger().info(
            f'sav_node ready: backend {config.backend}, clip {clip_length} frames every '
            f'{config.clip_stride}, output delay {config.output_delay_frames}, '
            f'{"approximate" if config.approximate_sync else "exact"} '
            f'sync, inputs {self._image_subs["left"].topic_name} and '
            f'{self._image_subs["right"].topic_name}')

    # ---- executor thread: cheap callbacks only ----

    def _on_info(self, side: str, msg: CameraInfo) -> None:
        info = PinholeInfo.from_msg(msg)
        if info == self._infos[side]:
            return
        self._infos[side] = info
        left, right = self._infos['left'], self._infos['right']
        if left is None or right is None:
            return
        try:
            calibration = stereo_calibration(left, right, self.config.baseline_override)
        except CalibrationError as error:
            self._calibration, self._calibration_error = None, str(error)
            return
        for warning in calibration.warnings:
            self.get_logger().warning(warning, once=True)
        self._calibration, self._calibration_error = calibration, None
        self.get_logger().info(
            f'stereo calibration: {calibration.width}x{calibration.height}, '
            f'fx {calibration.fx:.2f} px, baseline {calibration.baseline:.4f} m, '
            f'cx_l - cx_r {calibration.cx_offset:.2f} px')

    def _on_image(self, side: str, msg: Any) -> None:
        stamp_ns = Time.from_msg(msg.header.stamp).nanoseconds
        try:
            pair = self._sync.add(side, stamp_ns, msg)
        except TimeJumpError as error:
            self._report_problem(str(error))
            return
        self._warn_if_unsynchronized()
        if pair is None:
            return
        self._input_rate.add()
        with self._wake:
            if len(self._pending) >= self.config.max_pending_pairs:
                self._pending.popleft()
                self._pending_dropped += 1
            self._pending.append((pair, self._calibration, time.monotonic()))
            self._wake.notify()

    def _warn_if_unsynchronized(self) -> None:
        stats = self._sync.stats
        drops = stats.dropped_left + stats.dropped_right
        if drops == self._last_sync_drops:
            return
        self._last_sync_drops = drops
        hint = ('stamps must be equal with approximate_sync: false; set approximate_sync: '
                'true for cameras without hardware sync' if not self.config.approximate_sync
                else 'raise approximate_sync_tolerance_seconds or queue_size')
        self.get_logger().warning(
            f'Topics {self._image_subs["left"].topic_name} and '
            f'{self._image_subs["right"].topic_name} do not appear to be synchronized. So far: '
            f'left {stats.received_left}, right {stats.received_right}, synchronized pairs '
            f'{stats.pairs}, dropped left {stats.dropped_left}, right {stats.dropped_right}. '
            f'Hint: {hint}.', throttle_duration_sec=10.0)

    def _on_set_parameters(self, parameters: List[Any]) -> SetParametersResult:
        changes = {p.name: p.value for p in parameters if p.name in PARAMETERS}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            config = self.config.replace(**changes)
        except ConfigError as error:
            return SetParametersResult(successful=False, reason=str(error))
        self.config = config
        self._processor.config = config
        return SetParametersResult(successful=True)

    # ---- worker thread ----

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                pair, calibration, received = self._pending.popleft()
            try:
                self._process(pair, calibration, received)
            except _INPUT_ERRORS as error:
                self._report_problem(str(error))
            except MemoryError as error:
                self._clips.reset()
                self._report_problem(f'out of memory while processing a clip ({error}); lower '
                                     'inference_width/inference_height or clip_length')
            except Exception as error:  # noqa: B902 - a bad frame must never stop the worker
                self._report_problem(f'{type(error).__name__}: {error}')

    def _process(self, pair: StereoPair, calibration: Optional[StereoCalibration],
                 received: float) -> None:
        if calibration is None:
            missing = ' and '.join(sub.topic_name for side, sub in self._info_subs.items()
                                   if self._infos[side] is None)
            raise CalibrationError(self._calibration_error or (
                f'no camera_info received on {missing} yet; publish the rectified '
                'camera_info of both cameras, or remap left/camera_info and right/camera_info'))
        left, right = self._to_rgb(pair.left), self._to_rgb(pair.right)
        check_pair_size(calibration, left.shape, right.shape)
        header = pair.left.header
        frame = ClipFrame(pair.left_stamp_ns, left, right, header.frame_id, calibration,
                          payload=(header, received))
        clips, reset_reason = self._clips.push(frame)
        if reset_reason is not None:
            self.get_logger().info(f'clip reset: {reset_reason}')
        self._clear_problem()
        want_disparity = self._has_subscribers(self._disparity_pub)
        want_depth = self._has_subscribers(self._depth_pub, self._depth_info_pub)
        want_cloud = self._has_subscribers(self._cloud_pub) and self._cloud_due(frame.stamp_ns)
        if not (want_disparity or want_depth or want_cloud):
            return
        for clip in clips:
            start = time.monotonic()
            results = self._processor.process(clip, want_depth, want_cloud)
            self._backend_ms.add((time.monotonic() - start) * 1e3)
            for result in results:
                self._publish(result, want_disparity, want_depth, want_cloud)

    def _cloud_due(self, stamp_ns: int) -> bool:
        rate = self.config.point_cloud_rate
        if rate <= 0.0 or self._last_cloud_stamp_ns is None:
            return True
        return stamp_ns - self._last_cloud_stamp_ns >= 1e9 / rate

    @staticmethod
    def _has_subscribers(*publishers: Any) -> bool:
        return any(pub is not None and pub.get_subscription_count() > 0 for pub in publishers)

    def _report_problem(self, message: str) -> None:
        """Log each distinct input problem once, as an error, until good data returns."""
        with self._problem_lock:
            if message == self._problem:
                self._rejected_since_problem += 1
                return
            self._problem, self._rejected_since_problem = message, 1
        self.get_logger().error(message)

    def _clear_problem(self) -> None:
        with self._problem_lock:
            problem, self._problem = self._problem, None
        if problem is not None:
            self.get_logger().info(f'recovered after {self._rejected_since_problem} rejected '
                                   f'pair(s); the last problem was: {problem}')

    def _publish(self, result: FrameResult, want_disparity: bool, want_depth: bool,
                 want_cloud: bool) -> None:
        header, received = result.frame.payload
        if self.config.frame_id:
            header = type(header)(stamp=header.stamp, frame_id=self.config.frame_id)
        if want_disparity:
            self._disparity_pub.publish(disparity_msg(result, header, self.config.delta_d))
        if want_depth:
            self._depth_pub.publish(depth_msg(result, header, self.config.depth_encoding))
            self._depth_info_pub.publish(camera_info_msg(result.calibration.left, header))
        if want_cloud:
            self._cloud_pub.publish(cloud_msg(result.cloud, header))
            self._last_cloud_stamp_ns = result.frame.stamp_ns
        self._output_rate.add()
        self._latency_ms.add((time.monotonic() - received) * 1e3)

    # ---- diagnostics ----

    def _publish_diagnostics(self) -> None:
        stats = self._sync.stats
        values = {
            'input pairs (Hz)': f'{self._input_rate.rate():.2f}',
            'output frames (Hz)': f'{self._output_rate.rate():.2f}',
            'latency p50 (ms)': f'{self._latency_ms.percentile(50):.1f}',
            'latency p95 (ms)': f'{self._latency_ms.percentile(95):.1f}',
            'backend per clip p50 (ms)': f'{self._backend_ms.percentile(50):.1f}',
            'received left': str(stats.received_left),
            'received right': str(stats.received_right),
            'synchronized pairs': str(stats.pairs),
            'sync dropped left': str(stats.dropped_left),
            'sync dropped right': str(stats.dropped_right),
            'worker queue dropped': str(self._pending_dropped),
            'clip resets': str(self._clips.resets),
            'problem': self._problem or '',
        }
        if self._problem is not None:
            level, message = DiagnosticStatus.ERROR, self._problem
        elif stats.dropped_left or stats.dropped_right or self._pending_dropped:
            level, message = DiagnosticStatus.WARN, 'dropping pairs'
        else:
            level, message = DiagnosticStatus.OK, 'ok'
        status = DiagnosticStatus(
            level=level, name=f'{self.get_fully_qualified_name()}: stereo depth',
            message=message, hardware_id=self.config.backend,
            values=[KeyValue(key=key, value=value) for key, value in values.items()])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)

    def destroy_node(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._worker.join(timeout=5.0)
        super().destroy_node()


def main(args: Optional[List[str]] = None) -> int:
    rclpy.init(args=args)
    try:
        node = SavNode()
    except ValueError as error:  # ConfigError, or a backend rejecting its options
        rclpy.logging.get_logger('sav_node').fatal(f'cannot start: {error}')
        rclpy.try_shutdown()
        return 1
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
