# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The SAV checkpoint loader on real files in every container the official ones come in."""
import pytest
from stereo_any_video_ros.models.checkpoint import (
    CheckpointError, load_sav_weights, SAV_CHECKPOINTS_URL, save_sav_weights, VDA_PREFIX,
    VDA_SMALL_URL)
from stereo_any_video_ros.models.stereoanyvideo.stereoanyvideo import StereoAnyVideo
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
import torch


@pytest.fixture(scope='module')
def source():
    return fill_synthetic(StereoAnyVideo())


@pytest.fixture(scope='module')
def weights(source):
    return source.state_dict()


@pytest.fixture
def blank():
    model = StereoAnyVideo()
    for parameter in model.parameters():
        parameter.data.zero_()
    return model


def assert_same_weights(model, weights):
    state = model.state_dict()
    assert state.keys() == weights.keys()
    assert all(torch.equal(state[key], weights[key]) for key in weights)


@pytest.mark.parametrize('form', ['plain', 'model', 'module_prefix', 'model_module_prefix'])
def test_every_official_container_loads(form, weights, blank, tmp_path):
    if form == 'plain':
        content = dict(weights)
    elif form == 'model':  # a training snapshot: weights plus optimiser state
        content = {'model': dict(weights), 'optimizer': {'state': {}}, 'total_steps': 80000}
    else:
        content = {f'module.{key}': value for key, value in weights.items()}
        if form == 'model_module_prefix':
            content = {'model': content}
    path = tmp_path / 'StereoAnyVideo_MIX.pth'
    torch.save(content, path)
    load_sav_weights(blank, path)
    assert_same_weights(blank, weights)


def test_our_format_round_trips(source, weights, blank, tmp_path):
    path = save_sav_weights(source, tmp_path / 'nested' / 'sav.pth')
    load_sav_weights(blank, path)
    assert_same_weights(blank, weights)


def test_separate_vda_file_supplies_the_prior(weights, blank, tmp_path):
    sav_only = {k: v for k, v in weights.items() if not k.startswith(VDA_PREFIX)}
    vda = {k[len(VDA_PREFIX):]: v for k, v in weights.items() if k.startswith(VDA_PREFIX)}
    assert vda and 'pretrained.blocks.0.attn.qkv.weight' in vda
    torch.save(sav_only, tmp_path / 'sav.pth')
    torch.save(vda, tmp_path / 'video_depth_anything_vits.pth')
    with pytest.raises(CheckpointError, match='missing keys'):
        load_sav_weights(blank, tmp_path / 'sav.pth')
    load_sav_weights(blank, tmp_path / 'sav.pth', tmp_path / 'video_depth_anything_vits.pth')
    assert_same_weights(blank, weights)


def test_mismatch_lists_missing_unexpected_and_wrong_shape_keys(weights, blank, tmp_path):
    broken = dict(weights)
    del broken['corr_mlp.fc2.bias']
    broken['corr_mlp.fc3.weight'] = torch.zeros(2, 2)
    broken['depthnet.conv.weight'] = torch.zeros(32, 32, 3, 3)
    torch.save(broken, tmp_path / 'broken.pth')
    with pytest.raises(CheckpointError) as error:
        load_sav_weights(blank, tmp_path / 'broken.pth')
    message = str(error.value)
    assert 'missing keys (1):\n  corr_mlp.fc2.bias (128,)' in message
    assert 'unexpected keys (1):\n  corr_mlp.fc3.weight (2, 2)' in message
    assert ('wrong shapes (1):\n  depthnet.conv.weight: checkpoint (32, 32, 3, 3), '
            'model (32, 32, 4, 4)') in message
    # Nothing was half-loaded.
    assert not blank.corr_mlp.fc1.weight.any()


def test_missing_files_name_the_download_location(blank, tmp_path):
    with pytest.raises(CheckpointError, match='drive.google.com') as error:
        load_sav_weights(blank, tmp_path / 'StereoAnyVideo_MIX.pth')
    assert 'StereoAnyVideo_MIX.pth' in str(error.value) and SAV_CHECKPOINTS_URL in str(error.value)
    torch.save({}, tmp_path / 'sav.pth')
    with pytest.raises(CheckpointError, match='huggingface.co'):
        load_sav_weights(blank, tmp_path / 'sav.pth', tmp_path / 'vda.pth')
    assert VDA_SMALL_URL.endswith('video_depth_anything_vits.pth')


def test_unsafe_or_corrupt_files_are_refused(blank, tmp_path):
    (tmp_path / 'corrupt.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError, match='weights-only'):
        load_sav_weights(blank, tmp_path / 'corrupt.pth')
    # A pickled object outside the weights-only allow-list is never executed.
    torch.save({'model': {}, 'scheduler': object()}, tmp_path / 'snapshot.pth')
    with pytest.raises(CheckpointError, match='re-save just the weights'):
        load_sav_weights(blank, tmp_path / 'snapshot.pth')
    torch.save({'cnet.conv1.weight': 'text'}, tmp_path / 'odd.pth')
    with pytest.raises(CheckpointError, match='not a state dict'):
        load_sav_weights(blank, tmp_path / 'odd.pth')
