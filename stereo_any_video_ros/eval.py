# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m stereo_any_video_ros.eval``: the evaluation command (see evaluation/cli.py)."""
import sys

from stereo_any_video_ros.evaluation.cli import main

if __name__ == '__main__':
    sys.exit(main())
