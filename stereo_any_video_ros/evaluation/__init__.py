# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Evaluation: the papers' metrics, dataset readers and the ``eval`` command. ROS-free."""
