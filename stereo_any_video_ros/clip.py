# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The T-frame clip a temporal stereo backend sees, ROS-free.

A clip is only meaningful over one continuous shot: the buffer starts a new one when time
jumps, when frames are missing for too long, or when the camera (size, frame, calibration)
changes. Frames not yet emitted when that happens are flushed as a final clip of the old shot
rather than lost.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import logging
from typing import Any, Deque, List, Optional, Tuple

import numpy as np

LOG = logging.getLogger(__name__)
WARMUP_POLICIES = ('replicate', 'wait')


@dataclass(frozen=True)
class ClipFrame:
    """One synchronized, converted stereo pair and what must travel with it to the output."""

    stamp_ns: int
    left: np.ndarray  # (H, W, 3) uint8 RGB
    right: np.ndarray  # (H, W, 3) uint8 RGB
    frame_id: str
    calibration: Any  # e.g. a StereoCalibration; a change (by ==) starts a new clip
    payload: Any = field(default=None, compare=False)  # e.g. the header, receipt time


@dataclass(frozen=True)
class Clip:
    """T frames, oldest first.

    The `num_new` frames just before the newest `delay` ones are emitted now; the newest
    `delay` frames are context only and are emitted by a later clip.
    """

    frames: Tuple[ClipFrame, ...]
    num_new: int
    delay: int = 0

    def __post_init__(self) -> None:
        if self.delay < 0 or not 1 <= self.num_new <= len(self.frames) - self.delay:
            raise ValueError(f'need 1 <= num_new <= {len(self.frames)} - delay, got num_new '
                             f'{self.num_new}, delay {self.delay}')

    @property
    def emitted(self) -> slice:
        """Positions in `frames` of the frames emitted now."""
        end = len(self.frames) - self.delay
        return slice(end - self.num_new, end)

    @property
    def new_frames(self) -> Tuple[ClipFrame, ...]:
        return self.frames[self.emitted]

    def stacked(self) -> Tuple[np.ndarray, np.ndarray]:
        """(T, H, W, 3) left and right arrays."""
        return (np.stack([frame.left for frame in self.frames]),
                np.stack([frame.right for frame in self.frames]))


class ClipBuffer:
    """A ring of the last T frames that yields a clip every `stride` new frames.

    With `delay` > 0 each clip emits the `stride` frames that sit `delay` frames before its
    newest one, so every emitted frame was seen with `delay` frames of future context; the
    last `delay` frames of a shot are emitted when the shot ends (`flush` or a reset).
    """

    def __init__(self, length: int, stride: int = 1, warmup: str = 'replicate',
                 max_gap_ns: int = 0, delay: int = 0):
        if length < 1:
            raise ValueError(f'clip length must be >= 1, got {length}')
        if stride < 1 or delay < 0 or stride + delay > length:
            raise ValueError(f'need clip_stride >= 1, output_delay_frames >= 0 and their sum '
                             f'<= clip length = {length}, got {stride} and {delay}; '
                             'otherwise frames would be skipped')
        if warmup not in WARMUP_POLICIES:
            raise ValueError(f'warmup must be one of {WARMUP_POLICIES}, got {warmup!r}')
        self.length = length
        self.stride = stride
        self.delay = delay
        self.warmup = warmup
        self.max_gap_ns = max_gap_ns  # 0 = never reset on a gap
        self._frames: Deque[ClipFrame] = deque(maxlen=length)
        self._pending = 0  # frames at the end of the ring not emitted yet
        self.resets = 0
        self.dropped = 0  # frames discarded unemitted (only `wait` before the clip filled)

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, frame: ClipFrame) -> Tuple[List[Clip], Optional[str]]:
        """Add a frame; return the clips now due (oldest first) and why a new shot began."""
        clips: List[Clip] = []
        reason = self._break_reason(frame) if self._frames else None
        if reason is not None:
            clips.extend(self.flush())
            self.reset()
            LOG.info('clip reset: %s', reason)
        self._frames.append(frame)
        self._pending = min(self._pending + 1, self.length)
        if self._pending >= self.stride + self.delay:
            due = self._clip(self._pending - self.delay)
            if due is not None:
                clips.append(due)
        return clips, reason

    def flush(self) -> List[Clip]:
        """The clip of every frame not emitted yet (end of a shot or of the input)."""
        last = self._clip(self._pending)
        return [] if last is None else [last]

    def reset(self) -> None:
        """Forget the current shot; frames never emitted are counted as dropped."""
        if self._frames:
            self.resets += 1
        self.dropped += self._pending
        self._frames.clear()
        self._pending = 0

    def _break_reason(self, frame: ClipFrame) -> Optional[str]:
        last = self._frames[-1]
        if frame.stamp_ns <= last.stamp_ns:
            return (f'time went backwards from {last.stamp_ns * 1e-9:.6f} s to '
                    f'{frame.stamp_ns * 1e-9:.6f} s')
        gap = frame.stamp_ns - last.stamp_ns
        if self.max_gap_ns and gap > self.max_gap_ns:
            return (f'gap of {gap * 1e-9:.3f} s exceeds max_frame_gap_seconds '
                    f'({self.max_gap_ns * 1e-9:.3f} s)')
        if frame.left.shape != last.left.shape:
            return f'image size changed from {last.left.shape[1::-1]} to {frame.left.shape[1::-1]}'
        if frame.frame_id != last.frame_id:
            return f"frame_id changed from '{last.frame_id}' to '{frame.frame_id}'"
        if frame.calibration != last.calibration:
            return 'camera_info changed'
        return None

    def _clip(self, count: int) -> Optional[Clip]:
        """A clip emitting the oldest `count` pending frames, or None if there are none or the
        warm-up policy says wait."""
        if not count:
            return None
        frames = tuple(self._frames)
        missing = self.length - len(frames)
        if missing:
            if self.warmup == 'wait':
                return None
            frames = (frames[0],) * missing + frames
        clip = Clip(frames, count, self._pending - count)
        self._pending -= count
        return clip
