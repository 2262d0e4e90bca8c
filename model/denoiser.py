"""The velocity network v_theta: SVD's UNetSpatioTemporalConditionModel conditioned on RGB latents.

Changes to SVD (Depth Any Video §3.1-3.3):
- input = [noisy depth latent (4), RGB latent (4)] concatenated per frame (interp mode adds the
  key-frame latents (4) and the key-frame mask replicated to 4 channels);
- no CLIP image embedding: a zero `encoder_hidden_states` (B, 1, cross_attention_dim);
- `added_time_ids` (fps, motion bucket, noise aug in SVD) are fixed zeros;
- the flow-matching time t in [0, 1] enters as timestep 1000 * t;
- the temporal position embedding is replaced by RoPE on the frames' original indices (model/rope.py);
- widening conv_in to more input channels copies the existing weights and divides them by the
  widening factor, so the widened net initially computes the same function when the copies carry
  the same signal (DAV: "duplicate input channels and halve the input layer's weight").
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from common.errors import CheckpointError
from model.config import ModelConfig
from model.rope import FrameIndexState, install_temporal_rope

TEMPORAL_KEYS = ("temporal_transformer_blocks", "temporal_res_block", "time_mixer", "time_pos_embed")


def build_unet(cfg: ModelConfig):
    """UNet for `cfg` with random weights, or from a local pretrained SVD folder (widened as needed)."""
    from diffusers import UNetSpatioTemporalConditionModel

    if cfg.pretrained_path:
        unet = load_pretrained_unet(cfg.pretrained_path)
        if unet.config.in_channels != cfg.in_channels:
            widen_conv_in(unet, cfg.in_channels)
        return unet
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.unet.items()}
    kw.update(in_channels=cfg.in_channels, out_channels=4)
    return UNetSpatioTemporalConditionModel(**kw)


def architecture(module: nn.Module) -> dict:
    """The diffusers init kwargs of a built UNet or VAE (what rebuilds it without its weights folder)."""
    return {k: v for k, v in dict(module.config).items() if not k.startswith("_")}


def load_pretrained_unet(path: str | Path):
    """SVD UNet from a local diffusers folder (`<path>/unet`); never downloads."""
    from diffusers import UNetSpatioTemporalConditionModel

    p = Path(path)
    if not (p / "unet" / "config.json").is_file():
        raise CheckpointError(
            p,
            "no pretrained SVD UNet here (expected unet/config.json and weights). Download "
            "'stabilityai/stable-video-diffusion-img2vid' on a machine with hub access (e.g. "
            "`huggingface-cli download stabilityai/stable-video-diffusion-img2vid --local-dir DIR`), "
            "copy DIR here and pass it as pretrained_path; or leave pretrained_path empty for random weights.",
        )
    return UNetSpatioTemporalConditionModel.from_pretrained(str(p), subfolder="unet", local_files_only=True)


@torch.no_grad()
def widen_conv_in(unet: nn.Module, new_in: int) -> None:
    """Widen conv_in from C to new_in input channels by tiling the weights and dividing by new_in/C."""
    old = unet.conv_in
    c = old.in_channels
    if new_in % c:
        raise ValueError(f"can only widen conv_in by a whole factor: {c} -> {new_in}")
    factor = new_in // c
    new = nn.Conv2d(new_in, old.out_channels, old.kernel_size, old.stride, old.padding,
                    bias=old.bias is not None).to(old.weight.device, old.weight.dtype)
    new.weight.copy_(old.weight.repeat(1, factor, 1, 1) / factor)
    if old.bias is not None:
        new.bias.copy_(old.bias)
    unet.conv_in = new
    unet.register_to_config(in_channels=new_in)


def is_temporal_param(name: str) -> bool:
    return any(k in name for k in TEMPORAL_KEYS)


def set_trainable(unet: nn.Module, which: str) -> int:
    """Freeze all but `which` layers ("all" | "spatial" | "temporal"); returns trainable count."""
    if which not in ("all", "spatial", "temporal"):
        raise ValueError(f"train_layers must be all, spatial or temporal, got {which!r}")
    n = 0
    for name, p in unet.named_parameters():
        t = is_temporal_param(name)
        p.requires_grad_(which == "all" or (which == "temporal") == t)
        n += p.numel() if p.requires_grad else 0
    return n


class DepthDenoiser(nn.Module):
    """v_theta(phi_t(z_d), z_c [, key latents, mask], t, frame indices) -> velocity (B, K, 4, h, w)."""

    def __init__(self, unet: nn.Module, rope_theta: float = 10000.0):
        super().__init__()
        self.unet = unet
        self.index_state = FrameIndexState()
        self.num_rope_layers = install_temporal_rope(unet, self.index_state, rope_theta)
        self.cross_attention_dim = int(unet.config.cross_attention_dim)
        self.in_channels = int(unet.config.in_channels)

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> DepthDenoiser:
        return cls(build_unet(cfg), cfg.rope_theta)

    def forward(self, noisy: torch.Tensor, cond: torch.Tensor, t: torch.Tensor,
                frame_indices: torch.Tensor | None = None) -> torch.Tensor:
        b, k = noisy.shape[:2]
        sample = torch.cat([noisy, cond], dim=2)
        if sample.shape[2] != self.in_channels:
            raise ValueError(f"denoiser expects {self.in_channels} input channels, got {sample.shape[2]}")
        if frame_indices is None:
            frame_indices = torch.arange(k, device=noisy.device).expand(b, k)
        self.index_state.indices = frame_indices.to(noisy.device)
        t = torch.as_tensor(t, device=noisy.device, dtype=torch.float32).reshape(-1).expand(b)
        dtype = sample.dtype
        enc = torch.zeros(b, 1, self.cross_attention_dim, device=noisy.device, dtype=dtype)
        added = torch.zeros(b, 3, device=noisy.device, dtype=dtype)
        return self.unet(sample, t * 1000.0, encoder_hidden_states=enc, added_time_ids=added).sample
