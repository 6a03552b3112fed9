# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for stereo_any_video_ros.bag_io on real bags written with rosbags in each test."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
import subprocess
import sys
from typing import Any, Dict, List, Sequence, Tuple

import cv2
import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores
from ruamel.yaml import YAML

from stereo_any_video_ros.bag_io import (
    BagError, camera_info_message, camera_info_topic, cloud_message, disparity_message,
    FrameSelection, image_message, InputBag, output_namespace, OutputBag, stamp_ns,
    typestore_by_name)
from stereo_any_video_ros.calibration import PinholeInfo, stereo_calibration
from stereo_any_video_ros.clip import ClipFrame
from stereo_any_video_ros.conversions import cloud_to_array, image_to_array
from stereo_any_video_ros.geometry import DisparityRange, PointCloudBuilder
from stereo_any_video_ros.processing import FrameResult

TS = get_typestore(Stores.LATEST)
NS = 1_000_000_000
T0 = 1_700_000_000 * NS  # log time of each test bag's first message
WIDTH, HEIGHT = 8, 6
IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED = 'sensor_msgs/msg/CompressedImage'
INFO = 'sensor_msgs/msg/CameraInfo'
STRING = 'std_msgs/msg/String'
STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}

Record = Tuple[str, str, int, Any]  # topic, msgtype, log time (ns), message


# --- fixtures: messages and bags ----------------------------------------------------------------

def header(stamp: int, frame_id: str = 'cam_optical') -> Any:
    time = TS.types['builtin_interfaces/msg/Time'](sec=stamp // NS, nanosec=stamp % NS)
    return TS.types['std_msgs/msg/Header'](stamp=time, frame_id=frame_id)


def pixels(seed: int, channels: int = 3, width: int = WIDTH, height: int = HEIGHT
           ) -> np.ndarray:
    shape = (height, width, channels) if channels > 1 else (height, width)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def raw_image(stamp: int, data: np.ndarray, encoding: str, frame_id: str = 'cam_optical'
              ) -> Any:
    """An Image built field by field, independently of the module under test."""
    return TS.types[IMAGE](
        header=header(stamp, frame_id), height=data.shape[0], width=data.shape[1],
        encoding=encoding, is_bigendian=0, step=data[0].nbytes,
        data=np.ascontiguousarray(data).reshape(-1).view(np.uint8))


def compressed_image(stamp: int, rgb: np.ndarray, fmt: str) -> Any:
    ok, encoded = cv2.imencode(f'.{fmt}', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return TS.types[COMPRESSED](header=header(stamp), format=f'rgb8; {fmt} compressed bgr8',
                                data=encoded.reshape(-1))


def camera_info(stamp: int, fx: float, tx: float = 0.0, width: int = WIDTH,
                height: int = HEIGHT) -> Any:
    cx, cy = (width - 1) / 2, (height - 1) / 2
    roi = TS.types['sensor_msgs/msg/RegionOfInterest'](x_offset=0, y_offset=0, height=0,
                                                       width=0, do_rectify=False)
    return TS.types[INFO](
        header=header(stamp), height=height, width=width, distortion_model='plumb_bob',
        d=np.zeros(5), k=np.array([fx, 0, cx, 0, fx, cy, 0, 0, 1], dtype=np.float64),
        r=np.eye(3).ravel(), p=np.array([fx, 0, cx, tx, 0, fx, cy, 0, 0, 0, 1, 0], np.float64),
        binning_x=0, binning_y=0, roi=roi)


def string(text: str) -> Any:
    return TS.types[STRING](data=text)


def write_bag(path: Path, records: Sequence[Record], storage: str = 'mcap') -> Path:
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        connections: Dict[str, Any] = {}
        for topic, msgtype, log_time, msg in records:
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=TS)
            writer.write(connections[topic], log_time, TS.serialize_cdr(msg, msgtype))
    return path


def image_stream(topic: str, count: int, period: float = 1.0, first: float = 1.0
                 ) -> List[Record]:
    """`count` rgb8 frames, logged `first` + i*`period` s after T0, stamped 1 ms earlier."""
    records = []
    for i in range(count):
        log_time = T0 + round((first + i * period) * NS)
        records.append((topic, IMAGE, log_time, raw_image(log_time - NS // 1000, pixels(i),
                                                          'rgb8')))
    return records


def digest(path: Path) -> Dict[str, str]:
    files = sorted(path.rglob('*')) if path.is_dir() else [path]
    return {str(file): hashlib.sha256(file.read_bytes()).hexdigest()
            for file in files if file.is_file()}


def read_back(path: Path) -> List[Tuple[str, int, Any]]:
    with AnyReader([path]) as reader:
        return [(connection.topic, log_time, reader.deserialize(raw, connection.msgtype))
                for connection, log_time, raw in reader.messages()]


def metadata(path: Path) -> Dict[str, Any]:
    text = (path / 'metadata.yaml').read_text()
    return YAML(typ='safe').load(text)['rosbag2_bagfile_information']


# --- topic names and typestores -----------------------------------------------------------------

@pytest.mark.parametrize('image_topic, expected', [
    ('/cam/image_raw', '/cam/camera_info'),
    ('/cam/image_raw/compressed', '/cam/camera_info'),
    ('/stereo/left/image_rect', '/stereo/left/camera_info'),
    ('/image', '/camera_info'),
    ('cam/image', 'cam/camera_info'),
])
def test_camera_info_topic(image_topic: str, expected: str) -> None:
    assert camera_info_topic(image_topic) == expected


@pytest.mark.parametrize('image_topic, suffix, expected', [
    ('/cam/image_raw', 'mono_depth', '/cam/mono_depth'),
    ('/cam/image_raw/compressed', 'mono_depth', '/cam/mono_depth'),
    ('/stereo/left/image_rect', '', '/stereo'),
    ('/stereo/right/image_rect/compressed', 'sav', '/stereo/sav'),
    ('/left/image', '', '/'),
    ('/image', '', '/'),
    ('/image', 'mono_depth/', '/mono_depth'),
    ('cam/image', 'mono_depth', 'cam/mono_depth'),
])
def test_output_namespace(image_topic: str, suffix: str, expected: str) -> None:
    assert output_namespace(image_topic, suffix) == expected


def test_typestore_by_name() -> None:
    assert 'sensor_msgs/msg/Image' in typestore_by_name('humble').types
    assert typestore_by_name('ros2_jazzy').fielddefs == get_typestore(Stores.ROS2_JAZZY).fielddefs
    with pytest.raises(BagError, match=r"unknown typestore 'rolling'.*ros2_humble"):
        typestore_by_name('rolling')


# --- selection ----------------------------------------------------------------------------------

@pytest.mark.parametrize('values, words', [
    ({'start': -1.0}, 'start must be a finite number'),
    ({'end': float('nan')}, 'end must be a finite number'),
    ({'start': 5.0, 'end': 3.0}, 'must be later than start'),
    ({'every_n': 0}, 'every_n must be an integer >= 1'),
    ({'every_n': 1.5}, 'every_n must be an integer >= 1'),
    ({'max_frames': -2}, 'max_frames must be an integer >= 0'),
])
def test_selection_rejects_bad_values(values: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        FrameSelection(**values)


@pytest.fixture(scope='module')
def ten_frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A String at T0 (the bag start), then rgb8 frames logged 1, 2, ..., 10 s after it."""
    path = tmp_path_factory.mktemp('selection') / 'bag'
    return write_bag(path, [('/other', STRING, T0, string('start'))]
                     + image_stream('/cam/image_raw', 10))


@pytest.mark.parametrize('selection, offsets', [
    (FrameSelection(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    (FrameSelection(start=3.0, end=6.0), [3, 4, 5]),  # [start, end)
    (FrameSelection(start=2.5), [3, 4, 5, 6, 7, 8, 9, 10]),
    (FrameSelection(start=3.0, end=6.0, every_n=2), [3, 5]),
    (FrameSelection(every_n=3), [1, 4, 7, 10]),
    (FrameSelection(every_n=2, max_frames=3), [1, 3, 5]),
    (FrameSelection(end=9.5, max_frames=20), [1, 2, 3, 4, 5, 6, 7, 8, 9]),
])
def test_selection_semantics(ten_frames: Path, selection: FrameSelection,
                             offsets: List[int]) -> None:
    with InputBag([ten_frames]) as bag:
        frames = list(bag.frames('/cam/image_raw', selection))
        assert bag.select_count('/cam/image_raw', selection) == len(offsets)
    assert [frame.index for frame in frames] == list(range(len(offsets)))
    assert [(frame.log_time - T0) / NS for frame in frames] == offsets
    for frame, offset in zip(frames, offsets):
        np.testing.assert_array_equal(frame.image, pixels(offset - 1))


def test_empty_selection_says_what_the_topic_has(ten_frames: Path) -> None:
    with InputBag([ten_frames]) as bag:
        with pytest.raises(BagError) as error:
            list(bag.frames('/cam/image_raw', FrameSelection(start=20.0, end=30.0)))
    message = str(error.value)
    for words in ('yields no frames from /cam/image_raw', 'has 10 messages', 'lasts 10.000 s',
                  '20.0 s to 30.0 s', '--start/--end'):
        assert words in message


# --- reading images -----------------------------------------------------------------------------

@pytest.mark.parametrize('storage', sorted(STORAGES))
@pytest.mark.parametrize('encoding', ['mono8', 'rgb8', 'bgr8'])
def test_raw_images_read_back_exactly(tmp_path: Path, storage: str, encoding: str) -> None:
    channels = 1 if encoding == 'mono8' else 3
    stored = [pixels(i, channels) for i in range(4)]
    stamps = [T0 + i * NS // 10 + 123 for i in range(4)]
    log_times = [stamp + 5_000_000 for stamp in stamps]
    records = [('/cam/image_raw', IMAGE, log_time, raw_image(stamp, data, encoding, f'f{i}'))
               for i, (stamp, log_time, data) in enumerate(zip(stamps, log_times, stored))]
    path = write_bag(tmp_path / 'bag', records, storage)
    with InputBag([path]) as bag:
        frames = list(bag.frames('/cam/image_raw', FrameSelection()))
    expected = {'mono8': lambda data: np.repeat(data[..., None], 3, axis=2),
                'rgb8': lambda data: data,
                'bgr8': lambda data: data[..., ::-1]}[encoding]
    assert len(frames) == 4
    for i, frame in enumerate(frames):
        assert frame.image.dtype == np.uint8 and frame.image.shape == (HEIGHT, WIDTH, 3)
        assert frame.image.flags.writeable
        np.testing.assert_array_equal(frame.image, expected(stored[i]))
        assert frame.log_time == log_times[i]
        assert stamp_ns(frame.header) == stamps[i]
        assert frame.header.frame_id == f'f{i}'


@pytest.mark.parametrize('fmt', ['png', 'jpg'])
def test_compressed_images(tmp_path: Path, fmt: str) -> None:
    # A smooth image, which jpeg keeps within a few grey levels.
    ramp = np.linspace(0, 255, WIDTH * 4, dtype=np.float32)
    rgb = np.stack([np.tile(ramp, (HEIGHT * 4, 1))] * 3, axis=2).astype(np.uint8)
    rgb[..., 1] = 255 - rgb[..., 1]
    path = write_bag(tmp_path / 'bag', [
        ('/cam/image_raw/compressed', COMPRESSED, T0 + i, compressed_image(T0 + i, rgb, fmt))
        for i in range(2)])
    with InputBag([path]) as bag:
        topic = bag.image_topic()
        frames = list(bag.frames(topic, FrameSelection()))
    assert topic == '/cam/image_raw/compressed'
    assert [stamp_ns(frame.header) for frame in frames] == [T0, T0 + 1]
    for frame in frames:
        if fmt == 'png':
            np.testing.assert_array_equal(frame.image, rgb)
        else:
            assert np.abs(frame.image.astype(int) - rgb).mean() < 3.0


def test_ros1_bag_reads_and_copies_into_a_ros2_bag(tmp_path: Path) -> None:
    ros1 = get_typestore(Stores.ROS1_NOETIC)
    path = tmp_path / 'in.bag'
    stored = [pixels(i) for i in range(3)]
    with Writer1(path) as writer:
        images = writer.add_connection('/cam/image_raw', IMAGE, typestore=ros1)
        static = writer.add_connection('/note', STRING, typestore=ros1, latching=1)
        writer.write(static, T0, ros1.serialize_ros1(ros1.types[STRING](data='hi'), STRING))
        for i, data in enumerate(stored):
            time = ros1.types['builtin_interfaces/msg/Time'](sec=100 + i, nanosec=7)
            msg = ros1.types[IMAGE](
                header=ros1.types['std_msgs/msg/Header'](seq=i, stamp=time, frame_id='cam1'),
                height=HEIGHT, width=WIDTH, encoding='rgb8', is_bigendian=0, step=WIDTH * 3,
                data=data.reshape(-1))
            writer.write(images, T0 + (i + 1) * NS, ros1.serialize_ros1(msg, IMAGE))
    before = digest(path)
    output = tmp_path / 'out'
    with InputBag([path]) as bag, OutputBag(output) as out:
        frames = list(bag.frames(bag.image_topic(), FrameSelection()))
        for topic in bag.topics:
            out.add_topic(topic, bag.topics[topic], bag.message_definition(topic))
        for topic, log_time, raw in bag.messages():
            out.write_raw(topic, log_time, raw)
    assert digest(path) == before
    assert [frame.log_time for frame in frames] == [T0 + NS, T0 + 2 * NS, T0 + 3 * NS]
    assert [stamp_ns(frame.header) for frame in frames] == [(100 + i) * NS + 7 for i in range(3)]
    assert {frame.header.frame_id for frame in frames} == {'cam1'}
    for frame, data in zip(frames, stored):
        np.testing.assert_array_equal(frame.image, data)
    copied = read_back(output)
    assert [(topic, log_time) for topic, log_time, _ in copied] == \
        [('/note', T0)] + [('/cam/image_raw', T0 + (i + 1) * NS) for i in range(3)]
    assert copied[0][2].data == 'hi'
    for (_, _, msg), data, i in zip(copied[1:], stored, range(3)):
        assert stamp_ns(msg.header) == (100 + i) * NS + 7 and msg.header.frame_id == 'cam1'
        np.testing.assert_array_equal(image_to_array(msg), data)
    qos = {entry['topic_metadata']['name']: entry['topic_metadata']['offered_qos_profiles'][0]
           for entry in metadata(output)['topics_with_message_count']}
    assert qos['/note']['durability'] == 'transient_local'  # latched in ROS 1
    assert qos['/cam/image_raw']['reliability'] == 'reliable'


def test_several_bags_merge_in_log_time_order(tmp_path: Path) -> None:
    first = write_bag(tmp_path / 'a', image_stream('/cam/image_raw', 3, period=2.0))
    second = write_bag(tmp_path / 'b', image_stream('/cam/image_raw', 3, period=2.0, first=2.0))
    with InputBag([first, second]) as bag:
        frames = list(bag.frames('/cam/image_raw', FrameSelection()))
    assert [(frame.log_time - T0) // NS for frame in frames] == [1, 2, 3, 4, 5, 6]


# --- topic choice -------------------------------------------------------------------------------

def test_image_topic_choice(tmp_path: Path) -> None:
    one = write_bag(tmp_path / 'one', [('/cam/camera_info', INFO, T0, camera_info(T0, 100.0))]
                    + image_stream('/cam/image_raw', 1))
    with InputBag([one]) as bag:
        assert bag.image_topic() == '/cam/image_raw'
        assert bag.image_topic('/cam/image_raw') == '/cam/image_raw'
        with pytest.raises(BagError) as missing:
            bag.image_topic('/left/image_rect')
        with pytest.raises(BagError) as wrong:
            bag.image_topic('/cam/camera_info')
    assert '/left/image_rect is not in' in str(missing.value)
    assert "['/cam/image_raw']" in str(missing.value)  # the image topics there are
    assert '/cam/camera_info' in str(missing.value)  # and everything else
    assert 'has type sensor_msgs/msg/CameraInfo' in str(wrong.value)

    two = write_bag(tmp_path / 'two', image_stream('/a/image', 1) + image_stream('/b/image', 1))
    with InputBag([two]) as bag, pytest.raises(BagError) as several:
        bag.image_topic()
    assert "several image topics ['/a/image', '/b/image']" in str(several.value)
    assert '--image-topic' in str(several.value)

    none = write_bag(tmp_path / 'none', [('/other', STRING, T0, string('x'))])
    with InputBag([none]) as bag, pytest.raises(BagError) as nothing:
        bag.image_topic()
    assert 'no Image or CompressedImage topic' in str(nothing.value)
    assert '/other' in str(nothing.value)


# --- stereo -------------------------------------------------------------------------------------

STEREO_STAMPS = [T0 + i * NS // 10 for i in range(6)]


def stereo_records(right_width: int = WIDTH, left_fx: float = 100.0) -> List[Record]:
    """Pairs at STEREO_STAMPS; right lacks stamp 2 and has one extra stamp 1 ms after 3.

    Left camera_info: fx 100 logged just before pair 1 (so after pair 0), fx 200 just before
    pair 4. Right camera_info: once, before everything.
    """
    ms = NS // 1000
    records: List[Record] = [('/stereo/right/camera_info', INFO, T0 - ms,
                              camera_info(T0, 100.0, tx=-10.0))]
    for i, stamp in enumerate(STEREO_STAMPS):
        if i == 1:
            records.append(('/stereo/left/camera_info', INFO, stamp, camera_info(stamp,
                                                                                 left_fx)))
        if i == 4:
            records.append(('/stereo/left/camera_info', INFO, stamp, camera_info(stamp, 200.0)))
        records.append(('/stereo/left/image_rect', IMAGE, stamp + 5 * ms,
                        raw_image(stamp, pixels(i), 'rgb8')))
        if i != 2:
            records.append(('/stereo/right/image_rect', IMAGE, stamp + 7 * ms,
                            raw_image(stamp, pixels(100 + i, width=right_width), 'rgb8')))
        if i == 3:
            records.append(('/stereo/right/image_rect', IMAGE, stamp + 8 * ms,
                            raw_image(stamp + ms, pixels(99), 'rgb8')))
    return records


STEREO_TOPICS = ('/stereo/left/image_rect', '/stereo/right/image_rect',
                 '/stereo/left/camera_info', '/stereo/right/camera_info')


def test_stereo_pairs_match_on_stamps(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_bag(tmp_path / 'bag', stereo_records(), 'sqlite3')
    with InputBag([path]) as bag, caplog.at_level(logging.WARNING):
        pairs = list(bag.stereo_frames(*STEREO_TOPICS, FrameSelection()))
        pairing = bag.pairing
    matched = [0, 1, 3, 4, 5]
    assert [stamp_ns(pair.left_header) for pair in pairs] == [STEREO_STAMPS[i] for i in matched]
    assert [stamp_ns(pair.right_header) for pair in pairs] == \
        [STEREO_STAMPS[i] for i in matched]
    assert [pair.index for pair in pairs] == list(range(5))
    assert [pair.log_time for pair in pairs] == \
        [STEREO_STAMPS[i] + 5 * NS // 1000 for i in matched]
    for pair, i in zip(pairs, matched):
        np.testing.assert_array_equal(pair.left, pixels(i))
        np.testing.assert_array_equal(pair.right, pixels(100 + i))
        assert pair.right_info.p[3] == -10.0
    # Pair 0 precedes every left camera_info and gets the first one; later pairs the latest.
    assert [pair.left_info.k[0] for pair in pairs] == [100.0, 100.0, 100.0, 200.0, 200.0]
    assert (pairing.pairs, pairing.unmatched_left, pairing.unmatched_right) == (5, 1, 1)
    assert '1 images on /stereo/left/image_rect and 1 on /stereo/right/image_rect' in caplog.text


@pytest.mark.parametrize('selection, matched', [
    (FrameSelection(every_n=2), [0, 3, 5]),
    (FrameSelection(max_frames=2), [0, 1]),
    (FrameSelection(start=0.25), [3, 4, 5]),
])
def test_stereo_selection(tmp_path: Path, selection: FrameSelection, matched: List[int]) -> None:
    path = write_bag(tmp_path / 'bag', stereo_records())
    with InputBag([path]) as bag:
        pairs = list(bag.stereo_frames(*STEREO_TOPICS, selection))
    assert [stamp_ns(pair.left_header) for pair in pairs] == [STEREO_STAMPS[i] for i in matched]


def test_stereo_size_mismatch(tmp_path: Path) -> None:
    path = write_bag(tmp_path / 'bag', stereo_records(right_width=4))
    with InputBag([path]) as bag, pytest.raises(BagError) as error:
        list(bag.stereo_frames(*STEREO_TOPICS, FrameSelection()))
    assert '8x6 left image (/stereo/left/image_rect)' in str(error.value)
    assert '4x6 right image (/stereo/right/image_rect)' in str(error.value)


def test_stereo_needs_calibrated_camera_info(tmp_path: Path) -> None:
    path = write_bag(tmp_path / 'bag', stereo_records(left_fx=0.0))
    with InputBag([path]) as bag, pytest.raises(BagError) as error:
        list(bag.stereo_frames(*STEREO_TOPICS, FrameSelection()))
    assert 'camera_info on /stereo/left/camera_info' in str(error.value)
    assert 'uncalibrated (K[0] = 0.0' in str(error.value)
    assert 'metric depth needs a calibrated' in str(error.value)


def test_stereo_missing_camera_info(tmp_path: Path) -> None:
    records = [record for record in stereo_records() if record[0] != '/stereo/left/camera_info']
    path = write_bag(tmp_path / 'bag', records)
    with InputBag([path]) as bag, pytest.raises(BagError) as error:
        list(bag.stereo_frames(*STEREO_TOPICS, FrameSelection()))
    message = str(error.value)
    assert 'topic /stereo/left/camera_info is not in' in message
    assert 'metric depth needs it' in message
    assert "['/stereo/right/camera_info']" in message


def test_stereo_without_common_stamps(tmp_path: Path) -> None:
    records = [(topic, msgtype, log_time, raw_image(stamp_ns(msg.header) + 1, pixels(0), 'rgb8'))
               if topic == '/stereo/right/image_rect' else (topic, msgtype, log_time, msg)
               for topic, msgtype, log_time, msg in stereo_records()]
    path = write_bag(tmp_path / 'bag', records)
    with InputBag([path]) as bag, pytest.raises(BagError) as error:
        list(bag.stereo_frames(*STEREO_TOPICS, FrameSelection()))
    assert 'share a header stamp (6 left and 6 right images' in str(error.value)


# --- copying ------------------------------------------------------------------------------------

def test_messages_are_raw_and_in_log_time_order(tmp_path: Path) -> None:
    records = [('/cam/camera_info', INFO, T0 + 3, camera_info(T0, 100.0)),
               ('/note', STRING, T0, string('a'))] + image_stream('/cam/image_raw', 3)
    path = write_bag(tmp_path / 'bag', records)
    with InputBag([path]) as bag:
        everything = list(bag.messages())
        images = list(bag.messages(['/cam/image_raw']))
        with pytest.raises(BagError, match=r"topics \['/nope'\] are not in"):
            list(bag.messages(['/nope']))
    expected = sorted(((topic, log_time, bytes(TS.serialize_cdr(msg, msgtype)))
                       for topic, msgtype, log_time, msg in records), key=lambda item: item[1])
    assert [(topic, log_time, bytes(raw)) for topic, log_time, raw in everything] == expected
    assert [item[0] for item in images] == ['/cam/image_raw'] * 3


def test_copied_topics_keep_definition_and_qos(tmp_path: Path) -> None:
    never = QosTime(sec=0, nsec=0)
    latched = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL,
                  never, never, QosLiveliness.AUTOMATIC, never, False)
    source = tmp_path / 'in'
    with Writer(source, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection('/tf_static', STRING, typestore=TS,
                                           offered_qos_profiles=[latched])
        writer.write(connection, T0, TS.serialize_cdr(string('static'), STRING))
    output = tmp_path / 'out'
    with InputBag([source]) as bag, OutputBag(output, storage='sqlite3') as out:
        out.add_topic('/tf_static', STRING, bag.message_definition('/tf_static'))
        for topic, log_time, raw in bag.messages():
            out.write_raw(topic, log_time, raw)
    with AnyReader([source]) as before, AnyReader([output]) as after:
        assert after.topics['/tf_static'].msgdef == before.topics['/tf_static'].msgdef
        assert after.connections[0].digest == before.connections[0].digest
        assert after.connections[0].ext.offered_qos_profiles == [latched]
    assert [msg.data for _, _, msg in read_back(output)] == ['static']


# --- writing ------------------------------------------------------------------------------------

@pytest.mark.parametrize('storage', sorted(STORAGES))
@pytest.mark.parametrize('version', [8, 9])
def test_output_round_trip(tmp_path: Path, storage: str, version: int) -> None:
    source = write_bag(tmp_path / 'in', [('/cam/camera_info', INFO, T0, camera_info(T0, 90.0))]
                       + image_stream('/cam/image_raw', 3))
    output = tmp_path / 'out'
    custom = {'tool': 'stereodiff_bag 0.1', 'depth_kind': 'relative'}
    with InputBag([source]) as bag:
        with OutputBag(output, storage, version, custom) as out:
            out.add_topic('/cam/camera_info', INFO, bag.message_definition('/cam/camera_info'))
            out.add_topic('/cam/mono_depth/image', IMAGE)
            for topic, log_time, raw in bag.messages(['/cam/camera_info']):
                out.write_raw(topic, log_time, raw)
            for frame in bag.frames('/cam/image_raw', FrameSelection()):
                depth = frame.image[..., 0].astype(np.float32) / 255.0
                out.write('/cam/mono_depth/image', frame.log_time,
                          image_message(out.typestore, frame.header, depth, '32FC1'))
    with AnyReader([output]) as reader:
        assert {topic: info.msgtype for topic, info in reader.topics.items()} == {
            '/cam/camera_info': INFO, '/cam/mono_depth/image': IMAGE}
    written = read_back(output)
    assert [(topic, log_time) for topic, log_time, _ in written] == \
        [('/cam/camera_info', T0)] + [('/cam/mono_depth/image', T0 + i * NS) for i in (1, 2, 3)]
    assert written[0][2].k[0] == 90.0
    for i, (_, log_time, msg) in enumerate(written[1:]):
        assert stamp_ns(msg.header) == log_time - NS // 1000
        assert msg.header.frame_id == 'cam_optical'
        np.testing.assert_array_equal(image_to_array(msg), pixels(i)[..., 0] / np.float32(255))
    info = metadata(output)
    assert info['version'] == version
    assert info['storage_identifier'] == storage
    assert info['custom_data'] == custom
    qos = {entry['topic_metadata']['name']: entry['topic_metadata']['offered_qos_profiles']
           for entry in info['topics_with_message_count']}
    depth_qos = qos['/cam/mono_depth/image']
    if version == 9:
        assert depth_qos[0]['reliability'] == 'reliable'
        assert depth_qos[0]['durability'] == 'volatile'
        assert (depth_qos[0]['history'], depth_qos[0]['depth']) == ('keep_last', 10)
    else:  # v8 stores the profile list as a YAML string, with enum numbers
        assert isinstance(depth_qos, str)
        profile = YAML(typ='safe').load(depth_qos)[0]
        assert (profile['reliability'], profile['durability'], profile['history'],
                profile['depth']) == (1, 2, 1, 10)
    assert (output / f'out.{"mcap" if storage == "mcap" else "db3"}').is_file()


def test_partial_folder_is_renamed_on_success(tmp_path: Path) -> None:
    output = tmp_path / 'out'
    staging = tmp_path / 'out.partial'
    with OutputBag(output) as out:
        out.add_topic('/note', STRING)
        out.write('/note', T0, out.typestore.types[STRING](data='x'))
        assert staging.is_dir() and not output.exists()
    assert output.is_dir() and not staging.exists()
    assert sorted(child.name for child in output.iterdir()) == ['metadata.yaml', 'out.mcap']


@pytest.mark.parametrize('exception', [RuntimeError('model failed'), KeyboardInterrupt()])
def test_partial_folder_is_removed_on_error(tmp_path: Path, exception: BaseException) -> None:
    output = tmp_path / 'out'
    with pytest.raises(type(exception)):
        with OutputBag(output) as out:
            out.add_topic('/note', STRING)
            out.write('/note', T0, out.typestore.types[STRING](data='x'))
            raise exception
    assert sorted(tmp_path.iterdir()) == []


def test_existing_output_is_refused_and_untouched(tmp_path: Path) -> None:
    output = write_bag(tmp_path / 'out', image_stream('/cam/image_raw', 1))
    before = digest(output)
    with pytest.raises(BagError, match='exists already; choose a new output path or delete it'):
        OutputBag(output)
    with pytest.raises(BagError, match='exists already'):
        OutputBag.check_destination(output)
    assert digest(output) == before
    (tmp_path / 'out2.partial').mkdir()
    with pytest.raises(BagError, match='left over from a run that was killed.*can be deleted'):
        OutputBag(tmp_path / 'out2')
    with pytest.raises(BagError, match=r"\('.*missing'\) does not exist; create it first"):
        OutputBag(tmp_path / 'missing' / 'out')
    with pytest.raises(BagError, match='must name a new rosbag2 folder'):
        OutputBag(tmp_path / 'out3.mcap')
    OutputBag.check_destination(tmp_path / 'out3')  # a new name in an existing folder is fine
    assert sorted(child.name for child in tmp_path.iterdir()) == ['out', 'out2.partial']


def test_output_misuse(tmp_path: Path) -> None:
    out = OutputBag(tmp_path / 'out')
    with pytest.raises(BagError, match='not open'):
        out.add_topic('/note', STRING)
    with out:
        out.add_topic('/note', STRING)
        with pytest.raises(BagError, match='added twice'):
            out.add_topic('/note', STRING)
        with pytest.raises(BagError, match='/other was not added'):
            out.write('/other', T0, out.typestore.types[STRING](data='x'))
        with pytest.raises(BagError, match='not in the output typestore'):
            out.add_topic('/custom', 'my_msgs/msg/Thing')
    with pytest.raises(BagError, match="unknown storage 'rosbag'"):
        OutputBag(tmp_path / 'x', storage='rosbag')
    with pytest.raises(BagError, match='version 5 cannot be written'):
        OutputBag(tmp_path / 'x', version=5)
    with pytest.raises(BagError, match='must be strings'):
        OutputBag(tmp_path / 'x', custom_data={'frames': 3})


# --- inputs stay untouched, and bad inputs give one clear error ---------------------------------

@pytest.mark.parametrize('storage', sorted(STORAGES))
def test_input_files_are_byte_identical_after_reading(tmp_path: Path, storage: str) -> None:
    path = write_bag(tmp_path / 'bag', stereo_records(), storage)
    before = digest(path)
    with InputBag([path]) as bag:
        list(bag.frames('/stereo/left/image_rect', FrameSelection()))
        list(bag.stereo_frames(*STEREO_TOPICS, FrameSelection()))
        list(bag.messages())
        bag.select_count('/stereo/left/image_rect', FrameSelection(every_n=2))
    assert digest(path) == before
    assert sorted(Path(name).name for name in before) == sorted(
        child.name for child in path.iterdir())  # no journal or lock files appeared


def test_missing_and_mixed_inputs(tmp_path: Path) -> None:
    with pytest.raises(BagError, match=r"input bag '.*nowhere' does not exist"):
        InputBag([tmp_path / 'nowhere'])
    with pytest.raises(BagError, match='no input bag given'):
        InputBag([])
    bag = write_bag(tmp_path / 'bag', image_stream('/cam/image_raw', 1))
    (tmp_path / 'old.bag').write_bytes(b'')
    with pytest.raises(BagError, match='cannot read ROS 1 .bag files and rosbag2 bags together'):
        InputBag([bag, tmp_path / 'old.bag'])
    (tmp_path / 'notes.txt').write_text('x')
    with pytest.raises(BagError, match='is not a bag'):
        InputBag([tmp_path / 'notes.txt'])
    (bag / 'metadata.yaml').unlink()
    with pytest.raises(BagError, match=r'folder without metadata.yaml.*bag\.mcap.*reindex'):
        InputBag([bag])


@pytest.mark.parametrize('storage', sorted(STORAGES))
def test_empty_bag(tmp_path: Path, storage: str) -> None:
    path = tmp_path / 'empty'
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        writer.add_connection('/cam/image_raw', IMAGE, typestore=TS)
    with pytest.raises(BagError, match=r"'.*empty' contains no messages.*/cam/image_raw"):
        with InputBag([path]):
            pass


# Truncated by 5 % and 10 %: with these rosbags versions the damage shows when the bag is opened
# or, for the 5 %-short .db3, only while its messages are read; either must give a BagError.
@pytest.mark.parametrize('storage', sorted(STORAGES))
@pytest.mark.parametrize('damage', ['truncated 5%', 'truncated 10%', 'garbage'])
def test_corrupt_files(tmp_path: Path, storage: str, damage: str) -> None:
    folder = write_bag(tmp_path / 'bag', [
        ('/cam/image_raw', IMAGE, T0 + i, raw_image(T0 + i, pixels(i, height=48), 'rgb8'))
        for i in range(20)], storage)
    storage_file = folder / ('bag.mcap' if storage == 'mcap' else 'bag.db3')
    data = storage_file.read_bytes()
    if damage == 'garbage':
        data = b'not a bag, just text ' * 100
    else:
        data = data[:len(data) * (95 if damage == 'truncated 5%' else 90) // 100]
    damaged = tmp_path / f'damaged{storage_file.suffix}'
    damaged.write_bytes(data)
    with pytest.raises(BagError) as error:
        with InputBag([damaged]) as bag:
            list(bag.frames('/cam/image_raw', FrameSelection()))
    assert f"cannot read '{damaged}'" in str(error.value)
    assert 'damaged, truncated' in str(error.value)


def test_undecodable_message(tmp_path: Path) -> None:
    path = tmp_path / 'bag'
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection('/cam/image_raw', IMAGE, typestore=TS)
        writer.write(connection, T0, b'\x00\x01\x00\x00' + b'\xff' * 7)
    with InputBag([path]) as bag, pytest.raises(BagError) as error:
        list(bag.frames('/cam/image_raw', FrameSelection()))
    assert 'cannot decode the sensor_msgs/msg/Image message on /cam/image_raw at 0.000 s' in \
        str(error.value)


@pytest.mark.parametrize('encoding', ['yuv422', '16UC1'])
def test_unknown_encoding(tmp_path: Path, encoding: str) -> None:
    bad = raw_image(T0 + 5, pixels(1, 2) if encoding == 'yuv422' else
                    pixels(1, 2).view(np.uint16)[..., 0], encoding)
    good = raw_image(T0, pixels(0), 'rgb8')
    path = write_bag(tmp_path / 'bag', [('/cam/image_raw', IMAGE, T0, good),
                                        ('/cam/image_raw', IMAGE, T0 + NS // 2, bad)])
    with InputBag([path]) as bag, pytest.raises(BagError) as error:
        list(bag.frames('/cam/image_raw', FrameSelection()))
    message = str(error.value)
    for words in (f"'{encoding}'", 'frame 1 of /cam/image_raw', '0.500 s after the bag start',
                  f'stamp {T0 // NS}.000000005', "'rgb8'"):
        assert words in message


def test_stamps_going_backwards(tmp_path: Path) -> None:
    stamps = [T0, T0 + NS, T0 + NS // 2]
    path = write_bag(tmp_path / 'bag', [
        ('/cam/image_raw', IMAGE, T0 + i * NS, raw_image(stamp, pixels(i), 'rgb8'))
        for i, stamp in enumerate(stamps)])
    with InputBag([path]) as bag, pytest.raises(BagError) as error:
        list(bag.frames('/cam/image_raw', FrameSelection()))
    message = str(error.value)
    for words in (f'{T0 // NS}.500000000', f'{T0 // NS + 1}.000000000', '2.000 s after',
                  '--start/--end'):
        assert words in message


# --- builders -----------------------------------------------------------------------------------

def round_trip(msg: Any, msgtype: str) -> Any:
    return TS.deserialize_cdr(TS.serialize_cdr(msg, msgtype), msgtype)


@pytest.mark.parametrize('encoding', ['32FC1', '16UC1'])
def test_image_message_round_trip(encoding: str) -> None:
    rng = np.random.default_rng(3)
    if encoding == '32FC1':
        depth = rng.uniform(0.5, 20.0, (HEIGHT, WIDTH)).astype(np.float32)
        depth[1, 2] = np.nan
    else:
        depth = rng.integers(0, 65535, (HEIGHT, WIDTH), dtype=np.uint16)
    msg = round_trip(image_message(TS, header(T0 + 9, 'left'), depth, encoding), IMAGE)
    assert (msg.encoding, msg.width, msg.height) == (encoding, WIDTH, HEIGHT)
    assert msg.step == WIDTH * depth.itemsize
    assert (stamp_ns(msg.header), msg.header.frame_id) == (T0 + 9, 'left')
    np.testing.assert_array_equal(image_to_array(msg), depth)


def test_camera_info_message_round_trip() -> None:
    info = PinholeInfo(WIDTH, HEIGHT, (90.0, 0.0, 3.5, 0.0, 91.0, 2.5, 0.0, 0.0, 1.0),
                       (90.0, 0.0, 3.5, 0.0, 0.0, 91.0, 2.5, 0.0, 0.0, 0.0, 1.0, 0.0), 'left')
    msg = round_trip(camera_info_message(TS, header(T0, 'left'), info), INFO)
    assert PinholeInfo.from_msg(msg) == info
    assert list(msg.d) == [0.0] * 5 and msg.distortion_model == 'plumb_bob'


def test_disparity_message_fields() -> None:
    fx, baseline = 200.0, 0.12
    k = (fx, 0.0, 3.5, 0.0, fx, 2.5, 0.0, 0.0, 1.0)
    left = PinholeInfo(WIDTH, HEIGHT, k, (fx, 0.0, 3.5, 0.0, 0.0, fx, 2.5, 0.0, 0.0, 0.0, 1.0,
                                          0.0), 'left')
    right = PinholeInfo(WIDTH, HEIGHT, k, (fx, 0.0, 3.5, -fx * baseline, 0.0, fx, 2.5, 0.0, 0.0,
                                           0.0, 1.0, 0.0), 'left')
    calibration = stereo_calibration(left, right)
    disparity = np.random.default_rng(4).uniform(1.0, 30.0, (HEIGHT, WIDTH)).astype(np.float32)
    frame = ClipFrame(T0, pixels(0), pixels(1), 'left', calibration)
    result = FrameResult(frame, calibration, disparity, DisparityRange(0.5, 48.0), (1, 2, 5, 3),
                         None, None)
    msg = round_trip(disparity_message(TS, header(T0 + 1, 'left'), result, 0.0625),
                     'stereo_msgs/msg/DisparityImage')
    assert msg.f == pytest.approx(fx) and msg.t == pytest.approx(baseline)
    assert (msg.min_disparity, msg.max_disparity, msg.delta_d) == (0.5, 48.0, 0.0625)
    window = msg.valid_window
    assert (window.x_offset, window.y_offset, window.width, window.height) == (1, 2, 5, 3)
    assert msg.header == msg.image.header and stamp_ns(msg.header) == T0 + 1
    assert msg.image.encoding == '32FC1'
    np.testing.assert_array_equal(image_to_array(msg.image), disparity)


@pytest.mark.parametrize('padded', [True, False])
def test_cloud_message_round_trip(padded: bool) -> None:
    fx, fy, cx, cy = 50.0, 52.0, 3.5, 2.5
    depth = np.random.default_rng(5).uniform(1.0, 5.0, (HEIGHT, WIDTH)).astype(np.float32)
    depth[0, 0] = np.nan
    rgb = pixels(7)
    cloud = PointCloudBuilder().build(depth, fx, fy, cx, cy, rgb, padded=padded)
    msg = round_trip(cloud_message(TS, header(T0, 'left'), cloud), 'sensor_msgs/msg/PointCloud2')
    assert (msg.height, msg.width, msg.point_step) == (HEIGHT, WIDTH, 32 if padded else 16)
    assert not msg.is_dense and msg.header.frame_id == 'left'
    points = cloud_to_array(msg)
    u, v = np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT))
    np.testing.assert_array_equal(points['z'], depth)
    np.testing.assert_allclose(points['x'], (u - cx) * depth / fx, rtol=1e-6)
    np.testing.assert_allclose(points['y'], (v - cy) * depth / fy, rtol=1e-6)
    bits = points['rgb'].view(np.uint32)
    np.testing.assert_array_equal(bits >> 16, rgb[..., 0])
    np.testing.assert_array_equal((bits >> 8) & 0xFF, rgb[..., 1])
    np.testing.assert_array_equal(bits & 0xFF, rgb[..., 2])


def test_module_imports_no_ros() -> None:
    probe = ('import sys, stereo_any_video_ros.bag_io; '
             "print(sorted(name for name in sys.modules if name.split('.')[0] in "
             "('rclpy', 'sensor_msgs', 'std_msgs', 'stereo_msgs', 'builtin_interfaces')))")
    result = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent, check=True)
    assert result.stdout.strip() == '[]'
