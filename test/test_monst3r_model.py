# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""MonST3R network: key layout, configuration, shapes and the view-1-frame convention.

Numerical parity with the official code is in test_monst3r_parity.py; these tests run the tiny
configuration of the StereoDiff spec (§2.1: encoder 64×2×2, decoder 32×10×2, full-size DPT
heads) and only build the full-size model on the meta device.
"""
import io
import json
import lzma
from pathlib import Path
import sys

import numpy as np
import pytest
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.models.monst3r import AsymmetricCroCo3DStereo, inf
from stereodiff_ros.models.monst3r.pos_embed import PositionGetter, RoPE2D
import torch

sys.path.insert(0, str(Path(__file__).with_name('golden')))
from make_monst3r_golden import FULL, GAIN, TINY  # noqa: E402, I100

GOLDEN = Path(__file__).with_name('golden') / 'monst3r_golden.npz.xz'
# The `--model` default of MonST3R's dust3r/training.py, which its checkpoints record.
TRAINING_ARGS = (
    "AsymmetricCroCo3DStereo(pos_embed='RoPE100', patch_embed_cls='ManyAR_PatchEmbed', "
    "img_size=(512, 512), head_type='dpt', output_mode='pts3d', depth_mode=('exp', -inf, inf), "
    "conf_mode=('exp', 1, inf), enc_embed_dim=1024, enc_depth=24, enc_num_heads=16, "
    "dec_embed_dim=768, dec_depth=12, dec_num_heads=12, freeze='encoder')")


@pytest.fixture(scope='module')
def tiny():
    return fill_synthetic(AsymmetricCroCo3DStereo(**TINY), GAIN).eval()


def views(batch: int, height: int, width: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    img = torch.rand(batch, 3, height, width, generator=generator) * 2 - 1
    return {'img': img, 'true_shape': torch.tensor([[height, width]] * batch)}


def run(model, view1, view2):
    with torch.no_grad():
        return model(view1, view2)


def tied_branches(model):
    """A copy of ``model`` whose second decoder and head carry the first ones' weights."""
    state = model.state_dict()
    state.update({k.replace(first, second, 1): v for k, v in state.items()
                  for first, second in (('dec_blocks.', 'dec_blocks2.'),
                                        ('downstream_head1.', 'downstream_head2.'))
                  if k.startswith(first)})
    twin = AsymmetricCroCo3DStereo(**model.config).eval()
    twin.load_state_dict(state)
    return twin


@pytest.mark.parametrize('name', ['tiny', 'full'])
def test_state_dict_has_exactly_the_official_keys_and_shapes(name):
    with np.load(io.BytesIO(lzma.decompress(GOLDEN.read_bytes()))) as data:
        official = dict(zip(data[f'keys_{name}'], data[f'shapes_{name}']))
    with torch.device('meta'):
        model = AsymmetricCroCo3DStereo(**{'tiny': TINY, 'full': FULL}[name])
    ours = {k: ','.join(map(str, v.shape)) for k, v in model.state_dict().items()}
    assert set(ours) == set(official)
    assert ours == official
    assert 'mask_token' in ours and not any('act_1_postprocess' in k for k in ours)
    if name == 'full':
        assert sum(p.numel() for p in model.parameters()) == pytest.approx(571.17e6, rel=1e-4)


def test_layer_rn_aliases_are_one_parameter_after_loading(tiny):
    state = tiny.state_dict()
    model = AsymmetricCroCo3DStereo(**TINY)
    model.load_state_dict(state)
    for head in (model.downstream_head1, model.downstream_head2):
        scratch = head.dpt.scratch
        for i, alias in enumerate(scratch.layer_rn, start=1):
            assert alias is getattr(scratch, f'layer{i}_rn')
            assert alias.weight is getattr(scratch, f'layer{i}_rn').weight
    # The key-derived fill gives both names one tensor.
    for i in range(4):
        torch.testing.assert_close(state[f'downstream_head1.dpt.scratch.layer_rn.{i}.weight'],
                                   state[f'downstream_head1.dpt.scratch.layer{i + 1}_rn.weight'])


@pytest.mark.parametrize('height,width', [(48, 64), (64, 48), (32, 80)])
def test_outputs_have_image_shape_are_finite_and_conf_at_least_one(tiny, height, width):
    pred1, pred2 = run(tiny, views(2, height, width, 0), views(2, height, width, 1))
    assert set(pred1) == {'pts3d', 'conf'}
    assert set(pred2) == {'pts3d_in_other_view', 'conf'}
    for pts, conf in ((pred1['pts3d'], pred1['conf']),
                      (pred2['pts3d_in_other_view'], pred2['conf'])):
        assert pts.shape == (2, height, width, 3) and conf.shape == (2, height, width)
        assert pts.dtype == conf.dtype == torch.float32
        assert torch.isfinite(pts).all() and torch.isfinite(conf).all()
        assert (conf >= 1).all()


def test_views_of_different_sizes(tiny):
    pred1, pred2 = run(tiny, views(1, 48, 64), views(1, 64, 32))
    assert pred1['pts3d'].shape == (1, 48, 64, 3)
    assert pred2['pts3d_in_other_view'].shape == (1, 64, 32, 3)
    assert pred2['conf'].shape == (1, 64, 32)


def test_encode_decode_heads_compose_to_forward(tiny):
    view1, view2 = views(2, 48, 64, 0), views(2, 48, 64, 1)
    with torch.no_grad():
        feat1, pos1 = tiny.encode(view1['img'])
        feat2, pos2 = tiny.encode(view2['img'])
        assert feat1.shape == (2, 12, 64) and pos1.shape == (2, 12, 2)
        assert pos1.dtype == torch.long and pos1[0, 5].tolist() == [1, 1]  # row-major (y, x)
        dec1, dec2 = tiny.decode(feat1, pos1, feat2, pos2)
        assert len(dec1) == len(dec2) == 11  # encoder output + 10 decoder blocks
        assert dec1[0] is feat1 and dec1[1].shape == (2, 12, 32)
        pred1, pred2 = tiny.heads(dec1, dec2, (48, 64))
    ref1, ref2 = run(tiny, view1, view2)
    torch.testing.assert_close(pred1, ref1, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(pred2, ref2, rtol=1e-5, atol=1e-6)


def test_heads_stay_fp32_under_autocast(tiny):
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        pred1, pred2 = tiny(views(1, 32, 32), views(1, 32, 32, 1))
    assert pred1['pts3d'].dtype == pred2['conf'].dtype == torch.float32
    assert torch.isfinite(pred1['pts3d']).all()


def test_swapping_views_swaps_the_branches_when_they_share_weights(tiny):
    """pred1 is branch 1 on (view1 | view2), pred2 branch 2 on (view2 | view1). With both
    branches sharing weights, swapping the views must swap the outputs exactly; identical views
    must give identical pointmaps for the two views (both in view 1's frame)."""
    twin = tied_branches(tiny)
    a, b = views(2, 48, 64, 0), views(2, 48, 64, 1)
    ab1, ab2 = run(twin, a, b)
    ba1, ba2 = run(twin, b, a)
    torch.testing.assert_close(ab1['pts3d'], ba2['pts3d_in_other_view'], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ab2['pts3d_in_other_view'], ba1['pts3d'], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ab1['conf'], ba2['conf'], rtol=1e-5, atol=1e-6)
    same1, same2 = run(twin, a, a)
    torch.testing.assert_close(same1['pts3d'], same2['pts3d_in_other_view'],
                               rtol=1e-5, atol=1e-6)
    # With its own (distinct) second branch the model is asymmetric.
    _, own_ba2 = run(tiny, b, a)
    assert not torch.allclose(ab1['pts3d'], own_ba2['pts3d_in_other_view'], atol=1e-3)


def test_rope_depends_only_on_relative_position():
    rope = RoPE2D(100.0)
    generator = torch.Generator().manual_seed(0)
    # (B, heads, N, C); positions stay below N, as patch-grid coordinates always do
    q, k = torch.randn(2, 1, 2, 16, 16, generator=generator)
    qpos = torch.randint(0, 5, (1, 16, 2), generator=generator)
    kpos = torch.randint(0, 5, (1, 16, 2), generator=generator)
    shift = torch.tensor([3, 7])
    scores = rope(q, qpos) @ rope(k, kpos).transpose(-1, -2)
    shifted = rope(q, qpos + shift) @ rope(k, kpos + shift).transpose(-1, -2)
    torch.testing.assert_close(scores, shifted, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rope(q, torch.zeros_like(qpos)), q)
    # One cos/sin table per (channels, length, device, dtype), shared by every layer.
    table = rope.get_cos_sin(8, 5, torch.device('cpu'), torch.float32)
    assert rope.get_cos_sin(8, 5, torch.device('cpu'), torch.float32) is table


def test_position_getter_is_row_major_and_not_aliased():
    getter = PositionGetter()
    pos = getter(2, 2, 3, torch.device('cpu'))
    assert pos.shape == (2, 6, 2)
    assert pos[0].tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    pos += 1
    assert getter(1, 2, 3, torch.device('cpu'))[0, 0].tolist() == [0, 0]


def test_default_config_is_the_monst3r_checkpoint_config():
    with torch.device('meta'):
        model = eval(TRAINING_ARGS, {'AsymmetricCroCo3DStereo': AsymmetricCroCo3DStereo,
                                     'inf': inf})
        default = AsymmetricCroCo3DStereo()
    # ManyAR_PatchEmbed → PatchEmbedDust3R, as upstream's loader does; freeze is only recorded.
    assert model.config == dict(default.config, freeze='encoder')
    assert default.config == dict(
        output_mode='pts3d', head_type='dpt', depth_mode=('exp', -inf, inf),
        conf_mode=('exp', 1, inf), landscape_only=False, patch_embed_cls='PatchEmbedDust3R',
        img_size=(512, 512), pos_embed='RoPE100', enc_embed_dim=1024, enc_depth=24,
        enc_num_heads=16, dec_embed_dim=768, dec_depth=12, dec_num_heads=12, mlp_ratio=4,
        norm_im2_in_dec=True, patch_size=16, freeze='none', mask_ratio=0.9)


def test_config_survives_a_json_round_trip(tiny):
    text = json.dumps(tiny.config)  # ±inf become Infinity, as in the official config.json
    again = AsymmetricCroCo3DStereo(**json.loads(text))
    assert again.config == tiny.config


def test_landscape_only_is_forced_off():
    with torch.device('meta'):
        model = AsymmetricCroCo3DStereo(**dict(TINY, landscape_only=True))
    assert model.config['landscape_only'] is False


@pytest.mark.parametrize('override', [
    {'head_type': 'linear'},
    {'output_mode': 'pts3d+desc24'},
    {'pos_embed': 'cosine'},
    {'depth_mode': ('linear', -inf, inf)},
    {'depth_mode': ('exp', 0, inf)},
    {'conf_mode': ('sigmoid', 1, inf)},
    {'patch_embed_cls': 'PatchEmbed'},
    {'patch_size': 8, 'img_size': 64},
    {'img_size': (64, 72)},
    {'dec_depth': 8},
    {'enc_num_heads': 3},
    {'freeze': 'everything'},
])
def test_unsupported_variants_are_rejected(override):
    with pytest.raises(ValueError):
        AsymmetricCroCo3DStereo(**dict(TINY, **override))
