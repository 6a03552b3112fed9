#!/usr/bin/env python3
# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Regenerate sav_golden.npz.xz: SAV reference outputs on key-derived weights.

How the fixtures were made (see test/test_sav_parity.py):
  1. the official code, TomTomTommi/stereoanyvideo at 3a8beddc, checked out in a folder named
     `stereoanyvideo` whose parent is given as --upstream (its imports are absolute), with
     einops, easydict, unfoldNd, opt_einsum, scipy and opencv installed; timm and torchvision
     are imported but unused, so they are stubbed;
  2. the official StereoAnyVideo built on CPU (a throw-away VDA file satisfies its
     CWD-relative load) and every state-dict entry replaced by `synthetic_state_dict`
     (gain 0.8: a hash-seeded tensor per key; the 8 `pos_encoder.pe` buffers kept as built);
  3. synthetic stereo clips from `SyntheticScene` (uint8 RGB): 20 frames at 64×128, 20 at
     38×70 (which needs replicate padding to 64×96) and 45 at 32×64;
  4. fp32 CPU outputs of `forward(..., iters=20, test_mode=True)` on the first T = 2, 5, 20
     frames of the first two (padded and unpadded with the official InputPadder), and of
     `forward_batch_test(iters=20)` on the first N = 25 and 45 frames of the third, with its
     `.cuda()` made a no-op;
  5. saved with np.savez and compressed with LZMA (the sizes keep the file under 2 MB).
`--check-threads` first reruns one case with 1 and 2 threads to show the weights keep the
reference stable (the issue asks for about 1e-5).

Run outside the project's test suite, e.g.
    python test/golden/make_sav_golden.py --upstream /work/ref
"""
import argparse
import io
import lzma
from pathlib import Path
import sys

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))
from stereo_any_video_ros.synthetic import StereoRig, SyntheticScene  # noqa: E402
import torch  # noqa: E402
from upstream_sav import official_clip, official_model, official_sequence  # noqa: E402

OUT = Path(__file__).with_name('sav_golden.npz.xz')
CLIP_SIZES = {'64x128': (64, 128), '38x70': (38, 70)}
SEQUENCE_SIZE = (32, 64)
CLIP_LENGTHS = (2, 5, 20)
SEQUENCE_LENGTHS = (25, 45)


def scene_clip(width: int, height: int, frames: int, seed: int):
    rig = StereoRig(width=width, height=height, fx=width * 0.8, baseline=0.12)
    scene = SyntheticScene(rig, seed=seed)
    pairs = [scene.frame(i) for i in range(frames)]
    return (np.stack([p.left for p in pairs]), np.stack([p.right for p in pairs]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True,
                        help='folder that contains the `stereoanyvideo` checkout')
    parser.add_argument('--check-threads', action='store_true')
    args = parser.parse_args()
    model = official_model(args.upstream)

    clips = {name: scene_clip(w, h, max(CLIP_LENGTHS), seed=11 + i)
             for i, (name, (h, w)) in enumerate(CLIP_SIZES.items())}
    sequence = scene_clip(SEQUENCE_SIZE[1], SEQUENCE_SIZE[0], max(SEQUENCE_LENGTHS), seed=13)
    if args.check_threads:
        runs = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            runs.append(official_clip(model, clips['38x70'][0][:5], clips['38x70'][1][:5]))
        print(f'reference 1 vs 2 threads, T=5 38x70: max |diff| '
              f'{np.abs(runs[0] - runs[1]).max():.2e} px')

    arrays = {'sequence_left': sequence[0], 'sequence_right': sequence[1]}
    for name, (left, right) in clips.items():
        arrays[f'{name}_left'], arrays[f'{name}_right'] = left, right
        for t in CLIP_LENGTHS:
            arrays[f'forward_{name}_{t}'] = official_clip(model, left[:t], right[:t])
            print(f'forward {name} T={t} done', flush=True)
    for n in SEQUENCE_LENGTHS:
        arrays[f'sequence_{n}'] = official_sequence(model, sequence[0][:n], sequence[1][:n])
        print(f'sequence N={n} done', flush=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    OUT.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    print(f'wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)')


if __name__ == '__main__':
    main()
