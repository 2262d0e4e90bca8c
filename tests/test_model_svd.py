"""The path a GPU user takes: `--preset svd --pretrained DIR` on a diffusers folder in the real SVD
layout (UNetSpatioTemporalConditionModel in unet/, AutoencoderKLTemporalDecoder in vae/, written
with save_pretrained, random small weights), trained through `synthdepth train` on shards and then
used by `synthdepth infer`, with the folder gone (the checkpoint carries the architecture)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_train_and_infer_from_an_svd_layout_folder(tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).parent))
    import test_dataset_writer as writer
    from test_model_cli import _write_video

    from dataset.config import ShardConfig
    from dataset.shard_writer import write_arrays
    from model.cli import infer, train
    from model.svd_layout import write_svd_layout

    svd = write_svd_layout(tmp_path / "svd")
    assert json.loads((svd / "unet" / "config.json").read_text())["_class_name"] == "UNetSpatioTemporalConditionModel"
    assert json.loads((svd / "vae" / "config.json").read_text())["_class_name"] == "AutoencoderKLTemporalDecoder"
    assert (svd / "unet" / "diffusion_pytorch_model.safetensors").is_file()

    items, rows, recs, spans = writer.make_items(n_rec=1, clips_per_rec=3, t=6, h=48, w=64)
    write_arrays(items, tmp_path / "shards", ShardConfig(), {r["recording_id"]: r for r in recs})
    (tmp_path / "b.yaml").write_text("- {height: 32, width: 48, frames: 3, batch_size: 1}\n")
    train([str(tmp_path / "shards")], config=None, out=tmp_path / "run", preset="svd", pretrained=svd, mode="depth",
          max_steps=2, lr=1e-4, train_layers=None, mixed_precision=None, gradient_checkpointing=True, init_from=None,
          where=None, num_workers=0, buckets=tmp_path / "b.yaml", memory_gb=None)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["steps"] == 2 and np.isfinite(report["last_loss"])
    ck = Path(report["checkpoints"][-1])
    cfg = json.loads((ck / "model_config.json").read_text())["model"]
    assert cfg["preset"] == "svd" and cfg["unet"]["block_out_channels"] == [32, 64]
    assert cfg["vae_kind"] == "kl_temporal" and cfg["vae_scaling_factor"] == pytest.approx(0.18215)

    # the pretrained weights were really used: the trained UNet is the folder's, moved by 2 steps only
    from diffusers import UNetSpatioTemporalConditionModel

    from model.checkpoint import load_state_dict

    orig = UNetSpatioTemporalConditionModel.from_pretrained(str(svd / "unet")).state_dict()
    trained = load_state_dict(ck / "unet.safetensors")
    # (the absolute temporal position embedding is gone: RoPE on the frame indices replaces it)
    assert {k for k in orig if "time_pos_embed" not in k} == set(trained)
    rel = [float((t - orig[k]).norm() / (orig[k].norm() + 1e-12)) for k, t in trained.items() if t.numel() > 100]
    assert np.median(rel) < 0.05

    shutil.rmtree(svd)  # the checkpoint alone rebuilds the architecture
    rgb = np.random.default_rng(0).integers(0, 255, (20, 40, 56, 3), dtype=np.uint8)
    _write_video(tmp_path / "in.mp4", rgb)
    infer(tmp_path / "in.mp4", checkpoint=ck, out=tmp_path / "out", strategy="depthcrafter", steps=1, window=8,
          overlap=2, ensemble=1, interp_checkpoint=None, max_frames=None, exr=False, device="cpu", seed=0)
    depth = np.load(tmp_path / "out" / "depth.npz")["depth"]
    assert depth.shape == (20, 40, 56) and np.isfinite(depth).all() and depth.std() > 0
    torch.manual_seed(0)
