"""StereoDiff stage 1: MonST3R over the swin pair graph, merged by the closed-form alignment.

The engine streams the video in frame order. Each frame is encoded once (the encoder sees one
image at a time, so a frame's tokens are the same in every pair it joins), its pairs with the
previous ``window`` frames are decoded in batches, and the alignment reduces each frame's
pointmaps as soon as its last pair is in (see ``stereodiff_ros.alignment``). After the spanning
tree is known, the one pair per frame that defines its world points is run again. Host memory is
then the outputs plus a few frames of pointmaps, whatever the video length; the price is about
one extra pair forward per frame (≈ 25 % more decoder work with n = 2).
"""

from dataclasses import dataclass
import logging
from typing import Dict, List, Sequence, Tuple

import numpy as np
from stereo_any_video_ros.engines.sav import AUTOCAST_DTYPES, check_device
from stereodiff_ros.alignment import Stage1Alignment, Stage1Result
from stereodiff_ros.models.checkpoint import load_monst3r
from stereodiff_ros.pairs import make_pairs
from stereodiff_ros.preprocessing import preprocess_frame, target_size
import torch
from tqdm import tqdm

LOG = logging.getLogger(__name__)


@dataclass
class Stage1Output:
    """The alignment's result at the network's resolution, and how that maps to the input."""

    result: Stage1Result
    input_size: Tuple[int, int]  # (H, W) of the frames given
    network_size: Tuple[int, int]  # (h, w) MonST3R ran at; depth and focal are in these pixels

    def focal_at_input(self) -> np.ndarray:
        """Focal in input pixels. The no-crop resize may change the aspect slightly; the
        horizontal factor is used, as the principal point sits at the centre either way."""
        return self.result.focal * (self.input_size[1] / self.network_size[1])


class Stage1Engine:
    """MonST3R pairwise inference plus closed-form alignment over a whole video."""

    def __init__(self, model: torch.nn.Module, device: str = 'cpu', precision: str = 'fp32',
                 window: int = 2, batch_size: int = 8, long_side: int = 512,
                 min_conf_thr: float = 3.0):
        self.device = check_device(device, precision)
        if batch_size < 1:
            raise ValueError(f'batch_size must be at least 1, got {batch_size}')
        self.model = model.to(self.device).eval()
        self.precision = precision
        self.window = window
        self.batch_size = batch_size
        self.long_side = long_side
        self.min_conf_thr = min_conf_thr

    @classmethod
    def from_checkpoint(cls, checkpoint, device: str = 'cpu', precision: str = 'fp32',
                        **options) -> 'Stage1Engine':
        check_device(device, precision)  # before minutes of loading, not after
        return cls(load_monst3r(checkpoint), device=device, precision=precision, **options)

    # -- network -----------------------------------------------------------------------------

    def _autocast(self):
        dtype = AUTOCAST_DTYPES[self.precision]
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _encode(self, images: torch.Tensor):
        """(B, 3, h, w) normalised → per-image (tokens, positions)."""
        with self._autocast():
            tokens, positions = self.model.encode(images.to(self.device))
        return list(zip(tokens, positions))

    def _decode(self, first: List, second: List):
        """Encoded views, paired elementwise → the two decoders' token lists."""
        with self._autocast():
            return self.model.decode(
                torch.stack([t for t, _ in first]), torch.stack([p for _, p in first]),
                torch.stack([t for t, _ in second]), torch.stack([p for _, p in second]))

    # -- the video ---------------------------------------------------------------------------

    def run(self, frames: Sequence[np.ndarray], progress: bool = True) -> Stage1Output:
        """Stage 1 over a video: ``frames`` is a random-access sequence of (H, W, 3) uint8 RGB
        frames (a list, or a lazy reader: each frame is read once, plus once more for the
        frames whose tree edge is re-run)."""
        try:
            return self._run(frames, progress)
        except torch.OutOfMemoryError as error:
            raise MemoryError(
                f'stage 1 ran out of {self.device.type} memory with batch_size '
                f'{self.batch_size} at long side {self.long_side}: lower batch_size, use '
                f"precision 'bf16' (or 'fp16' on CUDA), or a smaller long_side") from error

    @torch.inference_mode()
    def _run(self, frames: Sequence[np.ndarray], progress: bool) -> Stage1Output:
        num_frames = len(frames)
        if num_frames < 2:
            raise ValueError(f'stage 1 needs at least 2 frames, got {num_frames}')
        input_size = tuple(np.shape(frames[0])[:2])
        shape = target_size(*input_size, self.long_side)
        edges = make_pairs(num_frames, self.window)
        alignment = Stage1Alignment(num_frames, edges, shape, min_conf_thr=self.min_conf_thr,
                                    device=self.device)

        def image(k: int) -> torch.Tensor:
            frame = frames[k]
            if tuple(np.shape(frame)[:2]) != input_size:
                raise ValueError(f'frame {k} is {np.shape(frame)[:2]}, frame 0 is {input_size}: '
                                 'a video must keep one size')
            return preprocess_frame(frame, self.long_side)[0]

        # pass 1: every pair, a few frames at a time, keeping only the encodings still to be
        # paired; each step encodes its frames in one batch and decodes the pairs they close
        closed_by: Dict[int, List[int]] = {}
        for e, edge in enumerate(edges):
            closed_by.setdefault(max(edge), []).append(e)
        step = max(1, self.batch_size // (2 * self.window))
        encoded: Dict[int, Tuple] = {}
        bar = tqdm(total=len(edges), desc='stage 1: pairs', unit='pair', disable=not progress)
        for start in range(0, num_frames, step):
            new = list(range(start, min(start + step, num_frames)))
            encoded.update(zip(new, self._encode(torch.stack([image(k) for k in new]))))
            batch = [e for k in new for e in closed_by.get(k, [])]
            self._run_edges(batch, edges, encoded, shape, alignment)
            bar.update(len(batch))
            for k in [k for k in encoded if k <= new[-1] - self.window]:
                del encoded[k]
        bar.close()

        # pass 2: the pair that defines each frame's world points, once more
        needed = alignment.solve()
        by_edge: Dict[int, List[int]] = {}
        for e, role in needed:
            by_edge.setdefault(e, []).append(role)
        order = sorted(by_edge, key=lambda e: max(edges[e]))
        for start in tqdm(range(0, len(order), self.batch_size), desc='stage 1: tree pairs',
                          unit='batch', disable=not progress):
            batch = order[start:start + self.batch_size]
            frames_needed = sorted({k for e in batch for k in edges[e]})
            images = torch.stack([image(k) for k in frames_needed])
            encoded_batch = dict(zip(frames_needed, self._encode(images)))
            decoded = self._decode([encoded_batch[edges[e][0]] for e in batch],
                                   [encoded_batch[edges[e][1]] for e in batch])
            # only the heads of the views asked for: half the head work of a full pair
            for role in (1, 2):
                rows = [n for n, e in enumerate(batch) if role in by_edge[e]]
                if rows:
                    index = torch.tensor(rows, device=self.device)
                    points = self.model.head(role, [t[index] for t in decoded[role - 1]],
                                             shape)['pts3d']
                    for n, row in enumerate(rows):
                        alignment.supply((batch[row], role), points[n])
        return Stage1Output(alignment.result(), input_size, shape)

    def _run_edges(self, queue: List[int], edges, encoded, shape, alignment) -> None:
        for start in range(0, len(queue), self.batch_size):
            batch = queue[start:start + self.batch_size]
            decoded1, decoded2 = self._decode([encoded[edges[e][0]] for e in batch],
                                              [encoded[edges[e][1]] for e in batch])
            pred1, pred2 = self.model.heads(decoded1, decoded2, shape)
            for n, e in enumerate(batch):
                alignment.add(e, pred1['pts3d'][n], pred1['conf'][n],
                              pred2['pts3d_in_other_view'][n], pred2['conf'][n])
