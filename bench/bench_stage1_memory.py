"""Host memory of the stage-1 alignment against video length.

Each length runs in a fresh process that streams MonST3R-sized pairwise outputs (a moving camera
over a gently curved wall, each pair at a random scale, at 512×384 by default) through
``Stage1Alignment`` in frame order, exactly as ``Stage1Engine`` feeds it, then solves the tree and
supplies one pointmap per frame. The network is left out: its memory does not depend on the
video length. Reported: peak RSS above the process's RSS after imports, and, for comparison,
what upstream's ``PointCloudOptimizer`` holds for the same pairs before it starts (pointmaps and
confidences of every pair, 32 bytes per pixel per directed pair, doubled by the stacked copies
``batchify=True`` makes; arithmetic). With ``--upstream`` the official aligner is also run on the
same pair outputs (``global_aligner`` + ``init_minimum_spanning_tree``, flow loss off), by the
Python of an environment that has its dependencies (torch, roma, scipy, OpenCV), and its peak is
measured the same way; the pair outputs it needs are part of its peak, as in upstream's
``inference`` → aligner hand-over.

    .venv/bin/python bench/bench_stage1_memory.py --frames 100 300 1000
    .venv/bin/python bench/bench_stage1_memory.py --frames 100 \
        --upstream /path/with/dust3r+croco --upstream-python /path/to/venv/bin/python
"""

import argparse
import json
import os
from pathlib import Path
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


def run_official(num_frames: int, height: int, width: int, upstream: str) -> dict:
    """Upstream's aligner on the same pair outputs, all of them handed over at once."""
    golden = Path(__file__).resolve().parents[1] / 'test' / 'golden'
    sys.path[:0] = [str(golden), upstream]
    from make_stage1_golden import _StubFinder  # stubs for imports this path never uses
    sys.meta_path.insert(0, _StubFinder())
    from stereodiff_ros.pairs import make_pairs
    import torch
    torch.set_num_threads(2)
    from dust3r.cloud_opt import global_aligner, GlobalAlignerMode
    from dust3r.cloud_opt.init_im_poses import init_minimum_spanning_tree
    baseline = current_rss_mib()
    edges = make_pairs(num_frames)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    arrays = [np.empty((len(edges), height, width) + tail, np.float32)
              for tail in ((3,), (), (3,), ())]
    for e, edge in enumerate(edges):
        for array, value in zip(arrays, pair_outputs(*edge, height, width, rng)):
            array[e] = value
    pts1, conf1, pts2, conf2 = (torch.from_numpy(a) for a in arrays)
    scene = global_aligner(
        dict(view1={'idx': [i for i, _ in edges]}, view2={'idx': [j for _, j in edges]},
             pred1={'pts3d': pts1, 'conf': conf1},
             pred2={'pts3d_in_other_view': pts2, 'conf': conf2}),
        device='cpu', mode=GlobalAlignerMode.PointCloudOptimizer, flow_loss_weight=0.0,
        verbose=False)
    init_minimum_spanning_tree(scene)
    depth = scene.get_depthmaps()
    seconds = time.perf_counter() - start
    return dict(frames=num_frames, directed_pairs=len(edges), size=f'{width}x{height}',
                official_peak_above_baseline_mib=round(peak_rss_mib() - baseline, 1),
                official_seconds=round(seconds, 1), depth_maps=len(depth))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, nargs='+', default=[100, 300, 1000])
    parser.add_argument('--height', type=int, default=384)
    parser.add_argument('--width', type=int, default=512)
    parser.add_argument('--upstream', help='folder holding dust3r/ and croco/ of MonST3R')
    parser.add_argument('--upstream-python', default=sys.executable,
                        help='a Python whose environment can import the upstream code')
    parser.add_argument('--one', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.upstream:
            print(json.dumps(run_official(args.frames[0], args.height, args.width,
                                          args.upstream)))
        else:
            print(json.dumps(run_one(args.frames[0], args.height, args.width)))
        return
    rows = []
    for frames in args.frames:
        out = subprocess.run([sys.executable, __file__, '--one', '--frames', str(frames),
                              '--height', str(args.height), '--width', str(args.width)],
                             check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        if args.upstream:
            env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
            out = subprocess.run(
                [args.upstream_python, __file__, '--one', '--frames', str(frames), '--height',
                 str(args.height), '--width', str(args.width), '--upstream', args.upstream],
                check=True, capture_output=True, text=True, env=env).stdout
            rows[-1].update(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    official = 'official_peak_above_baseline_mib' in rows[0]
    print('\n| frames | pairs | peak host MiB (ours) | outputs MiB | s (ours) | '
          + ('peak host MiB (official) | s (official) |' if official
             else 'upstream pair data MiB |'))
    print('|---' * (7 if official else 6) + '|')
    for row in rows:
        print(f"| {row['frames']} | {row['directed_pairs']} | {row['peak_above_baseline_mib']} "
              f"| {row['outputs_mib']} | {row['seconds']} | "
              + (f"{row['official_peak_above_baseline_mib']} | {row['official_seconds']} |"
                 if official else f"{row['upstream_pairs_mib']} |"))


if __name__ == '__main__':
    main()
