# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
from glob import glob

from setuptools import find_packages, setup

package_name = 'stereo_any_video_ros'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'bench']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*launch.[pxy][yma]*')),
        ('share/' + package_name + '/config', glob('config/*.yaml') + glob('config/*.rviz')),
    ],
    # ROS packages (rclpy, messages) come from the ROS install or its pip wheels, never PyPI's
    # namesakes; the Makefile pins the rest for a ROS-less machine.
    install_requires=['setuptools', 'numpy', 'opencv-python-headless', 'pyyaml', 'scipy', 'pillow',
                      'safetensors', 'diffusers', 'transformers', 'accelerate', 'rosbags',
                      'tqdm', 'matplotlib'],
    zip_safe=True,
    maintainer='stereo_any_video_ros maintainers',
    maintainer_email='maintainers@stereo-any-video-ros.invalid',
    description='Temporally consistent stereo depth from video for ROS 2 (Stereo Any Video).',
    license='Apache-2.0',
    # scikit-image ships Middlebury 2014 Motorcycle, the real stereo pair the tests score.
    extras_require={'test': ['pytest', 'hypothesis', 'scikit-image']},
    entry_points={
        'console_scripts': [
            'sav_node = stereo_any_video_ros.sav_node:main',
            'stereodiff_bag = stereo_any_video_ros.stereodiff_bag:main',
            # `ros2 run stereo_any_video_ros eval`; in a shell, `python -m ...eval` (builtin)
            'eval = stereo_any_video_ros.evaluation.cli:main',
        ],
    },
)
