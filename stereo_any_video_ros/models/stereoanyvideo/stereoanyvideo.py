"""Stereo Any Video: video stereo matching with a VDA prior and a 1/16 → 1/8 → 1/4 cascade."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .corr import AAPC
from .extractor import BasicEncoder, DepthExtractor
from .update import SequenceUpdateBlock3D

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Input height and width must be multiples of this (the 1/16 stage is pooled from 1/4 by 4,
# and the 4×4 VDA adapter needs H, W divisible by 4 as well).
SIZE_DIVISOR = 32
UPSAMPLE_RATE = 4


class CorrMLP(nn.Module):
    """Per-pixel cost MLP, 324 → 256 → 128, on channels-last correlation."""

    def __init__(self, in_features: int = 4 * 81, hidden_features: int = 256,
                 out_features: int = 128):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.fc2 = nn.Linear(hidden_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


def convex_upsample_3d(disp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Upsample disparity ×4 as a learned convex combination of its 3×3×3 (t, y, x) neighbours.

    disp (b, T, h, w), mask (b, 27·16, T, h, w) → (b, T, 4h, 4w). Neighbours outside the clip
    or the image count as zero, and values are scaled to the finer pixel grid first.
    """
    rate = UPSAMPLE_RATE
    b, t, h, w = disp.shape
    padded = F.pad(rate * disp, (1, 1, 1, 1, 1, 1))
    neighbours = torch.stack([padded[:, dt:dt + t, dy:dy + h, dx:dx + w]
                              for dt in range(3) for dy in range(3) for dx in range(3)], dim=1)
    weights = mask.view(b, 27, rate * rate, t, h, w).softmax(dim=1)
    up = (weights * neighbours.unsqueeze(2)).sum(dim=1)  # (b, 16, T, h, w)
    up = up.view(b, rate, rate, t, h, w).permute(0, 3, 4, 1, 5, 2)  # (b, T, h, 4, w, 4)
    return up.reshape(b, t, rate * h, rate * w)


def resize(x: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize of (N, h, w), ``align_corners=True`` as in every SAV cascade step."""
    return F.interpolate(x.unsqueeze(1), size=size, mode='bilinear', align_corners=True)[:, 0]


class StereoAnyVideo(nn.Module):
    def __init__(self):
        super().__init__()
        self.cnet = BasicEncoder(output_dim=96)
        self.fnet = BasicEncoder(output_dim=96)
        self.depthnet = DepthExtractor()
        self.corr_mlp = CorrMLP()
        self.update_block = SequenceUpdateBlock3D(hidden_dim=128, cor_planes=128, mask_size=4)
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 1, 3, 1, 1),
                             persistent=False)

    def forward(self, left: torch.Tensor, right: torch.Tensor, iters: int = 20) -> torch.Tensor:
        """Disparity of a rectified stereo clip.

        left, right: (b, T, 3, H, W) RGB in 0–255 with H, W multiples of 32 and T ≤ 32.
        ``iters`` updates run at 1/4 and half as many at each of 1/16 and 1/8.
        Returns positive disparity (b, T, H, W) in pixels: the right view sees x − d.
        """
        b, t, _, height, width = left.shape
        if height % SIZE_DIVISOR or width % SIZE_DIVISOR:
            raise ValueError(f'SAV input must be padded to multiples of {SIZE_DIVISOR}, '
                             f'got {height}x{width}')
        if iters < 2:
            raise ValueError(f'iters must be at least 2 (one update per coarse stage), '
                             f'got {iters}')
        left = (left / 255.0 - self.mean) / self.std
        right = (right / 255.0 - self.mean) / self.std

        # One view at a time: batching left and right would give the same numbers but double
        # the encoders' peak memory, which at 720p exceeds the refinement's.
        depth_left = self.depthnet(left).flatten(0, 1)  # (b·T, 32, H/4, W/4)
        fmap1 = torch.cat([depth_left, self.fnet(left.flatten(0, 1))], dim=1)  # (b·T, 128, ..)
        context = torch.cat([depth_left, self.cnet(left.flatten(0, 1))], dim=1)
        fmap2 = torch.cat([self.depthnet(right).flatten(0, 1), self.fnet(right.flatten(0, 1))],
                          dim=1)
        net, inp = torch.tanh(context), torch.relu(context)

        disp_up = None
        for pool, steps in ((4, iters // 2), (2, iters // 2), (1, iters)):
            scaled = [F.avg_pool2d(x, pool) if pool > 1 else x for x in (fmap1, fmap2, net, inp)]
            fmap1_s, fmap2_s, net_s, inp_s = scaled
            h, w = fmap1_s.shape[-2:]
            if disp_up is None:
                disp = fmap1_s.new_zeros(b * t, h, w)
            else:
                # Each stage's ×4 upsampling lands at twice the next stage's resolution.
                disp = 0.5 * resize(disp_up, (h, w))
            disp, mask = self.refine(AAPC(fmap1_s, fmap2_s), net_s, inp_s, disp, steps, t)
            disp_up = convex_upsample_3d(disp.view(b, t, h, w), mask).flatten(0, 1)
        return disp_up.view(b, t, height, width)

    def refine(self, corr_fn: AAPC, net: torch.Tensor, inp: torch.Tensor, disp: torch.Tensor,
               steps: int, t: int):
        """``steps`` updates at one scale; returns the disparity and the last upsampling mask."""
        bt, c, h, w = net.shape
        net = net.view(bt // t, t, c, h, w).transpose(1, 2)  # (b, 128, T, h, w)
        mask = None
        for step in range(steps):
            # Correlation and cost MLP stay fp32 under autocast, as upstream.
            with torch.autocast(device_type=disp.device.type, enabled=False):
                cost = self.corr_mlp(corr_fn(disp, small_patch=step % 2 == 1))
            flow = torch.stack([disp, torch.zeros_like(disp)], dim=1)  # y is always zeroed
            net, delta, mask = self.update_block(net, inp, cost.permute(0, 3, 1, 2), flow,
                                                 with_mask=step == steps - 1)
            disp = disp + delta[:, 0].reshape(bt, h, w)
        return disp, mask
