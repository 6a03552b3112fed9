"""The stage-1 pair graph: each frame with its next ``window`` frames, both directions.

StereoDiff pairs every frame with the following n = 2 frames and symmetrises the pairs
(paper §4.1.1). MonST3R calls this graph ``swin-<n>-noncyclic``.
"""

from typing import List, Tuple

Edge = Tuple[int, int]


def make_pairs(num_frames: int, window: int = 2) -> List[Edge]:
    """Directed edges (i, j) in the order upstream's ``make_pairs`` produces them.

    The order matters only where scores tie: the spanning tree and the focal fill-in break ties
    by edge order. Upstream collects the unordered pairs in a Python set and then appends the
    reversed copies, so the forward half comes in set-iteration order. Building the same set of
    int tuples in the same insertion order reproduces that order exactly.
    """
    if num_frames < 2:
        raise ValueError(f'stage 1 needs at least 2 frames to pair, got {num_frames}')
    if window < 1:
        raise ValueError(f'the pair window must be at least 1 frame, got {window}')
    unordered = set()
    for i in range(num_frames):
        for offset in range(1, window + 1):
            if i + offset < num_frames:
                unordered.add((i, i + offset))
    forward = list(unordered)
    return forward + [(j, i) for i, j in forward]


def unique_pair_count(num_frames: int, window: int = 2) -> int:
    """nT − (1 + … + n) from the paper, for T frames and window n (when T > n)."""
    n = min(window, num_frames - 1)
    return n * num_frames - n * (n + 1) // 2
