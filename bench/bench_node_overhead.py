# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Per-frame cost of sav_node's own work against the SGBM backend, side by side.

For each resolution, the same frames go through every stage the node runs, timed separately:
  SGBM       - the backend on the pair (what the overhead is compared with)
  convert    - two rgb8 Image messages -> (H, W, 3) arrays (image_to_rgb8)
  disp+depth - cx correction, ranges, depth; DisparityImage, depth Image and CameraInfo
               built and published to a subscriber in another process (real DDS)
  points2    - the point cloud on top: back-projection, packing, publishing
The node computes points2 only while someone subscribes, so both totals matter.
Run: `make bench` (or `make bench ARGS="--frames 50"`).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

from stereo_any_video_ros.backends.sgbm import SGBMBackend
from stereo_any_video_ros.calibration import PinholeInfo, stereo_calibration
from stereo_any_video_ros.clip import Clip, ClipFrame
from stereo_any_video_ros.conversions import fill_image, image_to_rgb8
from stereo_any_video_ros.messages import camera_info_msg, cloud_msg, depth_msg, disparity_msg
from stereo_any_video_ros.params import NodeConfig
from stereo_any_video_ros.processing import StereoProcessor
from stereo_any_video_ros.synthetic import StereoRig, SyntheticScene
from stereo_msgs.msg import DisparityImage

TOPICS = {'disparity': DisparityImage, 'depth/image_rect': Image,
          'depth/camera_info': CameraInfo, 'points2': PointCloud2}
_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)

SINK = """
import rclpy, time
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from stereo_msgs.msg import DisparityImage
rclpy.init()
node = Node('bench_sink', namespace='/bench')
qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
for topic, kind in {'disparity': DisparityImage, 'depth/image_rect': Image,
                     'depth/camera_info': CameraInfo, 'points2': PointCloud2}.items():
    node.create_subscription(kind, topic, lambda msg: None, qos)
rclpy.spin(node)
"""


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - start) * 1e3


def bench_resolution(node: Node, publishers: dict, width: int, height: int, frames: int
                     ) -> dict:
    rig = StereoRig(width, height, fx=400.0 * width / 640, baseline=0.12)
    scene = SyntheticScene(rig, seed=1)
    left = PinholeInfo(width, height, tuple(rig.K_left.ravel()), tuple(rig.P_left.ravel()), 'l')
    right = PinholeInfo(width, height, tuple(rig.K_right.ravel()), tuple(rig.P_right.ravel()),
                        'l')
    calibration = stereo_calibration(left, right)
    config = NodeConfig.from_values({'device': 'cpu'})
    backend = SGBMBackend(**config.backend_options())
    processor = StereoProcessor(backend, config)
    header = Header(frame_id='left_camera_optical_frame')
    times = {stage: [] for stage in ('convert', 'backend', 'images', 'cloud')}
    for index in range(frames + 1):  # the first frame warms caches and is not counted
        frame = scene.frame(index)
        msgs = [fill_image(Image(header=header), image, 'rgb8')
                for image in (frame.left, frame.right)]
        (left_rgb, right_rgb), t_convert = timed(lambda: [image_to_rgb8(m) for m in msgs])
        clip_frame = ClipFrame(index, left_rgb, right_rgb, 'l', calibration)
        (raw, _), t_backend = timed(processor.infer, Clip((clip_frame,), 1))

        def images():  # disparity, depth and depth/camera_info: geometry, pack, publish
            result = processor.finish(clip_frame, raw[0], want_depth=True, want_cloud=False)
            publishers['disparity'].publish(disparity_msg(result, header, config.delta_d))
            publishers['depth/image_rect'].publish(
                depth_msg(result, header, config.depth_encoding))
            publishers['depth/camera_info'].publish(camera_info_msg(calibration.left, header))
        _, t_images = timed(images)

        def cloud():  # points2 on top: the extra geometry, pack and publish
            result = processor.finish(clip_frame, raw[0], want_depth=False, want_cloud=True)
            publishers['points2'].publish(cloud_msg(result.cloud, header))
        _, t_cloud = timed(cloud)
        if index:
            for stage, value in zip(times, (t_convert, t_backend, t_images, t_cloud)):
                times[stage].append(value)
    return {stage: float(np.median(values)) for stage, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=20)
    parser.add_argument('--sizes', default='640x480,1280x720')
    args = parser.parse_args()
    sink = subprocess.Popen([sys.executable, '-c', SINK], env=dict(os.environ))
    rclpy.init()
    node = Node('bench_source', namespace='/bench')
    publishers = {topic: node.create_publisher(kind, topic, _QOS)
                  for topic, kind in TOPICS.items()}
    deadline = time.monotonic() + 30
    while any(p.get_subscription_count() == 0 for p in publishers.values()):
        if time.monotonic() > deadline:
            raise SystemExit('the sink process never subscribed')
        time.sleep(0.05)
    print(f'median ms per frame over {args.frames} frames; SGBM 64 disparities, block 5; '
          'points2 organized xyzrgb, PCL-padded (32 B/pt)')
    print(f'{"size":>10} {"SGBM":>7} {"convert":>8} {"disp+depth":>11} {"points2":>8} '
          f'{"overhead/SGBM":>14} {"with points2":>13}')
    try:
        for size in args.sizes.split(','):
            width, height = (int(v) for v in size.split('x'))
            t = bench_resolution(node, publishers, width, height, args.frames)
            base = t['convert'] + t['images']
            print(f'{size:>10} {t["backend"]:7.1f} {t["convert"]:8.2f} {t["images"]:11.2f} '
                  f'{t["cloud"]:8.2f} {100 * base / t["backend"]:13.1f}% '
                  f'{100 * (base + t["cloud"]) / t["backend"]:12.1f}%')
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        sink.terminate()
        sink.wait()
    return 0


if __name__ == '__main__':
    sys.exit(main())
