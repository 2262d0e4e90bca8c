"""Depth/RGB <-> VAE latents (Depth Any Video §3.1, eq. 1).

Depth is normalised per clip: x~ = ((x - d2) / (d98 - d2) - 0.5) * 2 with d2, d98 the 2nd/98th
percentiles over the valid pixels of the WHOLE clip (one affine map per clip keeps the frames
mutually consistent), clipped to [-1, 1]. Invalid pixels are filled with the clip's normalised
median so they do not inject extreme values into the latents (the loss masks them, see train.py).
The 1-channel depth is replicated to 3 channels for the RGB VAE; decoding averages the 3 output
channels. Latents are multiplied by `scaling_factor` (SVD: 0.18215; tiny: 1/std of its latents,
measured when it was fitted and stored in its weights file) so they have roughly unit variance,
like the flow-matching noise.

Three diffusers autoencoders: AutoencoderKL and AutoencoderKLTemporalDecoder (SVD) encode to a
posterior whose mode is used; AutoencoderDC (the tiny preset) is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from common.errors import CheckpointError
from model.config import TINY_VAE_FILE, ModelConfig

VAE_FORMAT = "synthdepth-vae"


def _vae_class(kind: str):
    from diffusers import AutoencoderDC, AutoencoderKL, AutoencoderKLTemporalDecoder

    return {"kl": AutoencoderKL, "kl_temporal": AutoencoderKLTemporalDecoder, "dc": AutoencoderDC}[kind]


def build_vae(cfg: ModelConfig, load_weights: bool = True) -> nn.Module:
    """The config's VAE: from a pretrained diffusers folder, from a weights file, or random
    (`load_weights=False`: the architecture only, for weights that come from elsewhere)."""
    cls = _vae_class(cfg.vae_kind)
    if cfg.pretrained_path:
        p = Path(cfg.pretrained_path)
        if not (p / "vae" / "config.json").is_file():
            raise CheckpointError(p, "no pretrained VAE here (expected vae/config.json); see load_pretrained_unet")
        return cls.from_pretrained(str(p), subfolder="vae", local_files_only=True)
    kw = {k: (tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v)
          for k, v in cfg.vae.items()}
    if cfg.vae_kind == "kl":
        kw = {"in_channels": 3, "out_channels": 3, **kw}
    vae = cls(**kw)
    if cfg.vae_init == "file" and load_weights:
        load_vae_weights(vae, cfg.vae_weights or TINY_VAE_FILE)
    return vae


def read_vae_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a VAE weights file written by `save_vae_file`."""
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        what = "the tiny preset's autoencoder" if p == TINY_VAE_FILE else "autoencoder weights"
        raise CheckpointError(p, f"VAE weights file not found ({what}; make it with `synthdepth model fit-vae "
                                 f"--out {p}`)")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (no iterator on safe_open)
    except Exception as e:  # corrupt header, truncated file
        raise CheckpointError(p, f"not a readable safetensors file ({e})") from e
    if meta.get("format") != VAE_FORMAT:
        raise CheckpointError(p, f"metadata format is {meta.get('format')!r}, expected {VAE_FORMAT!r}")
    return tensors, meta


def load_vae_weights(vae: nn.Module, path: str | Path) -> float:
    """Load weights into `vae` (shapes checked, file named on mismatch); returns the stored scaling factor."""
    from model.checkpoint import check_compatible

    tensors, meta = read_vae_file(path)
    own = vae.state_dict()
    tensors = {k: v.to(own[k].dtype) if k in own else v for k, v in tensors.items()}  # stored in fp16
    check_compatible(vae, tensors, path)
    vae.load_state_dict(tensors)
    return float(meta.get("scaling_factor", 1.0))


def save_vae_file(path: str | Path, vae: nn.Module, scaling_factor: float, meta: dict[str, str] | None = None,
                  half: bool = True) -> Path:
    """Weights (fp16 by default: half the bytes, decode error unchanged at the measured precision)
    with format, scaling factor and `meta` in the safetensors metadata; temp name, then rename."""
    from safetensors.torch import save_file

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    dt = torch.float16 if half else torch.float32
    tensors = {k: v.detach().cpu().to(dt if v.is_floating_point() else v.dtype).contiguous()
               for k, v in vae.state_dict().items()}
    md = {"format": VAE_FORMAT, "scaling_factor": repr(float(scaling_factor)), **(meta or {})}
    tmp = p.with_name(p.name + ".tmp")
    save_file(tensors, str(tmp), metadata={k: str(v) for k, v in md.items()})
    tmp.replace(p)
    return p


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


def denormalize_depth(norm: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
    """Inverse of `normalize_depth` (B, K, H, W) with its (B, 2) stats (clipped values stay clipped)."""
    d2, d98 = stats[:, 0].reshape(-1, 1, 1, 1), stats[:, 1].reshape(-1, 1, 1, 1)
    return (norm / 2.0 + 0.5) * (d98 - d2) + d2


class LatentCodec(nn.Module):
    """Frozen VAE wrapper: RGB/depth clips (B, K, C, H, W) <-> scaled latents (B, K, 4, h, w)."""

    def __init__(self, vae: nn.Module, scaling_factor: float, chunk: int = 16):
        super().__init__()
        self.vae = vae
        self.scaling_factor = float(scaling_factor)
        self.chunk = chunk
        name = type(vae).__name__
        self.temporal_decoder = name == "AutoencoderKLTemporalDecoder"
        self.deterministic = name == "AutoencoderDC"

    @classmethod
    def from_config(cls, cfg: ModelConfig, load_weights: bool = True) -> LatentCodec:
        vae = build_vae(cfg, load_weights)
        scale = cfg.vae_scaling_factor
        if cfg.vae_init == "file" and not cfg.pretrained_path and load_weights:
            _, meta = read_vae_file(cfg.vae_weights or TINY_VAE_FILE)
            scale = float(meta.get("scaling_factor", scale))
        return cls(vae, scale, cfg.vae_chunk)

    def encode_frames(self, x: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> scaled latents (N, 4, h, w), `chunk` frames per VAE call."""
        step = chunk or self.chunk
        outs = []
        for s in range(0, x.shape[0], step):
            enc = self.vae.encode(x[s : s + step])
            outs.append(enc.latent if self.deterministic else enc.latent_dist.mode())
        return torch.cat(outs) * self.scaling_factor

    def decode_frames(self, z: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """scaled latents (N, 4, h, w) -> (N, 3, H, W)."""
        step = chunk or self.chunk
        flat = z.to(self._dtype()) / self.scaling_factor
        outs = []
        for s in range(0, flat.shape[0], step):
            part = flat[s : s + step]
            if self.temporal_decoder:
                outs.append(self.vae.decode(part, num_frames=part.shape[0]).sample)
            else:
                outs.append(self.vae.decode(part).sample)
        return torch.cat(outs)

    def encode_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        """rgb (B, K, 3, H, W) in [-1, 1] -> latents (B, K, 4, h, w)."""
        b, k = rgb.shape[:2]
        return self.encode_frames(rgb.flatten(0, 1).to(self._dtype())).unflatten(0, (b, k))

    def encode_depth(self, norm_depth: torch.Tensor) -> torch.Tensor:
        """normalised depth (B, K, H, W) in [-1, 1] -> latents (B, K, 4, h, w)."""
        b, k = norm_depth.shape[:2]
        x = norm_depth.flatten(0, 1)[:, None].expand(-1, 3, -1, -1).to(self._dtype())
        return self.encode_frames(x).unflatten(0, (b, k))

    def decode_depth(self, z: torch.Tensor) -> torch.Tensor:
        """latents (B, K, 4, h, w) -> normalised depth (B, K, H, W), decoder channels averaged."""
        b, k = z.shape[:2]
        return self.decode_frames(z.flatten(0, 1)).float().mean(dim=1).unflatten(0, (b, k))

    def _dtype(self) -> torch.dtype:
        return next(self.vae.parameters()).dtype


def fit_vae(codec: LatentCodec, batches: Iterable[dict], steps: int = 300, lr: float = 1e-3,
            rgb_frames: int = 2, progress: bool = False) -> float:
    """Fine-tune `codec`'s VAE on training batches (the batch contract of model/data.py) as an
    autoencoder of normalised depth and RGB; sets and returns the scaling factor 1/std(latents).

    The tiny preset ships a fitted autoencoder (`synthdepth model fit-vae`); this adapts it to a
    user's own frames. The `svd` preset keeps SVD's pretrained VAE frozen, as the paper does.
    """
    from tqdm.auto import tqdm

    from model.vae_fit import autoencoder_loss

    vae = codec.vae
    vae.train().requires_grad_(True)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    it = iter(batches)
    zs = []
    for _ in tqdm(range(steps), disable=not progress, desc="fit VAE"):
        batch = next(it)
        rgb = batch["rgb"].flatten(0, 1)[:rgb_frames]
        depth, _ = normalize_depth(batch["depth"], batch["valid"])
        loss, z = autoencoder_loss(codec, rgb, depth.flatten(0, 1), batch["valid"].flatten(0, 1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        zs = [z.detach()]
    vae.eval().requires_grad_(False)
    if zs:
        codec.scaling_factor = 1.0 / zs[0].float().std().clamp(min=1e-3).item()
    return codec.scaling_factor
