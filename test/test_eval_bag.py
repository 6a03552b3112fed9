# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for evaluating a bag's depth output against a GT depth topic, on real rosbag2 bags."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List

import numpy as np
import pytest
from stereo_any_video_ros.bag_io import BagError
from stereo_any_video_ros.bag_io import FrameSelection as BagFrameSelection
from stereo_any_video_ros.evaluation.datasets.bag import read_bag_evaluation
from stereo_any_video_ros.evaluation.datasets.base import FrameSelection
from test_bag_io import (HEIGHT, IMAGE, NS, pixels, raw_image, Record, STRING, string, T0, TS,
                         WIDTH, write_bag)

DISPARITY = 'stereo_msgs/msg/DisparityImage'
FRAMES = 4
MISSING_GT = 2  # frame without GT
F, BASELINE, MIN_DISPARITY = 100.0, 0.1, 2.0
RELATIVE_TOPIC = '/cam/relative_inverse_depth/image'


def stamp(i: int) -> int:
    """Header stamp of frame i, 1 ms before its log time T0 + i s."""
    return T0 + i * NS - NS // 1000


def log_time(i: int) -> int:
    return T0 + i * NS


def gt_depth(i: int) -> np.ndarray:
    """(H, W) metres on a 1 mm grid; pixel (0, 0) is 0 and (0, 1) NaN: missing."""
    values = (np.random.default_rng(i).integers(500, 9000, (HEIGHT, WIDTH)) / 1000.0)
    values = values.astype(np.float32)
    values[0, 0], values[0, 1] = 0.0, np.nan
    return values


def relative(i: int) -> np.ndarray:
    return np.random.default_rng(50 + i).random((HEIGHT, WIDTH)).astype(np.float32)


def millimetres(i: int) -> np.ndarray:
    values = np.random.default_rng(80 + i).integers(1, 20000, (HEIGHT, WIDTH)).astype(np.uint16)
    values[1, 1] = 0
    return values


def disparity(i: int) -> np.ndarray:
    """Pixels: (0, 0) NaN, (0, 1) 0, (0, 2) below min_disparity, the rest valid."""
    values = np.random.default_rng(90 + i).uniform(2.0, 50.0, (HEIGHT, WIDTH))
    values = values.astype(np.float32)
    values[0, :3] = np.nan, 0.0, MIN_DISPARITY - 0.5
    return values


def disparity_image(i: int) -> Any:
    roi = TS.types['sensor_msgs/msg/RegionOfInterest'](x_offset=0, y_offset=0, height=HEIGHT,
                                                       width=WIDTH, do_rectify=False)
    return TS.types[DISPARITY](
        header=raw_image(stamp(i), disparity(i), '32FC1').header,
        image=raw_image(stamp(i), disparity(i), '32FC1'), f=F, t=BASELINE, valid_window=roi,
        min_disparity=MIN_DISPARITY, max_disparity=60.0, delta_d=0.25)


def prediction_records() -> List[Record]:
    records = []
    for i in range(FRAMES):
        records += [
            ('/cam/image_raw', IMAGE, log_time(i), raw_image(stamp(i), pixels(i), 'rgb8')),
            (RELATIVE_TOPIC, IMAGE, log_time(i), raw_image(stamp(i), relative(i), '32FC1')),
            ('/cam/depth/image_rect', IMAGE, log_time(i),
             raw_image(stamp(i), millimetres(i), '16UC1')),
            ('/cam/disparity', DISPARITY, log_time(i), disparity_image(i))]
    return records


def gt_records(encoding: str = '32FC1') -> List[Record]:
    records = []
    for i in range(FRAMES):
        if i == MISSING_GT:
            continue
        values = gt_depth(i)
        if encoding == '16UC1':
            values = np.rint(np.nan_to_num(values) * 1000).astype(np.uint16)
        records.append(('/gt/depth', IMAGE, log_time(i), raw_image(stamp(i), values, encoding)))
    return records


@pytest.fixture(scope='module')
def one_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Images, GT (32FC1, frame 2 missing) and every prediction kind in one mcap bag."""
    extra = [('/chatter', STRING, log_time(0), string('hello')),
             ('/cam/mono8', IMAGE, log_time(0), raw_image(stamp(0), pixels(0, 1), 'mono8')),
             ('/cam/small_rgb', IMAGE, log_time(0),
              raw_image(stamp(0), pixels(0, width=4), 'rgb8'))]
    path = tmp_path_factory.mktemp('eval') / 'run'
    return write_bag(path, prediction_records() + gt_records() + extra)


def expected_gt(i: int) -> np.ndarray:
    values = gt_depth(i)
    values[0, 0] = np.nan
    return values


def test_relative_prediction_pairs_by_stamp(one_bag: Path) -> None:
    result = read_bag_evaluation(one_bag, RELATIVE_TOPIC, one_bag, '/gt/depth',
                                 image_topic='/cam/image_raw', max_depth=10.0)
    paired = [0, 1, 3]
    assert result.kind == 'relative_disparity'
    assert (result.predictions_without_gt, result.gt_without_prediction) == (1, 0)
    assert result.stamps.tolist() == [stamp(i) for i in paired]
    assert result.predictions.dtype == np.float32
    np.testing.assert_array_equal(result.predictions, np.stack([relative(i) for i in paired]))
    sequence = result.sequence
    assert (sequence.name, len(sequence), sequence.max_depth, sequence.protocol_frames) == (
        'run', 3, 10.0, None)
    for index, i in enumerate(paired):
        np.testing.assert_array_equal(sequence[index].image, pixels(i))
        np.testing.assert_array_equal(sequence[index].depth, expected_gt(i))


def test_millimetre_depth_prediction_and_no_images(one_bag: Path) -> None:
    result = read_bag_evaluation(one_bag, '/cam/depth/image_rect', one_bag, '/gt/depth')
    assert result.kind == 'depth' and np.isinf(result.sequence.max_depth)
    expected = millimetres(3).astype(np.float32) / 1000
    expected[1, 1] = np.nan
    np.testing.assert_allclose(result.predictions[2], expected, rtol=1e-6)
    assert np.isnan(result.predictions[2, 1, 1])
    np.testing.assert_array_equal(result.sequence[0].image, np.zeros((HEIGHT, WIDTH, 3)))


def test_disparity_prediction_becomes_depth(one_bag: Path) -> None:
    result = read_bag_evaluation(one_bag, '/cam/disparity', one_bag, '/gt/depth')
    assert result.kind == 'depth'
    depth = result.predictions[1]
    assert np.isnan(depth[0, :3]).all()  # NaN, 0 and below min_disparity
    np.testing.assert_allclose(depth[1:], F * BASELINE / disparity(1)[1:], rtol=1e-6)


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_separate_gt_bag_16uc1_and_selection(tmp_path: Path, storage: str) -> None:
    predictions = write_bag(tmp_path / 'out', prediction_records())
    truth = write_bag(tmp_path / 'truth', gt_records('16UC1'), storage=storage)
    result = read_bag_evaluation(predictions, RELATIVE_TOPIC, truth, '/gt/depth',
                                 image_topic='/cam/image_raw',  # only in the prediction bag
                                 selection=FrameSelection(every_n=2))
    assert result.stamps.tolist() == [stamp(0), stamp(3)]  # pairs 0, 1, 3: every 2nd
    np.testing.assert_array_equal(result.sequence[1].image, pixels(3))
    np.testing.assert_array_equal(result.sequence[1].depth, expected_gt(3))  # mm / 1000
    # Bag windows, in seconds after the GT bag start: [0, 2) holds frames 0 and 1, [1, 3) 1 and
    # 2, and 2 has no GT.
    window = read_bag_evaluation(predictions, RELATIVE_TOPIC, truth, '/gt/depth',
                                 selection=BagFrameSelection(start=0.0, end=2.0))
    assert window.stamps.tolist() == [stamp(0), stamp(1)]
    window = read_bag_evaluation(predictions, RELATIVE_TOPIC, truth, '/gt/depth',
                                 selection=BagFrameSelection(start=1.0, end=3.0))
    assert window.stamps.tolist() == [stamp(1)]
    assert (window.predictions_without_gt, window.gt_without_prediction) == (1, 0)


@pytest.mark.parametrize('prediction, gt, image, words', [
    ('/cam/nothing', '/gt/depth', None,
     r'prediction topic /cam/nothing is not in .*fitting type: \[.*/cam/disparity'),
    ('/chatter', '/gt/depth', None,
     r'prediction topic /chatter has type std_msgs/msg/String; supported: .*Image 32FC1 on a '
     r'\.\.\./relative_inverse_depth/\.\.\. topic .* stereo_msgs/msg/DisparityImage'),
    ('/cam/mono8', '/gt/depth', None,
     r"prediction topic /cam/mono8 has a sensor_msgs/msg/Image with encoding 'mono8' .*; "
     r'supported: sensor_msgs/msg/Image 32FC1 \(metres\) or 16UC1 \(millimetres\)'),
    (RELATIVE_TOPIC, '/cam/image_raw', None,
     r"GT depth topic /cam/image_raw has a sensor_msgs/msg/Image with encoding 'rgb8'"),
    (RELATIVE_TOPIC, '/cam/disparity', None,
     r'GT depth topic /cam/disparity has type stereo_msgs/msg/DisparityImage; supported: '
     r'sensor_msgs/msg/Image 32FC1'),
    (RELATIVE_TOPIC, '/gt/depth', '/cam/small_rgb',
     r'image on /cam/small_rgb .* is 4x6 but the GT depth is 8x6'),
    (RELATIVE_TOPIC, '/gt/depth', '/chatter', r'image topic /chatter has type std_msgs'),
])
def test_errors_name_topic_and_what_is_supported(one_bag: Path, prediction: str, gt: str,
                                                 image: str, words: str) -> None:
    with pytest.raises(BagError, match=words):
        read_bag_evaluation(one_bag, prediction, one_bag, gt, image_topic=image)


def test_relative_topic_must_be_32fc1(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / 'bag', gt_records() + [
        (RELATIVE_TOPIC, IMAGE, log_time(0), raw_image(stamp(0), millimetres(0), '16UC1'))])
    with pytest.raises(BagError, match=r"encoding '16UC1' .* supported: 32FC1 on a relative "
                                       'inverse depth topic'):
        read_bag_evaluation(bag, RELATIVE_TOPIC, bag, '/gt/depth')


def test_no_common_stamp_reports_both_ranges(tmp_path: Path) -> None:
    shifted = [(RELATIVE_TOPIC, IMAGE, log_time(i), raw_image(stamp(i) + 5, relative(i), '32FC1'))
               for i in range(2)]
    bag = write_bag(tmp_path / 'bag', gt_records() + shifted)
    first = stamp(0) // NS
    with pytest.raises(BagError, match=(
            rf'no frame of {RELATIVE_TOPIC} \(2 frames, stamps {first}\.999000005 \.\. '
            rf'{first + 1}\.999000005\) has a frame of /gt/depth \(3 frames, stamps '
            rf'{first}\.999000000 \.\. {first + 3}\.999000000\) with the identical header stamp')):
        read_bag_evaluation(bag, RELATIVE_TOPIC, bag, '/gt/depth')


def test_repeated_stamp_and_empty_window_are_refused(tmp_path: Path) -> None:
    repeated = gt_records() + [(RELATIVE_TOPIC, IMAGE, log_time(i), raw_image(
        stamp(0), relative(i), '32FC1')) for i in range(2)]
    bag = write_bag(tmp_path / 'repeated', repeated)
    with pytest.raises(BagError, match=rf'{RELATIVE_TOPIC} has two messages with the header '
                                       'stamp'):
        read_bag_evaluation(bag, RELATIVE_TOPIC, bag, '/gt/depth')
    with pytest.raises(BagError, match=rf'{RELATIVE_TOPIC} has no messages in the selected '
                                       'window'):
        read_bag_evaluation(bag, RELATIVE_TOPIC, bag, '/gt/depth',
                            selection=BagFrameSelection(start=50.0))
