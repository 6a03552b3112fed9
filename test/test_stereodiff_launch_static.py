# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Checks of launch/stereodiff.launch.py, config/stereodiff.yaml and setup.py without ROS.

`launch` and `launch_ros` need a ROS install, so the launch file is read twice without them:
as a syntax tree (which names it imports from where, how the node is declared), and run
against small stand-ins for the launch classes that record what it builds. The stand-ins then
do what launch_ros's Node does with `parameters=[file, dict]`: the dict goes to a temporary
params file under the node's name, and the node gets `--ros-args -r __node:=<name>
--params-file <file> --params-file <temporary file>`, which `parse_options` must read back.
stereo_any_video_ros/stereodiff_bag_options.py stays the single source of names and defaults.
"""
import ast
from pathlib import Path
import runpy
import sys
import types
from typing import Any, Dict, List, Mapping

import pytest

from stereo_any_video_ros.stereodiff_bag_options import (
    OPTIONS, parse_options, StereoDiffBagOptions)
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = 'stereo_any_video_ros'
LAUNCH_FILE = ROOT / 'launch' / 'stereodiff.launch.py'
CONFIG_FILE = ROOT / 'config' / 'stereodiff.yaml'
TOOL_MODULE = ROOT / PACKAGE / 'stereodiff_bag.py'
CONSOLE_SCRIPT = ('stereodiff_bag', 'stereo_any_video_ros.stereodiff_bag:main')
# The launch arguments the tool's users need most; each sets the option of the same name.
EXPECTED_ARGUMENTS = {
    'input', 'output', 'method', 'image_topic', 'left_topic', 'right_topic', 'clip_length',
    'clip_overlap', 'resolution', 'stage1_resolution', 'device', 'precision',
    'monst3r_checkpoint', 'depthcrafter_unet', 'svd_folder'}
# Where each launch name the file uses really lives (launch_ros on Humble, Jazzy and Kilted).
LAUNCH_API = {
    'LaunchDescription': 'launch',
    'DeclareLaunchArgument': 'launch.actions',
    'OpaqueFunction': 'launch.actions',
    'LaunchConfiguration': 'launch.substitutions',
    'PathJoinSubstitution': 'launch.substitutions',
    'Node': 'launch_ros.actions',
    'ParameterValue': 'launch_ros.parameter_descriptions',
    'FindPackageShare': 'launch_ros.substitutions',
}


def _as_argument(value: Any) -> str:
    """How an option default is written as a launch argument default."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, tuple):
        return ' '.join(value)  # a launch argument carries one input path
    return str(value)


def _launch_type(name: str) -> type:
    default = OPTIONS[name].default
    return str if isinstance(default, tuple) else type(default)


# --- the launch file as a syntax tree -----------------------------------------------------------

def _tree() -> ast.Module:
    return ast.parse(LAUNCH_FILE.read_text(), filename=str(LAUNCH_FILE))


def _calls(name: str) -> List[ast.Call]:
    return [node for node in ast.walk(_tree()) if isinstance(node, ast.Call) and
            getattr(node.func, 'id', getattr(node.func, 'attr', None)) == name]


def _keyword(call: ast.Call, name: str) -> ast.AST:
    matches = [keyword.value for keyword in call.keywords if keyword.arg == name]
    assert matches, f'line {call.lineno}: {ast.unparse(call.func)}(...) has no {name}='
    return matches[0]


def test_launch_file_compiles_and_defines_generate_launch_description() -> None:
    functions = {node.name: node for node in _tree().body if isinstance(node, ast.FunctionDef)}
    assert 'generate_launch_description' in functions
    arguments = functions['generate_launch_description'].args
    assert not (arguments.args or arguments.posonlyargs or arguments.kwonlyargs)


def test_launch_names_come_from_the_real_modules() -> None:
    imported = {alias.name: node.module for node in _tree().body
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert imported == LAUNCH_API


def test_node_is_declared_literally() -> None:
    nodes = _calls('Node')
    assert len(nodes) == 1, f'expected one Node(...), found {len(nodes)}'
    node = nodes[0]
    expected = {'package': PACKAGE, 'executable': 'stereodiff_bag', 'name': 'stereodiff_bag',
                'output': 'screen', 'emulate_tty': True}
    for keyword, value in expected.items():
        literal = _keyword(node, keyword)
        assert isinstance(literal, ast.Constant) and literal.value == value, (
            f'Node needs {keyword}={value!r}')
    parameters = _keyword(node, 'parameters')
    assert isinstance(parameters, ast.List) and len(parameters.elts) == 2, (
        'Node needs parameters=[params_file, overrides]: later entries win')
    assert ast.unparse(parameters.elts[0]) == "LaunchConfiguration('params_file')"


def test_overrides_wrap_each_argument_in_a_typed_parameter_value() -> None:
    values = _calls('ParameterValue')
    assert len(values) == 1
    assert ast.unparse(values[0]) == (
        'ParameterValue(LaunchConfiguration(name), value_type=value_type)')


def test_params_file_defaults_to_the_installed_config() -> None:
    [declaration] = [call for call in _calls('DeclareLaunchArgument')
                     if call.args and ast.unparse(call.args[0]) == "'params_file'"]
    assert ast.unparse(_keyword(declaration, 'default_value')) == (
        f"PathJoinSubstitution([FindPackageShare('{PACKAGE}'), 'config', "
        f"'{CONFIG_FILE.name}'])")
    assert CONFIG_FILE.is_file()


# --- the launch file run against stand-ins ------------------------------------------------------

class _Recorded:
    """Any launch class: keeps its arguments."""

    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs


class _LaunchConfiguration(_Recorded):
    def perform(self, context: Mapping[str, str]) -> str:
        return context[self.args[0]]


def _stand_ins() -> Dict[str, types.ModuleType]:
    modules = {name: types.ModuleType(name) for name in set(LAUNCH_API.values())}
    for name, module in LAUNCH_API.items():
        recorder = _LaunchConfiguration if name == 'LaunchConfiguration' else _Recorded
        setattr(modules[module], name, type(name, (recorder,), {}))
    return modules


@pytest.fixture
def launch_file(monkeypatch) -> Dict[str, Any]:
    """The launch file's globals, run with the stand-ins."""
    for name, module in _stand_ins().items():
        monkeypatch.setitem(sys.modules, name, module)
    return runpy.run_path(str(LAUNCH_FILE))


def _declared(launch_file: Dict[str, Any]) -> Dict[str, _Recorded]:
    description = launch_file['generate_launch_description']()
    declarations = [entity for entity in description.args[0]
                    if type(entity).__name__ == 'DeclareLaunchArgument']
    declared = {entity.args[0]: entity for entity in declarations}
    assert len(declared) == len(declarations), 'a launch argument is declared twice'
    return declared


def _run_node(launch_file: Dict[str, Any], given: Mapping[str, str], tmp_path: Path
              ) -> List[str]:
    """The argv launch_ros gives the tool for launch arguments `given` (name: text)."""
    declared = _declared(launch_file)
    context = {name: entity.kwargs['default_value'] for name, entity in declared.items()}
    context['params_file'] = str(CONFIG_FILE)  # what FindPackageShare finds once installed
    assert set(given) <= set(declared)
    context.update(given)
    description = launch_file['generate_launch_description']()
    [opaque] = [entity for entity in description.args[0]
                if type(entity).__name__ == 'OpaqueFunction']
    [node] = opaque.kwargs['function'](context)
    argv = ['--ros-args', '-r', f"__node:={node.kwargs['name']}"]
    for index, entry in enumerate(node.kwargs['parameters']):
        if isinstance(entry, dict):  # launch_ros writes dicts to a file keyed by the node
            path = tmp_path / f'launch_params_{index}'
            values = {name: _evaluated(value, context) for name, value in entry.items()}
            path.write_text(yaml.dump({f"/{node.kwargs['name']}": {'ros__parameters': values}}))
            entry = str(path)
        else:
            entry = entry.perform(context)
        argv += ['--params-file', entry]
    return argv


def _evaluated(value: _Recorded, context: Mapping[str, str]) -> Any:
    """What launch_ros makes of ParameterValue(LaunchConfiguration(x), value_type=t)."""
    text = value.args[0].perform(context)
    value_type = value.kwargs['value_type']
    typed = text if value_type is str else yaml.safe_load(text)
    assert type(typed) is value_type, f'{text!r} is not a {value_type.__name__}'
    return typed


def test_option_arguments_match_the_table(launch_file: Dict[str, Any]) -> None:
    table = launch_file['OPTION_ARGUMENTS']
    assert EXPECTED_ARGUMENTS <= set(table), sorted(EXPECTED_ARGUMENTS - set(table))
    assert set(table) <= set(OPTIONS), sorted(set(table) - set(OPTIONS))
    for name, (default, value_type, description) in table.items():
        assert default == _as_argument(OPTIONS[name].default), name
        assert value_type is _launch_type(name), name
        assert description.endswith('.'), name


def test_declared_arguments_are_the_option_arguments_and_params_file(
        launch_file: Dict[str, Any]) -> None:
    declared = _declared(launch_file)
    assert set(declared) == set(launch_file['OPTION_ARGUMENTS']) | {'params_file'}
    for name, (default, _, _) in launch_file['OPTION_ARGUMENTS'].items():
        assert declared[name].kwargs['default_value'] == default, name
        assert declared[name].kwargs['description'], name


def test_launch_with_defaults_passes_only_the_config(launch_file: Dict[str, Any],
                                                     tmp_path: Path) -> None:
    argv = _run_node(launch_file, {}, tmp_path)
    assert argv[:5] == ['--ros-args', '-r', '__node:=stereodiff_bag', '--params-file',
                        str(CONFIG_FILE)]
    overrides = yaml.safe_load(Path(argv[6]).read_text())
    assert overrides == {'/stereodiff_bag': {'ros__parameters': {}}}


def test_launch_argv_parses_to_the_expected_options(launch_file: Dict[str, Any],
                                                    tmp_path: Path) -> None:
    given = {'input': '/data/run1', 'output': '/data/run1_depth', 'clip_length': '90',
             'clip_overlap': '20', 'device': 'cuda:1', 'image_topic': '/cam/image_raw',
             'monst3r_checkpoint': '/w/monst3r.pth'}
    argv = _run_node(launch_file, given, tmp_path)
    assert argv[:3] == ['--ros-args', '-r', '__node:=stereodiff_bag']
    assert argv[3::2] == ['--params-file', '--params-file']
    options = parse_options(argv)
    expected = {name: spec.default for name, spec in OPTIONS.items()}
    expected.update(given, input=('/data/run1',), clip_length=90, clip_overlap=20)
    assert options == StereoDiffBagOptions(**expected)


def test_arguments_left_at_their_default_keep_the_params_file(
        launch_file: Dict[str, Any], tmp_path: Path) -> None:
    mine = tmp_path / 'mine.yaml'
    mine.write_text('/**:\n  ros__parameters:\n    input: [/a, /b]\n    clip_length: 60\n'
                    '    svd_folder: /w/svd\n    method: sgbm\n')
    argv = _run_node(launch_file, {'params_file': str(mine), 'output': '/o',
                                   'resolution': '512', 'method': 'stereodiff'}, tmp_path)
    options = parse_options(argv)
    assert options.input == ('/a', '/b')
    assert (options.clip_length, options.svd_folder) == (60, '/w/svd')
    assert (options.output, options.resolution) == ('/o', 512)
    # an argument set to its default is not forwarded: the params file's sgbm stays
    assert options.method == 'sgbm'


# --- config/stereodiff.yaml ---------------------------------------------------------------------

def _config() -> Dict[str, Any]:
    document = yaml.safe_load(CONFIG_FILE.read_text())
    assert list(document) == ['/**'] and list(document['/**']) == ['ros__parameters'], (
        f'{CONFIG_FILE.name} must hold exactly /**: ros__parameters:')
    return document['/**']['ros__parameters']


def test_config_lists_every_option_in_table_order() -> None:
    assert list(_config()) == list(OPTIONS)


def test_config_values_are_the_table_defaults() -> None:
    for name, value in _config().items():
        default = OPTIONS[name].default
        if isinstance(default, tuple):
            assert value == list(default), name
        else:
            assert type(value) is type(default) and value == default, (
                f'{name}: {value!r} in {CONFIG_FILE.name}, table default {default!r}')


def test_config_alone_parses_to_the_defaults() -> None:
    options = parse_options(['--input', 'in', '--output', 'out', '--ros-args',
                             '--params-file', str(CONFIG_FILE)])
    defaults = {name: spec.default for name, spec in OPTIONS.items()}
    assert options == StereoDiffBagOptions(**{**defaults, 'input': ('in',), 'output': 'out'})


# --- setup.py -----------------------------------------------------------------------------------

@pytest.fixture
def setup_keywords(monkeypatch) -> Dict[str, Any]:
    """The keywords setup.py passes to setuptools.setup(), run from the package root."""
    import setuptools
    captured: Dict[str, Any] = {}
    monkeypatch.setattr(setuptools, 'setup', captured.update)
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(ROOT / 'setup.py'))
    return captured


def _installed(setup_keywords: Mapping[str, Any]) -> Dict[str, set]:
    installed: Dict[str, set] = {}
    for destination, sources in setup_keywords['data_files']:
        for source in sources:
            installed.setdefault(source, set()).add(destination)
    return installed


@pytest.mark.parametrize('source, destination', [
    ('launch/stereodiff.launch.py', f'share/{PACKAGE}/launch'),
    ('config/stereodiff.yaml', f'share/{PACKAGE}/config'),
])
def test_setup_installs(setup_keywords: Dict[str, Any], source: str, destination: str) -> None:
    assert destination in _installed(setup_keywords).get(source, set())


def test_stereodiff_bag_is_a_console_script(setup_keywords: Dict[str, Any]) -> None:
    scripts = dict(tuple(part.strip() for part in spec.split('='))
                   for spec in setup_keywords['entry_points']['console_scripts'])
    name, target = CONSOLE_SCRIPT
    assert scripts.get(name) == target
    tree = ast.parse(TOOL_MODULE.read_text(), filename=str(TOOL_MODULE))
    assert any(isinstance(node, ast.FunctionDef) and node.name == 'main' for node in tree.body)
