# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Our SAV against the official code, side by side in one run, on identical weights and input.

For each size the same T-frame synthetic clip goes through the official forward (fp32) and
through our engine in each requested precision, alternating, `--repeats` times; the table gives
median clip time, ms per frame, official-mode throughput (stride-10 windows emit 10 frames per
clip), online-mode rate for the node (`--online-stride` new frames per clip), peak device
memory, and the max |disparity| difference to the official fp32 output and to our fp32.

Weights are key-derived (no checkpoint needed); speed does not depend on their values.
CPU: `make bench-sav UPSTREAM=/path/containing/stereoanyvideo`
GPU: add `ARGS="--device cuda --sizes 480x640 720x1280 --precisions fp32 bf16 fp16"`.
"""
import argparse
import statistics
import sys
import time

import numpy as np
from stereo_any_video_ros.engines.sav import SavEngine
from stereo_any_video_ros.models.stereoanyvideo.stereoanyvideo import StereoAnyVideo
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereo_any_video_ros.synthetic import StereoRig, SyntheticScene
import torch
from upstream_sav import official_clip, official_model


def clip(height: int, width: int, frames: int):
    scene = SyntheticScene(StereoRig(width, height, fx=0.8 * width, baseline=0.12), seed=5)
    pairs = [scene.frame(i) for i in range(frames)]
    return np.stack([p.left for p in pairs]), np.stack([p.right for p in pairs])


def timed(run, device: torch.device):
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    out = run()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == 'cuda' else float('nan')
    return out, time.perf_counter() - start, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True,
                        help='folder that contains the `stereoanyvideo` checkout')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--sizes', nargs='+', default=['128x256'], help='HxW')
    parser.add_argument('--frames', type=int, default=20)
    parser.add_argument('--precisions', nargs='+', default=['fp32'])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--online-stride', type=int, default=10)
    parser.add_argument('--threads', type=int, default=0, help='CPU threads; 0 = torch default')
    parser.add_argument('--skip-reference', action='store_true',
                        help='only ours (e.g. when the official code runs out of memory)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    model = fill_synthetic(StereoAnyVideo())
    engines = {p: SavEngine(model, args.device, p) for p in args.precisions}
    reference = None if args.skip_reference else official_model(args.upstream).to(device)
    print(f'device {device}, T={args.frames}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} CPU threads')
    header = (f'{"size":>9} {"model":>9} {"clip s":>8} {"ms/frame":>9} {"official fps":>12} '
              f'{"online Hz":>9} {"peak GiB":>8} {"|d-ref|":>9} {"|d-fp32|":>9} {"speed-up":>8}')
    print(header)
    for size in args.sizes:
        height, width = map(int, size.split('x'))
        left, right = clip(height, width, args.frames)
        runs = {name: [] for name in (['official'] if reference else []) + list(engines)}
        outputs, peaks = {}, {}
        for name in list(engines)[:1]:  # warm-up: kernel selection, allocator
            engines[name].infer_clip(left[:2], right[:2])
        for _ in range(args.repeats):
            if reference is not None:
                outputs['official'], seconds, peaks['official'] = timed(
                    lambda: official_clip(reference, left, right, args.device), device)
                runs['official'].append(seconds)
            for name, engine in engines.items():
                outputs[name], seconds, peaks[name] = timed(
                    lambda: engine.infer_clip(left, right), device)
                runs[name].append(seconds)
        base = statistics.median(runs['official']) if reference is not None else None
        for name, times in runs.items():
            seconds = statistics.median(times)
            vs_ref = (np.abs(outputs[name] - outputs['official']).max()
                      if reference is not None else float('nan'))
            vs_fp32 = (np.abs(outputs[name] - outputs['fp32']).max()
                       if 'fp32' in outputs else float('nan'))
            speed_up = f'{base / seconds:.2f}x' if base else '-'
            print(f'{size:>9} {name:>9} {seconds:8.2f} {1e3 * seconds / args.frames:9.1f} '
                  f'{10 / seconds:12.2f} {args.online_stride / seconds:9.2f} '
                  f'{peaks[name]:8.2f} {vs_ref:9.2e} {vs_fp32:9.2e} {speed_up:>8}',
                  flush=True)
        if device.type == 'cuda':
            torch.cuda.empty_cache()


if __name__ == '__main__':
    sys.exit(main())
