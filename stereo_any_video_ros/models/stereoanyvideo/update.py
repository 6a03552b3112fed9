"""The shared 3D update block: motion encoder, time and space attention, SK-GRU, 3D heads."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import LoFTREncoderLayer


class BasicMotionEncoder(nn.Module):
    """Per-frame motion features from the 128-channel cost and the current flow: 128 channels."""

    def __init__(self, cor_planes: int):
        super().__init__()
        self.convc1 = nn.Conv2d(cor_planes, 256, 1)
        self.convc2 = nn.Conv2d(256, 192, 3, padding=1)
        self.convf1 = nn.Conv2d(2, 128, 7, padding=3)
        self.convf2 = nn.Conv2d(128, 64, 3, padding=1)
        self.conv = nn.Conv2d(64 + 192, 128 - 2, 3, padding=1)

    def forward(self, flow: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        cor = F.relu(self.convc2(F.relu(self.convc1(corr))))
        flo = F.relu(self.convf2(F.relu(self.convf1(flow))))
        out = F.relu(self.conv(torch.cat([cor, flo], dim=1)))
        return torch.cat([out, flow], dim=1)


def gated_conv(in_dim: int, hidden_dim: int, kernel: tuple) -> nn.Conv3d:
    return nn.Conv3d(in_dim, hidden_dim, kernel, padding=tuple(k // 2 for k in kernel))


class SKSepConvGRU3D(nn.Module):
    """Separable 3D ConvGRU: horizontal, vertical, then temporal update.

    The horizontal z and r gates use a super kernel (1×15 then 1×5) for a wide receptive field
    along the epipolar line.
    """

    def __init__(self, hidden_dim: int = 128, input_dim: int = 256):
        super().__init__()
        dim = hidden_dim + input_dim

        def super_kernel():
            return nn.Sequential(gated_conv(dim, hidden_dim, (1, 1, 15)), nn.GELU(),
                                 gated_conv(hidden_dim, hidden_dim, (1, 1, 5)))

        self.convz1 = super_kernel()
        self.convr1 = super_kernel()
        self.convq1 = gated_conv(dim, hidden_dim, (1, 1, 5))
        self.convz2 = gated_conv(dim, hidden_dim, (1, 5, 1))
        self.convr2 = gated_conv(dim, hidden_dim, (1, 5, 1))
        self.convq2 = gated_conv(dim, hidden_dim, (1, 5, 1))
        self.convz3 = gated_conv(dim, hidden_dim, (5, 1, 1))
        self.convr3 = gated_conv(dim, hidden_dim, (5, 1, 1))
        self.convq3 = gated_conv(dim, hidden_dim, (5, 1, 1))

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """h: (b, 128, T, h, w); x: (b·T, 256, h, w) → new h.

        All nine gates read [h, x] or [r·h, x]; one buffer holds x once and has only its
        hidden part rewritten, instead of six 384-channel concatenations.
        """
        b, hidden, t, height, width = h.shape
        hx = h.new_empty(b, hidden + x.shape[1], t, height, width)
        hx[:, hidden:] = x.view(b, t, -1, height, width).transpose(1, 2)
        for convz, convr, convq in ((self.convz1, self.convr1, self.convq1),
                                    (self.convz2, self.convr2, self.convq2),
                                    (self.convz3, self.convr3, self.convq3)):
            hx[:, :hidden] = h
            z = torch.sigmoid(convz(hx))
            r = torch.sigmoid(convr(hx))
            hx[:, :hidden] = r * h
            q = torch.tanh(convq(hx))
            h = (1 - z) * h + z * q
        return h


class FlowHead3D(nn.Module):
    def __init__(self, input_dim: int = 128, hidden_dim: int = 256):
        super().__init__()
        self.conv1 = nn.Conv3d(input_dim, hidden_dim, 3, padding=1)
        self.conv2 = nn.Conv3d(hidden_dim, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(x)))


class Attention(nn.Module):
    """Multi-head self-attention with q = k = v = the input itself.

    ``qkv`` is never applied, but the released weights contain it, so it is kept for a strict
    load.
    """

    def __init__(self, dim: int, num_heads: int = 8):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, c = x.shape
        heads = x.view(n, length, self.num_heads, c // self.num_heads).transpose(1, 2)
        out = F.scaled_dot_product_attention(heads, heads, heads)  # (N, heads, L, d)
        return self.proj(out.transpose(1, 2).reshape(n, length, c))


class TimeAttnBlock(nn.Module):
    """Attention across the T frames of a clip at every pixel, added residually."""

    def __init__(self, dim: int = 256, num_heads: int = 8):
        super().__init__()
        self.temporal_attn = Attention(dim, num_heads)
        self.temporal_fc = nn.Linear(dim, dim)
        self.temporal_norm1 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, t: int) -> torch.Tensor:
        bt, c, h, w = x.shape
        # (b·T, C, h, w) → (b·h·w, T, C)
        tokens = x.view(bt // t, t, c, h * w).permute(0, 3, 1, 2).reshape(-1, t, c)
        update = self.temporal_fc(self.temporal_attn(self.temporal_norm1(tokens)))
        update = update.view(bt // t, h, w, t, c).permute(0, 3, 4, 1, 2).reshape(bt, c, h, w)
        return x + update


class SpaceAttnBlock(nn.Module):
    """Linear attention over the h·w positions of each frame."""

    def __init__(self, dim: int = 256, num_heads: int = 8):
        super().__init__()
        self.encoder_layer = LoFTREncoderLayer(dim, num_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bt, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (b·T, h·w, C)
        return self.encoder_layer(tokens).transpose(1, 2).reshape(bt, c, h, w)


class SequenceUpdateBlock3D(nn.Module):
    """One refinement step for a whole clip; shared by the 1/16, 1/8 and 1/4 stages."""

    def __init__(self, hidden_dim: int = 128, cor_planes: int = 128, mask_size: int = 4):
        super().__init__()
        self.encoder = BasicMotionEncoder(cor_planes)
        self.gru = SKSepConvGRU3D(hidden_dim, input_dim=128 + hidden_dim)
        self.flow_head = FlowHead3D(hidden_dim, hidden_dim=256)
        self.mask3d = nn.Sequential(
            nn.Conv3d(hidden_dim, hidden_dim + 128, 3, padding=1),
            nn.ReLU(),
            nn.Conv3d(hidden_dim + 128, mask_size ** 2 * 27, 1),
        )
        self.time_attn = TimeAttnBlock(dim=256, num_heads=8)
        self.space_attn = SpaceAttnBlock(dim=256, num_heads=8)

    def forward(self, net, inp, corr, flow, with_mask: bool = True):
        """One step for a clip.

        net: hidden state (b, 128, T, h, w); inp: context (b·T, 128, h, w); corr: cost
        features (b·T, 128, h, w); flow: (b·T, 2, h, w) with y = 0.

        Returns the new hidden state, the flow update (b, 2, T, h, w) and, when asked, the
        upsampling mask (b, 432, T, h, w): callers skip it on steps whose upsampled flow nobody
        reads.
        """
        x = torch.cat([inp, self.encoder(flow, corr)], dim=1)  # (b·T, 256, h, w)
        x = self.space_attn(self.time_attn(x, net.shape[2]))
        net = self.gru(net, x)
        delta = self.flow_head(net)
        # The 0.25 balanced gradients in training; it is part of the trained numerics.
        mask = 0.25 * self.mask3d(net) if with_mask else None
        return net, delta, mask
