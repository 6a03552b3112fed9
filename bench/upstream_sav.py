# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Run the official Stereo Any Video code next to ours, for golden fixtures and benchmarks.

Nothing here ships or runs in CI. It needs a checkout of TomTomTommi/stereoanyvideo in a
folder named `stereoanyvideo` (its imports are absolute) whose parent is passed as
`upstream`, plus einops, easydict, unfoldNd, opt_einsum and scipy (`make bench-sav` installs
them). timm and torchvision are imported by the official code but unused, so they are stubbed.
"""
import importlib
import os
from pathlib import Path
import sys
import tempfile
import types

import numpy as np
from stereo_any_video_ros.models.synthetic_weights import synthetic_state_dict
import torch

VDA_MODULE = 'stereoanyvideo.models.Video-Depth-Anything.video_depth_anything.video_depth'


def import_upstream(upstream) -> None:
    if not (Path(upstream) / 'stereoanyvideo' / 'models' / 'core').is_dir():
        raise SystemExit(f'{upstream}/stereoanyvideo is not a stereoanyvideo checkout')
    sys.path.insert(0, str(upstream))
    sys.modules.setdefault('timm', types.ModuleType('timm'))
    torchvision = types.ModuleType('torchvision')
    transforms = types.ModuleType('torchvision.transforms')
    transforms.Compose = object
    torchvision.transforms = transforms
    sys.modules.setdefault('torchvision', torchvision)
    sys.modules.setdefault('torchvision.transforms', transforms)


def official_model(upstream, gain: float = 0.8):
    """The official StereoAnyVideo on the CPU with key-derived weights."""
    import_upstream(upstream)
    from stereoanyvideo.models.core.stereoanyvideo import StereoAnyVideo
    vda_class = importlib.import_module(VDA_MODULE).VideoDepthAnything
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # The constructor loads this CWD-relative file; the weights are replaced below.
        folder = Path(tmp, 'models/Video-Depth-Anything/checkpoints')
        folder.mkdir(parents=True)
        vda = vda_class(encoder='vits', features=64, out_channels=[48, 96, 192, 384])
        torch.save(vda.state_dict(), folder / 'video_depth_anything_vits.pth')
        os.chdir(tmp)
        try:
            model = StereoAnyVideo(mixed_precision=False)
        finally:
            os.chdir(cwd)
    model.load_state_dict(synthetic_state_dict(model.state_dict(), gain), strict=True)
    return model.eval()


def to_video(left: np.ndarray, right: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 pair → the official (N, 2, 3, H, W) float 0–255 layout."""
    video = np.stack([left, right], axis=1).transpose(0, 1, 4, 2, 3)
    return torch.from_numpy(video.astype(np.float32))


def official_clip(model, left: np.ndarray, right: np.ndarray, device: str = 'cpu'
                  ) -> np.ndarray:
    """Official padding + forward(iters=20, test_mode=True) + unpad + abs, as (T, H, W)."""
    from stereoanyvideo.models.core.utils.utils import InputPadder
    video = to_video(left, right).to(device)
    padder = InputPadder(video[:, 0].shape, divis_by=32)
    left_t, right_t = padder.pad(video[:, 0], video[:, 1])
    with torch.no_grad():
        out = model(left_t[None], right_t[None], iters=20, test_mode=True)  # (T, 1, 1, H, W)
    return padder.unpad(out[:, 0])[:, 0].abs().cpu().numpy()


def official_sequence(model, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Official forward_batch_test(iters=20) with its hard-coded .cuda() made a no-op."""
    original = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    try:
        with torch.no_grad():
            out = model.forward_batch_test({'stereo_video': to_video(left, right)}, iters=20)
    finally:
        torch.Tensor.cuda = original
    return out['disparity'][:, 0].numpy()
