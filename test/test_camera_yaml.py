# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for reading and writing ROS camera calibration YAML files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stereo_any_video_ros.camera_yaml import (calibration_from_dict, CameraCalibration,
                                              load_camera_yaml, save_camera_yaml)
import yaml

# Written the way camera_calibration's cameracalibrator writes a stereo left camera.
ROS_LEFT = """\
image_width: 640
image_height: 480
camera_name: narrow_stereo/left
camera_matrix:
  rows: 3
  cols: 3
  data: [430.15433, 0., 306.15235, 0., 430.3507, 235.87539, 0., 0., 1.]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [-0.297653, 0.069296, 0.000169, -0.000201, 0.]
rectification_matrix:
  rows: 3
  cols: 3
  data: [0.99982, 0.00134, 0.01891, -0.00135, 0.99999, 0.00036, -0.01891, -0.00039, 0.99982]
projection_matrix:
  rows: 3
  cols: 4
  data: [415.0, 0., 316.8, 0., 0., 415.0, 238.4, 0., 0., 0., 1., 0.]
"""


def write(tmp_path: Path, text: str, name: str = 'cam.yaml') -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def example() -> CameraCalibration:
    return CameraCalibration(
        width=1280, height=720, camera_name='rig/right',
        K=np.array([[800.125, 0.0, 639.5], [0.0, 800.125, 359.5], [0.0, 0.0, 1.0]]),
        D=np.array([0.1, -0.2, 1e-5, 3.3e-7, 0.0]),
        R=np.eye(3),
        P=np.array([[800.125, 0.0, 639.5, -96.015], [0.0, 800.125, 359.5, 0.0],
                    [0.0, 0.0, 1.0, 0.0]]),
        distortion_model='plumb_bob')


def test_load_ros_file(tmp_path: Path) -> None:
    calib = load_camera_yaml(write(tmp_path, ROS_LEFT))
    assert (calib.width, calib.height) == (640, 480)
    assert calib.camera_name == 'narrow_stereo/left'
    assert calib.distortion_model == 'plumb_bob'
    assert calib.K.shape == (3, 3) and calib.K.dtype == np.float64
    assert calib.K[0, 0] == pytest.approx(430.15433)
    assert calib.K[1, 2] == pytest.approx(235.87539)
    assert calib.D.shape == (5,)
    assert calib.D[0] == pytest.approx(-0.297653)
    assert calib.R.shape == (3, 3) and calib.R[0, 2] == pytest.approx(0.01891)
    assert calib.P.shape == (3, 4) and calib.P[0, 2] == pytest.approx(316.8)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    calib = example()
    path = tmp_path / 'out.yaml'
    save_camera_yaml(calib, path)
    again = load_camera_yaml(path)
    assert again == calib
    for name in ('K', 'D', 'R', 'P'):
        np.testing.assert_array_equal(getattr(again, name), getattr(calib, name))


def test_round_trip_of_ros_file(tmp_path: Path) -> None:
    calib = load_camera_yaml(write(tmp_path, ROS_LEFT))
    save_camera_yaml(calib, tmp_path / 'copy.yaml')
    assert load_camera_yaml(tmp_path / 'copy.yaml') == calib


def test_saved_file_has_ros_layout(tmp_path: Path) -> None:
    path = tmp_path / 'out.yaml'
    save_camera_yaml(example(), path)
    text = path.read_text()
    doc = yaml.safe_load(text)
    assert list(doc) == ['image_width', 'image_height', 'camera_name', 'camera_matrix',
                         'distortion_model', 'distortion_coefficients', 'rectification_matrix',
                         'projection_matrix']
    assert doc['camera_matrix'] == {'rows': 3, 'cols': 3,
                                    'data': [800.125, 0.0, 639.5, 0.0, 800.125, 359.5,
                                             0.0, 0.0, 1.0]}
    assert doc['distortion_coefficients']['rows'] == 1
    assert doc['distortion_coefficients']['cols'] == 5
    assert doc['projection_matrix']['rows'] == 3 and doc['projection_matrix']['cols'] == 4
    # Data lists on one line each, as the ROS tools write them.
    assert 'data: [800.125, 0.0, 639.5' in text


def test_empty_distortion_round_trips(tmp_path: Path) -> None:
    calib = CameraCalibration(100, 50, 'c', np.eye(3), np.zeros(0), np.eye(3),
                              np.hstack([np.eye(3), np.zeros((3, 1))]), 'none')
    save_camera_yaml(calib, tmp_path / 'x.yaml')
    again = load_camera_yaml(tmp_path / 'x.yaml')
    assert again.D.shape == (0,)
    assert again == calib


def test_optional_keys_default(tmp_path: Path) -> None:
    text = '\n'.join(line for line in ROS_LEFT.splitlines()
                     if not line.startswith(('camera_name', 'distortion_model')))
    calib = load_camera_yaml(write(tmp_path, text))
    assert calib.camera_name == ''
    assert calib.distortion_model == 'plumb_bob'


def test_exponent_without_dot_is_a_number(tmp_path: Path) -> None:
    # PyYAML reads 1e-05 as a string; other writers emit it, so it must still load.
    text = ROS_LEFT.replace('0.000169', '1e-05')
    assert load_camera_yaml(write(tmp_path, text)).D[2] == pytest.approx(1e-5)


def test_missing_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / 'nope.yaml'
    with pytest.raises(FileNotFoundError, match='nope.yaml'):
        load_camera_yaml(path)


@pytest.mark.parametrize('key', ['image_width', 'image_height', 'camera_matrix',
                                 'distortion_coefficients', 'rectification_matrix',
                                 'projection_matrix'])
def test_missing_key_names_file_and_key(tmp_path: Path, key: str) -> None:
    doc = yaml.safe_load(ROS_LEFT)
    del doc[key]
    path = write(tmp_path, yaml.safe_dump(doc), 'broken.yaml')
    with pytest.raises(ValueError, match=key) as info:
        load_camera_yaml(path)
    assert 'broken.yaml' in str(info.value)


def test_data_length_mismatch_names_key(tmp_path: Path) -> None:
    text = ROS_LEFT.replace('data: [415.0, 0., 316.8, 0., ', 'data: [415.0, 0., 316.8, ')
    with pytest.raises(ValueError, match='projection_matrix') as info:
        load_camera_yaml(write(tmp_path, text, 'short.yaml'))
    assert 'short.yaml' in str(info.value)
    assert '12' in str(info.value) and '11' in str(info.value)


@pytest.mark.parametrize('old,new,key', [
    ('  rows: 3\n  cols: 4', '  rows: 4\n  cols: 3', 'projection_matrix'),
    ('  rows: 1\n  cols: 5', '  cols: 5', 'distortion_coefficients.rows'),
    ('data: [430.15433', 'data: [oops', 'camera_matrix'),
    ('image_width: 640', 'image_width: wide', 'image_width'),
    ('image_height: 480', 'image_height: -1', 'image_height'),
    ('camera_matrix:\n  rows: 3\n  cols: 3\n  data: [430.15433, 0., 306.15235, 0., '
     '430.3507, 235.87539, 0., 0., 1.]', 'camera_matrix: 7', 'camera_matrix'),
])
def test_malformed_values_name_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in ROS_LEFT
    with pytest.raises(ValueError, match=key.replace('.', r'\.')):
        load_camera_yaml(write(tmp_path, ROS_LEFT.replace(old, new, 1)))


def test_not_yaml_or_not_mapping(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='bad.yaml'):
        load_camera_yaml(write(tmp_path, 'image_width: [1, 2\n', 'bad.yaml'))
    with pytest.raises(ValueError, match='mapping'):
        load_camera_yaml(write(tmp_path, '- 1\n- 2\n', 'list.yaml'))
    with pytest.raises(ValueError, match='mapping'):
        calibration_from_dict(None)


def test_calibration_validates_and_is_immutable() -> None:
    with pytest.raises(ValueError, match='K'):
        CameraCalibration(10, 10, 'c', np.eye(2), np.zeros(5), np.eye(3), np.zeros((3, 4)))
    with pytest.raises(ValueError, match='P'):
        CameraCalibration(10, 10, 'c', np.eye(3), np.zeros(5), np.eye(3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match='width'):
        CameraCalibration(-1, 10, 'c', np.eye(3), np.zeros(5), np.eye(3), np.zeros((3, 4)))
    calib = example()
    with pytest.raises(ValueError):
        calib.K[0, 0] = 1.0
    with pytest.raises(AttributeError):
        calib.width = 3  # type: ignore[misc]
    source = np.eye(3)
    c2 = CameraCalibration(10, 10, 'c', source, [0.0], np.eye(3), np.zeros((3, 4)))
    source[0, 0] = 5.0
    assert c2.K[0, 0] == 1.0  # copied, not aliased
    assert c2 != example()
