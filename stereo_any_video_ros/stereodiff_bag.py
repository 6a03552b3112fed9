# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``stereodiff_bag``: depth from a recorded bag, written into a new bag. Needs no rclpy.

Monocular (``--method stereodiff``): StereoDiff over one image topic, written as relative
inverse depth (32FC1, unitless, larger = closer, min-max normalised over the processed frames)
under ``<ns>/relative_inverse_depth/image``. It is never published under a depth name: it has
no metric scale.

Stereo (``--method sav`` or ``sgbm``): a rectified stereo pair and its camera_info, written as
``<ns>/disparity`` (stereo_msgs/DisparityImage), ``<ns>/depth/image_rect`` (metres) with
``<ns>/depth/camera_info`` and, with ``--points``, ``<ns>/points2``.

Every output message copies its source image's header and log time, so the new bag plays in
step with the copied input topics. The input is only read. The output is written to
``<output>.partial`` and renamed when complete; an error or Ctrl-C removes it.

Frames are decoded once into a scratch file next to the output (removed at the end), so host
memory does not grow with the bag's length beyond the per-frame results.
"""

from contextlib import ExitStack
from dataclasses import asdict, dataclass
import hashlib
import importlib.metadata
import json
import logging
from pathlib import Path
import sys
import tempfile
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
from stereo_any_video_ros.bag_io import (
    BagError, camera_info_message, camera_info_topic, cloud_message, disparity_message,
    FrameSelection, image_message, InputBag, output_namespace, OutputBag)
from stereo_any_video_ros.calibration import CalibrationError, PinholeInfo, stereo_calibration
from stereo_any_video_ros.clip import ClipFrame
from stereo_any_video_ros.models.checkpoint import CheckpointError
from stereo_any_video_ros.params import ConfigError, NodeConfig
from stereo_any_video_ros.processing import sequence_inference, StereoProcessor
from stereo_any_video_ros.stereodiff_bag_options import (
    check_for_method, OptionsError, parse_options)
from tqdm import tqdm

LOG = logging.getLogger('stereodiff_bag')
RELATIVE_TOPIC = 'relative_inverse_depth/image'
TF_TOPICS = ('/tf', '/tf_static')
WEIGHT_SUFFIXES = ('.safetensors', '.pth', '.bin', '.pt')
# What the output's metadata says about the relative output, for whoever opens the bag later.
RELATIVE_SEMANTICS = ('relative inverse depth: 32FC1, unitless, larger = closer, min-max '
                      'normalised to [0, 1] over the processed frames; not metric, not depth')


def tool_version() -> str:
    try:
        return importlib.metadata.version('stereo_any_video_ros')
    except importlib.metadata.PackageNotFoundError:
        return 'unknown'


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for block in iter(lambda: stream.read(1 << 24), b''):
            digest.update(block)
    return digest.hexdigest()


def weight_digests(paths: Iterable[str]) -> Dict[str, str]:
    """sha256 of every weight file under the given files or folders, by path."""
    digests = {}
    for path in (Path(p) for p in paths if p):
        files = sorted(f for f in path.rglob('*') if f.suffix in WEIGHT_SUFFIXES) \
            if path.is_dir() else [path]
        for weight_file in files:
            digests[str(weight_file)] = file_digest(weight_file)
    return digests


class FrameStore:
    """Frames decoded once into a scratch file, read back as a (T, H, W, 3) memory map."""

    def __init__(self, path: Path):
        self.path = path
        self._stream = open(path, 'wb')
        self._shape = None
        self.count = 0

    def append(self, image: np.ndarray, label: str) -> None:
        if self._shape is None:
            self._shape = image.shape
        elif image.shape != self._shape:
            raise BagError(f'{label} is {image.shape[1]}x{image.shape[0]} but the first frame '
                           f'was {self._shape[1]}x{self._shape[0]}; one run needs one image '
                           'size (select a range with --start/--end)')
        self._stream.write(np.ascontiguousarray(image, np.uint8).tobytes())
        self.count += 1

    def frames(self) -> np.memmap:
        self._stream.close()
        return np.memmap(self.path, np.uint8, 'r', shape=(self.count, *self._shape))


@dataclass(frozen=True)
class SelectedFrame:
    """What the final pass needs to write one output: when, and with which header."""

    log_time: int
    header: Any


def copied_topics(copy: str, bag: InputBag, image_topics: Sequence[str]) -> List[str]:
    if copy == 'none':
        return []
    if copy == 'all':
        return sorted(bag.topics)
    wanted = set(image_topics) | {camera_info_topic(t) for t in image_topics} | set(TF_TOPICS)
    return sorted(t for t in bag.topics if t in wanted)


def write_outputs(bag: InputBag, out_bag: OutputBag, trigger_topic: str,
                  selected: List[SelectedFrame], copy: Sequence[str],
                  emit: Callable[[int, SelectedFrame], None]) -> None:
    """One pass over the input in log-time order: copy the copied topics and emit each
    selected frame's outputs at its source log time."""
    for topic in copy:
        out_bag.add_topic(topic, bag.topics[topic], bag.message_definition(topic))
    copy_set = set(copy)
    position = 0
    bar = tqdm(total=len(selected), desc='writing', unit='frame')
    for topic, log_time, raw in bag.messages(copy_set | {trigger_topic}):
        if topic in copy_set:
            out_bag.write_raw(topic, log_time, raw)
        if topic == trigger_topic and position < len(selected) and \
                selected[position].log_time == log_time:
            emit(position, selected[position])
            position += 1
            bar.update()
    bar.close()
    if position != len(selected):
        raise BagError(f'the input changed while it was read: {position} of {len(selected)} '
                       'selected frames were found again')


# -- monocular: StereoDiff --------------------------------------------------------------------

def run_stereodiff(options, frames_wanted: FrameSelection, bag: InputBag,
                   scratch: Path) -> None:
    from stereodiff_ros.engines.stage2 import Stage2Settings
    from stereodiff_ros.pipeline import StereoDiffPipeline

    topic = bag.image_topic(options.image_topic)
    settings = Stage2Settings(
        window=options.clip_length, overlap=options.clip_overlap,
        max_resolution=options.resolution, sigmas=options.sigmas, zero_snr=options.zero_snr,
        decode_sample=options.decode_sample, latent_sharing=options.latent_sharing,
        seed=options.seed)
    pipeline = StereoDiffPipeline.from_pretrained(
        options.monst3r_checkpoint, options.depthcrafter_unet, options.svd_folder,
        device=options.device, precision=options.precision, settings=settings,
        stage1_long_side=options.stage1_resolution,
        stage1_batch_size=options.stage1_batch_size)

    store = FrameStore(scratch / 'frames.u8')
    selected = []
    for frame in tqdm(bag.frames(topic, frames_wanted), desc='reading', unit='frame'):
        store.append(frame.image, f'frame {frame.index} of {topic}')
        selected.append(SelectedFrame(frame.log_time, frame.header))
    if len(selected) < 2:
        raise BagError(f'StereoDiff needs at least 2 frames; the selection on {topic} gives '
                       f'{len(selected)}')
    frames = store.frames()
    disparity = np.lib.format.open_memmap(scratch / 'disparity.npy', 'w+', np.float32,
                                          frames.shape[:3])
    result = pipeline.run(frames, out=disparity)

    namespace = options.output_namespace or output_namespace(topic, 'mono_depth')
    output_topic = f'{namespace.rstrip("/")}/{RELATIVE_TOPIC}'
    custom = provenance(options, result.settings,
                        [options.monst3r_checkpoint, options.depthcrafter_unet,
                         options.svd_folder])
    custom.update({'depth_kind': 'relative', 'scale_mode': 'none',
                   'output_topics': json.dumps([output_topic]),
                   'output_semantics': RELATIVE_SEMANTICS,
                   'stage1_focal_px': json.dumps(result.stage1.focal_at_input().tolist())})
    with OutputBag(options.output, storage=options.storage, version=options.bag_version,
                   custom_data=custom, typestore=options.typestore) as out_bag:
        out_bag.add_topic(output_topic, 'sensor_msgs/msg/Image')

        def emit(index: int, frame: SelectedFrame) -> None:
            out_bag.write(output_topic, frame.log_time,
                          image_message(out_bag.typestore, frame.header, disparity[index],
                                        '32FC1'))

        write_outputs(bag, out_bag, topic, selected,
                      copied_topics(options.copy, bag, [topic]), emit)


# -- stereo: SAV or SGBM ----------------------------------------------------------------------

def run_stereo(options, frames_wanted: FrameSelection, bag: InputBag, scratch: Path) -> None:
    left_info_topic = options.left_info_topic or camera_info_topic(options.left_topic)
    right_info_topic = options.right_info_topic or camera_info_topic(options.right_topic)
    config = NodeConfig.from_values({
        'backend': options.method, 'checkpoint': options.sav_checkpoint,
        'sav.vda_checkpoint': options.vda_checkpoint, 'device': options.device,
        'precision': options.precision, 'inference_width': options.inference_width,
        'inference_height': options.inference_height, 'min_depth': options.min_depth,
        'max_depth': options.max_depth, 'depth_encoding': options.depth_encoding,
        'invalid_disparity_value': float('nan')})
    infer = sequence_inference(config)

    left_store = FrameStore(scratch / 'left.u8')
    right_store = FrameStore(scratch / 'right.u8')
    selected: List[SelectedFrame] = []
    calibrations = []
    for pair in tqdm(bag.stereo_frames(options.left_topic, options.right_topic,
                                       left_info_topic, right_info_topic, frames_wanted),
                     desc='reading', unit='pair'):
        label = f'pair {pair.index} of {options.left_topic}'
        left_store.append(pair.left, label)
        right_store.append(pair.right, label)
        calibration = stereo_calibration(PinholeInfo.from_msg(pair.left_info),
                                         PinholeInfo.from_msg(pair.right_info))
        if (calibration.width, calibration.height) != pair.left.shape[1::-1]:
            raise CalibrationError(
                f'{label}: images are {pair.left.shape[1]}x{pair.left.shape[0]} but '
                f'{left_info_topic} says {calibration.width}x{calibration.height}')
        calibrations.append(calibration)
        selected.append(SelectedFrame(pair.log_time, pair.left_header))
    for warning in {w for c in calibrations for w in c.warnings}:
        LOG.warning('%s', warning)
    left, right = left_store.frames(), right_store.frames()
    raw = np.lib.format.open_memmap(scratch / 'disparity.npy', 'w+', np.float32,
                                    left.shape[:3])
    infer(left, right, raw)

    processor = StereoProcessor(None, config)
    namespace = (options.output_namespace or output_namespace(options.left_topic, '')).rstrip('/')
    topics = {'disparity': f'{namespace}/disparity', 'depth': f'{namespace}/depth/image_rect',
              'info': f'{namespace}/depth/camera_info', 'points': f'{namespace}/points2'}
    if not options.points:
        del topics['points']
    custom = provenance(options, {'node_config': asdict(config)},
                        [options.sav_checkpoint, options.vda_checkpoint])
    custom.update({'depth_kind': 'metric', 'scale_mode': 'metric',
                   'output_topics': json.dumps(sorted(topics.values()))})
    with OutputBag(options.output, storage=options.storage, version=options.bag_version,
                   custom_data=custom, typestore=options.typestore) as out_bag:
        out_bag.add_topic(topics['disparity'], 'stereo_msgs/msg/DisparityImage')
        out_bag.add_topic(topics['depth'], 'sensor_msgs/msg/Image')
        out_bag.add_topic(topics['info'], 'sensor_msgs/msg/CameraInfo')
        if options.points:
            out_bag.add_topic(topics['points'], 'sensor_msgs/msg/PointCloud2')
        store = out_bag.typestore

        def emit(index: int, frame: SelectedFrame) -> None:
            clip_frame = ClipFrame(frame.log_time, left[index], right[index],
                                   frame.header.frame_id, calibrations[index])
            result = processor.finish(clip_frame, np.array(raw[index]),
                                      want_depth=True, want_cloud=options.points)
            out_bag.write(topics['disparity'], frame.log_time,
                          disparity_message(store, frame.header, result, config.delta_d))
            out_bag.write(topics['depth'], frame.log_time,
                          image_message(store, frame.header, result.depth,
                                        options.depth_encoding))
            out_bag.write(topics['info'], frame.log_time,
                          camera_info_message(store, frame.header, result.calibration.left))
            if options.points:
                out_bag.write(topics['points'], frame.log_time,
                              cloud_message(store, frame.header, result.cloud))

        write_outputs(bag, out_bag, options.left_topic, selected,
                      copied_topics(options.copy, bag, [options.left_topic, options.right_topic]),
                      emit)


# -- shared -----------------------------------------------------------------------------------

def selection(options) -> FrameSelection:
    return FrameSelection(start=options.start, end=options.end, every_n=options.every_n,
                          max_frames=options.max_frames)


def provenance(options, settings: Dict[str, Any], weights: Sequence[str]) -> Dict[str, str]:
    """Custom metadata of the output bag: enough to know later how it was made."""
    return {
        'tool': 'stereo_any_video_ros/stereodiff_bag',
        'tool_version': tool_version(),
        'method': options.method,
        'input_bags': json.dumps([str(Path(p).resolve()) for p in options.input]),
        'checkpoint_sha256': json.dumps(weight_digests(weights)),
        'settings': json.dumps(settings, default=str),
        'options': json.dumps(asdict(options), default=str),
    }


def run(options) -> None:
    """The whole job; raises on bad input, leaving no output behind."""
    check_for_method(options)
    # before any work, not after hours of it
    OutputBag.check_destination(options.output)
    frames_wanted = selection(options)
    with ExitStack() as stack:
        bag = stack.enter_context(InputBag(options.input, typestore=options.typestore))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix='.stereodiff_bag-', dir=Path(options.output).resolve().parent)))
        if options.method == 'stereodiff':
            run_stereodiff(options, frames_wanted, bag, scratch)
        else:
            run_stereo(options, frames_wanted, bag, scratch)
    LOG.info('wrote %s', options.output)


EXPECTED_ERRORS = (BagError, CalibrationError, CheckpointError, ConfigError, FileNotFoundError,
                   MemoryError, ValueError)


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format='[%(name)s] %(levelname)s: %(message)s')
    options = parse_options(sys.argv[1:] if argv is None else list(argv))
    try:
        run(options)
    except KeyboardInterrupt:
        LOG.error('interrupted: nothing was written to %s', options.output)
        return 130
    except OptionsError as error:  # a usage error, reported like argparse's
        LOG.error('%s', error)
        return 2
    except EXPECTED_ERRORS as error:
        LOG.error('%s', error)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
