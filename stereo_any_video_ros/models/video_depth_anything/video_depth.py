"""Video Depth Anything Small, cut at its last feature map as Stereo Any Video uses it."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .dinov2 import DINOv2, PATCH
from .dpt_temporal import DPTHeadTemporal

FEATURES = 64
OUT_CHANNELS = (48, 96, 192, 384)
INTERMEDIATE_BLOCKS = (2, 5, 8, 11)
MAX_FRAMES = 32  # length of the temporal position codes


def upsample_features(features: torch.Tensor, size) -> torch.Tensor:
    """``coarse_features`` → the input resolution (bilinear, ``align_corners=True``)."""
    return F.interpolate(features, size=size, mode='bilinear', align_corners=True)


class VideoDepthAnything(nn.Module):
    """ImageNet-normalised clips (B, T, 3, H, W), H and W multiples of 14, T ≤ 32 →
    32-channel features (B·T, 32, H, W)."""

    def __init__(self):
        super().__init__()
        self.pretrained = DINOv2()
        self.head = DPTHeadTemporal(self.pretrained.embed_dim, FEATURES, OUT_CHANNELS, MAX_FRAMES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, _, h, w = x.shape
        return upsample_features(self.coarse_features(x), (h, w))

    def coarse_features(self, x: torch.Tensor) -> torch.Tensor:
        """The same features before their final ×14/8 upsampling, (B·T, 32, 8h/14, 8w/14):
        callers that shrink them again can upsample frame by frame instead of holding the
        clip at full resolution."""
        _, t, _, h, w = x.shape
        if t > MAX_FRAMES:
            raise ValueError(f'VDA clips hold at most {MAX_FRAMES} frames, got {t}')
        if h % PATCH or w % PATCH:
            raise ValueError(f'VDA needs H and W in multiples of {PATCH}, got {h}×{w}')
        tokens = self.pretrained(x.flatten(0, 1), INTERMEDIATE_BLOCKS)  # 4 × (B·T, h·w, 384)
        return self.head(tokens, h // PATCH, w // PATCH, t)
