# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The methods ``eval`` can run, each turning frames into predictions of a stated kind.

* ``sgbm``, ``sav``: stereo, raw disparity x_l − x_r in pixels of the input (kind
  ``disparity``), through the bag tool's offline path (SAV's official 20/10 windows, SGBM frame
  by frame, an optional inference size with the result resized back).
* ``stereo-stage1``: StereoDiff's stage 1 alone (MonST3R pairs + closed-form global
  alignment), depth up to scale at MonST3R's resolution (kind ``depth``).
* ``stereodiff``: both stages; relative disparity at the input size (kind
  ``relative_disparity``). Its own stage 1 comes out as a second prediction, so one run gives
  the stage-1 vs StereoDiff comparison of the paper's Fig. 3.

A method is named ``NAME`` or ``NAME:PRECISION`` (``sav:bf16``), so ``--method sav:fp32
sav:bf16`` compares precisions in one command.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import Any, Dict, List, Optional

import numpy as np
from stereo_any_video_ros.params import NodeConfig
from stereo_any_video_ros.processing import sequence_inference

STEREO_METHODS = ('sgbm', 'sav')
MONOCULAR_METHODS = ('stereo-stage1', 'stereodiff')
METHODS = STEREO_METHODS + MONOCULAR_METHODS
PRECISIONS = ('fp32', 'bf16', 'fp16')
# What a prediction array holds; decides which metrics apply.
KINDS = ('disparity', 'depth', 'relative_disparity')


@dataclass
class Prediction:
    label: str  # how reports and plots name it, e.g. 'sav:bf16' or 'stereodiff/stage1'
    kind: str  # one of KINDS
    values: np.ndarray  # (T, h, w) float32; NaN = no estimate
    seconds: float = 0.0  # wall time of the method over the sequence


@dataclass(frozen=True)
class MethodSpec:
    name: str
    precision: str

    @classmethod
    def parse(cls, text: str, default_precision: str) -> 'MethodSpec':
        name, _, precision = text.partition(':')
        if name not in METHODS:
            raise ValueError(f'unknown method {name!r}; available: {", ".join(METHODS)}')
        precision = precision or default_precision
        if precision not in PRECISIONS:
            raise ValueError(f'{text}: precision must be one of {", ".join(PRECISIONS)}')
        return cls(name, precision)

    @property
    def label(self) -> str:
        return self.name if self.precision == 'fp32' else f'{self.name}:{self.precision}'

    @property
    def stereo(self) -> bool:
        return self.name in STEREO_METHODS


@dataclass
class MethodOptions:
    """Everything the methods read from the command line; defaults are the papers'."""

    device: str = 'cpu'
    inference_width: int = 0
    inference_height: int = 0
    sgbm: Dict[str, Any] = field(default_factory=dict)  # NodeConfig 'sgbm.*' values
    sav_checkpoint: str = ''
    vda_checkpoint: str = ''
    sav_iters: Optional[int] = None  # None: the node parameter's default (SAV's 20)
    monst3r_checkpoint: str = ''
    depthcrafter_unet: str = ''
    svd_folder: str = ''
    stage1_resolution: int = 512
    stage1_batch_size: int = 8
    stage2: Dict[str, Any] = field(default_factory=dict)  # Stage2Settings fields to override


class StereoMethod:
    """sgbm or sav over whole sequences, through the bag tool's offline path."""

    def __init__(self, spec: MethodSpec, options: MethodOptions):
        self.spec = spec
        values = {'backend': spec.name, 'checkpoint': options.sav_checkpoint,
                  'sav.vda_checkpoint': options.vda_checkpoint, 'device': options.device,
                  'precision': spec.precision, 'inference_width': options.inference_width,
                  'inference_height': options.inference_height}
        if options.sav_iters is not None:
            values['sav.iters'] = options.sav_iters
        values.update({f'sgbm.{k}': v for k, v in options.sgbm.items()})
        self.config = NodeConfig.from_values(values)
        self._infer = sequence_inference(self.config)

    def run(self, left: np.ndarray, right: np.ndarray) -> List[Prediction]:
        """(T, H, W, 3) uint8 RGB pairs → [disparity (T, H, W) px]."""
        started = time.perf_counter()
        out = np.empty(left.shape[:3], np.float32)
        self._infer(left, right, out)
        return [Prediction(self.spec.label, 'disparity', out, time.perf_counter() - started)]


class MonocularMethod:
    """StereoDiff (both stages) or its stage 1 alone over whole sequences."""

    def __init__(self, spec: MethodSpec, options: MethodOptions):
        from stereodiff_ros.engines.stage1 import Stage1Engine
        self.spec = spec
        if not options.monst3r_checkpoint:
            raise FileNotFoundError(f'--method {spec.name} needs --monst3r-checkpoint (see '
                                    'the README for where to get MonST3R)')
        if spec.name == 'stereodiff':
            from stereodiff_ros.engines.stage2 import Stage2Settings
            from stereodiff_ros.pipeline import StereoDiffPipeline
            if not (options.depthcrafter_unet and options.svd_folder):
                raise FileNotFoundError('--method stereodiff needs --depthcrafter-unet and '
                                        '--svd-folder (see the README for where to get them)')
            self.pipeline = StereoDiffPipeline.from_pretrained(
                options.monst3r_checkpoint, options.depthcrafter_unet, options.svd_folder,
                device=options.device, precision=spec.precision,
                settings=Stage2Settings(**options.stage2),
                stage1_long_side=options.stage1_resolution,
                stage1_batch_size=options.stage1_batch_size)
        else:
            self.pipeline = None
            self.stage1 = Stage1Engine.from_checkpoint(
                options.monst3r_checkpoint, device=options.device, precision=spec.precision,
                long_side=options.stage1_resolution, batch_size=options.stage1_batch_size)

    def run(self, frames: np.ndarray) -> List[Prediction]:
        """(T, H, W, 3) uint8 RGB → stage-1 depth and, for stereodiff, relative disparity."""
        if self.pipeline is None:
            started = time.perf_counter()
            depth = self.stage1.run(frames).result.depth
            return [Prediction(self.spec.label, 'depth', depth.astype(np.float32),
                               time.perf_counter() - started)]
        result = self.pipeline.run(frames)
        stage1_label = f'{self.spec.label}/stage1'
        return [Prediction(stage1_label, 'depth', result.stage1.result.depth.astype(np.float32),
                           result.seconds['stage1']),
                Prediction(self.spec.label, 'relative_disparity', result.disparity,
                           result.seconds['stage1'] + result.seconds['stage2'])]


def build_method(spec: MethodSpec, options: MethodOptions):
    """A StereoMethod or MonocularMethod with its weights loaded."""
    return StereoMethod(spec, options) if spec.stereo else MonocularMethod(spec, options)


def predictions_from_file(path, label: str, kind: str,
                          frames: Optional[np.ndarray] = None) -> Prediction:
    """Saved predictions: a ``.npz`` written by ``eval --save-predictions`` (keys
    ``values``, ``kind``, ``frames``) or a bare ``.npy`` (T, H, W) of the given kind."""
    path = str(path)
    if path.endswith('.npz'):
        with np.load(path) as saved:
            missing = {'values', 'kind', 'frames'} - set(saved.files)
            if missing:
                raise ValueError(f'{path} lacks {sorted(missing)}: not written by eval '
                                 '--save-predictions; give a (T, H, W) .npy instead')
            values = saved['values']
            kind = str(saved['kind'])
            saved_frames = saved['frames']
        if frames is not None and not np.array_equal(saved_frames, frames):
            raise ValueError(f'{path} holds frames {saved_frames.tolist()} but this run '
                             f'evaluates {frames.tolist()}; use the same --max-frames and '
                             '--every-n as the run that saved them')
    else:
        values = np.load(path)
    if kind not in KINDS:
        raise ValueError(f'{path}: prediction kind must be one of {", ".join(KINDS)}, '
                         f'got {kind!r}')
    if values.ndim != 3:
        raise ValueError(f'{path}: expected (T, H, W) predictions, got shape {values.shape}')
    return Prediction(label, kind, values.astype(np.float32, copy=False))


def save_predictions(path, prediction: Prediction, frames: np.ndarray) -> None:
    np.savez_compressed(path, values=prediction.values, kind=prediction.kind, frames=frames)
