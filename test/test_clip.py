# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the T-frame clip buffer (stereo_any_video_ros.clip): warm-up, stride, resets."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from stereo_any_video_ros.clip import Clip, ClipBuffer, ClipFrame

HEIGHT, WIDTH = 4, 6


def make_frame(stamp_ns: int, index: int = 0, size: Tuple[int, int] = (WIDTH, HEIGHT),
               frame_id: str = 'cam', calibration: Any = 'calibration-a') -> ClipFrame:
    """Return a frame whose left pixels are `index` and right pixels 255 - `index`."""
    width, height = size
    left = np.full((height, width, 3), index % 256, np.uint8)
    right = np.full((height, width, 3), 255 - index % 256, np.uint8)
    return ClipFrame(stamp_ns, left, right, frame_id, calibration, payload=index)


def indices(frames: Sequence[ClipFrame]) -> List[int]:
    return [frame.payload for frame in frames]


def push_all(buffer: ClipBuffer, frames: Sequence[ClipFrame]
             ) -> List[Tuple[List[Clip], Optional[str]]]:
    return [buffer.push(frame) for frame in frames]


# --- construction -------------------------------------------------------------------------

@pytest.mark.parametrize('length, stride, warmup, delay', [
    (0, 1, 'replicate', 0), (3, 0, 'replicate', 0), (3, 4, 'replicate', 0),
    (3, 1, 'pad', 0), (3, 2, 'replicate', 2), (3, 1, 'replicate', -1)])
def test_rejects_bad_arguments(length: int, stride: int, warmup: str, delay: int) -> None:
    with pytest.raises(ValueError):
        ClipBuffer(length, stride, warmup, delay=delay)


# --- warm-up and steady state ---------------------------------------------------------------

def test_replicate_warmup_first_clip_after_stride_frames() -> None:
    buffer = ClipBuffer(4, stride=2, warmup='replicate')
    frames = [make_frame(100 * i, i) for i in range(6)]
    clips, reason = buffer.push(frames[0])
    assert clips == [] and reason is None
    clips, reason = buffer.push(frames[1])
    assert reason is None and len(clips) == 1
    clip = clips[0]
    assert indices(clip.frames) == [0, 0, 0, 1]  # left-padded with the first frame
    assert clip.num_new == 2
    assert indices(clip.new_frames) == [0, 1]
    assert buffer.push(frames[2]) == ([], None)
    clips, _ = buffer.push(frames[3])
    assert [indices(c.frames) for c in clips] == [[0, 1, 2, 3]]
    assert clips[0].num_new == 2 and indices(clips[0].new_frames) == [2, 3]
    buffer.push(frames[4])
    clips, _ = buffer.push(frames[5])
    assert [indices(c.frames) for c in clips] == [[2, 3, 4, 5]]
    assert len(buffer) == 4


def test_replicate_stride_one_emits_every_frame() -> None:
    buffer = ClipBuffer(3, stride=1)
    got = [buffer.push(make_frame(10 * i, i))[0] for i in range(5)]
    assert [[indices(c.frames) for c in clips] for clips in got] == [
        [[0, 0, 0]], [[0, 0, 1]], [[0, 1, 2]], [[1, 2, 3]], [[2, 3, 4]]]
    assert all(c.num_new == 1 for clips in got for c in clips)


def test_wait_warmup_emits_nothing_until_full() -> None:
    buffer = ClipBuffer(4, stride=2, warmup='wait')
    frames = [make_frame(100 * i, i) for i in range(8)]
    for frame in frames[:3]:
        assert buffer.push(frame) == ([], None)
    clips, _ = buffer.push(frames[3])
    assert len(clips) == 1
    assert indices(clips[0].frames) == [0, 1, 2, 3]
    assert clips[0].num_new == 4  # every frame of the first clip is new
    assert buffer.push(frames[4]) == ([], None)
    clips, _ = buffer.push(frames[5])
    assert indices(clips[0].frames) == [2, 3, 4, 5] and clips[0].num_new == 2
    assert buffer.dropped == 0


def test_wait_warmup_stride_one() -> None:
    buffer = ClipBuffer(3, stride=1, warmup='wait')
    results = [buffer.push(make_frame(i, i))[0] for i in range(4)]
    assert [len(r) for r in results] == [0, 0, 1, 1]
    assert results[2][0].num_new == 3 and results[3][0].num_new == 1
    assert indices(results[3][0].frames) == [1, 2, 3]


def test_stacked_shapes_and_order() -> None:
    buffer = ClipBuffer(3, stride=3)
    clips = [c for i in range(3) for c in buffer.push(make_frame(i, 10 + i))[0]]
    assert len(clips) == 1
    left, right = clips[0].stacked()
    assert left.shape == right.shape == (3, HEIGHT, WIDTH, 3)
    assert left.dtype == right.dtype == np.uint8
    np.testing.assert_array_equal(left[:, 0, 0, 0], [10, 11, 12])
    np.testing.assert_array_equal(right[:, 0, 0, 0], [245, 244, 243])


def test_stacked_replicated_warmup() -> None:
    buffer = ClipBuffer(5, stride=1)
    (clip,), _ = buffer.push(make_frame(0, 7))
    left, right = clip.stacked()
    assert left.shape == (5, HEIGHT, WIDTH, 3)
    assert (left == 7).all() and (right == 248).all()


# --- resets -----------------------------------------------------------------------------------

def test_gap_resets_and_flushes_pending_replicate() -> None:
    buffer = ClipBuffer(3, stride=3, warmup='replicate', max_gap_ns=100)
    assert buffer.push(make_frame(0, 0)) == ([], None)
    assert buffer.push(make_frame(50, 1)) == ([], None)
    clips, reason = buffer.push(make_frame(500, 2))  # gap 450 > 100
    assert reason is not None and 'gap' in reason and 'max_frame_gap_seconds' in reason
    assert len(clips) == 1
    assert indices(clips[0].frames) == [0, 0, 1]  # the old shot, padded
    assert clips[0].num_new == 2
    assert buffer.resets == 1 and buffer.dropped == 0
    assert len(buffer) == 1  # only the new shot's first frame
    assert buffer.push(make_frame(550, 3)) == ([], None)
    clips, reason = buffer.push(make_frame(600, 4))
    assert reason is None
    assert indices(clips[0].frames) == [2, 3, 4]  # nothing of the old shot


def test_delayed_frames_are_emitted_when_the_shot_ends() -> None:
    buffer = ClipBuffer(4, stride=1, warmup='replicate', max_gap_ns=100, delay=2)
    emitted = []
    for i in range(5):
        for clip in buffer.push(make_frame(10 * i, i))[0]:
            emitted += indices(clip.new_frames)
            # The emitted frame has the delay's worth of newer frames after it.
            assert clip.delay == 2 and indices(clip.frames)[-1] == i
    assert emitted == [0, 1, 2]
    clips, reason = buffer.push(make_frame(1000, 5))  # gap: the old shot ends
    assert reason is not None and len(clips) == 1
    assert indices(clips[0].frames) == [1, 2, 3, 4]
    assert indices(clips[0].new_frames) == [3, 4] and clips[0].delay == 0
    assert buffer.dropped == 0


def test_gap_equal_to_limit_does_not_reset() -> None:
    buffer = ClipBuffer(2, stride=1, max_gap_ns=100)
    buffer.push(make_frame(0, 0))
    clips, reason = buffer.push(make_frame(100, 1))
    assert reason is None
    assert indices(clips[0].frames) == [0, 1]
    clips, reason = buffer.push(make_frame(201, 2))
    assert reason is not None and 'gap' in reason


def test_no_gap_reset_when_max_gap_is_zero() -> None:
    buffer = ClipBuffer(2, stride=1, max_gap_ns=0)
    buffer.push(make_frame(0, 0))
    clips, reason = buffer.push(make_frame(10**15, 1))
    assert reason is None and buffer.resets == 0
    assert indices(clips[0].frames) == [0, 1]


@pytest.mark.parametrize('stamp', [50, 100])
def test_backward_or_equal_stamp_resets(stamp: int) -> None:
    buffer = ClipBuffer(3, stride=2)
    buffer.push(make_frame(0, 0))
    buffer.push(make_frame(100, 1))  # emits [0, 0, 1]
    buffer.push(make_frame(200, 2))  # pending
    clips, reason = buffer.push(make_frame(stamp, 3))
    assert reason is not None and 'backwards' in reason
    assert [indices(c.frames) for c in clips] == [[0, 1, 2]]
    assert clips[0].num_new == 1
    assert buffer.resets == 1
    assert len(buffer) == 1


def test_image_size_change_resets() -> None:
    buffer = ClipBuffer(2, stride=2)
    buffer.push(make_frame(0, 0, size=(6, 4)))
    clips, reason = buffer.push(make_frame(1, 1, size=(8, 4)))
    assert reason is not None and 'size' in reason
    assert '(6, 4)' in reason and '(8, 4)' in reason
    assert [indices(c.frames) for c in clips] == [[0, 0]]
    assert buffer.resets == 1
    # The new shot never mixes sizes.
    clips, _ = buffer.push(make_frame(2, 2, size=(8, 4)))
    left, _ = clips[0].stacked()
    assert left.shape == (2, 4, 8, 3)


def test_frame_id_change_resets() -> None:
    buffer = ClipBuffer(2, stride=1)
    buffer.push(make_frame(0, 0, frame_id='cam_a'))
    clips, reason = buffer.push(make_frame(1, 1, frame_id='cam_b'))
    assert reason is not None and 'frame_id' in reason
    assert 'cam_a' in reason and 'cam_b' in reason
    assert [indices(c.frames) for c in clips] == [[1, 1]]
    assert buffer.resets == 1


def test_calibration_change_resets() -> None:
    buffer = ClipBuffer(2, stride=1)
    buffer.push(make_frame(0, 0, calibration=('fx', 400.0)))
    clips, reason = buffer.push(make_frame(1, 1, calibration=('fx', 400.0)))  # equal: same shot
    assert reason is None and indices(clips[0].frames) == [0, 1]
    clips, reason = buffer.push(make_frame(2, 2, calibration=('fx', 401.0)))
    assert reason is not None and 'camera_info' in reason
    assert [indices(c.frames) for c in clips] == [[2, 2]]
    assert buffer.resets == 1


def test_payload_change_does_not_reset() -> None:
    buffer = ClipBuffer(2, stride=1)
    buffer.push(make_frame(0, 0))
    _, reason = buffer.push(make_frame(1, 99))
    assert reason is None


def test_wait_reset_before_full_counts_dropped() -> None:
    buffer = ClipBuffer(4, stride=1, warmup='wait')
    buffer.push(make_frame(0, 0))
    buffer.push(make_frame(1, 1))
    buffer.push(make_frame(2, 2))
    clips, reason = buffer.push(make_frame(3, 3, frame_id='other'))
    assert clips == [] and 'frame_id' in reason
    assert buffer.dropped == 3 and buffer.resets == 1
    # The new shot needs a full clip again.
    for i in range(4, 6):
        assert buffer.push(make_frame(i, i, frame_id='other')) == ([], None)
    clips, _ = buffer.push(make_frame(6, 6, frame_id='other'))
    assert indices(clips[0].frames) == [3, 4, 5, 6] and clips[0].num_new == 4


def test_wait_reset_after_full_flushes_pending() -> None:
    buffer = ClipBuffer(3, stride=2, warmup='wait')
    for i in range(3):
        clips, _ = buffer.push(make_frame(i, i))
    assert indices(clips[0].frames) == [0, 1, 2]
    buffer.push(make_frame(3, 3))  # pending
    clips, reason = buffer.push(make_frame(4, 4, frame_id='other'))
    assert reason is not None
    assert [indices(c.frames) for c in clips] == [[1, 2, 3]]
    assert clips[0].num_new == 1
    assert buffer.dropped == 0


def test_resets_counter_and_manual_reset() -> None:
    buffer = ClipBuffer(2, stride=2, warmup='wait')
    buffer.reset()
    assert buffer.resets == 0 and buffer.dropped == 0  # nothing to forget
    buffer.push(make_frame(0, 0))
    buffer.push(make_frame(-5, 1))
    buffer.push(make_frame(-10, 2))
    assert buffer.resets == 2 and buffer.dropped == 2
    buffer.reset()
    assert buffer.resets == 3 and buffer.dropped == 3 and len(buffer) == 0


# --- property ---------------------------------------------------------------------------------

length_and_stride = st.integers(1, 6).flatmap(
    lambda length: st.tuples(st.just(length), st.integers(1, length)))


@settings(max_examples=200, deadline=None)
@given(length_and_stride,
       st.lists(st.integers(-50, 300), max_size=40),
       st.sampled_from((0, 100, 200)))
def test_replicate_emits_every_frame_once(length_stride, deltas, max_gap_ns) -> None:
    length, stride = length_stride
    buffer = ClipBuffer(length, stride, 'replicate', max_gap_ns)
    stamp = 0
    pushed = []
    shots = []  # expected shot number of each frame
    emitted_new: List[int] = []
    expected_resets = 0
    for index, delta in enumerate(deltas):
        previous = stamp
        stamp += delta
        if index and (delta <= 0 or (max_gap_ns and stamp - previous > max_gap_ns)):
            expected_resets += 1
        shots.append(expected_resets)
        frame = make_frame(stamp, index)
        pushed.append(index)
        clips, reason = buffer.push(frame)
        assert (reason is not None) == (index > 0 and shots[-1] != shots[-2])
        for clip in clips:
            assert len(clip.frames) == length
            assert 1 <= clip.num_new <= stride
            assert clip.new_frames == clip.frames[-clip.num_new:]
            clip_shots = {shots[i] for i in indices(clip.frames)}
            assert len(clip_shots) == 1  # never mixes shots
            stamps = [f.stamp_ns for f in clip.frames]
            assert stamps == sorted(stamps)
            emitted_new += indices(clip.new_frames)
    assert buffer.resets == expected_resets
    assert buffer.dropped == 0
    # Flush the tail with a frame that starts a new shot.
    clips, _ = buffer.push(make_frame(stamp + 1, -1, frame_id='flush'))
    for clip in clips:
        emitted_new += indices(clip.new_frames)
    assert emitted_new in (pushed, pushed + [-1])
    assert (emitted_new == pushed + [-1]) == (stride == 1)
