# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Output messages of sav_node built from a FrameResult; message packages only, no rclpy.

Kept apart from the node so the benchmark measures exactly what the node publishes.
"""
from __future__ import annotations

import sys

from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import Header

from stereo_any_video_ros.calibration import PinholeInfo
from stereo_any_video_ros.conversions import as_byte_array, fill_image
from stereo_any_video_ros.geometry import FLOAT32, PointCloud
from stereo_any_video_ros.processing import FrameResult
from stereo_msgs.msg import DisparityImage


def disparity_msg(result: FrameResult, header: Header, delta_d: float) -> DisparityImage:
    """stereo_msgs/DisparityImage with every field set (ros2-conventions.md §5.1)."""
    calibration = result.calibration
    msg = DisparityImage(header=header, f=calibration.fx, t=calibration.baseline,
                         min_disparity=result.disparity_range.low,
                         max_disparity=result.disparity_range.high, delta_d=delta_d)
    fill_image(msg.image, result.disparity, '32FC1')
    msg.image.header = header
    window = msg.valid_window
    window.x_offset, window.y_offset, window.width, window.height = result.valid_window
    return msg


def depth_msg(result: FrameResult, header: Header, encoding: str) -> Image:
    """Depth image: 32FC1 metres (NaN invalid) or 16UC1 millimetres (0 invalid)."""
    return fill_image(Image(header=header), result.depth, encoding)


def camera_info_msg(info: PinholeInfo, header: Header) -> CameraInfo:
    """A rectified camera (no distortion left) at the published resolution."""
    return CameraInfo(header=header, width=info.width, height=info.height,
                      distortion_model='plumb_bob', d=[0.0] * 5, k=list(info.k),
                      r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], p=list(info.p))


def cloud_msg(cloud: PointCloud, header: Header) -> PointCloud2:
    msg = PointCloud2(
        header=header, height=cloud.height, width=cloud.width,
        fields=[PointField(name=name, offset=offset, datatype=FLOAT32, count=1)
                for name, offset in cloud.fields],
        is_bigendian=sys.byteorder == 'big', point_step=cloud.point_step,
        row_step=cloud.row_step, is_dense=cloud.is_dense)
    # Through the setter: the constructor would rebuild the array element by element.
    msg.data = as_byte_array(cloud.data)
    return msg
