# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic rectified stereo video with exact ground-truth disparity.

The scene is a stack of textured fronto-parallel layers: a background plane at
`background_depth` and `num_objects` rectangles or discs at nearer, constant depths that glide
along smooth deterministic paths. Because every surface is fronto-parallel, each layer has a
single disparity

    d = x_l - x_r = fx * B / Z + (cx_l - cx_r)

so the ground truth is exact by construction, sub-pixel values included.

Each layer's radiance is the bilinear interpolation of its texture grid. A view samples that
continuous function at its pixel centres; the right view samples layer coordinates shifted by
`d`. A layer only ever moves by pure translation, so every pixel of one layer in one view shares
the same fractional offset and bilinear sampling reduces to a 2x2 filter on an integer-shifted
crop, computed in float32. Unlike cv2.remap, which snaps coordinates to 1/32 px, this keeps
sub-pixel disparities exact. Shape masks are evaluated in layer coordinates at the sampled
positions, so both views agree on where each object is. Layers are composited back to front
and the left ground truth takes the disparity of the front-most layer at each pixel.

Defaults: background at 10 m and three objects at 1.25 m, 2.0 m and 3.5 m. With the reference
640x480 rig (fx = 400 px, B = 0.12 m, fx * B = 48 px m) the disparities are 4.8, 13.7, 24.0
and 38.4 px, inside OpenCV SGBM's reach with numDisparities = 64. Objects have half-extents of
7-16 % of the image width and peak speeds of 1-3 px/frame horizontally and 0.5-1.5 px/frame
vertically (scaled with image width); the background sways by up to 1.5 px so static regions
still exercise temporal consistency.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

DEFAULT_BACKGROUND_DEPTH = 10.0
DEFAULT_OBJECT_DEPTHS = (1.25, 2.0, 3.5)

# Speeds and sizes are specified for a 640 px wide image and scaled with the width.
_REFERENCE_WIDTH = 640.0
# Texture grid margin: bilinear sampling reads one texel past the shape, plus slack for rounding.
_MARGIN = 3


@dataclass(frozen=True)
class StereoRig:
    """An ideal rectified stereo pair: shared fx/fy, rows aligned, right camera at +x."""

    width: int
    height: int
    fx: float
    baseline: float
    cx: Optional[float] = None
    cy: Optional[float] = None
    # cx_r = cx_l + cx_right_offset; nonzero values shift every raw disparity by -offset.
    cx_right_offset: float = 0.0

    def __post_init__(self) -> None:
        if self.width < 8 or self.height < 8:
            raise ValueError(f'rig must be at least 8x8 pixels, got {self.width}x{self.height}')
        if not self.fx > 0.0:
            raise ValueError(f'fx must be positive, got {self.fx}')
        if not self.baseline > 0.0:
            raise ValueError(f'baseline must be positive, got {self.baseline}')

    @property
    def cx_left(self) -> float:
        return (self.width - 1) / 2.0 if self.cx is None else float(self.cx)

    @property
    def cx_right(self) -> float:
        return self.cx_left + self.cx_right_offset

    @property
    def cy_left(self) -> float:
        """Principal point row, shared by both rectified views."""
        return (self.height - 1) / 2.0 if self.cy is None else float(self.cy)

    @property
    def disparity_offset(self) -> float:
        """cx_l - cx_r: what a raw disparity carries on top of fx * B / Z."""
        return -self.cx_right_offset

    @property
    def K_left(self) -> np.ndarray:
        return _intrinsics(self.fx, self.cx_left, self.cy_left)

    @property
    def K_right(self) -> np.ndarray:
        return _intrinsics(self.fx, self.cx_right, self.cy_left)

    @property
    def P_left(self) -> np.ndarray:
        return np.hstack([self.K_left, np.zeros((3, 1))])

    @property
    def P_right(self) -> np.ndarray:
        P = np.hstack([self.K_right, np.zeros((3, 1))])
        P[0, 3] = -self.fx * self.baseline
        return P

    def disparity_for_depth(self, z: np.ndarray | float) -> np.ndarray | float:
        """Raw disparity x_l - x_r of a point at depth `z` metres."""
        return self.fx * self.baseline / z + self.disparity_offset

    def depth_for_disparity(self, d: np.ndarray | float) -> np.ndarray | float:
        """Depth in metres of a raw disparity `d` (inverse of disparity_for_depth)."""
        return self.fx * self.baseline / (d - self.disparity_offset)


def _intrinsics(f: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


@dataclass
class StereoFrame:
    """One rendered stereo pair with left-view ground truth."""

    left: np.ndarray  # (H, W, 3) uint8 RGB
    right: np.ndarray  # (H, W, 3) uint8 RGB
    disparity: np.ndarray  # (H, W) float32, raw x_l - x_r in pixels
    depth: np.ndarray  # (H, W) float32 metres
    index: int


@dataclass(frozen=True)
class _Path:
    """Smooth bounded 2-D motion: centre + amplitude * sin(omega * t + phase) per axis."""

    centre: Tuple[float, float]
    amplitude: Tuple[float, float]
    omega: Tuple[float, float]
    phase: Tuple[float, float]

    def at(self, t: float) -> Tuple[float, float]:
        return (self.centre[0] + self.amplitude[0] * math.sin(self.omega[0] * t + self.phase[0]),
                self.centre[1] + self.amplitude[1] * math.sin(self.omega[1] * t + self.phase[1]))


def _random_path(rng: np.random.Generator, centre: Tuple[float, float], *,
                 peak_speed: Optional[Tuple[float, float]] = None,
                 amplitude: Optional[Tuple[float, float]] = None) -> _Path:
    """Draw a sinusoidal path given either its peak speed (px/frame) or amplitude (px)."""
    periods = rng.uniform(90.0, 180.0, size=2)
    omega = 2.0 * np.pi / periods
    if amplitude is None:
        assert peak_speed is not None
        amp = np.asarray(peak_speed, dtype=np.float64) / omega
    else:
        amp = np.asarray(amplitude, dtype=np.float64)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=2)
    return _Path(centre, (float(amp[0]), float(amp[1])),
                 (float(omega[0]), float(omega[1])), (float(phase[0]), float(phase[1])))


def make_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Full-contrast multi-scale colour noise with a sprinkle of blobs, float32 RGB in [0, 255].

    A shared luminance component dominates so the texture survives conversion to grey, which is
    what most matchers look at; weaker per-channel noise keeps it colourful.
    """
    def octaves(channels: int) -> np.ndarray:
        acc = np.zeros((height, width, channels), np.float32)
        # The finest octave is 2 texels so the bilinear surface is not dominated by texel kinks.
        for cell, weight in ((2, 1.0), (4, 0.9), (8, 0.8), (16, 0.7), (32, 0.6), (64, 0.5)):
            small = rng.standard_normal(
                (height // cell + 3, width // cell + 3, channels)).astype(np.float32)
            big = cv2.resize(small, (small.shape[1] * cell, small.shape[0] * cell),
                             interpolation=cv2.INTER_CUBIC)
            acc += weight * big.reshape(big.shape[0], big.shape[1], channels)[:height, :width]
        return acc

    tex = octaves(1) + 0.5 * octaves(3)
    # Blobs add sharp edges and flat patches, which noise alone never produces.
    n_blobs = max(1, height * width // 4000)
    for _ in range(n_blobs):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(2, 9))
        colour = tuple(float(c) for c in rng.standard_normal(3) * 3.0)
        cv2.circle(tex, centre, radius, colour, thickness=-1, lineType=cv2.LINE_8)
    # Normalise each channel to a fixed spread: about +-2.5 sigma spans 0..255.
    flat = tex.reshape(-1, 3)
    tex = (tex - flat.mean(axis=0)) / (flat.std(axis=0) + 1e-6)
    return np.clip(127.5 + 51.0 * tex, 0.0, 255.0).astype(np.float32)


def _sample_translated(texture: np.ndarray, x0: int, y0: int, w: int, h: int,
                       sx: float, sy: float) -> np.ndarray:
    """Bilinear samples of `texture` at (x + sx, y + sy) for x in [x0, x0+w), y in [y0, y0+h).

    Texture rows/columns outside the grid replicate the border; callers keep inside it.
    """
    ix = math.floor(x0 + sx)
    iy = math.floor(y0 + sy)
    fx = (x0 + sx) - ix
    fy = (y0 + sy) - iy
    th, tw = texture.shape[:2]
    if 0 <= iy and iy + h + 1 <= th and 0 <= ix and ix + w + 1 <= tw:
        crop = texture[iy:iy + h + 1, ix:ix + w + 1]
    else:
        ys = np.clip(np.arange(iy, iy + h + 1), 0, th - 1)
        xs = np.clip(np.arange(ix, ix + w + 1), 0, tw - 1)
        crop = texture[ys[:, None], xs[None, :]]
    kernel = np.array([[(1 - fx) * (1 - fy), fx * (1 - fy)],
                       [(1 - fx) * fy, fx * fy]], dtype=np.float32)
    out = cv2.filter2D(crop, -1, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    return out[:h, :w]


@dataclass(frozen=True)
class _Object:
    depth: float
    disparity: float
    half_w: float
    half_h: float
    is_disc: bool
    path: _Path
    texture: np.ndarray  # texel (half_w + _MARGIN, half_h + _MARGIN) is the shape centre

    def mask(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Coverage at layer coordinates u (1, w) and v (h, 1) relative to the centre."""
        if self.is_disc:
            return (u / self.half_w) ** 2 + (v / self.half_h) ** 2 <= 1.0
        return (np.abs(u) <= self.half_w) & (np.abs(v) <= self.half_h)


class SyntheticScene:
    """A deterministic layered stereo scene; `frame(i)` renders frame i from scratch.

    Parameters
    ----------
    rig : the stereo rig to render for.
    seed : seeds textures, shapes and paths; equal seeds give identical frames.
    num_objects : number of moving foreground objects.
    background_depth : depth of the background plane in metres.
    object_depths : object depths in metres, cycled when there are more objects than entries;
        each must be nearer than the background.
    background_sway : peak background displacement in px at 640 px width.

    """

    def __init__(self, rig: StereoRig, seed: int = 0, num_objects: int = 3,
                 background_depth: float = DEFAULT_BACKGROUND_DEPTH,
                 object_depths: Sequence[float] = DEFAULT_OBJECT_DEPTHS,
                 background_sway: float = 1.5) -> None:
        if num_objects < 0:
            raise ValueError(f'num_objects must be >= 0, got {num_objects}')
        if not background_depth > 0.0:
            raise ValueError(f'background_depth must be positive, got {background_depth}')
        if num_objects and not object_depths:
            raise ValueError('object_depths must not be empty when num_objects > 0')
        for z in object_depths:
            if not 0.0 < z < background_depth:
                raise ValueError(f'object depth {z} must lie in (0, background_depth='
                                 f'{background_depth})')
        self.rig = rig
        self.seed = seed
        rng = np.random.default_rng(seed)
        W, H = rig.width, rig.height
        scale = W / _REFERENCE_WIDTH

        self.background_depth = float(background_depth)
        self.background_disparity = float(rig.disparity_for_depth(self.background_depth))
        sway = background_sway * scale
        self._bg_path = _random_path(rng, (0.0, 0.0), amplitude=(sway, sway))
        # Large enough for every offset the background path and the right-view shift reach.
        reach = int(math.ceil(sway + abs(self.background_disparity))) + _MARGIN
        self._bg_origin = reach
        self._bg_texture = make_texture(rng, H + 2 * reach, W + 2 * reach)

        objects: List[_Object] = []
        for i in range(num_objects):
            depth = float(object_depths[i % len(object_depths)])
            half_w = float(rng.uniform(0.07, 0.16) * W)
            half_h = float(min(half_w * rng.uniform(0.6, 1.4), 0.4 * H))
            centre = (float(rng.uniform(0.3, 0.7) * W), float(rng.uniform(0.3, 0.7) * H))
            speed = (float(rng.uniform(1.0, 3.0) * scale), float(rng.uniform(0.5, 1.5) * scale))
            path = _random_path(rng, centre, peak_speed=speed)
            tex_w = int(math.ceil(2 * half_w)) + 2 * _MARGIN + 1
            tex_h = int(math.ceil(2 * half_h)) + 2 * _MARGIN + 1
            objects.append(_Object(depth, float(rig.disparity_for_depth(depth)), half_w, half_h,
                                   bool(i % 2), path, make_texture(rng, tex_h, tex_w)))
        # Far to near so nearer layers are painted last; stable for equal depths.
        self._objects = sorted(objects, key=lambda o: -o.depth)

    @property
    def layer_depths(self) -> List[float]:
        """Depths of all layers, background first, then objects far to near."""
        return [self.background_depth] + [o.depth for o in self._objects]

    @property
    def layer_disparities(self) -> List[float]:
        """Raw disparities of all layers, in layer_depths order."""
        return [self.background_disparity] + [o.disparity for o in self._objects]

    def frame(self, index: int) -> StereoFrame:
        """Render frame `index` (any integer; the scene is defined for all times)."""
        rig = self.rig
        W, H = rig.width, rig.height
        t = float(index)

        bx, by = self._bg_path.at(t)
        views = []
        for shift in (0.0, self.background_disparity):
            # Background texel for view pixel x is x + shift - bx + origin.
            views.append(_sample_translated(self._bg_texture, 0, 0, W, H,
                                            shift - bx + self._bg_origin,
                                            -by + self._bg_origin))
        left, right = views
        disparity = np.full((H, W), self.background_disparity, np.float32)
        depth = np.full((H, W), self.background_depth, np.float32)

        for obj in self._objects:
            ox, oy = obj.path.at(t)
            for view, shift in ((left, 0.0), (right, obj.disparity)):
                # In this view the object is centred at x = ox - shift.
                x0 = max(0, math.floor(ox - shift - obj.half_w))
                x1 = min(W, math.ceil(ox - shift + obj.half_w) + 1)
                y0 = max(0, math.floor(oy - obj.half_h))
                y1 = min(H, math.ceil(oy + obj.half_h) + 1)
                if x1 <= x0 or y1 <= y0:
                    continue
                u = (np.arange(x0, x1, dtype=np.float64) + (shift - ox))[None, :]
                v = (np.arange(y0, y1, dtype=np.float64) - oy)[:, None]
                mask = obj.mask(u, v)
                patch = _sample_translated(obj.texture, x0, y0, x1 - x0, y1 - y0,
                                           shift - ox + obj.half_w + _MARGIN,
                                           -oy + obj.half_h + _MARGIN)
                np.copyto(view[y0:y1, x0:x1], patch, where=mask[:, :, None])
                if view is left:
                    disparity[y0:y1, x0:x1][mask] = obj.disparity
                    depth[y0:y1, x0:x1][mask] = obj.depth

        return StereoFrame(left=_to_uint8(left), right=_to_uint8(right),
                           disparity=disparity, depth=depth, index=index)

    def frames(self, num_frames: int, start: int = 0) -> Iterator[StereoFrame]:
        """Yield frames start .. start + num_frames - 1."""
        for i in range(start, start + num_frames):
            yield self.frame(i)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    # Round rather than truncate so a texel value survives the trip unbiased.
    return np.clip(img + 0.5, 0.0, 255.0).astype(np.uint8)


def render_sequence(rig: StereoRig, num_frames: int, seed: int = 0, num_objects: int = 3,
                    background_depth: float = DEFAULT_BACKGROUND_DEPTH,
                    object_depths: Sequence[float] = DEFAULT_OBJECT_DEPTHS,
                    ) -> Iterator[StereoFrame]:
    """Yield `num_frames` frames of a SyntheticScene built from these arguments."""
    scene = SyntheticScene(rig, seed=seed, num_objects=num_objects,
                           background_depth=background_depth, object_depths=object_depths)
    return scene.frames(num_frames)
