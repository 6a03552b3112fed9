"""Stage-1 time per frame and peak memory: the streaming engine against upstream's structure.

Both runs use the full-size MonST3R (ViT-L encoder, two ViT-B decoders, two DPT heads) with
key-derived weights, on the same frames, in one process, side by side:
  - ``engine``: ``Stage1Engine`` (each frame encoded once, pairs decoded in batches, a few
    frames of pointmaps held, one tree pair per frame run again);
  - ``all-pairs``: upstream's structure (every directed pair through ``forward``, both images
    encoded per pair, every output kept, then the alignment on all of them at once).
CPU at 256×192 by default; on a GPU pass ``--device cuda --size 512 384``. With ``--upstream``
the official code runs too, in a Python whose environment has its dependencies (torch, roma,
scipy, OpenCV, huggingface_hub): ``inference`` over the same pairs (batch size 8, its default)
with the same key-derived weights, then ``global_aligner`` + ``init_minimum_spanning_tree``.

    .venv/bin/python bench/bench_stage1.py --frames 6
    .venv/bin/python bench/bench_stage1.py --frames 6 --upstream /path/with/dust3r+croco \
        --upstream-python /path/to/venv/bin/python
"""

import argparse
import os
from pathlib import Path
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.alignment import align_pairs
from stereodiff_ros.engines.stage1 import Stage1Engine
from stereodiff_ros.models.monst3r import AsymmetricCroCo3DStereo
from stereodiff_ros.pairs import make_pairs
from stereodiff_ros.preprocessing import preprocess_frames
from stereodiff_ros.synthetic import drifting_texture
import torch


def full_size_model(device):
    return fill_synthetic(AsymmetricCroCo3DStereo(), gain=1.5).to(device).eval()


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


def official(frames, long_side, upstream, out):
    """Upstream's inference + aligner, timed; depth saved to ``out``."""
    golden = Path(__file__).resolve().parents[1] / 'test' / 'golden'
    sys.path[:0] = [str(golden), upstream]
    from make_stage1_golden import _StubFinder  # stubs for imports this path never uses
    sys.meta_path.insert(0, _StubFinder())
    from dust3r.cloud_opt import global_aligner, GlobalAlignerMode
    from dust3r.cloud_opt.init_im_poses import init_minimum_spanning_tree
    from dust3r.image_pairs import make_pairs as upstream_pairs
    from dust3r.inference import inference
    from dust3r.model import AsymmetricCroCo3DStereo as Official
    model = fill_synthetic(Official(
        pos_embed='RoPE100', patch_embed_cls='PatchEmbedDust3R', img_size=(512, 512),
        head_type='dpt', output_mode='pts3d', depth_mode=('exp', -float('inf'), float('inf')),
        conf_mode=('exp', 1, float('inf')), enc_embed_dim=1024, enc_depth=24,
        enc_num_heads=16, dec_embed_dim=768, dec_depth=12, dec_num_heads=12,
        landscape_only=False), gain=1.5).eval()
    images = preprocess_frames(frames, long_side)
    views = [dict(img=images[k:k + 1], true_shape=np.int32([images.shape[-2:]]), idx=k,
                  instance=str(k)) for k in range(len(frames))]
    start = time.perf_counter()
    output = inference(upstream_pairs(views, scene_graph='swin-2-noncyclic', symmetrize=True),
                       model, 'cpu', batch_size=8, verbose=False)
    scene = global_aligner(output, device='cpu', mode=GlobalAlignerMode.PointCloudOptimizer,
                           flow_loss_weight=0.0, verbose=False)
    init_minimum_spanning_tree(scene)
    depth = np.stack([d.detach().numpy() for d in scene.get_depthmaps()])
    seconds = (time.perf_counter() - start) / len(frames)
    np.savez(out, depth=depth, seconds=seconds, peak=peak_mib(torch.device('cpu')))


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
    parser.add_argument('--upstream', help='folder holding dust3r/ and croco/ of MonST3R')
    parser.add_argument('--upstream-python', default=sys.executable)
    parser.add_argument('--official-out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.official_out:
        torch.set_num_threads(2)
        official(drifting_texture(args.frames, args.size[1], args.size[0], step=8),
                 max(args.size), args.upstream,
                 args.official_out)
        return
    device = torch.device(args.device)
    width, height = args.size
    long_side = max(width, height)
    frames = drifting_texture(args.frames, height, width, step=8)
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
        if args.upstream:
            with tempfile.TemporaryDirectory() as folder:
                out = os.path.join(folder, 'official.npz')
                env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
                subprocess.run([args.upstream_python, __file__, '--frames', str(args.frames),
                                '--size', str(width), str(height), '--upstream', args.upstream,
                                '--official-out', out], check=True, env=env)
                with np.load(out) as result:
                    rows.append(('official', float(result['seconds']), float(result['peak'])))
                    print(f'tree-posed frames {posed}: max |depth difference| vs official '
                          f'{np.abs(ours.depth[posed] - result["depth"][posed]).max():.2e}')
    print('| run | s/frame | peak MiB |\n|---|---|---|')
    for name, seconds, peak in rows:
        print(f'| {name} | {seconds:.2f} | {peak:.0f} |')
    for name, seconds, _ in rows[1:]:
        print(f'engine speed-up over {name}: {seconds / rows[0][1]:.2f}x')
    print('(on the CPU the peak is the process maximum host RSS: the all-pairs row includes '
          "the engine's; the official row is its own process)")


if __name__ == '__main__':
    main()
