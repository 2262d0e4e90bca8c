"""Model code like the rest: validated configs, one save path, one loader outside the CLI, one
scale-and-shift fit, typed checkpoint errors."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from common.errors import CheckpointError, InputError
from model.config import ModelConfig, TrainConfig


def test_configs_are_validated_where_they_are_written():
    with pytest.raises(ValidationError, match="mode"):
        ModelConfig(mode="intrep")
    cfg = ModelConfig.tiny()
    with pytest.raises(ValidationError, match="vae_kind"):
        cfg.vae_kind = "vqgan"
    with pytest.raises(ValidationError, match="extra"):
        ModelConfig.from_dict({**cfg.to_dict(), "vae_scale": 2})
    with pytest.raises(ValidationError, match="mixed_precision"):
        TrainConfig(mixed_precision="fp8")
    with pytest.raises(ValidationError, match="max_steps"):
        TrainConfig(max_steps=0)
    tc = TrainConfig(model=ModelConfig.tiny("interp"), lr=1e-3, betas=(0.8, 0.9))
    back = TrainConfig.from_dict(tc.to_dict())
    assert back == tc and back.model.mode == "interp" and back.betas == (0.8, 0.9)
    assert ModelConfig.tiny().size_multiple == 32 and ModelConfig.svd().size_multiple == 64


def test_checkpoint_errors_are_the_shared_type(tmp_path):
    from model.checkpoint import load_state_dict
    from model.pipeline import DepthPipeline

    with pytest.raises(CheckpointError) as e:
        load_state_dict(tmp_path / "none.safetensors")
    assert e.value.stage == "model" and e.value.kind == "checkpoint" and isinstance(e.value, InputError)
    (tmp_path / "model_config.json").write_text('{"model": {"preset": "tiny", "mode": "sideways"}}')
    with pytest.raises(CheckpointError, match="model_config.json.*not a valid model config"):
        DepthPipeline.from_pretrained(tmp_path)


def test_train_writes_checkpoints_through_save_pretrained(tmp_path, monkeypatch):
    """One save path: what `train` writes is what `save_pretrained` writes, and it loads back."""
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from model_micro import micro_config

    from model.data import SyntheticClipSource
    from model.pipeline import DepthPipeline
    from model.train import train

    calls = []
    orig = DepthPipeline.save_pretrained

    def spy(self, path, *a, **kw):
        calls.append(Path(path).name)
        return orig(self, path, *a, **kw)

    monkeypatch.setattr(DepthPipeline, "save_pretrained", spy)
    cfg = TrainConfig(model=micro_config(), out_dir=str(tmp_path), max_steps=1, checkpoint_every=1, progress=False,
                      logger="jsonl", ema_decay=0.9)
    res = train(cfg, SyntheticClipSource(height=32, width=32, k=2))
    ck = Path(res.checkpoints[0])
    assert calls == [".tmp-checkpoint-0000001"]
    assert {p.name for p in ck.iterdir()} >= {"model_config.json", "unet.safetensors", "unet_ema.safetensors",
                                               "vae.safetensors", "optimizer.pt", "trainer_state.json"}
    meta = json.loads((ck / "model_config.json").read_text())
    assert meta["model"]["vae_scaling_factor"] == pytest.approx(res.pipeline.codec.scaling_factor)
    assert DepthPipeline.from_pretrained(ck).config.unet == cfg.model.unet


def test_one_scale_shift_fit_serves_evaluation(monkeypatch):
    from model import evaluate, predictor

    rng = np.random.default_rng(0)
    gt = rng.uniform(1, 10, (3, 8, 8))
    calls = []
    orig = predictor.fit_scale_shift

    def spy(*a, **kw):
        calls.append(1)
        return orig(*a, **kw)

    monkeypatch.setattr(evaluate, "fit_scale_shift", spy)
    m = evaluate.depth_metrics(2.0 * gt + 1.0, gt, space="depth")
    assert calls and m["abs_rel"] < 1e-9 and m["scale"] == pytest.approx(0.5) and m["shift"] == pytest.approx(-0.5)
    # a constant prediction is the "trivial" baseline: aligned to each video's mean depth
    s, b = predictor.fit_scale_shift(np.ones_like(gt), gt, allow_constant=True)
    assert s == 0.0 and b == pytest.approx(gt.mean())
    with pytest.raises(ValueError, match="constant"):
        predictor.fit_scale_shift(np.ones_like(gt), gt)
    c = evaluate.depth_metrics(np.ones_like(gt), gt, space="depth")
    assert c["abs_rel"] == pytest.approx(np.mean(np.abs(gt.mean() - gt) / gt, axis=(1, 2)).mean())


def test_loader_lives_outside_the_cli(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from model_micro import micro_config

    from model.bootstrap import BootstrapConfig, BootstrapNet, BootstrapPredictor, save_bootstrap
    from model.loading import PerFrameBaseline, load_model
    from model.pipeline import DepthPipeline

    boot = save_bootstrap(tmp_path / "b.safetensors", BootstrapNet(BootstrapConfig(size=32, base_channels=4, levels=3)))
    assert isinstance(load_model(str(boot)), BootstrapPredictor)
    assert isinstance(load_model(str(boot), "per_frame"), PerFrameBaseline)
    DepthPipeline.from_config(micro_config()).save_pretrained(tmp_path / "flow")
    assert isinstance(load_model(str(tmp_path / "flow")), DepthPipeline)
    with pytest.raises(InputError, match="model kind"):
        load_model(str(boot), "magic")
    assert "model.evaluate_cli" not in sys.modules or not hasattr(sys.modules["model.evaluate_cli"], "load_model")
