"""All-in-all-pair correlation (AAPC) between left features and disparity-warped right ones."""

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


def patch_shifts(x: torch.Tensor, patch: tuple) -> torch.Tensor:
    """(N, G, c, h, w) → (N, G, h, w, c, K): the K = ph·pw replicate-padded neighbours,
    row-major."""
    ph, pw = patch
    n, g, c, h, w = x.shape
    padded = F.pad(x.flatten(1, 2), (pw // 2, pw // 2, ph // 2, ph // 2), mode='replicate')
    shifts = [padded[:, :, dy:dy + h, dx:dx + w] for dy in range(ph) for dx in range(pw)]
    return torch.stack(shifts, dim=-1).view(n, g, c, h, w, ph * pw).permute(0, 1, 3, 4, 2, 5)


class AAPC:
    """Correlation of every left neighbour with every right neighbour inside a small patch.

    For each of 4 channel groups and each pixel this gives the K×K products of the K left and
    K right patch neighbours (left offset outer, right offset inner): 4·81 = 324 channels.
    Features are fixed per clip, so the coordinate grid is built once.
    """

    def __init__(self, fmap1: torch.Tensor, fmap2: torch.Tensor):
        n, c, h, w = fmap1.shape
        self.fmap1 = fmap1.float().view(n, GROUPS, c // GROUPS, h, w)
        self.fmap2 = fmap2.float()
        self.base_y, self.base_x = torch.meshgrid(
            torch.arange(h, device=fmap1.device, dtype=torch.float32),
            torch.arange(w, device=fmap1.device, dtype=torch.float32), indexing='ij')

    def __call__(self, disparity: torch.Tensor, small_patch: bool) -> torch.Tensor:
        """disparity (N, h, w) → correlation (N, h, w, 324), channels last for the cost MLP."""
        n, c, h, w = self.fmap2.shape
        patch = SQUARE_PATCH if small_patch else WIDE_PATCH
        warped = warp_right(self.fmap2, disparity.float(), self.base_x, self.base_y)
        left = patch_shifts(self.fmap1, patch)  # (N, G, h, w, c/G, K)
        right = patch_shifts(warped.view(n, GROUPS, c // GROUPS, h, w), patch)
        corr = left.transpose(-1, -2) @ right  # (N, G, h, w, K, K)
        return corr.permute(0, 2, 3, 1, 4, 5).reshape(n, h, w, -1)
