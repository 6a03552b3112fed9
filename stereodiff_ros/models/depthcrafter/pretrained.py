# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Loading DepthCrafter's stage-2 components from local Hugging Face folders, never the hub.

Two downloads make a DepthCrafter setup, as in the official ``DepthCrafterInference``:

* the UNet folder of ``tencent/DepthCrafter``: ``config.json`` +
  ``diffusion_pytorch_model.safetensors``;
* the ``stabilityai/stable-video-diffusion-img2vid-xt`` folder (gated), of which DepthCrafter
  uses ``vae/``, ``image_encoder/``, ``scheduler/scheduler_config.json`` and
  ``feature_extractor/preprocessor_config.json`` (for the CLIP mean/std only); its ``unet/`` is
  SVD's and is not read.

Like the official code (``variant="fp16"``), a component's ``*.fp16.safetensors`` file is used
when the folder has one, else the plain file. Every file is checked, and the architectures
checked against each other from their configs, before any weights are read; anything missing or
mismatched raises one ``DepthCrafterCheckpointError`` that says what to download.
"""

import inspect
import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import diffusers
from diffusers import AutoencoderKLTemporalDecoder
from stereo_any_video_ros.models.checkpoint import CheckpointError
from stereodiff_ros.models.depthcrafter.conditioning import CLIP_SIZE
from stereodiff_ros.models.depthcrafter.config import (
    DepthCrafterComponents, OPENAI_CLIP_MEAN, OPENAI_CLIP_PREPROCESSOR_CONFIG, OPENAI_CLIP_STD)
from stereodiff_ros.models.depthcrafter.unet import (
    DiffusersUNetSpatioTemporalConditionModelDepthCrafter)
import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

LOG = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

UNET_REPO = 'tencent/DepthCrafter'
SVD_REPO = 'stabilityai/stable-video-diffusion-img2vid-xt'
FP16_VARIANT = 'fp16'
CONFIG_NAME = 'config.json'
DIFFUSERS_WEIGHTS = 'diffusion_pytorch_model.safetensors'
TRANSFORMERS_WEIGHTS = 'model.safetensors'
VAE_FOLDER = 'vae'
CLIP_FOLDER = 'image_encoder'
SCHEDULER_FILE = Path('scheduler') / 'scheduler_config.json'
PREPROCESSOR_FILE = Path('feature_extractor') / 'preprocessor_config.json'
MODEL_INDEX = 'model_index.json'
UNET_CLASS_NAMES = ('UNetSpatioTemporalConditionModel',
                    DiffusersUNetSpatioTemporalConditionModelDepthCrafter.__name__)
LATENT_CHANNELS = 4  # [noisy depth latent, RGB latent] make the UNet's 8 input channels


class DepthCrafterCheckpointError(CheckpointError):
    """A DepthCrafter/SVD folder that is missing files or does not hold compatible models."""


def unet_download_hint(unet_path: Path) -> str:
    return (f'The UNet is the {UNET_REPO} model (https://huggingface.co/{UNET_REPO}); download '
            f'it with `hf download {UNET_REPO} --local-dir {unet_path}`.')


def svd_download_hint(svd_path: Path) -> str:
    return (f'The VAE, CLIP image encoder, scheduler and feature extractor come from {SVD_REPO} '
            f'(https://huggingface.co/{SVD_REPO}), a gated model: accept its licence on that '
            'page and log in (`hf auth login`) first, then download the parts DepthCrafter uses '
            f"with `hf download {SVD_REPO} --include 'vae/*' 'image_encoder/*' 'scheduler/*' "
            f"'feature_extractor/*' '{MODEL_INDEX}' --local-dir {svd_path}`.")


def with_variant(filename: str, variant: Optional[str]) -> str:
    """diffusers/transformers naming: the variant goes before the last extension."""
    if variant is None:
        return filename
    stem, extension = filename.rsplit('.', 1)
    return f'{stem}.{variant}.{extension}'


def weights_variant(folder: Path, weights_name: str) -> Tuple[bool, Optional[str]]:
    """(found, variant): the fp16 variant when the folder has it, else the plain weights; a
    single file or a sharded index either way."""
    index_name = f'{weights_name}.index.json'
    for variant in (FP16_VARIANT, None):
        names = (with_variant(weights_name, variant), with_variant(index_name, variant))
        if any((folder / name).is_file() for name in names):
            return True, variant
    return False, None


def missing_files(folder: Path, files: Sequence[PathLike],
                  weights: Sequence[Tuple[Path, str]]) -> List[str]:
    """Descriptions of what is absent under ``folder``: plain files, then weight files."""
    if not folder.is_dir():
        return [f"{folder} ({'not a folder' if folder.exists() else 'no such folder'})"]
    missing = [str(folder / name) for name in files if not (folder / name).is_file()]
    for subfolder, weights_name in weights:
        if not weights_variant(subfolder, weights_name)[0]:
            fp16_name = with_variant(weights_name, FP16_VARIANT)
            missing.append(f'{subfolder / weights_name} (or {fp16_name})')
    return missing


def check_files(unet_path: Path, svd_path: Path) -> None:
    unet_missing = missing_files(unet_path, [CONFIG_NAME], [(unet_path, DIFFUSERS_WEIGHTS)])
    svd_missing = missing_files(
        svd_path,
        [Path(VAE_FOLDER) / CONFIG_NAME, Path(CLIP_FOLDER) / CONFIG_NAME, SCHEDULER_FILE,
         PREPROCESSOR_FILE],
        [(svd_path / VAE_FOLDER, DIFFUSERS_WEIGHTS),
         (svd_path / CLIP_FOLDER, TRANSFORMERS_WEIGHTS)])
    if unet_missing or svd_missing:
        hints = ([unet_download_hint(unet_path)] if unet_missing else []) + (
            [svd_download_hint(svd_path)] if svd_missing else [])
        listing = ''.join(f'\n  - {item}' for item in unet_missing + svd_missing)
        raise DepthCrafterCheckpointError(
            f'DepthCrafter model files not found:{listing}\n' + ' '.join(hints)
            + ' Nothing is downloaded at run time.')


def read_json(path: Path) -> Dict[str, Any]:
    try:
        content = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise DepthCrafterCheckpointError(f'{path} is not valid JSON: {error}') from None
    if not isinstance(content, dict):
        raise DepthCrafterCheckpointError(
            f'{path} must hold a JSON object, not a {type(content).__name__}')
    return content


def config_value(model_class: type, config: Dict[str, Any], key: str) -> Any:
    """A diffusers config entry, or the constructor default that applies when it is absent."""
    if key in config:
        return config[key]
    return inspect.signature(model_class.__init__).parameters[key].default


def check_architectures(unet_path: Path, svd_path: Path) -> None:
    """The UNet, VAE and CLIP configs describe models that work together in DepthCrafter."""
    unet_file = unet_path / CONFIG_NAME
    unet_config = read_json(unet_file)
    unet_class = DiffusersUNetSpatioTemporalConditionModelDepthCrafter

    def unet_value(key: str) -> Any:
        return config_value(unet_class, unet_config, key)

    class_name = unet_config.get('_class_name', UNET_CLASS_NAMES[0])
    if class_name not in UNET_CLASS_NAMES:
        raise DepthCrafterCheckpointError(
            f'{unet_file} describes a {class_name}, not a spatio-temporal SVD/DepthCrafter UNet. '
            + unet_download_hint(unet_path))
    if unet_value('in_channels') != 2 * LATENT_CHANNELS:
        raise DepthCrafterCheckpointError(
            f"{unet_file} has in_channels={unet_value('in_channels')}; DepthCrafter's UNet takes "
            f'{2 * LATENT_CHANNELS} (noisy depth latent + RGB latent). '
            + unet_download_hint(unet_path))
    vae_file = svd_path / VAE_FOLDER / CONFIG_NAME
    latent_channels = config_value(AutoencoderKLTemporalDecoder, read_json(vae_file),
                                   'latent_channels')
    if not latent_channels == unet_value('out_channels') == LATENT_CHANNELS:
        raise DepthCrafterCheckpointError(
            f'the VAE ({vae_file}: latent_channels={latent_channels}) and the UNet ({unet_file}: '
            f"out_channels={unet_value('out_channels')}) must both have {LATENT_CHANNELS} latent "
            'channels, as SVD-xt and DepthCrafter do')
    clip_file = svd_path / CLIP_FOLDER / CONFIG_NAME
    clip_config = CLIPVisionConfig.from_dict(read_json(clip_file))
    if clip_config.image_size != CLIP_SIZE:
        raise DepthCrafterCheckpointError(
            f'{clip_file} has image_size={clip_config.image_size}, but DepthCrafter feeds CLIP '
            f'{CLIP_SIZE}×{CLIP_SIZE} frames; use the image encoder of {SVD_REPO}')
    cross_attention = unet_value('cross_attention_dim')
    widths = set(cross_attention) if isinstance(cross_attention, list) else {cross_attention}
    if widths != {clip_config.projection_dim}:
        raise DepthCrafterCheckpointError(
            f'the CLIP embeddings ({clip_file}: projection_dim={clip_config.projection_dim}) do '
            f'not fit the UNet cross-attention ({unet_file}: cross_attention_dim='
            f'{cross_attention}); the image encoder of {SVD_REPO} matches {UNET_REPO}')


def clip_normalisation(path: Path) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    """image_mean/std of the feature extractor, CLIPImageProcessor's OpenAI defaults for
    whichever the file leaves out (as CLIPImageProcessor itself would)."""
    config = read_json(path)
    mean = config.get('image_mean', OPENAI_CLIP_MEAN)
    std = config.get('image_std', OPENAI_CLIP_STD)
    if 'image_mean' not in config or 'image_std' not in config:
        LOG.info('%s lacks image_mean/image_std: using the OpenAI CLIP values', path)
    for name, values in (('image_mean', mean), ('image_std', std)):
        if len(values) != 3:
            raise DepthCrafterCheckpointError(f'{path}: {name} needs 3 RGB values, got {values}')
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def load_depthcrafter(unet_path: PathLike, svd_path: PathLike,
                      dtype: torch.dtype = torch.float32,
                      device: Union[str, torch.device] = 'cpu') -> DepthCrafterComponents:
    """The DepthCrafter UNet from ``unet_path`` and the SVD-xt VAE, CLIP image encoder,
    scheduler config and CLIP normalisation from ``svd_path``, in ``dtype`` on ``device``,
    eval mode. Only local files are read; DepthCrafterCheckpointError says what is missing."""
    unet_path, svd_path = Path(unet_path).expanduser(), Path(svd_path).expanduser()
    check_files(unet_path, svd_path)
    check_architectures(unet_path, svd_path)
    local = dict(local_files_only=True, use_safetensors=True)
    unet = DiffusersUNetSpatioTemporalConditionModelDepthCrafter.from_pretrained(
        unet_path, variant=weights_variant(unet_path, DIFFUSERS_WEIGHTS)[1], torch_dtype=dtype,
        low_cpu_mem_usage=True, **local)
    vae_path = svd_path / VAE_FOLDER
    vae = AutoencoderKLTemporalDecoder.from_pretrained(
        vae_path, variant=weights_variant(vae_path, DIFFUSERS_WEIGHTS)[1], torch_dtype=dtype,
        low_cpu_mem_usage=True, **local)
    clip_path = svd_path / CLIP_FOLDER
    # transformers 5 always builds on the meta device first (no low_cpu_mem_usage switch).
    image_encoder = CLIPVisionModelWithProjection.from_pretrained(
        clip_path, variant=weights_variant(clip_path, TRANSFORMERS_WEIGHTS)[1], dtype=dtype,
        **local)
    image_mean, image_std = clip_normalisation(svd_path / PREPROCESSOR_FILE)
    LOG.info('DepthCrafter loaded: UNet %s, SVD components %s (%s, %s)', unet_path, svd_path,
             dtype, device)
    return DepthCrafterComponents(
        unet=unet.to(device).eval(), vae=vae.to(device).eval(),
        image_encoder=image_encoder.to(device).eval(),
        scheduler_config=read_json(svd_path / SCHEDULER_FILE),
        image_mean=image_mean, image_std=image_std)


def save_depthcrafter(components: DepthCrafterComponents, unet_dir: PathLike, svd_dir: PathLike,
                      variant: Optional[str] = None) -> None:
    """Write the two folders ``load_depthcrafter`` reads, in the Hugging Face layout: the UNet
    in ``unet_dir``; ``vae/``, ``image_encoder/``, ``scheduler/``, ``feature_extractor/`` and a
    ``model_index.json`` in ``svd_dir``, so diffusers' own pipelines also load ``svd_dir`` when
    given the UNet. ``variant`` only names the weight files (``fp16`` → ``*.fp16.safetensors``);
    cast the models first for fp16 data, as the published variant files hold."""
    unet_dir, svd_dir = Path(unet_dir), Path(svd_dir)
    components.unet.save_pretrained(unet_dir, variant=variant, safe_serialization=True)
    components.vae.save_pretrained(svd_dir / VAE_FOLDER, variant=variant,
                                   safe_serialization=True)
    components.image_encoder.save_pretrained(svd_dir / CLIP_FOLDER, variant=variant)
    preprocessor = dict(OPENAI_CLIP_PREPROCESSOR_CONFIG, image_mean=list(components.image_mean),
                        image_std=list(components.image_std))
    model_index = {
        '_class_name': 'StableVideoDiffusionPipeline',
        '_diffusers_version': diffusers.__version__,
        'feature_extractor': ['transformers', 'CLIPImageProcessor'],
        'image_encoder': ['transformers', 'CLIPVisionModelWithProjection'],
        'scheduler': ['diffusers', 'EulerDiscreteScheduler'],
        'unet': ['diffusers', 'UNetSpatioTemporalConditionModel'],
        'vae': ['diffusers', 'AutoencoderKLTemporalDecoder'],
    }
    for relative, content in ((SCHEDULER_FILE, components.scheduler_config),
                              (PREPROCESSOR_FILE, preprocessor), (Path(MODEL_INDEX), model_index)):
        path = svd_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, sort_keys=True) + '\n')
