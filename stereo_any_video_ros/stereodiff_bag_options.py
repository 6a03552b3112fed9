# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The options of the offline bag tool stereodiff_bag, ROS-free.

One table (`OPTIONS`, `ParamSpec` entries as in params.py) names every option: the command-line
flags (`--clip-length`), the keys of config/stereodiff.yaml (`clip_length`), the arguments of
launch/stereodiff.launch.py and the fields of `StereoDiffBagOptions` all follow it.

`parse_options` reads one argv that may mix the tool's flags with ROS sections as `ros2 run`
and launch_ros's `Node` write them (`--ros-args ... [--]`):

- `--params-file F`: YAML with blocks `<node>: {ros__parameters: {...}}`; the blocks whose key
  matches the node's name (`/**`, `stereodiff_bag`, `/stereodiff_bag`, `/*/...` wildcards as
  rcl reads them) apply, wildcard blocks before named ones. launch_ros writes a Node's
  parameter dicts to such a file, keyed `/**` or by the full node name.
- `-p [node:]name:=value`: the value is YAML, as in rcl.
- `-r __node:=name` and `-r __ns:=/ns` rename the node for that matching; other remappings,
  log levels, enclaves and the rosout/stdout switches do not concern an offline tool and are
  accepted and ignored. Anything else in a ROS section is an error, as rcl makes it one.

Precedence, lowest first: table defaults, params files in argv order, all `-p` rules, explicit
flags. (rcl applies `-p` and params files in argv order instead; the two agree whenever the
`-p` rules follow the files, as they do for a launch_ros Node's own parameters, which it
passes as files.) A bad value names the option and where it came from.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
import difflib
import logging
import re
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from rosbags.typesys import Stores
from stereo_any_video_ros.params import ParamSpec
import yaml

LOG = logging.getLogger(__name__)

NODE_NAME = 'stereodiff_bag'
STEREO_METHODS = ('sav', 'sgbm')
# Parameters every ROS node has, which shared `/**` blocks often set; a bag tool has no clock
# to follow, so they are accepted and ignored.
ROS_NODE_PARAMETERS = ('use_sim_time',)
# rosbags' type stores, for bags that carry no message definitions ('empty' cannot read any).
TYPESTORES = tuple(store.value for store in Stores if store.value != 'empty')

OPTION_GROUPS: Tuple[Tuple[str, Tuple[ParamSpec, ...]], ...] = (
    ('input and output', (
        ParamSpec('input', (),
                  'Input bag(s): rosbag2 folder, .mcap, .db3 or ROS 1 .bag; several are merged in '
                  'time order. Required. A params file may give one path or a list.'),
        ParamSpec('output', '',
                  'Output rosbag2 folder to create; refused if it already exists. Required.'),
        ParamSpec('method', 'stereodiff',
                  'stereodiff: monocular StereoDiff relative depth from image_topic; sav (Stereo '
                  'Any Video) or sgbm (OpenCV): metric stereo depth from left_topic and '
                  'right_topic.',
                  choices=('stereodiff', 'sav', 'sgbm')),
    )),
    ('topics', (
        ParamSpec('image_topic', '',
                  'stereodiff: the image topic (sensor_msgs/Image or CompressedImage); empty = '
                  'the only image topic in the bag.'),
        ParamSpec('left_topic', '',
                  'sav/sgbm: the rectified left image topic. Required for them.'),
        ParamSpec('right_topic', '',
                  'sav/sgbm: the rectified right image topic. Required for them.'),
        ParamSpec('left_info_topic', '',
                  'sav/sgbm: the left CameraInfo topic; empty = camera_info next to left_topic '
                  '(image_transport rule: /cam/left/image_rect -> /cam/left/camera_info).'),
        ParamSpec('right_info_topic', '',
                  'sav/sgbm: the right CameraInfo topic; empty = camera_info next to '
                  'right_topic.'),
        ParamSpec('output_namespace', '',
                  'Namespace of the new topics; empty = <image namespace>/mono_depth for '
                  'stereodiff, the namespace holding left_topic and right_topic for sav/sgbm.'),
    )),
    ('weights (local paths; nothing is downloaded)', (
        ParamSpec('monst3r_checkpoint', '',
                  'stereodiff: MonST3R weights, a .pth file or a Hugging Face model folder. '
                  'Required for stereodiff.'),
        ParamSpec('depthcrafter_unet', '',
                  'stereodiff: DepthCrafter UNet folder (diffusers format). Required for '
                  'stereodiff.'),
        ParamSpec('svd_folder', '',
                  'stereodiff: Stable Video Diffusion img2vid-xt folder (VAE, image encoder, '
                  'scheduler). Required for stereodiff.'),
        ParamSpec('sav_checkpoint', '',
                  'sav: StereoAnyVideo_MIX.pth or StereoAnyVideo_SF.pth. Required for sav.'),
        ParamSpec('vda_checkpoint', '',
                  'sav: video_depth_anything_vits.pth, only for checkpoints without the Video '
                  'Depth Anything weights.'),
    )),
    ('compute', (
        ParamSpec('device', 'cuda:0', 'Torch device: cpu, cuda or cuda:N (sgbm runs on the CPU).'),
        ParamSpec('precision', 'fp16', 'Network precision (sgbm ignores it).',
                  choices=('fp32', 'fp16', 'bf16')),
    )),
    ('StereoDiff stage 1 (MonST3R)', (
        ParamSpec('stage1_resolution', 512,
                  'MonST3R input long side in pixels (the paper: 512).',
                  range=(64, 2048, 16)),
        ParamSpec('stage1_batch_size', 8,
                  'Image pairs per MonST3R forward pass; lower it if the GPU runs out of memory.',
                  range=(1, 256, 1)),
    )),
    ('StereoDiff stage 2 (DepthCrafter, one denoising step)', (
        ParamSpec('resolution', 1024,
                  'Largest DepthCrafter input side in pixels; frames are scaled down to it and '
                  'both sides rounded to multiples of 64. Lower it to save GPU memory.',
                  range=(64, 4096, 1)),
        ParamSpec('clip_length', 110,
                  'Frames per stage-2 window (the paper: 110); GPU memory grows with it.',
                  range=(1, 1000, 1)),
        ParamSpec('clip_overlap', 25,
                  'Frames shared by consecutive windows and blended linearly (the paper: 25); '
                  'must be below clip_length.',
                  range=(0, 999, 1)),
        ParamSpec('sigmas', 'karras',
                  "Noise levels of the step: karras = SVD's scheduler as shipped (sigma 2.27 -> "
                  '0.002); trailing = Karras off, trailing spacing (sigma 1.61 -> 0.69; decode '
                  'pred_original_sample with it).',
                  choices=('karras', 'trailing')),
        ParamSpec('zero_snr', False,
                  'Rescale the betas to zero terminal SNR; only with sigmas trailing.'),
        ParamSpec('decode_sample', 'prev_sample',
                  'Scheduler output to decode: prev_sample (the step result) or '
                  'pred_original_sample (its clean estimate).',
                  choices=('prev_sample', 'pred_original_sample')),
        ParamSpec('latent_sharing', False,
                  "DepthCrafter's cross-window latent sharing (shared noise, previous window "
                  're-noised into the overlap); StereoDiff turns it off.'),
        ParamSpec('seed', 42, 'Seed of the stage-2 noise; fixed for reproducible output.',
                  range=(0, 2 ** 31 - 1, 1)),
    )),
    ('stereo methods (sav, sgbm)', (
        ParamSpec('inference_width', 0,
                  'Network input width in pixels; 0 = native. Set both width and height or '
                  'neither.',
                  range=(0, 8192, 1)),
        ParamSpec('inference_height', 0, 'Network input height in pixels; 0 = native.',
                  range=(0, 8192, 1)),
        ParamSpec('depth_encoding', '32FC1',
                  'Depth image encoding: 32FC1 = metres, NaN invalid; 16UC1 = millimetres, 0 '
                  'invalid (half the size).',
                  choices=('32FC1', '16UC1')),
        ParamSpec('points', False,
                  'Also write <namespace>/points (PointCloud2); off by default as it makes bags '
                  'large.'),
        ParamSpec('min_depth', 0.1, 'Nearest valid depth in metres.',
                  range=(0.001, 1000.0, 0.0)),
        ParamSpec('max_depth', 20.0, 'Farthest valid depth in metres.',
                  range=(0.001, 10000.0, 0.0)),
    )),
    ('frame selection', (
        ParamSpec('start', 0.0, 'Skip frames before this many seconds from the bag start; 0 = '
                  'from the beginning.', range=(0.0, 1.0e9, 0.0)),
        ParamSpec('end', 0.0, 'Stop at this many seconds from the bag start; 0 = at the end. '
                  'Must be after start.', range=(0.0, 1.0e9, 0.0)),
        ParamSpec('every_n', 1, 'Use every n-th frame (1 = all).', range=(1, 1000000, 1)),
        ParamSpec('max_frames', 0, 'Stop after this many frames; 0 = all.',
                  range=(0, 2 ** 31 - 1, 1)),
    )),
    ('output bag', (
        ParamSpec('copy', 'all',
                  'Input topics copied into the output: all (a self-contained playable bag), '
                  'camera (the images and camera_info used, /tf, /tf_static) or none.',
                  choices=('all', 'camera', 'none')),
        ParamSpec('storage', 'mcap', 'Storage plugin of the output bag.',
                  choices=('mcap', 'sqlite3')),
        ParamSpec('bag_version', 9,
                  'rosbag2 metadata version of the output; 8 for Humble readers.',
                  range=(8, 9, 1)),
        ParamSpec('typestore', '',
                  'Message types for bags without definitions (ROS 1 and older rosbag2 '
                  'bags), e.g. ros2_humble; empty = automatic.',
                  choices=('',) + TYPESTORES),
    )),
)

OPTIONS: Mapping[str, ParamSpec] = {
    spec.name: spec for _, specs in OPTION_GROUPS for spec in specs}


class OptionsError(ValueError):
    """An option that is unknown, mistyped, out of range or inconsistent with another."""


@dataclass(frozen=True)
class StereoDiffBagOptions:
    """Every stereodiff_bag option, validated; the fields are the table's names."""

    input: Tuple[str, ...]
    output: str
    method: str
    image_topic: str
    left_topic: str
    right_topic: str
    left_info_topic: str
    right_info_topic: str
    output_namespace: str
    monst3r_checkpoint: str
    depthcrafter_unet: str
    svd_folder: str
    sav_checkpoint: str
    vda_checkpoint: str
    device: str
    precision: str
    stage1_resolution: int
    stage1_batch_size: int
    resolution: int
    clip_length: int
    clip_overlap: int
    sigmas: str
    zero_snr: bool
    decode_sample: str
    latent_sharing: bool
    seed: int
    inference_width: int
    inference_height: int
    depth_encoding: str
    points: bool
    min_depth: float
    max_depth: float
    start: float
    end: float
    every_n: int
    max_frames: int
    copy: str
    storage: str
    bag_version: int
    typestore: str


# --- command line -----------------------------------------------------------------------------

def flag(name: str) -> str:
    """The command-line flag of an option: clip_length -> --clip-length."""
    return '--' + name.replace('_', '-')


_LISTED_CHOICES = 4  # longer choice lists go into the help text, not the usage line


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float):
        return f'{value:g}'
    if value == '' or value == ():
        return 'none'
    return str(value)


def _help(spec: ParamSpec) -> str:
    parts = [spec.description]
    if len(spec.choices) > _LISTED_CHOICES:
        parts.append('One of: ' + ', '.join(choice or "''" for choice in spec.choices) + '.')
    if spec.range is not None:
        low, high, step = spec.range
        steps = f' in steps of {step}' if step > 1 else ''
        parts.append(f'Range {_shown(low)}..{_shown(high)}{steps}.')
    if spec.default != '' and spec.default != ():
        parts.append(f'Default: {_shown(spec.default)}.')
    return ' '.join(parts).replace('%', '%%')  # argparse formats help with %


def _metavar(spec: ParamSpec) -> str:
    if spec.choices and len(spec.choices) <= _LISTED_CHOICES:
        return '{' + ','.join(spec.choices) + '}'
    if isinstance(spec.default, (int, float)):
        return 'N' if isinstance(spec.default, int) else 'X'
    return spec.name.upper()


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the tool's own flags, one per option, help from the table."""
    parser = argparse.ArgumentParser(
        prog=NODE_NAME, allow_abbrev=False,
        usage='%(prog)s --input BAG [BAG ...] --output BAG [options] [--ros-args ... [--]]',
        description='Estimate depth over recorded bags and write a new bag: StereoDiff '
                    '(monocular video depth) or a stereo method (Stereo Any Video, SGBM).',
        epilog='A ROS section `--ros-args [--params-file FILE] [-p name:=value] ... [--]` may '
               'follow or precede the flags (ros2 run and ros2 launch write one); '
               'config/stereodiff.yaml lists every option. Flags win over -p, -p over params '
               'files, later files over earlier ones.')
    for title, specs in OPTION_GROUPS:
        group = parser.add_argument_group(title)
        for spec in specs:
            keywords: Dict[str, Any] = {'dest': spec.name, 'default': argparse.SUPPRESS,
                                        'help': _help(spec)}
            if isinstance(spec.default, bool):
                keywords['action'] = argparse.BooleanOptionalAction
            elif isinstance(spec.default, tuple):
                keywords.update(nargs='+', action='extend', metavar='BAG')
            else:
                keywords['type'] = type(spec.default)
                keywords['metavar'] = _metavar(spec)
            group.add_argument(flag(spec.name), **keywords)
    return parser


# --- ROS arguments ----------------------------------------------------------------------------

_ROS_VALUE_FLAGS = ('-r', '--remap', '-p', '--param', '--params-file', '--log-level',
                    '--log-config-file', '--log-file-name', '-e', '--enclave')
_ROS_SWITCHES = tuple(f'--{state}-{what}' for state in ('enable', 'disable')
                      for what in ('rosout-logs', 'stdout-logs', 'external-lib-logs'))


@dataclass(frozen=True)
class RosArguments:
    """What the ROS sections of an argv say about this tool's parameters."""

    params_files: Tuple[str, ...] = ()
    param_rules: Tuple[Tuple[str, str], ...] = ()  # ([node:]name, YAML value text), in order
    node_name: str = NODE_NAME
    namespace: str = '/'

    @property
    def node_fqn(self) -> str:
        return self.namespace.rstrip('/') + '/' + self.node_name


def split_ros_args(argv: Sequence[str]) -> Tuple[List[str], List[str]]:
    """Split argv into the tool's own arguments and the tokens of its `--ros-args` sections
    (without the `--ros-args`/`--` delimiters), as rcl delimits them."""
    own: List[str] = []
    ros: List[str] = []
    in_ros = False
    tokens = iter(argv)
    for token in tokens:
        if token == '--ros-args':
            in_ros = True
        elif not in_ros:
            own.append(token)
        elif token == '--':
            in_ros = False
        else:
            ros.append(token)
            if token in _ROS_VALUE_FLAGS:
                value = next(tokens, None)
                if value is None:
                    raise OptionsError(f'ROS argument {token} needs a value')
                ros.append(value)
    return own, ros


def parse_ros_args(tokens: Sequence[str]) -> RosArguments:
    """Read the tokens of ROS sections (see `split_ros_args`)."""
    params_files: List[str] = []
    param_rules: List[Tuple[str, str]] = []
    node_name, namespace = NODE_NAME, '/'
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in _ROS_SWITCHES:
            index += 1
            continue
        if token not in _ROS_VALUE_FLAGS:
            raise OptionsError(
                f'unknown ROS argument {token!r} after --ros-args; stereodiff_bag reads '
                '--params-file and -p, and accepts -r, --log-level, -e and the log switches')
        value = tokens[index + 1]
        index += 2
        if token == '--params-file':
            params_files.append(value)
        elif token in ('-p', '--param'):
            name, separator, text = value.partition(':=')
            if not separator or not name:
                raise OptionsError(f'-p {value!r}: write -p name:=value')
            param_rules.append((name, text))
        elif token in ('-r', '--remap'):
            source, separator, target = value.partition(':=')
            if not separator:
                raise OptionsError(f'-r {value!r}: write -r from:=to')
            node, _, source = source.rpartition(':')
            if node and node != node_name:
                continue  # a rule for another node
            if source in ('__node', '__name'):
                node_name = target
            elif source == '__ns':
                namespace = target if target.startswith('/') else '/' + target
    return RosArguments(tuple(params_files), tuple(param_rules), node_name, namespace)


def node_key_matches(key: str, node_fqn: str) -> bool:
    """Whether a params-file node key (`/**`, `name`, `/ns/*`, ...) applies to `node_fqn`,
    with rcl's wildcards: `*` is one name token, `/**` any number of them."""
    key = key if key.startswith('/') else '/' + key
    pattern = ''
    for token in key.split('/')[1:]:
        if token == '**':
            pattern += '(/[^/]+)*'
        else:
            pattern += '/' + re.escape(token).replace(r'\*', '[^/]+')
    return re.fullmatch(pattern, node_fqn) is not None


def _node_blocks(mapping: Mapping[Any, Any], path: str, prefix: str = ''
                 ) -> List[Tuple[str, Mapping[Any, Any]]]:
    """[(node key, ros__parameters mapping)] of a params file, nested namespaces joined."""
    blocks = []
    for key, value in mapping.items():
        if key == 'ros__parameters':
            raise OptionsError(f'params file {path}: ros__parameters must sit under a node '
                               "name such as '/**'")
        key = str(key) if not prefix else prefix.rstrip('/') + '/' + str(key).lstrip('/')
        if not isinstance(value, dict):
            raise OptionsError(f'params file {path}: {key} must hold ros__parameters: '
                               f'{{...}}, found {value!r}')
        if 'ros__parameters' in value:
            content = value['ros__parameters']
            if content is not None and not isinstance(content, dict):
                raise OptionsError(f'params file {path}: {key}/ros__parameters must be a '
                                   f'mapping of names to values, found {content!r}')
            blocks.append((key, content or {}))
        nested = {inner: content for inner, content in value.items()
                  if inner != 'ros__parameters'}
        blocks.extend(_node_blocks(nested, path, key))
    return blocks


def flatten_parameters(mapping: Mapping[Any, Any], prefix: str = '') -> Dict[str, Any]:
    """Nested parameter mappings to ROS's dotted names."""
    flat: Dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(flatten_parameters(value, f'{prefix}{key}.'))
        else:
            flat[f'{prefix}{key}'] = value
    return flat


def read_params_file(path: str, node_fqn: str = '/' + NODE_NAME) -> Dict[str, Any]:
    """{name: value} that a ROS params file gives the node `node_fqn`: its matching
    blocks in file order, blocks with wildcards before named ones (as rclcpp ranks them)."""
    try:
        with open(path, encoding='utf-8') as stream:
            document = yaml.safe_load(stream)
    except OSError as error:
        raise OptionsError(f'params file {path}: cannot read it ({error.strerror})') from error
    except yaml.YAMLError as error:
        raise OptionsError(f'params file {path} is not valid YAML: {error}') from error
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise OptionsError(f'params file {path}: expected node names mapping to '
                           "ros__parameters (e.g. '/**:'), found a "
                           f'{type(document).__name__}')
    blocks = _node_blocks(document, path)
    matching = [(key, params) for key, params in blocks if node_key_matches(key, node_fqn)]
    if not matching:
        LOG.warning('params file %s has no block for node %s (it has %s); it sets nothing',
                    path, node_fqn, [key for key, _ in blocks] or 'none')
    matching.sort(key=lambda block: '*' not in block[0])  # stable: wildcards first
    values: Dict[str, Any] = {}
    for _, params in matching:
        values.update(flatten_parameters(params))
    return values


# --- validation -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Setting:
    value: Any
    source: str  # where the value came from, for messages


def _unknown(name: str, source: str) -> OptionsError:
    close = difflib.get_close_matches(name, OPTIONS, n=1)
    hint = f'; did you mean {close[0]}?' if close else f'; the options are {", ".join(OPTIONS)}'
    return OptionsError(f'unknown option {name!r} ({source}){hint}')


def _converted(spec: ParamSpec, value: Any, source: str) -> Any:
    """`value` checked against the table and in the field's type, or OptionsError."""
    if value is None:
        raise OptionsError(f"{spec.name} has no value ({source}); write '' for an empty string")
    if isinstance(spec.default, tuple):
        if isinstance(value, str):
            value = (value,) if value else ()
        elif isinstance(value, (list, tuple)) and all(
                isinstance(item, str) and item for item in value):
            value = tuple(value)
        else:
            raise OptionsError(f'{spec.name} must be a path or a list of paths, got {value!r} '
                               f'({source})')
    problem = spec.check(value)
    if problem:
        raise OptionsError(f'{problem} ({source})')
    return float(value) if isinstance(spec.default, float) else value


def _layer(settings: Dict[str, _Setting], values: Mapping[str, Any], source: str) -> None:
    for name, value in values.items():
        if name in ROS_NODE_PARAMETERS:
            LOG.debug('ignoring the ROS node parameter %s (%s)', name, source)
            continue
        if name not in OPTIONS:
            raise _unknown(name, source)
        settings[name] = _Setting(_converted(OPTIONS[name], value, source), source)


def _yaml_value(name: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise OptionsError(f'-p {name}:={text}: the value is not valid YAML ({error})') from error


def _setting_text(settings: Mapping[str, _Setting], name: str) -> str:
    setting = settings[name]
    return f'{name} ({_shown(setting.value)}, {setting.source})'


def _check_combination(settings: Mapping[str, _Setting]) -> None:
    # Only what no later object checks: zero_snr with Karras sigmas (Stage2Settings), the
    # inference size and depth range (NodeConfig) and start/end (FrameSelection) are refused by
    # their owners, which the tool builds before loading any model.
    def value(name: str) -> Any:
        return settings[name].value

    for name in ('input', 'output'):
        if not value(name):
            raise OptionsError(f'{name} is required: give {flag(name)} or set {name} in a '
                               'params file')
    if value('clip_overlap') >= value('clip_length'):
        raise OptionsError(f"{_setting_text(settings, 'clip_overlap')} must be below "
                           f"{_setting_text(settings, 'clip_length')}")
    if not re.fullmatch(r'cpu|cuda(:\d+)?', value('device')):
        raise OptionsError(f"device must be 'cpu', 'cuda' or 'cuda:N', got "
                           f"{_setting_text(settings, 'device')}")


def resolve_options(ros: RosArguments = RosArguments(),
                    flags: Optional[Mapping[str, Any]] = None) -> StereoDiffBagOptions:
    """Merge the table defaults, `ros`'s params files and -p rules, then `flags`
    ({option name: value}), and validate; raises OptionsError naming the option and source."""
    settings = {name: _Setting(spec.default, 'default') for name, spec in OPTIONS.items()}
    for path in ros.params_files:
        _layer(settings, read_params_file(path, ros.node_fqn), f'params file {path}')
    for rule, text in ros.param_rules:
        node, _, name = rule.rpartition(':')
        if node and not node_key_matches(node, ros.node_fqn):
            continue  # a rule for another node
        _layer(settings, {name: _yaml_value(name, text)}, f'-p {rule}:={text}')
    for name, value in (flags or {}).items():
        _layer(settings, {name: value}, flag(name))
    _check_combination(settings)
    return StereoDiffBagOptions(**{name: setting.value for name, setting in settings.items()})


def parse_options(argv: Optional[Sequence[str]] = None) -> StereoDiffBagOptions:
    """Options from a command line (default: sys.argv[1:]) of flags and ROS sections.

    `--help` prints the help and exits 0; any bad option prints the usage and one error
    naming the option and its source, and exits 2, as argparse does.
    """
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        own, ros_tokens = split_ros_args(arguments)
    except OptionsError as error:
        parser.error(str(error))
    flags = vars(parser.parse_args(own))
    try:
        return resolve_options(parse_ros_args(ros_tokens), flags)
    except OptionsError as error:
        parser.error(str(error))


# --- per-method requirements ------------------------------------------------------------------

def _required_paths(options: StereoDiffBagOptions, names: Sequence[str]) -> None:
    # Only presence: whether a path holds usable weights is the loaders' to say, and their
    # errors name where to download what is missing.
    for name in names:
        path = getattr(options, name)
        if not path:
            raise OptionsError(f'method {options.method!r} needs {name} ({flag(name)}): '
                               f'{OPTIONS[name].description}')


def check_for_method(options: StereoDiffBagOptions) -> None:
    """Check what the chosen method needs (its topics and weights) before any work starts;
    raises OptionsError saying what to set."""
    if options.method in STEREO_METHODS:
        missing = [name for name in ('left_topic', 'right_topic') if not getattr(options, name)]
        if missing:
            raise OptionsError(
                f'method {options.method!r} reads a stereo pair: set '
                + ' and '.join(f'{name} ({flag(name)})' for name in missing))
    if options.method == 'stereodiff':
        _required_paths(options, ('monst3r_checkpoint', 'depthcrafter_unet', 'svd_folder'))
        if options.sigmas == 'trailing' and options.decode_sample == 'prev_sample':
            LOG.warning("sigmas 'trailing' with decode_sample 'prev_sample' decodes latents "
                        "that keep noise at sigma ~0.7; 'pred_original_sample' avoids it")
    elif options.method == 'sav':
        _required_paths(options, ('sav_checkpoint',))
