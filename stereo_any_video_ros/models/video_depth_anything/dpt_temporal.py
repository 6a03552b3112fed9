"""VDA's decoder: a DPT head with temporal modules on its two coarsest levels."""

from typing import List, Sequence

import torch
import torch.nn as nn

from .blocks import Scratch
from .motion_module import TemporalModule


class DPTHeadTemporal(nn.Module):
    """ViT tokens of four blocks → 32-channel features at 8× the patch grid.

    SAV's edit: the depth convs (``scratch.output_conv2``) are skipped, so the head ends at the
    ``scratch.output_conv1`` features (VideoDepthAnything upsamples them to the input size).
    """

    def __init__(self, in_channels: int, features: int, out_channels: Sequence[int],
                 max_frames: int):
        super().__init__()
        self.projects = nn.ModuleList(nn.Conv2d(in_channels, c, 1) for c in out_channels)
        # Reassemble the patch grid (h, w) at 4, 2, 1 and 1/2 times its size.
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(out_channels[0], out_channels[0], 4, stride=4),
            nn.ConvTranspose2d(out_channels[1], out_channels[1], 2, stride=2),
            nn.Identity(),
            nn.Conv2d(out_channels[3], out_channels[3], 3, stride=2, padding=1),
        ])
        self.scratch = Scratch(out_channels, features)
        self.motion_modules = nn.ModuleList(
            TemporalModule(c, max_frames)
            for c in (out_channels[2], out_channels[3], features, features))

    def forward(self, tokens: List[torch.Tensor], patch_h: int, patch_w: int,
                frames: int) -> torch.Tensor:
        """``tokens``: four (B·T, h·w, C) maps. Returns (B·T, features/2, 8h, 8w): the
        ``output_conv1`` map, before its upsampling to the input size."""
        levels = []
        for x, project, resize in zip(tokens, self.projects, self.resize_layers):
            x = x.transpose(1, 2).unflatten(2, (patch_h, patch_w)).contiguous()  # (B·T, C, h, w)
            levels.append(resize(project(x)))
        layer_1, layer_2, layer_3, layer_4 = levels  # (4h, 4w), (2h, 2w), (h, w), (h/2, w/2)

        layer_3 = self.motion_modules[0](layer_3, frames)
        layer_4 = self.motion_modules[1](layer_4, frames)

        scratch = self.scratch
        layer_1 = scratch.layer1_rn(layer_1)
        layer_2 = scratch.layer2_rn(layer_2)
        layer_3 = scratch.layer3_rn(layer_3)
        layer_4 = scratch.layer4_rn(layer_4)  # all (B·T, features, ·, ·)

        # refinenet4 has no skip input: its resConfUnit1 is in checkpoints but never used.
        path = scratch.refinenet4(layer_4, size=layer_3.shape[-2:])
        path = self.motion_modules[2](path, frames)
        path = scratch.refinenet3(path, layer_3, size=layer_2.shape[-2:])
        path = self.motion_modules[3](path, frames)
        path = scratch.refinenet2(path, layer_2, size=layer_1.shape[-2:])
        path = scratch.refinenet1(path, layer_1)  # (B·T, features, 8h, 8w)

        return scratch.output_conv1(path)  # (B·T, features/2, 8h, 8w)
