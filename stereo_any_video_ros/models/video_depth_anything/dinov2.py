"""DINOv2 ViT-S/14 (Oquab et al., 2023), the image encoder of Video Depth Anything.

Only what VDA reads: the patch tokens after a few blocks, each through the final LayerNorm.
No register tokens, no masking, no stochastic depth.
"""

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

PATCH = 14
PRETRAIN_GRID = 37  # 518 / 14: the patch grid the position table was learned on
POS_OFFSET = 0.1  # DINOv2's guard against float error when resampling the position table


class PatchEmbed(nn.Module):
    """Non-overlapping 14×14 patches, linearly embedded."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, PATCH, stride=PATCH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, h·w, C)


class Attention(nn.Module):
    """Multi-head self-attention with a fused, biased qkv projection."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        qkv = self.qkv(x).view(n, length, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (N, heads, L, C/heads)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(n, length, dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class LayerScale(nn.Module):
    """Learned per-channel scale of a residual branch (CaiT)."""

    def __init__(self, dim: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale on both residual branches."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_ratio * dim)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DINOv2(nn.Module):
    """ViT-S/14: 384 channels, 12 blocks of 6 heads."""

    def __init__(self, dim: int = 384, depth: int = 12, heads: int = 6):
        super().__init__()
        self.embed_dim = dim
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + PRETRAIN_GRID ** 2, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))  # pre-training only; in checkpoints
        self.patch_embed = PatchEmbed(dim)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def position_embedding(self, h: int, w: int) -> torch.Tensor:
        """The position table resampled (in fp32) to an h×w patch grid, (1, 1 + h·w, C)."""
        if (h, w) == (PRETRAIN_GRID, PRETRAIN_GRID):
            return self.pos_embed
        table = self.pos_embed.float()
        cls_pos, grid_pos = table[:, :1], table[:, 1:]
        grid_pos = grid_pos.unflatten(1, (PRETRAIN_GRID, PRETRAIN_GRID)).permute(0, 3, 1, 2)
        # Resampled by scale factor, not by target size: bicubic takes its sample positions from
        # the scale, so (h + 0.1) / 37 is what the weights expect. The output is still h×w.
        scale = ((h + POS_OFFSET) / PRETRAIN_GRID, (w + POS_OFFSET) / PRETRAIN_GRID)
        grid_pos = F.interpolate(grid_pos, scale_factor=scale, mode='bicubic',
                                 antialias=False)  # (1, C, h, w)
        return torch.cat((cls_pos, grid_pos.flatten(2).transpose(1, 2)), dim=1)

    def forward(self, x: torch.Tensor, layers: Sequence[int]) -> List[torch.Tensor]:
        """Normalised patch tokens after each block in ``layers``, each (N, h·w, C)."""
        h, w = x.shape[-2] // PATCH, x.shape[-1] // PATCH
        x = self.patch_embed(x)  # (N, h·w, C)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.position_embedding(h, w).to(x.dtype)  # (N, 1 + h·w, C)
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in layers:
                outputs.append(self.norm(x[:, 1:]))
        return outputs
