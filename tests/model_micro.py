"""A smaller UNet for the trainer's behaviour tests (resume, stages, interp, checkpoints): the tiny
preset's shipped autoencoder and the same block kinds, two levels of 32 channels, so a step at
32x32 costs a fraction of the tiny preset's. Tests of the preset itself use ModelConfig.tiny()."""

from __future__ import annotations

from model.config import ModelConfig


def micro_config(mode: str = "depth") -> ModelConfig:
    cfg = ModelConfig.tiny(mode)
    unet = dict(cfg.unet, down_block_types=["DownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal"],
                up_block_types=["CrossAttnUpBlockSpatioTemporal", "UpBlockSpatioTemporal"],
                block_out_channels=[32, 32], num_attention_heads=[1, 1])
    return cfg.model_copy(update={"unet": unet})
