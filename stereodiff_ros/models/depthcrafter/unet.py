# Copyright 2026 The stereo_any_video_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""DepthCrafter's denoiser: SVD-xt's spatio-temporal UNet conditioned on one CLIP embedding per
frame.

Stable Video Diffusion conditions every frame on the embedding of the one input image;
DepthCrafter (Hu et al., 2024) gives each frame the embedding of its own RGB frame. Only the
forward pass differs from diffusers' ``UNetSpatioTemporalConditionModel``: modules, state-dict
keys and config are diffusers' own, so the published ``tencent/DepthCrafter`` folder loads with
``from_pretrained`` unchanged. The class keeps the official name.

Two consequences of the per-frame context inside diffusers' blocks: a frame's spatial
cross-attention sees only its own embedding (one key token, so the attention output is that
embedding's value projection at every pixel), and the temporal cross-attention of each
``TransformerSpatioTemporalModel`` sees the embedding of the window's first frame only.
"""

from typing import Union

from diffusers import UNetSpatioTemporalConditionModel
import torch


class DiffusersUNetSpatioTemporalConditionModelDepthCrafter(UNetSpatioTemporalConditionModel):
    """SVD-xt UNet whose cross-attention context is per frame (DepthCrafter)."""

    def forward(self, sample: torch.Tensor, timestep: Union[torch.Tensor, float],
                encoder_hidden_states: torch.Tensor, added_time_ids: torch.Tensor
                ) -> torch.Tensor:
        """One denoiser evaluation.

        sample: [B, T, 8, h, w], the scaled noisy depth latent then the RGB latent;
        timestep: the scheduler's (continuous) timestep, a scalar or one per batch entry;
        encoder_hidden_states: [B, T, C], frame t of video b attends to row [b, t];
        added_time_ids: [B, 3], (fps, motion bucket, noise augmentation strength).
        Returns the model output (v-prediction for SVD weights), [B, T, out_channels, h, w].
        """
        batch, frames = sample.shape[:2]
        weight_dtype = self.conv_in.weight.dtype
        emb = self._conditioning_embedding(timestep, added_time_ids, batch, sample.device)
        emb = emb.repeat_interleave(frames, dim=0)  # [B*T, E], frame-major within a video
        context = encoder_hidden_states.flatten(0, 1).unsqueeze(1)  # [B*T, 1, C]

        hidden = self.conv_in(sample.flatten(0, 1).to(weight_dtype))  # [B*T, C0, h, w]
        # All zeros: every sample is a video frame, so the temporal layers always mix in.
        indicator = torch.zeros(batch, frames, dtype=hidden.dtype, device=hidden.device)

        skips = [hidden]
        for block in self.down_blocks:
            hidden, residuals = block(hidden, temb=emb, image_only_indicator=indicator,
                                      **self._cross_attention_kwargs(block, context))
            skips.extend(residuals)
        hidden = self.mid_block(hidden, temb=emb, encoder_hidden_states=context,
                                image_only_indicator=indicator)
        for block in self.up_blocks:
            taken = len(block.resnets)  # each up resnet consumes one skip, deepest first
            hidden = block(hidden, res_hidden_states_tuple=tuple(skips[-taken:]), temb=emb,
                           image_only_indicator=indicator,
                           **self._cross_attention_kwargs(block, context))
            del skips[-taken:]

        hidden = self.conv_out(self.conv_act(self.conv_norm_out(hidden)))
        return hidden.reshape(batch, frames, *hidden.shape[1:])

    def _conditioning_embedding(self, timestep: Union[torch.Tensor, float],
                                added_time_ids: torch.Tensor, batch: int,
                                device: torch.device) -> torch.Tensor:
        """Timestep embedding plus the embedding of the added time ids, one row per video."""
        timesteps = torch.as_tensor(timestep, device=device).reshape(-1).expand(batch)
        # The sinusoidal projections are always fp32; the MLPs may run in fp16.
        t_emb = self.time_proj(timesteps).to(self.conv_in.weight.dtype)
        emb = self.time_embedding(t_emb)  # [B, E]
        ids_emb = self.add_time_proj(added_time_ids.flatten()).reshape(batch, -1)  # [B, 3·D]
        return emb + self.add_embedding(ids_emb.to(emb.dtype))

    @staticmethod
    def _cross_attention_kwargs(block: torch.nn.Module, context: torch.Tensor) -> dict:
        """Blocks with transformers take the context; resnet-only blocks have no such input."""
        if getattr(block, 'has_cross_attention', False):
            return {'encoder_hidden_states': context}
        return {}
