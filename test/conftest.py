# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Keep every DDS participant of a test run on loopback, in a domain of its own.

This runs before any test module imports rclpy, so no test can forget it.
"""
import os
import random

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ['ROS_LOCALHOST_ONLY'] = '1'  # for distros before Iron
os.environ['ROS_DOMAIN_ID'] = str(random.SystemRandom().randint(1, 100))
