"""`synthdepth infer`: video in -> npz, 16-bit PNGs, side-by-side mp4 (and a seams report)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model.config import ModelConfig
from model.data import render_clip

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _write_video(path, frames, fps=10):
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264rgb", rate=fps)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        s.options = {"qp": "0"}
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_infer_writes_all_outputs(tmp_path, capsys):
    import av
    import cv2

    from model.cli import infer
    from model.pipeline import DepthPipeline

    rgb, _ = render_clip(5, 24, 16, 24)
    _write_video(tmp_path / "in.mp4", rgb)
    torch.manual_seed(0)
    DepthPipeline.from_config(ModelConfig.tiny()).save_pretrained(tmp_path / "ck")
    out = tmp_path / "out"
    infer(tmp_path / "in.mp4", checkpoint=tmp_path / "ck", out=out, strategy="depthcrafter", steps=1, window=8,
          overlap=2, ensemble=1, interp_checkpoint=None, max_frames=None, exr=False, device="cpu", seed=0)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["frames"] == 24 and report["seams"]["num_boundaries"] >= 2
    depth = np.load(out / "depth.npz")["depth"]
    assert depth.shape == (24, 16, 24) and depth.dtype == np.float32 and np.isfinite(depth).all()
    pngs = sorted((out / "depth_png").glob("*.png"))
    assert len(pngs) == 24
    p0 = cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED)
    assert p0.dtype == np.uint16 and p0.shape == (16, 24)
    rng = json.loads((out / "range.json").read_text())
    back = p0 / 65535 * (rng["png_max"] - rng["png_min"]) + rng["png_min"]
    assert np.abs(back - depth[0]).max() < 1e-4 * max(1.0, rng["png_max"] - rng["png_min"])
    with av.open(str(out / "side_by_side.mp4")) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 24 and frames[0].shape == (16, 48, 3)


def test_infer_rejects_a_non_video(tmp_path):
    from capture.errors import InputError
    from model.cli import infer

    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(InputError, match="x.mp4"):
        infer(bad, checkpoint=tmp_path, out=tmp_path / "o")


def test_train_command_on_real_shards(tmp_path, capsys):
    """dataset's writer + loader feed the trainer through the CLI; a checkpoint comes out."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    writer = pytest.importorskip("test_dataset_writer")
    from dataset.config import ShardConfig
    from dataset.shard_writer import write_arrays
    from model.cli import train

    items, rows, recs, spans = writer.make_items(n_rec=2, clips_per_rec=2)
    writer.write_curated(tmp_path / "curated" / "run1", rows, recs, spans)
    write_arrays(items, tmp_path / "shards", ShardConfig(max_shard_samples=3), {r["recording_id"]: r for r in recs})
    (tmp_path / "b.yaml").write_text("- {height: 32, width: 32, frames: 4, batch_size: 2}\n")
    train([str(tmp_path / "shards")], config=None, out=tmp_path / "run", preset="tiny", pretrained=None,
          mode="depth", max_steps=3, train_layers=None, mixed_precision=None, gradient_checkpointing=False,
          init_from=None, where=None, num_workers=0, buckets=tmp_path / "b.yaml")
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["steps"] == 3 and np.isfinite(report["last_loss"])
    assert (tmp_path / "run" / "checkpoint-0000003" / "unet.safetensors").is_file()


def test_train_command_with_the_default_buckets(tmp_path, capsys):
    """The README's line with nothing but shards and a step count: the preset's bucket table, sized to
    the memory there is, takes 16:9 clips (here 144x256, as a 256x144 game capture)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import test_dataset_writer as writer

    from dataset.config import ShardConfig
    from dataset.shard_writer import write_arrays
    from model.cli import train

    items, rows, recs, spans = writer.make_items(n_rec=1, clips_per_rec=3, t=8, h=144, w=256)
    write_arrays(items, tmp_path / "shards", ShardConfig(), {r["recording_id"]: r for r in recs})
    train([str(tmp_path / "shards")], out=tmp_path / "run", max_steps=1, config=None, preset="tiny", pretrained=None,
          mode="depth", lr=None, train_layers=None, mixed_precision=None, gradient_checkpointing=False,
          init_from=None, where=None, num_workers=0, buckets=None, memory_gb=None)
    out, err = capsys.readouterr()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["steps"] == 1 and np.isfinite(report["last_loss"])
    assert "128x224" in err  # the preset's 16:9 bucket
    assert (tmp_path / "run" / "checkpoint-0000001" / "model_config.json").is_file()
