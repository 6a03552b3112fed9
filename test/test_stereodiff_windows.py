"""Stage-2 windows: every frame exactly once, DepthCrafter's linear latent blending, streaming."""

import pytest
from stereodiff_ros.windows import blend_weights, diffusion_windows, WindowStitcher
import torch


def accumulate_whole(windows, outputs):
    """The blending written the plain way: keep everything, blend each new window's head into
    the tail of what is there, append the rest."""
    result = None
    for window, latents in zip(windows, outputs):
        if result is None:
            result = latents.clone()
            continue
        if not window.blend:
            result = torch.cat((result, latents))
            continue
        weight = torch.linspace(0, 1, window.blend).view(-1, 1, 1)
        result[-window.blend:] = latents[:window.blend] * weight + result[-window.blend:] * (
            1 - weight)
        result = torch.cat((result, latents[window.blend:]))
    return result


CONFIGS = [(110, 25)] + [(w, o) for w in (1, 2, 3, 5) for o in range(w)]


@pytest.mark.parametrize('window, overlap', CONFIGS)
def test_every_frame_is_covered_once_and_blended_as_depthcrafter_does(window, overlap):
    for num_frames in range(1, 301 if window == 110 else 40):
        windows = diffusion_windows(num_frames, window, overlap)
        assert windows[0].start == 0 and windows[-1].end == num_frames
        # each frame enters the output once: new frames of each window tile [0, T)
        new = [k for w in windows for k in range(w.start + w.blend, w.end)]
        assert new == list(range(num_frames))
        for before, after in zip(windows, windows[1:]):
            assert after.start == before.end - after.blend
            assert after.end - after.start > after.blend  # a window always adds frames
        if num_frames <= window:
            assert windows == [windows[0]] and windows[0].blend == 0

        generator = torch.Generator().manual_seed(num_frames)
        outputs = [torch.randn(w.end - w.start, 2, 3, generator=generator) for w in windows]
        stitcher = WindowStitcher(num_frames, window, overlap)
        streamed = [stitcher.add(latents) for latents in outputs]
        assert stitcher.done
        torch.testing.assert_close(torch.cat(streamed), accumulate_whole(windows, outputs))


def test_depthcrafter_numbers():
    # 110/25: windows start every 85 frames while they still add frames beyond the overlap
    assert [(w.start, w.end, w.blend) for w in diffusion_windows(300)] == [
        (0, 110, 0), (85, 195, 25), (170, 280, 25), (255, 300, 25)]
    assert [(w.start, w.end) for w in diffusion_windows(195)] == [(0, 110), (85, 195)]
    assert [(w.start, w.end) for w in diffusion_windows(110)] == [(0, 110)]
    weights = blend_weights(25)
    assert weights[0] == 0 and weights[-1] == 1 and len(weights) == 25


def test_streaming_holds_one_overlap_and_hands_frames_on_early():
    stitcher = WindowStitcher(300)
    sizes = [len(stitcher.add(torch.zeros(w.end - w.start, 1)))
             for w in stitcher.windows]
    assert sizes == [85, 85, 85, 45]


def test_misuse_gets_clear_errors():
    with pytest.raises(ValueError, match='overlap'):
        diffusion_windows(10, 5, 5)
    with pytest.raises(ValueError, match='at least one frame'):
        diffusion_windows(0)
    stitcher = WindowStitcher(200)
    with pytest.raises(ValueError, match='covers frames'):
        stitcher.add(torch.zeros(100, 1))
    for size in (110, 110, 30):  # [0, 110), [85, 195), [170, 200)
        stitcher.add(torch.zeros(size, 1))
    with pytest.raises(RuntimeError, match='already added'):
        stitcher.add(torch.zeros(10, 1))
