# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the parameter table and NodeConfig validation (stereo_any_video_ros.params)."""
from __future__ import annotations

from dataclasses import fields
import math
from typing import Any

import pytest

from stereo_any_video_ros.backends.sgbm import SGBMBackend
from stereo_any_video_ros.params import ConfigError, NodeConfig, PARAMETERS, ParamSpec

FLOAT_RANGED = sorted(name for name, spec in PARAMETERS.items()
                      if isinstance(spec.default, float) and spec.range is not None)


def config_error(values: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        NodeConfig.from_values(values)
    return str(raised.value)


# --- the table ----------------------------------------------------------------------------------

@pytest.mark.parametrize('name', sorted(PARAMETERS))
def test_default_passes_its_own_check(name: str) -> None:
    spec = PARAMETERS[name]
    assert spec.name == name
    assert spec.check(spec.default) is None
    assert spec.description


def test_table_and_config_fields_agree() -> None:
    assert {name.replace('.', '_') for name in PARAMETERS} == {f.name for f in fields(NodeConfig)}


def test_from_empty_values_gives_defaults() -> None:
    config = NodeConfig.from_values({})
    for name, spec in PARAMETERS.items():
        value = getattr(config, name.replace('.', '_'))
        assert value == spec.default and type(value) is type(spec.default)


def test_check_messages() -> None:
    spec = ParamSpec('p', 3, 'help', range=(1, 9, 2))
    assert spec.check(5) is None
    assert 'p must be a int' in spec.check(5.0)
    assert 'p must lie in [1, 9]' in spec.check(11)
    assert 'multiple of 2' in spec.check(4)
    choice = ParamSpec('c', 'a', 'help', choices=('a', 'b'))
    assert choice.check('b') is None
    assert "c must be one of ['a', 'b']" in choice.check('z')


# --- single values ------------------------------------------------------------------------------

@pytest.mark.parametrize('name, value', [
    ('queue_size', '5'),
    ('queue_size', 5.0),
    ('queue_size', True),
    ('approximate_sync', 1),
    ('use_color', 'true'),
    ('min_depth', '0.5'),
    ('min_depth', True),
    ('frame_id', 3),
    ('sgbm.mode', None),
])
def test_wrong_type_rejected(name: str, value: Any) -> None:
    message = config_error({name: value})
    assert name in message and 'must be a' in message


@pytest.mark.parametrize('name, value', [
    ('queue_size', 0),
    ('queue_size', 101),
    ('min_depth', 0.0),
    ('max_depth', 1e6),
    ('clip_length', 33),
    ('point_cloud_decimation', 0),
    ('sgbm.min_disparity', -300),
    ('sgbm.num_disparities', 0),
    ('approximate_sync_tolerance_seconds', -0.1),
    ('max_depth', math.inf),
])
def test_out_of_range_rejected(name: str, value: Any) -> None:
    message = config_error({name: value})
    assert name in message and 'must lie in' in message


@pytest.mark.parametrize('name, value', [
    ('sgbm.num_disparities', 70),
    ('sgbm.block_size', 4),
])
def test_bad_step_rejected(name: str, value: Any) -> None:
    message = config_error({name: value})
    assert name in message and 'multiple of' in message


@pytest.mark.parametrize('name', FLOAT_RANGED)
def test_nan_rejected_for_ranged_float(name: str) -> None:
    # nan compares false with everything, so it must not slip past a range check: a nan
    # max_depth would make every disparity invalid, a nan tolerance or gap cannot become the
    # integer nanoseconds the node needs.
    message = config_error({name: math.nan})
    assert name in message


def test_unknown_names_rejected() -> None:
    message = config_error({'queue_sise': 5, 'sgbm_block_size': 5})
    assert 'queue_sise' in message and 'sgbm_block_size' in message


@pytest.mark.parametrize('name, value', [
    ('backend', 'raft'),
    ('warmup', 'none'),
    ('depth_encoding', '16UC2'),
    ('image_transport', 'theora'),
    ('precision', 'fp8'),
    ('output_resolution', 'half'),
    ('sgbm.mode', 'bm'),
])
def test_bad_choice_rejected(name: str, value: str) -> None:
    message = config_error({name: value})
    assert name in message and 'must be one of' in message and value in message


def test_ints_accepted_for_float_params() -> None:
    config = NodeConfig.from_values({'max_depth': 30, 'min_depth': 1, 'delta_d': 0})
    assert config.max_depth == 30.0 and type(config.max_depth) is float
    assert config.min_depth == 1.0 and type(config.min_depth) is float
    assert config.delta_d == 0.0 and type(config.delta_d) is float


def test_valid_non_defaults_accepted() -> None:
    config = NodeConfig.from_values({
        'queue_size': 100, 'sgbm.num_disparities': 128, 'sgbm.block_size': 7,
        'sgbm.min_disparity': -16, 'warmup': 'wait', 'frame_id': 'base', 'device': 'cuda:1'})
    assert (config.queue_size, config.sgbm_num_disparities, config.sgbm_block_size) == (
        100, 128, 7)
    assert config.sgbm_min_disparity == -16
    assert (config.warmup, config.frame_id, config.device) == ('wait', 'base', 'cuda:1')


# --- combinations -------------------------------------------------------------------------------

@pytest.mark.parametrize('min_depth, max_depth', [(5.0, 5.0), (6.0, 5.0)])
def test_min_depth_must_be_below_max_depth(min_depth: float, max_depth: float) -> None:
    message = config_error({'min_depth': min_depth, 'max_depth': max_depth})
    assert 'min_depth' in message and 'max_depth' in message


def test_min_disparity_must_be_below_max_disparity() -> None:
    message = config_error({'min_disparity': 50.0, 'max_disparity': 40.0})
    assert 'min_disparity' in message and 'max_disparity' in message
    NodeConfig.from_values({'min_disparity': 50.0})  # max derived from min_depth: fine


def test_clip_stride_cannot_exceed_clip_length() -> None:
    message = config_error({'clip_length': 2, 'clip_stride': 4})
    assert 'clip_stride' in message and 'clip_length' in message
    NodeConfig.from_values({'clip_length': 4, 'clip_stride': 4})
    NodeConfig.from_values({'clip_length': 0, 'clip_stride': 4})  # checked against the backend


def test_output_delay_and_stride_must_fit_in_the_clip() -> None:
    message = config_error({'clip_length': 20, 'clip_stride': 10, 'output_delay_frames': 11})
    assert 'output_delay_frames' in message and 'clip_length' in message
    NodeConfig.from_values({'clip_length': 20, 'clip_stride': 10, 'output_delay_frames': 10})


@pytest.mark.parametrize('values', [{'inference_width': 320}, {'inference_height': 240}])
def test_inference_size_needs_both(values: dict) -> None:
    message = config_error(values)
    assert 'inference_width' in message and 'inference_height' in message


def test_inference_size_both_set() -> None:
    config = NodeConfig.from_values({'inference_width': 320, 'inference_height': 240})
    assert (config.inference_width, config.inference_height) == (320, 240)


@pytest.mark.parametrize('value', [1.0, -1.0, math.inf])
def test_invalid_disparity_value_must_be_zero_or_nan(value: float) -> None:
    assert 'invalid_disparity_value' in config_error({'invalid_disparity_value': value})


@pytest.mark.parametrize('value', [0.0, 0, math.nan])
def test_invalid_disparity_value_zero_or_nan_accepted(value: float) -> None:
    config = NodeConfig.from_values({'invalid_disparity_value': value})
    assert config.invalid_disparity_value == 0.0 or math.isnan(config.invalid_disparity_value)


@pytest.mark.parametrize('device', ['gpu', 'cuda:', 'cuda:x', 'CUDA', 'cuda:0:1', ''])
def test_bad_device_rejected(device: str) -> None:
    message = config_error({'device': device})
    assert 'device' in message and repr(device) in message


@pytest.mark.parametrize('device', ['cpu', 'cuda', 'cuda:0', 'cuda:12'])
def test_good_devices_accepted(device: str) -> None:
    assert NodeConfig.from_values({'device': device}).device == device


# --- replace and backend options ----------------------------------------------------------------

def test_replace_validates_and_copies() -> None:
    config = NodeConfig.from_values({})
    changed = config.replace(max_depth=30.0, **{'sgbm.block_size': 7})
    assert changed.max_depth == 30.0 and changed.sgbm_block_size == 7
    assert config.max_depth == 20.0 and config.sgbm_block_size == 5
    assert changed.replace() == changed
    with pytest.raises(ConfigError, match='queue_size'):
        config.replace(queue_size=0)
    with pytest.raises(ConfigError, match='min_depth'):
        config.replace(min_depth=30.0)
    with pytest.raises(ConfigError, match='sgbm.block_size'):
        config.replace(**{'sgbm.block_size': 4})
    with pytest.raises(ConfigError, match='unknown'):
        config.replace(bogus=1)


def test_backend_options_strip_prefix() -> None:
    config = NodeConfig.from_values({'sgbm.block_size': 9, 'sgbm.mode': 'hh'})
    options = config.backend_options()
    expected = {name[len('sgbm.'):]: getattr(config, name.replace('.', '_'))
                for name in PARAMETERS if name.startswith('sgbm.')}
    assert options == expected
    assert options['block_size'] == 9 and options['mode'] == 'hh'
    assert 'backend' not in options and 'checkpoint' not in options


def test_sav_options_carry_the_checkpoint() -> None:
    config = NodeConfig.from_values({'backend': 'sav', 'checkpoint': '/w/sav.pth',
                                     'sav.iters': 10})
    assert config.backend_options() == {'checkpoint': '/w/sav.pth', 'vda_checkpoint': '',
                                        'iters': 10}
    assert 'iters' in config_error({'sav.iters': 3})  # even: half per coarse stage


@pytest.mark.parametrize('values', [{}, {'sgbm.block_size': 9, 'sgbm.mode': 'sgbm_3way',
                                         'sgbm.num_disparities': 128, 'sgbm.p1': 100,
                                         'sgbm.p2': 400}])
def test_backend_options_build_sgbm(values: dict) -> None:
    options = NodeConfig.from_values(values).backend_options()
    backend = SGBMBackend(**options)
    assert backend.default_clip_length == 1
