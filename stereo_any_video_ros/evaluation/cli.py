# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``eval``: run methods (or read saved predictions) over a dataset and score them.

    ros2 run stereo_any_video_ros eval --dataset sintel --root ~/data/Sintel \\
        --method sgbm sav --sav-checkpoint ~/weights/StereoAnyVideo_MIX.pth
    python -m stereo_any_video_ros.eval --dataset skimage-motorcycle --method sgbm

(``eval`` is also a shell builtin: outside ``ros2 run`` use ``python -m``.)

Stereo methods on stereo datasets are scored with SAV's stereo-video metrics; monocular
methods with the two video-depth protocols (DepthCrafter's, which StereoDiff's tables follow,
and MonST3R's, reported apart) plus the F0..F10 frequency analysis. A monocular method on a
calibrated stereo dataset sees the left camera, with GT depth fx·B/d. ``--dataset bag`` scores
a bag written by ``stereodiff_bag`` (or any bag) against a GT depth topic.

Writes ``<output>/metrics.json`` (per-sequence and overall figures, the settings and the
definitions used), ``<output>/plots/`` and, with ``--save-predictions``,
``<output>/predictions/<label>/<sequence>.npz`` (read back with ``--predictions``). Exit
status: 0 done, 1 bad input (dataset, weights, memory), 2 usage, 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from stereo_any_video_ros.backends.sgbm import MODES as SGBM_MODES
from stereo_any_video_ros.bag_io import BagError
from stereo_any_video_ros.evaluation import scoring
from stereo_any_video_ros.evaluation.datasets import (
    DatasetError, DepthSequence, FrameSelection, open_dataset, READERS)
from stereo_any_video_ros.evaluation.datasets.depthcrafter_benchmark import (
    PROTOCOLS as BENCHMARK_PROTOCOLS)
from stereo_any_video_ros.evaluation.depth_metrics import MONST3R_SOLVERS
from stereo_any_video_ros.evaluation.methods import (
    build_method, KINDS, MethodOptions, MethodSpec, PRECISIONS, Prediction,
    predictions_from_file, save_predictions)
from stereo_any_video_ros.evaluation.stereo_metrics import TEPE_FORMS
from tqdm import tqdm

LOG = logging.getLogger('eval')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='eval', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = parser.add_argument_group('dataset')
    data.add_argument('--dataset', required=True, choices=sorted(READERS) + ['bag'])
    data.add_argument('--root', default='', help='dataset folder (the bag, for --dataset bag)')
    data.add_argument('--sequence', nargs='+', default=[], help='only these sequences')
    data.add_argument('--pass', dest='pass_name', default='clean', choices=('clean', 'final'),
                      help='Sintel rendering pass')
    data.add_argument('--split', default='test', help='Dynamic Replica and KITTI depth split')
    data.add_argument('--benchmark-dataset', default='', choices=('', *BENCHMARK_PROTOCOLS),
                      help='which DepthCrafter benchmark csv (protocol length and max depth); '
                           'inferred from the names when empty')
    data.add_argument('--max-depth', type=float, default=0.0,
                      help='depth cap of the video-depth protocols; 0 = the dataset default')
    data.add_argument('--max-frames', type=int, default=0,
                      help='frames per sequence; 0 = all (the DepthCrafter protocol length '
                           'for its depth datasets)')
    data.add_argument('--every-n', type=int, default=1, help='take every n-th frame')

    bag = parser.add_argument_group('--dataset bag')
    bag.add_argument('--prediction-topic', default='', help='depth, relative inverse depth '
                     'or DisparityImage topic to score')
    bag.add_argument('--gt-topic', default='', help='GT depth topic (32FC1 m or 16UC1 mm)')
    bag.add_argument('--gt-bag', default='', help='bag holding the GT topic; default --root')
    bag.add_argument('--image-topic', default='', help='images for the colour-map figures')

    run = parser.add_argument_group('methods')
    source = run.add_mutually_exclusive_group()
    source.add_argument('--method', nargs='+', default=[], metavar='NAME[:PRECISION]',
                        help='sgbm, sav, stereo-stage1, stereodiff; e.g. sav:fp32 sav:bf16')
    source.add_argument('--predictions', default='', help='folder of saved predictions: '
                        '<sequence>.npz from --save-predictions, or <sequence>.npy')
    run.add_argument('--prediction-kind', default='disparity', choices=KINDS,
                     help='what .npy predictions hold')
    run.add_argument('--label', default='', help='name of the saved predictions in reports')
    run.add_argument('--device', default='cpu')
    run.add_argument('--precision', default='fp32', choices=PRECISIONS,
                     help='for methods named without one')
    run.add_argument('--inference-width', type=int, default=0)
    run.add_argument('--inference-height', type=int, default=0)
    run.add_argument('--sgbm-num-disparities', type=int, default=128)
    run.add_argument('--sgbm-block-size', type=int, default=5)
    run.add_argument('--sgbm-mode', default='sgbm', choices=sorted(SGBM_MODES))
    run.add_argument('--sav-checkpoint', default='')
    run.add_argument('--vda-checkpoint', default='')
    run.add_argument('--sav-iters', type=int, help="refinement updates (default: SAV's 20)")
    run.add_argument('--monst3r-checkpoint', default='')
    run.add_argument('--depthcrafter-unet', default='')
    run.add_argument('--svd-folder', default='')
    run.add_argument('--stage1-resolution', type=int, default=MethodOptions.stage1_resolution)
    run.add_argument('--stage1-batch-size', type=int, default=MethodOptions.stage1_batch_size)
    # Stage 2 defaults are Stage2Settings' (the paper's), left unset here so that this
    # module does not import diffusers before a stereodiff run needs it.
    run.add_argument('--resolution', type=int, help='stage-2 long side cap (default 1024)')
    run.add_argument('--clip-length', type=int, help='stage-2 window (default 110)')
    run.add_argument('--clip-overlap', type=int, help='stage-2 window overlap (default 25)')
    run.add_argument('--seed', type=int, help='stage-2 noise seed (default 42)')

    scores = parser.add_argument_group('metrics and output')
    scores.add_argument('--tepe-form', default='absolute', choices=TEPE_FORMS,
                        help="SAV's |Δpred| − |Δgt| or DynamicStereo's signed form")
    scores.add_argument('--monst3r-solver', default='adam', choices=MONST3R_SOLVERS,
                        help="MonST3R's L1 fit: its Adam recipe, or the exact L1 minimum")
    scores.add_argument('--output', default='eval_output')
    scores.add_argument('--vis-frames', type=int, nargs='*', default=[0],
                        help='dataset frame indices to draw as colour maps')
    scores.add_argument('--no-plots', action='store_true')
    scores.add_argument('--save-predictions', action='store_true')
    return parser


def method_options(args) -> MethodOptions:
    return MethodOptions(
        device=args.device, inference_width=args.inference_width,
        inference_height=args.inference_height,
        sgbm={'num_disparities': args.sgbm_num_disparities, 'block_size': args.sgbm_block_size,
              'mode': args.sgbm_mode},
        sav_checkpoint=args.sav_checkpoint, vda_checkpoint=args.vda_checkpoint,
        sav_iters=args.sav_iters, monst3r_checkpoint=args.monst3r_checkpoint,
        depthcrafter_unet=args.depthcrafter_unet, svd_folder=args.svd_folder,
        stage1_resolution=args.stage1_resolution, stage1_batch_size=args.stage1_batch_size,
        stage2={name: value for name, value in (
            ('window', args.clip_length), ('overlap', args.clip_overlap),
            ('max_resolution', args.resolution), ('seed', args.seed)) if value is not None})


def check_usage(args, parser: argparse.ArgumentParser) -> List[MethodSpec]:
    """Everything argparse cannot check, before any data or weight is read."""
    if args.every_n < 1 or args.max_frames < 0:
        parser.error('--every-n must be >= 1 and --max-frames >= 0')
    if args.dataset == 'bag':
        if args.method or args.predictions:
            parser.error('--dataset bag scores the bag itself: drop --method/--predictions')
        if not (args.root and args.prediction_topic and args.gt_topic):
            parser.error('--dataset bag needs --root BAG, --prediction-topic and --gt-topic')
        return []
    if not (args.method or args.predictions):
        parser.error('give --method NAME... or --predictions DIR')
    if (args.inference_width > 0) != (args.inference_height > 0):
        parser.error('give both --inference-width and --inference-height, or neither')
    try:
        specs = [MethodSpec.parse(text, args.precision) for text in args.method]
    except ValueError as error:
        parser.error(str(error))
    labels = [spec.label for spec in specs]
    if len(set(labels)) != len(labels):
        parser.error(f'a method is listed twice: {labels}')
    return specs


class Evaluation:
    """One run: the dataset's sequences through every method, scored and reported."""

    def __init__(self, args, specs: List[MethodSpec], argv: Sequence[str] = ()):
        self.args = args
        self.specs = specs
        self.output = Path(args.output)
        self.selection = FrameSelection(args.every_n, args.max_frames or None)
        self.report: Dict[str, Any] = {
            'tool': 'stereo_any_video_ros eval', 'arguments': list(argv),
            'dataset': {'kind': args.dataset, 'root': str(args.root)},
            'selection': {'every_n': args.every_n, 'max_frames': args.max_frames or None},
            'definitions': scoring.DEFINITIONS, 'methods': {}, 'sequences': {}}
        self.scored: Dict[str, List[scoring.Scored]] = {}

    # -- inputs --------------------------------------------------------------------------

    def sequences(self) -> List[Any]:
        args = self.args
        sequences = open_dataset(args.dataset, args.root, pass_name=args.pass_name,
                                 split=args.split, dataset=args.benchmark_dataset)
        if args.sequence:
            names = {s.name for s in sequences}
            missing = sorted(set(args.sequence) - names)
            if missing:
                raise DatasetError(f'no sequence {missing} in {args.root or args.dataset}; '
                                   f'it has: {", ".join(sorted(names))}')
            sequences = [s for s in sequences if s.name in set(args.sequence)]
        if not sequences:
            raise DatasetError(f'{args.root or args.dataset} holds no sequence')
        return sequences

    def frames(self, sequence) -> np.ndarray:
        """The dataset frame indices this run evaluates."""
        selection = self.selection
        if isinstance(sequence, DepthSequence) and selection.max_frames is None and \
                sequence.protocol_frames:
            selection = FrameSelection(selection.every_n, sequence.protocol_frames)
        return np.asarray(selection.indices(len(sequence)), dtype=np.int64)

    # -- the run -------------------------------------------------------------------------

    def run(self) -> Dict[str, Any]:
        args = self.args
        if args.dataset == 'bag':
            self._run_bag()
        else:
            sequences = self.sequences()
            methods = {spec.label: build_method(spec, method_options(args))
                       for spec in self.specs}
            for spec in self.specs:
                self.report['methods'][spec.label] = {'name': spec.name,
                                                      'precision': spec.precision}
            for sequence in tqdm(sequences, desc='sequences', unit='seq'):
                self._run_sequence(sequence, methods)
        self.report['overall'] = scoring.overall(self.scored)
        self._write_report()
        return self.report

    def _run_sequence(self, sequence, methods: Dict[str, Any]) -> None:
        frames = self.frames(sequence)
        truth = scoring.load_truth(sequence, frames, self._max_depth(sequence),
                                   self.args.max_depth or None)
        if truth.depth is None and not all(spec.stereo for spec in self.specs):
            raise DatasetError(f'{sequence.name} ({sequence.source}) has no calibration, so '
                               'a monocular method has no GT depth to be scored against; '
                               'give the rectified camera_info YAML files')
        predictions: List[Prediction] = []
        for spec in self.specs:
            method = methods[spec.label]
            if spec.stereo:
                if truth.right is None:
                    raise DatasetError(f'{spec.name} is a stereo method but {sequence.name} '
                                       'is monocular')
                predictions += method.run(truth.images, truth.right)
            else:
                predictions += method.run(truth.images)
        if self.args.predictions:
            predictions.append(self._saved_predictions(sequence.name, frames))
        if self.args.save_predictions:
            for prediction in predictions:
                folder = self.output / 'predictions' / prediction.label.replace('/', '_')
                folder.mkdir(parents=True, exist_ok=True)
                save_predictions(folder / f'{sequence.name}.npz', prediction, frames)
        self._score(sequence.name, truth, predictions)

    def _run_bag(self) -> None:
        from stereo_any_video_ros.evaluation.datasets.bag import read_bag_evaluation
        args = self.args
        evaluation = read_bag_evaluation(
            args.root, args.prediction_topic, args.gt_bag or args.root, args.gt_topic,
            image_topic=args.image_topic or None, selection=self.selection,
            max_depth=args.max_depth or scoring.DEFAULT_MAX_DEPTH)
        sequence = evaluation.sequence
        frames = np.arange(len(sequence))
        truth = scoring.load_truth(sequence, frames, sequence.max_depth)
        label = args.label or args.prediction_topic
        self.report['methods'][label] = {'name': 'bag', 'topic': args.prediction_topic}
        self._score(sequence.name, truth,
                    [Prediction(label, evaluation.kind, evaluation.predictions)])

    def _saved_predictions(self, name: str, frames: np.ndarray) -> Prediction:
        folder = Path(self.args.predictions)
        label = self.args.label or folder.name
        for suffix in ('.npz', '.npy'):
            path = folder / f'{name}{suffix}'
            if path.is_file():
                self.report['methods'][label] = {'name': 'saved', 'folder': str(folder)}
                return predictions_from_file(path, label, self.args.prediction_kind, frames)
        raise DatasetError(f'no saved predictions for sequence {name}: expected {name}.npz '
                           f'or {name}.npy in {folder}')

    def _max_depth(self, sequence) -> float:
        if self.args.max_depth:
            return self.args.max_depth
        return sequence.max_depth if isinstance(sequence, DepthSequence) \
            else scoring.DEFAULT_MAX_DEPTH

    def _score(self, name: str, truth: 'scoring.Truth', predictions: List[Prediction]) -> None:
        args = self.args
        results = {}
        for prediction in predictions:
            scored = scoring.score(prediction, truth, tepe_form=args.tepe_form,
                                   monst3r_solver=args.monst3r_solver)
            self.scored.setdefault(prediction.label, []).append(scored)
            results[prediction.label] = scored.report
        self.report['sequences'][name] = {'frames': truth.frames.tolist(), **results}
        if not args.no_plots:
            scoring.plot_sequence(self.output / 'plots', name, truth,
                                  [self.scored[p.label][-1] for p in predictions],
                                  args.vis_frames)

    def _write_report(self) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        path = self.output / 'metrics.json'
        partial = path.with_suffix('.json.partial')
        partial.write_text(json.dumps(self.report, indent=2, default=scoring.json_default))
        os.replace(partial, path)  # a reader never sees half a report
        LOG.info('wrote %s', path)


EXPECTED_ERRORS = (BagError, DatasetError, FileNotFoundError, MemoryError, ValueError)


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format='[%(name)s] %(levelname)s: %(message)s')
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    specs = check_usage(args, parser)
    try:
        report = Evaluation(args, specs, argv).run()
    except KeyboardInterrupt:
        LOG.error('interrupted')
        return 130
    except EXPECTED_ERRORS as error:
        LOG.error('%s', error)
        return 1
    for label, figures in report['overall'].items():
        LOG.info('%s: %s', label, scoring.headline(figures))
    return 0
