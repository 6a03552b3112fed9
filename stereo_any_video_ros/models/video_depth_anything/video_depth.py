"""Video Depth Anything Small, cut at its last feature map as Stereo Any Video uses it."""

import torch
import torch.nn as nn

from .dinov2 import DINOv2, PATCH
from .dpt_temporal import DPTHeadTemporal

FEATURES = 64
OUT_CHANNELS = (48, 96, 192, 384)
INTERMEDIATE_BLOCKS = (2, 5, 8, 11)
MAX_FRAMES = 32  # length of the temporal position codes


class VideoDepthAnything(nn.Module):
    """ImageNet-normalised clips (B, T, 3, H, W), H and W multiples of 14, T ≤ 32 →
    32-channel features (B·T, 32, H, W)."""

    def __init__(self):
        super().__init__()
        self.pretrained = DINOv2()
        self.head = DPTHeadTemporal(self.pretrained.embed_dim, FEATURES, OUT_CHANNELS, MAX_FRAMES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, t, _, h, w = x.shape
        if t > MAX_FRAMES:
            raise ValueError(f'VDA clips hold at most {MAX_FRAMES} frames, got {t}')
        if h % PATCH or w % PATCH:
            raise ValueError(f'VDA needs H and W in multiples of {PATCH}, got {h}×{w}')
        tokens = self.pretrained(x.flatten(0, 1), INTERMEDIATE_BLOCKS)  # 4 × (B·T, h·w, 384)
        return self.head(tokens, h // PATCH, w // PATCH, t)
