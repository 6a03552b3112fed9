# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Parity with the official DepthCrafter stage-2 code, through committed golden outputs.

test/golden/depthcrafter_golden.npz.xz (an LZMA-compressed .npz) holds inputs and the fp32 CPU
outputs of Tencent/DepthCrafter e518612 (`DiffusersUNetSpatioTemporalConditionModelDepthCrafter`
forward; `DepthCrafterPipeline.encode_video`, `encode_vae_video`, `decode_latents` +
`postprocess_video` + the channel mean of `DepthCrafterInference.infer`; `_get_add_time_ids`)
and of diffusers 0.42.1's `_resize_with_antialiasing`, on the tiny models of
`tiny_depthcrafter()` (every weight derived from its key name, so only the inputs and outputs
are stored). test/golden/make_depthcrafter_golden.py made it with
`/work/ref/venv/bin/python test/golden/make_depthcrafter_golden.py --upstream <depthcrafter>`;
its docstring lists the exact steps. The official code imports unpatched with diffusers 0.42.1.

Our outputs must agree within 1e-5 of each output's largest magnitude. Measured when written:
the UNet, VAE encode and decode and the CLIP path at upsampling sizes are bitwise equal; the
antialiasing blur differs by ≤ 3e-7 (our Gaussian taps are computed in fp64, then rounded).
"""
import io
import lzma
from pathlib import Path
import sys

import numpy as np
import pytest
from stereodiff_ros.models.depthcrafter import (
    added_time_ids, clip_embeddings, decode_disparity, resize_with_antialiasing,
    tiny_depthcrafter, vae_latents)
import torch

sys.path.insert(0, str(Path(__file__).with_name('golden')))
from make_depthcrafter_golden import (  # noqa: E402, I100
    checksum, CLIP_CHUNK, DECODE_CHUNKS, grid, large_frames, to_unit, UNET_TIMESTEPS,
    VAE_CHUNK)

GOLDEN = Path(__file__).with_name('golden') / 'depthcrafter_golden.npz.xz'
RTOL = 1e-5


@pytest.fixture(scope='module')
def golden():
    with np.load(io.BytesIO(lzma.decompress(GOLDEN.read_bytes()))) as data:
        return dict(data)


@pytest.fixture(scope='module')
def components():
    return tiny_depthcrafter()


@pytest.fixture(scope='module')
def large(golden):
    frames = large_frames()
    assert np.array_equal(checksum(frames), golden['large_checksum']), (
        "torch's seeded generator no longer draws the frames the fixture was made from")
    return to_unit(frames)


def assert_matches(got: torch.Tensor, expected: np.ndarray) -> None:
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else got
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    # The outputs must vary for the comparison to mean anything.
    assert expected.std() > 0.01 * np.abs(expected).max() > 0
    np.testing.assert_allclose(got, expected, rtol=0, atol=RTOL * np.abs(expected).max())


@pytest.mark.parametrize('model', ['unet', 'vae', 'image_encoder'])
def test_state_dict_keys_are_the_official_ones(components, golden, model):
    state = getattr(components, model).state_dict()
    assert list(state) == golden[f'keys_{model}'].tolist()
    assert [','.join(map(str, v.shape)) for v in state.values()] == \
        golden[f'shapes_{model}'].tolist()


@pytest.mark.parametrize('index', range(len(UNET_TIMESTEPS)))
def test_unet_matches_official_forward(components, golden, index):
    with torch.no_grad():
        got = components.unet(torch.from_numpy(golden['unet_sample']).float(),
                              UNET_TIMESTEPS[index],
                              torch.from_numpy(golden['unet_context']).float(),
                              torch.from_numpy(golden['unet_time_ids']))
    assert_matches(got, golden[f'unet_out_{index}'])


def test_resize_matches_diffusers(golden, large):
    assert_matches(resize_with_antialiasing(to_unit(golden['resize_small']), (30, 45)),
                   golden['resize_small_out'])
    assert_matches(grid(resize_with_antialiasing(large[:1], (224, 224))),
                   golden['resize_large_out'])
    assert_matches(grid(resize_with_antialiasing(to_unit(golden['resize_up']), (224, 224))),
                   golden['resize_up_out'])


def test_clip_embeddings_match_encode_video(components, golden, large):
    with torch.no_grad():
        for frames, chunk, name in ((to_unit(golden['frames']), CLIP_CHUNK, 'frames'),
                                    (large, CLIP_CHUNK - 1, 'large')):
            got = clip_embeddings(components.image_encoder, frames, components.image_mean,
                                  components.image_std, chunk=chunk)
            assert_matches(got, golden[f'clip_{name}_out'])


def test_vae_latents_match_encode_vae_video(components, golden):
    with torch.no_grad():
        got = vae_latents(components.vae, to_unit(golden['frames']), chunk=VAE_CHUNK)
    assert_matches(got, golden['vae_latents_out'])


@pytest.mark.parametrize('chunk', DECODE_CHUNKS)
def test_decode_disparity_matches_decode_and_postprocess(components, golden, chunk):
    latents = torch.from_numpy(golden['decode_latents']).float()
    with torch.no_grad():
        got = torch.cat([decode_disparity(components.vae, part) for part in latents.split(chunk)])
    assert_matches(got, golden[f'disparity_chunk{chunk}_out'])


def test_added_time_ids_match(components, golden):
    np.testing.assert_array_equal(added_time_ids(components.unet).numpy(),
                                  golden['added_time_ids_out'])
