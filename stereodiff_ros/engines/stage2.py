# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""StereoDiff stage 2: DepthCrafter as a one-step video denoiser of stage 1's disparity.

The recipe (paper §3.3 and §4.1.1; stereodiff-architecture.md §5.6): stage 1's depth is
nearest-resized to DepthCrafter's resolution, turned into disparity normalised once over the
whole video, VAE-encoded and scaled. Each 110-frame window is noised to the level of t = 2 of 4
trailing steps, denoised by one UNet call conditioned exactly as DepthCrafter conditions (one CLIP
embedding per frame, latents of the noise-augmented RGB, time ids [7, 127, 0.02]) and stepped to
t = 1. Windows overlap by 25 frames and are blended linearly in latent space; the result is
decoded in chunks of 8, averaged over channels and normalised once over the whole video.

Everything is streamed window by window: a frame's conditioning is computed when its first
window needs it and kept only while a later window still overlaps it, and finished latents are
decoded as soon as a chunk is complete. Device memory is therefore bounded by one window, and
the host keeps only the output (which may be a memory-mapped array).

Choices the paper leaves open are ``Stage2Settings`` fields, defaults as the spec recommends.
"""

from dataclasses import asdict, dataclass
import logging
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
from diffusers import EulerDiscreteScheduler
import numpy as np
from stereo_any_video_ros.engines.sav import check_device
from stereodiff_ros.models.depthcrafter.conditioning import (
    added_time_ids, clip_embeddings, decode_disparity, vae_latents)
from stereodiff_ros.models.depthcrafter.pretrained import DepthCrafterComponents, load_depthcrafter
from stereodiff_ros.windows import WindowStitcher
import torch
import torch.nn.functional as F
from tqdm import tqdm

LOG = logging.getLogger(__name__)

NUM_STEPS = 4  # the schedule the one step is taken from (paper: T = 4)
START_STEP = 2  # positions 0..3 are t = 4..1: t = 2 is position 2, and one step lands on t = 1
CHUNK = 8  # DepthCrafter's encode/decode chunk; the temporal decoder sees chunks of this length
NOISE_AUG_STRENGTH = 0.02  # DepthCrafter's RGB noise augmentation, also its third time id
SIZE_MULTIPLE = 64  # DepthCrafter rounds open-video sizes to multiples of 64
WEIGHT_DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


@dataclass(frozen=True)
class Stage2Settings:
    """The paper's stage-2 parameters and the choices it leaves open."""

    window: int = 110
    overlap: int = 25
    max_resolution: int = 1024  # DepthCrafter's max_res: the long side, sides multiples of 64
    # 'karras': SVD's shipped Karras sigmas (σ 2.269 → 0.002, whatever the spacing);
    # 'trailing': Karras off, trailing spacing over the betas (σ 1.613 → 0.693).
    sigmas: str = 'karras'
    zero_snr: bool = False  # rescale the betas to zero terminal SNR (trailing sigmas only)
    # what the one step hands to the decoder; they differ by σ_end/σ_start of noise
    decode_sample: str = 'prev_sample'
    # DepthCrafter's cross-window latent sharing: shared initial noise plus the previous
    # window's result re-noised into the overlap. The paper turns it off.
    latent_sharing: bool = False
    seed: int = 42

    def __post_init__(self) -> None:
        if self.window < 1 or not 0 <= self.overlap < self.window:
            raise ValueError(f'need window >= 1 and 0 <= overlap < window, got window '
                             f'{self.window}, overlap {self.overlap}')
        if self.max_resolution < SIZE_MULTIPLE:
            raise ValueError(f'max_resolution must be at least {SIZE_MULTIPLE}, got '
                             f'{self.max_resolution}')
        if self.sigmas not in ('karras', 'trailing'):
            raise ValueError(f"sigmas must be 'karras' or 'trailing', got {self.sigmas!r}")
        if self.zero_snr and self.sigmas == 'karras':
            raise ValueError('zero_snr changes the betas, which Karras sigmas ignore; use it '
                             "with sigmas='trailing'")
        if self.decode_sample not in ('prev_sample', 'pred_original_sample'):
            raise ValueError("decode_sample must be 'prev_sample' or 'pred_original_sample', "
                             f'got {self.decode_sample!r}')

    def scheduler_overrides(self) -> Dict[str, Any]:
        """What changes in SVD's scheduler config: the spacing the paper names, and the
        sigma choice."""
        return {'timestep_spacing': 'trailing', 'use_karras_sigmas': self.sigmas == 'karras',
                'rescale_betas_zero_snr': self.zero_snr}


def stage2_size(height: int, width: int, max_resolution: int = 1024) -> Tuple[int, int]:
    """DepthCrafter's size for an open video: sides rounded to multiples of 64, the long side
    at most ``max_resolution`` (``depthcrafter/utils.py`` ``read_video_frames``)."""
    scale = min(1.0, max_resolution / max(height, width))
    return tuple(max(SIZE_MULTIPLE, round(side * scale / SIZE_MULTIPLE) * SIZE_MULTIPLE)
                 for side in (height, width))


def depth_to_disparity(depth: torch.Tensor) -> torch.Tensor:
    """1/depth where the depth is positive and finite, 0 elsewhere."""
    valid = torch.isfinite(depth) & (depth > 0)
    return torch.where(valid, 1.0 / torch.where(valid, depth, 1.0), 0.0)


@dataclass
class _FrameConditioning:
    """What a frame contributes to every window it is in."""

    embedding: torch.Tensor  # (C,) CLIP image embedding of the clean frame
    rgb_latent: torch.Tensor  # (4, h, w) VAE mode of the noise-augmented frame, unscaled
    disparity_latent: torch.Tensor  # (4, h, w) VAE mode of the disparity, × scaling factor
    noise: Optional[torch.Tensor]  # (4, h, w) the frame's shared noise (latent sharing only)


class Stage2Engine:
    """One-step DepthCrafter refinement of a video's stage-1 depth."""

    def __init__(self, components: DepthCrafterComponents, device: str = 'cpu',
                 precision: str = 'fp32', settings: Stage2Settings = Stage2Settings()):
        self.device = check_device(device, precision)
        self.precision = precision
        self.settings = settings
        dtype = WEIGHT_DTYPES[precision]
        self.unet, self.image_encoder, self.vae = (
            placed(model, self.device, dtype)
            for model in (components.unet, components.image_encoder, components.vae))
        # fp16 VAEs encode in fp32 (SVD's force_upcast, as DepthCrafter does) and decode in
        # the low precision; the encoder half is kept in fp32 instead of casting per call
        upcast = dtype != torch.float32 and self.vae.config.force_upcast
        if upcast:
            self.vae.encoder.float()
            self.vae.quant_conv.float()
        self.encode_dtype = torch.float32 if upcast else dtype
        self.dtype = dtype
        self.image_mean = components.image_mean
        self.image_std = components.image_std
        self.scheduler = EulerDiscreteScheduler.from_config(
            components.scheduler_config, **settings.scheduler_overrides())
        self.scheduler.set_timesteps(NUM_STEPS)
        self.timestep = self.scheduler.timesteps[START_STEP]
        self.sigma_start = float(self.scheduler.sigmas[START_STEP])
        self.sigma_end = float(self.scheduler.sigmas[START_STEP + 1])
        self.time_ids = added_time_ids(self.unet, noise_aug_strength=NOISE_AUG_STRENGTH,
                                       dtype=dtype, device=self.device)
        LOG.info('stage 2: one step from sigma %.4g (t=%.4g) to %.4g, %s sigmas%s',
                 self.sigma_start, float(self.timestep), self.sigma_end, settings.sigmas,
                 ', zero-SNR' if settings.zero_snr else '')

    @classmethod
    def from_pretrained(cls, unet_path, svd_path, device: str = 'cpu', precision: str = 'fp32',
                        settings: Stage2Settings = Stage2Settings()) -> 'Stage2Engine':
        check_device(device, precision)  # before minutes of loading, not after
        return cls(load_depthcrafter(unet_path, svd_path, dtype=WEIGHT_DTYPES[precision]),
                   device=device, precision=precision, settings=settings)

    def record(self) -> Dict[str, Any]:
        """The settings this engine runs with, for provenance records."""
        return {**asdict(self.settings), 'num_steps': NUM_STEPS, 'start_step': START_STEP,
                'sigma_start': self.sigma_start, 'sigma_end': self.sigma_end,
                'timestep': float(self.timestep), 'chunk': CHUNK,
                'noise_aug_strength': NOISE_AUG_STRENGTH, 'precision': self.precision}

    # -- the video ---------------------------------------------------------------------------

    def run(self, frames: Sequence[np.ndarray], depth: Sequence[np.ndarray],
            progress: bool = True, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Relative disparity in [0, 1] (larger = closer) at the frames' resolution.

        ``frames``: random-access (H, W, 3) uint8 RGB frames; ``depth``: stage 1's depth, one
        (h, w) map per frame at any resolution (0 or non-finite where unknown). The result is
        written into ``out`` when given (e.g. a memory-mapped (T, H, W) float32 array).
        """
        if len(frames) != len(depth):
            raise ValueError(f'{len(frames)} frames but {len(depth)} depth maps')
        if not len(frames):
            raise ValueError('stage 2 needs at least one frame')
        height, width = np.shape(frames[0])[:2]
        if out is None:
            out = np.empty((len(frames), height, width), np.float32)
        elif out.shape != (len(frames), height, width):
            raise ValueError(f'out has shape {out.shape}, expected '
                             f'{(len(frames), height, width)}')
        try:
            self._run(frames, depth, progress, out)
        except torch.OutOfMemoryError as error:
            raise MemoryError(
                f'stage 2 ran out of {self.device.type} memory with {self.settings.window}-frame '
                f'windows at long side {self.settings.max_resolution}: lower clip_length '
                f"(window) or resolution, or use precision 'fp16' on CUDA") from error
        return out

    @torch.inference_mode()
    def _run(self, frames, depth, progress: bool, out: np.ndarray) -> None:
        num_frames = len(frames)
        input_size = tuple(np.shape(frames[0])[:2])
        size = stage2_size(*input_size, self.settings.max_resolution)
        low, high = self._disparity_range(depth, size)
        stitcher = WindowStitcher(num_frames, self.settings.window, self.settings.overlap)
        rgb_noise = torch.Generator(self.device).manual_seed(self.settings.seed)
        latent_noise = torch.Generator(self.device).manual_seed(self.settings.seed + 1)
        cache: Dict[int, _FrameConditioning] = {}
        finished: List[torch.Tensor] = []  # final latents not yet decoded
        decoded = 0
        bar = tqdm(total=num_frames, desc='stage 2', unit='frame', disable=not progress)
        for number, window in enumerate(stitcher.windows):
            new = [k for k in range(window.start, window.end) if k not in cache]
            for start in range(0, len(new), CHUNK):
                cache.update(self._condition(new[start:start + CHUNK], frames, depth, size,
                                             input_size, (low, high), rgb_noise, latent_noise))
            conditioning = [cache[k] for k in range(window.start, window.end)]
            latents = self._denoise(conditioning, window.blend, stitcher.pending, latent_noise)
            finished.extend(stitcher.add(latents))
            later = stitcher.windows[number + 1].start if not stitcher.done else num_frames
            for k in [k for k in cache if k < later]:
                del cache[k]
            # decode whole chunks, counted from frame 0 as DepthCrafter chunks the video
            while len(finished) >= CHUNK or (stitcher.done and finished):
                chunk = torch.stack(finished[:CHUNK])
                del finished[:CHUNK]
                out[decoded:decoded + len(chunk)] = self._decode(chunk, input_size)
                decoded += len(chunk)
                bar.update(len(chunk))
        bar.close()
        normalise_in_place(out)

    def _disparity_range(self, depth, size: Tuple[int, int]) -> Tuple[float, float]:
        """Min and max of the resized disparity over the whole video: one normalisation for
        all windows, so overlapping windows see the same input."""
        low, high = math.inf, -math.inf
        for depth_map in depth:
            disparity = self._resized_disparity(depth_map, size)
            low, high = min(low, float(disparity.min())), max(high, float(disparity.max()))
        if not high > low:
            LOG.warning('stage-1 disparity is constant (%g) over the whole video; stage 2 gets a '
                        'flat input', low)
        return low, high

    def _resized_disparity(self, depth_map: np.ndarray, size: Tuple[int, int]) -> torch.Tensor:
        depth_map = torch.as_tensor(np.asarray(depth_map, np.float32), device=self.device)
        resized = F.interpolate(depth_map[None, None], size=size, mode='nearest')[0, 0]
        return depth_to_disparity(resized)  # (H2, W2)

    def _condition(self, indices: List[int], frames, depth, size, input_size, disparity_range,
                   rgb_noise: torch.Generator, latent_noise: torch.Generator
                   ) -> Dict[int, _FrameConditioning]:
        """Conditioning of a few new frames. Frames arrive in order, so the seeded noise
        streams follow the frames, not the windows."""
        rgb = torch.stack([self._rgb(frames[k], k, size, input_size) for k in indices])
        embeddings = clip_embeddings(self.image_encoder, rgb.to(self.dtype), self.image_mean,
                                     self.image_std, chunk=CHUNK)  # (n, C)
        noise = torch.randn(rgb.shape, generator=rgb_noise, device=self.device)
        augmented = (rgb + NOISE_AUG_STRENGTH * noise).to(self.encode_dtype)
        rgb_latents = vae_latents(self.vae, augmented, chunk=CHUNK).float()  # (n, 4, h, w)
        low, high = disparity_range
        scale = 1.0 / (high - low) if high > low else 0.0
        disparity = torch.stack([(self._resized_disparity(depth[k], size) - low) * scale
                                 for k in indices])  # (n, H2, W2) in [0, 1]
        disparity = (2 * disparity - 1)[:, None].expand(-1, 3, -1, -1)  # (n, 3, H2, W2)
        disparity_latents = vae_latents(self.vae, disparity.to(self.encode_dtype),
                                        chunk=CHUNK).float() * self.vae.config.scaling_factor
        shared = torch.randn(disparity_latents.shape, generator=latent_noise,
                             device=self.device) if self.settings.latent_sharing else None
        return {k: _FrameConditioning(embeddings[n], rgb_latents[n], disparity_latents[n],
                                      None if shared is None else shared[n])
                for n, k in enumerate(indices)}

    def _rgb(self, frame: np.ndarray, index: int, size, input_size) -> torch.Tensor:
        """(H, W, 3) uint8 → (3, H2, W2) float32 in [-1, 1]."""
        if tuple(np.shape(frame)[:2]) != input_size:
            raise ValueError(f'frame {index} is {np.shape(frame)[:2]}, frame 0 is '
                             f'{input_size}: a video must keep one size')
        if tuple(size) != input_size:
            shrink = size[0] * size[1] < input_size[0] * input_size[1]
            frame = cv2.resize(np.ascontiguousarray(frame), (size[1], size[0]),
                               interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
        rgb = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device)
        return rgb.permute(2, 0, 1).float() / 127.5 - 1.0

    def _denoise(self, conditioning: List[_FrameConditioning], blend: int,
                 previous: Optional[torch.Tensor], latent_noise: torch.Generator
                 ) -> torch.Tensor:
        """One window: noise to σ_start, one UNet call, one Euler step → (n, 4, h, w)."""
        clean = torch.stack([c.disparity_latent for c in conditioning])  # (n, 4, h, w)
        if self.settings.latent_sharing:
            noise = torch.stack([c.noise for c in conditioning])
        else:
            noise = torch.randn(clean.shape, generator=latent_noise, device=self.device)
        self.scheduler.set_timesteps(NUM_STEPS, device=self.device)
        self.scheduler.set_begin_index(START_STEP)
        noisy = self.scheduler.add_noise(clean, noise, self.timestep.reshape(1))
        if self.settings.latent_sharing and blend:
            # DepthCrafter's injection: the overlap restarts from the previous result
            noisy[:blend] = previous + noise[:blend] * self.sigma_start
        model_input = torch.cat([self.scheduler.scale_model_input(noisy, self.timestep),
                                 torch.stack([c.rgb_latent for c in conditioning])], dim=1)
        velocity = self.unet(model_input[None].to(self.dtype), self.timestep,
                             torch.stack([c.embedding for c in conditioning])[None],
                             self.time_ids)[0]  # (n, 4, h, w)
        step = self.scheduler.step(velocity.float(), self.timestep, noisy)
        return getattr(step, self.settings.decode_sample).float()

    def _decode(self, latents: torch.Tensor, input_size: Tuple[int, int]) -> np.ndarray:
        """(n, 4, h, w) scaled latents → (n, H, W) un-normalised disparity at input size."""
        disparity = decode_disparity(self.vae, latents.to(self.dtype),
                                     num_frames=len(latents))  # (n, H2, W2)
        if tuple(disparity.shape[-2:]) != input_size:
            disparity = F.interpolate(disparity[:, None].float(), size=input_size,
                                      mode='bilinear', align_corners=False)[:, 0]
        return disparity.float().cpu().numpy()


def placed(model: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """The model on ``device`` in ``dtype``, in eval mode; cast only when it differs (loaded
    weights usually come in the right dtype already)."""
    if next(model.parameters()).dtype != dtype:
        model = model.to(dtype=dtype)
    return model.to(device).eval()


def normalise_in_place(values: np.ndarray, rows: int = 64) -> None:
    """Min-max normalise over the whole array, a few frames at a time (it may be memory-mapped
    and larger than RAM). A constant array becomes zeros."""
    low, high = math.inf, -math.inf
    for start in range(0, len(values), rows):
        block = values[start:start + rows]
        low, high = min(low, float(block.min())), max(high, float(block.max()))
    scale = 1.0 / (high - low) if high > low else 0.0
    for start in range(0, len(values), rows):
        block = values[start:start + rows]
        block -= low
        block *= scale
