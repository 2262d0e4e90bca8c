"""`DepthPipeline`: frames -> affine-invariant depth with the flow-matching video model.

Frames are resized to a multiple of `config.size_multiple` (VAE factor x UNet downsampling),
encoded, denoised from Gaussian noise by `num_steps` Euler steps with RoPE on the given frame
indices, decoded, averaged over the decoder's 3 channels and resized back. The output is
(normalised depth + 1) / 2: depth up to an unknown scale and shift, one for the whole clip.

Ensembles (Marigold / DAV §4.3): M predictions from different noise, each aligned to the first by
least-squares scale and shift over the clip, then the per-pixel median.

Folder layout (save_pretrained / from_pretrained):
    model_config.json   ModelConfig + VAE scaling factor
    unet.safetensors    denoiser weights (RoPE has none)
    unet_ema.safetensors   optional EMA weights (used by default when present)
    vae.safetensors
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from common.errors import CheckpointError
from model.checkpoint import check_compatible, load_state_dict, read_json, save_state_dict, write_json
from model.config import LATENT_CHANNELS, ModelConfig
from model.denoiser import DepthDenoiser
from model.flow_matching import euler_sample
from model.latent_codec import LatentCodec


def _round_to(n: int, m: int) -> int:
    return max(m, int(round(n / m)) * m)


class DepthPipeline:
    def __init__(self, denoiser: DepthDenoiser, codec: LatentCodec, config: ModelConfig,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
        self.denoiser = denoiser.to(device=device, dtype=dtype).eval()
        self.codec = codec.to(device=device, dtype=dtype).eval()
        self.codec.requires_grad_(False)
        self.config = config
        self.device = torch.device(device)
        self.dtype = dtype

    # ---- construction / persistence -------------------------------------------------------
    @classmethod
    def from_config(cls, config: ModelConfig, device: str | torch.device = "cpu",
                    dtype: torch.dtype = torch.float32) -> DepthPipeline:
        """Build the denoiser and codec; from a pretrained folder, the config takes on the
        architecture found there (so a checkpoint of it rebuilds without the folder)."""
        from model.denoiser import architecture

        denoiser, codec = DepthDenoiser.from_config(config), LatentCodec.from_config(config)
        if config.pretrained_path:
            unet_arch = {k: v for k, v in architecture(denoiser.unet).items() if k not in ("in_channels", "out_channels")}
            vae_arch = architecture(codec.vae)
            blocks = vae_arch.get("block_out_channels") or vae_arch.get("encoder_block_out_channels") or ()
            config = config.model_copy(update={
                "unet": unet_arch, "vae": vae_arch, "vae_downsample": 2 ** max(0, len(blocks) - 1),
                "vae_scaling_factor": float(vae_arch.get("scaling_factor", config.vae_scaling_factor))})
            config = ModelConfig.model_validate(config.model_dump())
            codec.scaling_factor = config.vae_scaling_factor
        else:
            config = config.model_copy(update={"vae_scaling_factor": codec.scaling_factor})
        return cls(denoiser, codec, config, device, dtype)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device = "cpu", use_ema: bool = True,
                        dtype: torch.dtype = torch.float32) -> DepthPipeline:
        p = Path(path)
        if not (p / "model_config.json").is_file():
            raise CheckpointError(p, "not a DepthPipeline folder (no model_config.json); train one or pass the "
                                     "checkpoint-NNNNNNN folder written by model.train")
        meta = read_json(p / "model_config.json")
        try:
            cfg = ModelConfig.from_dict(meta["model"])
        except (KeyError, ValueError) as e:
            raise CheckpointError(p / "model_config.json", f"not a valid model config ({e})") from None
        # weights (the VAE's too) come from this folder, not from where they were first loaded
        cfg = cfg.model_copy(update={"pretrained_path": None})
        pipe = cls(DepthDenoiser.from_config(cfg), LatentCodec.from_config(cfg, load_weights=False), cfg, "cpu",
                   torch.float32)
        pipe.codec.scaling_factor = cfg.vae_scaling_factor
        unet_file = p / "unet_ema.safetensors" if use_ema and (p / "unet_ema.safetensors").is_file() else p / "unet.safetensors"
        for module, f in ((pipe.denoiser.unet, unet_file), (pipe.codec.vae, p / "vae.safetensors")):
            state = load_state_dict(f)
            check_compatible(module, state, f)
            module.load_state_dict(state)
        return cls(pipe.denoiser, pipe.codec, cfg, device, dtype)

    def save_pretrained(self, path: str | Path, ema_unet_state: dict[str, torch.Tensor] | None = None,
                        unet_state: dict[str, torch.Tensor] | None = None, extra: dict | None = None) -> Path:
        """Write the pipeline folder (see the module doc). `unet_state` replaces the live UNet's
        weights (the trainer passes the ones gathered from all ranks); `extra` goes into
        model_config.json beside the config. Each file is written to a temporary name and renamed."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        save_state_dict(unet_state if unet_state is not None else self.denoiser.unet.state_dict(),
                        p / "unet.safetensors")
        if ema_unet_state is not None:
            save_state_dict(ema_unet_state, p / "unet_ema.safetensors")
        save_state_dict(self.codec.vae.state_dict(), p / "vae.safetensors")
        cfg = self.config.model_copy(update={"vae_scaling_factor": self.codec.scaling_factor})
        write_json({"model": cfg.to_dict(), **(extra or {})}, p / "model_config.json")
        return p

    def to_mode(self, mode: str) -> DepthPipeline:
        """Turn a depth model into an interp model (DAV §3.3): widen conv_in by copying and halving."""
        from model.config import in_channels_for
        from model.denoiser import widen_conv_in

        if mode == self.config.mode:
            return self
        need = in_channels_for(mode)
        if need < self.denoiser.in_channels:
            raise ValueError(f"cannot narrow a {self.config.mode} model to {mode}")
        widen_conv_in(self.denoiser.unet, need)
        self.denoiser.in_channels = need
        self.config = self.config.model_copy(update={"mode": mode})
        return self

    # ---- pieces used by long-video inference -----------------------------------------------
    def preprocess(self, frames: Any) -> tuple[torch.Tensor, tuple[int, int]]:
        """uint8 (T,H,W,3) array/tensor or float tensor (T,3,H,W) in [-1,1] -> (1,T,3,h,w), (H,W)."""
        if isinstance(frames, np.ndarray) or (torch.is_tensor(frames) and frames.dtype == torch.uint8):
            a = torch.as_tensor(np.asarray(frames)) if isinstance(frames, np.ndarray) else frames
            if a.ndim == 3:
                a = a[None]
            if a.ndim != 4 or a.shape[-1] != 3:
                raise CheckpointError(None, f"frames must be (T,H,W,3) uint8, got shape {tuple(a.shape)}")
            x = a.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        elif torch.is_tensor(frames):
            x = frames.float()
            if x.ndim != 4 or x.shape[1] != 3:
                raise CheckpointError(None, f"float frames must be (T,3,H,W) in [-1,1], got {tuple(x.shape)}")
        else:
            raise CheckpointError(None, f"frames must be a numpy array or torch tensor, got {type(frames).__name__}")
        h, w = x.shape[-2:]
        m = self.config.size_multiple
        th, tw = _round_to(h, m), _round_to(w, m)
        if (th, tw) != (h, w):
            x = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False, antialias=True)
        return x[None].to(self.device, self.dtype), (h, w)

    @torch.no_grad()
    def encode_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.codec.encode_rgb(rgb)

    @torch.no_grad()
    def sample_latents(
        self, rgb_latents: torch.Tensor, frame_indices: torch.Tensor | None = None, num_steps: int = 3,
        generator: torch.Generator | None = None, key_latents: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None, x0: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Euler-sample depth latents (B,K,4,h,w) given RGB latents; interp mode needs key latents + mask."""
        b, k, _, h, w = rgb_latents.shape
        cond = rgb_latents
        if self.config.mode == "interp":
            if key_latents is None or key_mask is None:
                raise ValueError("interp model needs key_latents (B,K,4,h,w) and key_mask (B,K)")
            m = key_mask.to(rgb_latents.dtype).reshape(b, k, 1, 1, 1).expand(b, k, LATENT_CHANNELS, h, w)
            cond = torch.cat([rgb_latents, key_latents * m, m], dim=2)
        if x0 is None:
            x0 = torch.randn((b, k, LATENT_CHANNELS, h, w), generator=generator, device="cpu").to(self.device, self.dtype)
        if frame_indices is None:
            frame_indices = torch.arange(k, device=self.device)[None].expand(b, k)
        frame_indices = frame_indices.to(self.device).reshape(b, k)

        def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.denoiser(x, cond, t, frame_indices)

        return euler_sample(velocity, x0, num_steps)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        """latents (1,K,4,h,w) -> affine-invariant depth (K,H,W) float32 at `size`."""
        d = self.codec.decode_depth(latents)[0]  # (K, h', w') in ~[-1, 1]
        if tuple(d.shape[-2:]) != tuple(size):
            d = F.interpolate(d[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
        return ((d.float().clamp(-1.5, 1.5) + 1.0) / 2.0).cpu().numpy().astype(np.float32)

    # ---- the public call ----------------------------------------------------------------
    @torch.no_grad()
    def __call__(self, frames: Any, num_steps: int = 3, ensemble: int = 1,
                 frame_indices: Any = None, seed: int = 0) -> np.ndarray:
        """frames (T,H,W,3) uint8 or (T,3,H,W) float -> depth (T,H,W) float32, affine-invariant."""
        if self.config.mode != "depth":
            raise ValueError("this pipeline is an interp model; call it through model.long_video")
        rgb, size = self.preprocess(frames)
        t = rgb.shape[1]
        idx = None if frame_indices is None else torch.as_tensor(np.asarray(frame_indices), dtype=torch.long)[None]
        if idx is not None and idx.shape[-1] != t:
            raise CheckpointError(None, f"frame_indices has {idx.shape[-1]} entries for {t} frames")
        z_c = self.encode_rgb(rgb)
        g = torch.Generator().manual_seed(int(seed))
        preds = [self.decode(self.sample_latents(z_c, idx, num_steps, g), size) for _ in range(max(1, ensemble))]
        return ensemble_median(preds)

    def predict(self, frames: np.ndarray) -> np.ndarray:
        """The DepthPredictor protocol (model/predictor.py)."""
        return self(frames)


def ensemble_median(preds: list[np.ndarray]) -> np.ndarray:
    """Align every prediction to the first by least-squares scale/shift over the clip, then median."""
    if len(preds) == 1:
        return preds[0]
    from model.predictor import fit_scale_shift

    ref = preds[0]
    aligned = [ref]
    for p in preds[1:]:
        try:
            s, b = fit_scale_shift(p, ref)
        except ValueError:  # constant prediction: keep as is
            s, b = 1.0, 0.0
        aligned.append((s * p + b).astype(np.float32))
    return np.median(np.stack(aligned), axis=0).astype(np.float32)
