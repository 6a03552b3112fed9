"""DUSt3R's DPT head (Ranftl et al., 2021): four token maps of the encoder/decoder stack →
a full-resolution 4-channel map (xyz + confidence).

Key layout is that of CroCo's ``DPTOutputAdapter`` as DUSt3R fixes it
(``DPTOutputAdapter_fix``): ``act_postprocess``, ``scratch`` and ``head``, without the
``act_{1..4}_postprocess`` duplicates.
"""

from typing import Dict, List, Sequence, Tuple

from stereo_any_video_ros.models.video_depth_anything.blocks import (
    conv3x3, FeatureFusionBlock)
import torch
import torch.nn as nn

from .postprocess import postprocess

LAYER_DIMS = (96, 192, 384, 768)
FEATURE_DIM = 256
LAST_DIM = 128
PATCH_SIZE = 16  # the head's own patch size: DUSt3R never passes the backbone's to it


class Scratch(nn.Module):
    """Per-level projection to ``features`` channels and the coarse-to-fine fusion."""

    def __init__(self, in_channels: Sequence[int], features: int):
        super().__init__()
        self.layer1_rn = conv3x3(in_channels[0], features, bias=False)
        self.layer2_rn = conv3x3(in_channels[1], features, bias=False)
        self.layer3_rn = conv3x3(in_channels[2], features, bias=False)
        self.layer4_rn = conv3x3(in_channels[3], features, bias=False)
        # The same four convs again: checkpoints carry both names, and the two must stay tied.
        self.layer_rn = nn.ModuleList(
            [self.layer1_rn, self.layer2_rn, self.layer3_rn, self.layer4_rn])
        self.refinenet1 = FeatureFusionBlock(features)
        self.refinenet2 = FeatureFusionBlock(features)
        self.refinenet3 = FeatureFusionBlock(features)
        self.refinenet4 = FeatureFusionBlock(features)

    def forward(self, layers: List[torch.Tensor]) -> torch.Tensor:
        """Maps at 4h, 2h, h and ceil(h/2) (and the same for w) → (B, features, 8h, 8w)."""
        layer_1, layer_2, layer_3, layer_4 = (rn(x) for rn, x in zip(self.layer_rn, layers))
        # The coarsest level is rounded up, so its ×2 map is cropped back to the patch grid.
        path = self.refinenet4(layer_4)[:, :, :layer_3.shape[2], :layer_3.shape[3]]
        path = self.refinenet3(path, layer_3)
        path = self.refinenet2(path, layer_2)
        return self.refinenet1(path, layer_1)


class DPTOutputAdapter(nn.Module):
    """Token maps picked by ``hooks`` → (B, num_channels, H, W)."""

    def __init__(self, dim_tokens: Sequence[int], hooks: Sequence[int], num_channels: int):
        super().__init__()
        self.hooks = list(hooks)
        d1, d2, d3, d4 = LAYER_DIMS
        # Reassemble each token map as an image at 4, 2, 1 and 1/2 times the patch grid.
        self.act_postprocess = nn.ModuleList([
            nn.Sequential(nn.Conv2d(dim_tokens[0], d1, 1), nn.ConvTranspose2d(d1, d1, 4, 4)),
            nn.Sequential(nn.Conv2d(dim_tokens[1], d2, 1), nn.ConvTranspose2d(d2, d2, 2, 2)),
            nn.Sequential(nn.Conv2d(dim_tokens[2], d3, 1)),
            nn.Sequential(nn.Conv2d(dim_tokens[3], d4, 1), nn.Conv2d(d4, d4, 3, 2, padding=1)),
        ])
        self.scratch = Scratch(LAYER_DIMS, FEATURE_DIM)
        self.head = nn.Sequential(
            conv3x3(FEATURE_DIM, FEATURE_DIM // 2),
            nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True),
            conv3x3(FEATURE_DIM // 2, LAST_DIM),
            nn.ReLU(),
            nn.Conv2d(LAST_DIM, num_channels, 1),
        )

    def forward(self, tokens: Sequence[torch.Tensor], image_size: Tuple[int, int]
                ) -> torch.Tensor:
        h, w = image_size[0] // PATCH_SIZE, image_size[1] // PATCH_SIZE
        layers = []
        for hook, reassemble in zip(self.hooks, self.act_postprocess):
            x = tokens[hook].transpose(1, 2).unflatten(2, (h, w))  # (B, C, h, w)
            layers.append(reassemble(x))
        return self.head(self.scratch(layers))  # (B, num_channels, 16h, 16w)


class PixelwiseTaskWithDPT(nn.Module):
    """DPT on [encoder output, decoder block 1, …, decoder block L] at hooks
    [0, L/2, 3L/4, L], then the pointmap/confidence post-processing."""

    def __init__(self, enc_embed_dim: int, dec_embed_dim: int, dec_depth: int,
                 conf_mode: Tuple[str, float, float]):
        super().__init__()
        self.conf_mode = conf_mode
        hooks = (0, dec_depth * 2 // 4, dec_depth * 3 // 4, dec_depth)
        dims = (enc_embed_dim, dec_embed_dim, dec_embed_dim, dec_embed_dim)
        self.dpt = DPTOutputAdapter(dims, hooks, num_channels=4)

    def forward(self, tokens: Sequence[torch.Tensor], image_size: Tuple[int, int]
                ) -> Dict[str, torch.Tensor]:
        return postprocess(self.dpt(tokens, image_size), self.conf_mode)
