# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The StereoDiff pipeline API end to end with tiny models: stage 1 feeds stage 2 unchanged,
and loading both stages from folders written by our own savers gives the same result."""

import numpy as np
import pytest
from stereo_any_video_ros.models.checkpoint import CheckpointError
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.engines.stage1 import Stage1Engine
from stereodiff_ros.engines.stage2 import Stage2Engine, Stage2Settings
from stereodiff_ros.models.checkpoint import save_monst3r_pretrained
from stereodiff_ros.models.depthcrafter import save_depthcrafter, tiny_depthcrafter
from stereodiff_ros.models.monst3r import AsymmetricCroCo3DStereo
from stereodiff_ros.pipeline import StereoDiffPipeline
from stereodiff_ros.synthetic import drifting_texture

# The tiny MonST3R of the stage-1 tests, at their long side of 64.
TINY_MONST3R = dict(img_size=(64, 64), enc_embed_dim=64, enc_depth=2, enc_num_heads=2,
                    dec_embed_dim=32, dec_depth=10, dec_num_heads=2)
LONG_SIDE = 64
SETTINGS = Stage2Settings(window=4, overlap=1)


def tiny_monst3r():
    return fill_synthetic(AsymmetricCroCo3DStereo(**TINY_MONST3R), 1.5).eval()


@pytest.fixture(scope='module')
def frames():
    return drifting_texture(6, 48, 64)


@pytest.fixture(scope='module')
def pipeline():
    return StereoDiffPipeline(Stage1Engine(tiny_monst3r(), long_side=LONG_SIDE),
                              Stage2Engine(tiny_depthcrafter(), settings=SETTINGS))


@pytest.fixture(scope='module')
def result(pipeline, frames):
    return pipeline.run(frames, progress=False)


def test_result_holds_relative_disparity_and_stage1_geometry(pipeline, frames, result):
    assert result.disparity.shape == (6, 48, 64) and result.disparity.dtype == np.float32
    assert result.disparity.min() == 0.0 and result.disparity.max() == pytest.approx(1.0)
    stage1 = result.stage1.result
    assert stage1.depth.shape == (6, *result.stage1.network_size)
    assert stage1.focal.shape == (6,) and stage1.cam2world.shape == (6, 4, 4)
    assert result.stage1.input_size == (48, 64)
    assert set(result.seconds) == {'stage1', 'stage2'}


def test_stage2_gets_exactly_the_stage1_depth(pipeline, frames, result):
    alone = pipeline.stage2.run(frames, result.stage1.result.depth, progress=False)
    np.testing.assert_array_equal(result.disparity, alone)


def test_settings_record_what_decided_the_result(result):
    settings = result.settings
    assert settings['stage1']['long_side'] == LONG_SIDE
    assert settings['stage1']['pairs'] == 'swin-2-noncyclic-sym'
    stage2 = settings['stage2']
    assert (stage2['window'], stage2['overlap'], stage2['sigmas']) == (4, 1, 'karras')
    assert (stage2['num_steps'], stage2['start_step']) == (4, 2)
    assert stage2['sigma_start'] == pytest.approx(2.2691, abs=1e-4)
    assert settings['device'] == 'cpu'


def test_output_can_be_a_memory_map(pipeline, frames, result, tmp_path):
    out = np.lib.format.open_memmap(tmp_path / 'd.npy', 'w+', np.float32, (6, 48, 64))
    again = pipeline.run(frames, progress=False, out=out)
    assert again.disparity is out
    np.testing.assert_array_equal(np.load(tmp_path / 'd.npy'), result.disparity)


def test_from_pretrained_reads_folders_written_by_our_savers(frames, result, tmp_path):
    save_monst3r_pretrained(tiny_monst3r(), tmp_path / 'monst3r')
    save_depthcrafter(tiny_depthcrafter(), tmp_path / 'unet', tmp_path / 'svd')
    loaded = StereoDiffPipeline.from_pretrained(
        tmp_path / 'monst3r', tmp_path / 'unet', tmp_path / 'svd', device='cpu',
        precision='fp32', settings=SETTINGS, stage1_long_side=LONG_SIDE)
    again = loaded.run(frames, progress=False)
    # safetensors maps the weights without 64-byte alignment: ~1e-6 from fresh tensors
    np.testing.assert_allclose(again.disparity, result.disparity, atol=1e-4)
    np.testing.assert_allclose(again.stage1.result.depth, result.stage1.result.depth,
                               rtol=1e-4)


def test_missing_weights_fail_before_any_work(tmp_path):
    with pytest.raises(CheckpointError, match='stabilityai/stable-video-diffusion-img2vid-xt'):
        StereoDiffPipeline.from_pretrained(tmp_path / 'monst3r', tmp_path / 'unet',
                                           tmp_path / 'svd', device='cpu', precision='fp32')
