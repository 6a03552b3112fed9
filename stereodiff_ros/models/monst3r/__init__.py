"""MonST3R's network (Zhang et al., 2024), the stage-1 pairwise pointmap predictor of
StereoDiff: DUSt3R's ``AsymmetricCroCo3DStereo`` with MonST3R's fine-tuned weights.

Module names follow the official code so its checkpoints load key for key.
"""

from .model import AsymmetricCroCo3DStereo, inf

__all__ = ['AsymmetricCroCo3DStereo', 'inf']
