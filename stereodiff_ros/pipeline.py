# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""StereoDiff end to end: frames → stage 1 (MonST3R + closed-form alignment) → stage 2
(one-step DepthCrafter) → relative disparity, with stage 1's geometry and a settings record.

Both stages stream: stage 1 holds a few frames of pair outputs, stage 2 one window of latents,
so device memory does not grow with the video; the host keeps the frames the caller provides
(a lazy sequence or a memory map works), stage 1's per-frame depth and the output (which may be
memory-mapped too).
"""

from dataclasses import dataclass
import logging
import time
from typing import Any, Dict, Optional, Sequence

import numpy as np
from stereodiff_ros.engines.stage1 import Stage1Engine, Stage1Output
from stereodiff_ros.engines.stage2 import Stage2Engine, Stage2Settings

LOG = logging.getLogger(__name__)


@dataclass
class StereoDiffResult:
    disparity: np.ndarray  # (T, H, W) float32 in [0, 1], larger = closer; unitless
    stage1: Stage1Output  # depth (T, h, w), confidence, focal and camera-to-world poses
    settings: Dict[str, Any]  # everything that decided the result, for provenance
    seconds: Dict[str, float]  # wall time per stage


class StereoDiffPipeline:
    """The two stages, with the settings each ran with."""

    def __init__(self, stage1: Stage1Engine, stage2: Stage2Engine):
        self.stage1 = stage1
        self.stage2 = stage2

    @classmethod
    def from_pretrained(cls, monst3r_checkpoint, depthcrafter_unet, svd_folder,
                        device: str = 'cpu', precision: str = 'fp32',
                        settings: Stage2Settings = Stage2Settings(),
                        stage1_long_side: int = 512, stage1_batch_size: int = 8
                        ) -> 'StereoDiffPipeline':
        """Both stages from local weights: a MonST3R ``.pth`` or HF folder, DepthCrafter's
        UNet folder and an SVD-xt folder (see the README for where to get each)."""
        stage2 = Stage2Engine.from_pretrained(depthcrafter_unet, svd_folder, device=device,
                                              precision=precision, settings=settings)
        stage1 = Stage1Engine.from_checkpoint(monst3r_checkpoint, device=device,
                                              precision=precision, long_side=stage1_long_side,
                                              batch_size=stage1_batch_size)
        return cls(stage1, stage2)

    def settings(self) -> Dict[str, Any]:
        stage1 = self.stage1
        return {
            'stage1': {'model': 'MonST3R', 'pairs': f'swin-{stage1.window}-noncyclic-sym',
                       'long_side': stage1.long_side, 'min_conf_thr': stage1.min_conf_thr,
                       'precision': stage1.precision,
                       'init': 'minimum spanning tree (closed form, no optimisation)'},
            'stage2': {'model': 'DepthCrafter', **self.stage2.record()},
            'device': str(self.stage2.device),
        }

    def run(self, frames: Sequence[np.ndarray], progress: bool = True,
            out: Optional[np.ndarray] = None) -> StereoDiffResult:
        """StereoDiff over ``frames`` ((H, W, 3) uint8 RGB, random access, T ≥ 2).

        The disparity comes at the frames' resolution, normalised once over the whole video;
        ``out`` may be a preallocated (T, H, W) float32 array (e.g. memory-mapped) to fill.
        """
        started = time.perf_counter()
        stage1 = self.stage1.run(frames, progress=progress)
        middle = time.perf_counter()
        disparity = self.stage2.run(frames, stage1.result.depth, progress=progress, out=out)
        finished = time.perf_counter()
        seconds = {'stage1': middle - started, 'stage2': finished - middle}
        LOG.info('StereoDiff: %d frames, stage 1 %.1f s, stage 2 %.1f s', len(frames),
                 seconds['stage1'], seconds['stage2'])
        return StereoDiffResult(disparity, stage1, self.settings(), seconds)
