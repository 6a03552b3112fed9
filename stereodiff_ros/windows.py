"""Temporal windows of StereoDiff's stage 2 and the linear blending that stitches them.

DepthCrafter denoises long videos in windows of 110 frames overlapping by 25 (StereoDiff keeps
both numbers, paper §4.1.1) and joins them in latent space: over the overlap, the new window's
latents fade in linearly from weight 0 to 1 while the previous result fades out. A video no
longer than one window is one window without overlap. The windows start every
``window − overlap`` frames for as long as a window would still add frames beyond the overlap,
so the last one may be shorter.

``WindowStitcher`` applies the blending as windows arrive and hands frames on as soon as no
later window can touch them, so only one window's worth of latents is ever held.
"""

from dataclasses import dataclass
from typing import List, Optional

import torch


@dataclass(frozen=True)
class Window:
    """Frames [start, end) go through the denoiser; the first ``blend`` of them overlap the
    previous window and are blended with it."""

    start: int
    end: int
    blend: int


def diffusion_windows(num_frames: int, window: int = 110, overlap: int = 25) -> List[Window]:
    if num_frames < 1:
        raise ValueError(f'need at least one frame, got {num_frames}')
    if window < 1 or not 0 <= overlap < window:
        raise ValueError(f'need window >= 1 and 0 <= overlap < window, got window {window}, '
                         f'overlap {overlap}')
    if num_frames <= window:
        return [Window(0, num_frames, 0)]
    stride = window - overlap
    windows = []
    start = 0
    while start < num_frames - overlap:
        windows.append(Window(start, min(start + window, num_frames), overlap if start else 0))
        start += stride
    return windows


def blend_weights(overlap: int) -> torch.Tensor:
    """Weight of the new window over the overlap, 0 → 1 inclusive (DepthCrafter's linspace)."""
    return torch.linspace(0, 1, overlap)


class WindowStitcher:
    """Blend window outputs (T_w, ...) in order; ``add`` returns the frames that are final."""

    def __init__(self, num_frames: int, window: int = 110, overlap: int = 25):
        self.windows = diffusion_windows(num_frames, window, overlap)
        self._next = 0
        self._tail: Optional[torch.Tensor] = None  # the frames a later window still blends

    def add(self, latents: torch.Tensor) -> torch.Tensor:
        if self._next >= len(self.windows):
            raise RuntimeError(f'all {len(self.windows)} windows were already added')
        window = self.windows[self._next]
        if latents.shape[0] != window.end - window.start:
            raise ValueError(f'window {self._next} covers frames [{window.start}, {window.end}) '
                             f'but {latents.shape[0]} frames of latents came')
        if window.blend:
            weight = blend_weights(window.blend).to(latents).view(-1, *[1] * (latents.dim() - 1))
            blended = latents[:window.blend] * weight + self._tail * (1 - weight)
            latents = torch.cat((blended, latents[window.blend:]))
        self._next += 1
        later = self.windows[self._next] if self._next < len(self.windows) else None
        # frames before the next window's start are final; the rest wait for its blend
        keep = window.end - later.start if later else 0
        final, self._tail = (latents[:len(latents) - keep], latents[len(latents) - keep:]) \
            if keep else (latents, None)
        return final

    @property
    def pending(self) -> Optional[torch.Tensor]:
        """The blended frames the next window overlaps, not yet handed on (None if none)."""
        return self._tail

    @property
    def done(self) -> bool:
        return self._next == len(self.windows)
