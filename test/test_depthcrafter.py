# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""DepthCrafter's stage-2 components: local loading in the Hugging Face layout, the per-frame
context of the UNet, and the conditioning/decoding steps, on the tiny test models.

Parity of the numerics with the official code is in test_depthcrafter_parity.py.
"""
import copy
import json
import math
import shutil

from diffusers import StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel
import numpy as np
import pytest
from stereo_any_video_ros.models.checkpoint import CheckpointError
from stereodiff_ros.models.depthcrafter import (
    added_time_ids, clip_embeddings, decode_disparity, DepthCrafterCheckpointError,
    DiffusersUNetSpatioTemporalConditionModelDepthCrafter, load_depthcrafter,
    resize_with_antialiasing, save_depthcrafter, tiny_depthcrafter, vae_latents)
from stereodiff_ros.models.depthcrafter.config import (
    OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, SVD_XT_SCHEDULER_CONFIG, TINY_UNET_CONFIG)
import torch

UNET_REPO = 'tencent/DepthCrafter'
SVD_REPO = 'stabilityai/stable-video-diffusion-img2vid-xt'
UNET_WEIGHTS = 'unet/diffusion_pytorch_model.safetensors'
VAE_WEIGHTS = 'svd/vae/diffusion_pytorch_model.safetensors'
CLIP_WEIGHTS = 'svd/image_encoder/model.safetensors'
LAYOUT = ['unet/config.json', UNET_WEIGHTS, 'svd/model_index.json', 'svd/vae/config.json',
          VAE_WEIGHTS, 'svd/image_encoder/config.json', CLIP_WEIGHTS,
          'svd/scheduler/scheduler_config.json', 'svd/feature_extractor/preprocessor_config.json']


@pytest.fixture(scope='module')
def tiny():
    return tiny_depthcrafter()


@pytest.fixture(scope='module')
def saved(tiny, tmp_path_factory):
    root = tmp_path_factory.mktemp('depthcrafter')
    save_depthcrafter(tiny, root / 'unet', root / 'svd')
    return root


@pytest.fixture
def copied(saved, tmp_path):
    """A private copy of the saved folders that a test may damage."""
    shutil.copytree(saved, tmp_path, dirs_exist_ok=True)
    return tmp_path


def load(root, **kwargs):
    return load_depthcrafter(root / 'unet', root / 'svd', **kwargs)


def frames(count=3, height=32, width=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 3, height, width, generator=generator) * 2 - 1


def unet_inputs(batch=1, count=3, seed=0, context_dim=32):
    generator = torch.Generator().manual_seed(seed)
    sample = torch.randn(batch, count, 8, 8, 8, generator=generator)
    context = torch.randn(batch, count, context_dim, generator=generator)
    ids = torch.tensor([[7.0, 127.0, 0.02]]).repeat(batch, 1)
    return sample, context, ids


def assert_same_state(model, reference):
    state, expected = model.state_dict(), reference.state_dict()
    assert list(state) == list(expected)
    assert all(torch.equal(state[key], expected[key].to(state[key].dtype)) for key in expected)


def outputs(components):
    """UNet, CLIP and VAE outputs on fixed inputs."""
    video = frames()
    sample, context, ids = unet_inputs()
    with torch.no_grad():
        return (components.unet(sample, 0.2, context, ids),
                clip_embeddings(components.image_encoder, video, components.image_mean,
                                components.image_std),
                vae_latents(components.vae, video))


# --- loading ----------------------------------------------------------------------------------


def test_save_writes_the_hugging_face_layout(saved):
    assert sorted(str(p.relative_to(saved)) for p in saved.rglob('*') if p.is_file()) == \
        sorted(LAYOUT)


def test_round_trip_gives_identical_models_and_outputs(tiny, saved):
    loaded = load(saved)
    for name in ('unet', 'vae', 'image_encoder'):
        assert_same_state(getattr(loaded, name), getattr(tiny, name))
        assert not getattr(loaded, name).training
    assert isinstance(loaded.unet, DiffusersUNetSpatioTemporalConditionModelDepthCrafter)
    assert loaded.scheduler_config == SVD_XT_SCHEDULER_CONFIG
    assert (loaded.image_mean, loaded.image_std) == (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)
    # Equal up to summation order: tensors memory-mapped from safetensors are not 64-byte
    # aligned, and the CPU kernels then vectorise differently.
    for got, expected in zip(outputs(loaded), outputs(tiny)):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_the_fp16_variant_files_are_preferred(tiny, copied):
    half = copy.copy(tiny)
    for name in ('unet', 'vae', 'image_encoder'):
        setattr(half, name, copy.deepcopy(getattr(tiny, name)).half())
    # Next to the fp32 plain files, as in the SVD-xt repository.
    save_depthcrafter(half, copied / 'unet', copied / 'svd', variant='fp16')
    assert (copied / 'unet' / 'diffusion_pytorch_model.fp16.safetensors').is_file()
    assert (copied / 'svd' / 'image_encoder' / 'model.fp16.safetensors').is_file()
    loaded = load(copied)  # fp32 models holding the fp16-rounded values
    for name in ('unet', 'vae', 'image_encoder'):
        model = getattr(loaded, name)
        assert model.dtype == torch.float32
        assert_same_state(model, getattr(half, name))
        original = getattr(tiny, name).state_dict().values()
        assert not all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), original))
    for relative in (UNET_WEIGHTS, VAE_WEIGHTS, CLIP_WEIGHTS):
        (copied / relative).unlink()
    only_fp16 = load(copied, dtype=torch.float16)
    for name in ('unet', 'vae', 'image_encoder'):
        assert getattr(only_fp16, name).dtype == torch.float16
        assert_same_state(getattr(only_fp16, name), getattr(half, name))


def test_diffusers_reads_the_saved_svd_folder(tiny, saved):
    pipe = StableVideoDiffusionPipeline.from_pretrained(saved / 'svd', unet=tiny.unet,
                                                        local_files_only=True)
    assert_same_state(pipe.vae, tiny.vae)
    assert_same_state(pipe.image_encoder, tiny.image_encoder)
    assert list(pipe.feature_extractor.image_mean) == list(OPENAI_CLIP_MEAN)
    assert pipe.scheduler.config.prediction_type == 'v_prediction'


@pytest.mark.parametrize('relative', [
    'unet/config.json', UNET_WEIGHTS, 'unet',
    'svd/vae/config.json', VAE_WEIGHTS, 'svd/image_encoder/config.json', CLIP_WEIGHTS,
    'svd/scheduler/scheduler_config.json', 'svd/feature_extractor/preprocessor_config.json',
    'svd'])
def test_each_missing_piece_is_named_with_its_download(copied, relative):
    target = copied / relative
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(DepthCrafterCheckpointError) as raised:
        load(copied)
    assert isinstance(raised.value, CheckpointError)
    message = str(raised.value)
    assert str(target) in message
    from_unet_repo = relative.startswith('unet')
    repo, other = (UNET_REPO, SVD_REPO) if from_unet_repo else (SVD_REPO, UNET_REPO)
    assert f'hf download {repo} ' in message and other not in message
    assert ('licence' in message) != from_unet_repo  # only SVD-xt is gated
    assert 'Nothing is downloaded' in message


def test_a_file_given_as_the_unet_folder_is_named(saved):
    weights = saved / UNET_WEIGHTS
    with pytest.raises(DepthCrafterCheckpointError, match=rf'{weights} \(not a folder\)'):
        load_depthcrafter(weights, saved / 'svd')


def test_all_missing_pieces_are_listed_at_once(copied):
    for relative in (UNET_WEIGHTS, CLIP_WEIGHTS):
        (copied / relative).unlink()
    with pytest.raises(DepthCrafterCheckpointError,
                       match=r'(?s)model\.safetensors.*model\.fp16\.safetensors'
                             r'.*\n.*image_encoder/model\.safetensors.*'
                             rf'{UNET_REPO}.*{SVD_REPO}'):
        load(copied)


@pytest.mark.parametrize('relative, key, value, reason', [
    ('unet/config.json', 'in_channels', 4, 'in_channels=4'),
    ('unet/config.json', '_class_name', 'UNet2DConditionModel', 'UNet2DConditionModel'),
    ('unet/config.json', 'cross_attention_dim', 16, 'cross_attention_dim=16'),
    ('svd/vae/config.json', 'latent_channels', 16, 'latent_channels=16'),
    ('svd/image_encoder/config.json', 'image_size', 32, r'image_size=32.*224'),
    ('svd/image_encoder/config.json', 'projection_dim', 64, 'projection_dim=64'),
])
def test_incompatible_configs_are_refused_before_loading(copied, relative, key, value, reason):
    path = copied / relative
    config = json.loads(path.read_text())
    config[key] = value
    path.write_text(json.dumps(config))
    with pytest.raises(DepthCrafterCheckpointError, match=reason):
        load(copied)


def test_clip_normalisation_comes_from_the_feature_extractor(copied):
    path = copied / 'svd' / 'feature_extractor' / 'preprocessor_config.json'
    config = json.loads(path.read_text())
    path.write_text(json.dumps(dict(config, image_mean=[0.5, 0.5, 0.5], image_std=[0.25] * 3)))
    assert (load(copied).image_mean, load(copied).image_std) == ((0.5,) * 3, (0.25,) * 3)
    del config['image_mean'], config['image_std']
    path.write_text(json.dumps(config))
    assert (load(copied).image_mean, load(copied).image_std) == (OPENAI_CLIP_MEAN,
                                                                 OPENAI_CLIP_STD)


# --- the per-frame context --------------------------------------------------------------------


def test_a_shared_embedding_reproduces_the_stock_svd_forward(tiny):
    """With one embedding for all frames, DepthCrafter's forward is diffusers' SVD forward."""
    sample, context, ids = unet_inputs(batch=2)
    shared = context[:, :1]  # [B, 1, C]
    with torch.no_grad():
        ours = tiny.unet(sample, 0.7, shared.expand_as(context), ids)
        stock = UNetSpatioTemporalConditionModel.forward(tiny.unet, sample, 0.7, shared, ids)
    assert ours.shape == (2, 3, 4, 8, 8)
    torch.testing.assert_close(ours, stock.sample, rtol=1e-6, atol=1e-6)


def capture(module, store, key, inputs=False):
    if inputs:
        return module.register_forward_pre_hook(
            lambda _, args, kwargs: store.__setitem__(key, kwargs['encoder_hidden_states']),
            with_kwargs=True)
    return module.register_forward_hook(lambda _, args, output: store.__setitem__(key, output))


def run_captured(unet, sample, context, ids):
    """The first spatial cross-attention's output, the first spatial block's output and the
    first temporal block's context."""
    transformer = unet.down_blocks[0].attentions[0]
    store = {}
    hooks = [capture(transformer.transformer_blocks[0].attn2, store, 'cross_attention'),
             capture(transformer.transformer_blocks[0], store, 'spatial'),
             capture(transformer.temporal_transformer_blocks[0], store, 'temporal_context',
                     inputs=True)]
    with torch.no_grad():
        store['output'] = unet(sample, 0.7, context, ids)
    for hook in hooks:
        hook.remove()
    return store


def test_each_frame_cross_attends_to_its_own_embedding(tiny):
    batch, count = 2, 3
    sample, context, ids = unet_inputs(batch=batch, count=count)
    attn2 = tiny.unet.down_blocks[0].attentions[0].transformer_blocks[0].attn2
    got = run_captured(tiny.unet, sample, context, ids)['cross_attention']  # [B*T, h*w, C]
    # One key token: softmax weight 1, so every pixel of frame (b, t) gets the value
    # projection of embedding (b, t).
    with torch.no_grad():
        expected = attn2.to_out[0](attn2.to_v(context.flatten(0, 1)))  # [B*T, C]
    assert got.shape[0] == batch * count
    torch.testing.assert_close(got, expected[:, None].expand_as(got), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(expected[0], expected[1], atol=1e-3)  # the frames do differ


def test_changing_one_frame_embedding_reaches_only_that_frames_spatial_path(tiny):
    sample, context, ids = unet_inputs(count=4)
    base = run_captured(tiny.unet, sample, context, ids)
    for frame in (2, 0):
        changed = context.clone()
        changed[0, frame] += 1.0
        run = run_captured(tiny.unet, sample, changed, ids)
        spatial_diff = (run['spatial'] - base['spatial']).abs().amax(dim=(1, 2))  # per frame
        assert spatial_diff[frame] > 1e-3
        assert torch.all(spatial_diff[torch.arange(4) != frame] == 0)
        # diffusers' temporal layers cross-attend to the first frame's embedding only.
        same_temporal = torch.equal(run['temporal_context'], base['temporal_context'])
        assert same_temporal == (frame != 0)
        # Through the temporal mixing the change reaches every frame of the output.
        assert torch.all((run['output'] - base['output']).abs().amax(dim=(2, 3, 4)) > 0)


@pytest.mark.parametrize('timestep', [0.7, torch.tensor(0.7), torch.tensor([0.7, 0.7])])
def test_timestep_forms_agree(tiny, timestep):
    sample, context, ids = unet_inputs(batch=2)
    with torch.no_grad():
        reference = tiny.unet(sample, 0.7, context, ids)
        assert torch.equal(tiny.unet(sample, timestep, context, ids), reference)
        assert not torch.allclose(tiny.unet(sample, 0.3, context, ids), reference)


# --- conditioning and decoding ----------------------------------------------------------------


def reflect(index, size):
    return -index if index < 0 else 2 * (size - 1) - index if index >= size else index


def blur_matrix(size, out_size):
    """The Gaussian blur of one axis, written as a matrix with reflected borders."""
    sigma = max((size / out_size - 1) / 2, 0.001)
    taps = int(max(4 * sigma, 3))
    taps += 1 - taps % 2
    weights = np.exp(-(np.arange(taps) - taps // 2) ** 2 / (2 * sigma ** 2))
    weights /= weights.sum()
    matrix = np.zeros((size, size))
    for row in range(size):
        for tap, weight in enumerate(weights):
            matrix[row, reflect(row + tap - taps // 2, size)] += weight
    return matrix


def bicubic_matrix(size, out_size, a=-0.75):
    """Keys' cubic convolution (a = −0.75, PyTorch's), align_corners=True, clamped borders."""
    def cubic(x):
        x = abs(x)
        return ((a + 2) * x - (a + 3)) * x * x + 1 if x <= 1 else \
            ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    matrix = np.zeros((out_size, size))
    for row in range(out_size):
        source = row * (size - 1) / (out_size - 1)
        base = math.floor(source)
        for offset in range(-1, 3):
            matrix[row, min(max(base + offset, 0), size - 1)] += cubic(source - base - offset)
    return matrix


@pytest.mark.parametrize('shape, size', [((2, 3, 40, 30), (9, 13)),  # 7- and 3-tap blurs
                                         ((1, 2, 5, 7), (11, 16)),  # enlarging: no blur
                                         ((1, 1, 23, 23), (23, 23))])
def test_resize_with_antialiasing_is_blur_then_bicubic(shape, size):
    images = torch.rand(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    rows = bicubic_matrix(shape[2], size[0]) @ blur_matrix(shape[2], size[0])
    cols = bicubic_matrix(shape[3], size[1]) @ blur_matrix(shape[3], size[1])
    expected = np.einsum('ih,nchw,jw->ncij', rows, images.numpy(), cols)
    got = resize_with_antialiasing(images.float(), size)
    assert got.shape == (*shape[:2], *size) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=2e-6)


def test_clip_embeddings_are_per_frame_and_chunk_independent(tiny):
    video = frames(count=5, height=24, width=40)
    with torch.no_grad():
        whole = clip_embeddings(tiny.image_encoder, video, tiny.image_mean, tiny.image_std,
                                chunk=8)
        chunked = clip_embeddings(tiny.image_encoder, video, tiny.image_mean, tiny.image_std,
                                  chunk=2)
        alone = clip_embeddings(tiny.image_encoder, video[3:4], tiny.image_mean, tiny.image_std)
        shifted = clip_embeddings(tiny.image_encoder, video, tiny.image_mean, (1.0,) * 3)
    assert whole.shape == (5, 32) and whole.dtype == torch.float32
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(alone[0], whole[3], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(shifted, whole, atol=1e-3)  # the normalisation is applied


def test_vae_latents_are_the_unscaled_posterior_mode(tiny):
    video = frames(count=3, height=16, width=24)
    with torch.no_grad():
        latents = vae_latents(tiny.vae, video, chunk=2)
        mean = tiny.vae.encode(video).latent_dist.mean
    assert latents.shape == (3, 4, 8, 12)
    torch.testing.assert_close(latents, mean, rtol=1e-5, atol=1e-6)


def test_decode_disparity_shapes_range_and_frame_grouping(tiny):
    latents = torch.randn(4, 4, 8, 8, generator=torch.Generator().manual_seed(5)) * 0.5
    with torch.no_grad():
        together = decode_disparity(tiny.vae, latents)
        in_pairs = decode_disparity(tiny.vae, latents, num_frames=2)
        first_pair = decode_disparity(tiny.vae, latents[:2])
        images = tiny.vae.decode(latents / tiny.vae.config.scaling_factor, num_frames=4).sample
    assert together.shape == (4, 16, 16) and together.dtype == torch.float32
    torch.testing.assert_close(together, (images / 2 + 0.5).clamp(0, 1).mean(dim=1))
    # The temporal decoder mixes the frames decoded together, and only those.
    torch.testing.assert_close(in_pairs[:2], first_pair)
    assert not torch.allclose(in_pairs, together, atol=1e-4)
    with pytest.raises(ValueError, match='num_frames=3'):
        decode_disparity(tiny.vae, latents, num_frames=3)


def test_vae_halves_may_differ_in_precision(tiny):
    """DepthCrafter's fp16 setup: the VAE encodes in fp32 (force_upcast), decodes in fp16."""
    split = copy.deepcopy(tiny.vae).half()
    split.encoder.float()
    split.quant_conv.float()
    video = frames(count=2, height=16, width=16)
    with torch.no_grad():
        latents = vae_latents(split, video)
        disparity = decode_disparity(split, latents * split.config.scaling_factor)
        reference = decode_disparity(tiny.vae, vae_latents(tiny.vae, video)
                                     * tiny.vae.config.scaling_factor)
    assert latents.dtype == torch.float32 and disparity.dtype == torch.float32
    torch.testing.assert_close(disparity, reference, rtol=0, atol=5e-3)


def test_added_time_ids_follow_the_unet_config(tiny):
    ids = added_time_ids(tiny.unet, noise_aug_strength=0.05, dtype=torch.float64)
    assert ids.dtype == torch.float64
    assert ids.tolist() == [[7.0, 127.0, 0.05]]
    wrong = DiffusersUNetSpatioTemporalConditionModelDepthCrafter(
        **dict(TINY_UNET_CONFIG, projection_class_embeddings_input_dim=64))
    with pytest.raises(ValueError, match='add_embedding takes 64'):
        added_time_ids(wrong)
