"""Closed-form global alignment of pairwise pointmaps (StereoDiff stage 1, no optimisation).

MonST3R predicts, for a directed pair (i, j), view i's pointmap and view j's pointmap, both in
camera i's frame, at a scale of the pair's own. The closed-form initialisation of DUSt3R/MonST3R
merges them: a maximum-confidence spanning tree over the pairs, a weighted Procrustes (Umeyama
with scale) along each tree edge, a Weiszfeld focal per image, RANSAC-PnP for the poses the tree
leaves unset, and one global scale normalisation. StereoDiff keeps only this step (paper §3.2);
the 300-iteration optimisation is never run. Results match upstream's
``init_minimum_spanning_tree`` edge case for edge case (spec §4.5), quirks included.

Memory. Upstream keeps every pair's two pointmaps and confidences, about 32 bytes per pixel per
directed pair: 25 GB for 1,000 frames at 512×384. Everything the tree needs, though, is a
similarity between two pointmaps *of the same image* (a Procrustes from one view of image k onto
another view of image k, weighted by the first view's confidence), because Umeyama is
equivariant: aligning x onto A(y) gives A ∘ (x onto y) for any similarity A. So each image's
views are held only until its last pair arrives, reduced to those similarities, and dropped.
After the tree is known, one pointmap per image (the view its tree edge defines it by) is needed
once more; ``Stage1Alignment.required_views`` names them and the caller supplies them again
(recomputed, or from memory in tests). Host memory is then O(N·H·W) for the outputs alone.
"""

from dataclasses import dataclass
import functools
import logging
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import minimum_spanning_tree
from stereodiff_ros.pairs import Edge
import torch

LOG = logging.getLogger(__name__)

# (edge index, 1 for the pair's first view, 2 for its second)
View = Tuple[int, int]


@dataclass
class Stage1Result:
    """Per-frame output of the alignment, in one normalised world scale (scale-ambiguous)."""

    depth: np.ndarray  # (N, H, W) float32, z in each camera's frame; 1.0 where not positive
    confidence: np.ndarray  # (N, H, W) float32, max over the frame's pair confidences (≥ 1)
    focal: np.ndarray  # (N,) float64 pixels, principal point at (W/2, H/2)
    cam2world: np.ndarray  # (N, 4, 4) float64
    tree_edges: List[Edge]  # spanning-tree edges in growth order
    pnp_frames: List[int]  # frames whose pose the tree left unset; PnP was tried
    pnp_failed: List[int]  # of those, frames PnP could not solve (identity pose kept)
    scale_factor: float  # the global normalisation applied to translations and points


def weiszfeld_focal(pts3d: torch.Tensor, iterations: int = 10) -> float:
    """Focal (pixels) that best projects a camera-frame pointmap (H, W, 3) onto its pixel grid.

    L2 closed form, then IRLS towards the L1 (Weiszfeld) solution, principal point at the
    image centre; negative solutions clip to 0 as upstream's do. Computed in the pointmap's
    dtype so that float32 inputs give upstream's float32 answer.
    """
    height, width, _ = pts3d.shape
    pixels = centred_pixels(height, width, pts3d.dtype, pts3d.device)
    points = pts3d.reshape(-1, 3)
    rays = (points[:, :2] / points[:, 2:3]).nan_to_num(posinf=0, neginf=0)  # (HW, 2)
    ray_dot_pixel = (rays * pixels).sum(dim=-1)
    ray_dot_ray = rays.square().sum(dim=-1)
    focal = ray_dot_pixel.mean() / ray_dot_ray.mean()
    for _ in range(iterations):
        residual = (pixels - focal * rays).norm(dim=-1)
        weight = residual.clip(min=1e-8).reciprocal()
        focal = (weight * ray_dot_pixel).mean() / (weight * ray_dot_ray).mean()
    return float(focal.clip(min=0))


@functools.lru_cache(maxsize=8)
def centred_pixels(height: int, width: int, dtype: torch.dtype, device: torch.device
                   ) -> torch.Tensor:
    """(H·W, 2) pixel coordinates (x, y) relative to the image centre (W/2, H/2)."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype, device=device),
                            torch.arange(width, dtype=dtype, device=device), indexing='ij')
    return torch.stack((xs - width / 2, ys - height / 2), dim=-1).reshape(-1, 2)


def view_similarities(points: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted Umeyama with scale from every view onto every other view of one image.

    points (V, P, 3), weights (V, P), both views of the same image. Returns (V, V, 4, 4)
    float64: entry [v, u] is the similarity S minimising Σ_p w_v[p]·|S(x_v[p]) − x_u[p]|².
    """
    points = points.double()
    weights = weights.double()
    weights = weights / weights.sum(dim=1, keepdim=True)  # (V, P)
    source_mean = torch.einsum('vp,vpc->vc', weights, points)  # (V, 3)
    centred = points - source_mean[:, None]
    # target mean under the source's weights: (V source, V target, 3)
    target_mean = torch.einsum('vp,upc->vuc', weights, points)
    weighted_centred = weights[..., None] * centred  # (V, P, 3)
    # Σ_p w_v (x_u − mean)(x_v − mean)ᵀ; the target's mean drops out against centred x_v.
    # One (3V, P) @ (P, 3V) product, so that no (V, V, P) intermediate is ever built.
    views = points.shape[0]
    cross = (points.permute(0, 2, 1).reshape(3 * views, -1)
             @ weighted_centred.permute(1, 0, 2).reshape(-1, 3 * views))
    cross = cross.reshape(views, 3, views, 3).permute(2, 0, 1, 3)  # (V, V, 3, 3)
    spread = (weighted_centred * centred).sum(dim=(1, 2))  # (V,)
    u, singular, vh = torch.linalg.svd(cross)
    sign = torch.sign(torch.linalg.det(u @ vh))
    flip = torch.ones_like(singular)
    flip[..., 2] = sign
    rotation = u @ torch.diag_embed(flip) @ vh
    scale = (singular * flip).sum(dim=-1) / spread[:, None]  # (V, V)
    translation = target_mean - scale[..., None] * torch.einsum(
        'vucd,vd->vuc', rotation, source_mean)
    similarity = torch.zeros(views, views, 4, 4, dtype=torch.float64, device=points.device)
    similarity[..., :3, :3] = scale[..., None, None] * rotation
    similarity[..., :3, 3] = translation
    similarity[..., 3, 3] = 1
    return similarity


def similarity_scale(similarity: torch.Tensor) -> float:
    return float(similarity[:3, 0].norm())


def rigid_part(similarity: torch.Tensor) -> torch.Tensor:
    """The (R, t) of x ↦ sRx + t with the scale dropped from R but not from t, as upstream
    makes a camera pose out of a tree edge's similarity."""
    pose = similarity.clone()
    pose[:3, :3] /= similarity_scale(similarity)
    return pose


def log_depth_fallback(depth: torch.Tensor) -> torch.Tensor:
    """Upstream stores depth as its log with -inf → 0, and NaN (from z < 0) → 0 too, so a
    point at or behind the camera comes back as depth 1.0. Kept: it is part of the output."""
    return depth.log().nan_to_num(neginf=0).exp()


class Stage1Alignment:
    """Streaming closed-form alignment over a fixed pair graph.

    Feed every directed pair once with ``add`` (any order; frame order keeps memory small),
    then ``solve``, then ``supply`` the pointmaps ``required_views`` asks for (or ``finish``
    with all of them), then ``result``.
    """

    def __init__(self, num_frames: int, edges: Sequence[Edge], shape: Tuple[int, int],
                 min_conf_thr: float = 3.0, pnp_iterations: int = 10, base_scale: float = 0.5,
                 device: str = 'cpu'):
        self.num_frames = num_frames
        # where the per-pixel reductions run; the pointmaps still open are held there too
        self.device = torch.device(device)
        self.edges = [tuple(map(int, edge)) for edge in edges]
        self.shape = tuple(shape)
        self.min_conf_thr = min_conf_thr
        self.pnp_iterations = pnp_iterations
        self.base_scale = base_scale
        if len(set(self.edges)) != len(self.edges):
            raise ValueError('the pair graph has duplicate edges')
        used = {k for edge in self.edges for k in edge}
        if used != set(range(num_frames)):
            missing = sorted(set(range(num_frames)) - used)
            raise ValueError(f'frames {missing} are in no pair; every frame needs one')
        self._views_of: Dict[int, List[View]] = {k: [] for k in range(num_frames)}
        for e, (i, j) in enumerate(self.edges):
            self._views_of[i].append((e, 1))
            self._views_of[j].append((e, 2))
        self._pending: Dict[View, Tuple[torch.Tensor, torch.Tensor]] = {}
        self._added = [False] * len(self.edges)
        self.scores = [math.nan] * len(self.edges)
        self.edge_focals = [math.nan] * len(self.edges)
        self.confidence = np.zeros((num_frames,) + self.shape, np.float32)
        # per frame: its views' indices and the (V, V, 4, 4) similarities between them
        self._similarities: Dict[int, Tuple[Dict[View, int], torch.Tensor]] = {}
        self._plan: Optional[dict] = None

    # -- pass 1: every pair, once ------------------------------------------------------------

    def add(self, edge_index: int, pts1, conf1, pts2, conf2) -> None:
        """One directed pair's network output: (H, W, 3) pointmaps and (H, W) confidences."""
        if self._added[edge_index]:
            raise ValueError(f'pair {self.edges[edge_index]} was added twice')
        pts1, conf1, pts2, conf2 = (torch.as_tensor(a).to(self.device, torch.float32)
                                    for a in (pts1, conf1, pts2, conf2))
        for name, value, rank in (('pts1', pts1, 3), ('conf1', conf1, 2),
                                  ('pts2', pts2, 3), ('conf2', conf2, 2)):
            if tuple(value.shape[:2]) != self.shape or value.dim() != rank:
                raise ValueError(f'{name} of pair {self.edges[edge_index]} has shape '
                                 f'{tuple(value.shape)}; expected {self.shape} images')
        self._added[edge_index] = True
        # float32 products as upstream computes them, so that exact ties tie here too
        self.scores[edge_index] = float(conf1.mean() * conf2.mean())
        self.edge_focals[edge_index] = weiszfeld_focal(pts1)
        i, j = self.edges[edge_index]
        for view, frame, points, conf in (((edge_index, 1), i, pts1, conf1),
                                          ((edge_index, 2), j, pts2, conf2)):
            np.maximum(self.confidence[frame], conf.cpu().numpy(), out=self.confidence[frame])
            self._pending[view] = (points.reshape(-1, 3), conf.reshape(-1))
        for frame in (i, j):
            self._reduce_if_complete(frame)

    @property
    def held_views(self) -> int:
        """Pointmaps held in memory, waiting for the rest of their frame's pairs."""
        return len(self._pending)

    def _reduce_if_complete(self, frame: int) -> None:
        views = self._views_of[frame]
        if frame in self._similarities or any(v not in self._pending for v in views):
            return
        points = torch.stack([self._pending[v][0] for v in views])
        weights = torch.stack([self._pending[v][1] for v in views])
        self._similarities[frame] = ({v: n for n, v in enumerate(views)},
                                     view_similarities(points, weights).cpu())
        for view in views:
            del self._pending[view]

    def _relative(self, frame: int, source: View, target: View) -> torch.Tensor:
        index, similarity = self._similarities[frame]
        return similarity[index[source], index[target]]

    # -- the spanning tree -------------------------------------------------------------------

    def solve(self) -> List[View]:
        """Grow the tree; return the views whose pointmaps ``supply`` needs."""
        if not all(self._added):
            missing = [self.edges[e] for e, done in enumerate(self._added) if not done]
            raise RuntimeError(f'{len(missing)} pairs were never added, e.g. {missing[:3]}')
        # Upstream's sparse graph holds the negated scores in edge order; its MST and the
        # best-to-worst order of the focal fill-in both come from it, ties included.
        graph = scipy.sparse.dok_array((self.num_frames, self.num_frames))
        for (i, j), score in zip(self.edges, self.scores):
            graph[i, j] = score
        graph = -graph
        tree = minimum_spanning_tree(graph).tocoo()
        todo = sorted(zip(-tree.data, tree.row.tolist(), tree.col.tolist()))
        edge_index = {edge: e for e, edge in enumerate(self.edges)}

        source: Dict[int, View] = {}  # the view that defines each frame's world points
        to_world: Dict[int, torch.Tensor] = {}  # similarity from that view to world
        pose: List[Optional[torch.Tensor]] = [None] * self.num_frames
        focal: List[Optional[float]] = [None] * self.num_frames

        _, i, j = todo.pop()
        last = edge_index[(i, j)]
        source[i], source[j] = (last, 1), (last, 2)
        to_world[i] = to_world[j] = torch.eye(4, dtype=torch.float64)
        pose[i] = torch.eye(4, dtype=torch.float64)
        focal[i] = self.edge_focals[last]
        tree_edges = [(i, j)]
        while todo:
            score, i, j = todo.pop()
            # Upstream sets this focal before it moves on to the new edge, so it reads the
            # previous edge's pointmap (of another image). A quirk, kept for parity.
            if focal[i] is None:
                focal[i] = self.edge_focals[last]
            if i in source or j in source:
                last = edge_index[(i, j)]
                known, new = (i, j) if i in source else (j, i)
                known_view, new_view = ((last, 1), (last, 2)) if known == i else \
                    ((last, 2), (last, 1))
                # the pair's frame → world: align the known image's view onto its world points
                pair_to_world = to_world[known] @ self._relative(known, known_view,
                                                                 source[known])
                source[new], to_world[new] = new_view, pair_to_world
                if pose[i] is None:
                    pose[i] = rigid_part(pair_to_world)
                tree_edges.append((i, j))
            else:
                todo.insert(0, (score, i, j))

        order = np.argsort(np.array(list(graph.values())))
        for e in order.tolist():
            i = self.edges[e][0]
            if focal[i] is None:
                focal[i] = self.edge_focals[e]

        # every pair's own frame → world scale, for the global normalisation
        log_scales = []
        for e, (i, _) in enumerate(self.edges):
            pair_to_world = to_world[i] @ self._relative(i, (e, 1), source[i])
            log_scales.append(math.log(similarity_scale(pair_to_world)))
        scale_factor = math.exp(math.log(self.base_scale) - float(np.mean(log_scales)))

        height, width = self.shape
        defines: Dict[View, List[int]] = {}
        for k, view in source.items():
            defines.setdefault(view, []).append(k)
        self._plan = dict(source=source, defines=defines, to_world=to_world, pose=pose,
                          focal=focal, tree_edges=tree_edges, scale_factor=scale_factor,
                          done=set(),
                          pnp_frames=[], pnp_failed=[],
                          depth=np.empty((self.num_frames, height, width), np.float32),
                          cam2world=np.empty((self.num_frames, 4, 4), np.float64))
        return self.required_views()

    def required_views(self) -> List[View]:
        if self._plan is None:
            raise RuntimeError('solve() first')
        return sorted(self._plan['defines'])

    # -- pass 2: one pointmap per frame ------------------------------------------------------

    def supply(self, view: View, points) -> None:
        """The pointmap (H, W, 3) of a required view: finishes the frames it defines (their
        PnP pose if the tree left it unset, and their depth), so that no more than one
        pointmap has to be held at a time."""
        plan = self._plan
        if plan is None:
            raise RuntimeError('solve() first')
        frames = plan['defines'].get(view)
        if not frames:
            raise ValueError(f'view {view} defines no frame; required: {self.required_views()}')
        height, width = self.shape
        points = torch.as_tensor(points, dtype=torch.float32).cpu().reshape(-1, 3)
        for k in frames:
            if k in plan['done']:
                raise ValueError(f'frame {k} was already finished')
            world = _transform(plan['to_world'][k], points)  # (HW, 3) float64
            if plan['pose'][k] is None:
                plan['pnp_frames'].append(k)
                solved = ransac_pnp(world.float().reshape(height, width, 3).numpy(),
                                    plan['focal'][k], self.confidence[k] > self.min_conf_thr,
                                    self.pnp_iterations)
                if solved is None:
                    plan['pnp_failed'].append(k)
                    plan['pose'][k] = torch.eye(4, dtype=torch.float64)
                else:
                    plan['focal'][k], plan['pose'][k] = solved
            # the normalisation scales the world: points and pose translations alike
            cam2world = plan['pose'][k].clone()
            cam2world[:3, 3] *= plan['scale_factor']
            world_scaled = plan['to_world'][k].clone()
            world_scaled[:3] *= plan['scale_factor']
            z = _transform(torch.linalg.inv(cam2world) @ world_scaled, points)[:, 2].float()
            plan['depth'][k] = log_depth_fallback(z).reshape(height, width).numpy()
            plan['cam2world'][k] = cam2world
            plan['done'].add(k)

    def result(self) -> Stage1Result:
        plan = self._plan
        if plan is None:
            raise RuntimeError('solve() first')
        missing = sorted({plan['source'][k] for k in range(self.num_frames)
                          if k not in plan['done']})
        if missing:
            raise ValueError(f'the pointmaps of views {missing} were never supplied')
        LOG.info('aligned %d frames: tree of %d edges, %d poses from PnP (%d failed), '
                 'scale factor %.4g', self.num_frames, len(plan['tree_edges']),
                 len(plan['pnp_frames']), len(plan['pnp_failed']), plan['scale_factor'])
        return Stage1Result(depth=plan['depth'], confidence=self.confidence,
                            focal=np.array(plan['focal'], np.float64),
                            cam2world=plan['cam2world'], tree_edges=plan['tree_edges'],
                            pnp_frames=sorted(plan['pnp_frames']),
                            pnp_failed=sorted(plan['pnp_failed']),
                            scale_factor=plan['scale_factor'])

    def finish(self, views: Mapping[View, object]) -> Stage1Result:
        """``supply`` every required view from a mapping, then ``result``."""
        for view in self.required_views():
            if view not in views:
                raise ValueError(f'finish() needs the pointmaps of views {self.required_views()}'
                                 f'; {view} is missing')
            self.supply(view, views[view])
        return self.result()


def _transform(similarity: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(4, 4) float64 applied to (P, 3) points, in float64."""
    return points.double() @ similarity[:3, :3].T + similarity[:3, 3]


def ransac_pnp(world: np.ndarray, focal: float, mask: np.ndarray, iterations: int
               ) -> Optional[Tuple[float, torch.Tensor]]:
    """Camera-to-world pose of an image from its world pointmap (H, W, 3), by SQPnP RANSAC
    (reprojection error 5 px) on the confident pixels, principal point at the image centre.

    Returns None when fewer than 4 pixels are confident or no focal gives a solution (OpenCV
    finds none, or SQPnP refuses a degenerate point set); upstream then keeps the identity
    pose.
    """
    if mask.sum() < 4:
        return None
    height, width, _ = world.shape
    ys, xs = np.mgrid[:height, :width].astype(np.float32)
    pixels = np.stack((xs, ys), axis=-1)
    candidates = [focal] if focal is not None else \
        np.geomspace(max(height, width) / 2, max(height, width) * 3, 21)
    best = (0,)
    for candidate in candidates:
        camera = np.float32([(candidate, 0, width / 2), (0, candidate, height / 2), (0, 0, 1)])
        try:
            ok, rvec, tvec, inliers = cv2.solvePnPRansac(
                world[mask], pixels[mask], camera, None, iterationsCount=iterations,
                reprojectionError=5, flags=cv2.SOLVEPNP_SQPNP)
        except cv2.error as error:
            # SQPnP asserts on (near-)degenerate point sets, where upstream would crash; that
            # is a failed solve, as a False from OpenCV is
            LOG.debug('SQPnP failed at focal %g: %s', candidate, error)
            continue
        if ok and len(inliers) > best[0]:
            best = (len(inliers), rvec, tvec, candidate)
    if not best[0]:
        return None
    _, rvec, tvec, candidate = best
    world_to_camera = torch.eye(4, dtype=torch.float64)
    world_to_camera[:3, :3] = torch.from_numpy(cv2.Rodrigues(rvec)[0])
    world_to_camera[:3, 3] = torch.from_numpy(tvec.ravel())
    return float(candidate), torch.linalg.inv(world_to_camera)


def align_pairs(edges: Sequence[Edge], pts1, conf1, pts2, conf2, **options) -> Stage1Result:
    """The whole alignment on pairwise outputs held in memory: (E, H, W, 3) pointmaps and
    (E, H, W) confidences, one entry per directed edge."""
    num_frames = max(max(edge) for edge in edges) + 1
    alignment = Stage1Alignment(num_frames, edges, tuple(np.shape(pts1)[1:3]), **options)
    for e in range(len(edges)):
        alignment.add(e, pts1[e], conf1[e], pts2[e], conf2[e])
    needed = alignment.solve()
    return alignment.finish({(e, role): (pts1 if role == 1 else pts2)[e] for e, role in needed})
