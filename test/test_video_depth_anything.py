# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""VDA-S feature extractor: checkpoint layout, shapes, clip-length limit, temporal mixing."""
import math

import pytest
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereo_any_video_ros.models.video_depth_anything import VideoDepthAnything
import torch  # after our package: ament_flake8 sorts all non-stdlib imports as one group

MOTION = 'head.motion_modules.{}.temporal_transformer.'
BLOCK = MOTION + 'transformer_blocks.0.'


@pytest.fixture(scope='module')
def vda() -> VideoDepthAnything:
    torch.manual_seed(0)
    return fill_synthetic(VideoDepthAnything()).eval()


def clip(b: int, t: int, h: int = 28, w: int = 42, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, t, 3, h, w, generator=torch.Generator().manual_seed(seed))


def run(model: VideoDepthAnything, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x)


def test_state_dict_layout() -> None:
    state = VideoDepthAnything().state_dict()
    assert len(state) == 351
    assert sum(k.startswith('pretrained.') for k in state) == 3 + 2 + 12 * 14 + 2
    expected = {
        'pretrained.cls_token': (1, 1, 384),
        'pretrained.pos_embed': (1, 1370, 384),
        'pretrained.mask_token': (1, 384),
        'pretrained.patch_embed.proj.weight': (384, 3, 14, 14),
        'pretrained.blocks.0.attn.qkv.bias': (1152,),
        'pretrained.blocks.11.ls2.gamma': (384,),
        'pretrained.norm.weight': (384,),
        'head.projects.3.weight': (384, 384, 1, 1),
        'head.resize_layers.0.weight': (48, 48, 4, 4),
        'head.resize_layers.3.weight': (384, 384, 3, 3),
        'head.scratch.layer1_rn.weight': (64, 48, 3, 3),
        'head.scratch.refinenet4.resConfUnit1.conv1.weight': (64, 64, 3, 3),
        'head.scratch.output_conv1.weight': (32, 64, 3, 3),
        'head.scratch.output_conv2.0.weight': (32, 32, 3, 3),
        'head.scratch.output_conv2.2.weight': (1, 32, 1, 1),
        MOTION.format(0) + 'norm.weight': (192,),
        MOTION.format(1) + 'proj_in.weight': (384, 384),
        BLOCK.format(0) + 'attention_blocks.0.to_q.weight': (192, 192),
        BLOCK.format(1) + 'attention_blocks.1.to_out.0.bias': (384,),
        BLOCK.format(2) + 'norms.1.weight': (64,),
        BLOCK.format(2) + 'ff.net.0.proj.weight': (512, 64),
        BLOCK.format(2) + 'ff.net.2.weight': (64, 256),
        BLOCK.format(3) + 'ff_norm.bias': (64,),
        BLOCK.format(3) + 'attention_blocks.1.pos_encoder.pe': (1, 32, 64),
        MOTION.format(3) + 'proj_out.weight': (64, 64),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert BLOCK.format(0) + 'attention_blocks.0.to_q.bias' not in state
    assert not any('resize_layers.2' in k for k in state)


def test_temporal_position_codes_are_sinusoidal() -> None:
    pe = VideoDepthAnything().state_dict()[BLOCK.format(2) + 'attention_blocks.0.pos_encoder.pe']
    t = torch.arange(32, dtype=torch.float64)
    for i in (0, 10, 31):
        frequency = math.exp(-math.log(10000.0) * 2 * i / 64)
        torch.testing.assert_close(pe[0, :, 2 * i].double(), torch.sin(t * frequency),
                                   rtol=0, atol=1e-5)
        torch.testing.assert_close(pe[0, :, 2 * i + 1].double(), torch.cos(t * frequency),
                                   rtol=0, atol=1e-5)


def test_output_shape_and_determinism(vda: VideoDepthAnything) -> None:
    x = clip(2, 3)
    out = run(vda, x)
    assert out.shape == (6, 32, 28, 42)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert torch.equal(out, run(vda, x))


def test_single_frame_and_other_size(vda: VideoDepthAnything) -> None:
    assert run(vda, clip(1, 1, 42, 28)).shape == (1, 32, 42, 28)


def test_clip_length_limit(vda: VideoDepthAnything) -> None:
    with pytest.raises(ValueError, match='32'):
        run(vda, clip(1, 33, 14, 14))


def test_size_must_be_whole_patches(vda: VideoDepthAnything) -> None:
    with pytest.raises(ValueError, match='14'):
        run(vda, clip(1, 2, 28, 40))


def test_temporal_modules_mix_frames_not_clips(vda: VideoDepthAnything) -> None:
    x = clip(2, 3)
    base = run(vda, x).unflatten(0, (2, 3))
    y = x.clone()
    y[0, 1] = clip(1, 1, seed=1)[0, 0]  # new frame 1 of clip 0
    changed = run(vda, y).unflatten(0, (2, 3))
    assert (changed[0, 0] - base[0, 0]).abs().max() > 1e-4  # frame 0 sees frame 1
    assert (changed[0, 2] - base[0, 2]).abs().max() > 1e-4
    assert torch.equal(changed[1], base[1])  # the other clip does not
