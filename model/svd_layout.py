"""A diffusers folder in Stable Video Diffusion's layout with random weights, for checks without the hub.

`stabilityai/stable-video-diffusion-img2vid(-xt)` as `huggingface-cli download` writes it:

    model_index.json            StableVideoDiffusionPipeline and its parts
    unet/config.json            UNetSpatioTemporalConditionModel (in_channels 8: noisy latent + image latent)
    unet/diffusion_pytorch_model.safetensors
    vae/config.json             AutoencoderKLTemporalDecoder (x8, 4 latent channels)
    vae/diffusion_pytorch_model.safetensors
    (image_encoder/, feature_extractor/, scheduler/: not used by the depth model, not written)

`size="small"` keeps the real classes and the x8 VAE but shrinks the widths (a few MB, seconds on a
CPU); `size="full"` is the real SVD architecture (1.5 B parameters, ~6 GB). `--preset svd
--pretrained DIR` reads either exactly like the real download.
"""

from __future__ import annotations

import json
from pathlib import Path


def write_svd_layout(path: str | Path, size: str = "small", seed: int = 0) -> Path:
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel

    p = Path(path)
    torch.manual_seed(seed)
    if size == "full":
        unet = UNetSpatioTemporalConditionModel()  # diffusers defaults = SVD img2vid
        vae = AutoencoderKLTemporalDecoder()
    elif size == "small":
        unet = UNetSpatioTemporalConditionModel(
            sample_size=16, in_channels=8, out_channels=4,
            down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
            up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
            block_out_channels=(32, 64), layers_per_block=1, num_attention_heads=(2, 4), cross_attention_dim=64,
            addition_time_embed_dim=16, projection_class_embeddings_input_dim=48, num_frames=14)
        # four blocks as in SVD (x8); the class fixes GroupNorm at 32 groups, so 32 channels at least
        vae = AutoencoderKLTemporalDecoder(block_out_channels=(32, 32, 32, 32),
                                           down_block_types=("DownEncoderBlock2D",) * 4, layers_per_block=1,
                                           latent_channels=4)
    else:
        raise ValueError(f"size must be 'small' or 'full', got {size!r}")
    unet.save_pretrained(p / "unet")
    vae.save_pretrained(p / "vae")
    (p / "model_index.json").write_text(json.dumps({
        "_class_name": "StableVideoDiffusionPipeline", "_diffusers_version": "0.24.0.dev0",
        "feature_extractor": ["transformers", "CLIPImageProcessor"],
        "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
        "scheduler": ["diffusers", "EulerDiscreteScheduler"],
        "unet": ["diffusers", "UNetSpatioTemporalConditionModel"],
        "vae": ["diffusers", "AutoencoderKLTemporalDecoder"]}, indent=2))
    return p
