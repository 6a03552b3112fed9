"""DPT decoder parts (Ranftl et al., 2021): residual conv units, fusion blocks, the scratch."""

from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_channels: int, out_channels: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)


class ResidualConvUnit(nn.Module):
    """x + conv(relu(conv(relu(x)))), no normalisation."""

    def __init__(self, features: int):
        super().__init__()
        self.conv1 = conv3x3(features, features)
        self.conv2 = conv3x3(features, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FeatureFusionBlock(nn.Module):
    """Add the refined skip, refine, upsample (bilinear, corners aligned), 1×1 conv."""

    def __init__(self, features: int):
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, 1)
        self.resConfUnit1 = ResidualConvUnit(features)  # refines the skip input
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(self, x: torch.Tensor, skip: Optional[torch.Tensor] = None,
                size: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """Fused map at ``size``, by default twice the input size."""
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        size = size or (2 * x.shape[-2], 2 * x.shape[-1])
        x = F.interpolate(x, size=size, mode='bilinear', align_corners=True)
        return self.out_conv(x)


class Scratch(nn.Module):
    """The decoder proper: one conv per level to ``features`` channels, four fusion stages and
    the output convs."""

    def __init__(self, in_channels: Sequence[int], features: int):
        super().__init__()
        self.layer1_rn = conv3x3(in_channels[0], features, bias=False)
        self.layer2_rn = conv3x3(in_channels[1], features, bias=False)
        self.layer3_rn = conv3x3(in_channels[2], features, bias=False)
        self.layer4_rn = conv3x3(in_channels[3], features, bias=False)
        self.refinenet1 = FeatureFusionBlock(features)
        self.refinenet2 = FeatureFusionBlock(features)
        self.refinenet3 = FeatureFusionBlock(features)
        self.refinenet4 = FeatureFusionBlock(features)
        self.output_conv1 = conv3x3(features, features // 2)
        # VDA's depth head. SAV stops at output_conv1, but every checkpoint carries these weights.
        self.output_conv2 = nn.Sequential(
            conv3x3(features // 2, 32), nn.ReLU(), nn.Conv2d(32, 1, 1), nn.ReLU())
