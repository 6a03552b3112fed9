"""LoFTR's linear-attention transformer layer, used for spatial attention in the update block."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class LinearAttention(nn.Module):
    """Attention with the elu+1 kernel feature map ("Transformers are RNNs"), O(L) in tokens."""

    def __init__(self, eps: float = 1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q, k, v: (N, heads, L, d) → (N, heads, L, d)."""
        q = F.elu(q) + 1
        k = F.elu(k) + 1
        length = v.shape[2]
        # Dividing v by L and multiplying back keeps fp16 sums in range; it is part of the
        # trained numerics, so it stays in fp32 too.
        kv = k.transpose(2, 3) @ (v / length)  # (N, heads, d, d)
        normaliser = 1 / (q @ k.sum(dim=2, keepdim=True).transpose(2, 3) + self.eps)
        return (q @ kv) * normaliser * length


class LoFTREncoderLayer(nn.Module):
    """Self-attention layer: x + norm2(mlp([x, norm1(merge(attention))]))."""

    def __init__(self, d_model: int, nhead: int):
        super().__init__()
        self.nhead = nhead
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model, bias=False)
        self.attention = LinearAttention()
        self.merge = nn.Linear(d_model, d_model, bias=False)
        self.mlp = nn.Sequential(
            nn.Linear(d_model * 2, d_model * 2, bias=False),
            nn.ReLU(),
            nn.Linear(d_model * 2, d_model, bias=False),
        )
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, L, C) tokens → (N, L, C)."""
        n, length, c = x.shape

        def split_heads(tokens):
            return tokens.view(n, length, self.nhead, c // self.nhead).transpose(1, 2)

        message = self.attention(split_heads(self.q_proj(x)), split_heads(self.k_proj(x)),
                                 split_heads(self.v_proj(x)))  # (N, heads, L, d)
        message = self.norm1(self.merge(message.transpose(1, 2).reshape(n, length, c)))
        return x + self.norm2(self.mlp(torch.cat([x, message], dim=2)))
