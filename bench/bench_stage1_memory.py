"""Host memory of the stage-1 alignment against video length.

Each length runs in a fresh process that streams MonST3R-sized pairwise outputs (a moving camera
over a gently curved wall, each pair at a random scale, at 512×384 by default) through
``Stage1Alignment`` in frame order, exactly as ``Stage1Engine`` feeds it, then solves the tree and
supplies one pointmap per frame. The network is left out: its memory does not depend on the
video length. Reported: peak RSS above the process's RSS after imports, and, for comparison,
what upstream's ``PointCloudOptimizer`` holds for the same pairs before it starts (pointmaps and
confidences of every pair, 32 bytes per pixel per directed pair, doubled by the stacked copies
``batchify=True`` makes; arithmetic, not a run).

    .venv/bin/python bench/bench_stage1_memory.py --frames 100 300 1000
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2 ** 20


def pair_outputs(i, j, height, width, rng):
    """View i and view j of a wall 3 m away, camera moving 5 cm per frame, in camera i's
    frame, at one random scale for the pair."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    focal = np.float32(width)
    maps = []
    for view in (i, j):
        depth = 3 + 0.2 * np.sin((x + 7 * view) / 40) + 0.1 * np.cos(y / 30)
        points = np.stack(((x - width / 2) / focal * depth, (y - height / 2) / focal * depth,
                           depth), -1)
        points[..., 0] += 0.05 * (view - i)
        maps.append(points)
    scale = np.float32(np.exp(rng.uniform(-0.7, 0.7)))
    conf = 1 + np.exp(rng.uniform(0, 2, size=(2, height, width))).astype(np.float32)
    return maps[0] * scale, conf[0], maps[1] * scale, conf[1]


def run_one(num_frames: int, height: int, width: int) -> dict:
    from stereodiff_ros.alignment import Stage1Alignment
    from stereodiff_ros.pairs import make_pairs
    import torch
    torch.set_num_threads(2)
    baseline = current_rss_mib()
    edges = make_pairs(num_frames)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    alignment = Stage1Alignment(num_frames, edges, (height, width))
    most_held = 0
    for e in sorted(range(len(edges)), key=lambda e: max(edges[e])):
        alignment.add(e, *pair_outputs(*edges[e], height, width, rng))
        most_held = max(most_held, alignment.held_views)
    for e, role in alignment.solve():
        outputs = pair_outputs(*edges[e], height, width, rng)
        alignment.supply((e, role), outputs[0] if role == 1 else outputs[2])
    result = alignment.result()
    seconds = time.perf_counter() - start
    pixels = height * width
    return dict(frames=num_frames, directed_pairs=len(edges), size=f'{width}x{height}',
                peak_above_baseline_mib=round(peak_rss_mib() - baseline, 1),
                outputs_mib=round((result.depth.nbytes + result.confidence.nbytes) / 2 ** 20, 1),
                most_pointmaps_held=most_held, seconds=round(seconds, 1),
                upstream_pairs_mib=round(2 * 32 * pixels * len(edges) / 2 ** 20, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, nargs='+', default=[100, 300, 1000])
    parser.add_argument('--height', type=int, default=384)
    parser.add_argument('--width', type=int, default=512)
    parser.add_argument('--one', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.frames[0], args.height, args.width)))
        return
    rows = []
    for frames in args.frames:
        out = subprocess.run([sys.executable, __file__, '--one', '--frames', str(frames),
                              '--height', str(args.height), '--width', str(args.width)],
                             check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print('\n| frames | pairs | peak host MiB (ours) | outputs MiB | upstream pair data MiB |')
    print('|---|---|---|---|---|')
    for row in rows:
        print(f"| {row['frames']} | {row['directed_pairs']} | {row['peak_above_baseline_mib']} "
              f"| {row['outputs_mib']} | {row['upstream_pairs_mib']} |")


if __name__ == '__main__':
    main()
