# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Parity with the official MonST3R network, through committed golden outputs.

test/golden/monst3r_golden.npz.xz (an LZMA-compressed .npz) holds uint8 frames and the official
AsymmetricCroCo3DStereo's fp32 CPU outputs on them, two pairs per case: the full MonST3R
configuration (ViT-L encoder, ViT-B decoder, DPT heads) at 64×64 and 48×80, and the tiny test
configuration at 32×48, every weight derived from its key name (`fill_synthetic`, gain 1.5).
test/golden/make_monst3r_golden.py made it from Junyi42/monst3r 574cc77 with naver/croco
d7de070; its docstring lists the exact steps.

Our model must agree within 1e-4 relative: on each confidence, and on each 3D point as a
vector (|Δp| / |p|; single coordinates cross zero, where an element-wise ratio means nothing).
Measured when written: points ≤ 4e-5, confidences ≤ 4e-6 (the official attention is an
explicit softmax, ours scaled_dot_product_attention).
"""
import io
import lzma
from pathlib import Path
import sys

import numpy as np
import pytest
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.models.monst3r import AsymmetricCroCo3DStereo
import torch

sys.path.insert(0, str(Path(__file__).with_name('golden')))
from make_monst3r_golden import CASES, FULL, GAIN, run, TINY  # noqa: E402, I100

GOLDEN = Path(__file__).with_name('golden') / 'monst3r_golden.npz.xz'
RTOL = 1e-4


@pytest.fixture(scope='module')
def golden():
    with np.load(io.BytesIO(lzma.decompress(GOLDEN.read_bytes()))) as data:
        return dict(data)


@pytest.fixture(scope='module')
def models():
    """Built on the meta device, so the 571 M parameters are written once, by the fill."""
    built = {}
    for name, config in (('full', FULL), ('tiny', TINY)):
        with torch.device('meta'):
            model = AsymmetricCroCo3DStereo(**config)
        built[name] = fill_synthetic(model.to_empty(device='cpu'), GAIN).eval()
    return built


@pytest.mark.parametrize('case', list(CASES))
def test_matches_official_forward(models, golden, case):
    name, height, width = CASES[case]
    got = run(models[name], golden[f'{case}_frames'])
    for view in (1, 2):
        pts, conf = got[f'pts3d_{view}'].numpy(), got[f'conf_{view}'].numpy()
        expected_pts, expected_conf = golden[f'{case}_pts3d_{view}'], golden[f'{case}_conf_{view}']
        assert pts.shape == expected_pts.shape == (2, height, width, 3)
        assert conf.shape == expected_conf.shape == (2, height, width)
        # The outputs must vary over the image for the comparison to mean anything.
        assert expected_pts.std() > 0.2 and expected_conf.std() > 0.2
        error = np.linalg.norm(pts - expected_pts, axis=-1)
        assert (error <= RTOL * np.linalg.norm(expected_pts, axis=-1)).all(), error.max()
        np.testing.assert_allclose(conf, expected_conf, rtol=RTOL, atol=0)
