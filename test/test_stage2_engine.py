# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Stage 2 (one-step DepthCrafter) against a reference computed by hand.

The reference below is written from the recipe (stereodiff-architecture.md §5.6) and the
closed-form Euler v-prediction step, with its own sigmas (Karras formula, or the betas with
trailing spacing), its own window loop in DepthCrafter's ``latents_all`` form and its own
blending. It shares only the diffusers/transformers modules and CLIP preprocessing (checked
against the official code in test_depthcrafter_parity.py) with the engine. The engine uses the
diffusers scheduler, the streaming ``WindowStitcher``, per-window conditioning caches and
chunked decoding; both must give the same disparity.

Noise: the engine draws the RGB augmentation noise frame chunk by frame chunk and the latent
noise window by window from two generators seeded ``seed`` and ``seed + 1``. Torch's CPU normal
sampler fills 16 values at a time, so consecutive draws whose sizes are multiples of 16 (every
latent or frame here) equal one big draw: the reference draws once.
"""

import math

import numpy as np
import pytest
from stereodiff_ros.engines import stage2
from stereodiff_ros.engines.stage2 import (
    depth_to_disparity, normalise_in_place, stage2_size, Stage2Engine, Stage2Settings)
from stereodiff_ros.models.depthcrafter.conditioning import clip_embeddings
from stereodiff_ros.models.depthcrafter.config import tiny_depthcrafter
import torch
import torch.nn.functional as F

SIZE = (64, 64)  # DepthCrafter sizes are multiples of 64: the smallest there is


@pytest.fixture(scope='module')
def components():
    return tiny_depthcrafter()


def video(num_frames, size=SIZE, seed=0):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (num_frames, *size, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 8.0, (num_frames, 48, 40)).astype(np.float32)
    depth[:, :3, :3] = 0.0  # unknown depth: disparity 0
    return frames, depth


# -- the reference ------------------------------------------------------------------------------

def karras_sigmas(steps=4, sigma_min=0.002, sigma_max=700.0, rho=7.0):
    ramp = np.linspace(0, 1, steps)
    return (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
            ) ** rho


def trailing_sigmas(steps=4, zero_snr=False):
    betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=np.float64) ** 2
    alphas_bar = np.cumprod(1 - betas)
    if zero_snr:  # Lin et al. 2024: shift and scale sqrt(alpha_bar) so the last one is 0
        root = np.sqrt(alphas_bar)
        root = (root - root[-1]) * root[0] / (root[0] - root[-1])
        alphas_bar = root ** 2
        alphas_bar[-1] = 2.0 ** -24  # diffusers keeps the first sigma finite this way
    sigmas = np.sqrt((1 - alphas_bar) / alphas_bar)
    timesteps = np.round(np.arange(1000, 0, -1000 / steps)) - 1  # trailing: 999, 749, ...
    return np.interp(timesteps, np.arange(1000), sigmas)


def hand_sigmas(settings):
    sigmas = karras_sigmas() if settings.sigmas == 'karras' else \
        trailing_sigmas(zero_snr=settings.zero_snr)
    return float(sigmas[2]), float(sigmas[3])


def reference(parts, frames, depth, settings):
    """DepthCrafter's window loop with the one step of the paper, written out."""
    unet, vae = parts.unet, parts.vae
    num_frames = len(frames)
    sigma, sigma_next = hand_sigmas(settings)
    scaling = vae.config.scaling_factor
    rgb = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1
    rgb_noise = torch.randn(rgb.shape, generator=torch.Generator().manual_seed(settings.seed))
    latent_noise = torch.Generator().manual_seed(settings.seed + 1)
    with torch.inference_mode():
        embeddings = clip_embeddings(parts.image_encoder, rgb, parts.image_mean,
                                     parts.image_std)
        rgb_latents = vae.encode(rgb + 0.02 * rgb_noise).latent_dist.mode()
        resized = F.interpolate(torch.from_numpy(depth)[:, None], size=frames.shape[1:3],
                                mode='nearest')[:, 0]
        disparity = torch.where(resized > 0, 1 / resized.clamp(min=1e-12), 0.0)
        disparity = (disparity - disparity.min()) / (disparity.max() - disparity.min())
        clean = vae.encode((2 * disparity - 1)[:, None].repeat(1, 3, 1, 1)
                           ).latent_dist.mode() * scaling
        shared = torch.randn(clean.shape, generator=latent_noise) \
            if settings.latent_sharing else None
        window, overlap = settings.window, settings.overlap
        if num_frames <= window:
            window, overlap = num_frames, 0
        result, start = None, 0
        while start < num_frames - overlap:
            end = min(start + window, num_frames)
            noise = shared[start:end] if shared is not None else \
                torch.randn((end - start, *clean.shape[1:]), generator=latent_noise)
            x = clean[start:end] + sigma * noise
            if shared is not None and result is not None:
                x[:overlap] = result[-overlap:] + noise[:overlap] * sigma
            model_input = torch.cat([x / math.sqrt(sigma ** 2 + 1), rgb_latents[start:end]], 1)
            velocity = unet(model_input[None], torch.tensor(0.25 * math.log(sigma)),
                            embeddings[None, start:end],
                            torch.tensor([[7.0, 127.0, 0.02]]))[0]
            x0 = velocity * (-sigma / math.sqrt(sigma ** 2 + 1)) + x / (sigma ** 2 + 1)
            stepped = x + (x - x0) / sigma * (sigma_next - sigma)
            out = stepped if settings.decode_sample == 'prev_sample' else x0
            if result is None:
                result = out
            else:
                weight = torch.linspace(0, 1, overlap).view(-1, 1, 1, 1)
                result[-overlap:] = out[:overlap] * weight + result[-overlap:] * (1 - weight)
                result = torch.cat([result, out[overlap:]])
            start += window - overlap
        images = torch.cat([vae.decode(result[k:k + 8] / scaling, num_frames=len(result[k:k + 8])
                                       ).sample for k in range(0, num_frames, 8)])
        mean = ((images / 2 + 0.5).clamp(0, 1)).mean(1)
    return ((mean - mean.min()) / (mean.max() - mean.min())).numpy()


# -- sigmas --------------------------------------------------------------------------------------

@pytest.mark.parametrize('settings, expected', [
    (Stage2Settings(), (2.2691, 0.002)),
    (Stage2Settings(sigmas='trailing'), (1.613, 0.693)),
    (Stage2Settings(sigmas='trailing', zero_snr=True), (1.768, 0.727)),
])
def test_one_step_sigmas_are_the_documented_ones(components, settings, expected):
    engine = Stage2Engine(components, settings=settings)
    sigma, sigma_next = hand_sigmas(settings)
    assert engine.sigma_start == pytest.approx(sigma, rel=1e-5)
    assert engine.sigma_end == pytest.approx(sigma_next, rel=1e-4)
    assert (engine.sigma_start, engine.sigma_end) == pytest.approx(expected, abs=6e-4)
    assert float(engine.timestep) == pytest.approx(0.25 * math.log(sigma), abs=1e-5)


# -- numerics against the reference -------------------------------------------------------------

@pytest.mark.parametrize('num_frames, settings', [
    (5, Stage2Settings()),  # one window, DepthCrafter's defaults
    (5, Stage2Settings(sigmas='trailing', zero_snr=True, decode_sample='pred_original_sample')),
    (10, Stage2Settings(window=4, overlap=1)),  # three windows, blended; decode chunks 8 + 2
    (7, Stage2Settings(window=3, overlap=1, latent_sharing=True, seed=3)),
    (6, Stage2Settings(window=4, overlap=2, sigmas='trailing')),  # overlap of half a window
])
def test_engine_matches_the_hand_computed_one_step(components, num_frames, settings):
    frames, depth = video(num_frames)
    engine = Stage2Engine(components, settings=settings)
    got = engine.run(frames, depth, progress=False)
    expected = reference(components, frames, depth, settings)
    assert got.shape == (num_frames, *SIZE) and got.dtype == np.float32
    assert got.min() == 0.0 and got.max() == pytest.approx(1.0)
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_windows_change_the_result_only_through_the_model(components, monkeypatch):
    """With a denoiser that returns its clean input, blending identical latents and chunked
    decoding must give exactly the single-window output: stitching loses or repeats nothing."""
    def identity_denoise(self, conditioning, blend, previous, latent_noise):
        return torch.stack([c.disparity_latent for c in conditioning])

    monkeypatch.setattr(Stage2Engine, '_denoise', identity_denoise)
    frames, depth = video(11)
    whole = Stage2Engine(components).run(frames, depth, progress=False)
    for window, overlap in ((3, 1), (4, 3), (10, 2), (2, 0)):
        windowed = Stage2Engine(components, settings=Stage2Settings(
            window=window, overlap=overlap)).run(frames, depth, progress=False)
        # w·x + (1 − w)·x rounds: 1e-7 in latents, ~1e-6 after the decoder
        np.testing.assert_allclose(windowed, whole, atol=1e-5, err_msg=f'{window}/{overlap}')


def test_each_frame_is_conditioned_once_and_the_cache_stays_within_a_window(
        components, monkeypatch):
    conditioned, cache_sizes = [], []
    condition = Stage2Engine._condition

    def recording(self, indices, *args):
        conditioned.extend(indices)
        return condition(self, indices, *args)

    denoise = Stage2Engine._denoise

    def measuring(self, conditioning, *args):
        cache_sizes.append(len(conditioning))
        return denoise(self, conditioning, *args)

    monkeypatch.setattr(Stage2Engine, '_condition', recording)
    monkeypatch.setattr(Stage2Engine, '_denoise', measuring)
    frames, depth = video(9)
    Stage2Engine(components, settings=Stage2Settings(window=4, overlap=2)).run(
        frames, depth, progress=False)
    assert conditioned == list(range(9))
    assert cache_sizes == [4, 4, 4, 3]


def test_output_goes_into_a_memory_map_and_matches_the_array_result(components, tmp_path):
    frames, depth = video(5, size=(64, 128))
    out = np.lib.format.open_memmap(tmp_path / 'disparity.npy', 'w+', np.float32, (5, 64, 128))
    engine = Stage2Engine(components)
    returned = engine.run(frames, depth, progress=False, out=out)
    assert returned is out
    np.testing.assert_array_equal(np.load(tmp_path / 'disparity.npy'),
                                  engine.run(frames, depth, progress=False))


def test_output_comes_back_at_the_input_resolution(components):
    """A 50×90 video runs at 64×64 (multiples of 64) and is resized back."""
    frames, depth = video(3, size=(50, 90))
    got = Stage2Engine(components).run(frames, depth, progress=False)
    assert got.shape == (3, 50, 90)
    assert np.isfinite(got).all() and got.min() == 0.0 and got.max() == pytest.approx(1.0)


def test_bf16_keeps_the_vae_encoder_in_fp32_and_decodes_in_bf16(components):
    engine = Stage2Engine(tiny_depthcrafter(), precision='bf16')
    assert next(engine.vae.encoder.parameters()).dtype == torch.float32
    assert next(engine.vae.decoder.parameters()).dtype == torch.bfloat16
    assert next(engine.unet.parameters()).dtype == torch.bfloat16
    frames, depth = video(3)
    got = engine.run(frames, depth, progress=False)
    fp32 = Stage2Engine(components).run(frames, depth, progress=False)
    assert np.corrcoef(got.ravel(), fp32.ravel())[0, 1] > 0.9


# -- helpers and errors --------------------------------------------------------------------------

@pytest.mark.parametrize('size, max_resolution, expected', [
    ((480, 640), 1024, (512, 640)),
    ((720, 1280), 1024, (576, 1024)),
    ((1080, 1920), 1024, (576, 1024)),
    ((576, 1024), 1024, (576, 1024)),
    ((1080, 1920), 512, (256, 512)),
    ((30, 40), 1024, (64, 64)),
])
def test_stage2_size_follows_depthcrafter_open_video_rule(size, max_resolution, expected):
    assert stage2_size(*size, max_resolution) == expected


def test_disparity_is_zero_where_depth_is_unknown():
    depth = torch.tensor([2.0, 0.0, -1.0, float('nan'), float('inf'), 0.5])
    np.testing.assert_array_equal(depth_to_disparity(depth).numpy(),
                                  [0.5, 0.0, 0.0, 0.0, 0.0, 2.0])


def test_normalisation_spans_the_whole_array_and_flat_input_gives_zeros():
    values = np.arange(300, dtype=np.float32).reshape(100, 3) + 7
    normalise_in_place(values, rows=7)
    assert values.min() == 0.0 and values.max() == 1.0
    np.testing.assert_allclose(values.ravel(), np.arange(300) / 299, atol=1e-6)
    flat = np.full((4, 2), 3.0, np.float32)
    normalise_in_place(flat)
    assert (flat == 0).all()


@pytest.mark.parametrize('changes, message', [
    (dict(window=0), 'window >= 1'),
    (dict(window=5, overlap=5), 'overlap < window'),
    (dict(zero_snr=True), "sigmas='trailing'"),
    (dict(sigmas='linear'), "'karras' or 'trailing'"),
    (dict(decode_sample='sample'), 'prev_sample'),
    (dict(max_resolution=32), 'at least 64'),
])
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        Stage2Settings(**changes)


def test_bad_inputs_are_refused(components, tmp_path):
    engine = Stage2Engine(components)
    frames, depth = video(3)
    with pytest.raises(ValueError, match='3 frames but 2 depth maps'):
        engine.run(frames, depth[:2], progress=False)
    with pytest.raises(ValueError, match='out has shape'):
        engine.run(frames, depth, progress=False, out=np.zeros((3, 8, 8), np.float32))
    with pytest.raises(ValueError, match='a video must keep one size'):
        engine.run([frames[0], frames[1][:32]], depth[:2], progress=False)
    with pytest.raises(ValueError, match='fp16 autocast needs a CUDA device'):
        Stage2Engine(components, precision='fp16')


def test_out_of_memory_names_what_to_lower(components, monkeypatch):
    def exhausted(*args):
        raise torch.OutOfMemoryError('CUDA out of memory')

    monkeypatch.setattr(stage2.Stage2Engine, '_run', exhausted)
    frames, depth = video(2)
    with pytest.raises(MemoryError, match='lower clip_length'):
        Stage2Engine(components).run(frames, depth, progress=False)
