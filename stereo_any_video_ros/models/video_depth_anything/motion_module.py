"""VDA's temporal modules (after AnimateDiff): per-pixel self-attention along time.

A module maps frame features (B·T, C, H, W) to the same shape. Inside, each pixel of each clip
is a sequence of T tokens, (B·H·W, T, C), that only attends to itself across frames.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class PositionalEncoding(nn.Module):
    """Fixed sinusoidal frame-index codes (Vaswani et al., 2017), added to the tokens."""

    def __init__(self, dim: int, max_frames: int):
        super().__init__()
        position = torch.arange(max_frames).unsqueeze(1)  # (max_frames, 1)
        frequency = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))  # (C/2,)
        pe = torch.zeros(1, max_frames, dim)
        pe[0, :, 0::2] = torch.sin(position * frequency)
        pe[0, :, 1::2] = torch.cos(position * frequency)
        self.register_buffer('pe', pe)  # persistent: checkpoints carry it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[:, :x.shape[1]].to(x.dtype)  # (N, T, C)


class TemporalAttention(nn.Module):
    """Multi-head self-attention over the T axis of (N, T, C) tokens."""

    def __init__(self, dim: int, heads: int, max_frames: int):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)
        self.to_v = nn.Linear(dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])
        self.pos_encoder = PositionalEncoding(dim, max_frames)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pos_encoder(x)
        q, k, v = (
            proj(x).unflatten(-1, (self.heads, -1)).transpose(1, 2)  # (N, heads, T, C/heads)
            for proj in (self.to_q, self.to_k, self.to_v))
        x = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)  # (N, T, C)
        return self.to_out[0](x)


class GEGLU(nn.Module):
    """GELU-gated linear unit (Shazeer, 2020): one projection to value and gate."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        # net.1 held a zero-rate dropout; the placeholder keeps the output layer at net.2.
        self.net = nn.Sequential(GEGLU(dim, mult * dim), nn.Identity(), nn.Linear(mult * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TemporalTransformerBlock(nn.Module):
    """Two pre-norm temporal attentions, then a pre-norm GEGLU feed-forward, all residual."""

    def __init__(self, dim: int, heads: int, max_frames: int, attentions: int = 2):
        super().__init__()
        self.attention_blocks = nn.ModuleList(
            TemporalAttention(dim, heads, max_frames) for _ in range(attentions))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(attentions))
        self.ff = FeedForward(dim)
        self.ff_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attention, norm in zip(self.attention_blocks, self.norms):
            x = x + attention(norm(x))
        return x + self.ff(self.ff_norm(x))


class TemporalTransformer(nn.Module):
    """GroupNorm → proj_in → transformer block → proj_out, added back to the input."""

    def __init__(self, channels: int, heads: int, max_frames: int):
        super().__init__()
        self.norm = nn.GroupNorm(32, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList(
            [TemporalTransformerBlock(channels, heads, max_frames)])
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        _, c, h, w = x.shape
        tokens = self.norm(x).unflatten(0, (-1, frames))  # (B, T, C, H, W)
        tokens = tokens.permute(0, 3, 4, 1, 2).reshape(-1, frames, c)  # (B·H·W, T, C)
        tokens = self.proj_in(tokens)
        for block in self.transformer_blocks:
            tokens = block(tokens)
        tokens = self.proj_out(tokens).unflatten(0, (-1, h, w))  # (B, H, W, T, C)
        return x + tokens.permute(0, 3, 4, 1, 2).reshape(x.shape)  # (B·T, C, H, W)


class TemporalModule(nn.Module):
    """Wrapper that gives the checkpoint its ``temporal_transformer`` key level."""

    def __init__(self, channels: int, max_frames: int, heads: int = 8):
        super().__init__()
        self.temporal_transformer = TemporalTransformer(channels, heads, max_frames)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        return self.temporal_transformer(x, frames)
