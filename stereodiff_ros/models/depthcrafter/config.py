# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""What a DepthCrafter setup is made of: the component bundle, the shipped configuration files,
and tiny test models.

The full-size architectures come from the checkpoints' own ``config.json`` files (HF
``tencent/DepthCrafter`` for the UNet, ``stabilityai/stable-video-diffusion-img2vid-xt`` for the
rest). Kept here are the two small JSON files of the SVD-xt folder that the pipeline reads as
data (scheduler, CLIP normalisation), and the smallest configurations that run the same code
paths on a CPU (architecture reference §2.2). Values are JSON types (lists, not tuples) so a
config survives a save/load round trip unchanged.
"""

from dataclasses import dataclass
from typing import Any, Dict, Tuple

from diffusers import AutoencoderKLTemporalDecoder
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.models.depthcrafter.unet import (
    DiffusersUNetSpatioTemporalConditionModelDepthCrafter)
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

# The SVD-xt scheduler/scheduler_config.json as shipped (diffusers 0.24 wrote the leftover
# DDIM/PNDM keys; EulerDiscreteScheduler ignores them).
SVD_XT_SCHEDULER_CONFIG: Dict[str, Any] = {
    '_class_name': 'EulerDiscreteScheduler',
    '_diffusers_version': '0.24.0.dev0',
    'beta_end': 0.012,
    'beta_schedule': 'scaled_linear',
    'beta_start': 0.00085,
    'clip_sample': False,
    'interpolation_type': 'linear',
    'num_train_timesteps': 1000,
    'prediction_type': 'v_prediction',
    'set_alpha_to_one': False,
    'sigma_max': 700.0,
    'sigma_min': 0.002,
    'skip_prk_steps': True,
    'steps_offset': 1,
    'timestep_spacing': 'leading',
    'timestep_type': 'continuous',
    'trained_betas': None,
    'use_karras_sigmas': True,
}

# OpenAI CLIP normalisation, CLIPImageProcessor's defaults.
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# The SVD-xt feature_extractor/preprocessor_config.json. DepthCrafter uses only the
# normalisation: it resizes to 224×224 itself and passes tensors already in [0, 1].
OPENAI_CLIP_PREPROCESSOR_CONFIG: Dict[str, Any] = {
    'crop_size': {'height': 224, 'width': 224},
    'do_center_crop': True,
    'do_convert_rgb': True,
    'do_normalize': True,
    'do_rescale': True,
    'do_resize': True,
    'feature_extractor_type': 'CLIPFeatureExtractor',
    'image_mean': list(OPENAI_CLIP_MEAN),
    'image_processor_type': 'CLIPImageProcessor',
    'image_std': list(OPENAI_CLIP_STD),
    'resample': 3,
    'rescale_factor': 0.00392156862745098,
    'size': {'shortest_edge': 224},
}

# diffusers' SVD fast-test UNet with DepthCrafter's 8 input channels; 96 = 3 added time ids × 32.
TINY_UNET_CONFIG: Dict[str, Any] = {
    'block_out_channels': [32, 64],
    'layers_per_block': 2,
    'in_channels': 8,
    'out_channels': 4,
    'down_block_types': ['CrossAttnDownBlockSpatioTemporal', 'DownBlockSpatioTemporal'],
    'up_block_types': ['UpBlockSpatioTemporal', 'CrossAttnUpBlockSpatioTemporal'],
    'cross_attention_dim': 32,
    'num_attention_heads': 8,
    'addition_time_embed_dim': 32,
    'projection_class_embeddings_input_dim': 96,
}

# Two encoder levels: latents are 1/2 of the frame size (the real VAE: 1/8).
TINY_VAE_CONFIG: Dict[str, Any] = {
    'block_out_channels': [32, 64],
    'in_channels': 3,
    'out_channels': 3,
    'down_block_types': ['DownEncoderBlock2D', 'DownEncoderBlock2D'],
    'latent_channels': 4,
}

# image_size must stay 224 (frames are resized to 224×224 whatever the model) and projection_dim
# must equal the UNet's cross_attention_dim.
TINY_CLIP_CONFIG: Dict[str, Any] = {
    'hidden_size': 32,
    'projection_dim': 32,
    'num_hidden_layers': 2,
    'num_attention_heads': 4,
    'intermediate_size': 37,
    'image_size': 224,
    'patch_size': 32,
}

# Key-derived weights at this gain keep every stage's output varied: UNet outputs span about
# ±1.5 and decoded images stay inside (0, 1), so the final clamp does not hide differences.
TINY_GAIN = 1.0


@dataclass
class DepthCrafterComponents:
    """Everything stage 2 runs: the per-frame-context UNet, SVD's temporal VAE and CLIP image
    encoder, the scheduler configuration (a dict for ``EulerDiscreteScheduler.from_config``) and
    the CLIP input normalisation."""

    unet: DiffusersUNetSpatioTemporalConditionModelDepthCrafter
    vae: AutoencoderKLTemporalDecoder
    image_encoder: CLIPVisionModelWithProjection
    scheduler_config: Dict[str, Any]
    image_mean: Tuple[float, float, float]
    image_std: Tuple[float, float, float]


def tiny_depthcrafter(gain: float = TINY_GAIN) -> DepthCrafterComponents:
    """The tiny test models, fp32 in eval mode, every tensor derived from its key name
    (``fill_synthetic``), so any implementation with diffusers' key names builds the same ones."""
    unet = DiffusersUNetSpatioTemporalConditionModelDepthCrafter(**TINY_UNET_CONFIG)
    vae = AutoencoderKLTemporalDecoder(**TINY_VAE_CONFIG)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**TINY_CLIP_CONFIG))
    for model in (unet, vae, image_encoder):
        fill_synthetic(model, gain).eval()
    return DepthCrafterComponents(
        unet=unet, vae=vae, image_encoder=image_encoder,
        scheduler_config=dict(SVD_XT_SCHEDULER_CONFIG),
        image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD)
