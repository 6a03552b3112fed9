# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ROS-free bag reading and writing for the offline tool `stereodiff_bag`, on top of rosbags.

`InputBag` opens rosbag2 folders, single .mcap/.db3 files or ROS 1 .bag files through rosbags'
AnyReader. It picks image topics, yields selected frames decoded to RGB, pairs stereo streams
by header stamp, and yields raw messages (always CDR) for copying. It never writes to its
input: rosbags opens sqlite3 files immutable and mcap files read-only.

`OutputBag` writes a new rosbag2 bag into the staging folder `<output>.partial/` and moves it to
`<output>` only when its `with` body finishes. Any exception, KeyboardInterrupt included,
removes the staging folder, so a failed run leaves no half-written bag.

The builders make the messages that messages.py makes for the live node, but as rosbags
typestore dataclasses, so nothing here imports rclpy or a ROS message package.

Every problem with an input bag or an output path is raised as one `BagError` that says what is
wrong and what to do (ros2-conventions.md §3, §6.5).
"""
from __future__ import annotations

from collections import OrderedDict
from contextlib import closing, suppress
from dataclasses import dataclass
import logging
import math
from pathlib import Path
import shutil
import sys
from typing import (Any, Collection, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.interfaces import (Connection, ConnectionExtRosbag2, MessageDefinitionFormat, Qos,
                                QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores
from rosbags.typesys.store import Typestore

from stereo_any_video_ros.calibration import CalibrationError, PinholeInfo
from stereo_any_video_ros.conversions import (compressed_to_rgb8, fill_image, image_to_rgb8,
                                              ImageFormatError)
from stereo_any_video_ros.geometry import FLOAT32, PointCloud
from stereo_any_video_ros.processing import FrameResult

LOGGER = logging.getLogger(__name__)

PathLike = Union[str, Path]

IMAGE_MSGTYPE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE_MSGTYPE = 'sensor_msgs/msg/CompressedImage'
IMAGE_MSGTYPES = (IMAGE_MSGTYPE, COMPRESSED_IMAGE_MSGTYPE)
CAMERA_INFO_MSGTYPE = 'sensor_msgs/msg/CameraInfo'
# image_transport subtopics of a base image topic (ros2-conventions.md §5.7).
TRANSPORT_TOKENS = ('compressed', 'compressedDepth', 'theora', 'ffmpeg')
STEREO_SIDES = ('left', 'right')
# Bags without embedded message definitions were recorded on Humble or earlier.
DEFAULT_READ_TYPESTORE = 'ros2_humble'
DEFAULT_WRITE_TYPESTORE = 'latest'
STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}

_ZERO_TIME = QosTime(sec=0, nsec=0)
# New topics: reliable (RViz's default subscription connects), volatile, and an explicit
# keep-last depth, because the system-default depth differs between RMWs (§5.6). Ten rather
# than the live node's 1: a replayed bag should not drop messages to a momentarily slow reader.
OUTPUT_QOS = Qos(history=QosHistory.KEEP_LAST, depth=10, reliability=QosReliability.RELIABLE,
                 durability=QosDurability.VOLATILE, deadline=_ZERO_TIME, lifespan=_ZERO_TIME,
                 liveliness=QosLiveliness.AUTOMATIC, liveliness_lease_duration=_ZERO_TIME,
                 avoid_ros_namespace_conventions=False)
# A latched ROS 1 topic (e.g. /tf_static) becomes transient-local, so late joiners still get it.
LATCHED_QOS = OUTPUT_QOS._replace(depth=1, durability=QosDurability.TRANSIENT_LOCAL)

_NS_PER_S = 1_000_000_000
# Stereo images waiting for a partner with the same stamp, per side; older ones count as
# unmatched, which bounds memory when one stream never matches.
_MAX_PENDING = 64


class BagError(RuntimeError):
    """Bad input bag or output path: one clear, actionable message."""


# --- topic names ---------------------------------------------------------------------------------

def _tokens(topic: str) -> Tuple[bool, List[str]]:
    """(absolute, name tokens) of a topic name."""
    return topic.startswith('/'), [token for token in topic.split('/') if token]


def _join(absolute: bool, tokens: Sequence[str]) -> str:
    name = '/'.join(tokens)
    return '/' + name if absolute else name


def base_topic(image_topic: str) -> str:
    """The image_transport base topic: '/cam/image_raw/compressed' -> '/cam/image_raw'."""
    absolute, tokens = _tokens(image_topic)
    if not tokens:
        raise BagError(f"'{image_topic}' is not an image topic name")
    if len(tokens) > 1 and tokens[-1] in TRANSPORT_TOKENS:
        tokens = tokens[:-1]
    return _join(absolute, tokens)


def camera_info_topic(image_topic: str) -> str:
    """image_transport's sibling rule: the base topic's last token becomes 'camera_info'.

    '/cam/image_raw' and '/cam/image_raw/compressed' -> '/cam/camera_info'.
    """
    absolute, tokens = _tokens(base_topic(image_topic))
    return _join(absolute, tokens[:-1] + ['camera_info'])


def output_namespace(image_topic: str, suffix: str) -> str:
    """The camera namespace of an image topic, joined with `suffix`.

    The namespace is the base topic without its last token and, for one side of a stereo
    camera (stereo_image_proc's '<ns>/left/...', '<ns>/right/...'), without that side too:
    ('/cam/image_raw', 'mono_depth') -> '/cam/mono_depth',
    ('/stereo/left/image_rect', '') -> '/stereo', ('/image', '') -> '/'.
    """
    absolute, tokens = _tokens(base_topic(image_topic))
    namespace = tokens[:-1]
    if namespace and namespace[-1] in STEREO_SIDES:
        namespace = namespace[:-1]
    return _join(absolute, namespace + _tokens(suffix)[1])


def typestore_by_name(name: str) -> Typestore:
    """A rosbags typestore by Stores value: 'ros2_humble', 'humble', 'latest', 'noetic', ..."""
    names = sorted(store.value for store in Stores if store is not Stores.EMPTY)
    for candidate in (name, f'ros2_{name}', f'ros1_{name}'):
        if candidate in names:
            return get_typestore(Stores(candidate))
    raise BagError(f"unknown typestore '{name}'; use one of {names} "
                   "(the 'ros2_'/'ros1_' prefix may be left out)")


def stamp_ns(header: Any) -> int:
    """A header's stamp in integer nanoseconds."""
    return int(header.stamp.sec) * _NS_PER_S + int(header.stamp.nanosec)


def _stamp_text(nanoseconds: int) -> str:
    seconds, rest = divmod(nanoseconds, _NS_PER_S)
    return f'{seconds}.{rest:09d}'


# --- what to read --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FrameSelection:
    """Which frames of an image stream to process.

    The window [start, end) is half-open, in seconds after the bag's first message (of any
    topic), on log times, so consecutive windows (0-5 s, 5-10 s) take every frame once. Inside
    the window every `every_n`-th frame is taken, starting with the first, until `max_frames`
    frames have been taken.
    """

    start: float = 0.0  # 0 = from the beginning
    end: float = 0.0  # 0 = to the end
    every_n: int = 1
    max_frames: int = 0  # 0 = no limit

    def __post_init__(self) -> None:
        for name in ('start', 'end'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f'{name} must be a finite number of seconds >= 0 after the bag '
                                 f'start (0 = no limit), got {value}')
        if self.end and self.end <= self.start:
            raise ValueError(f'end ({self.end} s) must be later than start ({self.start} s), '
                             'or 0 to read to the end of the bag')
        if not isinstance(self.every_n, int) or self.every_n < 1:
            raise ValueError(f'every_n must be an integer >= 1, got {self.every_n!r}')
        if not isinstance(self.max_frames, int) or self.max_frames < 0:
            raise ValueError(f'max_frames must be an integer >= 0 (0 = no limit), got '
                             f'{self.max_frames!r}')

    def window_ns(self, bag_start: int) -> Tuple[int, Optional[int]]:
        """[start, stop) in log-time nanoseconds; stop None = to the end."""
        start = bag_start + round(self.start * _NS_PER_S)
        return start, (bag_start + round(self.end * _NS_PER_S) if self.end else None)

    def count(self, in_window: int) -> int:
        """How many frames are taken from `in_window` frames inside the window."""
        taken = -(-in_window // self.every_n)
        return min(taken, self.max_frames) if self.max_frames else taken

    def describe(self) -> str:
        end = f'{self.end} s' if self.end else 'end of bag'
        text = f'{self.start} s to {end}'
        if self.every_n > 1:
            text += f', one frame in {self.every_n}'
        if self.max_frames:
            text += f', at most {self.max_frames} frames'
        return text


@dataclass(frozen=True)
class SourceFrame:
    """One selected image. `index` counts the frames the selection yields, from 0."""

    index: int
    log_time: int  # ns, as recorded
    header: Any  # the message's std_msgs/Header (rosbags dataclass)
    image: np.ndarray  # (H, W, 3) uint8 RGB, writable


@dataclass(frozen=True)
class StereoSourceFrame:
    """One selected stereo pair (identical header stamps). `index` counts yielded pairs."""

    index: int
    log_time: int  # ns, the left image's log time
    left_header: Any
    right_header: Any
    left: np.ndarray  # (H, W, 3) uint8 RGB
    right: np.ndarray  # (H, W, 3) uint8 RGB
    left_info: Any  # sensor_msgs/CameraInfo (rosbags dataclass)
    right_info: Any


@dataclass
class PairingStats:
    """Counts of the latest `InputBag.stereo_frames` run, updated while it runs."""

    pairs: int = 0  # matched pairs in the window, selected or not
    unmatched_left: int = 0
    unmatched_right: int = 0


@dataclass(frozen=True)
class TopicDefinition:
    """What a ROS 2 bag needs, besides the msgtype, to hold an unchanged copy of a topic."""

    text: str  # ros2msg definition
    rihs01: str  # type description hash
    qos: Tuple[Qos, ...]  # offered QoS profiles as recorded; empty = unknown


# --- reading -------------------------------------------------------------------------------------

def _check_input_path(path: Path) -> None:
    if not path.exists():
        raise BagError(f"input bag '{path}' does not exist")
    if path.is_dir():
        if not (path / 'metadata.yaml').is_file():
            storage_files = sorted(str(child) for child in path.iterdir()
                                   if child.suffix in ('.mcap', '.db3'))
            hint = (f'pass its storage file directly ({", ".join(storage_files)}) or rebuild '
                    f"metadata.yaml with 'ros2 bag reindex {path}'" if storage_files
                    else 'it holds no .mcap or .db3 file either')
            raise BagError(f"'{path}' is a folder without metadata.yaml, so not a rosbag2 bag: "
                           f'{hint}')
    elif path.suffix not in ('.mcap', '.db3', '.bag'):
        raise BagError(f"'{path}' is not a bag: pass a rosbag2 folder, a .mcap or .db3 file, or "
                       'a ROS 1 .bag file')


def _check_calibrated(msg: Any, topic: str, where: str) -> None:
    """Refuse a camera_info that cannot give metric depth (K[0] == 0 means uncalibrated)."""
    try:
        info = PinholeInfo.from_msg(msg)
    except (CalibrationError, ValueError) as err:
        raise BagError(f'cannot read the camera_info on {topic} {where}: {err}') from err
    if info.k[0] == 0.0 or info.p[0] == 0.0 or info.width <= 0 or info.height <= 0:
        raise BagError(
            f'the camera_info on {topic} {where} is uncalibrated (K[0] = {info.k[0]}, P[0] = '
            f'{info.p[0]}, size {info.width}x{info.height}); metric depth needs a calibrated, '
            'rectified camera_info: calibrate the camera (camera_calibration) and record its '
            'camera_info, or pass the topic that has it.')


class _StampOrder:
    """Refuses header stamps that go backwards in a yielded stream."""

    def __init__(self, bag: 'InputBag', topic: str) -> None:
        self._bag = bag
        self._topic = topic
        self._previous: Optional[Tuple[int, int]] = None  # (stamp, log time)

    def check(self, stamp: int, log_time: int) -> None:
        if self._previous is not None and stamp < self._previous[0]:
            previous_stamp, previous_time = self._previous
            raise BagError(
                f'header stamps go backwards on {self._topic}: the frame at '
                f'{self._bag.offset(log_time)} has stamp {_stamp_text(stamp)}, earlier than '
                f'{_stamp_text(previous_stamp)} of the frame before it at '
                f'{self._bag.offset(previous_time)}. The recording loops or the camera clock '
                'was reset; pick one section with increasing stamps with --start/--end '
                '(seconds after the bag start).')
        self._previous = (stamp, log_time)


class InputBag:
    """Read-only access to one or more input bags; use as a context manager.

    `typestore` names the rosbags store used for bags without embedded message definitions
    (Humble sqlite3 recordings); '' means ros2_humble. Bags that carry definitions use those.
    """

    def __init__(self, paths: Sequence[PathLike], typestore: str = '') -> None:
        self.paths = [Path(path) for path in paths]
        if not self.paths:
            raise BagError('no input bag given')
        for path in self.paths:
            _check_input_path(path)
        if len({path.suffix == '.bag' for path in self.paths}) > 1:
            raise BagError('cannot read ROS 1 .bag files and rosbag2 bags together: convert the '
                           "ROS 1 bags first ('rosbags-convert') or process them separately")
        self.is_ros1 = self.paths[0].suffix == '.bag'
        self._default_typestore = typestore_by_name(typestore or DEFAULT_READ_TYPESTORE)
        self._reader: Optional[AnyReader] = None
        self._copy_store: Optional[Typestore] = None
        self.topics: Dict[str, str] = {}  # topic -> msgtype
        self.start_time = 0  # ns, log time of the first message
        self.end_time = 0  # ns, just after the last message
        self.pairing = PairingStats()

    # -- opening --

    def __enter__(self) -> 'InputBag':
        try:
            reader = AnyReader(self.paths, default_typestore=self._default_typestore)
            reader.open()
        except Exception as err:  # rosbags and its storage libraries raise many types
            raise self._unreadable(err) from err
        self._reader = reader
        try:
            self._index()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def _index(self) -> None:
        reader = self._open_reader()
        types: Dict[str, set] = {}
        for connection in reader.connections:
            types.setdefault(connection.topic, set()).add(connection.msgtype)
        if reader.message_count == 0:
            raise BagError(f'{self._names()} contains no messages (topics: {sorted(types)}); '
                           'pick a bag with data')
        mixed = {topic: sorted(msgtypes) for topic, msgtypes in types.items()
                 if len(msgtypes) > 1}
        if mixed:
            raise BagError(f'{self._names()} has topics with several message types: {mixed}; '
                           'this tool needs one type per topic')
        self.topics = {topic: msgtypes.pop() for topic, msgtypes in sorted(types.items())}
        self.start_time = reader.start_time
        self.end_time = reader.end_time

    def _open_reader(self) -> AnyReader:
        if self._reader is None:
            raise BagError('the input bag is not open; use it in a `with InputBag(...)` block')
        return self._reader

    # -- texts --

    def _names(self) -> str:
        return ', '.join(f"'{path}'" for path in self.paths)

    def _unreadable(self, err: BaseException) -> BagError:
        reason = str(err).rstrip('.')
        return BagError(
            f'cannot read {self._names()}: {type(err).__name__}: {reason}. The file is damaged, '
            'truncated (was the recorder killed?) or not a bag: repair it (`mcap recover` for '
            '.mcap, `ros2 bag reindex` for a folder without metadata.yaml) or record it again.')

    @property
    def duration(self) -> float:
        """Seconds from the first to the last message."""
        return max(self.end_time - self.start_time - 1, 0) / _NS_PER_S

    def offset(self, log_time: int) -> str:
        """A log time as text relative to the bag start, for messages."""
        return f'{(log_time - self.start_time) / _NS_PER_S:.3f} s after the bag start'

    def _message_count(self, topic: str) -> int:
        return sum(connection.msgcount for connection in self._connections(topic))

    # -- low-level access, with every rosbags error turned into a BagError --

    def _connections(self, topic: str) -> List[Connection]:
        return [connection for connection in self._open_reader().connections
                if connection.topic == topic]

    def _raw(self, connections: Collection[Connection], start: Optional[int] = None,
             stop: Optional[int] = None) -> Iterator[Tuple[Connection, int, bytes]]:
        if not connections:  # rosbags reads every topic for an empty filter
            return
        with closing(self._open_reader().messages(connections, start=start, stop=stop)) as raw:
            while True:
                try:
                    item = next(raw)
                except StopIteration:
                    return
                except Exception as err:  # storage errors come in many types
                    raise self._unreadable(err) from err
                yield item

    def _deserialize(self, raw: bytes, msgtype: str, topic: str, log_time: int) -> Any:
        try:
            return self._open_reader().deserialize(raw, msgtype)
        except Exception as err:  # a damaged payload or definitions that do not fit it
            raise BagError(
                f'cannot decode the {msgtype} message on {topic} at {self.offset(log_time)}: '
                f'{err}. The bag is damaged, or it has no message definitions and needs '
                '--typestore of the distro that recorded it.') from err

    def _decode(self, msg: Any, msgtype: str, topic: str, index: int, log_time: int
                ) -> np.ndarray:
        try:
            rgb = image_to_rgb8(msg) if msgtype == IMAGE_MSGTYPE else compressed_to_rgb8(msg)
        except ImageFormatError as err:
            raise BagError(
                f'cannot use frame {index} of {topic} at {self.offset(log_time)} (stamp '
                f'{_stamp_text(stamp_ns(msg.header))}): {err}') from err
        # Zero-copy views of deserialized data are read-only; the caller may edit frames.
        return rgb if rgb.flags.writeable else rgb.copy()

    # -- topics --

    def _require(self, topic: str, msgtypes: Optional[Collection[str]], what: str) -> str:
        """Check that `topic` exists and has one of `msgtypes` (None: any); return its type."""
        self._open_reader()
        if topic not in self.topics:
            fitting = ''
            if msgtypes is not None:
                names = sorted(name for name, msgtype in self.topics.items()
                               if msgtype in msgtypes)
                fitting = f'Topics of a fitting type: {names}. '
            raise BagError(f'{what} topic {topic} is not in {self._names()}. {fitting}All '
                           f'topics: {self.topics}')
        msgtype = self.topics[topic]
        if msgtypes is not None and msgtype not in msgtypes:
            raise BagError(f'{what} topic {topic} has type {msgtype}; it must be one of '
                           f'{list(msgtypes)}')
        return msgtype

    def image_topic(self, requested: str = '') -> str:
        """`requested` checked for existence and type, or the bag's only image topic if ''."""
        if requested:
            self._require(requested, IMAGE_MSGTYPES, 'image')
            return requested
        self._open_reader()
        images = sorted(topic for topic, msgtype in self.topics.items()
                        if msgtype in IMAGE_MSGTYPES)
        if len(images) == 1:
            return images[0]
        if not images:
            raise BagError(f'{self._names()} has no Image or CompressedImage topic; topics: '
                           f'{self.topics}')
        raise BagError(f'{self._names()} has several image topics {images}; choose one with '
                       '--image-topic')

    # -- frames --

    def frames(self, topic: str, selection: FrameSelection) -> Iterator[SourceFrame]:
        """The selected frames of an image topic, in log-time order, decoded to RGB."""
        msgtype = self._require(topic, IMAGE_MSGTYPES, 'image')
        start, stop = selection.window_ns(self.start_time)
        order = _StampOrder(self, topic)
        taken = 0
        with closing(self._raw(self._connections(topic), start, stop)) as messages:
            for position, (_, log_time, raw) in enumerate(messages):
                if position % selection.every_n:
                    continue
                msg = self._deserialize(raw, msgtype, topic, log_time)
                order.check(stamp_ns(msg.header), log_time)
                yield SourceFrame(taken, log_time, msg.header,
                                  self._decode(msg, msgtype, topic, taken, log_time))
                taken += 1
                if taken == selection.max_frames:
                    return
        if not taken:
            raise self._nothing_selected(topic, selection)

    def select_count(self, topic: str, selection: FrameSelection) -> int:
        """How many frames `frames(topic, selection)` yields; reads but decodes nothing."""
        self._require(topic, IMAGE_MSGTYPES, 'image')
        start, stop = selection.window_ns(self.start_time)
        return selection.count(sum(1 for _ in self._raw(self._connections(topic), start, stop)))

    def _nothing_selected(self, topic: str, selection: FrameSelection) -> BagError:
        return BagError(
            f'the selection ({selection.describe()}) yields no frames from {topic}: the topic '
            f'has {self._message_count(topic)} messages and the bag lasts {self.duration:.3f} s. '
            'Choose --start/--end inside the recording (seconds after the bag start).')

    # -- camera_info --

    def read(self, topic: str) -> Iterator[Tuple[int, Any]]:
        """(log time, deserialized message) of one topic, in log-time order."""
        msgtype = self._require(topic, None, 'requested')
        for _, log_time, raw in self._raw(self._connections(topic)):
            yield log_time, self._deserialize(raw, msgtype, topic, log_time)

    def camera_info(self, topic: str) -> Any:
        """The first CameraInfo on `topic`, checked to be calibrated."""
        self._require(topic, (CAMERA_INFO_MSGTYPE,), 'camera_info (metric depth needs it)')
        for log_time, msg in self.read(topic):
            _check_calibrated(msg, topic, f'at {self.offset(log_time)}')
            return msg
        raise BagError(f'camera_info topic {topic} has no messages; metric depth needs the '
                       "camera's calibration: record its camera_info or pass another topic.")

    # -- stereo --

    def stereo_frames(self, left_topic: str, right_topic: str, left_info_topic: str,
                      right_info_topic: str, selection: FrameSelection
                      ) -> Iterator[StereoSourceFrame]:
        """Selected stereo pairs: left and right images with identical header stamps.

        Each pair gets the latest camera_info of each side logged at or before the pair's
        second image; pairs before any camera_info get the first one in the bag. Images without
        a partner are counted in `self.pairing` and logged, never silently dropped. Pairs are
        numbered and selected on the left image's log time.
        """
        msgtypes = {left_topic: self._require(left_topic, IMAGE_MSGTYPES, 'left image'),
                    right_topic: self._require(right_topic, IMAGE_MSGTYPES, 'right image')}
        if left_topic == right_topic:
            raise BagError(f'left and right image topics are both {left_topic}; pass the two '
                           'cameras of the stereo pair')
        infos = {left_info_topic: self.camera_info(left_info_topic),
                 right_info_topic: self.camera_info(right_info_topic)}
        start, stop = selection.window_ns(self.start_time)
        pairing = self.pairing = PairingStats()
        pending: Dict[str, 'OrderedDict[int, Tuple[int, Any]]'] = {
            left_topic: OrderedDict(), right_topic: OrderedDict()}
        seen = {left_topic: 0, right_topic: 0}
        order = _StampOrder(self, left_topic)
        taken = 0

        def unmatched(topic: str, count: int) -> None:
            if topic == left_topic:
                pairing.unmatched_left += count
            else:
                pairing.unmatched_right += count

        connections = [connection for topic in {*msgtypes, *infos}
                       for connection in self._connections(topic)]
        with closing(self._raw(connections, None, stop)) as messages:
            for connection, log_time, raw in messages:
                topic = connection.topic
                if topic in infos:
                    info = self._deserialize(raw, CAMERA_INFO_MSGTYPE, topic, log_time)
                    _check_calibrated(info, topic, f'at {self.offset(log_time)}')
                    infos[topic] = info
                    continue
                if log_time < start:  # images before the window are not even decoded
                    continue
                seen[topic] += 1
                msg = self._deserialize(raw, msgtypes[topic], topic, log_time)
                stamp = stamp_ns(msg.header)
                other = right_topic if topic == left_topic else left_topic
                partner = pending[other].pop(stamp, None)
                if partner is None:
                    waiting = pending[topic]
                    if waiting.pop(stamp, None) is not None:  # a repeated stamp on one side
                        unmatched(topic, 1)
                    waiting[stamp] = (log_time, msg)
                    if len(waiting) > _MAX_PENDING:
                        waiting.popitem(last=False)
                        unmatched(topic, 1)
                    continue
                # With increasing stamps, no partner can still come for older waiting images.
                for side, waiting in pending.items():
                    stale = [old for old in waiting if old < stamp]
                    for old in stale:
                        del waiting[old]
                    unmatched(side, len(stale))
                position = pairing.pairs
                pairing.pairs += 1
                if position % selection.every_n:
                    continue
                left, right = ((log_time, msg), partner) if topic == left_topic \
                    else (partner, (log_time, msg))
                order.check(stamp, left[0])
                yield self._stereo_frame(taken, left_topic, right_topic, left, right,
                                         infos[left_info_topic], infos[right_info_topic])
                taken += 1
                if taken == selection.max_frames:
                    self._report_pairing(left_topic, right_topic)
                    return
        for topic, waiting in pending.items():
            unmatched(topic, len(waiting))
        self._report_pairing(left_topic, right_topic)
        if taken:
            return
        if not any(seen.values()):
            raise self._nothing_selected(left_topic, selection)
        raise BagError(
            f'no {left_topic} and {right_topic} images share a header stamp ({seen[left_topic]}'
            f' left and {seen[right_topic]} right images in the selected window). Pairs are '
            'matched on identical stamps: record the rectified pair of one stereo driver, '
            'which stamps both images with the same acquisition time.')

    def _stereo_frame(self, index: int, left_topic: str, right_topic: str,
                      left: Tuple[int, Any], right: Tuple[int, Any], left_info: Any,
                      right_info: Any) -> StereoSourceFrame:
        (left_time, left_msg), (right_time, right_msg) = left, right
        left_rgb = self._decode(left_msg, self.topics[left_topic], left_topic, index, left_time)
        right_rgb = self._decode(right_msg, self.topics[right_topic], right_topic, index,
                                 right_time)
        if left_rgb.shape != right_rgb.shape:
            raise BagError(
                f'the pair with stamp {_stamp_text(stamp_ns(left_msg.header))} has a '
                f'{left_rgb.shape[1]}x{left_rgb.shape[0]} left image ({left_topic}) and a '
                f'{right_rgb.shape[1]}x{right_rgb.shape[0]} right image ({right_topic}); stereo '
                'needs a rectified pair of one size (e.g. both image_rect topics).')
        return StereoSourceFrame(index, left_time, left_msg.header, right_msg.header, left_rgb,
                                 right_rgb, left_info, right_info)

    def _report_pairing(self, left_topic: str, right_topic: str) -> None:
        pairing = self.pairing
        if pairing.unmatched_left or pairing.unmatched_right:
            LOGGER.warning(
                '%d images on %s and %d on %s had no partner with an identical header stamp and '
                'were skipped (%d pairs matched)', pairing.unmatched_left, left_topic,
                pairing.unmatched_right, right_topic, pairing.pairs)

    # -- copying --

    def messages(self, topics: Optional[Collection[str]] = None
                 ) -> Iterator[Tuple[str, int, bytes]]:
        """(topic, log time, CDR bytes) of all or some topics, in log-time order.

        ROS 2 payloads are yielded as recorded; ROS 1 payloads are converted to CDR, so the
        result can go into a ROS 2 bag as it is (see `message_definition`).
        """
        reader = self._open_reader()
        if topics is None:
            connections = list(reader.connections)
        else:
            missing = sorted(set(topics) - set(self.topics))
            if missing:
                raise BagError(f'topics {missing} are not in {self._names()}; topics: '
                               f'{sorted(self.topics)}')
            connections = [connection for connection in reader.connections
                           if connection.topic in topics]
        for connection, log_time, raw in self._raw(connections):
            if self.is_ros1:
                raw = self._ros1_to_cdr(raw, connection, log_time)
            yield connection.topic, log_time, raw

    def _copy_typestore(self) -> Typestore:
        """The bag's types in ROS 2 form: for ROS 1, the ROS 2 Header (no seq) replaces its."""
        if self._copy_store is None:
            reader = self._open_reader()
            if self.is_ros1:
                store = get_typestore(Stores.EMPTY)
                store.register({
                    **reader.typestore.fielddefs,
                    'std_msgs/msg/Header':
                        self._default_typestore.fielddefs['std_msgs/msg/Header']})
                self._copy_store = store
            else:
                self._copy_store = reader.typestore
        return self._copy_store

    def _ros1_to_cdr(self, raw: bytes, connection: Connection, log_time: int) -> bytes:
        try:
            return bytes(self._copy_typestore().ros1_to_cdr(raw, connection.msgtype))
        except Exception as err:  # a damaged payload
            raise BagError(f'cannot convert the {connection.msgtype} message on '
                           f'{connection.topic} at {self.offset(log_time)} to ROS 2: {err}'
                           ) from err

    def message_definition(self, topic: str) -> TopicDefinition:
        """Type, definition and recorded QoS for writing a copy of `topic` to a ROS 2 bag."""
        self._require(topic, None, 'requested')
        connection = self._connections(topic)[0]
        if isinstance(connection.ext, ConnectionExtRosbag2):
            qos = tuple(connection.ext.offered_qos_profiles)
            if connection.msgdef.format == MessageDefinitionFormat.MSG and connection.digest:
                return TopicDefinition(connection.msgdef.data, connection.digest, qos)
        else:
            qos = (LATCHED_QOS,) if connection.ext.latching else ()
        store = self._copy_typestore()
        try:
            text, _ = store.generate_msgdef(connection.msgtype, ros_version=2)
            rihs01 = store.hash_rihs01(connection.msgtype)
        except Exception as err:  # rosbags raises KeyError or TypesysError for unknown types
            raise BagError(
                f'no message definition for {connection.msgtype} on {topic}: the bag carries '
                'none and the typestore lacks the type. Pass --typestore of the distro that '
                'recorded the bag, or do not copy this topic.') from err
        return TopicDefinition(text, rihs01, qos)


# --- writing -------------------------------------------------------------------------------------

def _staging(path: Path) -> Path:
    """The folder a bag is written in until it is complete."""
    return path.with_name(path.name + '.partial')


class OutputBag:
    """A new rosbag2 bag, published at `path` only when the `with` body completes.

    The bag is written to `<path>.partial/<name>/` (so its storage file gets the final name),
    then renamed to `path`. Any exception, KeyboardInterrupt included, deletes the staging
    folder and propagates.
    """

    def __init__(self, path: PathLike, storage: str = 'mcap', version: int = 9,
                 custom_data: Optional[Mapping[str, str]] = None, typestore: str = '') -> None:
        self.path = Path(path)
        self.check_destination(self.path)
        if storage not in STORAGES:
            raise BagError(f"unknown storage '{storage}'; use one of {sorted(STORAGES)}")
        if version not in (8, 9):
            raise BagError(f'bag version {version} cannot be written; use 9 (Jazzy and later) '
                           'or 8 (for Humble readers)')
        self.custom_data = dict(custom_data or {})
        bad = {key: value for key, value in self.custom_data.items()
               if not (isinstance(key, str) and isinstance(value, str))}
        if bad:
            raise BagError(f'custom_data keys and values must be strings; got {bad}')
        self.storage = storage
        self.version = version
        self.typestore = typestore_by_name(typestore or DEFAULT_WRITE_TYPESTORE)
        self.staging = _staging(self.path)
        self._writer: Optional[Writer] = None
        self._connections: Dict[str, Connection] = {}

    @staticmethod
    def check_destination(path: PathLike) -> None:
        """Raise a BagError unless a new bag can be written at `path`; call it before work."""
        path = Path(path)
        if not path.name or path.suffix in ('.mcap', '.db3', '.bag'):
            raise BagError(f"output '{path}' must name a new rosbag2 folder (the storage file is "
                           'created inside it), e.g. without the .mcap/.db3 suffix')
        if not path.parent.is_dir():
            raise BagError(f"the folder of output '{path}' ('{path.parent}') does not exist; "
                           'create it first')
        if path.exists() or path.is_symlink():
            raise BagError(f"output '{path}' exists already; choose a new output path or delete "
                           'it')
        staging = _staging(path)
        if staging.exists() or staging.is_symlink():
            raise BagError(f"'{staging}' exists: it is left over from a run that was killed "
                           'before it could clean up, and can be deleted')

    def __enter__(self) -> 'OutputBag':
        self.check_destination(self.path)
        try:
            self.staging.mkdir()
        except OSError as err:
            raise BagError(f"cannot create '{self.staging}': {err}") from err
        try:
            writer = Writer(self.staging / self.path.name, version=self.version,
                            storage_plugin=STORAGES[self.storage])
            for key, value in self.custom_data.items():
                writer.set_custom_data(key, value)
            writer.open()
        except BaseException as err:
            shutil.rmtree(self.staging, ignore_errors=True)
            if isinstance(err, Exception):
                raise BagError(f"cannot start writing '{self.path}': {err}") from err
            raise
        self._writer = writer
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        writer, self._writer = self._writer, None
        self._connections = {}
        if exc_type is not None:
            with suppress(Exception):
                writer.abort()
            shutil.rmtree(self.staging, ignore_errors=True)
            LOGGER.warning("removed the unfinished output '%s' after %s", self.staging,
                           exc_type.__name__)
            return
        try:
            writer.close()
            (self.staging / self.path.name).rename(self.path)
            self.staging.rmdir()
        except BaseException as err:
            shutil.rmtree(self.staging, ignore_errors=True)
            if isinstance(err, Exception):
                raise BagError(f"could not finish '{self.path}': {err}; the partial output "
                               'was removed') from err
            raise
        LOGGER.info("wrote '%s'", self.path)

    def _open_writer(self) -> Writer:
        if self._writer is None:
            raise BagError('the output bag is not open; use it in a `with OutputBag(...)` block')
        return self._writer

    def add_topic(self, topic: str, msgtype: str,
                  definition: Optional[TopicDefinition] = None) -> None:
        """Declare an output topic.

        Without `definition`: a new topic of a type in `self.typestore`, offered reliable,
        volatile, keep-last. With one (from `InputBag.message_definition`): a copied topic,
        with the input's definition and recorded QoS.
        """
        writer = self._open_writer()
        if topic in self._connections:
            raise BagError(f'output topic {topic} was added twice')
        if definition is not None:
            self._connections[topic] = writer.add_connection(
                topic, msgtype, msgdef=definition.text, rihs01=definition.rihs01,
                offered_qos_profiles=list(definition.qos) or [OUTPUT_QOS])
            return
        if msgtype not in self.typestore.fielddefs:
            raise BagError(f'message type {msgtype} is not in the output typestore')
        self._connections[topic] = writer.add_connection(
            topic, msgtype, typestore=self.typestore, offered_qos_profiles=[OUTPUT_QOS])

    def _connection(self, topic: str) -> Connection:
        self._open_writer()
        connection = self._connections.get(topic)
        if connection is None:
            raise BagError(f'output topic {topic} was not added; call add_topic first')
        return connection

    def write(self, topic: str, log_time: int, msg: Any) -> None:
        """Serialize a typestore message (see the builders below) to `topic` at `log_time`."""
        connection = self._connection(topic)
        self._writer.write(connection, log_time,
                           self.typestore.serialize_cdr(msg, connection.msgtype))

    def write_raw(self, topic: str, log_time: int, raw: bytes) -> None:
        """Write CDR bytes unchanged, e.g. from `InputBag.messages`."""
        self._writer.write(self._connection(topic), log_time, raw)


# --- message builders (rosbags dataclasses, same content as messages.py) -----------------------

def header_message(typestore: Typestore, header: Any) -> Any:
    """A std_msgs/Header of `typestore` with the stamp and frame_id of any header (ROS 1 too)."""
    time = typestore.types['builtin_interfaces/msg/Time'](
        sec=int(header.stamp.sec), nanosec=int(header.stamp.nanosec))
    return typestore.types['std_msgs/msg/Header'](stamp=time, frame_id=str(header.frame_id))


def image_message(typestore: Typestore, header: Any, pixels: np.ndarray, encoding: str) -> Any:
    """sensor_msgs/Image: tightly packed, host byte order; e.g. 32FC1, 16UC1, mono8, rgb8."""
    msg = typestore.types[IMAGE_MSGTYPE](
        header=header_message(typestore, header), height=0, width=0, encoding='',
        is_bigendian=0, step=0, data=np.empty(0, np.uint8))
    fill_image(msg, pixels, encoding)
    msg.is_bigendian = int(msg.is_bigendian)
    # rosbags serializes uint8[] from ndarrays; this views fill_image's buffer without a copy.
    msg.data = np.frombuffer(msg.data, dtype=np.uint8)
    return msg


def _roi(typestore: Typestore, x_offset: int = 0, y_offset: int = 0, width: int = 0,
         height: int = 0) -> Any:
    return typestore.types['sensor_msgs/msg/RegionOfInterest'](
        x_offset=int(x_offset), y_offset=int(y_offset), height=int(height), width=int(width),
        do_rectify=False)


def camera_info_message(typestore: Typestore, header: Any, info: PinholeInfo) -> Any:
    """A rectified camera (no distortion left) at the published resolution."""
    return typestore.types[CAMERA_INFO_MSGTYPE](
        header=header_message(typestore, header), height=info.height, width=info.width,
        distortion_model='plumb_bob', d=np.zeros(5), k=np.asarray(info.k, dtype=np.float64),
        r=np.eye(3).ravel(), p=np.asarray(info.p, dtype=np.float64), binning_x=0, binning_y=0,
        roi=_roi(typestore))


def disparity_message(typestore: Typestore, header: Any, result: FrameResult,
                      delta_d: float) -> Any:
    """stereo_msgs/DisparityImage with every field set (ros2-conventions.md §5.1)."""
    header = header_message(typestore, header)
    calibration = result.calibration
    x_offset, y_offset, width, height = result.valid_window
    return typestore.types['stereo_msgs/msg/DisparityImage'](
        header=header, image=image_message(typestore, header, result.disparity, '32FC1'),
        f=float(calibration.fx), t=float(calibration.baseline),
        valid_window=_roi(typestore, x_offset, y_offset, width, height),
        min_disparity=float(result.disparity_range.low),
        max_disparity=float(result.disparity_range.high), delta_d=float(delta_d))


def cloud_message(typestore: Typestore, header: Any, cloud: PointCloud) -> Any:
    """sensor_msgs/PointCloud2 of a packed PointCloud (FLOAT32 fields, host byte order)."""
    point_field = typestore.types['sensor_msgs/msg/PointField']
    return typestore.types['sensor_msgs/msg/PointCloud2'](
        header=header_message(typestore, header), height=cloud.height, width=cloud.width,
        fields=[point_field(name=name, offset=offset, datatype=FLOAT32, count=1)
                for name, offset in cloud.fields],
        is_bigendian=int(sys.byteorder == 'big'), point_step=cloud.point_step,
        row_step=cloud.row_step, data=np.ascontiguousarray(cloud.data, dtype=np.uint8),
        is_dense=cloud.is_dense)
