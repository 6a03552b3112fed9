# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Frame accounting of the SAV engine: official windows, padding and online clips.

A stand-in model that echoes its input makes every output value say which frame and which
window position it came from, so stitching is checked without running the network.
"""
import numpy as np
import pytest
from stereo_any_video_ros.clip import ClipBuffer, ClipFrame
from stereo_any_video_ros.engines.sav import (
    official_windows, replicate_padding, SavEngine)
import torch

POSITION_CODE = 1000.0


class EchoModel(torch.nn.Module):
    """'Disparity' = the left red channel plus 1000 × the frame's position in the clip."""

    def forward(self, left, right, iters):
        assert left.shape[-2] % 32 == 0 and left.shape[-1] % 32 == 0
        position = torch.arange(left.shape[1], dtype=torch.float32).view(1, -1, 1, 1)
        return left[:, :, 0] + POSITION_CODE * position


def upstream_kept_frames(num_frames):
    """Upstream forward_batch_test's index logic, transcribed literally: for each kept output,
    (frame index, position in its window)."""
    kernel, stride = 20, 10
    kept = []
    for i in range(0, num_frames, stride):
        window = list(range(i, min(i + kernel, num_frames)))
        positions = list(enumerate(window))
        if kept and len(window) >= stride:
            kept += positions[stride // 2:] if len(window) < kernel else \
                positions[stride // 2:-stride // 2]
        elif not kept:
            kept += positions[:-stride // 2]
    return [(frame, position) for position, frame in kept]


def frames(n, height=8, width=12):
    left = np.zeros((n, height, width, 3), dtype=np.uint8)
    left[..., 0] = np.arange(n, dtype=np.uint8)[:, None, None]
    return left, left.copy()


@pytest.mark.parametrize('n', range(1, 51))
def test_every_frame_gets_exactly_one_output(n):
    covered = [i for w in official_windows(n) for i in range(w.keep_from, w.keep_to)]
    assert covered == list(range(n))
    plan = official_windows(n)
    assert all(w.end - w.start <= 20 and w.start <= w.keep_from < w.keep_to <= w.end
               for w in plan)
    if n >= 20:  # the official plan, unchanged
        expected = upstream_kept_frames(n)
        got = [(i, i - w.start) for w in plan for i in range(w.keep_from, w.keep_to)]
        assert got == expected
    else:  # upstream loses the last 5 frames here; we keep the lone window whole
        assert len(upstream_kept_frames(n)) == max(n - 5, 0)
        assert plan == [type(plan[0])(0, n, 0, n)]


@pytest.mark.parametrize('n', [1, 7, 19, 20, 25, 45, 50])
def test_sequence_stitching_takes_each_frame_from_its_window_position(n):
    engine = SavEngine(EchoModel())
    left, right = frames(n)
    out = engine.infer_sequence(left, right)
    assert out.shape == (n, 8, 12) and out.dtype == np.float32
    position = {i: i - w.start
                for w in official_windows(n) for i in range(w.keep_from, w.keep_to)}
    for i in range(n):
        assert np.all(out[i] == i + POSITION_CODE * position[i]), i


def test_padding_is_replicate_and_split_like_upstream():
    assert replicate_padding(64, 128) == (0, 0, 0, 0)
    assert replicate_padding(70, 130) == (15, 15, 13, 13)
    assert replicate_padding(720, 1280) == (0, 0, 8, 8)
    assert replicate_padding(480, 641) == (15, 16, 0, 0)
    engine = SavEngine(EchoModel())
    rng = np.random.default_rng(0)
    left = rng.integers(0, 256, (3, 37, 45, 3), dtype=np.uint8)
    out = engine.infer_clip(left, left)
    # Unpadding puts every pixel back where it came from.
    assert np.array_equal(out, left[..., 0] + POSITION_CODE * np.arange(3)[:, None, None])


def test_clip_length_and_shape_errors():
    engine = SavEngine(EchoModel())
    with pytest.raises(ValueError, match='1 to 32 frames'):
        engine.infer_clip(*frames(33))
    with pytest.raises(ValueError, match='one shape'):
        engine.infer_clip(frames(2)[0], frames(3)[0])
    with pytest.raises(ValueError, match='non-empty'):
        engine.infer_sequence(*frames(0))
    with pytest.raises(ValueError, match='CUDA device'):
        SavEngine(EchoModel(), 'cpu', 'fp16')
    with pytest.raises(ValueError, match='precision'):
        SavEngine(EchoModel(), 'cpu', 'int8')


class ExhaustedModel(torch.nn.Module):
    def forward(self, left, right, iters):
        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB')


def test_out_of_memory_becomes_an_actionable_memory_error():
    with pytest.raises(MemoryError, match='clip_length.*lower inference resolution'):
        SavEngine(ExhaustedModel()).infer_clip(*frames(4))


ONLINE_SETTINGS = [(20, 1, 0), (20, 1, 10), (20, 10, 5), (5, 2, 3), (4, 4, 0), (3, 1, 2)]


@pytest.mark.parametrize('length,stride,delay', ONLINE_SETTINGS)
@pytest.mark.parametrize('warmup', ['replicate', 'wait'])
def test_online_mode_emits_every_frame_once_with_its_delay(length, stride, delay, warmup):
    for n in range(1, 51):
        buffer = ClipBuffer(length, stride, warmup, delay=delay)
        emitted = []
        for i in range(n):
            for clip in buffer.push(ClipFrame(i + 1, np.zeros((2, 2, 3), np.uint8),
                                              np.zeros((2, 2, 3), np.uint8), 'cam', None))[0]:
                emitted += [f.stamp_ns - 1 for f in clip.new_frames]
                assert len(clip.frames) == length
                newest = clip.frames[-1].stamp_ns - 1
                # Each frame is output with `delay` newer frames of context while streaming.
                assert newest - (clip.new_frames[-1].stamp_ns - 1) == delay
                assert newest == i
        for clip in buffer.flush():
            emitted += [f.stamp_ns - 1 for f in clip.new_frames]
        if warmup == 'wait' and n < length:
            assert emitted == [] and buffer.dropped == 0  # reset() would count them
        else:
            assert emitted == list(range(n)), (n, emitted)
