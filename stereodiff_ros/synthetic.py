"""Synthetic scenes with exact geometry for the stage-1 (global alignment) tests.

A static world, ray-cast analytically from a moving pinhole camera: a slightly tilted back plane,
a floor, and a few boxes (turned about the vertical) and spheres between them. Cameras follow
OpenCV's convention (x right, y down, z forward) with one focal ``f`` in pixels and the principal
point at (W/2, H/2); pixel (x, y) is the integer grid position, as in upstream's ``xy_grid``, so
its ray in the camera frame is ((x − W/2)/f, (y − H/2)/f, 1) and the hit distance along it is
the depth z itself. Every ray meets the back plane in front of the camera, so all depths are
positive.

``pairwise_outputs`` turns a scene into what MonST3R returns for a list of directed pairs
(i, j): ``pts1`` = view i's points and ``pts2`` = view j's points, both in camera i's frame, each
pair at a scale of its own (a random factor in [0.5, 2] applied to both maps). MonST3R's pair
frame is camera i's; an extra random rigid motion of the pair (``max_rotation_deg``,
``max_translation``) is optional because with it the first pointmap no longer is a camera-frame
map, so the aligned depth and focal stop matching the truth (useful only for exercising the
registration itself). Confidences have the network's form 1 + exp(c), so they are > 1, highest
on the objects, then the floor, lowest on the back plane, lower for pairs further apart and for
the second view, with a random offset per pair so that edge scores do not tie.
"""

from dataclasses import dataclass
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

# Log-confidence (c of 1 + exp(c)) per surface class: back plane, floor, objects.
_LOG_CONF = (0.0, 1.2, 2.4)


@dataclass(frozen=True)
class SyntheticScene:
    """Ground truth of one rendered sequence."""

    depth: np.ndarray  # (N, H, W) float32, z in each camera's frame, all > 0
    labels: np.ndarray  # (N, H, W) uint8: 0 back plane, 1 floor, 2 + k object k
    focal: float  # pixels, shared by every frame; principal point (W/2, H/2)
    cam2world: np.ndarray  # (N, 4, 4) float64

    @property
    def num_frames(self) -> int:
        return self.depth.shape[0]

    @property
    def shape(self) -> Tuple[int, int]:
        return self.depth.shape[1], self.depth.shape[2]

    def camera_points(self, frame: int) -> np.ndarray:
        """(H, W, 3) float64: the frame's surface points in its own camera frame."""
        return self.depth[frame].astype(np.float64)[..., None] * _rays(*self.shape, self.focal)

    def points_in(self, frame: int, camera: int) -> np.ndarray:
        """(H, W, 3) float64: ``frame``'s surface points expressed in ``camera``'s frame."""
        to_camera = np.linalg.inv(self.cam2world[camera]) @ self.cam2world[frame]
        return self.camera_points(frame) @ to_camera[:3, :3].T + to_camera[:3, 3]


@dataclass(frozen=True)
class PairwiseOutputs:
    """MonST3R-style outputs for directed pairs, float32 like the network's."""

    edges: Tuple[Tuple[int, int], ...]
    pts1: np.ndarray  # (E, H, W, 3) view i in pair e's frame
    conf1: np.ndarray  # (E, H, W) ≥ 1
    pts2: np.ndarray  # (E, H, W, 3) view j in the same frame
    conf2: np.ndarray  # (E, H, W) ≥ 1
    similarity: np.ndarray  # (E, 4, 4) float64: camera-i frame → pair frame (scale · R | t)
    scale: np.ndarray  # (E,) float64, the scale in ``similarity``


def _rays(height: int, width: int, focal: float) -> np.ndarray:
    y, x = np.mgrid[:height, :width].astype(np.float64)
    return np.stack(((x - width / 2) / focal, (y - height / 2) / focal, np.ones_like(x)), -1)


def _rotation(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """R = Ry(yaw) · Rx(pitch) · Rz(roll), angles in radians."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


def _random_rotation(rng: np.random.Generator, max_angle: float) -> np.ndarray:
    """A rotation about a uniformly random axis by an angle uniform in [0, max_angle] radians."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = rng.uniform(0.0, max_angle)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def _hit_plane(origin, dirs, normal, offset):
    """Distances t > 0 where origin + t·dir meets {X : normal·X = offset}; inf where none."""
    denom = dirs @ normal
    with np.errstate(divide='ignore', invalid='ignore'):
        t = (offset - origin @ normal) / denom
    return np.where(np.isfinite(t) & (t > 1e-6), t, np.inf)


def _hit_sphere(origin, dirs, centre, radius):
    rel = origin - centre
    a = np.einsum('...k,...k->...', dirs, dirs)
    b = 2 * dirs @ rel
    c = rel @ rel - radius ** 2
    disc = b * b - 4 * a * c
    t = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
    return np.where((disc >= 0) & (t > 1e-6), t, np.inf)


def _hit_box(origin, dirs, centre, half, yaw):
    """Box of half-extents ``half`` around ``centre``, turned by ``yaw`` about the y axis."""
    rot = _rotation(yaw, 0.0)
    o = rot.T @ (origin - centre)
    d = dirs @ rot
    with np.errstate(divide='ignore', invalid='ignore'):
        t1 = (-half - o) / d
        t2 = (half - o) / d
    t1 = np.where(np.isnan(t1), -np.inf, t1)
    t2 = np.where(np.isnan(t2), np.inf, t2)
    near = np.minimum(t1, t2).max(-1)
    far = np.maximum(t1, t2).min(-1)
    return np.where((far >= near) & (near > 1e-6), near, np.inf)


def make_scene(num_frames: int = 6, height: int = 24, width: int = 32,
               focal: Optional[float] = None, seed: int = 0) -> SyntheticScene:
    """Render ``num_frames`` views of a random static scene along a smooth trajectory.

    The camera drifts about 0.6 to the right and 0.4 forward over the sequence with a gentle
    vertical bob, yawing by up to ±6° and pitching by up to ±2°. ``focal`` defaults to the
    image width (a 58° horizontal field of view).
    """
    if num_frames < 1 or height < 2 or width < 2:
        raise ValueError('need at least one frame of at least 2x2 pixels')
    rng = np.random.default_rng(seed)
    focal = float(width if focal is None else focal)

    back_normal = np.array([rng.uniform(-0.08, 0.08), rng.uniform(-0.05, 0.05), 1.0])
    back_normal /= np.linalg.norm(back_normal)
    back_offset = rng.uniform(6.0, 8.0)
    floor_height = rng.uniform(1.0, 1.4)  # y points down: the floor is below the cameras
    boxes = [(np.array([rng.uniform(-1.2, -0.4), floor_height - h, rng.uniform(2.5, 4.0)]),
              np.array([rng.uniform(0.25, 0.45), h, rng.uniform(0.25, 0.45)]),
              rng.uniform(-0.6, 0.6))
             for h in (rng.uniform(0.5, 0.9), rng.uniform(0.3, 0.5))]
    boxes[1][0][0] += 1.5  # second box on the right
    spheres = [(np.array([rng.uniform(-0.3, 0.4), rng.uniform(-0.6, 0.0), rng.uniform(3.0, 4.5)]),
                rng.uniform(0.5, 0.7)),
               (np.array([rng.uniform(-0.4, 0.6), floor_height - 0.25, rng.uniform(1.8, 2.4)]),
                0.25)]

    rays = _rays(height, width, focal).reshape(-1, 3)
    depth = np.empty((num_frames, height, width), np.float32)
    labels = np.empty((num_frames, height, width), np.uint8)
    cam2world = np.tile(np.eye(4), (num_frames, 1, 1))
    phase = rng.uniform(0, 2 * math.pi)
    for n in range(num_frames):
        s = n / max(num_frames - 1, 1)
        rot = _rotation(math.radians(6 * math.sin(2 * s + phase)),
                        math.radians(2 * math.cos(3 * s + phase)))
        centre = np.array([0.6 * s - 0.3, 0.05 * math.sin(2 * math.pi * s), 0.4 * s])
        cam2world[n, :3, :3], cam2world[n, :3, 3] = rot, centre
        dirs = rays @ rot.T
        hits = [_hit_plane(centre, dirs, back_normal, back_offset),
                _hit_plane(centre, dirs, np.array([0.0, 1.0, 0.0]), floor_height)]
        hits += [_hit_box(centre, dirs, c, h, yaw) for c, h, yaw in boxes]
        hits += [_hit_sphere(centre, dirs, c, r) for c, r in spheres]
        hits = np.stack(hits)
        nearest = hits.argmin(0)
        t = hits[nearest, np.arange(len(rays))]
        if not np.all(np.isfinite(t)):
            raise RuntimeError('a ray missed the back plane; the trajectory turns too far')
        depth[n] = t.reshape(height, width)
        labels[n] = nearest.reshape(height, width)
    return SyntheticScene(depth=depth, labels=labels, focal=focal, cam2world=cam2world)


def pairwise_outputs(scene: SyntheticScene, edges: Sequence[Tuple[int, int]], seed: int = 0,
                     noise: float = 0.0, scale_range: Tuple[float, float] = (0.5, 2.0),
                     max_rotation_deg: float = 0.0, max_translation: float = 0.0
                     ) -> PairwiseOutputs:
    """MonST3R-style pointmaps and confidences for directed ``edges`` (i, j).

    Per pair: ``pts1`` = view i and ``pts2`` = view j in camera i's frame, then both mapped by
    one similarity X ↦ s·R·X + t with s log-uniform in ``scale_range``, R a rotation by up to
    ``max_rotation_deg`` about a random axis and t uniform in ±``max_translation`` (times the
    pair's scale) per axis. ``noise`` adds Gaussian noise of standard deviation noise·z to each
    coordinate before the similarity. Draws happen in edge order from ``default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    height, width = scene.shape
    num_edges = len(edges)
    pts1 = np.empty((num_edges, height, width, 3), np.float32)
    pts2 = np.empty_like(pts1)
    conf1 = np.empty((num_edges, height, width), np.float32)
    conf2 = np.empty_like(conf1)
    similarity = np.tile(np.eye(4), (num_edges, 1, 1))
    scale = np.empty(num_edges)
    y, x = np.mgrid[:height, :width] / np.array([height, width])[:, None, None]
    base = np.asarray(_LOG_CONF)[np.minimum(scene.labels, 2)]  # (N, H, W)
    for e, (i, j) in enumerate(edges):
        if i == j or not (0 <= i < scene.num_frames and 0 <= j < scene.num_frames):
            raise ValueError(f'bad edge {(i, j)} for {scene.num_frames} frames')
        s = math.exp(rng.uniform(math.log(scale_range[0]), math.log(scale_range[1])))
        rot = _random_rotation(rng, math.radians(max_rotation_deg))
        shift = rng.uniform(-max_translation, max_translation, 3) * s
        similarity[e, :3, :3], similarity[e, :3, 3], scale[e] = s * rot, shift, s
        maps = []
        for view in (i, j):
            points = scene.points_in(view, i)
            if noise:
                points = points + noise * np.abs(points[..., 2:]) * rng.normal(size=points.shape)
            maps.append(points @ similarity[e, :3, :3].T + shift)
        pts1[e], pts2[e] = maps
        # Confidence: 1 + exp(c); c drops with the frame gap, the second view is less sure,
        # and a random tilt plus offset per pair keeps the edge scores apart.
        gap = -0.4 * (abs(i - j) - 1)
        for conf, view, second in ((conf1, i, 0.0), (conf2, j, -0.3)):
            tilt = rng.uniform(-0.4, 0.4, 2)
            logit = (base[view] + gap + second + rng.uniform(-0.3, 0.3)
                     + tilt[0] * (x - 0.5) + tilt[1] * (y - 0.5))
            conf[e] = 1 + np.exp(logit)
    return PairwiseOutputs(edges=tuple((int(i), int(j)) for i, j in edges), pts1=pts1,
                           conf1=conf1, pts2=pts2, conf2=conf2, similarity=similarity,
                           scale=scale)


def drifting_texture(num_frames: int, height: int, width: int, step: int = 4, seed: int = 0
                     ) -> List[np.ndarray]:
    """uint8 RGB frames (H, W, 3) of random texture panning ``step`` pixels per frame: a cheap
    video whose pairs differ, for engine tests and benchmarks."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height, width + step * num_frames, 3), dtype=np.uint8)
    return [np.ascontiguousarray(texture[:, step * k:step * k + width]) for k in range(num_frames)]
