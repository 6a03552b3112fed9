# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""StereoAnyVideo's parts on small tensors: key layout, shapes, and naive re-derivations of
the correlation and the temporal convex upsampling (checked independently of upstream)."""
import pytest
from stereo_any_video_ros.models.stereoanyvideo.corr import AAPC
from stereo_any_video_ros.models.stereoanyvideo.stereoanyvideo import (
    convex_upsample_3d, StereoAnyVideo)
from stereo_any_video_ros.models.stereoanyvideo.update import (
    SequenceUpdateBlock3D, SKSepConvGRU3D)
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic, key_tensor
import torch


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return fill_synthetic(StereoAnyVideo()).eval()


def test_state_dict_matches_the_official_layout(model):
    state = model.state_dict()
    # 486 parameters and the 8 VDA temporal position buffers (sav-architecture.md §5).
    assert len(state) == 494
    assert sum(v.numel() for k, v in state.items() if not k.endswith('pos_encoder.pe')) \
        == 38_420_881
    expected = {
        'cnet.layer1.0.downsample.0.weight': (64, 64, 1, 1),
        'fnet.conv2.weight': (96, 128, 1, 1),
        'depthnet.conv.weight': (32, 32, 4, 4),
        'corr_mlp.fc1.weight': (256, 324),
        'update_block.gru.convz1.0.weight': (128, 384, 1, 1, 15),
        'update_block.gru.convz1.2.weight': (128, 128, 1, 1, 5),
        'update_block.gru.convq3.weight': (128, 384, 5, 1, 1),
        'update_block.mask3d.2.weight': (432, 256, 1, 1, 1),
        'update_block.flow_head.conv2.weight': (2, 256, 3, 3, 3),
        'update_block.time_attn.temporal_attn.qkv.weight': (768, 256),
        'update_block.space_attn.encoder_layer.mlp.0.weight': (512, 512),
        'update_block.encoder.convf1.weight': (128, 2, 7, 7),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    # Instance norms carry no parameters, so no norm keys exist in the encoders.
    assert not [k for k in state if k.startswith(('cnet', 'fnet')) and 'norm' in k]


def test_forward_shape_sign_and_determinism(model):
    generator = torch.Generator().manual_seed(1)
    left = torch.rand(1, 3, 3, 64, 96, generator=generator) * 255
    right = torch.roll(left, -2, dims=-1)
    with torch.no_grad():
        first = model(left, right, iters=4)
        second = model(left, right, iters=4)
    assert first.shape == (1, 3, 64, 96) and first.dtype == torch.float32
    assert torch.isfinite(first).all()
    assert torch.equal(first, second)


def test_forward_rejects_unpadded_input_and_too_few_iterations(model):
    clip = torch.zeros(1, 2, 3, 64, 100)
    with pytest.raises(ValueError, match='multiples of 32'):
        model(clip, clip)
    clip = torch.zeros(1, 2, 3, 64, 96)
    with pytest.raises(ValueError, match='iters'):
        model(clip, clip, iters=1)


def naive_aapc(left, right_warped, patch):
    """The definition, one channel-sum per (left offset, right offset) pair."""
    ph, pw = patch
    n, c, h, w = left.shape
    pad = (pw // 2, pw // 2, ph // 2, ph // 2)
    out = []
    for g in range(4):
        lg = torch.nn.functional.pad(left[:, g * c // 4:(g + 1) * c // 4], pad, mode='replicate')
        rg = torch.nn.functional.pad(right_warped[:, g * c // 4:(g + 1) * c // 4], pad,
                                     mode='replicate')
        for dy1 in range(ph):
            for dx1 in range(pw):
                for dy2 in range(ph):
                    for dx2 in range(pw):
                        out.append((lg[:, :, dy1:dy1 + h, dx1:dx1 + w]
                                    * rg[:, :, dy2:dy2 + h, dx2:dx2 + w]).sum(1))
    return torch.stack(out, dim=-1)  # (N, h, w, 324)


@pytest.mark.parametrize('small_patch,patch', [(False, (1, 9)), (True, (3, 3))])
def test_aapc_equals_its_definition(small_patch, patch):
    generator = torch.Generator().manual_seed(2)
    left = torch.randn(2, 128, 8, 16, generator=generator)
    right = torch.randn(2, 128, 8, 16, generator=generator)
    # Integer disparity: the warp is then an exact shift with zeros entering from the left.
    disparity = torch.full((2, 8, 16), 3.0)
    warped = torch.zeros_like(right)
    warped[..., 3:] = right[..., :-3]
    got = AAPC(left, right)(disparity, small_patch)
    assert got.shape == (2, 8, 16, 324)
    torch.testing.assert_close(got, naive_aapc(left, warped, patch), rtol=1e-5, atol=1e-4)


def test_convex_upsample_is_a_softmax_weighted_neighbourhood_sum():
    generator = torch.Generator().manual_seed(3)
    b, t, h, w = 1, 3, 4, 8
    disp = torch.randn(b, t, h, w, generator=generator)
    mask = torch.randn(b, 432, t, h, w, generator=generator)
    got = convex_upsample_3d(disp, mask)
    assert got.shape == (b, t, 4 * h, 4 * w)
    padded = torch.nn.functional.pad(4 * disp, (1, 1, 1, 1, 1, 1))
    weights = mask.view(b, 27, 4, 4, t, h, w).softmax(dim=1)
    for ti, y, x, i, j in [(0, 0, 0, 0, 0), (1, 2, 5, 3, 1), (2, 3, 7, 3, 3), (1, 1, 1, 2, 0)]:
        expected = sum(weights[0, k, i, j, ti, y, x]
                       * padded[0, ti + k // 9, y + k // 3 % 3, x + k % 3] for k in range(27))
        value = got[0, ti, 4 * y + i, 4 * x + j].item()
        assert value == pytest.approx(expected.item(), abs=1e-5)


def test_update_block_shapes_and_temporal_mixing():
    block = fill_synthetic(SequenceUpdateBlock3D()).eval()
    generator = torch.Generator().manual_seed(4)
    b, t, h, w = 1, 4, 4, 8
    net = torch.randn(b, 128, t, h, w, generator=generator)
    inp = torch.randn(b * t, 128, h, w, generator=generator)
    corr = torch.randn(b * t, 128, h, w, generator=generator)
    flow = torch.zeros(b * t, 2, h, w)
    with torch.no_grad():
        new_net, delta, mask = block(net, inp, corr, flow)
        _, _, no_mask = block(net, inp, corr, flow, with_mask=False)
        changed = inp.clone()
        changed[t - 1] += 1  # the last frame only
        _, delta_changed, _ = block(net, changed, corr, flow)
    assert new_net.shape == (b, 128, t, h, w) and delta.shape == (b, 2, t, h, w)
    assert mask.shape == (b, 432, t, h, w) and no_mask is None
    # Time attention and the temporal GRU carry the change to the first frame.
    assert not torch.allclose(delta[:, :, 0], delta_changed[:, :, 0])


def test_sk_gru_keys():
    keys = set(SKSepConvGRU3D().state_dict())
    assert {'convz1.0.weight', 'convz1.2.bias', 'convr1.2.weight', 'convq1.weight',
            'convz2.weight', 'convq3.bias'} <= keys
    assert len(keys) == 2 * (2 + 2 + 1) + 2 * 6


def test_synthetic_weights_are_key_derived_and_small():
    first = key_tensor('update_block.gru.convq1.weight', (128, 384, 1, 1, 5))
    again = key_tensor('update_block.gru.convq1.weight', (128, 384, 1, 1, 5))
    other = key_tensor('update_block.gru.convq2.weight', (128, 384, 1, 1, 5))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.abs().max() <= 0.8 / (384 * 5) ** 0.5
    norm = key_tensor('update_block.time_attn.temporal_norm1.weight', (256,))
    assert ((norm > 0.9) & (norm < 1.1)).all()
