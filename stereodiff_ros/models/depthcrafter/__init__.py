# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""DepthCrafter (Hu et al., 2024), StereoDiff's stage-2 video diffusion model: the per-frame
context UNet, the conditioning and decoding steps around it, and local checkpoint loading.

The UNet is ``tencent/DepthCrafter``; the VAE, CLIP image encoder and scheduler come from
``stabilityai/stable-video-diffusion-img2vid-xt``. Classes and state-dict keys are diffusers'
and transformers' own, so the published folders load unchanged.
"""

from .conditioning import (
    added_time_ids, clip_embeddings, decode_disparity, resize_with_antialiasing, vae_latents)
from .config import (
    DepthCrafterComponents, OPENAI_CLIP_PREPROCESSOR_CONFIG, SVD_XT_SCHEDULER_CONFIG,
    tiny_depthcrafter)
from .pretrained import DepthCrafterCheckpointError, load_depthcrafter, save_depthcrafter
from .unet import DiffusersUNetSpatioTemporalConditionModelDepthCrafter

__all__ = [
    'DepthCrafterCheckpointError', 'DepthCrafterComponents',
    'DiffusersUNetSpatioTemporalConditionModelDepthCrafter', 'OPENAI_CLIP_PREPROCESSOR_CONFIG',
    'SVD_XT_SCHEDULER_CONFIG', 'added_time_ids', 'clip_embeddings', 'decode_disparity',
    'load_depthcrafter', 'resize_with_antialiasing', 'save_depthcrafter', 'tiny_depthcrafter',
    'vae_latents',
]
