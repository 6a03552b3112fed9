"""Stage-1 time per frame and peak memory: the streaming engine against upstream's structure.

Both runs use the full-size MonST3R (ViT-L encoder, two ViT-B decoders, two DPT heads) with
key-derived weights, on the same frames, in one process, side by side:
  - ``engine``: ``Stage1Engine`` (each frame encoded once, pairs decoded in batches, a few
    frames of pointmaps held, one tree pair per frame run again);
  - ``all-pairs``: upstream's structure (every directed pair through ``forward``, both images
    encoded per pair, every output kept, then the alignment on all of them at once).
CPU at 256×192 by default; on a GPU pass ``--device cuda --size 512 384``.

    .venv/bin/python bench/bench_stage1.py --frames 6
"""

import argparse
import resource
import time

import numpy as np
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.alignment import align_pairs
from stereodiff_ros.engines.stage1 import Stage1Engine
from stereodiff_ros.models.monst3r import AsymmetricCroCo3DStereo
from stereodiff_ros.pairs import make_pairs
from stereodiff_ros.preprocessing import preprocess_frames
import torch


def full_size_model(device):
    return fill_synthetic(AsymmetricCroCo3DStereo(), gain=1.5).to(device).eval()


def frames_of(num_frames, width, height):
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (height, width + 8 * num_frames, 3), dtype=np.uint8)
    return [np.ascontiguousarray(texture[:, 8 * k:8 * k + width]) for k in range(num_frames)]


def all_pairs(model, frames, device, long_side):
    images = preprocess_frames(frames, long_side).to(device)
    edges = make_pairs(len(frames))
    outputs = [[], [], [], []]
    with torch.inference_mode():
        for i, j in edges:
            pred1, pred2 = model({'img': images[i:i + 1]}, {'img': images[j:j + 1]})
            for store, value in zip(outputs, (pred1['pts3d'], pred1['conf'],
                                              pred2['pts3d_in_other_view'], pred2['conf'])):
                store.append(value[0].cpu().numpy())
    return align_pairs(edges, *(np.stack(o) for o in outputs))


def peak_mib(device):
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=6)
    parser.add_argument('--size', type=int, nargs=2, default=[256, 192], metavar=('W', 'H'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--batch-size', type=int, default=8)
    args = parser.parse_args()
    device = torch.device(args.device)
    width, height = args.size
    long_side = max(width, height)
    frames = frames_of(args.frames, width, height)
    model = full_size_model(device)
    print(f'{args.frames} frames at {width}x{height}, {len(make_pairs(args.frames))} directed '
          f'pairs, {device}, {args.precision}, torch threads {torch.get_num_threads()}')

    engine = Stage1Engine(model, device=args.device, precision=args.precision,
                          batch_size=args.batch_size, long_side=long_side)
    engine.run(frames[:2], progress=False)  # warm-up
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    ours = engine.run(frames, progress=False).result
    if device.type == 'cuda':
        torch.cuda.synchronize()
    ours_s = (time.perf_counter() - start) / args.frames
    ours_peak = peak_mib(device)

    rows = [('engine', ours_s, ours_peak)]
    if args.precision == 'fp32':
        start = time.perf_counter()
        reference = all_pairs(model, frames, device, long_side)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        rows.append(('all-pairs', (time.perf_counter() - start) / args.frames, peak_mib(device)))
        # with random weights PnP poses are chaotic (see test_stage1_engine), so the check is
        # on the frames the tree poses
        posed = [k for k in range(args.frames) if k not in reference.pnp_frames]
        print(f'tree-posed frames {posed}: max |depth difference| '
              f'{np.abs(ours.depth[posed] - reference.depth[posed]).max():.2e}')
    print('| run | s/frame | peak MiB |\n|---|---|---|')
    for name, seconds, peak in rows:
        print(f'| {name} | {seconds:.2f} | {peak:.0f} |')
    if len(rows) == 2:
        print(f'speed-up {rows[1][1] / rows[0][1]:.2f}x (peak host RSS on the CPU is the '
              'process maximum, so the second row includes the first)')


if __name__ == '__main__':
    main()
