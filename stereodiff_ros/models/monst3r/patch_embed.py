"""Patch embedding of DUSt3R at inference (``PatchEmbedDust3R``)."""

from typing import Tuple

import torch
import torch.nn as nn

from .pos_embed import PositionGetter


class PatchEmbedDust3R(nn.Module):
    """Non-overlapping square patches, linearly embedded, with their grid positions.

    Any H and W that are multiples of the patch size are accepted; portrait images are not
    transposed (``landscape_only=False``).
    """

    def __init__(self, patch_size: int, embed_dim: int, in_chans: int = 3):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)
        self.position_getter = PositionGetter()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) → tokens (B, N, C) and positions (B, N, 2), N = (H/p)·(W/p)."""
        height, width = x.shape[-2:]
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(f'image size {height}x{width} is not a multiple of the patch size '
                             f'{self.patch_size}')
        x = self.proj(x)  # (B, C, H/p, W/p)
        pos = self.position_getter(x.shape[0], x.shape[2], x.shape[3], x.device)
        return x.flatten(2).transpose(1, 2), pos
