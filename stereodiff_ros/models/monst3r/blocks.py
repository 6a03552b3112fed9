"""CroCo transformer blocks: ViT encoder blocks and the cross-attending decoder blocks.

All attention is multi-head with biased projections and RoPE2D on queries and keys; all norms
are LayerNorm with eps 1e-6, as in CroCo.
"""

from stereo_any_video_ros.models.video_depth_anything.dinov2 import Mlp
import torch
import torch.nn as nn
import torch.nn.functional as F

from .pos_embed import RoPE2D


def layer_norm(dim: int) -> nn.LayerNorm:
    return nn.LayerNorm(dim, eps=1e-6)


class Attention(nn.Module):
    """Self-attention with one fused qkv projection."""

    def __init__(self, dim: int, num_heads: int, rope: RoPE2D):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.rope = rope

    def forward(self, x: torch.Tensor, xpos: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.num_heads, dim // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, N, C/heads)
        q, k = self.rope(q, xpos), self.rope(k, xpos)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(batch, length, dim))


class CrossAttention(nn.Module):
    """Queries from one view, keys and values from the other, each with its own positions."""

    def __init__(self, dim: int, num_heads: int, rope: RoPE2D):
        super().__init__()
        self.num_heads = num_heads
        self.projq = nn.Linear(dim, dim)
        self.projk = nn.Linear(dim, dim)
        self.projv = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.rope = rope

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)  # (B, heads, N, C/heads)

    def forward(self, query: torch.Tensor, memory: torch.Tensor, qpos: torch.Tensor,
                kpos: torch.Tensor) -> torch.Tensor:
        q = self.rope(self.split_heads(self.projq(query)), qpos)
        k = self.rope(self.split_heads(self.projk(memory)), kpos)
        v = self.split_heads(self.projv(memory))
        x = F.scaled_dot_product_attention(q, k, v)  # (B, heads, Nq, C/heads)
        return self.proj(x.transpose(1, 2).flatten(2))


class Block(nn.Module):
    """Pre-norm ViT block: self-attention, then MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, rope: RoPE2D):
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = Attention(dim, num_heads, rope)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, xpos: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), xpos)
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    """Self-attention on one view's tokens, cross-attention to the other view's tokens
    (``memory``, LayerNorm-ed by ``norm_y`` when ``norm_mem``), then MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, rope: RoPE2D,
                 norm_mem: bool):
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = Attention(dim, num_heads, rope)
        self.cross_attn = CrossAttention(dim, num_heads, rope)
        self.norm2 = layer_norm(dim)
        self.norm3 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.norm_y = layer_norm(dim) if norm_mem else nn.Identity()

    def forward(self, x: torch.Tensor, memory: torch.Tensor, xpos: torch.Tensor,
                mpos: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), xpos)
        x = x + self.cross_attn(self.norm2(x), self.norm_y(memory), xpos, mpos)
        return x + self.mlp(self.norm3(x))
