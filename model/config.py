"""Typed, validated configs of the flow-matching video depth model (Depth Any Video §3) and its trainer.

Presets:
  `tiny`  the CPU preset. It compresses like SVD: latents at 1/8 of the input resolution, 4 channels.
          VAE: diffusers `AutoencoderDC` (pixel-unshuffle down / pixel-shuffle up, 8/16/32/64
          channels, ~0.45 M parameters), fitted by the project itself on simulated frames
          (`synthdepth model fit-vae`) and shipped as `model/weights/tiny_vae.safetensors`
          (its scaling factor in the file's metadata). UNet: a three-level
          UNetSpatioTemporalConditionModel (32/64/128 channels, ~7 M parameters, spatial + temporal
          attention on the lowest level, where it is cheap), so inputs are resized to a multiple of 32.
  `svd`   the Stable Video Diffusion architecture: UNetSpatioTemporalConditionModel defaults
          (320/640/1280/1280) and AutoencoderKLTemporalDecoder (x8, scaling factor 0.18215).
          Random weights unless `pretrained_path` names a local diffusers SVD folder (`unet/` and
          `vae/` subfolders); nothing is ever downloaded. The architecture read from that folder is
          written into every checkpoint's config, so a checkpoint rebuilds without the folder.

Input channels of the denoiser: depth mode = noisy depth latent (4) + RGB latent (4) = 8;
interp mode (§3.3) adds the key-frame latents (4) and the key-frame mask replicated to 4 channels = 16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LATENT_CHANNELS = 4
Mode = Literal["depth", "interp"]
Preset = Literal["tiny", "svd"]
VaeKind = Literal["kl", "kl_temporal", "dc"]

# The tiny preset's autoencoder, fitted by `synthdepth model fit-vae` (see model/vae_fit.py).
TINY_VAE_FILE = Path(__file__).resolve().parent / "weights" / "tiny_vae.safetensors"

TINY_UNET: dict[str, Any] = dict(
    # attention (spatial, and temporal with RoPE) on the lowest level only: there it sees the whole
    # picture at 1/32 of the input, and on a CPU it costs least (attention on the middle level too
    # made a training step 1.5x slower at 256x320)
    down_block_types=["DownBlockSpatioTemporal", "DownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal"],
    up_block_types=["CrossAttnUpBlockSpatioTemporal", "UpBlockSpatioTemporal", "UpBlockSpatioTemporal"],
    block_out_channels=[32, 64, 128],
    layers_per_block=1,
    num_attention_heads=[1, 2, 4],
    cross_attention_dim=32,
    addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=24,
    num_frames=8,
)

TINY_VAE: dict[str, Any] = dict(
    in_channels=3,
    latent_channels=LATENT_CHANNELS,
    encoder_block_types="ResBlock",
    decoder_block_types="ResBlock",
    encoder_block_out_channels=[8, 16, 32, 64],
    decoder_block_out_channels=[8, 16, 32, 64],
    encoder_layers_per_block=[0, 1, 1, 2],
    decoder_layers_per_block=[0, 1, 1, 2],
    encoder_qkv_multiscales=[[], [], [], []],
    decoder_qkv_multiscales=[[], [], [], []],
)


def in_channels_for(mode: str) -> int:
    """Denoiser input channels: noisy depth + RGB latents, plus key-frame latents + mask for interp."""
    if mode == "depth":
        return 2 * LATENT_CHANNELS
    if mode == "interp":
        return 4 * LATENT_CHANNELS
    raise ValueError(f"mode must be 'depth' or 'interp', got {mode!r}")


class _Config(BaseModel):
    # validate_assignment: `cfg.mode = "intrep"` fails where it is written, not steps later
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Config):
    preset: Preset = "tiny"
    mode: Mode = "depth"
    unet: dict[str, Any] = Field(default_factory=dict)  # UNetSpatioTemporalConditionModel kwargs
    vae_kind: VaeKind = "kl"  # AutoencoderKL | AutoencoderKLTemporalDecoder | AutoencoderDC
    vae: dict[str, Any] = Field(default_factory=dict)
    # "file": weights from `vae_weights` (default: the packaged tiny VAE); "random": as built
    vae_init: Literal["random", "file"] = "random"
    vae_weights: str | None = None
    vae_scaling_factor: float = Field(1.0, gt=0)
    vae_downsample: int = Field(8, ge=1)  # spatial factor of the VAE
    pretrained_path: str | None = None  # local diffusers folder with unet/ and vae/ (svd only)
    rope_theta: float = Field(10000.0, gt=0)
    vae_chunk: int = Field(16, ge=1)  # frames per VAE call, bounds memory at inference

    @field_validator("unet", "vae")
    @classmethod
    def _plain(cls, v: dict[str, Any]) -> dict[str, Any]:
        # diffusers' FrozenDict and tuples -> plain JSON-able values
        return {k: list(x) if isinstance(x, tuple) else x for k, x in dict(v).items() if not k.startswith("_")}

    @property
    def in_channels(self) -> int:
        return in_channels_for(self.mode)

    @property
    def unet_levels(self) -> int:
        return len(self.unet.get("block_out_channels", (320, 640, 1280, 1280)))

    @property
    def size_multiple(self) -> int:
        """Input H, W must be a multiple of this (VAE factor x UNet downsampling)."""
        return self.vae_downsample * 2 ** (self.unet_levels - 1)

    @property
    def cross_attention_dim(self) -> int:
        return int(self.unet.get("cross_attention_dim", 1024))

    @classmethod
    def tiny(cls, mode: Mode = "depth") -> ModelConfig:
        return cls(preset="tiny", mode=mode, unet=dict(TINY_UNET), vae_kind="dc", vae=dict(TINY_VAE),
                   vae_init="file", vae_weights=None, vae_scaling_factor=1.0, vae_downsample=8, vae_chunk=16)

    @classmethod
    def svd(cls, mode: Mode = "depth", pretrained_path: str | None = None) -> ModelConfig:
        return cls(preset="svd", mode=mode, unet={}, vae_kind="kl_temporal", vae={}, vae_scaling_factor=0.18215,
                   vae_downsample=8, pretrained_path=pretrained_path, vae_chunk=8)

    @classmethod
    def preset_named(cls, name: str, mode: Mode = "depth", **kw: Any) -> ModelConfig:
        if name == "tiny":
            return cls.tiny(mode)
        if name == "svd":
            return cls.svd(mode, **kw)
        raise ValueError(f"unknown model preset {name!r}; use 'tiny' or 'svd'")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return cls.model_validate(d)


def preset_train_defaults(preset: str) -> dict[str, Any]:
    """TrainConfig fields a preset trains best with; a TrainConfig takes them for every field it is
    not given. svd: the paper's fine-tuning settings (the field defaults). tiny: trained from
    scratch on a CPU, so a larger learning rate, a short warm-up and a faster EMA (see
    bench/model_learning.py for how they were chosen)."""
    if preset == "tiny":
        return dict(lr=1e-3, warmup_steps=50, ema_decay=0.99, timestep_dist="logit_normal", t0_fraction=0.25)
    return {}


class TrainConfig(_Config):
    model: ModelConfig = Field(default_factory=ModelConfig.tiny)
    out_dir: str = "runs/depth"
    max_steps: int = Field(1000, ge=1)
    lr: float = Field(6.4e-5, gt=0)  # paper §4.2 (SVD fine-tuning); the tiny preset from scratch wants ~1e-3
    weight_decay: float = Field(1e-2, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = Field(100, ge=0)
    grad_clip: float = Field(1.0, ge=0)
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    gradient_checkpointing: bool = False
    train_layers: Literal["all", "spatial", "temporal"] = "all"  # DepthCrafter's stages
    # Flow-matching time distribution: "uniform" t~U(0,1), or "logit_normal" t=sigmoid(N(mean,std))
    # (SD3; concentrates on mid-trajectory times, which matter most for few-step sampling).
    timestep_dist: Literal["uniform", "logit_normal"] = "uniform"
    logit_mean: float = 0.0
    logit_std: float = Field(1.0, gt=0)
    # Share of samples trained at t = 0 exactly: the state the first Euler step starts from at
    # inference (pure noise), which decides most of a few-step prediction.
    t0_fraction: float = Field(0.0, ge=0, le=1)
    # Depth-space loss on the decoded one-step estimate x1 = x_t + (1 - t) v (scale-and-shift
    # invariant, per frame; Garcia et al. 2024's end-to-end fine-tuning). 0 = latent MSE only.
    depth_loss_weight: float = Field(0.0, ge=0)
    depth_loss_frames: int = Field(2, ge=1)  # frames per sample decoded for it (the decoder is costly)
    ema_decay: float = Field(0.999, ge=0, lt=1)  # 0 disables EMA
    checkpoint_every: int = Field(500, ge=1)
    keep_checkpoints: int = Field(3, ge=1)
    log_every: int = Field(10, ge=1)
    seed: int = 0
    init_from: str | None = None  # pipeline folder to start from (e.g. the depth model for interp)
    resume: bool = True  # resume from the latest checkpoint in out_dir if there is one
    progress: bool = True
    logger: Literal["auto", "jsonl"] = "auto"  # auto: TensorBoard if installed, plus JSONL
    # Refuse to start when the largest batch would need more memory than this (GB); None: what
    # the machine has free (CPU) or the device's memory (CUDA). See model/memory.py.
    memory_gb: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _preset_defaults(self) -> TrainConfig:
        # fields not given take the model preset's recipe (validate_assignment re-runs this
        # validator on every assignment: only the fields still unset are touched)
        for k, v in preset_train_defaults(self.model.preset).items():
            if k not in self.model_fields_set and getattr(self, k) != v:
                object.__setattr__(self, k, v)
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        return cls.model_validate(d)
