"""Dataclass configs for the flow-matching video depth model (Depth Any Video §3) and its trainer.

Presets:
  `tiny`  a two-level UNetSpatioTemporalConditionModel (32/64 channels) and a one-block AutoencoderKL
          (16 channels, no downsampling, 4 latent channels, no mid attention) whose weights are SET
          to a near-identity pixel codec (`latent_codec.identity_init_vae`): latents 0-2 = R, G, B,
          latent 3 = their mean, scaling factor 1.0. A random VAE cannot decode depth, and fitting
          one costs minutes on a busy CPU, so this stands in for SVD's pretrained VAE in CPU
          tests while exercising the same encode/decode path. Builds in about a second.
  `svd`   the real Stable Video Diffusion architecture: UNetSpatioTemporalConditionModel defaults
          (320/640/1280/1280) and AutoencoderKLTemporalDecoder (x8, scaling factor 0.18215).
          Random weights unless `pretrained_path` names a local diffusers SVD folder (with `unet/`
          and `vae/` subfolders); nothing is ever downloaded.

Input channels of the denoiser: depth mode = noisy depth latent (4) + RGB latent (4) = 8;
interp mode (§3.3) adds the key-frame latents (4) and the key-frame mask replicated to 4 channels = 16.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

LATENT_CHANNELS = 4
Mode = Literal["depth", "interp"]


def in_channels_for(mode: str) -> int:
    """Denoiser input channels: noisy depth + RGB latents, plus key-frame latents + mask for interp."""
    if mode == "depth":
        return 2 * LATENT_CHANNELS
    if mode == "interp":
        return 4 * LATENT_CHANNELS
    raise ValueError(f"mode must be 'depth' or 'interp', got {mode!r}")


@dataclass
class ModelConfig:
    preset: str = "tiny"
    mode: str = "depth"
    unet: dict[str, Any] = field(default_factory=dict)  # UNetSpatioTemporalConditionModel kwargs
    vae_kind: str = "kl"  # "kl" (AutoencoderKL) or "kl_temporal" (AutoencoderKLTemporalDecoder)
    vae: dict[str, Any] = field(default_factory=dict)
    vae_init: str = "random"  # "random" | "identity" (tiny: near-identity pixel codec, no training)
    vae_scaling_factor: float = 1.0
    vae_downsample: int = 2  # spatial factor of the VAE
    pretrained_path: str | None = None  # local diffusers folder with unet/ and vae/ (svd only)
    rope_theta: float = 10000.0
    vae_chunk: int = 16  # frames per VAE call, bounds memory at inference

    @property
    def in_channels(self) -> int:
        return in_channels_for(self.mode)

    @property
    def size_multiple(self) -> int:
        """Input H, W are resized to a multiple of this (VAE factor x UNet downsampling)."""
        levels = len(self.unet.get("block_out_channels", (320, 640, 1280, 1280)))
        return self.vae_downsample * 2 ** (levels - 1)

    @property
    def cross_attention_dim(self) -> int:
        return int(self.unet.get("cross_attention_dim", 1024))

    @classmethod
    def tiny(cls, mode: str = "depth") -> ModelConfig:
        return cls(
            preset="tiny",
            mode=mode,
            unet=dict(
                down_block_types=["CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"],
                up_block_types=["UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"],
                block_out_channels=[32, 64],
                layers_per_block=1,
                num_attention_heads=2,
                cross_attention_dim=32,
                addition_time_embed_dim=8,
                projection_class_embeddings_input_dim=24,
                num_frames=8,
            ),
            vae_kind="kl",
            vae=dict(
                down_block_types=["DownEncoderBlock2D"],
                up_block_types=["UpDecoderBlock2D"],
                block_out_channels=[16],
                layers_per_block=1,
                latent_channels=LATENT_CHANNELS,
                norm_num_groups=4,
                mid_block_add_attention=False,
            ),
            vae_init="identity",  # see latent_codec.identity_init_vae
            vae_scaling_factor=1.0,  # identity codec: latents = pixels in [-1, 1]
            vae_downsample=1,
        )

    @classmethod
    def svd(cls, mode: str = "depth", pretrained_path: str | None = None) -> ModelConfig:
        return cls(
            preset="svd",
            mode=mode,
            unet={},  # diffusers defaults = SVD (img2vid) architecture
            vae_kind="kl_temporal",
            vae={},
            vae_scaling_factor=0.18215,
            vae_downsample=8,
            pretrained_path=pretrained_path,
            vae_chunk=8,
        )

    @classmethod
    def preset_named(cls, name: str, mode: str = "depth", **kw: Any) -> ModelConfig:
        if name == "tiny":
            return cls.tiny(mode)
        if name == "svd":
            return cls.svd(mode, **kw)
        raise ValueError(f"unknown model preset {name!r}; use 'tiny' or 'svd'")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {sorted(unknown)}")
        return cls(**d)


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig.tiny)
    out_dir: str = "runs/depth"
    max_steps: int = 1000
    lr: float = 6.4e-5  # paper §4.2
    weight_decay: float = 1e-2
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 100
    grad_clip: float = 1.0
    mixed_precision: str = "no"  # "no" | "fp16" | "bf16"
    gradient_checkpointing: bool = False
    train_layers: str = "all"  # "all" | "spatial" | "temporal" (DepthCrafter's stages)
    # Flow-matching time distribution: "uniform" t~U(0,1), or "logit_normal" t=sigmoid(N(mean,std))
    # (SD3; concentrates on mid-trajectory times, which matter most for few-step sampling).
    timestep_dist: str = "uniform"
    logit_mean: float = 0.0
    logit_std: float = 1.0
    ema_decay: float = 0.999  # 0 disables EMA
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    log_every: int = 10
    seed: int = 0
    init_from: str | None = None  # pipeline folder to start from (e.g. the depth model for interp)
    resume: bool = True  # resume from the latest checkpoint in out_dir if there is one
    progress: bool = True
    logger: str = "auto"  # "auto" (TensorBoard if installed, plus JSONL) | "jsonl"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        model = d.pop("model", None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        cfg = cls(**d)
        if model is not None:
            cfg.model = model if isinstance(model, ModelConfig) else ModelConfig.from_dict(model)
        return cfg
