"""Trainer: exact resume, checkpoints that load safely, layer-selective stages, interp mode."""

from __future__ import annotations

import json

import pytest
import torch
from model_micro import micro_config

from model.config import TrainConfig
from model.data import SyntheticClipSource

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cfg(out, steps, **kw):
    base = dict(model=micro_config(), out_dir=str(out), max_steps=steps, lr=1e-3, warmup_steps=3,
                checkpoint_every=3, progress=False, ema_decay=0.9)
    base.update(kw)
    return TrainConfig(**base)


def _src():
    return SyntheticClipSource(num_clips=4, clip_len=8, k=3, height=32, width=32, batch_size=2, seed=1)


def test_resume_gives_the_same_next_loss(tmp_path):
    from model.train import train

    full = train(_cfg(tmp_path / "full", 5), _src())
    part = train(_cfg(tmp_path / "part", 3), _src())
    assert len(part.losses) == 3 and (tmp_path / "part" / "checkpoint-0000003").is_dir()
    resumed = train(_cfg(tmp_path / "part", 5), _src())  # fresh source object: position restored
    assert resumed.start_step == 3
    assert full.losses[:3] == pytest.approx(part.losses, abs=0)
    assert resumed.losses == pytest.approx(full.losses[3:], rel=1e-6, abs=1e-7)
    # the checkpoint is a pipeline folder + trainer state, all loadable without pickle
    ck = tmp_path / "part" / "checkpoint-0000005"
    state = json.loads((ck / "trainer_state.json").read_text())
    assert state["step"] == 5 and state["data_position"] == 5
    assert torch.load(ck / "optimizer.pt", weights_only=True)["state"]
    from model.pipeline import DepthPipeline

    pipe = DepthPipeline.from_pretrained(ck, use_ema=False)
    for (n, a), b in zip(pipe.denoiser.unet.state_dict().items(), resumed.pipeline.denoiser.unet.state_dict().values(),
                         strict=True):
        assert torch.equal(a, b.cpu()), n
    # EMA weights differ from the raw weights and are used by default
    ema = DepthPipeline.from_pretrained(ck)
    w = "unet.conv_in.weight"
    assert not torch.equal(ema.denoiser.state_dict()[w], pipe.denoiser.state_dict()[w])


def test_temporal_stage_only_moves_temporal_layers(tmp_path):
    from model.denoiser import is_temporal_param
    from model.pipeline import DepthPipeline
    from model.train import train

    pipe = DepthPipeline.from_config(micro_config())
    before = {n: p.detach().clone() for n, p in pipe.denoiser.unet.named_parameters()}
    res = train(_cfg(tmp_path, 2, train_layers="temporal", checkpoint_every=100, ema_decay=0, lr=1e-2,
                     warmup_steps=1), _src(), pipeline=pipe)
    after = dict(res.pipeline.denoiser.unet.named_parameters())
    moved = {n for n in before if not torch.equal(before[n], after[n].detach())}
    assert moved and all(is_temporal_param(n) for n in moved)
    assert any("temporal_transformer_blocks" in n for n in moved)


def test_interp_mode_trains_from_a_depth_model(tmp_path):
    from model.pipeline import DepthPipeline
    from model.train import train

    depth = DepthPipeline.from_config(micro_config())
    depth.save_pretrained(tmp_path / "depth_model")
    cfg = _cfg(tmp_path / "interp", 2, model=micro_config("interp"), init_from=str(tmp_path / "depth_model"),
               checkpoint_every=2)
    res = train(cfg, _src())
    assert res.pipeline.config.mode == "interp" and res.pipeline.denoiser.unet.conv_in.in_channels == 16
    reloaded = DepthPipeline.from_pretrained(res.checkpoints[-1])
    assert reloaded.config.mode == "interp"
    assert all(torch.isfinite(torch.tensor(res.losses)))


def test_bad_batch_is_named(tmp_path):
    from capture.errors import InputError
    from model.train import train

    bad = [{"rgb": torch.zeros(1, 2, 3, 32, 32), "depth": torch.zeros(1, 2, 32, 32),
            "valid": torch.ones(1, 2, 32, 32, dtype=torch.bool), "frame_indices": torch.zeros(1, 3, dtype=torch.long),
            "clip_id": ["x"]}]
    with pytest.raises(InputError, match="frame_indices"):
        train(_cfg(tmp_path, 1), bad)


def test_gradient_checkpointing_and_bf16_train(tmp_path):
    from model.train import train

    plain = train(_cfg(tmp_path / "a", 2, checkpoint_every=100), _src())
    ckpt = train(_cfg(tmp_path / "b", 2, checkpoint_every=100, gradient_checkpointing=True), _src())
    # recomputation during backward sees the same RoPE indices: identical losses and updates
    assert ckpt.losses == pytest.approx(plain.losses, rel=1e-5)
    bf16 = train(_cfg(tmp_path / "c", 2, checkpoint_every=100, mixed_precision="bf16"), _src())
    assert bf16.losses[0] == pytest.approx(plain.losses[0], rel=0.05)  # autocast, same data and noise
