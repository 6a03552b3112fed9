"""The DUSt3R/MonST3R network, ``AsymmetricCroCo3DStereo`` (inference only).

A shared CroCo ViT encoder embeds both views; two decoders, one per view, exchange information
by cross-attention at every block; two DPT heads turn each view's token stack into a pointmap
and a confidence map. Both pointmaps are expressed in the camera frame of view 1, hence the
asymmetry. MonST3R fine-tunes DUSt3R-512-DPT without changing the architecture, so one class
loads both families of checkpoints.
"""

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .blocks import Block, DecoderBlock, layer_norm
from .dpt_head import PATCH_SIZE, PixelwiseTaskWithDPT
from .patch_embed import PatchEmbedDust3R
from .pos_embed import RoPE2D

inf = float('inf')

Prediction = Dict[str, torch.Tensor]
FREEZE_CHOICES = ('none', 'mask', 'encoder', 'encoder_and_decoder')


def resolve_config(output_mode: str, head_type: str, depth_mode: Sequence, conf_mode: Sequence,
                   landscape_only: bool, patch_embed_cls: str, img_size, pos_embed: str,
                   enc_embed_dim: int, enc_depth: int, enc_num_heads: int, dec_embed_dim: int,
                   dec_depth: int, dec_num_heads: int, mlp_ratio: float, norm_im2_in_dec: bool,
                   patch_size: int, freeze: str, mask_ratio: float) -> Dict[str, Any]:
    """The constructor arguments as the network is actually built, or ValueError for a variant
    this implementation does not provide.

    Like upstream's checkpoint loader, ``ManyAR_PatchEmbed`` (its training-time patch embed,
    which transposes portrait images) becomes ``PatchEmbedDust3R`` and ``landscape_only`` is
    forced to False; the two embeds share their weights.
    """
    if output_mode != 'pts3d' or head_type != 'dpt':
        raise ValueError(f'only the pts3d DPT head is implemented, got {output_mode=} '
                         f'{head_type=}')
    depth_mode, conf_mode = tuple(depth_mode), tuple(conf_mode)
    if depth_mode != ('exp', -inf, inf):
        raise ValueError(f"only depth_mode ('exp', -inf, inf) is implemented, got {depth_mode}")
    if len(conf_mode) != 3 or conf_mode[0] != 'exp':
        raise ValueError(f"only conf_mode ('exp', vmin, vmax) is implemented, got {conf_mode}")
    if patch_embed_cls not in ('PatchEmbedDust3R', 'ManyAR_PatchEmbed'):
        raise ValueError(f'unknown {patch_embed_cls=}')
    if not re.fullmatch(r'RoPE\d+(\.\d*)?', pos_embed):
        raise ValueError(f"only RoPE position embeddings ('RoPE100') are implemented, got "
                         f'{pos_embed=}')
    if patch_size != PATCH_SIZE:
        raise ValueError(f'the DPT head assumes {PATCH_SIZE}-pixel patches, got {patch_size=}')
    img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    if any(side % patch_size for side in img_size):
        raise ValueError(f'{img_size=} must be a multiple of {patch_size=}')
    for name, dim, heads in (('enc', enc_embed_dim, enc_num_heads),
                             ('dec', dec_embed_dim, dec_num_heads)):
        if dim % heads or (dim // heads) % 4:
            raise ValueError(f'{name}_embed_dim / {name}_num_heads must be an integer multiple '
                             f'of 4 for RoPE2D, got {dim} / {heads}')
    if dec_depth < 10:
        raise ValueError(f'the DPT head hooks decoder blocks up to 3/4 depth: dec_depth must be '
                         f'at least 10, got {dec_depth}')
    if freeze not in FREEZE_CHOICES:
        raise ValueError(f'{freeze=} is not one of {FREEZE_CHOICES}')
    return dict(
        output_mode=output_mode, head_type=head_type, depth_mode=depth_mode,
        conf_mode=conf_mode, landscape_only=False, patch_embed_cls='PatchEmbedDust3R',
        img_size=img_size, pos_embed=pos_embed, enc_embed_dim=enc_embed_dim,
        enc_depth=enc_depth, enc_num_heads=enc_num_heads, dec_embed_dim=dec_embed_dim,
        dec_depth=dec_depth, dec_num_heads=dec_num_heads, mlp_ratio=mlp_ratio,
        norm_im2_in_dec=norm_im2_in_dec, patch_size=patch_size, freeze=freeze,
        mask_ratio=mask_ratio)


class AsymmetricCroCo3DStereo(nn.Module):
    """Two views (B, 3, H, W), normalised to [-1, 1], H and W multiples of 16 →
    ``pred1 = {'pts3d', 'conf'}`` (view 1 in its own camera frame) and
    ``pred2 = {'pts3d_in_other_view', 'conf'}`` (view 2 in view 1's frame); pointmaps are
    (B, H, W, 3), confidences (B, H, W).

    Defaults are the MonST3R/DUSt3R ViT-Large encoder and ViT-Base decoder with DPT heads.
    ``freeze`` and ``mask_ratio`` are training settings that official checkpoints record; they
    are accepted and kept in ``config`` but change nothing here.
    """

    def __init__(self, output_mode='pts3d', head_type='dpt', depth_mode=('exp', -inf, inf),
                 conf_mode=('exp', 1, inf), landscape_only=False,
                 patch_embed_cls='PatchEmbedDust3R', img_size=(512, 512), pos_embed='RoPE100',
                 enc_embed_dim=1024, enc_depth=24, enc_num_heads=16, dec_embed_dim=768,
                 dec_depth=12, dec_num_heads=12, mlp_ratio=4, norm_im2_in_dec=True,
                 patch_size=16, freeze='none', mask_ratio=0.9):
        super().__init__()
        self.config = resolve_config(
            output_mode, head_type, depth_mode, conf_mode, landscape_only, patch_embed_cls,
            img_size, pos_embed, enc_embed_dim, enc_depth, enc_num_heads, dec_embed_dim,
            dec_depth, dec_num_heads, mlp_ratio, norm_im2_in_dec, patch_size, freeze,
            mask_ratio)
        self.rope = RoPE2D(freq=float(pos_embed[len('RoPE'):]))

        self.patch_embed = PatchEmbedDust3R(patch_size, enc_embed_dim)
        self.enc_blocks = nn.ModuleList(
            Block(enc_embed_dim, enc_num_heads, mlp_ratio, self.rope) for _ in range(enc_depth))
        self.enc_norm = layer_norm(enc_embed_dim)

        # CroCo's pretraining token for masked patches: unused at inference, kept for its key.
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dec_embed_dim))
        self.decoder_embed = nn.Linear(enc_embed_dim, dec_embed_dim)
        self.dec_blocks = nn.ModuleList(
            DecoderBlock(dec_embed_dim, dec_num_heads, mlp_ratio, self.rope, norm_im2_in_dec)
            for _ in range(dec_depth))
        self.dec_blocks2 = nn.ModuleList(
            DecoderBlock(dec_embed_dim, dec_num_heads, mlp_ratio, self.rope, norm_im2_in_dec)
            for _ in range(dec_depth))
        self.dec_norm = layer_norm(dec_embed_dim)

        conf_mode = self.config['conf_mode']
        self.downstream_head1 = PixelwiseTaskWithDPT(
            enc_embed_dim, dec_embed_dim, dec_depth, conf_mode)
        self.downstream_head2 = PixelwiseTaskWithDPT(
            enc_embed_dim, dec_embed_dim, dec_depth, conf_mode)

    def encode(self, img: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) → tokens (B, N, enc_embed_dim) after ``enc_norm``, positions (B, N, 2)."""
        x, pos = self.patch_embed(img)
        for block in self.enc_blocks:
            x = block(x, pos)
        return self.enc_norm(x), pos

    def decode(self, feat1: torch.Tensor, pos1: torch.Tensor, feat2: torch.Tensor,
               pos2: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Encoder tokens of both views → per view [encoder tokens, block 1, …, block L], the
        last one through ``dec_norm``. Each block of a view reads the other view's tokens of
        the previous block."""
        dec1, dec2 = [feat1], [feat2]
        f1, f2 = self.decoder_embed(feat1), self.decoder_embed(feat2)  # (B, N, dec_embed_dim)
        for block1, block2 in zip(self.dec_blocks, self.dec_blocks2):
            f1, f2 = block1(f1, f2, pos1, pos2), block2(f2, f1, pos2, pos1)
            dec1.append(f1)
            dec2.append(f2)
        dec1[-1], dec2[-1] = self.dec_norm(f1), self.dec_norm(f2)
        return dec1, dec2

    def heads(self, dec1: Sequence[torch.Tensor], dec2: Sequence[torch.Tensor],
              shape: Tuple[int, int], shape2: Optional[Tuple[int, int]] = None
              ) -> Tuple[Prediction, Prediction]:
        """Decoder outputs of the two views → (pred1, pred2) at image size ``shape`` (H, W)
        (``shape2`` for view 2 when the views differ in size)."""
        pred1 = self.head(1, dec1, shape)
        pred2 = self.head(2, dec2, shape if shape2 is None else shape2)
        pred2['pts3d_in_other_view'] = pred2.pop('pts3d')
        return pred1, pred2

    def head(self, view: int, dec: Sequence[torch.Tensor], shape: Tuple[int, int]
             ) -> Prediction:
        """One view's head alone (``pts3d`` is in view 1's frame for either view), for callers
        that need only one of the two pointmaps. Heads run in fp32 with autocast off: exp() of
        a half-precision head output overflows."""
        head = self.downstream_head1 if view == 1 else self.downstream_head2
        with torch.autocast(dec[0].device.type, enabled=False):
            return head([t.float() for t in dec], tuple(int(s) for s in shape))

    def forward(self, view1: Dict[str, torch.Tensor], view2: Dict[str, torch.Tensor]
                ) -> Tuple[Prediction, Prediction]:
        """Upstream-style views: only ``img`` is read. Upstream sizes the heads from
        ``true_shape``, which without landscape transposition is the image size."""
        img1, img2 = view1['img'], view2['img']
        if img1.shape[-2:] == img2.shape[-2:]:
            feat, pos = self.encode(torch.cat((img1, img2)))  # one pass for both views
            (feat1, feat2), (pos1, pos2) = feat.chunk(2), pos.chunk(2)
        else:
            (feat1, pos1), (feat2, pos2) = self.encode(img1), self.encode(img2)
        dec1, dec2 = self.decode(feat1, pos1, feat2, pos2)
        return self.heads(dec1, dec2, img1.shape[-2:], img2.shape[-2:])
