# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Whole-pipeline memory against video length: StereoDiff (both stages) over 100, 300 and
1,000 frames, each length in a fresh process.

Frames are rendered on demand (a lazy sequence, as a bag reader's scratch memory map would be)
and the output goes to a memory map, so what grows on the host is what the pipeline itself
keeps: stage 1's per-frame depth and confidence. On a GPU the device peak of each stage is
reported too; it should not grow with the length. Tiny models by default (the memory that
matters here is per frame, not per weight); ``--model full`` needs a GPU.

    .venv/bin/python bench/bench_stereodiff_memory.py --frames 100 300 1000
    .venv/bin/python bench/bench_stereodiff_memory.py --device cuda --precision fp16 \
        --model full --size 640 480 --frames 100 300 1000
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.engines.stage1 import Stage1Engine
from stereodiff_ros.engines.stage2 import Stage2Engine, WEIGHT_DTYPES
from stereodiff_ros.models.depthcrafter import tiny_depthcrafter
from stereodiff_ros.models.monst3r import AsymmetricCroCo3DStereo
import torch

TINY_MONST3R = dict(img_size=(64, 64), enc_embed_dim=64, enc_depth=2, enc_num_heads=2,
                    dec_embed_dim=32, dec_depth=10, dec_num_heads=2)


class RenderedVideo:
    """A random-access video of a texture panning 8 px per frame (period 512 px), cut out
    when read: no frame is stored."""

    def __init__(self, num_frames, height, width, period=512):
        self.num_frames, self.width, self.period = num_frames, width, period
        self.texture = np.random.default_rng(0).integers(0, 256, (height, width + period, 3),
                                                         dtype=np.uint8)

    def __len__(self):
        return self.num_frames

    def __getitem__(self, index):
        if not 0 <= index < self.num_frames:
            raise IndexError(index)
        offset = 8 * index % self.period
        return np.ascontiguousarray(self.texture[:, offset:offset + self.width])


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def device_peak_mib(device):
    if device.type != 'cuda':
        return float('nan')
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 20
    torch.cuda.reset_peak_memory_stats(device)
    return peak


def run_one(args):
    device = torch.device(args.device)
    if args.model == 'full':
        sys.path.insert(0, __file__.rsplit('/', 1)[0])
        from bench_stage2 import full_size_models
        stage2_parts = full_size_models(WEIGHT_DTYPES[args.precision])
        monst3r = fill_synthetic(AsymmetricCroCo3DStereo(), 1.5).eval()
    else:
        stage2_parts = tiny_depthcrafter()
        monst3r = fill_synthetic(AsymmetricCroCo3DStereo(**TINY_MONST3R), 1.5).eval()
    width, height = args.size
    stage1 = Stage1Engine(monst3r, device=args.device, precision=args.precision,
                          long_side=args.long_side)
    stage2 = Stage2Engine(stage2_parts, device=args.device, precision=args.precision)
    video = RenderedVideo(args.one, height, width)
    base = peak_rss_mib()
    device_peak_mib(device)
    start = time.perf_counter()
    first = stage1.run(video, progress=False)
    stage1_device = device_peak_mib(device)
    with tempfile.TemporaryDirectory() as folder:
        out = np.lib.format.open_memmap(f'{folder}/d.npy', 'w+', np.float32,
                                        (args.one, height, width))
        stage2.run(video, first.result.depth, progress=False, out=out)
    stage2_device = device_peak_mib(device)
    kept = (first.result.depth.nbytes + first.result.confidence.nbytes) / 2 ** 20
    print(json.dumps({'frames': args.one, 'seconds': time.perf_counter() - start,
                      'host_peak_mib': peak_rss_mib(), 'host_after_models_mib': base,
                      'stage1_outputs_mib': kept, 'stage1_device_mib': stage1_device,
                      'stage2_device_mib': stage2_device}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, nargs='+', default=[100, 300, 1000])
    parser.add_argument('--size', type=int, nargs=2, default=[64, 48], metavar=('W', 'H'))
    parser.add_argument('--long-side', type=int, default=64, help='stage-1 long side')
    parser.add_argument('--model', choices=['tiny', 'full'], default='tiny')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--one', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args)
        return
    rows = []
    for num_frames in args.frames:
        command = [sys.executable, __file__, '--one', str(num_frames), '--size',
                   *map(str, args.size), '--long-side', str(args.long_side), '--model',
                   args.model, '--device', args.device, '--precision', args.precision]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    print('| frames | host peak MiB | of which after loading | stage-1 outputs MiB | '
          'stage-1 device MiB | stage-2 device MiB | s |\n|---|---|---|---|---|---|---|')
    for row in rows:
        print(f"| {row['frames']} | {row['host_peak_mib']:.0f} | "
              f"{row['host_after_models_mib']:.0f} | {row['stage1_outputs_mib']:.1f} | "
              f"{row['stage1_device_mib']:.0f} | {row['stage2_device_mib']:.0f} | "
              f"{row['seconds']:.0f} |")


if __name__ == '__main__':
    main()
