"""The stage-1 engine: streaming, encoder reuse and the second pass change nothing.

Reference: every directed pair run through the model's own upstream-style ``forward`` and all
outputs handed to ``align_pairs`` at once, which is how upstream's inference + aligner work.
The engine instead encodes each frame once, decodes pairs in batches, holds a few frames, and
runs each frame's tree pair a second time: it must feed the alignment the same pointmaps and
get the same result.
"""

import numpy as np
import pytest
from stereo_any_video_ros.models.synthetic_weights import fill_synthetic
from stereodiff_ros.alignment import align_pairs, Stage1Alignment
from stereodiff_ros.engines import stage1
from stereodiff_ros.engines.stage1 import Stage1Engine
from stereodiff_ros.models.monst3r import AsymmetricCroCo3DStereo
from stereodiff_ros.pairs import make_pairs
from stereodiff_ros.preprocessing import preprocess_frames
from stereodiff_ros.synthetic import drifting_texture
import torch

# A long side of 64 instead of MonST3R's 512 keeps the full-resolution DPT heads cheap on a CPU.
LONG_SIDE = 64
TINY = dict(img_size=(64, 64), enc_embed_dim=64, enc_depth=2, enc_num_heads=2,
            dec_embed_dim=32, dec_depth=10, dec_num_heads=2)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    # gain 1.5 as in the MonST3R parity fixture: outputs that vary with the input
    return fill_synthetic(AsymmetricCroCo3DStereo(**TINY), 1.5).eval()


def video(num_frames):
    return drifting_texture(num_frames, 40, 56)


def reference(model, frames, window=2):
    images = preprocess_frames(frames, LONG_SIDE)
    edges = make_pairs(len(frames), window)
    outputs = [[], [], [], []]
    with torch.inference_mode():
        for i, j in edges:
            pred1, pred2 = model({'img': images[i:i + 1]}, {'img': images[j:j + 1]})
            for store, value in zip(outputs, (pred1['pts3d'], pred1['conf'],
                                              pred2['pts3d_in_other_view'], pred2['conf'])):
                store.append(value[0].numpy())
    outputs = [np.stack(o) for o in outputs]
    return outputs, align_pairs(edges, *outputs)


class RecordingAlignment(Stage1Alignment):
    """Keeps what the engine feeds the alignment, to compare with plain forward() calls."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.added, self.supplied = {}, {}

    def add(self, edge_index, pts1, conf1, pts2, conf2):
        self.added[edge_index] = [np.asarray(a).copy() for a in (pts1, conf1, pts2, conf2)]
        super().add(edge_index, pts1, conf1, pts2, conf2)

    def supply(self, view, points):
        self.supplied[view] = np.asarray(points).copy()
        super().supply(view, points)


@pytest.mark.parametrize('num_frames, batch_size', [(2, 8), (5, 1), (7, 4), (7, 64)])
def test_engine_feeds_the_alignment_what_forward_computes(model, monkeypatch, num_frames,
                                                          batch_size):
    frames = video(num_frames)
    expected_pairs, expected = reference(model, frames)
    recorded = []

    def recording(*args, **kwargs):
        recorded.append(RecordingAlignment(*args, **kwargs))
        return recorded[-1]

    monkeypatch.setattr(stage1, 'Stage1Alignment', recording)
    engine = Stage1Engine(model, batch_size=batch_size, long_side=LONG_SIDE)
    output = engine.run(frames, progress=False)
    alignment, result = recorded[0], output.result
    assert output.input_size == (40, 56)
    assert output.network_size == tuple(preprocess_frames(frames[:1], LONG_SIDE).shape[-2:])

    # every pair once, with forward()'s outputs (encoder reuse and batching change nothing)
    assert sorted(alignment.added) == list(range(len(expected_pairs[0])))
    for e, outputs in alignment.added.items():
        for got, want in zip(outputs, (stored[e] for stored in expected_pairs)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # the second pass re-runs exactly the views the tree asked for, with the same values
    assert sorted(alignment.supplied) == alignment.required_views()
    for (e, role), points in alignment.supplied.items():
        np.testing.assert_allclose(points, expected_pairs[0 if role == 1 else 2][e], rtol=1e-4,
                                   atol=1e-5)

    assert result.tree_edges == expected.tree_edges
    assert result.pnp_frames == expected.pnp_frames
    np.testing.assert_allclose(result.confidence, expected.confidence, rtol=1e-5)
    # Random weights give near-zero focals (~1e-3 px), where Weiszfeld and RANSAC-PnP turn a
    # 1e-6 change in the pointmaps into another pose; frames the tree poses are stable.
    posed = [k for k in range(num_frames) if k not in expected.pnp_frames]
    np.testing.assert_allclose(result.depth[posed], expected.depth[posed], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result.cam2world[posed], expected.cam2world[posed], atol=1e-4)


def test_bf16_runs_the_heads_in_fp32_and_stays_close(model):
    frames = video(3)
    fp32 = Stage1Engine(model, long_side=LONG_SIDE).run(frames, progress=False).result
    bf16 = Stage1Engine(model, precision='bf16', long_side=LONG_SIDE).run(
        frames, progress=False).result
    assert bf16.depth.dtype == np.float32 and np.isfinite(bf16.depth).all()
    assert (bf16.confidence >= 1).all()
    # the confidence maps come from fp32 heads fed bf16 decoder tokens
    np.testing.assert_allclose(bf16.confidence, fp32.confidence, rtol=0.05)


def test_bad_input_gets_clear_errors(model):
    engine = Stage1Engine(model, long_side=LONG_SIDE)
    with pytest.raises(ValueError, match='at least 2 frames'):
        engine.run(video(1), progress=False)
    frames = video(3)
    frames[2] = frames[2][:, :40]
    with pytest.raises(ValueError, match='one size'):
        engine.run(frames, progress=False)
    with pytest.raises(ValueError, match='precision'):
        Stage1Engine(model, precision='int8')
    with pytest.raises(ValueError, match='fp16 autocast needs a CUDA'):
        Stage1Engine(model, precision='fp16')
    with pytest.raises(ValueError, match='batch_size'):
        Stage1Engine(model, batch_size=0)


def test_out_of_memory_becomes_an_actionable_error(model, monkeypatch):
    engine = Stage1Engine(model, long_side=LONG_SIDE, batch_size=4)

    def exhausted(images):
        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')

    monkeypatch.setattr(engine.model, 'encode', exhausted)
    with pytest.raises(MemoryError, match='lower batch_size'):
        engine.run(video(3), progress=False)
