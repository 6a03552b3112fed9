# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for stereodiff_bag's option table and command-line parsing (stereodiff_bag_options)."""
from __future__ import annotations

from dataclasses import fields
import logging
from pathlib import Path
from typing import List, Sequence

import pytest

from stereo_any_video_ros.stereodiff_bag_options import (
    build_parser, check_for_method, flag, node_key_matches, OPTIONS, OptionsError,
    parse_options, resolve_options, RosArguments, StereoDiffBagOptions)

REQUIRED = ['--input', 'in.mcap', '--output', 'out']


def params_file(tmp_path: Path, body: str, name: str = 'params.yaml') -> str:
    path = tmp_path / name
    path.write_text(body)
    return str(path)


def block(values: str, node: str = '/**') -> str:
    """A params file holding `values` (YAML lines) for `node`."""
    lines = ''.join(f'    {line}\n' for line in values.splitlines())
    return f'{node}:\n  ros__parameters:\n{lines}'


def error_of(argv: Sequence[str], capsys) -> str:
    with pytest.raises(SystemExit) as raised:
        parse_options(list(argv))
    assert raised.value.code == 2
    return capsys.readouterr().err


def options_with(**changes) -> StereoDiffBagOptions:
    flags = {'input': ('in.mcap',), 'output': 'out'}
    flags.update(changes)
    return resolve_options(flags=flags)


# --- the table ----------------------------------------------------------------------------------

@pytest.mark.parametrize('name', sorted(OPTIONS))
def test_default_passes_its_own_check(name: str) -> None:
    spec = OPTIONS[name]
    assert spec.name == name
    assert spec.check(spec.default) is None
    assert spec.description.endswith('.')


def test_table_and_options_fields_agree_in_order() -> None:
    assert [f.name for f in fields(StereoDiffBagOptions)] == list(OPTIONS)


def test_defaults_with_only_the_required_options() -> None:
    options = parse_options(REQUIRED)
    assert options.input == ('in.mcap',) and options.output == 'out'
    for name, spec in OPTIONS.items():
        if name not in ('input', 'output'):
            value = getattr(options, name)
            assert value == spec.default and type(value) is type(spec.default), name


def test_options_are_frozen() -> None:
    options = parse_options(REQUIRED)
    with pytest.raises(AttributeError):
        options.clip_length = 3


# --- precedence ---------------------------------------------------------------------------------

def test_precedence_defaults_files_param_rules_flags(tmp_path: Path) -> None:
    first = params_file(tmp_path, block('clip_length: 90\nseed: 1\nprecision: fp32\n'
                                        'device: cpu'), 'first.yaml')
    second = params_file(tmp_path, block('clip_length: 80\nseed: 2\nprecision: bf16'),
                         'second.yaml')
    argv = REQUIRED + ['--ros-args', '--params-file', first, '-p', 'clip_length:=70',
                       '--params-file', second, '--', '--clip-length', '60']
    options = parse_options(argv)
    assert options.clip_length == 60  # flag over -p over files
    assert options.seed == 2 and options.precision == 'bf16'  # later file over earlier
    assert options.device == 'cpu'  # a file over the default
    assert options.resolution == OPTIONS['resolution'].default
    # without the flag, the -p rule wins although it comes before the second file
    assert parse_options(argv[:-2]).clip_length == 70


def test_named_block_beats_wildcard_in_the_same_file(tmp_path: Path) -> None:
    path = params_file(tmp_path, block('seed: 5', 'stereodiff_bag') + block('seed: 6\nend: 9'))
    options = parse_options(REQUIRED + ['--ros-args', '--params-file', path])
    assert options.seed == 5 and options.end == 9.0


@pytest.mark.parametrize('node', ['/**', 'stereodiff_bag', '/stereodiff_bag',
                                  '/**/stereodiff_bag', '/*'])
def test_blocks_that_apply_to_the_node(tmp_path: Path, node: str) -> None:
    path = params_file(tmp_path, block('seed: 7', node))
    assert parse_options(REQUIRED + ['--ros-args', '--params-file', path]).seed == 7


def test_blocks_of_other_nodes_are_ignored_with_a_warning(tmp_path: Path, caplog) -> None:
    path = params_file(tmp_path, block('seed: 7', 'sav_node') + block('bogus: 1', '/a/*'))
    with caplog.at_level(logging.WARNING):
        options = parse_options(REQUIRED + ['--ros-args', '--params-file', path])
    assert options.seed == 42
    assert 'no block for node /stereodiff_bag' in caplog.text and 'sav_node' in caplog.text


def test_node_and_namespace_remaps_select_blocks(tmp_path: Path) -> None:
    body = (block('seed: 1', 'stereodiff_bag') + block('seed: 2', 'renamed') +
            'ns:\n  renamed:\n    ros__parameters:\n      seed: 3\n')
    path = params_file(tmp_path, body)
    ros = ['--ros-args', '--params-file', path]
    assert parse_options(REQUIRED + ros).seed == 1
    assert parse_options(REQUIRED + ros + ['-r', '__node:=renamed']).seed == 2
    assert parse_options(REQUIRED + ros + ['-r', '__node:=renamed', '-r', '__ns:=/ns']).seed == 3
    assert parse_options(REQUIRED + ros + ['-r', 'other:__node:=renamed']).seed == 1


def test_ros_sections_anywhere_and_ignored_ros_arguments(tmp_path: Path) -> None:
    path = params_file(tmp_path, block('clip_overlap: 10'))
    argv = ['--ros-args', '-r', '__node:=stereodiff_bag', '-r', 'image:=/cam/image',
            '--log-level', 'debug', '-e', '/enclave', '--disable-rosout-logs',
            '--enable-stdout-logs', '--log-config-file', 'x.conf', '--', '--input', 'a.bag',
            '--ros-args', '--params-file', path, '--', '--output', 'o']
    options = parse_options(argv)
    assert (options.input, options.output, options.clip_overlap) == (('a.bag',), 'o', 10)
    # a ROS section may also run to the end of argv
    assert parse_options(REQUIRED + ['--ros-args', '-p', 'seed:=3']).seed == 3


def test_use_sim_time_from_shared_blocks_is_ignored(tmp_path: Path) -> None:
    path = params_file(tmp_path, block('use_sim_time: true\nseed: 4'))
    assert parse_options(REQUIRED + ['--ros-args', '--params-file', path]).seed == 4


# --- value forms --------------------------------------------------------------------------------

def test_param_rule_values_are_yaml() -> None:
    argv = ['--output', 'o', '--ros-args', '-p', 'latent_sharing:=true', '-p', 'min_depth:=1',
            '-p', 'device:=cuda:1', '-p', 'input:=[a.bag, b.mcap]',
            '-p', 'stereodiff_bag:seed:=9', '-p', 'sav_node:every_n:=5', '-p', "typestore:=''"]
    options = parse_options(argv)
    assert options.latent_sharing is True
    assert options.min_depth == 1.0 and type(options.min_depth) is float
    assert options.device == 'cuda:1'
    assert options.input == ('a.bag', 'b.mcap')
    assert options.seed == 9  # a rule for this node
    assert options.every_n == 1  # a rule for another node
    assert options.typestore == ''


def test_bool_flags_both_ways(tmp_path: Path) -> None:
    path = params_file(tmp_path, block('latent_sharing: true\npoints: true'))
    ros = ['--ros-args', '--params-file', path, '--']
    options = parse_options(REQUIRED + ros + ['--no-latent-sharing'])
    assert options.latent_sharing is False and options.points is True
    assert parse_options(REQUIRED + ['--points']).points is True


@pytest.mark.parametrize('yaml_input, expected', [
    ('a.bag', ('a.bag',)),
    ('[a.bag, b.db3]', ('a.bag', 'b.db3')),
    ('\n      - a.bag\n      - dir', ('a.bag', 'dir')),
])
def test_input_from_a_file_as_string_or_list(tmp_path: Path, yaml_input: str,
                                             expected: tuple) -> None:
    path = params_file(tmp_path, f'/**:\n  ros__parameters:\n    input: {yaml_input}\n')
    options = parse_options(['--output', 'o', '--ros-args', '--params-file', path])
    assert options.input == expected


def test_input_flag_takes_several_paths_and_repeats() -> None:
    options = parse_options(['--input', 'a', 'b', '--output', 'o', '--input', 'c'])
    assert options.input == ('a', 'b', 'c')


def test_flags_replace_file_lists(tmp_path: Path) -> None:
    path = params_file(tmp_path, block('input: [x, y]'))
    options = parse_options(['--input', 'a', '--output', 'o', '--ros-args', '--params-file',
                             path])
    assert options.input == ('a',)


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize('values, expected', [
    ('clip_lenght: 5', ["unknown option 'clip_lenght'", 'did you mean clip_length']),
    ('sgbm:\n  block_size: 5', ["unknown option 'sgbm.block_size'"]),
    ('clip_length: 1.5', ['clip_length must be a int', '1.5']),
    ('seed: true', ['seed must be a int', 'True']),
    ('points: 1', ['points must be a bool']),
    ('device: 0', ['device must be a str']),
    ('stage1_resolution: 500', ['stage1_resolution must be 64 plus a multiple of 16']),
    ('bag_version: 7', ['bag_version must lie in [8, 9]']),
    ('sigmas: linear', ["sigmas must be one of ['karras', 'trailing']", "'linear'"]),
    ('typestore: humble', ['typestore must be one of', 'ros2_humble']),
    ('output:', ['output has no value', "write '' for an empty string"]),
    ('input: [a.bag, 3]', ['input must be a path or a list of paths']),
])
def test_bad_values_in_a_params_file(tmp_path: Path, capsys, values: str,
                                     expected: List[str]) -> None:
    path = params_file(tmp_path, block(values))
    message = error_of(REQUIRED + ['--ros-args', '--params-file', path], capsys)
    for text in expected + [f'params file {path}']:
        assert text in message


def test_bad_values_name_their_source(capsys) -> None:
    message = error_of(REQUIRED + ['--ros-args', '-p', 'every_n:=0'], capsys)
    assert 'every_n must lie in [1, 1000000]' in message and '-p every_n:=0' in message
    message = error_of(REQUIRED + ['--method', 'stereo'], capsys)
    assert "method must be one of ['stereodiff', 'sav', 'sgbm']" in message
    assert '--method' in message
    message = error_of(REQUIRED + ['--clip-length', 'ten'], capsys)
    assert '--clip-length' in message and "invalid int value: 'ten'" in message
    message = error_of(REQUIRED + ['--clip-lenght', '3'], capsys)
    assert 'unrecognized arguments: --clip-lenght' in message
    message = error_of(REQUIRED + ['--ros-args', '-p', 'clip_length:=[1'], capsys)
    assert '-p clip_length:=[1' in message and 'not valid YAML' in message


@pytest.mark.parametrize('argv, expected', [
    (['--output', 'o'], ['input is required', '--input']),
    (['--input', 'a'], ['output is required', '--output']),
    (REQUIRED + ['--clip-length', '20', '--ros-args', '-p', 'clip_overlap:=20'],
     ['clip_overlap (20, -p clip_overlap:=20) must be below clip_length (20, --clip-length)']),
    (REQUIRED + ['--device', 'gpu0'], ["device must be 'cpu', 'cuda' or 'cuda:N'", 'gpu0']),
])
def test_inconsistent_options(capsys, argv: List[str], expected: List[str]) -> None:
    message = error_of(argv, capsys)
    for text in expected:
        assert text in message


def test_consistent_edge_values_pass() -> None:
    options = parse_options(REQUIRED + ['--zero-snr', '--sigmas', 'trailing', '--end', '5',
                                        '--inference-width', '64', '--inference-height', '32',
                                        '--clip-length', '26', '--device', 'cuda'])
    assert options.zero_snr and options.end == 5.0 and options.clip_overlap == 25


@pytest.mark.parametrize('body, expected', [
    ('seed: [1', 'is not valid YAML'),
    ('- 1\n- 2\n', 'found a list'),
    ('ros__parameters:\n  seed: 1\n', 'ros__parameters must sit under a node name'),
    ('/**:\n  ros__parameters: 3\n', '/**/ros__parameters must be a mapping'),
    ('/**: 3\n', '/** must hold ros__parameters'),
])
def test_malformed_params_files(tmp_path: Path, capsys, body: str, expected: str) -> None:
    path = params_file(tmp_path, body)
    message = error_of(REQUIRED + ['--ros-args', '--params-file', path], capsys)
    assert expected in message and path in message


def test_missing_params_file(tmp_path: Path, capsys) -> None:
    missing = str(tmp_path / 'nope.yaml')
    message = error_of(REQUIRED + ['--ros-args', '--params-file', missing], capsys)
    assert f'params file {missing}: cannot read it' in message


@pytest.mark.parametrize('ros, expected', [
    (['--params-file'], 'ROS argument --params-file needs a value'),
    (['--bogus'], "unknown ROS argument '--bogus'"),
    (['-p', 'seed=3'], "-p 'seed=3': write -p name:=value"),
    (['-r', '__node'], "-r '__node': write -r from:=to"),
])
def test_bad_ros_arguments(capsys, ros: List[str], expected: str) -> None:
    assert expected in error_of(REQUIRED + ['--ros-args'] + ros, capsys)


def test_node_key_matching() -> None:
    assert node_key_matches('/**', '/ns/stereodiff_bag')
    assert node_key_matches('/ns/*', '/ns/stereodiff_bag')
    assert not node_key_matches('/*', '/ns/stereodiff_bag')
    assert not node_key_matches('stereodiff_bag', '/ns/stereodiff_bag')
    assert node_key_matches('ns/stereodiff_bag', '/ns/stereodiff_bag')
    assert not node_key_matches('/stereodiff_bag_2', '/stereodiff_bag')
    assert RosArguments(namespace='/ns').node_fqn == '/ns/stereodiff_bag'


# --- per-method requirements --------------------------------------------------------------------

@pytest.fixture
def weights(tmp_path: Path) -> dict:
    paths = {}
    for name in ('monst3r_checkpoint', 'depthcrafter_unet', 'svd_folder', 'sav_checkpoint',
                 'vda_checkpoint'):
        path = tmp_path / name
        path.write_bytes(b'')
        paths[name] = str(path)
    return paths


def method_error(options: StereoDiffBagOptions) -> str:
    with pytest.raises(OptionsError) as raised:
        check_for_method(options)
    return str(raised.value)


@pytest.mark.parametrize('missing', ['monst3r_checkpoint', 'depthcrafter_unet', 'svd_folder'])
def test_stereodiff_needs_its_three_weights(weights: dict, missing: str) -> None:
    stereodiff = {name: weights[name]
                  for name in ('monst3r_checkpoint', 'depthcrafter_unet', 'svd_folder')}
    check_for_method(options_with(**stereodiff))
    message = method_error(options_with(**{**stereodiff, missing: ''}))
    assert f"method 'stereodiff' needs {missing} ({flag(missing)})" in message
    assert OPTIONS[missing].description in message


@pytest.mark.parametrize('method', ['sav', 'sgbm'])
def test_stereo_methods_need_both_topics(weights: dict, method: str) -> None:
    message = method_error(options_with(method=method, left_topic='/l',
                                        sav_checkpoint=weights['sav_checkpoint']))
    assert f"method '{method}' reads a stereo pair: set right_topic (--right-topic)" in message
    message = method_error(options_with(method=method))
    assert 'left_topic (--left-topic) and right_topic (--right-topic)' in message


def test_sav_needs_its_checkpoint_and_sgbm_no_weights(weights: dict) -> None:
    topics = {'left_topic': '/l', 'right_topic': '/r'}
    check_for_method(options_with(method='sgbm', **topics))
    assert 'needs sav_checkpoint (--sav-checkpoint)' in method_error(
        options_with(method='sav', **topics))
    check_for_method(options_with(method='sav', sav_checkpoint=weights['sav_checkpoint'],
                                  vda_checkpoint=weights['vda_checkpoint'], **topics))


def test_trailing_sigmas_with_prev_sample_warn(weights: dict, caplog) -> None:
    stereodiff = {name: weights[name]
                  for name in ('monst3r_checkpoint', 'depthcrafter_unet', 'svd_folder')}
    with caplog.at_level(logging.WARNING):
        check_for_method(options_with(sigmas='trailing', **stereodiff))
    assert 'pred_original_sample' in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        check_for_method(options_with(sigmas='trailing', decode_sample='pred_original_sample',
                                      **stereodiff))
    assert not caplog.text


# --- help ---------------------------------------------------------------------------------------

def test_help_lists_every_option_with_its_help(capsys) -> None:
    with pytest.raises(SystemExit) as raised:
        parse_options(['--help'])
    assert raised.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    for name, spec in OPTIONS.items():
        assert flag(name) in text, name
        assert ' '.join(spec.description.split()[:6]) in text, name
        if isinstance(spec.default, bool):
            assert '--no-' + flag(name)[2:] in text
    assert 'Default: 110.' in text and 'Range 64..2048 in steps of 16.' in text
    assert 'ros2_humble' in text and '--ros-args' in text


def test_parser_has_one_flag_per_option() -> None:
    actions = [action for action in build_parser()._actions if action.dest != 'help']
    assert [action.dest for action in actions] == list(OPTIONS)
    for action in actions:
        assert action.help and action.option_strings[0] == flag(action.dest)
