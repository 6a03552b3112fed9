# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""Start sav_node on a rectified stereo pair, optionally with RViz2.

Example, for cameras publishing /camera/left/image_rect and so on:
    ros2 launch stereo_any_video_ros sav.launch.py \
        left_namespace:=/camera/left right_namespace:=/camera/right rviz:=true
Stereo Any Video on the GPU, 20-frame clips every 10 pairs, each frame 5 pairs late:
    ros2 launch stereo_any_video_ros sav.launch.py backend:=sav \
        checkpoint:=/path/to/StereoAnyVideo_MIX.pth clip_length:=20 clip_stride:=10 \
        output_delay_frames:=5

The node runs in `namespace` and reads `<left_namespace>/image_rect`,
`<left_namespace>/camera_info` and the same under `right_namespace` (relative names resolve
inside `namespace`, as with stereo_image_proc). All parameters come from `params_file`; the
few launch arguments below that name a node parameter are applied after it and so win.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description():
    share = get_package_share_directory('stereo_any_video_ros')
    arguments = [
        DeclareLaunchArgument(
            'namespace', default_value='stereo',
            description='Namespace of sav_node and of its outputs.'),
        DeclareLaunchArgument(
            'params_file', default_value=os.path.join(share, 'config', 'sav.yaml'),
            description='YAML file with sav_node parameters.'),
        DeclareLaunchArgument(
            'backend', default_value='sgbm',
            description='Stereo backend (overrides params_file).'),
        DeclareLaunchArgument(
            'checkpoint', default_value='',
            description='Weights of a neural backend, e.g. StereoAnyVideo_MIX.pth '
                        '(overrides params_file).'),
        DeclareLaunchArgument(
            'device', default_value='cuda:0',
            description='Torch device: cpu, cuda or cuda:N (overrides params_file).'),
        DeclareLaunchArgument(
            'precision', default_value='fp16',
            description='fp32, fp16 or bf16 (overrides params_file).'),
        DeclareLaunchArgument(
            'clip_length', default_value='0',
            description='Frames per clip; 0 = the backend default (overrides params_file).'),
        DeclareLaunchArgument(
            'clip_stride', default_value='1',
            description='Run the backend every N new pairs (overrides params_file).'),
        DeclareLaunchArgument(
            'output_delay_frames', default_value='0',
            description='Publish each frame this many pairs late, with that much future '
                        'context (overrides params_file).'),
        DeclareLaunchArgument(
            'inference_width', default_value='0',
            description='Backend input width; 0 = native (overrides params_file).'),
        DeclareLaunchArgument(
            'inference_height', default_value='0',
            description='Backend input height; 0 = native (overrides params_file).'),
        DeclareLaunchArgument(
            'approximate_sync', default_value='false',
            description='Pair left/right by nearest stamp instead of exact stamps '
                        '(overrides params_file).'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='false',
            description='Use /clock as the time source (sav_node and rviz2).'),
        DeclareLaunchArgument(
            'left_namespace', default_value='left',
            description='Namespace of the left image_rect and camera_info topics.'),
        DeclareLaunchArgument(
            'right_namespace', default_value='right',
            description='Namespace of the right image_rect and camera_info topics.'),
        DeclareLaunchArgument(
            'rviz', default_value='false',
            description='Also start rviz2 with config/sav.rviz (its topics assume '
                        'namespace:=stereo).'),
        DeclareLaunchArgument(
            'fixed_frame', default_value='left_camera_optical_frame',
            description='RViz2 fixed frame, e.g. the frame_id of the left images.'),
    ]

    sav_node = Node(
        package='stereo_any_video_ros',
        executable='sav_node',
        name='sav_node',
        namespace=LaunchConfiguration('namespace'),
        parameters=[
            LaunchConfiguration('params_file'),
            {
                'backend': ParameterValue(LaunchConfiguration('backend'), value_type=str),
                'checkpoint': ParameterValue(LaunchConfiguration('checkpoint'), value_type=str),
                'device': ParameterValue(LaunchConfiguration('device'), value_type=str),
                'precision': ParameterValue(LaunchConfiguration('precision'), value_type=str),
                'clip_length': ParameterValue(
                    LaunchConfiguration('clip_length'), value_type=int),
                'clip_stride': ParameterValue(
                    LaunchConfiguration('clip_stride'), value_type=int),
                'output_delay_frames': ParameterValue(
                    LaunchConfiguration('output_delay_frames'), value_type=int),
                'inference_width': ParameterValue(
                    LaunchConfiguration('inference_width'), value_type=int),
                'inference_height': ParameterValue(
                    LaunchConfiguration('inference_height'), value_type=int),
                'approximate_sync': ParameterValue(
                    LaunchConfiguration('approximate_sync'), value_type=bool),
                'use_sim_time': ParameterValue(
                    LaunchConfiguration('use_sim_time'), value_type=bool),
            },
        ],
        remappings=[
            ('left/image_rect', [LaunchConfiguration('left_namespace'), '/image_rect']),
            ('left/camera_info', [LaunchConfiguration('left_namespace'), '/camera_info']),
            ('right/image_rect', [LaunchConfiguration('right_namespace'), '/image_rect']),
            ('right/camera_info', [LaunchConfiguration('right_namespace'), '/camera_info']),
        ],
        output='screen',
    )

    rviz = Node(
        package='rviz2',
        executable='rviz2',
        arguments=[
            '-d', os.path.join(share, 'config', 'sav.rviz'),
            '-f', LaunchConfiguration('fixed_frame'),
        ],
        parameters=[
            {'use_sim_time': ParameterValue(
                LaunchConfiguration('use_sim_time'), value_type=bool)},
        ],
        condition=IfCondition(LaunchConfiguration('rviz')),
        output='screen',
    )

    return LaunchDescription(arguments + [sav_node, rviz])
