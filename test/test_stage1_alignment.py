"""The closed-form alignment on scenes with known geometry, its streaming, and its errors.

The synthetic scenes (stereodiff_ros.synthetic) give exact MonST3R-style pairwise pointmaps:
each pair in camera i's frame at a random scale of its own, as the network predicts them.
"""

import math

import cv2
import numpy as np
import pytest
from stereodiff_ros.alignment import (
    align_pairs, log_depth_fallback, ransac_pnp, Stage1Alignment, view_similarities,
    weiszfeld_focal)
from stereodiff_ros.pairs import make_pairs
from stereodiff_ros.synthetic import make_scene, pairwise_outputs
import torch


def best_scale(estimate, truth):
    return float((estimate * truth).sum() / (estimate * estimate).sum())


def relative_poses(cam2world):
    """Camera k in camera 0's frame, translations normalised by their largest norm."""
    relative = np.linalg.inv(cam2world[0]) @ cam2world
    relative[:, :3, 3] /= np.linalg.norm(relative[:, :3, 3], axis=1).max()
    return relative


@pytest.mark.parametrize('num_frames, seed', [(2, 0), (3, 1), (6, 2), (9, 3)])
def test_recovers_depth_up_to_one_scale_and_the_focal(num_frames, seed):
    scene = make_scene(num_frames, 24, 32, seed=seed)
    edges = make_pairs(num_frames)
    pairs = pairwise_outputs(scene, edges, seed=seed)
    result = align_pairs(edges, pairs.pts1, pairs.conf1, pairs.pts2, pairs.conf2)

    scale = best_scale(result.depth, scene.depth)
    assert np.abs(result.depth * scale - scene.depth).max() < 1e-4 * scene.depth.max()
    np.testing.assert_allclose(result.focal, scene.focal, rtol=1e-3)
    np.testing.assert_allclose(relative_poses(result.cam2world),
                               relative_poses(scene.cam2world), atol=1e-4)
    assert len(result.tree_edges) == num_frames - 1
    # the tree spans every frame
    assert {k for edge in result.tree_edges for k in edge} == set(range(num_frames))
    # depth and poses share the world scale that upstream normalises pair scales to
    assert result.scale_factor > 0


def test_noisy_pointmaps_still_give_the_focal_within_one_percent():
    scene = make_scene(8, 24, 32, seed=5)
    edges = make_pairs(8)
    pairs = pairwise_outputs(scene, edges, seed=5, noise=0.01)
    result = align_pairs(edges, pairs.pts1, pairs.conf1, pairs.pts2, pairs.conf2)
    np.testing.assert_allclose(result.focal, scene.focal, rtol=0.01)
    scale = best_scale(result.depth, scene.depth)
    relative_error = np.abs(result.depth * scale - scene.depth) / scene.depth
    assert np.median(relative_error) < 0.01


def test_the_pair_scales_are_normalised_to_the_base_scale():
    # upstream rescales the world so that the geometric mean of the pair → world scales is
    # base_scale; doubling one (non-root) pair's pointmaps halves that pair's scale alone, so
    # everything grows by 2^(1/E) and nothing else changes
    scene = make_scene(5, 16, 24, seed=4)
    edges = make_pairs(5)
    pairs = pairwise_outputs(scene, edges, seed=4)
    before = align_pairs(edges, pairs.pts1, pairs.conf1, pairs.pts2, pairs.conf2)
    e = next(e for e, edge in enumerate(edges) if edge != before.tree_edges[0])
    pts1, pts2 = pairs.pts1.copy(), pairs.pts2.copy()
    pts1[e] *= 2
    pts2[e] *= 2
    after = align_pairs(edges, pts1, pairs.conf1, pts2, pairs.conf2)
    growth = 2 ** (1 / len(edges))
    np.testing.assert_allclose(after.depth, before.depth * growth, rtol=1e-5)
    assert math.isclose(after.scale_factor, before.scale_factor * growth, rel_tol=1e-9)
    np.testing.assert_allclose(after.focal, before.focal, rtol=1e-5)


def test_streaming_in_frame_order_holds_a_few_frames_and_matches_any_order():
    num_frames = 24
    scene = make_scene(num_frames, 12, 16, seed=7)
    edges = make_pairs(num_frames)
    pairs = pairwise_outputs(scene, edges, seed=7)

    def run(order, watch=None):
        alignment = Stage1Alignment(num_frames, edges, scene.shape)
        for e in order:
            alignment.add(e, pairs.pts1[e], pairs.conf1[e], pairs.pts2[e], pairs.conf2[e])
            if watch is not None:
                watch.append(alignment.held_views)
        needed = alignment.solve()
        assert len(needed) <= num_frames + 1  # one view per frame, two for the root pair
        return alignment.finish({(e, r): (pairs.pts1 if r == 1 else pairs.pts2)[e]
                                 for e, r in needed})

    held = []
    frame_order = sorted(range(len(edges)), key=lambda e: max(edges[e]))
    streamed = run(frame_order, held)
    # with n = 2 a frame has 8 views; at most the frames still open are held, whatever N
    assert max(held) <= 24
    assert held[-1] == 0
    shuffled = run(np.random.default_rng(0).permutation(len(edges)).tolist())
    np.testing.assert_allclose(shuffled.depth, streamed.depth, rtol=1e-6)
    np.testing.assert_allclose(shuffled.focal, streamed.focal, rtol=1e-6)


def test_view_similarities_recover_a_known_similarity_both_ways():
    rng = np.random.default_rng(0)
    points = torch.from_numpy(rng.normal(size=(500, 3)))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rotation = torch.from_numpy(q * np.sign(np.linalg.det(q)))
    moved = 2.5 * points @ rotation.T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    weights = torch.from_numpy(rng.uniform(1, 5, size=(2, 500)))
    similarity = view_similarities(torch.stack((points, moved)), weights)
    expected = torch.eye(4, dtype=torch.float64)
    expected[:3, :3] = 2.5 * rotation
    expected[:3, 3] = torch.tensor([1.0, -2.0, 0.5])
    torch.testing.assert_close(similarity[0, 1], expected)
    torch.testing.assert_close(similarity[1, 0], torch.linalg.inv(expected))
    torch.testing.assert_close(similarity[0, 0], torch.eye(4, dtype=torch.float64))


def test_view_similarities_weight_by_the_source_views_confidence():
    # two halves disagree; the Procrustes follows the half its source view trusts
    points = torch.randn(200, 3, dtype=torch.float64)
    target = points.clone()
    target[100:] = target[100:] * 3  # the second half is scaled up
    trust_first = torch.cat((torch.full((100,), 1e6), torch.ones(100))).double()
    similarity = view_similarities(torch.stack((points, target)),
                                   torch.stack((trust_first, trust_first)))
    scale = float(similarity[0, 1, :3, 0].norm())
    assert math.isclose(scale, 1.0, rel_tol=1e-3)


def test_weiszfeld_focal_of_a_pinhole_pointmap_and_of_a_degenerate_one():
    height, width, focal = 20, 30, 37.5
    y, x = np.mgrid[:height, :width].astype(np.float64)
    depth = 2 + np.sin(x / 5)
    points = np.stack(((x - width / 2) / focal * depth, (y - height / 2) / focal * depth, depth),
                      -1)
    assert math.isclose(weiszfeld_focal(torch.from_numpy(points).float()), focal, rel_tol=1e-5)
    # behind the camera (z < 0, as with random weights) the rays point backwards and the best
    # focal is negative: clipped to 0, as upstream does
    behind = points * np.array([1.0, 1.0, -1.0])
    assert weiszfeld_focal(torch.from_numpy(behind).float()) == 0.0


def test_depth_at_or_behind_the_camera_falls_back_to_one_as_upstream_stores_it():
    depth = torch.tensor([2.5, 0.0, -3.0, float('nan')])
    assert log_depth_fallback(depth).tolist() == pytest.approx([2.5, 1.0, 1.0, 1.0])


def test_misuse_gets_clear_errors():
    scene = make_scene(3, 8, 8, seed=0)
    edges = make_pairs(3)
    pairs = pairwise_outputs(scene, edges)
    alignment = Stage1Alignment(3, edges, scene.shape)
    with pytest.raises(ValueError, match='shape'):
        alignment.add(0, pairs.pts1[0][:4], pairs.conf1[0], pairs.pts2[0], pairs.conf2[0])
    alignment.add(0, pairs.pts1[0], pairs.conf1[0], pairs.pts2[0], pairs.conf2[0])
    with pytest.raises(ValueError, match='twice'):
        alignment.add(0, pairs.pts1[0], pairs.conf1[0], pairs.pts2[0], pairs.conf2[0])
    with pytest.raises(RuntimeError, match='never added'):
        alignment.solve()
    with pytest.raises(RuntimeError, match='solve'):
        alignment.finish({})
    for e in range(1, len(edges)):
        alignment.add(e, pairs.pts1[e], pairs.conf1[e], pairs.pts2[e], pairs.conf2[e])
    needed = alignment.solve()
    with pytest.raises(ValueError, match='is missing'):
        alignment.finish({needed[0]: pairs.pts1[needed[0][0]]})
    with pytest.raises(ValueError, match='never supplied'):
        alignment.result()
    with pytest.raises(ValueError, match='defines no frame'):
        alignment.supply((0, 3), pairs.pts1[0])
    with pytest.raises(ValueError, match='already finished'):
        alignment.supply(needed[0], pairs.pts1[needed[0][0]])
    with pytest.raises(ValueError, match='in no pair'):
        Stage1Alignment(4, edges, scene.shape)
    with pytest.raises(ValueError, match='duplicate'):
        Stage1Alignment(3, edges + edges[:1], scene.shape)


def test_pnp_on_a_degenerate_point_set_is_a_failed_solve_not_a_crash():
    """SQPnP asserts (cv2.error) when the confident points are nearly one point, as random
    weights produce over long videos; that frame keeps the identity pose, as a failed PnP."""
    world = (np.random.default_rng(0).normal(size=(8, 8, 3)) * 1e-6).astype(np.float32)
    mask = np.ones((8, 8), bool)
    with pytest.raises(cv2.error):  # what OpenCV itself does with these points
        cv2.solvePnPRansac(world[mask], np.stack(np.mgrid[:8, :8][::-1], -1)[mask]
                           .astype(np.float32), np.float32([[5, 0, 4], [0, 5, 4], [0, 0, 1]]),
                           None, flags=cv2.SOLVEPNP_SQPNP)
    assert ransac_pnp(world, 5.0, mask, 10) is None
