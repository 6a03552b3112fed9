# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Evaluate a depth topic of a bag against a GT depth topic, without ROS.

``stereodiff_bag`` writes its results into a new bag; a recording may carry GT depth (a
simulator, a depth camera registered to the colour camera). ``read_bag_evaluation`` reads
both, pairs frames by identical header stamp (the outputs copy their source image's header)
and returns the GT as a ``DepthSequence`` plus the predictions as one array, so the same
metrics as for the file datasets apply.

Prediction topics:

* ``sensor_msgs/Image`` 32FC1 on a ``.../relative_inverse_depth/...`` topic: StereoDiff's
  relative inverse depth, kind ``'relative_disparity'`` (to be aligned before scoring);
* ``sensor_msgs/Image`` 32FC1 (metres) or 16UC1 (millimetres): kind ``'depth'``;
* ``stereo_msgs/DisparityImage``: depth f·T/d, kind ``'depth'``; disparities that are not
  finite, not positive or below ``min_disparity`` are missing.

GT: ``sensor_msgs/Image`` 32FC1 metres or 16UC1 millimetres (REP 118); 0 and NaN are missing.
Every bag problem is a ``BagError`` that names the topic and what was expected.
"""
from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
import logging
import math
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from stereo_any_video_ros.bag_io import (BagError, IMAGE_MSGTYPE, IMAGE_MSGTYPES, InputBag,
                                         stamp_ns)
from stereo_any_video_ros.bag_io import FrameSelection as BagFrameSelection
from stereo_any_video_ros.conversions import (compressed_to_rgb8, image_to_array,
                                              image_to_rgb8, ImageFormatError)
from stereo_any_video_ros.evaluation.datasets.base import (DepthSample, DepthSequence,
                                                           FrameSelection)
from stereo_any_video_ros.geometry import disparity_to_depth

LOGGER = logging.getLogger(__name__)

PathLike = Union[str, Path]
DISPARITY_MSGTYPE = 'stereo_msgs/msg/DisparityImage'
# The name token under which stereodiff_bag publishes relative inverse depth.
RELATIVE_TOKEN = 'relative_inverse_depth'
DEPTH_KIND, RELATIVE_KIND = 'depth', 'relative_disparity'
DEPTH_ENCODINGS = '32FC1 (metres) or 16UC1 (millimetres)'
SUPPORTED_PREDICTIONS = (
    f'{IMAGE_MSGTYPE} 32FC1 on a .../{RELATIVE_TOKEN}/... topic (relative inverse depth), '
    f'{IMAGE_MSGTYPE} {DEPTH_ENCODINGS}, or {DISPARITY_MSGTYPE}')

Decoder = Callable[[Any], np.ndarray]


@dataclass
class BagEvaluation:
    """GT frames and the predictions with the same header stamps, in stamp order."""

    # Images (zeros without an image topic) and GT depth in metres, NaN where missing.
    sequence: DepthSequence
    predictions: np.ndarray  # (T, H, W) float32: metres, or unitless relative disparity
    kind: str  # DEPTH_KIND or RELATIVE_KIND
    stamps: np.ndarray  # (T,) int64 header stamps, ns
    predictions_without_gt: int  # prediction frames (in the window) with no GT stamp
    gt_without_prediction: int  # GT frames (in the window) with no prediction stamp


def _stamp_text(nanoseconds: int) -> str:
    return f'{nanoseconds // 1_000_000_000}.{nanoseconds % 1_000_000_000:09d}'


def _stamp_range(stamps: Any) -> str:
    stamps = sorted(stamps)
    return f'{len(stamps)} frames, stamps {_stamp_text(stamps[0])} .. {_stamp_text(stamps[-1])}'


def _check_topic(bag: InputBag, topic: str, msgtypes: Tuple[str, ...], role: str,
                 supported: str) -> str:
    """The type of `topic`, which must be in `bag` with one of `msgtypes`."""
    names = ', '.join(f"'{path}'" for path in bag.paths)
    if topic not in bag.topics:
        fitting = sorted(name for name, msgtype in bag.topics.items() if msgtype in msgtypes)
        raise BagError(f'{role} topic {topic} is not in {names}; topics of a fitting type: '
                       f'{fitting}; all topics: {bag.topics}')
    msgtype = bag.topics[topic]
    if msgtype not in msgtypes:
        raise BagError(f'{role} topic {topic} has type {msgtype}; supported: {supported}')
    return msgtype


# --- decoding one message ------------------------------------------------------------------------

def _pixels(msg: Any, topic: str) -> np.ndarray:
    try:
        return image_to_array(msg)
    except ImageFormatError as err:
        raise BagError(f'cannot read the {msg.encoding} image on {topic} with stamp '
                       f'{_stamp_text(stamp_ns(msg.header))}: {err}') from err


def _wrong_encoding(msg: Any, topic: str, role: str, supported: str) -> BagError:
    return BagError(f'{role} topic {topic} has a {IMAGE_MSGTYPE} with encoding '
                    f"'{msg.encoding}' (stamp {_stamp_text(stamp_ns(msg.header))}); "
                    f'supported: {supported}')


def _depth_decoder(topic: str, role: str) -> Decoder:
    """Image -> (H, W) float32 metres, NaN where missing (0, NaN, inf, negative)."""
    def decode(msg: Any) -> np.ndarray:
        if msg.encoding == '32FC1':
            depth = np.array(_pixels(msg, topic), dtype=np.float32)
        elif msg.encoding == '16UC1':
            depth = _pixels(msg, topic).astype(np.float32) / np.float32(1000.0)
        else:
            raise _wrong_encoding(msg, topic, role, f'{IMAGE_MSGTYPE} {DEPTH_ENCODINGS}')
        depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
        return depth
    return decode


def _relative_decoder(topic: str) -> Decoder:
    def decode(msg: Any) -> np.ndarray:
        if msg.encoding != '32FC1':
            raise _wrong_encoding(msg, topic, 'prediction', '32FC1 on a relative inverse '
                                  f'depth topic; in all: {SUPPORTED_PREDICTIONS}')
        return np.array(_pixels(msg, topic), dtype=np.float32)
    return decode


def _disparity_decoder(topic: str) -> Decoder:
    """DisparityImage -> (H, W) float32 depth f·T/d, NaN where the disparity is invalid."""
    def decode(msg: Any) -> np.ndarray:
        if msg.image.encoding != '32FC1':
            raise BagError(f'prediction topic {topic} has a {DISPARITY_MSGTYPE} whose image has '
                           f"encoding '{msg.image.encoding}'; stereo_msgs requires 32FC1")
        if not msg.f * msg.t > 0:
            raise BagError(f'prediction topic {topic}: the {DISPARITY_MSGTYPE} with stamp '
                           f'{_stamp_text(stamp_ns(msg.header))} has f = {msg.f} and T = '
                           f'{msg.t}; depth f·T/d needs both positive')
        disparity = _pixels(msg.image, topic)
        depth = disparity_to_depth(disparity, msg.f, msg.t)
        with np.errstate(invalid='ignore'):
            depth[disparity < np.float32(msg.min_disparity)] = np.nan
        return depth
    return decode


def _prediction_decoder(topic: str, msgtype: str) -> Tuple[Decoder, str]:
    if msgtype == DISPARITY_MSGTYPE:
        return _disparity_decoder(topic), DEPTH_KIND
    if RELATIVE_TOKEN in topic.split('/'):
        return _relative_decoder(topic), RELATIVE_KIND
    return _depth_decoder(topic, 'prediction'), DEPTH_KIND


# --- reading streams -----------------------------------------------------------------------------

def _read_stream(bag: InputBag, topic: str, decode: Decoder,
                 window: Tuple[int, Optional[int]]) -> Dict[int, np.ndarray]:
    """{header stamp: decoded frame} of the messages logged inside [start, stop)."""
    start, stop = window
    frames: Dict[int, np.ndarray] = {}
    shape = None
    for log_time, msg in bag.read(topic):
        if log_time < start or (stop is not None and log_time >= stop):
            continue
        stamp = stamp_ns(msg.header)
        if stamp in frames:
            raise BagError(f'{topic} has two messages with the header stamp '
                           f'{_stamp_text(stamp)}; frames are paired by stamp, so each must be '
                           'unique')
        frame = decode(msg)
        if shape is None:
            shape = frame.shape
        elif frame.shape != shape:
            raise BagError(f'{topic}: the frame with stamp {_stamp_text(stamp)} is '
                           f'{frame.shape[1]}x{frame.shape[0]}, earlier ones '
                           f'{shape[1]}x{shape[0]}; a topic must keep one size')
        frames[stamp] = frame
    if not frames:
        raise BagError(f'{topic} has no messages in the selected window')
    return frames


def _window(selection: Union[FrameSelection, BagFrameSelection, None], bag_start: int
            ) -> Tuple[int, Optional[int]]:
    if isinstance(selection, BagFrameSelection):
        return selection.window_ns(bag_start)
    return bag_start, None


def _select(stamps: List[int], selection: Union[FrameSelection, BagFrameSelection, None]
            ) -> List[int]:
    if selection is None:
        return stamps
    if isinstance(selection, BagFrameSelection):
        return stamps[::selection.every_n][:selection.max_frames or None]
    return [stamps[index] for index in selection.indices(len(stamps))]


def _read_images(bags: List[InputBag], topic: str, stamps: List[int],
                 size: Tuple[int, int]) -> Dict[int, np.ndarray]:
    """{stamp: (H, W, 3) uint8 RGB} for `stamps`, from the first bag that has `topic`."""
    bag = next((candidate for candidate in bags if topic in candidate.topics), bags[0])
    msgtype = _check_topic(bag, topic, IMAGE_MSGTYPES, 'image', ' or '.join(IMAGE_MSGTYPES))
    decode = image_to_rgb8 if msgtype == IMAGE_MSGTYPE else compressed_to_rgb8
    wanted = set(stamps)
    images: Dict[int, np.ndarray] = {}
    for _, msg in bag.read(topic):
        stamp = stamp_ns(msg.header)
        if stamp not in wanted or stamp in images:
            continue
        try:
            image = decode(msg)
        except ImageFormatError as err:
            raise BagError(f'cannot use the image on {topic} with stamp {_stamp_text(stamp)}: '
                           f'{err}') from err
        if image.shape[:2] != size:
            raise BagError(f'the image on {topic} with stamp {_stamp_text(stamp)} is '
                           f'{image.shape[1]}x{image.shape[0]} but the GT depth is '
                           f'{size[1]}x{size[0]}; pass the image topic registered to the depth '
                           'camera, or none')
        images[stamp] = image
    missing = [stamp for stamp in stamps if stamp not in images]
    if missing:
        raise BagError(f'{len(missing)} of the {len(stamps)} evaluated frames have no image on '
                       f'{topic} with the same header stamp (first: {_stamp_text(missing[0])})')
    return images


# --- the entry point -----------------------------------------------------------------------------

def read_bag_evaluation(prediction_bag: PathLike, prediction_topic: str, gt_bag: PathLike,
                        gt_topic: str, image_topic: Optional[str] = None,
                        selection: Union[FrameSelection, BagFrameSelection, None] = None,
                        max_depth: float = math.inf, typestore: str = '') -> BagEvaluation:
    """Predictions on `prediction_topic` and GT depth on `gt_topic`, paired by header stamp.

    `gt_bag` may be `prediction_bag`. `image_topic` (Image or CompressedImage, same size as
    the GT) is read from the GT bag, or from the prediction bag if the GT bag lacks it.
    `selection`: a bag_io ``FrameSelection`` keeps messages logged in its [start, end) window
    (seconds after the GT bag's first message, as ``stereodiff_bag --start/--end``), then
    every n-th pair; the evaluation ``FrameSelection`` picks every n-th pair. `max_depth` is
    the evaluation cap in metres (default: none). `typestore` is for bags without message
    definitions (see ``InputBag``).
    """
    same_bag = Path(prediction_bag).resolve() == Path(gt_bag).resolve()
    with ExitStack() as stack:
        predicted = stack.enter_context(InputBag([prediction_bag], typestore))
        truth = predicted if same_bag else stack.enter_context(InputBag([gt_bag], typestore))
        msgtype = _check_topic(predicted, prediction_topic, (IMAGE_MSGTYPE, DISPARITY_MSGTYPE),
                               'prediction', SUPPORTED_PREDICTIONS)
        _check_topic(truth, gt_topic, (IMAGE_MSGTYPE,), 'GT depth',
                     f'{IMAGE_MSGTYPE} {DEPTH_ENCODINGS}')
        decode, kind = _prediction_decoder(prediction_topic, msgtype)
        window = _window(selection, truth.start_time)
        predictions = _read_stream(predicted, prediction_topic, decode, window)
        gts = _read_stream(truth, gt_topic, _depth_decoder(gt_topic, 'GT depth'), window)
        paired = sorted(set(predictions) & set(gts))
        if not paired:
            raise BagError(
                f'no frame of {prediction_topic} ({_stamp_range(predictions)}) has a frame of '
                f'{gt_topic} ({_stamp_range(gts)}) with the identical header stamp; the '
                'prediction must come from the images recorded with this GT')
        without_gt, without_prediction = len(predictions) - len(paired), len(gts) - len(paired)
        if without_gt or without_prediction:
            LOGGER.warning('%d frames of %s have no GT on %s and %d GT frames no prediction; '
                           '%d frames paired', without_gt, prediction_topic, gt_topic,
                           without_prediction, len(paired))
        stamps = _select(paired, selection)
        size = next(iter(gts.values())).shape
        images = (_read_images([truth, predicted], image_topic, stamps, size)
                  if image_topic else {})

    depths = [gts[stamp] for stamp in stamps]
    frames = [images.get(stamp) for stamp in stamps]

    def load(index: int) -> DepthSample:
        image = frames[index]
        return DepthSample(np.zeros(size + (3,), np.uint8) if image is None else image,
                           depths[index])

    sequence = DepthSequence(Path(gt_bag).name, len(stamps), load, max_depth,
                             f'{gt_bag} {gt_topic}')
    return BagEvaluation(sequence, np.stack([predictions[stamp] for stamp in stamps]), kind,
                         np.array(stamps, dtype=np.int64), without_gt, without_prediction)


__all__ = ['BagEvaluation', 'DEPTH_KIND', 'read_bag_evaluation', 'RELATIVE_KIND']
