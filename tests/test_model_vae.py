"""The tiny preset's own autoencoder: the shipped weights (small, with their recipe), the fit that
makes them (its loss goes down, decoded depth gets better), and files that do not fit are named."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from common.errors import CheckpointError
from model.config import TINY_VAE_FILE, ModelConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_shipped_weights_are_small_and_say_how_they_were_made():
    from model.latent_codec import LatentCodec, read_vae_file

    assert TINY_VAE_FILE.stat().st_size < 2 * 2**20
    tensors, meta = read_vae_file(TINY_VAE_FILE)
    assert meta["recipe"].startswith("synthdepth model fit-vae")
    assert "held_out_simulated" in meta["report"]
    codec = LatentCodec.from_config(ModelConfig.tiny())
    assert codec.scaling_factor == pytest.approx(float(meta["scaling_factor"]))
    assert type(codec.vae).__name__ == "AutoencoderDC" and codec.deterministic
    # latents of real-looking frames have roughly unit variance after scaling, like the noise
    from model.data import render_clip

    rgb, _ = render_clip(3, 4, 64, 96)
    with torch.no_grad():
        z = codec.encode_rgb(torch.from_numpy(rgb).permute(0, 3, 1, 2)[None].float() / 127.5 - 1)
    assert z.shape == (1, 4, 4, 8, 12) and 0.3 < float(z.std()) < 3.0


def test_fit_lowers_the_loss_and_the_depth_error():
    from model.benchmarks.procedural import render_clip
    from model.latent_codec import LatentCodec
    from model.vae_fit import fit_autoencoder, reconstruction_error

    pool = []
    for s in range(3):
        c = render_clip(4, 48, 64, seed=s)
        pool += list(zip(c.frames, c.depth, strict=True))
    held = render_clip(2, 48, 64, seed=99)
    codec = LatentCodec.from_config(ModelConfig.tiny().model_copy(update={"vae_init": "random"}))
    before = reconstruction_error(codec, zip(held.frames, held.depth, strict=True))
    losses = fit_autoencoder(codec, pool, steps=60, batch=4, crop=32, lr=3e-3, progress=False)
    after = reconstruction_error(codec, zip(held.frames, held.depth, strict=True))
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])
    assert after["norm_l1"] < 0.7 * before["norm_l1"], (before, after)
    assert codec.scaling_factor > 0 and not any(p.requires_grad for p in codec.vae.parameters())


def test_weights_that_do_not_fit_are_named(tmp_path):
    from model.latent_codec import LatentCodec, load_vae_weights, save_vae_file

    small = ModelConfig.tiny().model_copy(update={"vae_init": "random", "vae": dict(
        ModelConfig.tiny().vae, encoder_block_out_channels=[8, 16, 32, 32], decoder_block_out_channels=[8, 16, 32, 32])})
    other = LatentCodec.from_config(small)
    f = save_vae_file(tmp_path / "other.safetensors", other.vae, 0.5)
    codec = LatentCodec.from_config(ModelConfig.tiny().model_copy(update={"vae_init": "random"}))
    with pytest.raises(CheckpointError, match=r"other\.safetensors.*shape"):
        load_vae_weights(codec.vae, f)
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load_vae_weights(codec.vae, tmp_path / "junk.safetensors")
    with pytest.raises(CheckpointError, match="fit-vae"):
        LatentCodec.from_config(ModelConfig.tiny().model_copy(update={"vae_weights": str(tmp_path / "none")}))
