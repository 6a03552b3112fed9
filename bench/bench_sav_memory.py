# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Peak host memory of one SAV clip, ours against the official code, each in a fresh process.

Without a GPU this is the memory proxy: every intermediate tensor the forward keeps alive
(stored predictions, 81-way correlation temporaries, explicit VDA attention) lands in host
memory instead. The figure is the peak resident set during the clip minus the resident set
just before it (weights and input already loaded).
CPU: `make bench-sav UPSTREAM=... BENCH=bench/bench_sav_memory.py ARGS="--size 128x256"`.
"""
import argparse
import json
from pathlib import Path
import subprocess
import sys

CHILD = r"""
import json, resource, sys
sys.path.insert(0, {bench!r})
import numpy as np, torch
from bench_sav import clip
left, right = clip({height}, {width}, {frames})
if {official}:
    from upstream_sav import official_clip, official_model
    model = official_model({upstream!r})
    run = lambda: official_clip(model, left, right)
else:
    from stereo_any_video_ros.engines.sav import SavEngine
    from stereo_any_video_ros.models.stereoanyvideo.stereoanyvideo import StereoAnyVideo
    from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
    engine = SavEngine(fill_synthetic(StereoAnyVideo()))
    run = lambda: engine.infer_clip(left, right)
def rss_mib():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmRSS'):
                return int(line.split()[1]) / 1024
before = rss_mib()
run()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{'before': before, 'peak': peak}}))
"""


def measure(official: bool, args) -> dict:
    height, width = map(int, args.size.split('x'))
    code = CHILD.format(bench=str(Path(__file__).parent), height=height, width=width,
                        frames=args.frames, official=official, upstream=args.upstream)
    out = subprocess.run([sys.executable, '-c', code], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True)
    parser.add_argument('--size', default='128x256', help='HxW')
    parser.add_argument('--frames', type=int, default=20)
    args = parser.parse_args()
    results = {name: measure(name == 'official', args) for name in ('official', 'ours')}
    for name, result in results.items():
        print(f'{name:>8}: {result["peak"] - result["before"]:8.0f} MiB above the '
              f'{result["before"]:.0f} MiB loaded ({args.size}, T={args.frames})')
    ratio = ((results['official']['peak'] - results['official']['before']) /
             (results['ours']['peak'] - results['ours']['before']))
    print(f'official / ours: {ratio:.2f}x')


if __name__ == '__main__':
    main()
