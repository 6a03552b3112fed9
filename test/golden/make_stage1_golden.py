#!/usr/bin/env python3
"""Regenerate stage1_golden.npz.xz: upstream's closed-form MST alignment on stored pair outputs.

How the fixture was made (see test/test_stage1_alignment_golden.py):
  1. the official code: dust3r/ from Junyi42/monst3r at 574cc77 with croco/models from
     naver/croco at d7de070, in one folder given as --upstream (it holds `dust3r/` and
     `croco/`); run with torch 2.13 (CPU), roma 1.8, scipy 1.17.1, numpy 2.4.6, OpenCV 5.0.0.
     Packages imported at module level but unused by this path (evo, matplotlib, seaborn,
     torchvision, imageio, SEA-RAFT's `third_party`, `sam2`) are stubbed;
  2. per case, the pairwise outputs below, stored as they were fed in (float32):
       degenerate  the official tiny network of the spec (§2.1: AsymmetricCroCo3DStereo,
                   RoPE100, DPT head, 64-wide 2-block encoder, 32-wide 10-block decoder) with
                   every state-dict entry from `key_tensor(key, shape)` (gain 0.8,
                   stereo_any_video_ros/models/synthetic_weights.py; the DPT aliases
                   `scratch.layer_rn.{k}` take the tensor of `scratch.layer{k+1}_rn`) run by
                   upstream `inference(make_pairs(imgs, 'swin-2-noncyclic', symmetrize=True),
                   batch_size=16)` on 4 uniform-random RGB images of 32×32 (seed 0);
       scene       stereodiff_ros.synthetic: make_scene(6, 24, 32, seed=3), pairwise_outputs
                   (seed 4, noise 1e-3, per-pair scale in [0.5, 2], no extra rotation);
       rigid       make_scene(5, 16, 24, seed=5), pairwise_outputs(seed 6, noise 2e-3, plus a
                   random rotation of up to 30° and translation of up to 0.5 per pair);
       flip        make_scene(4, 16, 24, seed=20), pairwise_outputs(seed 30, noise 2e-3,
                   rotation up to 150°, translation up to 1.0): about 30 % of the first
                   pointmaps' z ≤ 0, so some depths fall back to 1.0, one focal is clipped to
                   0 and PnP fails on that image with enough points, while it succeeds on another;
       pair        N = 2: make_scene(2, 16, 24, seed=7), pairwise_outputs(seed 8, noise 1e-3);
       ties        make_scene(4, 16, 24, seed=9), pairwise_outputs(seed 10, no noise) with
                   every confidence replaced by 2.0, so all edge scores tie and no pixel passes
                   min_conf_thr = 3 (PnP gets fewer than 4 points);
     the edges of every case are upstream's make_pairs order for swin-2-noncyclic;
  3. upstream `global_aligner(mode=PointCloudOptimizer, flow_loss_weight=0)` (defaults:
     min_conf_thr 3, conf 'log', base_scale 0.5, batchify, no shared focal) built from
     view1/view2 `idx` and pred1/pred2 dicts holding exactly the stored arrays, then
     `init_minimum_spanning_tree` alone (no iteration); `minimum_spanning_tree` and `fast_pnp`
     are wrapped to record the tree growth and the PnP calls;
  4. saved with np.savez and compressed with LZMA.

Keys, per case `<c>`: `<c>_edges` (E, 2) int64, `<c>_pts1`, `<c>_pts2` (E, H, W, 3),
`<c>_conf1`, `<c>_conf2` (E, H, W) float32 inputs; outputs `<c>_depth` (N, H, W),
`<c>_focals` (N,), `<c>_cam2world` (N, 4, 4), `<c>_im_conf` (N, H, W) from the scene's getters
(float32); intermediates `<c>_edge_scores` (E,) float64, `<c>_msp_edges` (N − 1, 2) in growth
order, `<c>_mst_focals` (N,) float64 as `minimum_spanning_tree` returns them (after PnP),
`<c>_mst_poses` (N, 4, 4) float32 cam-to-world before the scale normalisation,
`<c>_pnp_called` / `<c>_pnp_ok` (N,) bool, `<c>_conf_mask_count` (N,) pixels with
im_conf > 3, `<c>_pw_scales` (E,) float32 (pairwise Procrustes scales before normalisation),
`<c>_s_factor` () float32, `<c>_pw_poses` (E, 4, 4) float32 (`get_pw_poses`, normalised);
synthetic cases also `<c>_gt_depth`, `<c>_gt_focal`, `<c>_gt_cam2world`.

Run outside the project's test suite, e.g.
    /work/ref/venv/bin/python test/golden/make_stage1_golden.py --upstream /work/ref/monst3r
"""
import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import io
import lzma
from pathlib import Path
import sys
import types

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from stereodiff_ros.synthetic import make_scene, pairwise_outputs  # noqa: E402
import torch  # noqa: E402

OUT = Path(__file__).with_name('stage1_golden.npz.xz')
# Inputs are rounded to this many mantissa bits (relative step 1.2e-4) before alignment so
# that the fixture compresses; the reference runs on exactly the stored values.
MANTISSA_BITS = 13
INPUTS = ('pts1', 'conf1', 'pts2', 'conf2')
STUBBED = ('evo', 'imageio', 'matplotlib', 'sam2', 'seaborn', 'third_party', 'torchvision')
TINY_MONST3R = dict(
    pos_embed='RoPE100', patch_embed_cls='PatchEmbedDust3R', img_size=(64, 64), head_type='dpt',
    output_mode='pts3d', depth_mode=('exp', -float('inf'), float('inf')),
    conf_mode=('exp', 1, float('inf')), enc_embed_dim=64, enc_depth=2, enc_num_heads=2,
    dec_embed_dim=32, dec_depth=10, dec_num_heads=2, landscape_only=False)


class _Anything(types.ModuleType):
    """A module whose every attribute (and call result) is another such stub."""

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return _Anything(f'{self.__name__}.{name}')

    def __call__(self, *args, **kwargs):
        return _Anything(f'{self.__name__}()')


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):

    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _Anything(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def load_key_tensor():
    path = ROOT / 'stereo_any_video_ros' / 'models' / 'synthetic_weights.py'
    spec = importlib.util.spec_from_file_location('synthetic_weights', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.key_tensor


def alias_key(key):
    """`...scratch.layer_rn.{k}.weight` → `...scratch.layer{k+1}_rn.weight` (tied modules)."""
    head, sep, tail = key.partition('scratch.layer_rn.')
    if not sep:
        return key
    index, rest = tail.split('.', 1)
    return f'{head}scratch.layer{int(index) + 1}_rn.{rest}'


def tiny_network():
    from dust3r.model import AsymmetricCroCo3DStereo
    key_tensor = load_key_tensor()
    torch.manual_seed(0)
    model = AsymmetricCroCo3DStereo(**TINY_MONST3R)
    state = {key: key_tensor(alias_key(key), value.shape)
             for key, value in model.state_dict().items()}
    model.load_state_dict(state, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    return model.eval()


def quantize(x, mantissa_bits=MANTISSA_BITS):
    """Round float32 values to ``mantissa_bits`` explicit mantissa bits (exact in float32)."""
    drop = 23 - mantissa_bits
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + (1 << (drop - 1))) >> drop) << drop
    return bits.astype(np.uint32).view(np.float32)


def upstream_edges(num_frames):
    from dust3r.image_pairs import make_pairs
    imgs = [{'idx': k} for k in range(num_frames)]
    pairs = make_pairs(imgs, scene_graph='swin-2-noncyclic', prefilter=None, symmetrize=True)
    return [(a['idx'], b['idx']) for a, b in pairs]


def network_case(num_frames=4, size=(32, 32), seed=0):
    from dust3r.image_pairs import make_pairs
    from dust3r.inference import inference
    rng = np.random.default_rng(seed)
    h, w = size
    imgs = []
    for k in range(num_frames):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        img = torch.from_numpy(rgb).permute(2, 0, 1).float().div(255).sub(0.5).div(0.5)
        imgs.append(dict(img=img[None], true_shape=np.int32([[h, w]]), idx=k, instance=str(k)))
    pairs = make_pairs(imgs, scene_graph='swin-2-noncyclic', prefilter=None, symmetrize=True)
    out = inference(pairs, tiny_network(), 'cpu', batch_size=16, verbose=False)
    edges = list(zip(out['view1']['idx'], out['view2']['idx']))
    return dict(edges=np.array(edges, np.int64),
                pts1=quantize(out['pred1']['pts3d'].numpy()),
                conf1=quantize(out['pred1']['conf'].numpy()),
                pts2=quantize(out['pred2']['pts3d_in_other_view'].numpy()),
                conf2=quantize(out['pred2']['conf'].numpy()))


def synthetic_case(num_frames, size, scene_seed, pair_seed, constant_conf=None, **kw):
    scene = make_scene(num_frames, *size, seed=scene_seed)
    edges = upstream_edges(num_frames)
    pw = pairwise_outputs(scene, edges, seed=pair_seed, **kw)
    case = dict(edges=np.array(edges, np.int64), gt_depth=scene.depth,
                gt_focal=np.float64(scene.focal), gt_cam2world=scene.cam2world)
    for key in INPUTS:
        value = getattr(pw, key)
        case[key] = quantize(value if constant_conf is None or key.startswith('pts')
                             else np.full_like(value, constant_conf))
    return case


def align(case):
    """Upstream MST init on the stored arrays; returns outputs and recorded intermediates."""
    import dust3r.cloud_opt.init_im_poses as init_fun
    from dust3r.cloud_opt import global_aligner, GlobalAlignerMode
    from dust3r.cloud_opt.commons import compute_edge_scores, i_j_ij

    edges = [tuple(int(v) for v in e) for e in case['edges']]
    view1 = {'idx': [i for i, _ in edges]}
    view2 = {'idx': [j for _, j in edges]}
    pred1 = {'pts3d': torch.from_numpy(case['pts1']), 'conf': torch.from_numpy(case['conf1'])}
    pred2 = {'pts3d_in_other_view': torch.from_numpy(case['pts2']),
             'conf': torch.from_numpy(case['conf2'])}
    torch.manual_seed(0)
    scene = global_aligner(dict(view1=view1, view2=view2, pred1=pred1, pred2=pred2),
                           device='cpu', mode=GlobalAlignerMode.PointCloudOptimizer,
                           flow_loss_weight=0.0, verbose=False)
    n = scene.n_imgs
    record = {'pnp_called': np.zeros(n, bool), 'pnp_ok': np.zeros(n, bool)}
    original_mst, original_pnp = init_fun.minimum_spanning_tree, init_fun.fast_pnp
    pnp_calls = []

    def recording_pnp(pts3d, focal, msk, device, **kw):
        res = original_pnp(pts3d, focal, msk=msk, device=device, **kw)
        pnp_calls.append(res is not None)
        return res

    def recording_mst(*args, **kw):
        pts3d, msp_edges, im_focals, im_poses = original_mst(*args, **kw)
        record['msp_edges'] = np.array(msp_edges, np.int64).reshape(-1, 2)
        record['mst_focals'] = np.array([np.nan if f is None else float(f) for f in im_focals])
        record['mst_poses'] = im_poses.numpy().copy()
        return pts3d, msp_edges, im_focals, im_poses

    init_fun.minimum_spanning_tree, init_fun.fast_pnp = recording_mst, recording_pnp
    try:
        init_fun.init_minimum_spanning_tree(scene)
    finally:
        init_fun.minimum_spanning_tree, init_fun.fast_pnp = original_mst, original_pnp
    # fast_pnp runs once per image the tree left without a pose, in image order.
    missing = [k for k in range(n) if k not in _posed_by_tree(record['msp_edges'])]
    assert len(missing) == len(pnp_calls), (missing, pnp_calls)
    for k, ok in zip(missing, pnp_calls):
        record['pnp_called'][k], record['pnp_ok'][k] = True, ok

    scores = compute_edge_scores(map(i_j_ij, edges), scene.conf_i, scene.conf_j)
    with torch.no_grad():
        out = dict(
            depth=torch.stack(scene.get_depthmaps()).numpy(),
            focals=scene.get_focals().ravel().numpy(),
            cam2world=scene.get_im_poses().numpy(),
            im_conf=torch.stack(list(scene.im_conf)).numpy(),
            conf_mask_count=torch.stack([(c > scene.min_conf_thr).sum()
                                         for c in scene.im_conf]).numpy(),
            edge_scores=np.array([scores[e] for e in edges], np.float64),
            pw_scales=scene.pw_poses[:, -1].exp().numpy(),
            s_factor=np.float32(scene.get_pw_norm_scale_factor()),
            pw_poses=scene.get_pw_poses().numpy())
    out.update(record)
    return out


def _posed_by_tree(msp_edges):
    """Images the tree growth gives a pose: the root's first image and every edge's i."""
    return {int(i) for i, _ in msp_edges}


def describe(name, case, out):
    z = np.concatenate([case['pts1'][..., 2].ravel(), case['pts2'][..., 2].ravel()])
    print(f'[{name}] N={len(out["focals"])} E={len(case["edges"])} '
          f'HxW={case["pts1"].shape[1:3]}, z<=0 fraction of inputs {np.mean(z <= 0):.3f}')
    print(f'  edges (upstream order) {case["edges"].tolist()}')
    print(f'  msp_edges {out["msp_edges"].tolist()}')
    print(f'  mst focals {np.round(out["mst_focals"], 4).tolist()}')
    print(f'  focals {np.round(out["focals"].astype(float), 4).tolist()}')
    print(f'  pnp called {np.flatnonzero(out["pnp_called"]).tolist()} '
          f'ok {np.flatnonzero(out["pnp_ok"]).tolist()}; pixels with im_conf > 3 '
          f'{out["conf_mask_count"].tolist()}')
    print(f'  s_factor {float(out["s_factor"]):.6g}; depth == 1.0 fraction '
          f'{np.mean(out["depth"] == 1.0):.3f}; depth range '
          f'[{out["depth"].min():.4g}, {out["depth"].max():.4g}]')
    if 'gt_depth' in case:
        gt, est = case['gt_depth'].astype(np.float64), out['depth'].astype(np.float64)
        scale = np.sum(gt * est) / np.sum(est * est)
        rel = np.abs(scale * est - gt) / gt
        print(f'  vs GT: best scale {scale:.6g}, max rel depth err {rel.max():.3e} '
              f'(per frame {np.round(rel.reshape(len(gt), -1).max(1), 5).tolist()}), '
              f'focal rel err {np.round(out["focals"] / case["gt_focal"] - 1, 5).tolist()}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True,
                        help='folder holding dust3r/ and croco/ of the MonST3R checkout')
    parser.add_argument('--out', default=str(OUT))
    args = parser.parse_args()
    sys.path.insert(0, args.upstream)
    sys.meta_path.insert(0, _StubFinder())
    torch.set_num_threads(1)

    cases = {
        'degenerate': network_case(),
        'scene': synthetic_case(6, (24, 32), 3, 4, noise=1e-3),
        'rigid': synthetic_case(5, (16, 24), 5, 6, noise=2e-3, max_rotation_deg=30.0,
                                max_translation=0.5),
        'flip': synthetic_case(4, (16, 24), 20, 30, noise=2e-3, max_rotation_deg=150.0,
                               max_translation=1.0),
        'pair': synthetic_case(2, (16, 24), 7, 8, noise=1e-3),
        'ties': synthetic_case(4, (16, 24), 9, 10, constant_conf=2.0),
    }
    arrays = {}
    for name, case in cases.items():
        assert case['edges'].tolist() == [list(e) for e in upstream_edges(
            int(case['edges'].max()) + 1)], name
        out = align(case)
        describe(name, case, out)
        for key, value in {**case, **out}.items():
            arrays[f'{name}_{key}'] = np.asarray(value)

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME)
    Path(args.out).write_bytes(data)
    print(f'wrote {args.out}: {len(data) / 1024:.0f} KiB ({len(buffer.getvalue()) / 1024:.0f} '
          f'KiB uncompressed)')


if __name__ == '__main__':
    main()
