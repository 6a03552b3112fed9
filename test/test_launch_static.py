# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Static checks of launch/sav.launch.py, config/sav.yaml, config/sav.rviz and setup.py.

`launch` and `launch_ros` need a ROS install, so nothing here imports them: the launch file
and setup.py are read as Python syntax trees and compared with the parameter table in
stereo_any_video_ros/params.py, which stays the single source of names, defaults and types.
"""
import ast
import glob
import os
from pathlib import Path

import pytest

from stereo_any_video_ros.params import PARAMETERS
from stereo_any_video_ros.stereodiff_bag_options import flatten_parameters
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = 'stereo_any_video_ros'
LAUNCH_FILE = ROOT / 'launch' / 'sav.launch.py'
PARAMS_FILE = ROOT / 'config' / 'sav.yaml'
RVIZ_FILE = ROOT / 'config' / 'sav.rviz'
SETUP_FILE = ROOT / 'setup.py'
NODE_MODULE = ROOT / PACKAGE / 'sav_node.py'
CONSOLE_SCRIPT = 'sav_node = stereo_any_video_ros.sav_node:main'

# Parameters every ROS node has; the launch file may set them although the table does not.
ROS_BUILTIN_PARAMETERS = {'use_sim_time': False}
NODE_INPUTS = {
    'left/image_rect': ('left_namespace', '/image_rect'),
    'left/camera_info': ('left_namespace', '/camera_info'),
    'right/image_rect': ('right_namespace', '/image_rect'),
    'right/camera_info': ('right_namespace', '/camera_info'),
}
FIXED_DEFAULTS = {
    'namespace': 'stereo',
    'left_namespace': 'left',
    'right_namespace': 'right',
    'use_sim_time': 'false',
    'rviz': 'false',
}


# --- Reading the launch file ------------------------------------------------------------------

def _launch_tree():
    return ast.parse(LAUNCH_FILE.read_text(), filename=str(LAUNCH_FILE))


def _func_name(call):
    """`f` for f(...) and `a.b.f(...)` alike."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _calls(tree, name):
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _func_name(node) == name]


def _keyword(call, name):
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _str(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _launch_configuration(node):
    """Return x for a literal LaunchConfiguration('x') node, else None."""
    if isinstance(node, ast.Call) and _func_name(node) == 'LaunchConfiguration' and node.args:
        return _str(node.args[0])
    return None


def _declared():
    """{argument name: DeclareLaunchArgument call}."""
    declared = {}
    for call in _calls(_launch_tree(), 'DeclareLaunchArgument'):
        name_node = call.args[0] if call.args else _keyword(call, 'name')
        name = _str(name_node)
        assert name is not None, (
            f'line {call.lineno}: DeclareLaunchArgument needs a literal name')
        assert name not in declared, f'launch argument {name!r} is declared twice'
        declared[name] = call
    return declared


def _default(name):
    """Return the literal default_value of a declared argument, else None."""
    call = _declared()[name]
    node = _keyword(call, 'default_value')
    if node is None and len(call.args) > 1:
        node = call.args[1]
    return _str(node)


def _nodes(executable):
    return [call for call in _calls(_launch_tree(), 'Node')
            if _str(_keyword(call, 'executable')) == executable]


def _sav_node():
    nodes = _nodes('sav_node')
    assert len(nodes) == 1, f"expected one Node(executable='sav_node'), found {len(nodes)}"
    return nodes[0]


def _parameters():
    node = _keyword(_sav_node(), 'parameters')
    assert isinstance(node, ast.List), 'sav_node parameters= must be a literal list'
    return node.elts


def _overrides():
    """{parameter: (launch argument, value_type name)} from the dicts in parameters=[...]."""
    overrides = {}
    for entry in _parameters():
        if not isinstance(entry, ast.Dict):
            continue
        for key, value in zip(entry.keys, entry.values):
            name = _str(key)
            assert name is not None, f'line {entry.lineno}: parameter names must be literals'
            assert isinstance(value, ast.Call) and _func_name(value) == 'ParameterValue', (
                f'{name}: wrap the launch argument in ParameterValue(..., value_type=...)')
            argument = _launch_configuration(value.args[0]) if value.args else None
            assert argument is not None, (
                f"{name}: ParameterValue must wrap LaunchConfiguration('<argument>')")
            value_type = _keyword(value, 'value_type')
            assert isinstance(value_type, ast.Name), f'{name}: give value_type=int/bool/...'
            overrides[name] = (argument, value_type.id)
    return overrides


def _table_default(name):
    if name in PARAMETERS:
        return PARAMETERS[name].default
    return ROS_BUILTIN_PARAMETERS[name]


def _as_argument(value):
    """How a parameter default is written as a launch argument default."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


# --- Reading setup.py -------------------------------------------------------------------------

class _Unsupported(Exception):
    pass


class _SetupReader:
    """Evaluate the plain expressions setup.py files use, without running setup.py."""

    def __init__(self):
        assert SETUP_FILE.is_file(), f'{SETUP_FILE} does not exist'
        tree = ast.parse(SETUP_FILE.read_text(), filename=str(SETUP_FILE))
        self.names = {}
        for statement in tree.body:
            if (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and
                    isinstance(statement.targets[0], ast.Name)):
                try:
                    self.names[statement.targets[0].id] = self.eval(statement.value)
                except _Unsupported:
                    pass
        setups = _calls(tree, 'setup')
        assert len(setups) == 1, f'setup.py should call setup() once, found {len(setups)}'
        self.setup = setups[0]

    def keyword(self, name):
        node = _keyword(self.setup, name)
        assert node is not None, f'setup.py: setup() has no {name}='
        try:
            return self.eval(node)
        except _Unsupported as error:
            pytest.fail(f'setup.py: cannot read {name}= statically: {error}')

    def eval(self, node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise _Unsupported(f'unknown name {node.id}')
            return self.names[node.id]
        if isinstance(node, ast.List):
            return [self.eval(item) for item in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self.eval(item) for item in node.elts)
        if isinstance(node, ast.Dict):
            return {self.eval(key): self.eval(value)
                    for key, value in zip(node.keys, node.values)}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.eval(node.left) + self.eval(node.right)
        if isinstance(node, ast.JoinedStr):
            return ''.join(str(self.eval(part.value if isinstance(part, ast.FormattedValue)
                                         else part)) for part in node.values)
        if isinstance(node, ast.Call) and not node.keywords:
            args = [self.eval(arg) for arg in node.args]
            name = _func_name(node)
            if name == 'join':
                return os.path.join(*args)
            if name == 'glob':
                return sorted(os.path.relpath(path, ROOT)
                              for path in glob.glob(os.path.join(str(ROOT), *args)))
            if name == 'str' and len(args) == 1:
                return str(args[0])
        raise _Unsupported(ast.dump(node))

    def installed(self):
        """{source file relative to the package root: {install directories}}."""
        installed = {}
        for entry in self.keyword('data_files'):
            destination, files = entry
            for path in files:
                installed.setdefault(os.path.normpath(path), set()).add(
                    os.path.normpath(destination))
        return installed

    def console_scripts(self):
        """{script name: 'module:function'}."""
        entry_points = self.keyword('entry_points')
        assert 'console_scripts' in entry_points, 'setup.py: no console_scripts entry points'
        scripts = {}
        for spec in entry_points['console_scripts']:
            name, _, target = spec.partition('=')
            scripts[name.strip()] = target.strip()
        return scripts


# --- Launch file ------------------------------------------------------------------------------

def test_launch_file_compiles_and_defines_generate_launch_description():
    source = LAUNCH_FILE.read_text()
    compile(source, str(LAUNCH_FILE), 'exec')
    functions = {node.name: node for node in ast.parse(source).body
                 if isinstance(node, ast.FunctionDef)}
    assert 'generate_launch_description' in functions, (
        f'{LAUNCH_FILE.name} defines no top-level generate_launch_description()')
    arguments = functions['generate_launch_description'].args
    assert not (arguments.args or arguments.posonlyargs or arguments.kwonlyargs), (
        'generate_launch_description() must take no arguments')


def test_launch_configurations_name_literal_arguments():
    for call in _calls(_launch_tree(), 'LaunchConfiguration'):
        assert _launch_configuration(call) is not None, (
            f'line {call.lineno}: LaunchConfiguration needs a literal name for these checks')


def test_every_launch_configuration_is_declared():
    used = {_launch_configuration(call) for call in _calls(_launch_tree(), 'LaunchConfiguration')}
    undeclared = used - set(_declared())
    assert not undeclared, f'LaunchConfiguration of undeclared arguments: {sorted(undeclared)}'


def test_every_declared_argument_is_used():
    used = {_launch_configuration(call) for call in _calls(_launch_tree(), 'LaunchConfiguration')}
    unused = set(_declared()) - used
    assert not unused, f'declared but never used launch arguments: {sorted(unused)}'


def test_every_argument_has_a_description_and_default():
    for name, call in _declared().items():
        description = _keyword(call, 'description')
        assert description is not None, f'launch argument {name!r} has no description'
        assert _keyword(call, 'default_value') is not None, (
            f'launch argument {name!r} has no default_value')


def test_fixed_argument_defaults():
    for name, expected in FIXED_DEFAULTS.items():
        assert _default(name) == expected, (
            f'launch argument {name!r} should default to {expected!r}, got {_default(name)!r}')


def test_params_file_defaults_to_installed_sav_yaml():
    tree = _launch_tree()
    lookups = [_str(call.args[0]) for call in _calls(tree, 'get_package_share_directory')
               if call.args]
    assert lookups and set(lookups) == {PACKAGE}, (
        f'get_package_share_directory should look up {PACKAGE!r}, got {lookups}')
    default = _keyword(_declared()['params_file'], 'default_value')
    assert isinstance(default, ast.Call) and _func_name(default) == 'join', (
        "params_file should default to os.path.join(<share>, 'config', 'sav.yaml')")
    parts = [_str(arg) for arg in default.args[1:]]
    assert parts == ['config', 'sav.yaml'], (
        f'params_file default should end in config/sav.yaml, got {parts}')


def test_sav_node_identity():
    node = _sav_node()
    expected = {'package': PACKAGE, 'executable': 'sav_node', 'name': 'sav_node',
                'output': 'screen'}
    for keyword, value in expected.items():
        assert _str(_keyword(node, keyword)) == value, f'sav_node Node needs {keyword}={value!r}'
    assert _launch_configuration(_keyword(node, 'namespace')) == 'namespace', (
        "sav_node Node needs namespace=LaunchConfiguration('namespace')")


def test_params_file_comes_before_overrides():
    entries = _parameters()
    assert entries and _launch_configuration(entries[0]) == 'params_file', (
        "parameters=[...] must start with LaunchConfiguration('params_file')")
    assert any(isinstance(entry, ast.Dict) for entry in entries[1:]), (
        'the launch-argument overrides must follow params_file so that they win')


def test_override_keys_are_node_parameters():
    unknown = set(_overrides()) - set(PARAMETERS) - set(ROS_BUILTIN_PARAMETERS)
    assert not unknown, f'overrides of parameters sav_node does not have: {sorted(unknown)}'


def test_override_arguments_share_the_parameter_name():
    for name, (argument, _) in _overrides().items():
        assert argument == name, f'parameter {name!r} is set from launch argument {argument!r}'


def test_override_argument_defaults_equal_table_defaults():
    for name, (argument, _) in _overrides().items():
        expected = _as_argument(_table_default(name))
        assert _default(argument) == expected, (
            f'launch argument {argument!r} defaults to {_default(argument)!r}, '
            f'but the parameter {name!r} defaults to {expected!r}')


def test_override_value_types_match_table():
    for name, (_, value_type) in _overrides().items():
        expected = type(_table_default(name)).__name__
        assert value_type == expected, (
            f'parameter {name!r} is passed as value_type={value_type}, the table has {expected}')


def test_remappings_cover_exactly_the_four_inputs():
    node = _keyword(_sav_node(), 'remappings')
    assert isinstance(node, ast.List), 'sav_node remappings= must be a literal list'
    found = {}
    for rule in node.elts:
        assert isinstance(rule, ast.Tuple) and len(rule.elts) == 2, (
            f'line {rule.lineno}: a remapping is a (from, to) tuple')
        source, target = rule.elts
        assert isinstance(target, ast.List) and len(target.elts) == 2, (
            f"line {rule.lineno}: remap to [LaunchConfiguration('<side>_namespace'), "
            "'/<topic>']")
        found[_str(source)] = (_launch_configuration(target.elts[0]), _str(target.elts[1]))
    assert found == NODE_INPUTS, f'remappings {found} should be {NODE_INPUTS}'


def test_rviz_is_optional_and_loads_sav_rviz():
    nodes = _nodes('rviz2')
    assert len(nodes) == 1, f"expected one Node(executable='rviz2'), found {len(nodes)}"
    node = nodes[0]
    condition = _keyword(node, 'condition')
    assert (isinstance(condition, ast.Call) and _func_name(condition) == 'IfCondition' and
            _launch_configuration(condition.args[0]) == 'rviz'), (
        "rviz2 must start only with condition=IfCondition(LaunchConfiguration('rviz'))")
    arguments = _keyword(node, 'arguments')
    assert isinstance(arguments, ast.List), 'rviz2 arguments= must be a literal list'
    flags = [_str(item) for item in arguments.elts]
    assert '-d' in flags and '-f' in flags, f'rviz2 needs -d <config> and -f <frame>: {flags}'
    config = arguments.elts[flags.index('-d') + 1]
    assert 'sav.rviz' in {_str(arg) for arg in getattr(config, 'args', [])}, (
        'rviz2 -d should name config/sav.rviz')
    frame = arguments.elts[flags.index('-f') + 1]
    assert _launch_configuration(frame) == 'fixed_frame', (
        "rviz2 -f should take LaunchConfiguration('fixed_frame')")


def _named_config_files():
    names = {_str(node) for node in ast.walk(_launch_tree())}
    return sorted(name for name in names
                  if name and name.endswith(('.yaml', '.rviz')))


def test_config_files_named_by_launch_exist():
    named = _named_config_files()
    assert set(named) >= {'sav.yaml', 'sav.rviz'}, f'launch file names {named}'
    missing = [name for name in named if not (ROOT / 'config' / name).is_file()]
    assert not missing, f'launch file names config files that do not exist: {missing}'


# --- setup.py ---------------------------------------------------------------------------------

def test_sav_node_is_a_console_script():
    scripts = _SetupReader().console_scripts()
    name, _, target = CONSOLE_SCRIPT.partition(' = ')
    assert scripts.get(name) == target, (
        f'setup.py console_scripts should contain {CONSOLE_SCRIPT!r}, has {scripts}')


def test_sav_node_module_exists():
    assert NODE_MODULE.is_file(), f'{NODE_MODULE} (the sav_node entry point) does not exist'
    tree = ast.parse(NODE_MODULE.read_text(), filename=str(NODE_MODULE))
    assert any(isinstance(node, ast.FunctionDef) and node.name == 'main' for node in tree.body), (
        f'{NODE_MODULE.name} defines no top-level main()')


def test_setup_installs_config_files():
    installed = _SetupReader().installed()
    destination = os.path.join('share', PACKAGE, 'config')
    for name in _named_config_files():
        source = os.path.join('config', name)
        assert destination in installed.get(source, set()), (
            f'setup.py data_files does not install {source} into {destination} '
            f'(installs {sorted(installed)})')


def test_setup_installs_launch_file():
    installed = _SetupReader().installed()
    source = os.path.relpath(LAUNCH_FILE, ROOT)
    destination = os.path.join('share', PACKAGE, 'launch')
    assert destination in installed.get(source, set()), (
        f'setup.py data_files does not install {source} into {destination}')


# --- config/sav.yaml --------------------------------------------------------------------------

def _yaml_parameters():
    document = yaml.safe_load(PARAMS_FILE.read_text())
    assert isinstance(document, dict) and list(document) == ['/**'], (
        f'{PARAMS_FILE.name} must have exactly one top-level key, /**')
    assert isinstance(document['/**'], dict) and list(document['/**']) == ['ros__parameters'], (
        f'{PARAMS_FILE.name}: /** must hold exactly ros__parameters')
    return flatten_parameters(document['/**']['ros__parameters'])


def test_params_yaml_structure():
    _yaml_parameters()


def test_params_yaml_names_match_table():
    names = set(_yaml_parameters())
    missing = set(PARAMETERS) - names
    extra = names - set(PARAMETERS)
    assert not missing and not extra, (
        f'{PARAMS_FILE.name}: missing {sorted(missing)}, unknown {sorted(extra)}')


def test_params_yaml_values_equal_table_defaults():
    values = _yaml_parameters()
    for name, spec in PARAMETERS.items():
        if name not in values:
            continue  # reported by test_params_yaml_names_match_table
        value = values[name]
        assert type(value) is type(spec.default) and value == spec.default, (
            f'{PARAMS_FILE.name}: {name} is {value!r} ({type(value).__name__}), the table '
            f'default is {spec.default!r} ({type(spec.default).__name__})')


# --- config/sav.rviz --------------------------------------------------------------------------

def _rviz_displays():
    document = yaml.safe_load(RVIZ_FILE.read_text())
    manager = document['Visualization Manager']
    return document, manager['Displays']


def _topic(display):
    topic = display.get('Topic')
    return topic.get('Value') if isinstance(topic, dict) else topic


def test_rviz_config_loads():
    document, displays = _rviz_displays()
    assert isinstance(displays, list) and displays, f'{RVIZ_FILE.name} has no displays'
    for display in displays:
        name, display_class = display.get('Name'), display.get('Class')
        assert str(display_class).startswith('rviz_default_plugins/'), (
            f'{RVIZ_FILE.name}: display {name!r} has class {display_class!r}')
    fixed_frame = document['Visualization Manager']['Global Options']['Fixed Frame']
    assert fixed_frame == _default('fixed_frame'), (
        f'{RVIZ_FILE.name} fixed frame {fixed_frame!r} differs from the launch default')


@pytest.mark.parametrize('display_class, topic', [
    ('rviz_default_plugins/PointCloud2', 'points2'),
    ('rviz_default_plugins/Image', 'depth/image_rect'),
])
def test_rviz_shows_outputs(display_class, topic):
    _, displays = _rviz_displays()
    namespace = FIXED_DEFAULTS['namespace']
    expected = f'/{namespace}/{topic}'
    topics = [_topic(display) for display in displays if display.get('Class') == display_class]
    assert expected in topics, (
        f'{RVIZ_FILE.name}: no {display_class} display on {expected} (has {topics})')
