"""Parity of the closed-form alignment with upstream's ``init_minimum_spanning_tree``.

The fixture holds pairwise outputs and what upstream's PointCloudOptimizer (Junyi42/monst3r
574cc77, flow loss off, MST init only, no iterations) made of them. It was written by
``/work/ref/venv/bin/python test/golden/make_stage1_golden.py --upstream /work/ref/monst3r``; the
script's docstring gives the seeds and weights. Cases: ``degenerate`` (the tiny MonST3R with
key-derived weights: every z ≤ 0, focals clip to 0, depth falls back to 1.0, PnP finds no
confident pixel), ``scene`` (a synthetic scene, PnP succeeds), ``rigid`` (pairs also rotated, so
the previous-edge focal quirk shows), ``flip`` (some z < 0, PnP fails at focal 0), ``pair``
(N = 2) and ``ties`` (all edge scores equal).
"""

import io
import lzma
from pathlib import Path

import numpy as np
import pytest
from stereodiff_ros.alignment import align_pairs

GOLDEN = Path(__file__).parent / 'golden' / 'stage1_golden.npz.xz'
CASES = ('degenerate', 'scene', 'rigid', 'flip', 'pair', 'ties')


@pytest.fixture(scope='module')
def golden():
    with np.load(io.BytesIO(lzma.decompress(GOLDEN.read_bytes()))) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize('case', CASES)
def test_alignment_matches_upstream(golden, case):
    def ref(name):
        return golden[f'{case}_{name}']

    edges = [tuple(edge) for edge in ref('edges').tolist()]
    result = align_pairs(edges, ref('pts1'), ref('conf1'), ref('pts2'), ref('conf2'))

    assert result.tree_edges == [tuple(edge) for edge in ref('msp_edges').tolist()]
    assert result.pnp_frames == np.flatnonzero(ref('pnp_called')).tolist()
    assert result.pnp_failed == np.flatnonzero(ref('pnp_called') & ~ref('pnp_ok')).tolist()
    np.testing.assert_array_equal(result.confidence, ref('im_conf'))
    np.testing.assert_allclose(result.scale_factor, ref('s_factor'), rtol=1e-4)
    np.testing.assert_allclose(result.focal, ref('focals'), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.depth, ref('depth'), rtol=1e-4, atol=1e-6)
    # rotations are unitless; translations are compared relative to the camera spread
    spread = max(np.abs(ref('cam2world')[:, :3, 3]).max(), 1e-6)
    np.testing.assert_allclose(result.cam2world[:, :3, :3], ref('cam2world')[:, :3, :3],
                               atol=1e-4)
    np.testing.assert_allclose(result.cam2world[:, :3, 3] / spread,
                               ref('cam2world')[:, :3, 3] / spread, atol=1e-4)


def test_the_fixture_covers_the_edge_cases_it_claims(golden):
    # so that a regenerated fixture cannot silently lose them
    assert (golden['degenerate_focals'] == 0).all()
    assert (golden['degenerate_depth'] == 1.0).all()
    assert golden['flip_pnp_called'].any() and not golden['flip_pnp_ok'].all()
    assert golden['scene_pnp_ok'][golden['scene_pnp_called']].all()
    assert len(set(golden['ties_edge_scores'].tolist())) == 1
    assert len(golden['pair_edges']) == 2
