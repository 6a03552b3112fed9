# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stereo Any Video as a node backend: one clip in, the clip's disparity out."""
from __future__ import annotations

import numpy as np

from stereo_any_video_ros.engines.sav import OFFICIAL_ITERS, OFFICIAL_WINDOW, SavEngine
from stereo_any_video_ros.models.checkpoint import SAV_CHECKPOINTS_URL


class SavBackend:
    """SAV on every clip; the official 20-frame window is its natural clip length."""

    default_clip_length = OFFICIAL_WINDOW

    def __init__(self, checkpoint: str = '', vda_checkpoint: str = '',
                 iters: int = OFFICIAL_ITERS, device: str = 'cuda:0', precision: str = 'fp16'):
        if not checkpoint:
            raise ValueError('backend sav needs the checkpoint parameter: the local path of '
                             'StereoAnyVideo_MIX.pth or StereoAnyVideo_SF.pth, from '
                             f'{SAV_CHECKPOINTS_URL}')
        self.engine = SavEngine.from_checkpoint(checkpoint, vda_checkpoint or None, device,
                                                precision, iters)

    def warmup(self, height: int, width: int, frames: int) -> None:
        self.engine.warmup(height, width, frames)

    def infer(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 RGB clips -> (T, H, W) float32 positive disparity (px)."""
        return self.engine.infer_clip(left, right)
