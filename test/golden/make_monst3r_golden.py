#!/usr/bin/env python3
# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Regenerate monst3r_golden.npz.xz: the official MonST3R network's outputs on key-derived
weights.

How the fixture was made (see test/test_monst3r_parity.py):
  1. the official code: Junyi42/monst3r at 574cc77 (its `dust3r` package) with the CroCo
     `models/` of naver/croco at d7de070 in its `croco/` folder, given as --upstream; torch,
     einops, huggingface_hub, packaging, numpy, pillow, scipy and opencv installed. Modules
     that `dust3r.model` imports but the network never uses are stubbed: `third_party.raft`
     (RAFT, for MonST3R's flow loss) and `dust3r.utils.vo_eval` (evo, for trajectory
     metrics). No cuRoPE2D, so the pure-torch RoPE2D runs;
  2. the official AsymmetricCroCo3DStereo built on CPU in the MonST3R configuration (ViT-L
     encoder 1024×24×16, ViT-B decoder 768×12×12, DPT heads, RoPE100, PatchEmbedDust3R,
     landscape_only=False) and in the tiny test configuration (encoder 64×2×2, decoder
     32×10×2), every tensor filled by `fill_synthetic` (GAIN below; the tied
     `scratch.layer{i}_rn` / `scratch.layer_rn.{i-1}` aliases both get the tensor of the
     first name);
  3. inputs: uint8 RGB frames of `SyntheticScene` (left camera, seed 21), normalised like
     upstream's loader ((x/255 − 0.5)/0.5, fp32); two pairs per case, view 1 = frames (0, 2),
     view 2 = frames (1, 3); cases 64×64 and 48×80 (full model) and 32×48 (tiny model);
  4. fp32 CPU `model(view1, view2)` outputs: pred1 pts3d/conf, pred2
     pts3d_in_other_view/conf; plus the names and shapes of both models' state dicts;
  5. saved with np.savez and compressed with LZMA.

Run outside the project's test suite, from an environment with the upstream requirements:
    python test/golden/make_monst3r_golden.py --upstream /work/ref/monst3r
"""
import argparse
import io
import lzma
from pathlib import Path
import sys
import types

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic  # noqa: E402
from stereo_any_video_ros.synthetic import StereoRig, SyntheticScene  # noqa: E402
import torch  # noqa: E402

OUT = Path(__file__).with_name('monst3r_golden.npz.xz')
# Weights uniform in ±GAIN/√fan_in, norm scales 1 ± 0.1. The DPT head's dozen convs scale the
# signal by about GAIN/√3 each: at the SAV default 0.8 the output is nearly constant (conf
# 2.02-2.07 whatever the input), at 2.5 expm1/exp overflow. At 1.5 pointmaps span about ±10
# and confidences 1.4-5.5 across the image, and the fp32 reference is finite everywhere.
GAIN = 1.5
INF = float('inf')
FULL = dict(output_mode='pts3d', head_type='dpt', depth_mode=('exp', -INF, INF),
            conf_mode=('exp', 1, INF), landscape_only=False, patch_embed_cls='PatchEmbedDust3R',
            img_size=(512, 512), pos_embed='RoPE100', enc_embed_dim=1024, enc_depth=24,
            enc_num_heads=16, dec_embed_dim=768, dec_depth=12, dec_num_heads=12)
TINY = dict(FULL, img_size=(64, 64), enc_embed_dim=64, enc_depth=2, enc_num_heads=2,
            dec_embed_dim=32, dec_depth=10, dec_num_heads=2)
CASES = {'64x64': ('full', 64, 64), '48x80': ('full', 48, 80), '32x48': ('tiny', 32, 48)}
SCENE_SEED = 21


def case_views(height: int, width: int):
    """Two pairs of uint8 frames (4, H, W, 3): view 1 = frames 0, 2; view 2 = frames 1, 3."""
    rig = StereoRig(width=width, height=height, fx=0.8 * width, baseline=0.12)
    scene = SyntheticScene(rig, seed=SCENE_SEED)
    return np.stack([scene.frame(i).left for i in range(4)])


def normalise(frames: np.ndarray) -> torch.Tensor:
    """uint8 (B, H, W, 3) → (B, 3, H, W) fp32 in [-1, 1], with upstream's ToTensor/Normalize
    arithmetic."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)
    return x.sub(0.5).div(0.5)


def upstream_class(upstream: str):
    sys.path.insert(0, upstream)
    raft = types.ModuleType('third_party.raft')
    raft.load_RAFT = None
    third_party = types.ModuleType('third_party')
    third_party.raft = raft
    vo_eval = types.ModuleType('dust3r.utils.vo_eval')
    vo_eval.save_trajectory_tum_format = None
    sys.modules.update({'third_party': third_party, 'third_party.raft': raft,
                        'dust3r.utils.vo_eval': vo_eval})
    from dust3r.model import AsymmetricCroCo3DStereo
    return AsymmetricCroCo3DStereo


def run(model, frames: np.ndarray):
    img = normalise(frames)
    shape = torch.tensor([img.shape[-2:]] * 2, dtype=torch.int32)
    view1 = dict(img=img[0::2], true_shape=shape, instance=['0', '2'])
    view2 = dict(img=img[1::2], true_shape=shape, instance=['1', '3'])
    with torch.no_grad():
        pred1, pred2 = model(view1, view2)
    return {'pts3d_1': pred1['pts3d'], 'conf_1': pred1['conf'],
            'pts3d_2': pred2['pts3d_in_other_view'], 'conf_2': pred2['conf']}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True, help='the Junyi42/monst3r checkout')
    args = parser.parse_args()
    network = upstream_class(args.upstream)
    arrays = {}
    models = {}
    for name, config in (('full', FULL), ('tiny', TINY)):
        models[name] = fill_synthetic(network(**config), GAIN).eval()
        state = models[name].state_dict()
        arrays[f'keys_{name}'] = np.array(list(state))
        arrays[f'shapes_{name}'] = np.array(
            [','.join(map(str, v.shape)) for v in state.values()])
    for case, (name, height, width) in CASES.items():
        frames = case_views(height, width)
        arrays[f'{case}_frames'] = frames
        for key, value in run(models[name], frames).items():
            arrays[f'{case}_{key}'] = value.numpy()
        print(f'{case} done', flush=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    OUT.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    print(f'wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)')


if __name__ == '__main__':
    main()
