"""Deterministic weights derived from each state-dict key name.

No official checkpoint can be downloaded in CI, so tests fill a model with weights that any
implementation with the same key names reproduces bit for bit: each tensor comes from a generator
seeded by a hash of its key. The scale is kept small (``gain / sqrt(fan_in)``) because at full
initialisation scale SAV's 40-update recurrence is chaotic and tiny float reorderings (thread
count, kernel choice) would swamp any parity tolerance.
"""

from concurrent.futures import ThreadPoolExecutor
import hashlib
import math
from typing import Dict, Iterable

import torch

# Buffers that a module computes itself (sinusoidal encodings): weight files carry them, but the
# values are part of the architecture, so they are kept as built.
KEEP_AS_BUILT = ('pos_encoder.pe',)


def key_seed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], 'little') & (2 ** 63 - 1)


def key_tensor(key: str, shape: Iterable[int], gain: float = 0.8) -> torch.Tensor:
    """The deterministic fp32 tensor for ``key``.

    Weights with two or more dimensions are uniform in ±gain/√fan_in. One-dimensional
    ``weight``/``gamma`` tensors (norm scales, LayerScale) are 1 ± 0.1 so normalised activations
    keep their size; other one-dimensional tensors (biases) are ±0.1·gain.
    """
    shape = tuple(shape)
    generator = torch.Generator().manual_seed(key_seed(key))
    unit = torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1
    leaf = key.rsplit('.', 1)[-1]
    if len(shape) >= 2:
        fan_in = math.prod(shape[1:]) if shape[0] > 1 else math.prod(shape)
        values = unit * (gain / math.sqrt(fan_in))
    elif leaf in ('weight', 'gamma'):
        values = 1 + 0.1 * unit
    else:
        values = 0.1 * gain * unit
    return values.to(torch.float32)


def synthetic_state_dict(reference: Dict[str, torch.Tensor], gain: float = 0.8
                         ) -> Dict[str, torch.Tensor]:
    """Key-derived weights for every entry of ``reference`` (a model's own state dict)."""
    return {
        key: value.clone() if key.endswith(KEEP_AS_BUILT) else key_tensor(key, value.shape, gain)
        for key, value in reference.items()
    }


def fill_synthetic(module: torch.nn.Module, gain: float = 0.8) -> torch.nn.Module:
    """Fill ``module`` in place with key-derived weights.

    Names that alias one tensor (MonST3R's DPT head registers its ``scratch.layer{k}_rn``
    convolutions again as ``scratch.layer_rn.{k-1}``) take the values of the first name, so
    two implementations with the same keys get the same weights whatever order a state dict
    is loaded in, and tied weights stay tied.
    """
    first_name = {}
    for key, tensor in module.state_dict(keep_vars=True).items():
        if not key.endswith(KEEP_AS_BUILT):
            first_name.setdefault(id(tensor), (key, tensor))

    def fill(entry):
        key, tensor = entry
        with torch.no_grad():
            tensor.copy_(key_tensor(key, tensor.shape, gain))

    # The generators release the GIL: threads fill a 571 M-parameter model about 2x faster.
    with ThreadPoolExecutor(torch.get_num_threads()) as pool:
        list(pool.map(fill, first_name.values()))
    return module
