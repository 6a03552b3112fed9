# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the ROS-free left/right synchronizer (stereo_any_video_ros.sync)."""
from __future__ import annotations

from typing import List, Optional, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from stereo_any_video_ros.sync import (StereoPair, StereoSynchronizer, SyncStats,
                                       TimeJumpError)

Event = Tuple[str, int]


def queued(sync: StereoSynchronizer) -> int:
    """Items still waiting in the synchronizer (peeks at the private queues)."""
    return sum(len(queue) for queue in sync._queues.values())


def assert_accounting(sync: StereoSynchronizer) -> None:
    stats = sync.stats
    assert stats.received_left + stats.received_right == (
        2 * stats.pairs + stats.dropped_left + stats.dropped_right + queued(sync))


def feed(sync: StereoSynchronizer, events: List[Event]) -> List[StereoPair]:
    """Add (side, stamp) events with items (side, stamp, index); return the pairs."""
    pairs = []
    for index, (side, stamp) in enumerate(events):
        pair = sync.add(side, stamp, (side, stamp, index))
        if pair is not None:
            pairs.append(pair)
    return pairs


# --- construction -------------------------------------------------------------------------

def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match='queue_size'):
        StereoSynchronizer(queue_size=0)
    with pytest.raises(ValueError, match='tolerance_ns'):
        StereoSynchronizer(approximate=True, tolerance_ns=-1)


def test_exact_mode_has_zero_tolerance() -> None:
    assert StereoSynchronizer(tolerance_ns=1000).tolerance_ns == 0
    assert StereoSynchronizer(approximate=True, tolerance_ns=1000).tolerance_ns == 1000


def test_stats_count_arrivals_and_pairs() -> None:
    sync = StereoSynchronizer()
    sync.add('left', 1, 'l')
    assert sync.stats == SyncStats(received_left=1)
    sync.add('right', 1, 'r')
    assert sync.stats == SyncStats(received_left=1, received_right=1, pairs=1)


# --- exact pairing --------------------------------------------------------------------------

def test_exact_pairing_either_order() -> None:
    sync = StereoSynchronizer(queue_size=5)
    assert sync.add('left', 100, 'L1') is None
    assert sync.add('right', 100, 'R1') == StereoPair(100, 100, 'L1', 'R1')
    assert sync.add('right', 200, 'R2') is None
    assert sync.add('left', 200, 'L2') == StereoPair(200, 200, 'L2', 'R2')
    assert sync.stats == SyncStats(received_left=2, received_right=2, pairs=2)
    assert queued(sync) == 0


def test_exact_mode_never_pairs_different_stamps() -> None:
    sync = StereoSynchronizer(queue_size=5)
    assert sync.add('left', 100, 'L') is None
    assert sync.add('right', 101, 'R') is None
    assert sync.stats.pairs == 0
    assert queued(sync) == 2


def test_exact_match_found_among_several_queued() -> None:
    sync = StereoSynchronizer(queue_size=5)
    for stamp in (10, 20, 30):
        assert sync.add('left', stamp, f'L{stamp}') is None
    pair = sync.add('right', 20, 'R20')
    assert pair == StereoPair(20, 20, 'L20', 'R20')
    # L10 can only pair out of order now: dropped. L30 stays.
    assert sync.stats.dropped_left == 1
    assert sorted(sync._queues['left']) == [30]
    assert sync.add('right', 30, 'R30') == StereoPair(30, 30, 'L30', 'R30')
    assert_accounting(sync)


# --- approximate pairing --------------------------------------------------------------------

def test_fixed_tolerance_pairs_within_and_not_beyond() -> None:
    sync = StereoSynchronizer(queue_size=5, approximate=True, tolerance_ns=10)
    assert sync.add('left', 100, 'L1') is None
    assert sync.add('right', 110, 'R1') == StereoPair(100, 110, 'L1', 'R1')
    assert sync.add('right', 200, 'R2') is None
    assert sync.add('left', 211, 'L2') is None  # 11 ns apart: beyond the tolerance
    assert sync.stats.pairs == 1
    assert sync.add('left', 300, 'L3') is None
    assert sync.add('right', 291, 'R3') == StereoPair(300, 291, 'L3', 'R3')
    assert_accounting(sync)


def test_auto_tolerance_is_exact_until_two_left_stamps() -> None:
    sync = StereoSynchronizer(queue_size=5, approximate=True)
    assert sync.tolerance_ns == 0
    assert sync.add('left', 1000, 'L0') is None
    assert sync.tolerance_ns == 0
    # Only one stamp known: a right image 1 ns away must not pair.
    assert sync.add('right', 1001, 'R0') is None
    assert sync.stats.pairs == 0


def test_auto_tolerance_is_half_the_median_left_period() -> None:
    sync = StereoSynchronizer(queue_size=20, approximate=True)
    for stamp in (0, 100, 200, 500):  # periods 100, 100, 300 -> median 100
        sync.add('left', stamp, stamp)
    assert sync.tolerance_ns == 50
    # Right stamps do not enter the period estimate.
    sync.add('right', 10_000, 'far')
    assert sync.tolerance_ns == 50
    # Behaviour matches: 549 is within 50 of the queued 500.
    other = StereoSynchronizer(queue_size=20, approximate=True)
    for stamp in (0, 100, 200, 500):
        other.add('left', stamp, stamp)
    assert other.add('right', 551, 'R') is None
    third = StereoSynchronizer(queue_size=20, approximate=True)
    for stamp in (0, 100, 200, 500):
        third.add('left', stamp, stamp)
    assert third.add('right', 549, 'R') == StereoPair(500, 549, 500, 'R')


def test_auto_tolerance_median_of_even_count() -> None:
    sync = StereoSynchronizer(approximate=True, queue_size=10)
    for stamp in (0, 100, 300):  # periods 100, 200 -> median 150
        sync.add('left', stamp, stamp)
    assert sync.tolerance_ns == 75


def test_auto_tolerance_follows_recent_periods() -> None:
    sync = StereoSynchronizer(approximate=True, queue_size=100)
    stamp = 0
    sync.add('left', stamp, stamp)
    for _ in range(20):
        stamp += 100
        sync.add('left', stamp, stamp)
    assert sync.tolerance_ns == 50
    for _ in range(10):  # more than the 9 periods kept
        stamp += 1000
        sync.add('left', stamp, stamp)
    assert sync.tolerance_ns == 500


def test_nearest_candidate_wins() -> None:
    sync = StereoSynchronizer(queue_size=5, approximate=True, tolerance_ns=50)
    for stamp in (100, 130, 160):
        sync.add('right', stamp, f'R{stamp}')
    pair = sync.add('left', 140, 'L140')
    assert pair == StereoPair(140, 130, 'L140', 'R130')
    # R100 is older than the pair: dropped; R160 waits for a later left.
    assert sync.stats.dropped_right == 1
    assert sorted(sync._queues['right']) == [160]
    assert sync.add('left', 158, 'L158') == StereoPair(158, 160, 'L158', 'R160')
    assert_accounting(sync)


def test_exact_match_preferred_over_nearer_in_tolerance() -> None:
    sync = StereoSynchronizer(queue_size=5, approximate=True, tolerance_ns=50)
    sync.add('right', 120, 'R120')
    sync.add('right', 125, 'R125')
    assert sync.add('left', 125, 'L') == StereoPair(125, 125, 'L', 'R125')


# --- queue bound, stale items, duplicates ------------------------------------------------------

def test_queue_bound_drops_oldest_and_counts() -> None:
    sync = StereoSynchronizer(queue_size=3)
    for stamp in range(1, 6):
        assert sync.add('left', stamp, f'L{stamp}') is None
    assert sorted(sync._queues['left']) == [3, 4, 5]
    assert sync.stats.dropped_left == 2
    # The dropped stamps no longer pair.
    assert sync.add('right', 1, 'R1') is None
    assert sync.add('right', 2, 'R2') is None
    assert sync.add('right', 3, 'R3') == StereoPair(3, 3, 'L3', 'R3')
    assert sync.stats.dropped_right == 2  # R1 and R2 can only pair out of order now
    assert sync.add('right', 4, 'R4') == StereoPair(4, 4, 'L4', 'R4')
    assert_accounting(sync)


def test_stale_arrival_older_than_last_pair_is_dropped() -> None:
    sync = StereoSynchronizer(queue_size=5, approximate=True, tolerance_ns=20)
    assert sync.add('left', 100, 'L100') is None
    assert sync.add('right', 110, 'R110') == StereoPair(100, 110, 'L100', 'R110')
    # 105 is newer than the last left (100) but older than the pair (110).
    assert sync.add('left', 105, 'L105') is None
    assert sync.stats.dropped_left == 1
    assert queued(sync) == 0
    # A matching right must not rescue it.
    assert sync.add('right', 112, 'R112') is None
    assert sync.stats.pairs == 1
    assert_accounting(sync)


def test_duplicate_stamp_replaces_queued_image() -> None:
    sync = StereoSynchronizer(queue_size=5)
    sync.add('left', 100, 'old')
    sync.add('left', 100, 'new')
    assert sync.stats.dropped_left == 1
    assert sync.add('right', 100, 'R') == StereoPair(100, 100, 'new', 'R')
    # A third image at the paired stamp is stale.
    assert sync.add('left', 100, 'late') is None
    assert sync.add('right', 100, 'late') is None
    assert sync.stats.pairs == 1
    assert sync.stats.dropped_left == 2
    assert sync.stats.dropped_right == 1
    assert_accounting(sync)


# --- time jumps -------------------------------------------------------------------------------

def test_backward_stamp_raises_resets_and_recovers() -> None:
    sync = StereoSynchronizer(queue_size=5)
    sync.add('left', 100, 'L100')
    sync.add('right', 100, 'R100')
    sync.add('left', 200, 'L200')
    with pytest.raises(TimeJumpError) as raised:
        sync.add('right', 50, 'R50')
    error = raised.value
    assert (error.side, error.previous_ns, error.stamp_ns) == ('right', 100, 50)
    assert 'backwards' in str(error) and 'use_sim_time' in str(error)
    assert queued(sync) == 0
    assert sync.stats.dropped_left == 1  # L200, forgotten by the reset
    assert sync.stats.dropped_right == 1  # R50 itself was not queued
    assert_accounting(sync)
    # Stamps older than the previous pair form pairs again.
    assert sync.add('left', 60, 'L60') is None
    assert sync.add('right', 60, 'R60') == StereoPair(60, 60, 'L60', 'R60')
    assert sync.add('right', 70, 'R70') is None
    assert sync.add('left', 70, 'L70') == StereoPair(70, 70, 'L70', 'R70')
    assert_accounting(sync)


def test_left_time_jump_resets_auto_tolerance() -> None:
    sync = StereoSynchronizer(queue_size=5, approximate=True)
    for stamp in (1000, 1100, 1200):
        sync.add('left', stamp, stamp)
    assert sync.tolerance_ns == 50
    with pytest.raises(TimeJumpError) as raised:
        sync.add('left', 0, 0)
    assert raised.value.side == 'left'
    assert sync.tolerance_ns == 0
    assert sync.add('left', 10, 'L') is None
    assert sync.add('right', 11, 'R') is None  # exact again until two stamps are known
    assert_accounting(sync)


def test_equal_stamp_on_same_side_is_not_a_jump() -> None:
    sync = StereoSynchronizer()
    sync.add('left', 5, 'a')
    assert sync.add('left', 5, 'b') is None  # no TimeJumpError


# --- properties -------------------------------------------------------------------------------

@st.composite
def adjacent_interleavings(draw) -> Tuple[List[int], List[Event]]:
    stamps = sorted(draw(st.sets(st.integers(0, 10**12), min_size=1, max_size=30)))
    events: List[Event] = []
    for stamp in stamps:
        first = draw(st.sampled_from(('left', 'right')))
        second = 'right' if first == 'left' else 'left'
        events += [(first, stamp), (second, stamp)]
    return stamps, events


@settings(max_examples=150, deadline=None)
@given(adjacent_interleavings(), st.integers(1, 5), st.booleans(),
       st.sampled_from((0, 1, 1000)))
def test_adjacent_arrivals_always_pair(case, queue_size, approximate, tolerance_ns) -> None:
    stamps, events = case
    sync = StereoSynchronizer(queue_size, approximate, tolerance_ns)
    pairs = feed(sync, events)
    assert [(p.left_stamp_ns, p.right_stamp_ns) for p in pairs] == [(s, s) for s in stamps]
    for pair in pairs:
        assert pair.left[:2] == ('left', pair.left_stamp_ns)
        assert pair.right[:2] == ('right', pair.right_stamp_ns)
    assert sync.stats == SyncStats(len(stamps), len(stamps), len(stamps), 0, 0)
    assert queued(sync) == 0


events_strategy = st.lists(
    st.tuples(st.sampled_from(('left', 'right')), st.integers(0, 40)), max_size=60)


def check_run(sync: StereoSynchronizer, events: List[Event], exact: bool,
              jumps_allowed: bool = True) -> None:
    """Feed events, checking the invariants after every add."""
    last_pair: Optional[StereoPair] = None
    for index, (side, stamp) in enumerate(events):
        try:
            pair = sync.add(side, stamp, (side, stamp, index))
        except TimeJumpError as error:
            assert jumps_allowed
            assert error.side == side and error.stamp_ns == stamp < error.previous_ns
            assert queued(sync) == 0
            last_pair = None  # output order restarts
            assert_accounting(sync)
            continue
        assert_accounting(sync)
        if pair is None:
            continue
        assert pair.left == ('left', pair.left_stamp_ns, pair.left[2])
        assert pair.right == ('right', pair.right_stamp_ns, pair.right[2])
        assert (side, stamp, index) in (pair.left, pair.right)
        if exact:
            assert pair.left_stamp_ns == pair.right_stamp_ns
        else:
            assert abs(pair.left_stamp_ns - pair.right_stamp_ns) <= sync.tolerance_ns
        if last_pair is not None:
            assert pair.left_stamp_ns > last_pair.left_stamp_ns
            assert pair.right_stamp_ns > last_pair.right_stamp_ns
            assert min(pair.left_stamp_ns, pair.right_stamp_ns) > max(
                last_pair.left_stamp_ns, last_pair.right_stamp_ns)
        last_pair = pair
    assert all(len(queue) <= sync._queue_size for queue in sync._queues.values())


@settings(max_examples=300, deadline=None)
@given(events_strategy, st.integers(1, 4))
def test_arbitrary_interleavings_exact(events, queue_size) -> None:
    check_run(StereoSynchronizer(queue_size), events, exact=True)


@settings(max_examples=300, deadline=None)
@given(events_strategy, st.integers(1, 4), st.sampled_from((0, 1, 3)))
def test_arbitrary_interleavings_approximate(events, queue_size, tolerance_ns) -> None:
    check_run(StereoSynchronizer(queue_size, True, tolerance_ns), events, exact=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(('left', 'right')), st.integers(0, 5)),
                max_size=60), st.integers(1, 4))
def test_monotone_streams_never_time_jump(steps, queue_size) -> None:
    # Per-side non-decreasing stamps: no TimeJumpError, accounting holds throughout.
    sync = StereoSynchronizer(queue_size)
    clock = {'left': 0, 'right': 0}
    events = []
    for side, step in steps:
        clock[side] += step
        events.append((side, clock[side]))
    check_run(sync, events, exact=True, jumps_allowed=False)
    assert sync.stats.received_left + sync.stats.received_right == len(events)
