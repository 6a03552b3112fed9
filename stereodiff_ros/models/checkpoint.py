"""Loading MonST3R / DUSt3R checkpoints safely and strictly, in the containers they come in.

Two containers exist upstream:

* the training ``.pth``: ``{'model': state_dict, 'args': Namespace(model=<constructor call as
  a string>, ...), ...}``. Upstream unpickles it fully and ``eval``s ``args.model``; here it is
  read with ``weights_only=True`` (only ``argparse.Namespace`` added to the allow-list) and the
  constructor string is parsed with ``ast`` as literal keyword arguments, never evaluated;
* the Hugging Face folder written by ``PyTorchModelHubMixin``: ``config.json`` (the constructor
  keyword arguments) next to ``model.safetensors``.

The architecture comes from the file itself, so a DUSt3R checkpoint of the same architecture loads
the same way as MonST3R's.
"""

import argparse
import ast
from collections import defaultdict
import json
import logging
import math
import os
from pathlib import Path
import re
from typing import Any, Dict, List, Mapping, Tuple, Union

import safetensors.torch
from stereo_any_video_ros.models.checkpoint import (
    CheckpointError, describe_mismatch, unwrap_state_dict)
from stereodiff_ros.models.monst3r.model import AsymmetricCroCo3DStereo
import torch

LOG = logging.getLogger(__name__)

MONST3R_NAME = 'MonST3R_PO-TA-S-W_ViTLarge_BaseDecoder_512_dpt'
# The Google Drive file of Junyi42/monst3r data/download_ckpt.sh.
MONST3R_PTH_URL = 'https://drive.google.com/file/d/1Z1jO_JmfZj0z3bgMvCwqfUhyZ1bIbc9E/view'
MONST3R_HF_URL = f'https://huggingface.co/Junyi42/{MONST3R_NAME}'
DUST3R_HF_URL = 'https://huggingface.co/naver/DUSt3R_ViTLarge_BaseDecoder_512_dpt'
DOWNLOAD_HINT = (
    f'Download {MONST3R_NAME}.pth from {MONST3R_PTH_URL} (the link in Junyi42/monst3r '
    f'data/download_ckpt.sh), or the folder form (config.json + model.safetensors) from '
    f'{MONST3R_HF_URL}; a DUSt3R checkpoint of the same architecture also works '
    f'({DUST3R_HF_URL}). Nothing is downloaded at run time.')
CONFIG_NAME = 'config.json'
WEIGHTS_NAME = 'model.safetensors'
MODEL_CLASS = 'AsymmetricCroCo3DStereo'
# What a re-saved .pth must hold; printed when a file needs more than the weights-only allow-list.
RESAVE_RECIPE = (
    "python3 -c \"import argparse, torch; c = torch.load('{src}', map_location='cpu', "
    "weights_only=False); torch.save({{'model': c['model'], 'args': argparse.Namespace("
    "model=c['args'].model)}}, '{dst}')\"")

PathLike = Union[str, os.PathLike]
StateDict = Dict[str, torch.Tensor]


def load_monst3r(path: PathLike, device: Union[str, torch.device] = 'cpu',
                 dtype: torch.dtype = torch.float32) -> AsymmetricCroCo3DStereo:
    """Build the network a checkpoint describes and fill it strictly; returned in eval mode.

    ``path`` is a training ``.pth``, a folder with ``config.json`` + ``model.safetensors``, or
    that ``model.safetensors`` itself. Raises CheckpointError for anything missing, unsafe,
    unsupported or not matching; no model is returned half-loaded.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        config, state = read_folder(path, path / WEIGHTS_NAME)
    elif path.suffix == '.safetensors':
        config, state = read_folder(path.parent, path)
    else:
        config, state = read_pth(path)
    model = build_model(config, str(path))
    load_state_strict(model, state, str(path))
    return model.to(device=device, dtype=dtype).eval()


def save_monst3r_pretrained(model: AsymmetricCroCo3DStereo, folder: PathLike) -> Path:
    """Write ``config.json`` + ``model.safetensors`` as ``PyTorchModelHubMixin.save_pretrained``
    does, so this loader and upstream's ``from_pretrained`` both read the folder.

    ``config.json`` is ``json.dumps(model.config, sort_keys=True, indent=2)``: tuples become
    lists and infinities become the non-standard ``Infinity`` / ``-Infinity`` tokens, exactly as
    the hub mixin writes them. The weights go through ``safetensors.torch.save_model``, which keeps
    one name per shared tensor (``scratch.layerN_rn``, dropping its ``scratch.layer_rn.{N-1}``
    alias) and records each dropped name in the file's metadata.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_model(model, str(folder / WEIGHTS_NAME))
    (folder / CONFIG_NAME).write_text(json.dumps(model.config, sort_keys=True, indent=2))
    return folder


# --- containers -----------------------------------------------------------------------------


def require_file(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f'MonST3R checkpoint not found: {path}. {DOWNLOAD_HINT}')


def read_pth(path: Path) -> Tuple[Dict[str, Any], StateDict]:
    """The training container; only tensors, plain Python values and Namespace are unpickled."""
    require_file(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        recipe = RESAVE_RECIPE.format(src=path, dst=path.with_suffix('.weights.pth'))
        raise CheckpointError(
            f'cannot read {path} as a weights-only PyTorch file ({type(error).__name__}: '
            f'{load_failure_reason(error)}). Nothing in it was executed. If it is a checkpoint '
            f'you trust, keep only the weights and the model string: {recipe}; or load it once '
            'with the official code and save_pretrained() it as the folder form '
            f'({CONFIG_NAME} + {WEIGHTS_NAME}).') from None
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get('model'), Mapping):
        raise CheckpointError(f"{path} has no 'model' state dict: not a MonST3R/DUSt3R training "
                              f'checkpoint. {DOWNLOAD_HINT}')
    args = checkpoint.get('args')
    if not isinstance(getattr(args, 'model', None), str):
        raise CheckpointError(
            f"{path} has no 'args.model' constructor string, so its architecture is unknown; "
            f'use the folder form ({CONFIG_NAME} + {WEIGHTS_NAME}) for bare weights')
    return parse_model_string(args.model, str(path)), unwrap_state_dict(checkpoint['model'])


def load_failure_reason(error: Exception) -> str:
    """The line of torch's long weights-only message that names what was refused."""
    lines = [line.strip() for line in re.sub(r'\x1b\[[0-9;]*m', '', str(error)).splitlines()
             if line.strip()]
    specific = [line for line in lines if 'GLOBAL' in line or line.startswith('Unsupported')]
    return (specific or lines or [''])[0]


def read_folder(folder: Path, weights: Path) -> Tuple[Dict[str, Any], StateDict]:
    """The hub-mixin folder: constructor kwargs in config.json, weights in safetensors."""
    require_file(weights)
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise CheckpointError(f'{config_path} not found: {weights} needs the {CONFIG_NAME} '
                              f'(constructor arguments) it was published with. {DOWNLOAD_HINT}')
    try:
        config = json.loads(config_path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f'{config_path} is not valid JSON: {error}') from None
    if not isinstance(config, dict):
        raise CheckpointError(f'{config_path} must hold a JSON object of constructor arguments, '
                              f'not a {type(config).__name__}')
    try:
        state = safetensors.torch.load_file(str(weights), device='cpu')
    except Exception as error:  # safetensors raises SafetensorError, OSError, ...
        raise CheckpointError(f'cannot read {weights} as safetensors ({type(error).__name__}: '
                              f'{error})') from None
    # JSON has no tuples; upstream's string form passes img_size / *_mode as tuples.
    return {key: as_tuples(value) for key, value in config.items()}, unwrap_state_dict(state)


def as_tuples(value: Any) -> Any:
    return tuple(as_tuples(item) for item in value) if isinstance(value, list) else value


# --- the constructor string -----------------------------------------------------------------


def parse_model_string(text: str, source: str) -> Dict[str, Any]:
    """Keyword arguments of ``AsymmetricCroCo3DStereo(key=literal, ...)``, without evaluating.

    Literals are numbers, strings, booleans, None, tuples/lists of them, ``inf`` (the name
    upstream's training script imports for these strings), ``-inf`` and ``float('inf')``.
    """
    try:
        tree = ast.parse(text.strip(), mode='eval')
    except SyntaxError as error:
        raise CheckpointError(f'{source}: args.model is not a Python expression ({error.msg}): '
                              f'{text!r}') from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == MODEL_CLASS):
        raise CheckpointError(f'{source}: args.model must be a call to {MODEL_CLASS}(...), '
                              f'got {ast.unparse(call)[:200]!r}')
    if call.args:
        raise CheckpointError(f'{source}: args.model passes positional arguments '
                              f'({", ".join(ast.unparse(arg) for arg in call.args)}); '
                              'only keyword arguments are supported')
    kwargs: Dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise CheckpointError(f'{source}: args.model unpacks **{ast.unparse(keyword.value)}; '
                                  'only literal keyword arguments are supported')
        if keyword.arg in kwargs:
            raise CheckpointError(f'{source}: args.model repeats {keyword.arg}=')
        kwargs[keyword.arg] = literal(keyword.value, keyword.arg, source)
    return kwargs


def literal(node: ast.expr, name: str, source: str) -> Any:
    if isinstance(node, ast.Constant) and not isinstance(node.value, (bytes, complex)) \
            and node.value is not Ellipsis:
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [literal(item, name, source) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Name) and node.id == 'inf':
        return math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = literal(node.operand, name, source)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'float'
            and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        try:
            return float(node.args[0].value)
        except ValueError:
            pass
    raise CheckpointError(
        f'{source}: args.model argument {name}={ast.unparse(node)} is not a literal (only '
        "numbers, strings, booleans, None, tuples/lists, inf and float('inf') are accepted; "
        'the string is parsed, never evaluated)')


# --- model and weights ----------------------------------------------------------------------


def build_model(config: Mapping[str, Any], source: str) -> AsymmetricCroCo3DStereo:
    """The network ``config`` describes; bad values become CheckpointError. The constructor
    itself applies upstream's load-time rewrites (``ManyAR_PatchEmbed`` → ``PatchEmbedDust3R``,
    ``landscape_only=False``), so both containers get them."""
    try:
        return AsymmetricCroCo3DStereo(**config)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f'{source} describes an architecture this package does not '
                              f'support: {error}') from None


def alias_groups(model: torch.nn.Module) -> List[List[str]]:
    """State-dict names that are one tensor in ``model`` (the DPT heads register
    ``scratch.layerN_rn`` also as ``scratch.layer_rn.{N-1}``), found from storage so no naming
    rule is assumed."""
    groups: Dict[Tuple, List[str]] = defaultdict(list)
    for key, value in model.state_dict(keep_vars=True).items():
        if value.numel():
            groups[(value.data_ptr(), value.dtype, tuple(value.shape), value.stride())].append(key)
    return [sorted(keys) for keys in groups.values() if len(keys) > 1]


def complete_state(model: torch.nn.Module, state: StateDict, source: str) -> StateDict:
    """Fill what official files legitimately leave out: ``dec_blocks2`` (upstream copies
    ``dec_blocks`` when a checkpoint has no second decoder, e.g. CroCo weights) and the
    duplicate names of tied tensors (``safetensors`` keeps only one per tensor)."""
    state = dict(state)
    if not any(key.startswith('dec_blocks2.') for key in state):
        copies = {'dec_blocks2.' + key[len('dec_blocks.'):]: value
                  for key, value in state.items() if key.startswith('dec_blocks.')}
        if copies:
            LOG.info('%s has no dec_blocks2: copying %d dec_blocks tensors', source, len(copies))
        state.update(copies)
    for group in alias_groups(model):
        present = [key for key in group if key in state]
        if not present:
            continue  # reported as missing by the strict check
        first = state[present[0]]
        for key in present[1:]:
            if state[key].shape == first.shape and not torch.equal(state[key], first):
                raise CheckpointError(f'{source}: {present[0]} and {key} are one tied tensor in '
                                      'the model but differ in the checkpoint; tied weights '
                                      'must be equal')
        for key in group:
            state.setdefault(key, first)
    return state


def load_state_strict(model: torch.nn.Module, state: StateDict, source: str) -> None:
    """Every key present with its shape, or CheckpointError with a diff and nothing loaded."""
    state = complete_state(model, state, source)
    problem = describe_mismatch(model.state_dict(), state)
    if problem:
        raise CheckpointError(f'{source} does not match {type(model).__name__}:\n{problem}')
    model.load_state_dict(state, strict=True)
