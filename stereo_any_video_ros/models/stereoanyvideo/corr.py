"""All-in-all-pair correlation (AAPC) between left features and disparity-warped right ones."""

from functools import lru_cache
from typing import Tuple

import torch
import torch.nn.functional as F

GROUPS = 4
# Patch (height, width): a 1×9 row on even refinement steps, a 3×3 square on odd ones.
WIDE_PATCH = (1, 9)
SQUARE_PATCH = (3, 3)


def warp_right(right: torch.Tensor, disparity: torch.Tensor, base_x: torch.Tensor,
               base_y: torch.Tensor) -> torch.Tensor:
    """Sample ``right`` (N, C, h, w) at (x − d, y), bilinear with zero padding.

    The grid is normalised exactly as the official sampler does (x by w−1, y by h−1,
    ``align_corners=True``) so warped features match it to the last bit.
    """
    _, _, h, w = right.shape
    grid_x = 2 * (base_x - disparity) / (w - 1) - 1  # (N, h, w)
    grid_y = 2 * base_y / (h - 1) - 1 if h > 1 else base_y
    grid = torch.stack((grid_x, grid_y.expand_as(grid_x)), dim=-1)
    return F.grid_sample(right, grid, mode='bilinear', padding_mode='zeros', align_corners=True)


@lru_cache(maxsize=16)  # a few (size, patch) pairs per resolution; every clip reuses them
def pair_index(h: int, w: int, patch: Tuple[int, int], device: torch.device) -> torch.Tensor:
    """Where each output of the patch correlation sits in the table of relative products.

    With replicate padding a patch neighbour at offset a of pixel p is pixel clamp(p + a). So
    the product of left neighbour a and right neighbour b is the product of left pixel
    i = clamp(p + a) with right pixel clamp(p + b) = i + s, where the relative offset s lies
    within twice the patch radius. The table holds those products for every i and s, shape
    (h, w, G, S); this returns, for every (p, group, a, b) in output order, the flat table
    position of (i, group, s).
    """
    ph, pw = patch
    ry, rx = ph // 2, pw // 2
    span_y, span_x = 4 * ry + 1, 4 * rx + 1
    ys = torch.arange(h, device=device).view(h, 1, 1, 1)
    xs = torch.arange(w, device=device).view(1, w, 1, 1)
    offsets_y = torch.arange(-ry, ry + 1, device=device).repeat_interleave(pw)  # row-major
    offsets_x = torch.arange(-rx, rx + 1, device=device).repeat(ph)
    left_y = (ys + offsets_y.view(1, 1, -1, 1)).clamp(0, h - 1)  # (h, 1, K, 1)
    left_x = (xs + offsets_x.view(1, 1, -1, 1)).clamp(0, w - 1)  # (1, w, K, 1)
    right_y = (ys + offsets_y.view(1, 1, 1, -1)).clamp(0, h - 1)  # (h, 1, 1, K)
    right_x = (xs + offsets_x.view(1, 1, 1, -1)).clamp(0, w - 1)  # (1, w, 1, K)
    shift = (right_y - left_y + 2 * ry) * span_x + (right_x - left_x + 2 * rx)  # (h, w, K, K)
    pixel = left_y * w + left_x  # (h, w, K, 1)
    groups = torch.arange(GROUPS, device=device).view(1, 1, GROUPS, 1, 1)
    table_size = span_y * span_x
    index = (pixel.unsqueeze(2) * GROUPS + groups) * table_size + shift.unsqueeze(2)
    return index.flatten()  # over (h, w, G, K_left, K_right)


class AAPC:
    """Correlation of every left neighbour with every right neighbour inside a small patch.

    For each of 4 channel groups and each pixel this gives the K×K channel sums of products of
    the K left and K right patch neighbours (left offset outer, right offset inner, both
    row-major; replicate padding): 4·81 = 324 channels. Many of the 81 pairs repeat the same
    two pixels, so each distinct (pixel, relative offset) product is computed once (17 per
    group for 1×9, 25 for 3×3) and the 81 are gathered from those.
    """

    def __init__(self, fmap1: torch.Tensor, fmap2: torch.Tensor):
        n, c, h, w = fmap1.shape
        self.left = fmap1.float().view(n, GROUPS, c // GROUPS, h, w)
        self.right = fmap2.float()
        self.base_y, self.base_x = torch.meshgrid(
            torch.arange(h, device=fmap1.device, dtype=torch.float32),
            torch.arange(w, device=fmap1.device, dtype=torch.float32), indexing='ij')

    def __call__(self, disparity: torch.Tensor, small_patch: bool) -> torch.Tensor:
        """disparity (N, h, w) → correlation (N, h, w, 324), channels last for the cost MLP."""
        n, groups, group_c, h, w = self.left.shape
        ph, pw = SQUARE_PATCH if small_patch else WIDE_PATCH
        ry, rx = ph // 2, pw // 2
        warped = warp_right(self.right, disparity.float(), self.base_x, self.base_y)
        warped = F.pad(warped, (2 * rx, 2 * rx, 2 * ry, 2 * ry), mode='replicate')
        warped = warped.view(n, groups, group_c, h + 4 * ry, w + 4 * rx)
        shifts = [(sy, sx) for sy in range(4 * ry + 1) for sx in range(4 * rx + 1)]
        table = self.left.new_empty(n, h, w, groups, len(shifts))
        for s, (sy, sx) in enumerate(shifts):
            product = (self.left * warped[..., sy:sy + h, sx:sx + w]).sum(dim=2)  # (N, G, h, w)
            table[..., s] = product.permute(0, 2, 3, 1)
        index = pair_index(h, w, (ph, pw), self.left.device)
        return table.view(n, -1)[:, index].view(n, h, w, -1)
