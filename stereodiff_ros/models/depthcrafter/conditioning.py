# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""DepthCrafter's conditioning and output path around the UNet (architecture reference §5.2,
§5.4), one function per step so the stage-2 engine can chunk and stream them.

Frames are [n, 3, H, W] in [-1, 1] throughout. Each function matches the official
``DepthCrafterPipeline`` step named in its docstring (parity: test/test_depthcrafter_parity.py).
"""

from typing import Optional, Sequence, Tuple

from diffusers import AutoencoderKLTemporalDecoder
import torch
import torch.nn.functional as F
from transformers import CLIPVisionModelWithProjection

CLIP_SIZE = 224  # DepthCrafter resizes every frame to 224×224 for CLIP, whatever its aspect
# SVD's micro-conditioning as DepthCrafter fixes it: fps 7, motion bucket 127, augmentation 0.02.
DEFAULT_FPS = 7
DEFAULT_MOTION_BUCKET_ID = 127
DEFAULT_NOISE_AUG_STRENGTH = 0.02


def antialias_sigma(in_size: int, out_size: int) -> float:
    """Gaussian σ before a resize by in/out (skimage's rule; a floor of 0.001 when enlarging,
    which makes the blur an identity)."""
    return max((in_size / out_size - 1.0) / 2.0, 0.001)


def gaussian_kernel_size(sigma: float) -> int:
    """About 4σ wide, at least 3 taps, always odd."""
    size = int(max(4.0 * sigma, 3.0))
    return size + 1 if size % 2 == 0 else size


def gaussian_kernel(sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Normalised 1-D Gaussian taps centred on the middle one."""
    size = gaussian_kernel_size(sigma)
    offsets = torch.arange(size, dtype=torch.float64) - size // 2
    taps = torch.exp(-offsets.square() / (2.0 * sigma ** 2))
    return (taps / taps.sum()).to(dtype=dtype, device=device)


def blur_last_dim(images: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise 1-D convolution along the width of [n, C, H, W], reflect padding."""
    channels = images.shape[1]
    half = kernel.numel() // 2
    padded = F.pad(images, (half, half, 0, 0), mode='reflect')
    weight = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    return F.conv2d(padded, weight, groups=channels)


def resize_with_antialiasing(images: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """[n, C, H, W] → [n, C, *size]: separable Gaussian blur (width pass, then height pass,
    σ from each axis' scale factor), then bicubic with ``align_corners=True``; the numerics of
    diffusers' ``_resize_with_antialiasing`` that SVD and DepthCrafter use."""
    height, width = images.shape[-2:]
    kernel_w = gaussian_kernel(antialias_sigma(width, size[1]), images.dtype, images.device)
    kernel_h = gaussian_kernel(antialias_sigma(height, size[0]), images.dtype, images.device)
    blurred = blur_last_dim(images, kernel_w)
    blurred = blur_last_dim(blurred.transpose(-1, -2), kernel_h).transpose(-1, -2)
    return F.interpolate(blurred, size=size, mode='bicubic', align_corners=True)


def module_dtype(module: torch.nn.Module) -> torch.dtype:
    """The dtype a module's inputs must have: that of its first parameter."""
    return next(module.parameters()).dtype


def clip_embeddings(image_encoder: CLIPVisionModelWithProjection, frames: torch.Tensor,
                    image_mean: Sequence[float], image_std: Sequence[float],
                    chunk: int = 8) -> torch.Tensor:
    """One CLIP image embedding per frame, [n, projection_dim] in the encoder's dtype
    (``DepthCrafterPipeline.encode_video``): the antialiased 224×224 resize in fp32, back to
    [0, 1], CLIP mean/std, no crop; ``chunk`` frames per encoder call."""
    mean = torch.tensor(image_mean, dtype=torch.float32, device=frames.device).view(1, -1, 1, 1)
    std = torch.tensor(image_std, dtype=torch.float32, device=frames.device).view(1, -1, 1, 1)
    embeddings = []
    for start in range(0, frames.shape[0], chunk):
        small = resize_with_antialiasing(frames[start:start + chunk].float(),
                                         (CLIP_SIZE, CLIP_SIZE))
        pixels = ((small + 1.0) / 2.0 - mean) / std
        output = image_encoder(pixel_values=pixels.to(image_encoder.dtype))
        embeddings.append(output.image_embeds)
    return torch.cat(embeddings)


def vae_latents(vae: AutoencoderKLTemporalDecoder, frames: torch.Tensor,
                chunk: int = 8) -> torch.Tensor:
    """[n, 3, H, W] → [n, latent_channels, H/f, W/f], the mode of the posterior and NOT
    multiplied by the scaling factor: SVD's convention for the RGB conditioning latents
    (``DepthCrafterPipeline.encode_vae_video``). Runs in the dtype of the VAE's encoder half,
    which may differ from its decoder's: DepthCrafter encodes in fp32 even in an fp16 pipeline
    (the VAE's ``force_upcast``)."""
    dtype = module_dtype(vae.encoder)
    latents = [vae.encode(frames[start:start + chunk].to(dtype)).latent_dist.mode()
               for start in range(0, frames.shape[0], chunk)]
    return torch.cat(latents)


def added_time_ids(unet: torch.nn.Module, fps: float = DEFAULT_FPS,
                   motion_bucket_id: float = DEFAULT_MOTION_BUCKET_ID,
                   noise_aug_strength: float = DEFAULT_NOISE_AUG_STRENGTH,
                   dtype: torch.dtype = torch.float32,
                   device: Optional[torch.device] = None) -> torch.Tensor:
    """The UNet's micro-conditioning row [[fps, motion_bucket_id, noise_aug_strength]], [1, 3].

    Each id is embedded sinusoidally to ``addition_time_embed_dim`` and the three are
    concatenated, so the UNet's ``add_embedding`` must take 3 × that many inputs."""
    ids = (fps, motion_bucket_id, noise_aug_strength)
    expected = unet.add_embedding.linear_1.in_features
    produced = unet.config.addition_time_embed_dim * len(ids)
    if produced != expected:
        raise ValueError(
            f'the UNet embeds each of the {len(ids)} added time ids to '
            f'{unet.config.addition_time_embed_dim} values ({produced} in all) but its '
            f'add_embedding takes {expected}: addition_time_embed_dim and '
            'projection_class_embeddings_input_dim in its config.json disagree; it is not an '
            'SVD/DepthCrafter UNet')
    return torch.tensor([ids], dtype=dtype, device=device)


def decode_disparity(vae: AutoencoderKLTemporalDecoder, latents: torch.Tensor,
                     num_frames: Optional[int] = None) -> torch.Tensor:
    """Scaled latents [n, 4, h, w] → relative disparity [n, H, W] fp32 in [0, 1], before the
    video-wide min–max.

    One call is one temporal-decoder chunk: the decoder mixes frames across each run of
    ``num_frames`` latents (default: all n, which must be a multiple), so chunking differently
    changes the result; DepthCrafter decodes 8 at a time. The image is (x/2 + 0.5) clamped to
    [0, 1] and averaged over its channels (SVD ``decode_latents`` + ``postprocess_video`` and
    DepthCrafter's channel mean)."""
    count = latents.shape[0]
    num_frames = count if num_frames is None else num_frames
    if num_frames < 1 or count % num_frames:
        raise ValueError(f'{count} latents do not split into videos of num_frames={num_frames}')
    # Multiplying by the reciprocal, as SVD's decode_latents does, keeps bitwise parity.
    scaled = latents.to(module_dtype(vae.decoder)) * (1.0 / vae.config.scaling_factor)
    images = vae.decode(scaled, num_frames=num_frames).sample.float()  # [n, 3, H, W]
    images = (images / 2.0 + 0.5).clamp(0.0, 1.0)
    return images.sum(dim=1) / images.shape[1]
