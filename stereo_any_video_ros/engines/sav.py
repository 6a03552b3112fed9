"""Stereo Any Video inference: official windowed sequences and single clips for streaming.

The model sees padded clips of at most 32 frames; this module owns everything around it:
replicate padding to /32, the official 20-frame/stride-10 stitching, device placement, pinned
host staging, autocast precision and turning CUDA out-of-memory into an actionable error.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
from stereo_any_video_ros.models.checkpoint import load_sav_weights
from stereo_any_video_ros.models.stereoanyvideo.stereoanyvideo import (
    SIZE_DIVISOR, StereoAnyVideo)
from stereo_any_video_ros.models.video_depth_anything.video_depth import MAX_FRAMES
import torch
import torch.nn.functional as F
from tqdm import tqdm

OFFICIAL_ITERS = 20
OFFICIAL_WINDOW = 20
OFFICIAL_STRIDE = 10
AUTOCAST_DTYPES = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def replicate_padding(height: int, width: int, divisor: int = SIZE_DIVISOR
                      ) -> Tuple[int, int, int, int]:
    """(left, right, top, bottom) to reach multiples of ``divisor``, split as upstream does:
    the smaller half first."""
    pad_h, pad_w = -height % divisor, -width % divisor
    return pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2


def check_device(device: str, precision: str) -> torch.device:
    """The torch device, if it exists here and supports the precision."""
    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f'precision must be one of {sorted(AUTOCAST_DTYPES)}, '
                         f'got {precision!r}')
    torch_device = torch.device(device)
    if torch_device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f'device {device!r} requested but CUDA is not available; '
                         "set device to 'cpu'")
    if precision == 'fp16' and torch_device.type != 'cuda':
        raise ValueError("fp16 autocast needs a CUDA device; use precision 'fp32' or "
                         "'bf16' on the CPU")
    return torch_device


@dataclass(frozen=True)
class Window:
    """Frames [start, end) go through the model; frames [keep_from, keep_to) are kept."""

    start: int
    end: int
    keep_from: int
    keep_to: int


def official_windows(num_frames: int, window: int = OFFICIAL_WINDOW,
                     stride: int = OFFICIAL_STRIDE) -> List[Window]:
    """The window plan of upstream ``forward_batch_test``, with its short-sequence bug fixed.

    Upstream keeps the first window up to ``stride // 2`` frames before its end, later full
    windows from ``stride // 2`` to ``stride // 2`` before their end, a shorter tail window
    from ``stride // 2`` to the end, and skips tail windows shorter than ``stride``. With fewer
    than ``window`` frames the first window is also the last, so upstream silently drops its
    last ``stride // 2`` frames (and returns nothing for N ≤ 5). Here that lone short window is
    kept whole; for N ≥ ``window`` the plan, and so every output, is upstream's.
    """
    margin = stride // 2
    plan: List[Window] = []
    for start in range(0, num_frames, stride):
        end = min(start + window, num_frames)
        length = end - start
        if not plan:
            keep_to = end if length < window else end - margin
            plan.append(Window(start, end, start, keep_to))
        elif length >= stride:
            plan.append(Window(start, end, start + margin,
                               end if length < window else end - margin))
    return plan


class SavEngine:
    """Runs StereoAnyVideo on uint8 RGB clips and returns positive disparity in pixels."""

    def __init__(self, model: StereoAnyVideo, device: str = 'cpu', precision: str = 'fp32',
                 iters: int = OFFICIAL_ITERS):
        self.device = check_device(device, precision)
        self.precision = precision
        self.iters = iters
        self.model = model.to(self.device).eval()
        # Per view: a pinned host buffer and its device twin, reused while the clip shape holds.
        self._buffers: Dict[int, Tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def from_checkpoint(cls, checkpoint, vda_checkpoint: Optional[str] = None,
                        device: str = 'cpu', precision: str = 'fp32',
                        iters: int = OFFICIAL_ITERS) -> 'SavEngine':
        check_device(device, precision)  # before spending seconds on the weights
        model = StereoAnyVideo()
        load_sav_weights(model, checkpoint, vda_checkpoint)
        return cls(model, device, precision, iters)

    # ---- one clip ----

    def infer_clip(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 RGB left/right → (T, H, W) float32 disparity, T ≤ 32."""
        if left.shape != right.shape or left.ndim != 4 or left.shape[-1] != 3:
            raise ValueError(f'expected two (T, H, W, 3) clips of one shape, got {left.shape} '
                             f'and {right.shape}')
        frames, height, width = left.shape[:3]
        if not 1 <= frames <= MAX_FRAMES:
            raise ValueError(f'SAV takes clips of 1 to {MAX_FRAMES} frames (the VDA temporal '
                             f'encoding has {MAX_FRAMES} positions), got {frames}')
        padding = replicate_padding(height, width)
        try:
            with torch.inference_mode():
                clips = torch.stack([self._upload(left, 0), self._upload(right, 1)])
                clips = clips.permute(0, 1, 4, 2, 3).float()  # (2, T, 3, H, W)
                clips = F.pad(clips.flatten(0, 1), padding, mode='replicate')
                clips = clips.unflatten(0, (2, frames))
                with torch.autocast(self.device.type, dtype=AUTOCAST_DTYPES[self.precision],
                                    enabled=self.precision != 'fp32'):
                    disparity = self.model(clips[:1], clips[1:], iters=self.iters)[0]
                left_pad, _, top_pad, _ = padding
                disparity = disparity[:, top_pad:top_pad + height, left_pad:left_pad + width]
                return disparity.abs().float().cpu().numpy()
        except RuntimeError as error:
            # CUDA raises OutOfMemoryError; the CPU allocator a plain RuntimeError.
            if not (isinstance(error, torch.OutOfMemoryError) or
                    "can't allocate memory" in str(error)):
                raise
            torch.cuda.empty_cache()
            raise MemoryError(
                f'{self.device} ran out of memory on a {frames}×{height}×{width} clip in '
                f'{self.precision}; use fewer frames (clip_length), a lower inference '
                f'resolution, or bf16/fp16 ({str(error).splitlines()[0]})') from None

    def _upload(self, images: np.ndarray, slot: int) -> torch.Tensor:
        """uint8 images on the device; on CUDA through reused pinned and device buffers."""
        host = torch.from_numpy(np.ascontiguousarray(images))
        if self.device.type != 'cuda':
            return host
        if slot not in self._buffers or self._buffers[slot][0].shape != images.shape:
            self._buffers[slot] = (torch.empty(images.shape, dtype=torch.uint8, pin_memory=True),
                                   torch.empty(images.shape, dtype=torch.uint8,
                                               device=self.device))
        staging, device_images = self._buffers[slot]
        # The previous clip's copy out of `staging` finished: its result was read back.
        staging.copy_(host)
        return device_images.copy_(staging, non_blocking=True)

    # ---- whole sequences (official mode) ----

    def infer_sequence(self, left: np.ndarray, right: np.ndarray, progress: bool = False
                       ) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB → (N, H, W) float32, stitched from official windows."""
        if left.shape != right.shape or left.ndim != 4 or len(left) == 0:
            raise ValueError(f'expected two non-empty (N, H, W, 3) sequences of one shape, got '
                             f'{left.shape} and {right.shape}')
        output = np.empty(left.shape[:3], dtype=np.float32)
        for window in tqdm(official_windows(len(left)), desc='SAV windows', unit='window',
                           disable=not progress):
            disparity = self.infer_clip(left[window.start:window.end],
                                        right[window.start:window.end])
            offset = window.start
            output[window.keep_from:window.keep_to] = \
                disparity[window.keep_from - offset:window.keep_to - offset]
        return output

    def warmup(self, height: int, width: int, frames: int) -> None:
        """Run one throw-away clip so kernels are selected and memory is reserved up front."""
        blank = np.zeros((frames, height, width, 3), dtype=np.uint8)
        self.infer_clip(blank, blank)
