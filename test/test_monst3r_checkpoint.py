# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The MonST3R checkpoint loader on real files in every container upstream publishes."""
import argparse
import json
import math
import os
import pickle

import pytest
import safetensors
from stereodiff_ros.models.checkpoint import (
    CheckpointError, DUST3R_HF_URL, load_monst3r, load_state_strict, MONST3R_HF_URL,
    MONST3R_PTH_URL, parse_model_string, save_monst3r_pretrained)
from stereodiff_ros.models.monst3r.model import AsymmetricCroCo3DStereo
import torch

inf = math.inf
TINY = dict(pos_embed='RoPE100', patch_embed_cls='PatchEmbedDust3R', img_size=(64, 64),
            head_type='dpt', output_mode='pts3d', depth_mode=('exp', -inf, inf),
            conf_mode=('exp', 1, inf), enc_embed_dim=64, enc_depth=2, enc_num_heads=2,
            dec_embed_dim=32, dec_depth=10, dec_num_heads=2, landscape_only=False)
# As upstream's training script stores it: ManyAR patch embed, no landscape_only, and the
# whitespace its backslash-continued default leaves inside the string.
MONST3R_STRING = (
    "AsymmetricCroCo3DStereo(pos_embed='RoPE100', patch_embed_cls='ManyAR_PatchEmbed', "
    "                        img_size=(64, 64), head_type='dpt', output_mode='pts3d', "
    "depth_mode=('exp', -inf, inf), conf_mode=('exp', 1, inf),                         "
    'enc_embed_dim=64, enc_depth=2, enc_num_heads=2, dec_embed_dim=32, dec_depth=10, '
    "dec_num_heads=2, freeze='encoder')")
DUST3R_STRING = (
    "AsymmetricCroCo3DStereo(pos_embed='RoPE100', patch_embed_cls='ManyAR_PatchEmbed', "
    "img_size=(64, 64), head_type='dpt', output_mode='pts3d', depth_mode=('exp', -inf, inf), "
    "conf_mode=('exp', 1, float('inf')), enc_embed_dim=64, enc_depth=2, enc_num_heads=2, "
    'dec_embed_dim=32, dec_depth=10, dec_num_heads=2, landscape_only=True)')
ALIAS = 'downstream_head2.dpt.scratch.layer3_rn.weight'
ALIAS_TWIN = 'downstream_head2.dpt.scratch.layer_rn.2.weight'


@pytest.fixture(scope='module')
def source():
    # Distinct seeded values in every tensor, so a weight loaded into the wrong place shows.
    model = AsymmetricCroCo3DStereo(**TINY)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.rand(parameter.shape, generator=generator) - 0.5)
    return model


@pytest.fixture(scope='module')
def weights(source):
    return {key: value.detach().clone() for key, value in source.state_dict().items()}


def write_pth(path, state, model_string=MONST3R_STRING, **extra):
    """The training container: weights, the Namespace of training arguments, optimiser state."""
    args = argparse.Namespace(model=model_string, lr=1.5e-4, seq_list=None, output_dir='./x')
    torch.save({'model': state, 'args': args, **extra}, path)
    return path


def assert_same_weights(model, weights):
    state = model.state_dict()
    assert state.keys() == weights.keys()
    assert all(torch.equal(state[key], weights[key]) for key in weights)


def test_the_upstream_training_default_string_parses_to_literals():
    kwargs = parse_model_string(MONST3R_STRING.replace('64, 64', '512, 512'), 'ckpt.pth')
    assert kwargs['img_size'] == (512, 512)
    assert kwargs['depth_mode'] == ('exp', -inf, inf)
    assert kwargs['conf_mode'] == ('exp', 1, inf)
    assert kwargs['patch_embed_cls'] == 'ManyAR_PatchEmbed' and kwargs['freeze'] == 'encoder'
    assert parse_model_string("AsymmetricCroCo3DStereo(a=[1, -2.5], b=float('-inf'), c=None, "
                              'd=True)', 'x') == dict(a=[1, -2.5], b=-inf, c=None, d=True)


@pytest.mark.parametrize('form', ['monst3r', 'dust3r', 'module_prefix'])
def test_training_checkpoints_load_with_upstream_rewrites(form, weights, tmp_path):
    state = dict(weights)
    if form == 'module_prefix':  # saved from a DistributedDataParallel wrapper
        state = {f'module.{key}': value for key, value in state.items()}
    string = DUST3R_STRING if form == 'dust3r' else MONST3R_STRING
    path = write_pth(tmp_path / 'ckpt.pth', state, string, epoch=3, best_so_far=inf,
                     optimizer={'state': {0: {'step': torch.tensor(3.0)}},
                                'param_groups': [{'lr': 1e-4, 'betas': (0.9, 0.95)}]})
    model = load_monst3r(path)
    assert_same_weights(model, weights)
    assert not model.training
    assert model.config['patch_embed_cls'] == 'PatchEmbedDust3R'
    assert model.config['landscape_only'] is False
    assert model.config['conf_mode'] == ('exp', 1, inf)


def test_folder_form_round_trips_like_the_hub_mixin(source, weights, tmp_path):
    folder = save_monst3r_pretrained(source, tmp_path / 'hf')
    config = (folder / 'config.json').read_text()
    assert '-Infinity' in config and json.loads(config)['img_size'] == [64, 64]
    with safetensors.safe_open(str(folder / 'model.safetensors'), 'pt') as stored:
        keys, metadata = set(stored.keys()), stored.metadata()
    # One name per tied tensor, the one safetensors.save_model keeps; the other is recorded.
    assert ALIAS in keys and ALIAS_TWIN not in keys and metadata[ALIAS_TWIN] == ALIAS
    assert keys == {key for key in weights if '.scratch.layer_rn.' not in key}
    for path in (folder, folder / 'model.safetensors'):
        model = load_monst3r(path, dtype=torch.float64)
        assert not model.training
        assert model.config == source.config
        assert all(torch.equal(value, weights[key].double())
                   for key, value in model.state_dict().items())


def test_missing_second_decoder_is_copied_from_the_first(weights, tmp_path):
    state = {k: v for k, v in weights.items() if not k.startswith('dec_blocks2.')}
    assert len(state) < len(weights)
    model = load_monst3r(write_pth(tmp_path / 'croco_style.pth', state))
    loaded = model.state_dict()
    for key, value in weights.items():
        if key.startswith('dec_blocks2.'):
            assert torch.equal(loaded[key], weights['dec_blocks.' + key[len('dec_blocks2.'):]])
        else:
            assert torch.equal(loaded[key], value)


@pytest.mark.parametrize('kept', ['layerN_rn', 'layer_rn.N'])
def test_either_name_of_a_tied_tensor_is_enough(kept, weights, tmp_path):
    dropped = '.scratch.layer_rn.' if kept == 'layerN_rn' else '_rn.weight'
    state = {k: v for k, v in weights.items() if dropped not in k}
    assert len(weights) - len(state) == 8  # 4 tied convs in each of the 2 heads
    assert_same_weights(load_monst3r(write_pth(tmp_path / 'ckpt.pth', state)), weights)


def test_tied_tensors_that_differ_are_refused(weights, tmp_path):
    state = dict(weights)
    state[ALIAS_TWIN] = state[ALIAS] + 1
    with pytest.raises(CheckpointError, match='tied weights must be equal') as error:
        load_monst3r(write_pth(tmp_path / 'ckpt.pth', state))
    assert ALIAS in str(error.value) and ALIAS_TWIN in str(error.value)


class SystemCall:
    """Unpickling this runs a shell command: what a malicious checkpoint would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


class TrainingState:
    """Any class outside the allow-list, harmless or not."""


def test_pickled_code_and_foreign_objects_are_refused_unexecuted(weights, tmp_path):
    marker = tmp_path / 'executed'
    evil = {'model': {}, 'args': argparse.Namespace(model=MONST3R_STRING),
            'hook': SystemCall(marker)}
    torch.save(evil, tmp_path / 'evil.pth')
    (tmp_path / 'evil_raw.pth').write_bytes(pickle.dumps(SystemCall(marker), protocol=2))
    torch.save({'model': {}, 'args': argparse.Namespace(model=MONST3R_STRING),
                'scheduler': TrainingState()}, tmp_path / 'snapshot.pth')
    (tmp_path / 'corrupt.pth').write_bytes(b'not a checkpoint')
    for name, refused in (('evil.pth', 'posix.system'), ('evil_raw.pth', 'posix.system'),
                          ('snapshot.pth', 'TrainingState'), ('corrupt.pth', '')):
        with pytest.raises(CheckpointError, match='weights-only') as error:
            load_monst3r(tmp_path / name)
        assert refused in str(error.value) and 'Nothing in it was executed' in str(error.value)
        assert "weights_only=False); torch.save({'model'" in str(error.value)
        assert 'model.safetensors' in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize('string, offending', [
    ("AsymmetricCroCo3DStereo(pos_embed=__import__('os').system('touch x'))",
     "pos_embed=__import__('os').system('touch x')"),
    ('AsymmetricCroCo3DStereo(img_size=torch.Size([64, 64]))', 'img_size=torch.Size([64, 64])'),
    ('AsymmetricCroCo3DStereo(enc_depth=2 ** 40)', 'enc_depth=2 ** 40'),
    ("dust3r.model.AsymmetricCroCo3DStereo(pos_embed='RoPE100')", 'dust3r.model.Asymmetric'),
    ("eval('1')", "eval('1')"),
    ('AsymmetricCroCo3DStereo(**kwargs)', '**kwargs'),
    ("AsymmetricCroCo3DStereo('pts3d')", "'pts3d'"),
    ('AsymmetricCroCo3DStereo(', 'not a Python expression'),
])
def test_model_strings_that_are_not_literal_calls_are_refused(string, offending, tmp_path):
    with pytest.raises(CheckpointError) as error:
        parse_model_string(string, 'ckpt.pth')
    assert offending in str(error.value)
    path = write_pth(tmp_path / 'ckpt.pth', {}, string)
    with pytest.raises(CheckpointError, match='args.model'):
        load_monst3r(path)


def test_missing_files_name_the_download_locations(source, tmp_path):
    expected = ('MonST3R_PO-TA-S-W_ViTLarge_BaseDecoder_512_dpt.pth', MONST3R_PTH_URL,
                MONST3R_HF_URL, DUST3R_HF_URL)
    assert MONST3R_PTH_URL.startswith('https://drive.google.com/file/d/1Z1jO_JmfZj0z3bgMvCwq')
    for path in (tmp_path / 'checkpoints' / 'monst3r.pth', tmp_path / 'hf_folder',
                 tmp_path / 'hf_folder' / 'model.safetensors'):
        with pytest.raises(CheckpointError, match='not found') as error:
            load_monst3r(path)
        assert str(path) in str(error.value)
        assert all(text in str(error.value) for text in expected)
    folder = save_monst3r_pretrained(source, tmp_path / 'weights_only')
    (folder / 'config.json').unlink()
    with pytest.raises(CheckpointError, match='config.json') as error:
        load_monst3r(folder)
    assert MONST3R_HF_URL in str(error.value)


def test_mismatch_lists_keys_and_loads_nothing(weights, tmp_path):
    broken = dict(weights)
    del broken['enc_norm.bias']
    broken['dec_blocks.0.attn.extra'] = torch.zeros(2, 2)
    broken['decoder_embed.weight'] = torch.zeros(32, 63)
    with pytest.raises(CheckpointError) as error:
        load_monst3r(write_pth(tmp_path / 'ckpt.pth', broken))
    message = str(error.value)
    assert 'missing keys (1):\n  enc_norm.bias (64,)' in message
    assert 'unexpected keys (1):\n  dec_blocks.0.attn.extra (2, 2)' in message
    assert ('wrong shapes (1):\n  decoder_embed.weight: checkpoint (32, 63), model (32, 64)'
            in message)
    blank = AsymmetricCroCo3DStereo(**TINY)
    before = {key: value.clone() for key, value in blank.state_dict().items()}
    with pytest.raises(CheckpointError, match='missing keys'):
        load_state_strict(blank, broken, 'ckpt.pth')
    assert_same_weights(blank, before)


@pytest.mark.parametrize('change, hint', [
    (("head_type='dpt'", "head_type='hourglass'"), 'hourglass'),
    (('enc_depth=2', 'enc_depth=2, enc_width_multiplier=3'), 'enc_width_multiplier'),
])
def test_unsupported_architecture_is_a_clear_error(change, hint, weights, tmp_path):
    path = write_pth(tmp_path / 'ckpt.pth', weights, MONST3R_STRING.replace(*change))
    with pytest.raises(CheckpointError, match='does not support') as error:
        load_monst3r(path)
    assert hint in str(error.value)
    folder = tmp_path / 'hf'
    folder.mkdir()
    (folder / 'model.safetensors').write_bytes(b'')
    (folder / 'config.json').write_text('[1, 2]')
    with pytest.raises(CheckpointError, match='JSON object'):
        load_monst3r(folder)


def test_containers_without_an_architecture_are_refused(tmp_path):
    torch.save({'model': {'enc_norm.bias': torch.zeros(64)}}, tmp_path / 'weights.pth')
    with pytest.raises(CheckpointError, match="no 'args.model'.*folder form"):
        load_monst3r(tmp_path / 'weights.pth')
    torch.save([torch.zeros(1)], tmp_path / 'list.pth')
    with pytest.raises(CheckpointError, match="no 'model' state dict") as error:
        load_monst3r(tmp_path / 'list.pth')
    assert MONST3R_PTH_URL in str(error.value)
