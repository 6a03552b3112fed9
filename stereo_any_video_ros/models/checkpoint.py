"""Loading official checkpoints safely and strictly, in every container they come in."""

import logging
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import torch

LOG = logging.getLogger(__name__)

SAV_CHECKPOINTS_URL = 'https://drive.google.com/drive/folders/1c7L065dcBWhCYYjWYo2edGOG605PnpXv'
VDA_SMALL_URL = ('https://huggingface.co/depth-anything/Video-Depth-Anything-Small/resolve/main/'
                 'video_depth_anything_vits.pth')
VDA_PREFIX = 'depthnet.depthanything.'
# What our own writer stores next to the weights, so a file says what it is.
FORMAT_TAG = 'stereo_any_video_ros.sav'

StateDict = Dict[str, torch.Tensor]


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not fit the model (a bad parameter
    value, so the node reports it like any other)."""


def read_weights(path, source_url: str) -> Mapping:
    """torch.load with ``weights_only`` (no arbitrary code from pickles) and CPU mapping."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f'checkpoint not found: {path}. Download it from {source_url} and '
                              'pass its local path; nothing is downloaded at run time.')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        raise CheckpointError(
            f'cannot read {path} as a weights-only PyTorch file ({type(error).__name__}: '
            f'{error}). If it is a training snapshot you trust, re-save just the weights: '
            "torch.save(torch.load(path, weights_only=False)['model'], 'weights.pth').") from None


def unwrap_state_dict(container: Mapping) -> StateDict:
    """A plain state dict, ``{'model': sd}`` or ``{'state_dict': sd}``; DataParallel's
    ``module.`` prefix is removed."""
    for key in ('model', 'state_dict'):
        if isinstance(container.get(key), Mapping):
            container = container[key]
            break
    state = {}
    for key, value in container.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f'checkpoint entry {key!r} is a {type(value).__name__}, '
                                  'not a tensor: this is not a state dict')
        state[key[len('module.'):] if key.startswith('module.') else key] = value
    return state


def describe_mismatch(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor],
                      limit: int = 12) -> Optional[str]:
    """A readable diff of missing, unexpected and wrong-shape keys, or None if they fit."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong_shape = sorted(key for key in set(expected) & set(found)
                         if tuple(expected[key].shape) != tuple(found[key].shape))
    if not (missing or unexpected or wrong_shape):
        return None
    lines: List[str] = []

    def section(title: str, keys: List[str], render) -> None:
        if keys:
            lines.append(f'{title} ({len(keys)}):')
            lines.extend(f'  {render(key)}' for key in keys[:limit])
            if len(keys) > limit:
                lines.append(f'  ... and {len(keys) - limit} more')

    section('missing keys', missing, lambda k: f'{k} {tuple(expected[k].shape)}')
    section('unexpected keys', unexpected, lambda k: f'{k} {tuple(found[k].shape)}')
    section('wrong shapes', wrong_shape,
            lambda k: f'{k}: checkpoint {tuple(found[k].shape)}, model {tuple(expected[k].shape)}')
    return '\n'.join(lines)


def load_strict(model: torch.nn.Module, state: StateDict, name: str) -> None:
    """load_state_dict(strict=True), with a diff that says what does not fit."""
    problem = describe_mismatch(model.state_dict(), state)
    if problem:
        raise CheckpointError(f'{name} does not match {type(model).__name__}:\n{problem}')
    model.load_state_dict(state, strict=True)


def load_sav_weights(model: torch.nn.Module, checkpoint, vda_checkpoint=None) -> None:
    """Fill a StereoAnyVideo from an official (or our own) checkpoint, strictly.

    The official SAV files already hold the VDA-S weights. ``vda_checkpoint`` (the official
    ``video_depth_anything_vits.pth``) supplies them for a SAV file that lacks them, and wins
    when both have them.
    """
    state = unwrap_state_dict(read_weights(checkpoint, SAV_CHECKPOINTS_URL))
    if vda_checkpoint:
        vda = unwrap_state_dict(read_weights(vda_checkpoint, VDA_SMALL_URL))
        replaced = sum(VDA_PREFIX + key in state for key in vda)
        if replaced:
            LOG.info('%d VDA tensors of %s replaced by %s', replaced, checkpoint, vda_checkpoint)
        state.update({VDA_PREFIX + key: value for key, value in vda.items()})
    load_strict(model, {key: value.float() for key, value in state.items()}, str(checkpoint))


def save_sav_weights(model: torch.nn.Module, path) -> Path:
    """Write fp32 weights as ``{'format': ..., 'model': state_dict}``, readable by the loader
    above and by the official code's ``{'model': ...}`` branch."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().float().cpu().contiguous()
             for key, value in model.state_dict().items()}
    torch.save({'format': FORMAT_TAG, 'model': state}, path)
    return path
