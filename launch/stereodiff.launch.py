# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
r"""Run the offline bag tool stereodiff_bag with its options from a params file.

StereoDiff monocular depth of one camera:
    ros2 launch stereo_any_video_ros stereodiff.launch.py input:=/data/run1 \
        output:=/data/run1_depth image_topic:=/cam/image_raw \
        monst3r_checkpoint:=/weights/monst3r.pth depthcrafter_unet:=/weights/DepthCrafter \
        svd_folder:=/weights/stable-video-diffusion-img2vid-xt
SGBM stereo depth:
    ros2 launch stereo_any_video_ros stereodiff.launch.py method:=sgbm input:=/data/run1 \
        output:=/data/run1_stereo left_topic:=/cam/left/image_rect \
        right_topic:=/cam/right/image_rect

Every option comes from `params_file` (by default config/stereodiff.yaml, every option at its
default; copy it to set the others). The launch arguments below set the option of the same
name and are passed after params_file, so they win, but only when given a value other than
their default: an argument left at its default (an empty weight path, say) never clears what
params_file sets. To put an option back to its default, set it in params_file. `input` takes
one path here; list several in params_file. The tool exits when the output bag is written.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

# Launch arguments that set the stereodiff_bag option of the same name:
# name -> (default, value type, description). The defaults are config/stereodiff.yaml's
# (test/test_stereodiff_launch_static.py checks both against the option table).
OPTION_ARGUMENTS = {
    'input': ('', str, 'Input bag: rosbag2 folder, .mcap, .db3 or ROS 1 .bag.'),
    'output': ('', str, 'Output rosbag2 folder to create; must not exist.'),
    'method': ('stereodiff', str, 'stereodiff (monocular), sav or sgbm (stereo).'),
    'image_topic': ('', str, 'stereodiff: image topic; empty = the only one in the bag.'),
    'left_topic': ('', str, 'sav/sgbm: rectified left image topic.'),
    'right_topic': ('', str, 'sav/sgbm: rectified right image topic.'),
    'clip_length': ('110', int, 'stereodiff: frames per stage-2 window.'),
    'clip_overlap': ('25', int, 'stereodiff: frames blended between windows.'),
    'resolution': ('1024', int, 'stereodiff: largest stage-2 (DepthCrafter) side in px.'),
    'stage1_resolution': ('512', int, 'stereodiff: MonST3R long side in px.'),
    'device': ('cuda:0', str, 'Torch device: cpu, cuda or cuda:N.'),
    'precision': ('fp16', str, 'fp32, fp16 or bf16.'),
    'monst3r_checkpoint': ('', str, 'stereodiff: MonST3R .pth or Hugging Face folder.'),
    'depthcrafter_unet': ('', str, 'stereodiff: DepthCrafter UNet folder.'),
    'svd_folder': ('', str, 'stereodiff: stable-video-diffusion-img2vid-xt folder.'),
    'sav_checkpoint': ('', str, 'sav: StereoAnyVideo_MIX.pth or StereoAnyVideo_SF.pth.'),
}


def _stereodiff_bag(context):
    # Only arguments changed from their default override params_file (see the docstring).
    overrides = {
        name: ParameterValue(LaunchConfiguration(name), value_type=value_type)
        for name, (default, value_type, _) in OPTION_ARGUMENTS.items()
        if LaunchConfiguration(name).perform(context) != default
    }
    return [Node(
        package='stereo_any_video_ros',
        executable='stereodiff_bag',
        name='stereodiff_bag',
        parameters=[LaunchConfiguration('params_file'), overrides],
        output='screen',
        emulate_tty=True,
    )]


def generate_launch_description():
    arguments = [
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution(
                [FindPackageShare('stereo_any_video_ros'), 'config', 'stereodiff.yaml']),
            description='YAML file with stereodiff_bag options under /**: ros__parameters:.'),
    ]
    arguments += [
        DeclareLaunchArgument(
            name, default_value=default,
            description=f'{description} Overrides params_file when set to anything but its '
                        'default.')
        for name, (default, _, description) in OPTION_ARGUMENTS.items()
    ]
    return LaunchDescription(arguments + [OpaqueFunction(function=_stereodiff_bag)])
