#!/usr/bin/env python3
# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Regenerate depthcrafter_golden.npz.xz: the official DepthCrafter stage-2 pieces' outputs on
the tiny test models with key-derived weights.

How the fixture was made (see test/test_depthcrafter_parity.py):
  1. the official code: Tencent/DepthCrafter at e518612 (2025-12-01, `depthcrafter/` package),
     exported with `git -C <mirror> archive e518612 depthcrafter | tar x -C /work/ref/depthcrafter`
     and given as --upstream; diffusers 0.42.1, transformers 5.23.0, accelerate 1.15.0 and
     torch 2.13.0 (CPU) installed next to it (DepthCrafter's HEAD asks for diffusers >= 0.35.2;
     the pipeline methods used here are unchanged since v1.0.0). No torchvision, so
     CLIPImageProcessor is transformers' PIL/NumPy backend. Everything imports unpatched;
  2. the tiny models of the architecture reference §2.2, built from the official classes:
     `DiffusersUNetSpatioTemporalConditionModelDepthCrafter(**TINY_UNET_CONFIG)`, diffusers'
     `AutoencoderKLTemporalDecoder(**TINY_VAE_CONFIG)`, transformers'
     `CLIPVisionModelWithProjection(CLIPVisionConfig(**TINY_CLIP_CONFIG))`, every tensor filled
     by `fill_synthetic(model, TINY_GAIN)`; only these config dicts and the weight filler come
     from this repository. Wrapped in the official `DepthCrafterPipeline` with
     `EulerDiscreteScheduler.from_config(SVD_XT_SCHEDULER_CONFIG)` and
     `CLIPImageProcessor.from_dict(OPENAI_CLIP_PREPROCESSOR_CONFIG)`;
  3. inputs: uint8 frames (→ x/127.5 − 1) and fp16-representable latents, stored; the one
     large frame batch (for the blur kernels that real video sizes get) is drawn from a seeded
     torch generator and only its checksum is stored;
  4. fp32 CPU outputs of: `unet(..., return_dict=False)[0]` (batch of 2 videos × 3 frames, one
     timestep given as a float, one as a tensor); diffusers' `_resize_with_antialiasing`
     (100×60 → 30×45, a different factor per axis; 480×900 → 224², 3- and 7-tap kernels;
     24×40 → 224², enlarging; 224² outputs kept on a 32×32 grid of rows and columns that
     includes the borders); `encode_video` and `encode_vae_video` with chunk sizes
     that leave a short last chunk; `decode_latents` + `video_processor.postprocess_video(
     output_type='np')` + the channel mean of `DepthCrafterInference.infer` (`sum(-1) / 3`),
     for 5 frames decoded in one chunk and in chunks of 3; `_get_add_time_ids(7, 127, 0.02)`;
     plus the names and shapes of the three models' state dicts;
  5. saved with np.savez and compressed with LZMA.

Run outside the project's test suite, from the environment described in 1:
    /work/ref/venv/bin/python test/golden/make_depthcrafter_golden.py \
        --upstream /work/ref/depthcrafter
"""
import argparse
import io
import lzma
from pathlib import Path
import sys

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic  # noqa: E402
from stereodiff_ros.models.depthcrafter.config import (  # noqa: E402
    OPENAI_CLIP_PREPROCESSOR_CONFIG, SVD_XT_SCHEDULER_CONFIG, TINY_CLIP_CONFIG, TINY_GAIN,
    TINY_UNET_CONFIG, TINY_VAE_CONFIG)
import torch  # noqa: E402

OUT = Path(__file__).with_name('depthcrafter_golden.npz.xz')
INPUT_SEED = 7
LARGE_SEED = 11
LARGE_SHAPE = (3, 3, 480, 900)  # σ 0.57 / 1.51 → 3- and 7-tap kernels, as for 576×1024 video
GRID = np.unique(np.linspace(0, 223, 32).round().astype(np.int64))  # rows/cols kept of 224
UNET_TIMESTEPS = (0.2048, torch.tensor(1.0636))  # 0.25·ln σ of SVD's σ 2.269 and 70.54
CLIP_CHUNK = 3
VAE_CHUNK = 3
DECODE_CHUNKS = (8, 3)


def make_inputs():
    """The stored inputs: uint8 frames and fp16-exact latents/embeddings."""
    rng = np.random.default_rng(INPUT_SEED)

    def latents(*shape):
        return rng.standard_normal(shape).astype(np.float16)

    return {
        'frames': rng.integers(0, 256, (5, 3, 32, 32), dtype=np.uint8),
        'resize_small': rng.integers(0, 256, (1, 3, 100, 60), dtype=np.uint8),
        'resize_up': rng.integers(0, 256, (2, 3, 24, 40), dtype=np.uint8),
        'unet_sample': latents(2, 3, 8, 8, 12),
        'unet_context': latents(2, 3, TINY_CLIP_CONFIG['projection_dim']),
        'unet_time_ids': np.array([[7, 127, 0.02], [6, 90, 0.1]], dtype=np.float32),
        'decode_latents': (latents(5, 4, 16, 16) * np.float16(0.5)),
    }


def large_frames() -> torch.Tensor:
    generator = torch.Generator().manual_seed(LARGE_SEED)
    return torch.randint(0, 256, LARGE_SHAPE, generator=generator, dtype=torch.uint8)


def checksum(frames: torch.Tensor) -> np.ndarray:
    """Detects a change of torch's generator: the sum and the first 16 values."""
    flat = frames.reshape(-1).to(torch.int64)
    return np.concatenate([[flat.sum().item()], flat[:16].numpy()])


def to_unit(frames) -> torch.Tensor:
    """uint8 → fp32 in [-1, 1]."""
    return torch.as_tensor(frames).float() / 127.5 - 1.0


def grid(images: torch.Tensor) -> np.ndarray:
    return images[..., GRID[:, None], GRID[None, :]].numpy()


def build_upstream(upstream: str):
    sys.path.insert(0, upstream)
    from depthcrafter.depth_crafter_ppl import DepthCrafterPipeline
    from depthcrafter.unet import DiffusersUNetSpatioTemporalConditionModelDepthCrafter
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection
    unet = DiffusersUNetSpatioTemporalConditionModelDepthCrafter(**TINY_UNET_CONFIG)
    vae = AutoencoderKLTemporalDecoder(**TINY_VAE_CONFIG)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**TINY_CLIP_CONFIG))
    for model in (unet, vae, image_encoder):
        fill_synthetic(model, TINY_GAIN).eval()
    return DepthCrafterPipeline(
        vae=vae, image_encoder=image_encoder, unet=unet,
        scheduler=EulerDiscreteScheduler.from_config(SVD_XT_SCHEDULER_CONFIG),
        feature_extractor=CLIPImageProcessor.from_dict(OPENAI_CLIP_PREPROCESSOR_CONFIG))


def official_disparity(pipe, latents: torch.Tensor, chunk: int) -> np.ndarray:
    """decode_latents → postprocess_video('np') → frames[0] → channel mean, as upstream."""
    frames = pipe.decode_latents(latents[None], latents.shape[0], chunk)
    video = pipe.video_processor.postprocess_video(video=frames, output_type='np')[0]
    return video.sum(-1) / video.shape[-1]


def run_upstream(pipe, inputs) -> dict:
    from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
        _resize_with_antialiasing)
    out = {}
    sample = torch.from_numpy(inputs['unet_sample']).float()  # [B, T, 8, h, w]
    for index, timestep in enumerate(UNET_TIMESTEPS):
        out[f'unet_out_{index}'] = pipe.unet(
            sample, timestep, encoder_hidden_states=torch.from_numpy(
                inputs['unet_context']).float(),
            added_time_ids=torch.from_numpy(inputs['unet_time_ids']),
            return_dict=False)[0].numpy()
    large = to_unit(large_frames())
    out['resize_small_out'] = _resize_with_antialiasing(
        to_unit(inputs['resize_small']), (30, 45)).numpy()
    out['resize_large_out'] = grid(_resize_with_antialiasing(large[:1], (224, 224)))
    out['resize_up_out'] = grid(_resize_with_antialiasing(to_unit(inputs['resize_up']),
                                                          (224, 224)))
    frames = to_unit(inputs['frames'])
    out['clip_frames_out'] = pipe.encode_video(frames, chunk_size=CLIP_CHUNK).numpy()
    out['clip_large_out'] = pipe.encode_video(large, chunk_size=CLIP_CHUNK - 1).numpy()
    out['vae_latents_out'] = pipe.encode_vae_video(frames, chunk_size=VAE_CHUNK).numpy()
    latents = torch.from_numpy(inputs['decode_latents']).float()
    for chunk in DECODE_CHUNKS:
        out[f'disparity_chunk{chunk}_out'] = official_disparity(pipe, latents, chunk)
    out['added_time_ids_out'] = pipe._get_add_time_ids(
        7, 127, 0.02, torch.float32, 1, 1, False).numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True,
                        help='folder holding the official `depthcrafter` package')
    args = parser.parse_args()
    pipe = build_upstream(args.upstream)
    inputs = make_inputs()
    arrays = dict(inputs, large_checksum=checksum(large_frames()))
    for name in ('unet', 'vae', 'image_encoder'):
        state = getattr(pipe, name).state_dict()
        arrays[f'keys_{name}'] = np.array(list(state))
        arrays[f'shapes_{name}'] = np.array([','.join(map(str, v.shape)) for v in state.values()])
    with torch.no_grad():
        arrays.update(run_upstream(pipe, inputs))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    OUT.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    print(f'wrote {OUT} ({OUT.stat().st_size / 1e3:.0f} kB)')


if __name__ == '__main__':
    main()
