#!/usr/bin/env python3
# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Regenerate eval_metrics_golden.npz: the official evaluation functions on tiny inputs.

How the fixture was made (see test/test_stereo_metrics.py and test/test_depth_metrics.py):
  1. the official files, loaded at run time from --upstream (nothing of them is stored here):
     - TomTomTommi/stereoanyvideo at 3a8beddc470cfb7bf07dbc2bf4f04fc95d35d84c:
       `evaluation/utils/eval_utils.py` (`eval_endpoint_error_sequence`; its SSIM, RAFT and
       pytorch3d imports, unused by that function, are stubbed) and `aggregate_eval_results`
       of `evaluation/utils/utils.py` (that one function compiled alone: the module needs
       pytorch3d);
     - Tencent/DepthCrafter at e5186120a71ecb56b69f9e89654198b4eadfaf60:
       `benchmark/eval/eval.py` `eval_single` with `metric.py`, its module-level
       device set to 'cpu', reading npz files written to a temporary folder;
     - Junyi42/monst3r at 574cc77ad278bad582f470e5382624e01f8769a7: `dust3r/depth_eval.py`
       `depth_evaluation` (its dust3r inference imports stubbed), called as
       `depth_metric.ipynb` calls it (prediction resized with cv2 INTER_CUBIC,
       `align_with_lad2=True`, CPU);
     run with torch 2.13.0 (CPU), numpy 2.4.6, opencv 5.0.0, the same as the project's venv;
  2. seeded inputs: a stereo sequence T=4, 6×7 (masks, NaN GT under a cleared mask, exact
     zero errors) and its first 3 frames as a second sequence; a DepthCrafter sequence of
     relative disparity 5×9 against GT depth 12×16 (NaN, out-of-range pixels and a frame
     without a valid pixel), max_depth 10; two MonST3R sequences, 'sintel' (float32 GT,
     max_depth 70, post_clip_max 70) and 'kitti' (float64 GT with -1 holes, no max_depth);
  3. saved with np.savez_compressed.

The layout of /work/ref/eval that --upstream names: sav/evaluation/utils/, dc/benchmark/eval/,
m/dust3r/ (the files above, byte-identical to those commits). Run outside the test suite:
    /work/ref/venv/bin/python test/golden/make_eval_metrics_golden.py --upstream /work/ref/eval
"""
import argparse
import ast
from collections import defaultdict
import importlib.util
from pathlib import Path
import sys
import tempfile
import types

import cv2
import numpy as np
import torch

OUT = Path(__file__).with_name('eval_metrics_golden.npz')
SEED = 2026
STEREO_THRESHOLDS = ('0.5', '1', '2', '3')


def stub_modules(names_and_attributes):
    """Register empty modules so that an upstream file's unused imports resolve."""
    for name, attributes in names_and_attributes.items():
        module = types.ModuleType(name)
        for attribute in attributes:
            setattr(module, attribute, None)
        sys.modules[name] = module


def load_file(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_function(path: Path, function: str, namespace: dict):
    """Compile one top-level function of a file whose imports cannot be met."""
    tree = ast.parse(path.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    code = compile(ast.Module(body=[node], type_ignores=[]), str(path), 'exec')
    exec(code, namespace)
    return namespace[function]


def stereo_inputs(rng):
    shape = (4, 6, 7)
    gt = rng.uniform(0.0, 12.0, shape)
    valid = rng.random(shape) > 0.2
    pred = gt + rng.normal(0.0, 1.5, shape)
    exact = rng.random(shape) < 0.15
    pred[exact] = gt[exact]  # zero errors, left out of the non-zero means
    gt[~valid & (rng.random(shape) < 0.5)] = np.nan  # NaN only under a cleared mask
    return pred.astype(np.float32), gt.astype(np.float32), valid


def upstream_stereo(eval_utils, aggregate, pred, gt, valid):
    def run(frames):
        x = torch.from_numpy(pred[frames, None].copy())
        y = torch.from_numpy(gt[frames, None].copy())
        mask = torch.from_numpy(valid[frames, None].astype(np.float32))
        return eval_utils.eval_endpoint_error_sequence(x, y, mask)

    whole, head = run(slice(None)), run(slice(0, 3))
    out = {}
    for prefix, result in (('stereo_whole', whole), ('stereo_head', head)):
        out[f'{prefix}_epe'] = result['epe_mean'].item()
        out[f'{prefix}_tepe'] = result['temp_epe_mean'].item()
        for n in STEREO_THRESHOLDS:
            out[f'{prefix}_epe_bad_{n}px'] = result[f'epe_bad_{n}px'].item()
            out[f'{prefix}_tepe_bad_{n}px'] = result[f'temp_epe_bad_{n}px'].item()
    aggregated = aggregate([(whole, 4), (head, 3)])
    out['stereo_aggregate_epe'] = aggregated['epe_mean']
    out['stereo_aggregate_tepe'] = aggregated['temp_epe_mean']
    out['stereo_aggregate_epe_bad_1px'] = aggregated['epe_bad_1px']
    return out


def smooth_field(rng, shape, low, high):
    """A (T, H, W) field of bilinearly enlarged 3x4 noise: depth-like, not white noise."""
    coarse = rng.uniform(low, high, (shape[0], 3, 4))
    return np.stack([cv2.resize(c, shape[:0:-1], interpolation=cv2.INTER_LINEAR)
                     for c in coarse])


def shrink(frames, size):
    return np.stack([cv2.resize(f, size[::-1], interpolation=cv2.INTER_AREA) for f in frames])


def depthcrafter_inputs(rng):
    clean = smooth_field(rng, (4, 12, 16), 0.5, 12.0)  # some beyond max_depth 10
    gt = clean.astype(np.float32)
    gt[0, :2] = np.nan
    gt[1, 3:5, 4:9] = 0.0
    gt[2] = 20.0  # a frame without a valid pixel
    disparity = 1.0 / shrink(clean, (5, 9))
    pred = 0.3 * disparity + 0.05 + rng.normal(0.0, 0.01, disparity.shape)
    pred[1, 0, 0] = -0.2  # clipped to 1e-3
    return pred.astype(np.float32), gt


def upstream_depthcrafter(dc_eval, pred, gt, max_depth):
    dc_eval.device = 'cpu'
    with tempfile.TemporaryDirectory() as folder:
        pred_path, gt_path = Path(folder, 'pred.npz'), Path(folder, 'gt.npz')
        np.savez(pred_path, depth=pred)
        np.savez(gt_path, disparity=gt[:, None])
        abs_rel, rmse, delta1 = dc_eval.eval_single(str(pred_path), str(gt_path),
                                                    seq_len=len(gt), domain='depth',
                                                    method_type='ours',
                                                    dataset_max_depth=max_depth)
    return {'dc_abs_rel': abs_rel, 'dc_rmse': rmse, 'dc_delta1': delta1}


def monst3r_inputs(rng):
    shape = (3, 12, 16)
    clean = {'sintel': smooth_field(rng, shape, 1.0, 90.0),  # some beyond 70
             'kitti': smooth_field(rng, shape, 2.0, 60.0)}
    gt_sintel = clean['sintel'].astype(np.float32)
    gt_sintel[0, 0, :5] = 0.0
    gt_kitti = clean['kitti'].copy()
    gt_kitti[rng.random(shape) < 0.4] = -1.0  # KITTI's holes
    preds = {}
    for name, depth in clean.items():
        pred = 0.6 * shrink(depth, (7, 10)) - 1.5 + rng.normal(0.0, 0.5, (3, 7, 10))
        outliers = rng.random(pred.shape) < 0.1
        pred[outliers] *= 3.0  # the L1 fit should shrug these off
        preds[name] = pred.astype(np.float32)
    return {'sintel': (preds['sintel'], gt_sintel, 70, 70),
            'kitti': (preds['kitti'], gt_kitti, None, None)}


def upstream_monst3r(depth_eval, pred, gt, max_depth, post_clip_max):
    height, width = gt.shape[1:]
    resized = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC)
                        for f in pred])
    results, _, aligned, _ = depth_eval.depth_evaluation(
        resized, gt, max_depth=max_depth, align_with_lad2=True, use_gpu=False,
        post_clip_max=post_clip_max)
    names = {'Abs Rel': 'abs_rel', 'Sq Rel': 'sq_rel', 'RMSE': 'rmse', 'Log RMSE': 'log_rmse',
             'δ < 1.25': 'delta1', 'δ < 1.25^2': 'delta2', 'δ < 1.25^3': 'delta3',
             'valid_pixels': 'valid_pixels'}
    out = {name: results[key] for key, name in names.items()}
    out['aligned'] = aligned.numpy()  # s * pred + t before the post clip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True, type=Path,
                        help='folder with sav/, dc/ and m/ as /work/ref/eval')
    args = parser.parse_args()
    torch.set_num_threads(1)

    stub_modules({'stereoanyvideo': [], 'stereoanyvideo.evaluation': [],
                  'stereoanyvideo.evaluation.utils': [],
                  'stereoanyvideo.evaluation.utils.ssim': ['SSIM'],
                  'stereoanyvideo.models': [],
                  'stereoanyvideo.models.raft_model': ['RAFTModel'],
                  'pytorch3d': [], 'pytorch3d.utils': ['opencv_from_cameras_projection'],
                  'dust3r': [], 'dust3r.image_pairs': ['make_pairs'],
                  'dust3r.inference': ['inference'], 'dust3r.utils': [],
                  'dust3r.utils.image': ['load_images', 'rgb', 'enlarge_seg_masks'],
                  'dust3r.eval_metadata': ['dataset_metadata']})
    sav_utils = args.upstream / 'sav' / 'evaluation' / 'utils'
    eval_utils = load_file('sav_eval_utils', sav_utils / 'eval_utils.py')
    aggregate = load_function(sav_utils / 'utils.py', 'aggregate_eval_results',
                              {'defaultdict': defaultdict, 'torch': torch})
    sys.path.insert(0, str(args.upstream / 'dc' / 'benchmark' / 'eval'))  # its `import metric`
    dc_eval = load_file('dc_eval', args.upstream / 'dc' / 'benchmark' / 'eval' / 'eval.py')
    depth_eval = load_file('m_depth_eval', args.upstream / 'm' / 'dust3r' / 'depth_eval.py')

    rng = np.random.default_rng(SEED)
    golden = {}
    pred, gt, valid = stereo_inputs(rng)
    golden.update(stereo_pred=pred, stereo_gt=gt, stereo_valid=valid)
    golden.update(upstream_stereo(eval_utils, aggregate, pred, gt, valid))

    pred, gt = depthcrafter_inputs(rng)
    golden.update(dc_pred=pred, dc_gt=gt, dc_max_depth=10)
    golden.update(upstream_depthcrafter(dc_eval, pred, gt, 10))

    for name, (pred, gt, max_depth, post_clip_max) in monst3r_inputs(rng).items():
        golden[f'm_{name}_pred'] = pred
        golden[f'm_{name}_gt'] = gt
        golden[f'm_{name}_max_depth'] = np.nan if max_depth is None else max_depth
        golden[f'm_{name}_post_clip_max'] = np.nan if post_clip_max is None else post_clip_max
        for key, value in upstream_monst3r(depth_eval, pred, gt, max_depth,
                                           post_clip_max).items():
            golden[f'm_{name}_{key}'] = value

    np.savez_compressed(OUT, **golden)
    print(f'wrote {OUT} ({OUT.stat().st_size} bytes)')
    for key, value in golden.items():
        if np.ndim(value) == 0:
            print(f'  {key} = {value}')


if __name__ == '__main__':
    main()
