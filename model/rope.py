"""Rotary position encoding on the frames' original indices for SVD's temporal attention (DAV §3.2).

Where diffusers adds the temporal position: `TransformerSpatioTemporalModel.forward` computes
`emb = self.time_pos_embed(self.time_proj(arange(num_frames)))` and adds it to the hidden states
before every `TemporalBasicTransformerBlock`, whose `attn1` is self-attention over frames on tensors
shaped (batch * H*W, frames, channels), batch-major. The UNet forward has no way to pass extra
arguments down to it, so:

1. `time_pos_embed` is replaced by `ZeroTimePosEmbed` (parameter-free, returns zeros): the
   absolute sinusoidal+MLP embedding on 0..F-1 is gone.
2. Every temporal `attn1` gets `TemporalRoPEAttnProcessor`, which rotates q and k by the
   positions held in a shared `FrameIndexState`. `DepthDenoiser.forward` sets the state to the
   batch's (B, F) frame indices before calling the UNet. The state is left in place after the
   call on purpose: non-reentrant gradient checkpointing re-runs the forward during backward and
   must see the same indices.
The spatial attention and the temporal convolutions (kernel 3 over neighbouring frames) are untouched.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FrameIndexState:
    """Holds the (B, F) frame indices of the current UNet call; shared by all RoPE processors."""

    def __init__(self) -> None:
        self.indices: torch.Tensor | None = None


class ZeroTimePosEmbed(nn.Module):
    """Stands in for `time_pos_embed`: no absolute frame position at all."""

    def forward(self, t_emb: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(t_emb)


def rope_cos_sin(positions: torch.Tensor, dim: int, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin of shape positions.shape + (dim,), rotate-half layout (pairs i, i + dim/2)."""
    if dim % 2:
        raise ValueError(f"RoPE needs an even head dimension, got {dim}")
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32) / dim))
    ang = positions.to(torch.float32)[..., None] * inv_freq  # (..., dim/2)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class TemporalRoPEAttnProcessor:
    """Scaled-dot-product self-attention over frames with RoPE on q, k from `state.indices`."""

    def __init__(self, state: FrameIndexState, theta: float = 10000.0):
        self.state = state
        self.theta = theta

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        if encoder_hidden_states is not None:
            raise ValueError("TemporalRoPEAttnProcessor is for temporal self-attention only")
        n, frames, _ = hidden_states.shape
        query = attn.to_q(hidden_states)
        key = attn.to_k(hidden_states)
        value = attn.to_v(hidden_states)
        heads = attn.heads
        head_dim = query.shape[-1] // heads
        q = query.view(n, frames, heads, head_dim).transpose(1, 2)  # (n, heads, F, d)
        k = key.view(n, frames, heads, head_dim).transpose(1, 2)
        v = value.view(n, frames, heads, head_dim).transpose(1, 2)

        idx = self.state.indices
        if idx is None:
            idx = torch.arange(frames, device=q.device)[None]
        idx = idx.to(q.device)
        if idx.shape[-1] != frames or n % idx.shape[0]:
            raise ValueError(f"frame indices of shape {tuple(idx.shape)} do not fit {n} sequences of {frames} frames")
        b = idx.shape[0]
        cos, sin = rope_cos_sin(idx, head_dim, self.theta)  # (b, F, d)
        cos = cos.to(q.dtype)[:, None, None]
        sin = sin.to(q.dtype)[:, None, None]
        # rows are batch-major (b, H*W): view as (b, H*W, heads, F, d) so cos/sin broadcast per sample.
        q = apply_rope(q.reshape(b, n // b, heads, frames, head_dim), cos, sin).reshape(n, heads, frames, head_dim)
        k = apply_rope(k.reshape(b, n // b, heads, frames, head_dim), cos, sin).reshape(n, heads, frames, head_dim)

        out = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False)
        out = out.transpose(1, 2).reshape(n, frames, heads * head_dim).to(query.dtype)
        out = attn.to_out[0](out)
        out = attn.to_out[1](out)
        if attn.residual_connection:
            out = out + hidden_states
        return out / attn.rescale_output_factor


def install_temporal_rope(unet: nn.Module, state: FrameIndexState, theta: float = 10000.0) -> int:
    """Replace time_pos_embed by zeros and put RoPE on every temporal attn1. Returns how many."""
    from diffusers.models.attention import TemporalBasicTransformerBlock
    from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel

    n = 0
    for module in unet.modules():
        if isinstance(module, TransformerSpatioTemporalModel):
            module.time_pos_embed = ZeroTimePosEmbed()
        if isinstance(module, TemporalBasicTransformerBlock):
            module.attn1.set_processor(TemporalRoPEAttnProcessor(state, theta))
            n += 1
    return n
