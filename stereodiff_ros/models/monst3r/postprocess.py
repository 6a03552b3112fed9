"""Head output (B, 4, H, W) → pointmap and confidence (DUSt3R's 'exp' depth and conf modes)."""

from typing import Dict, Tuple

import torch


def reg_dense_depth(xyz: torch.Tensor) -> torch.Tensor:
    """Keep the direction, map the norm d to expm1(d): unbounded depth, exact near 0."""
    d = xyz.norm(dim=-1, keepdim=True)
    return xyz / d.clip(min=1e-8) * torch.expm1(d)


def reg_dense_conf(x: torch.Tensor, conf_mode: Tuple[str, float, float]) -> torch.Tensor:
    """vmin + exp(x), capped at vmax: conf ≥ 1 for the ('exp', 1, inf) of every checkpoint."""
    _, vmin, vmax = conf_mode
    return vmin + x.exp().clip(max=vmax - vmin)


def postprocess(out: torch.Tensor, conf_mode: Tuple[str, float, float]
                ) -> Dict[str, torch.Tensor]:
    fmap = out.permute(0, 2, 3, 1)  # (B, H, W, 4)
    return {'pts3d': reg_dense_depth(fmap[..., 0:3]),  # (B, H, W, 3)
            'conf': reg_dense_conf(fmap[..., 3], conf_mode)}  # (B, H, W)
