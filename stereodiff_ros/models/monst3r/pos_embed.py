"""Patch positions and the 2D rotary position embedding (RoPE2D) of CroCo v2."""

from typing import Dict, Tuple

import torch
import torch.nn as nn


class PositionGetter:
    """Integer (y, x) coordinates of the patches of an h×w grid, row-major like the tokens."""

    def __init__(self):
        self.cache: Dict[tuple, torch.Tensor] = {}

    def __call__(self, batch: int, h: int, w: int, device: torch.device) -> torch.Tensor:
        key = (h, w, device)
        if key not in self.cache:
            y = torch.arange(h, device=device)
            x = torch.arange(w, device=device)
            self.cache[key] = torch.cartesian_prod(y, x)  # (h·w, 2)
        # A copy, so that a caller editing its positions cannot corrupt the cache.
        return self.cache[key].expand(batch, -1, -1).clone()  # (B, h·w, 2)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class RoPE2D(nn.Module):
    """Rotary embedding in 2D: the first half of each head's channels is rotated by the token's
    y coordinate, the second half by its x coordinate, each with 1D RoPE of base ``freq``.

    The cos/sin tables depend only on (channels, number of positions, device, dtype), and every
    attention layer of the network shares them, so they are computed once per such key.
    """

    def __init__(self, freq: float = 100.0):
        super().__init__()
        self.base = freq
        self.cache: Dict[tuple, Tuple[torch.Tensor, torch.Tensor]] = {}

    def get_cos_sin(self, dim: int, length: int, device: torch.device, dtype: torch.dtype
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
        key = (dim, length, device, dtype)
        if key not in self.cache:
            # Angles in fp32 whatever the activation dtype, as upstream does.
            exponents = torch.arange(0, dim, 2, device=device).float() / dim
            inv_freq = 1.0 / self.base ** exponents  # (dim/2,)
            t = torch.arange(length, device=device, dtype=torch.float32)
            angles = torch.outer(t, inv_freq).to(dtype)
            angles = torch.cat((angles, angles), dim=-1)  # (length, dim)
            self.cache[key] = (angles.cos(), angles.sin())
        return self.cache[key]

    @staticmethod
    def rotate(tokens: torch.Tensor, pos: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
               ) -> torch.Tensor:
        cos = cos[pos][:, None]  # (B, 1, N, dim), broadcast over heads
        sin = sin[pos][:, None]
        return tokens * cos + rotate_half(tokens) * sin

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """``tokens`` (B, heads, N, C), ``positions`` (B, N, 2) long → (B, heads, N, C).
        Positions are patch-grid coordinates, hence below N."""
        dim = tokens.shape[-1] // 2
        # Grid coordinates are below the token count, so a table of that length covers them
        # without reading positions.max(), which would stall a GPU on every attention.
        cos, sin = self.get_cos_sin(dim, positions.shape[-2], tokens.device, tokens.dtype)
        y, x = tokens.chunk(2, dim=-1)
        y = self.rotate(y, positions[:, :, 0], cos, sin)
        x = self.rotate(x, positions[:, :, 1], cos, sin)
        return torch.cat((y, x), dim=-1)
