"""Feature encoders: the two 1/4-resolution CNNs (cnet, fnet) and the VDA-S depth prior."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..video_depth_anything import VideoDepthAnything
from ..video_depth_anything.video_depth import upsample_features

VDA_PATCH = 14


class ResidualBlock(nn.Module):
    """conv-IN-ReLU ×2 plus a 1×1 projection shortcut, present even when shapes agree."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1)
        self.norm1 = nn.InstanceNorm2d(planes)
        self.norm2 = nn.InstanceNorm2d(planes)
        self.downsample = nn.Sequential(
            nn.Conv2d(in_planes, planes, 1, stride=stride), nn.InstanceNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        return F.relu(self.downsample(x) + y)


class BasicEncoder(nn.Module):
    """RAFT's instance-normalised encoder, 3 → ``output_dim`` channels at 1/4 resolution."""

    def __init__(self, output_dim: int = 96):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.norm1 = nn.InstanceNorm2d(64)
        self.layer1 = nn.Sequential(ResidualBlock(64, 64), ResidualBlock(64, 64))
        self.layer2 = nn.Sequential(ResidualBlock(64, 96, stride=2), ResidualBlock(96, 96))
        self.layer3 = nn.Sequential(ResidualBlock(96, 128), ResidualBlock(128, 128))
        self.conv2 = nn.Conv2d(128, output_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm1(self.conv1(x)))  # (N, 64, H/2, W/2)
        x = self.layer3(self.layer2(self.layer1(x)))  # (N, 128, H/4, W/4)
        return self.conv2(x)


class DepthExtractor(nn.Module):
    """Frozen VDA-S features brought to 1/4 resolution by a learned 4×4 stride-4 adapter."""

    def __init__(self):
        super().__init__()
        self.depthanything = VideoDepthAnything()
        self.conv = nn.Conv2d(32, 32, 4, stride=4)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        b, t, _, h, w = clips.shape
        # VDA needs whole patches: floor to a multiple of 14, not round.
        vda_size = (h // VDA_PATCH * VDA_PATCH, w // VDA_PATCH * VDA_PATCH)
        x = F.interpolate(clips.flatten(0, 1), size=vda_size, mode='bilinear',
                          align_corners=False)
        x = self.depthanything.coarse_features(x.unflatten(0, (b, t)))  # (b·T, 32, ., .)
        # Frame by frame: the 32-channel maps at VDA and then input resolution are the
        # largest tensors of the model (2.4 GB each for a clip at 20×720p), and the stride-4
        # adapter shrinks them right away.
        return torch.stack([
            self.conv(F.interpolate(upsample_features(frame[None], vda_size), size=(h, w),
                                    mode='bilinear', align_corners=False))[0]
            for frame in x]).unflatten(0, (b, t))  # (b, T, 32, H/4, W/4)
