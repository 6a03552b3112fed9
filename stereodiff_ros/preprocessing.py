"""RGB frames → MonST3R input tensors, as upstream's ``load_images(..., size=512, crop=False)``
(MonST3R's ``--no_crop`` evaluation path) does for image files.

Two PIL resizes: the long side to 512 (LANCZOS when shrinking, BICUBIC otherwise), the other
side ``int(round(x·512/S))``; then each side floored to a multiple of 16 by a second LANCZOS
resize (a no-op when the size is already right), so the whole field of view is kept at a
slight change of aspect. Then ToTensor and Normalize(0.5, 0.5): (x/255 − 0.5)/0.5 in fp32.

Square frames: upstream (``square_ok=False``) gives a square image a height of 3/4 of its
width, but computes that height as a float, which current Pillow rejects in ``resize``. Here the
height is that integer, floored to a multiple of 16 like any side: 512×512 → 512×384, the
size older Pillow produced. "Square" is judged after the first resize, as upstream does, so a
frame within rounding of square (e.g. 2000×1999) is square too.
"""

from typing import Sequence, Tuple, Union

import numpy as np
import PIL.Image
import torch

LONG_SIDE = 512
MULTIPLE = 16  # the network's patch size


def resized_size(height: int, width: int, long_side: int = LONG_SIDE) -> Tuple[int, int]:
    """(H, W) after the first resize: long side → ``long_side``, Python rounding of the other."""
    longest = max(height, width)
    return (int(round(height * long_side / longest)), int(round(width * long_side / longest)))


def target_size(height: int, width: int, long_side: int = LONG_SIDE) -> Tuple[int, int]:
    """The network input size (H, W) for a frame of ``height`` × ``width``."""
    height, width = resized_size(height, width, long_side)
    width_out = width // MULTIPLE * MULTIPLE
    if height == width:
        return 3 * width_out // 4 // MULTIPLE * MULTIPLE, width_out
    return height // MULTIPLE * MULTIPLE, width_out


def resize_frame(frame: np.ndarray, long_side: int = LONG_SIDE) -> np.ndarray:
    """uint8 (H, W, 3) RGB → uint8 (h, w, 3) at ``target_size``."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f'expected an H×W×3 uint8 RGB frame, got {frame.dtype} '
                         f'{frame.shape}')
    height, width = frame.shape[:2]
    image = PIL.Image.fromarray(frame)
    shrink = max(height, width) > long_side
    first = resized_size(height, width, long_side)
    image = image.resize(first[::-1], PIL.Image.LANCZOS if shrink else PIL.Image.BICUBIC)
    image = image.resize(target_size(height, width, long_side)[::-1], PIL.Image.LANCZOS)
    return np.array(image)  # writable, for torch.from_numpy


def normalise(frames: np.ndarray) -> torch.Tensor:
    """uint8 (T, h, w, 3) → fp32 (T, 3, h, w) in [-1, 1], in ToTensor/Normalize's order of
    operations so the values are bit-identical to upstream's."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return x.float().div(255).sub(0.5).div(0.5)


def preprocess_frame(frame: np.ndarray, long_side: int = LONG_SIDE) -> torch.Tensor:
    """One uint8 (H, W, 3) RGB frame → fp32 (1, 3, h, w)."""
    return normalise(resize_frame(frame, long_side)[None])


def preprocess_frames(frames: Union[np.ndarray, Sequence[np.ndarray]],
                      long_side: int = LONG_SIDE) -> torch.Tensor:
    """uint8 RGB frames of one size, (T, H, W, 3) or a list of (H, W, 3) → fp32 (T, 3, h, w)."""
    if len(frames) == 0:
        raise ValueError('no frames')
    if len({np.shape(frame) for frame in frames}) != 1:
        raise ValueError('all frames must have the same size')
    return normalise(np.stack([resize_frame(frame, long_side) for frame in frames]))
