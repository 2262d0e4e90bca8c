"""Depth/RGB <-> VAE latents (Depth Any Video §3.1, eq. 1).

Depth is normalised per clip: x~ = ((x - d2) / (d98 - d2) - 0.5) * 2 with d2, d98 the 2nd/98th
percentiles over the valid pixels of the WHOLE clip (one affine map per clip keeps the frames
mutually consistent), clipped to [-1, 1]. Invalid pixels are filled with the clip's normalised
median so they do not inject extreme values into the latents (the loss masks them, see train.py).
The 1-channel depth is replicated to 3 channels for the RGB VAE; decoding averages the 3 output
channels. Latents are multiplied by `scaling_factor` (SVD: 0.18215; tiny: 1/std measured by
`fit_vae`) so they have roughly unit variance, like the flow-matching noise.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig


def build_vae(cfg: ModelConfig) -> nn.Module:
    from diffusers import AutoencoderKL, AutoencoderKLTemporalDecoder

    if cfg.pretrained_path:
        from pathlib import Path

        p = Path(cfg.pretrained_path)
        if not (p / "vae" / "config.json").is_file():
            from model.checkpoint import _error

            raise _error(p, "no pretrained VAE here (expected vae/config.json); see load_pretrained_unet")
        cls = AutoencoderKLTemporalDecoder if cfg.vae_kind == "kl_temporal" else AutoencoderKL
        return cls.from_pretrained(str(p), subfolder="vae", local_files_only=True)
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.vae.items()}
    if cfg.vae_kind == "kl_temporal":
        vae = AutoencoderKLTemporalDecoder(**kw)
    elif cfg.vae_kind == "kl":
        vae = AutoencoderKL(in_channels=3, out_channels=3, **kw)
    else:
        raise ValueError(f"vae_kind must be 'kl' or 'kl_temporal', got {cfg.vae_kind!r}")
    if cfg.vae_init == "identity":
        identity_init_vae(vae)
    return vae


@torch.no_grad()
def identity_init_vae(vae: nn.Module, const: float = 100.0, bias: float = 20.0) -> None:
    """Set a one-block AutoencoderKL (no downsampling, no mid attention) to a near-identity codec.

    Every ResNet's conv2 is zeroed, so each block is the identity through its skip. What is left
    is conv_in -> GroupNorm -> SiLU -> conv_out on each side. Channel group g (4 channels) holds
    [s_g, -s_g, K, -K]: its mean is exactly 0 and its std sqrt((E s^2 + K^2)/2) ~ K/sqrt(2) for
    K >> |s|, so GroupNorm is linear up to ~(s/K)^2 / 4. The GroupNorm shift (20) puts SiLU in its
    linear range (sigmoid(20) ~ 1 - 2e-9) and conv_out takes the difference of the two copies, so
    the shift cancels. Encode: latents 0-2 = R, G, B and latent 3 = their mean; decode: R, G, B
    from latents 0-2. Relative reconstruction error ~1e-4 for |x| <= 2.
    """
    c = vae.config.block_out_channels
    if len(c) != 1 or vae.config.latent_channels != 4 or c[0] < 16 or c[0] % 4:
        raise ValueError("identity_init_vae needs one block of >=16 channels (multiple of 4) and 4 latents")
    c = c[0]
    groups = vae.config.norm_num_groups
    if c // groups != 4:
        raise ValueError("identity_init_vae needs 4 channels per GroupNorm group")
    for name, m in vae.named_modules():
        if name.endswith("conv2") and isinstance(m, nn.Conv2d):
            m.weight.zero_()
            m.bias.zero_()
    k = const
    scale = k / (2 * 2**0.5)

    def spread(conv: nn.Conv2d, n_sig: int) -> None:
        # input channel i -> +/- copies in group i; constants +/-K in every group
        conv.weight.zero_()
        conv.bias.zero_()
        for g in range(c // 4):
            conv.bias[4 * g + 2], conv.bias[4 * g + 3] = k, -k
            if g < n_sig:
                conv.weight[4 * g, g, 1, 1] = 1.0
                conv.weight[4 * g + 1, g, 1, 1] = -1.0
            else:  # constant-only group
                conv.bias[4 * g], conv.bias[4 * g + 1] = k, -k

    def collect(conv: nn.Conv2d, rows: list[list[int]]) -> None:
        conv.weight.zero_()
        conv.bias.zero_()
        for o, srcs in enumerate(rows):
            for g in srcs:
                conv.weight[o, 4 * g, 1, 1] = scale / len(srcs)
                conv.weight[o, 4 * g + 1, 1, 1] = -scale / len(srcs)

    enc, dec = vae.encoder, vae.decoder
    spread(enc.conv_in, 3)
    collect(enc.conv_out, [[0], [1], [2], [0, 1, 2]])  # mean channels; log-variance rows stay 0
    enc.conv_out.bias[4:] = -10.0  # tiny posterior variance
    spread(dec.conv_in, 3)
    collect(dec.conv_out, [[0], [1], [2]])
    for norm in (enc.conv_norm_out, dec.conv_norm_out):
        norm.weight.fill_(1.0)
        norm.bias.fill_(bias)
    for q in (getattr(vae, "quant_conv", None), getattr(vae, "post_quant_conv", None)):
        if isinstance(q, nn.Conv2d):
            q.weight.zero_()
            q.bias.zero_()
            for i in range(min(q.in_channels, q.out_channels)):
                q.weight[i, i, 0, 0] = 1.0


def normalize_depth(depth: torch.Tensor, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 1 per clip. depth (B, K, H, W) -> (normalised in [-1, 1], (B, 2) [d2, d98])."""
    if valid is None:
        valid = torch.isfinite(depth)
    valid = valid & torch.isfinite(depth)
    out = torch.empty_like(depth)
    stats = torch.zeros(depth.shape[0], 2, dtype=depth.dtype, device=depth.device)
    for i in range(depth.shape[0]):
        v = depth[i][valid[i]]
        if v.numel() < 2:
            out[i] = 0.0
            stats[i] = torch.tensor([0.0, 1.0])
            continue
        q = torch.quantile(v.float()[:: max(1, v.numel() // 1_000_000)], torch.tensor([0.02, 0.98], device=v.device))
        d2, d98 = q[0].to(depth.dtype), q[1].to(depth.dtype)
        span = torch.clamp(d98 - d2, min=1e-6)
        n = ((depth[i] - d2) / span - 0.5) * 2.0
        n = n.clamp(-1.0, 1.0)
        fill = n[valid[i]].median()
        out[i] = torch.where(valid[i], n, fill)
        stats[i, 0], stats[i, 1] = d2, d98
    return out, stats


class LatentCodec(nn.Module):
    """Frozen VAE wrapper: RGB/depth clips (B, K, C, H, W) <-> scaled latents (B, K, 4, h, w)."""

    def __init__(self, vae: nn.Module, scaling_factor: float, chunk: int = 16):
        super().__init__()
        self.vae = vae
        self.scaling_factor = float(scaling_factor)
        self.chunk = chunk
        self.temporal_decoder = type(vae).__name__ == "AutoencoderKLTemporalDecoder"

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> LatentCodec:
        return cls(build_vae(cfg), cfg.vae_scaling_factor, cfg.vae_chunk)

    def _encode_frames(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for s in range(0, x.shape[0], self.chunk):
            outs.append(self.vae.encode(x[s : s + self.chunk]).latent_dist.mode())
        return torch.cat(outs) * self.scaling_factor

    def encode_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        """rgb (B, K, 3, H, W) in [-1, 1] -> latents (B, K, 4, h, w)."""
        b, k = rgb.shape[:2]
        z = self._encode_frames(rgb.flatten(0, 1).to(self._dtype()))
        return z.unflatten(0, (b, k))

    def encode_depth(self, norm_depth: torch.Tensor) -> torch.Tensor:
        """normalised depth (B, K, H, W) in [-1, 1] -> latents (B, K, 4, h, w)."""
        b, k = norm_depth.shape[:2]
        x = norm_depth.flatten(0, 1)[:, None].expand(-1, 3, -1, -1).to(self._dtype())
        return self._encode_frames(x).unflatten(0, (b, k))

    def decode_depth(self, z: torch.Tensor) -> torch.Tensor:
        """latents (B, K, 4, h, w) -> normalised depth (B, K, H, W), decoder channels averaged."""
        b, k = z.shape[:2]
        flat = z.flatten(0, 1).to(self._dtype()) / self.scaling_factor
        outs = []
        for s in range(0, flat.shape[0], self.chunk):
            part = flat[s : s + self.chunk]
            if self.temporal_decoder:
                outs.append(self.vae.decode(part, num_frames=part.shape[0]).sample)
            else:
                outs.append(self.vae.decode(part).sample)
        return torch.cat(outs).float().mean(dim=1).unflatten(0, (b, k))

    def _dtype(self) -> torch.dtype:
        return next(self.vae.parameters()).dtype


def fit_vae(
    codec: LatentCodec,
    batches: Iterable[dict],
    steps: int = 300,
    lr: float = 2e-3,
    rgb_frames: int = 2,
    progress: bool = False,
) -> float:
    """Fit a small random VAE as a deterministic autoencoder on RGB frames and normalised depth.

    For the `tiny` preset only (the `svd` preset uses SVD's pretrained VAE, frozen): a random VAE
    cannot decode depth, so no depth model on top of it could. Reconstruction MSE on the posterior
    mode plus a small latent-magnitude penalty. Sets and returns the scaling factor 1/std(latents).
    """
    from tqdm.auto import tqdm

    vae = codec.vae
    vae.train().requires_grad_(True)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    it = iter(batches)
    for _ in tqdm(range(steps), disable=not progress, desc="fit VAE"):
        batch = next(it)
        # depth is what the pipeline decodes; a few RGB frames keep the RGB latents well-behaved
        rgb = batch["rgb"].flatten(0, 1)[:rgb_frames]
        depth, _ = normalize_depth(batch["depth"], batch["valid"])
        d3 = depth.flatten(0, 1)[:, None].expand(-1, 3, -1, -1)
        x = torch.cat([d3, rgb])
        z = vae.encode(x).latent_dist.mode()
        rec = vae.decode(z).sample
        nd = d3.shape[0]
        loss = F.mse_loss(rec[:nd], d3) + 1e-4 * z.pow(2).mean()
        if rgb.shape[0]:
            loss = loss + 0.5 * F.mse_loss(rec[nd:], rgb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    vae.eval().requires_grad_(False)
    with torch.no_grad():
        std = z.detach().float().std().clamp(min=1e-3).item()
    codec.scaling_factor = 1.0 / std
    return codec.scaling_factor
