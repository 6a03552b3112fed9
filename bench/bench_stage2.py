# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stage-2 time per frame and peak memory: the one-step engine, and optionally DepthCrafter's
own 5-step pipeline on the same weights and frames.

``--model full`` builds SVD-xt-sized models (the DepthCrafter UNet config, SVD-xt's temporal
VAE, OpenCLIP ViT-H/14) with key-derived weights, so the compute is that of the real checkpoints;
``--model tiny`` uses the test models. Frames are a drifting texture and stage 1's depth a smooth
random field: stage 2's cost does not depend on the content.

    .venv/bin/python bench/bench_stage2.py --model full --frames 8 --size 256 192
    .venv/bin/python bench/bench_stage2.py --model full --device cuda --precision fp16 \
        --frames 110 --size 640 480
    .venv/bin/python bench/bench_stage2.py --model full --frames 8 --size 256 192 \
        --upstream /path/to/DepthCrafter --upstream-python /path/to/venv/bin/python

With ``--upstream`` (a Tencent/DepthCrafter checkout, in a Python with diffusers) the official
``DepthCrafterPipeline`` runs v1.0.1's defaults (5 steps, guidance 1.0) in a subprocess on the
same key-derived weights: the ratio is what one step saves, measured side by side.
"""

import argparse
import os
from pathlib import Path
import resource
import subprocess
import sys
import tempfile
import time

from diffusers import AutoencoderKLTemporalDecoder
import numpy as np
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.engines.stage2 import stage2_size, Stage2Engine, WEIGHT_DTYPES
from stereodiff_ros.models.depthcrafter import (
    DiffusersUNetSpatioTemporalConditionModelDepthCrafter, tiny_depthcrafter)
from stereodiff_ros.models.depthcrafter.config import (
    DepthCrafterComponents, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, SVD_XT_SCHEDULER_CONFIG)
from stereodiff_ros.synthetic import drifting_texture
import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

# tencent/DepthCrafter config.json (= SVD-xt's UNet), SVD-xt's vae/ and image_encoder/ configs
FULL_UNET = dict(
    sample_size=96, in_channels=8, out_channels=4,
    down_block_types=('CrossAttnDownBlockSpatioTemporal',) * 3 + ('DownBlockSpatioTemporal',),
    up_block_types=('UpBlockSpatioTemporal',) + ('CrossAttnUpBlockSpatioTemporal',) * 3,
    block_out_channels=(320, 640, 1280, 1280), addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=768, layers_per_block=2, cross_attention_dim=1024,
    transformer_layers_per_block=1, num_attention_heads=(5, 10, 20, 20), num_frames=25)
FULL_VAE = dict(in_channels=3, out_channels=3, down_block_types=('DownEncoderBlock2D',) * 4,
                block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                sample_size=768, scaling_factor=0.18215, force_upcast=True)
FULL_CLIP = dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=16,
                 num_hidden_layers=32, patch_size=14, image_size=224, projection_dim=1024,
                 hidden_act='gelu', layer_norm_eps=1e-5)
GAIN = 1.0


def full_size_models(dtype=torch.float32) -> DepthCrafterComponents:
    with torch.device('meta'):  # no random init of 1.6 B parameters before overwriting them
        unet = DiffusersUNetSpatioTemporalConditionModelDepthCrafter(**FULL_UNET)
        vae = AutoencoderKLTemporalDecoder(**FULL_VAE)
    # CLIP is built for real: its position ids are a non-persistent buffer
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**FULL_CLIP))
    models = []
    for model in (unet.to_empty(device='cpu'), vae.to_empty(device='cpu'), clip):
        model = fill_synthetic(model, GAIN).eval()
        models.append(model if dtype == torch.float32 else model.to(dtype=dtype))
    return DepthCrafterComponents(*models, dict(SVD_XT_SCHEDULER_CONFIG), OPENAI_CLIP_MEAN,
                                  OPENAI_CLIP_STD)


def inputs(num_frames, width, height):
    frames = np.stack(drifting_texture(num_frames, height, width, step=8))
    y, x = np.mgrid[:height, :width]
    depth = np.stack([2 + np.sin(x / 37 + k / 9) + 0.5 * np.cos(y / 23) for k in
                      range(num_frames)]).astype(np.float32)
    return frames, depth


def peak_mib(device):
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def official(args, out):
    """DepthCrafterPipeline (5 steps, guidance 1.0, 110/25 windows) on the same weights."""
    sys.path.insert(0, args.upstream)
    from depthcrafter.depth_crafter_ppl import DepthCrafterPipeline
    from diffusers import EulerDiscreteScheduler
    from transformers import CLIPImageProcessor
    parts = full_size_models() if args.model == 'full' else tiny_depthcrafter()
    # the official class around the same tensors (only forward differs)
    with torch.device('meta'):
        unet = official_unet_class()(**parts.unet.config)
    unet.load_state_dict(parts.unet.state_dict(), assign=True)
    pipe = DepthCrafterPipeline(
        vae=parts.vae, image_encoder=parts.image_encoder, unet=unet.eval(),
        scheduler=EulerDiscreteScheduler.from_config(parts.scheduler_config),
        feature_extractor=CLIPImageProcessor())
    frames, _ = inputs(args.frames, *args.size)
    height, width = stage2_size(args.size[1], args.size[0])
    video = np.stack([np.asarray(frame, np.float32) / 255 for frame in frames])
    import cv2
    video = np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
                      for frame in video])
    start = time.perf_counter()
    with torch.inference_mode():
        pipe(video, height=height, width=width, output_type='np', guidance_scale=1.0,
             num_inference_steps=5, window_size=110, overlap=25)
    seconds = (time.perf_counter() - start) / args.frames
    np.savez(out, seconds=seconds, peak=peak_mib(torch.device('cpu')))


def official_unet_class():
    from depthcrafter.unet import DiffusersUNetSpatioTemporalConditionModelDepthCrafter
    return DiffusersUNetSpatioTemporalConditionModelDepthCrafter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', choices=['tiny', 'full'], default='full')
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, nargs=2, default=[256, 192], metavar=('W', 'H'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--upstream', help='a Tencent/DepthCrafter checkout')
    parser.add_argument('--upstream-python', default=sys.executable)
    parser.add_argument('--official-out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.official_out:
        official(args, args.official_out)
        return
    device = torch.device(args.device)
    width, height = args.size
    parts = full_size_models(WEIGHT_DTYPES[args.precision]) if args.model == 'full' \
        else tiny_depthcrafter()
    engine = Stage2Engine(parts, device=args.device, precision=args.precision)
    frames, depth = inputs(args.frames, width, height)
    print(f'{args.model} models, {args.frames} frames at {width}x{height} (stage 2 at '
          f'{stage2_size(height, width)[::-1]}), {device}, {args.precision}, torch threads '
          f'{torch.get_num_threads()}')
    engine.run(frames[:2], depth[:2], progress=False)  # warm-up
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    engine.run(frames, depth, progress=False)
    if device.type == 'cuda':
        torch.cuda.synchronize()
    rows = [('one-step engine', (time.perf_counter() - start) / args.frames, peak_mib(device))]
    print(f'one-step engine: {rows[0][1]:.3f} s/frame, peak {rows[0][2]:.0f} MiB', flush=True)
    del engine, parts  # the official run needs the memory
    if args.upstream:
        with tempfile.TemporaryDirectory() as folder:
            out = os.path.join(folder, 'official.npz')
            env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
            subprocess.run([args.upstream_python, __file__, '--model', args.model, '--frames',
                            str(args.frames), '--size', str(width), str(height), '--upstream',
                            args.upstream, '--official-out', out], check=True, env=env)
            with np.load(out) as result:
                rows.append(('official DepthCrafter, 5 steps', float(result['seconds']),
                             float(result['peak'])))
    print('| run | s/frame | peak MiB |\n|---|---|---|')
    for name, seconds, peak in rows:
        print(f'| {name} | {seconds:.3f} | {peak:.0f} |')
    for name, seconds, _ in rows[1:]:
        print(f'one-step speed-up over {name}: {seconds / rows[0][1]:.2f}x')
    print('(CPU peak = process maximum host RSS, weights included; CUDA peak = '
          'max_memory_allocated)')


if __name__ == '__main__':
    main()
