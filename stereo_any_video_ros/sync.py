# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Left/right image pairing by header stamp, ROS-free.

Unlike message_filters, `add` only returns the pair: the caller hands it to a worker, so a
slow backend never holds a lock that the subscription callbacks need. Pairs come out in
strictly increasing stamp order; anything that could only pair out of order is dropped and
counted. A stamp older than the previous one on the same side is a time jump (a bag loop, a
clock reset), not a late message: the synchronizer starts over and says so.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import statistics
from typing import Any, Deque, Dict, Generic, Optional, TypeVar

Item = TypeVar('Item')
SIDES = ('left', 'right')


@dataclass
class SyncStats:
    """Running counts since start, for diagnostics and the unsynchronized warning."""

    received_left: int = 0
    received_right: int = 0
    pairs: int = 0
    dropped_left: int = 0
    dropped_right: int = 0


@dataclass(frozen=True)
class StereoPair(Generic[Item]):
    left_stamp_ns: int
    right_stamp_ns: int
    left: Item
    right: Item


class TimeJumpError(ValueError):
    """A side's stamp went backwards. The synchronizer has reset; the image was not queued."""

    def __init__(self, side: str, previous_ns: int, stamp_ns: int):
        super().__init__(
            f'{side} image stamp went backwards from {previous_ns * 1e-9:.6f} s to '
            f'{stamp_ns * 1e-9:.6f} s; synchronization restarted. Expected after a bag loops '
            'or the clock resets (set use_sim_time when replaying bags); otherwise check the '
            'driver stamps.')
        self.side = side
        self.previous_ns = previous_ns
        self.stamp_ns = stamp_ns


class StereoSynchronizer(Generic[Item]):
    """Pairs left and right items whose stamps are equal, or nearest within a tolerance.

    tolerance_ns = 0 with approximate=True means "half the measured frame period", measured
    from the stamps themselves; until two distinct stamps are seen, matching is exact.
    """

    _PERIOD_SAMPLES = 9

    def __init__(self, queue_size: int = 5, approximate: bool = False, tolerance_ns: int = 0):
        if queue_size < 1:
            raise ValueError(f'queue_size must be >= 1, got {queue_size}')
        if tolerance_ns < 0:
            raise ValueError(f'tolerance_ns must be >= 0, got {tolerance_ns}')
        self._queue_size = queue_size
        self._approximate = approximate
        self._fixed_tolerance_ns = tolerance_ns
        self._queues: Dict[str, Dict[int, Any]] = {side: {} for side in SIDES}
        self._recent_stamps: Deque[int] = deque(maxlen=self._PERIOD_SAMPLES + 1)
        self._last_pair_ns: Optional[int] = None
        self._last_stamp_ns: Dict[str, int] = {}
        self.stats = SyncStats()

    @property
    def tolerance_ns(self) -> int:
        """The stamp difference still accepted as one pair."""
        if not self._approximate:
            return 0
        if self._fixed_tolerance_ns:
            return self._fixed_tolerance_ns
        periods = [b - a for a, b in zip(self._recent_stamps, list(self._recent_stamps)[1:])
                   if b > a]
        return int(statistics.median(periods) // 2) if periods else 0

    def reset(self) -> None:
        """Forget queued items and the output order (e.g. after a bag loops)."""
        for side, queue in self._queues.items():
            self._drop(side, len(queue))
        self._recent_stamps.clear()
        self._last_pair_ns = None
        self._last_stamp_ns.clear()

    def add(self, side: str, stamp_ns: int, item: Item) -> Optional[StereoPair[Item]]:
        """Offer one image; return the pair it completes, if any.

        Raises TimeJumpError (after resetting) when `stamp_ns` is older than the side's last.
        """
        setattr(self.stats, f'received_{side}', getattr(self.stats, f'received_{side}') + 1)
        previous_ns = self._last_stamp_ns.get(side)
        if previous_ns is not None and stamp_ns < previous_ns:
            self.reset()
            self._count_drop(side, 1)
            raise TimeJumpError(side, previous_ns, stamp_ns)
        self._last_stamp_ns[side] = stamp_ns
        own = self._queues[side]
        other = self._queues['right' if side == 'left' else 'left']
        if side == 'left' and (not self._recent_stamps or stamp_ns > self._recent_stamps[-1]):
            self._recent_stamps.append(stamp_ns)

        if self._last_pair_ns is not None and stamp_ns <= self._last_pair_ns:
            self._count_drop(side, 1)
            return None
        match = self._best_match(stamp_ns, other)
        if match is None:
            if stamp_ns in own:
                self._count_drop(side, 1)  # a duplicate stamp replaces the older image
            own[stamp_ns] = item
            if len(own) > self._queue_size:
                self._drop(side, 1)
            return None

        other_item = other.pop(match)
        left_ns, right_ns = (stamp_ns, match) if side == 'left' else (match, stamp_ns)
        left_item, right_item = (item, other_item) if side == 'left' else (other_item, item)
        self._last_pair_ns = max(left_ns, right_ns)
        # Older images can now only pair out of order.
        for queue_side, queue in self._queues.items():
            self._drop(queue_side, sum(1 for stamp in queue if stamp <= self._last_pair_ns))
        self.stats.pairs += 1
        return StereoPair(left_ns, right_ns, left_item, right_item)

    def _best_match(self, stamp_ns: int, other: Dict[int, Any]) -> Optional[int]:
        if stamp_ns in other:
            return stamp_ns
        tolerance = self.tolerance_ns
        if not tolerance or not other:
            return None
        nearest = min(other, key=lambda stamp: abs(stamp - stamp_ns))
        return nearest if abs(nearest - stamp_ns) <= tolerance else None

    def _drop(self, side: str, count: int) -> None:
        """Remove the `count` oldest items queued on `side` and count them."""
        queue = self._queues[side]
        for stamp in sorted(queue)[:count]:
            del queue[stamp]
        self._count_drop(side, count)

    def _count_drop(self, side: str, count: int) -> None:
        name = f'dropped_{side}'
        setattr(self.stats, name, getattr(self.stats, name) + count)
