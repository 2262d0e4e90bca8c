"""`synthdepth train` and `synthdepth infer` (mounted by flows/cli.py).

infer writes, into OUT/: depth.npz (float32 `depth` (T,H,W), affine-invariant, plus `seams` JSON
when a long-video strategy ran), depth_png/000000.png... (16-bit PNG, depth min..max -> 0..65535,
the range in range.json), optional depth_exr/*.exr (float32; needs OpenCV's OpenEXR), and
side_by_side.mp4 (video | colourised depth, PyAV/libx264).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer


def train(
    shards: Annotated[list[str], typer.Argument(help="Shard tars, globs or a folder (dataset loader).")],
    config: Annotated[Path | None, typer.Option(help="TrainConfig as JSON/YAML.")] = None,
    out: Annotated[Path, typer.Option(help="Run folder: checkpoints, metrics.jsonl.")] = Path("runs/depth"),
    preset: Annotated[str, typer.Option(help="Model preset when no config: tiny | svd.")] = "tiny",
    pretrained: Annotated[Path | None, typer.Option(help="Local diffusers SVD folder (svd preset).")] = None,
    mode: Annotated[str, typer.Option(help="depth | interp")] = "depth",
    max_steps: Annotated[int | None, typer.Option()] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default: the preset's).")] = None,
    train_layers: Annotated[str | None, typer.Option(help="all | spatial | temporal")] = None,
    mixed_precision: Annotated[str | None, typer.Option(help="no | fp16 | bf16")] = None,
    gradient_checkpointing: Annotated[bool, typer.Option()] = False,
    init_from: Annotated[Path | None, typer.Option(help="Pipeline folder to start from.")] = None,
    where: Annotated[str | None, typer.Option(help="DuckDB filter over the clips catalog.")] = None,
    num_workers: Annotated[int, typer.Option()] = 0,
    buckets: Annotated[Path | None, typer.Option(
        help="Bucket table YAML/JSON (height/width/frames/batch_size); default: the preset's, sized to the "
             "memory budget (see `synthdepth model buckets`).")] = None,
    memory_gb: Annotated[float | None, typer.Option(
        help="Memory budget in GB (default: 85% of what is free). Sizes the default buckets; a bucket that "
             "would not fit is refused before the first step.")] = None,
) -> None:
    """Train the flow-matching video depth model on WebDataset shards."""
    from dataset.loader import cycle_epochs, make_loader
    from dataset.packing import BucketTable
    from model.config import ModelConfig, TrainConfig
    from model.memory import default_buckets, memory_budget, probe
    from model.pipeline import DepthPipeline
    from model.train import latest_checkpoint
    from model.train import train as run_train

    if config is not None:
        import yaml

        cfg = TrainConfig.from_dict(yaml.safe_load(Path(config).read_text()) or {})
    else:
        mc = ModelConfig.preset_named(preset, mode)
        cfg = TrainConfig(model=mc)  # the preset's training recipe (config.preset_train_defaults)
    updates: dict[str, Any] = {"out_dir": str(out)}
    if pretrained is not None:
        cfg.model.pretrained_path = str(pretrained)
    if config is None:
        cfg.model.mode = mode
    for name, value in (("max_steps", max_steps), ("train_layers", train_layers), ("lr", lr),
                        ("mixed_precision", mixed_precision), ("init_from", init_from), ("memory_gb", memory_gb)):
        if value is not None:
            updates[name] = str(value) if isinstance(value, Path) else value
    updates["gradient_checkpointing"] = cfg.gradient_checkpointing or gradient_checkpointing
    cfg = TrainConfig.model_validate({**cfg.model_dump(), **updates})
    # The model is built first: the bucket table is sized on it (model/memory.py).
    pipe = None
    if cfg.init_from is None and latest_checkpoint(out) is None:
        pipe = DepthPipeline.from_config(cfg.model)
    probe_pipe = pipe or DepthPipeline.from_pretrained(cfg.init_from or latest_checkpoint(out))
    if buckets is not None:
        table = BucketTable.load(buckets)
    else:
        table = default_buckets(probe_pipe.config, probe(probe_pipe, cfg), memory_budget(cfg.memory_gb))
        typer.echo("buckets (height x width, K frames, batch): " + ", ".join(
            f"{b.height}x{b.width} K{b.frames} x{b.batch_size}" for b in table.buckets), err=True)
    del probe_pipe
    # a local folder stands for the shard tars in it
    shards = [str(t) for s in shards for t in (sorted(Path(s).glob("*.tar")) if Path(s).is_dir() else [s])]
    loader = make_loader(shards, buckets=table, where=where, num_workers=num_workers, seed=cfg.seed)
    res = run_train(cfg, cycle_epochs(loader, shards[0] if shards else None), pipeline=pipe, buckets=table)
    typer.echo(json.dumps({"steps": res.steps, "last_loss": res.losses[-1] if res.losses else None,
                           "frames_per_s": round(res.frames_per_s, 2), "checkpoints": res.checkpoints}))


def _read_video(path: Path, max_frames: int | None) -> tuple[np.ndarray, float]:
    import av

    from common.errors import InputError

    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            fps = float(s.average_rate or 30)
            frames = []
            for f in c.decode(s):
                frames.append(f.to_ndarray(format="rgb24"))
                if max_frames and len(frames) >= max_frames:
                    break
    except (av.error.FFmpegError, IndexError) as e:
        raise InputError(path, f"cannot read video ({e})") from e
    if not frames:
        raise InputError(path, "video has no frames")
    return np.stack(frames), fps


def _read_manifest(path: Path, max_frames: int | None) -> tuple[np.ndarray, float]:
    # flows/cli is the command layer; capture is only imported here, for this input kind
    from capture import open_recording  # type: ignore[attr-defined]
    from capture.manifest import load_manifest

    m = load_manifest(path)
    frames = []
    with open_recording(path) as rec:
        for pair in rec.frames(0, max_frames):
            frames.append(pair.rgb)
    return np.stack(frames), float(getattr(m, "fps", 30.0) or 30.0)


def colourise(depth: np.ndarray) -> np.ndarray:
    """(T,H,W) -> uint8 (T,H,W,3) with matplotlib's turbo, near = warm; range over the clip."""
    from matplotlib import colormaps

    lo, hi = np.nanpercentile(depth, 2), np.nanpercentile(depth, 98)
    x = np.clip((depth - lo) / max(hi - lo, 1e-9), 0, 1)
    return (colormaps["turbo"](1.0 - x)[..., :3] * 255).astype(np.uint8)


def write_outputs(out: Path, frames: np.ndarray, depth: np.ndarray, fps: float, exr: bool = False,
                  mp4: bool = True, extra: dict | None = None) -> dict[str, str]:
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    written = {}
    np.savez_compressed(out / "depth.npz", depth=depth.astype(np.float32),
                        meta=json.dumps(extra or {}))
    written["npz"] = str(out / "depth.npz")
    lo, hi = float(np.nanmin(depth)), float(np.nanmax(depth))
    png_dir = out / "depth_png"
    png_dir.mkdir(exist_ok=True)
    q = np.round((depth - lo) / max(hi - lo, 1e-12) * 65535).astype(np.uint16)
    for i, d in enumerate(q):
        cv2.imwrite(str(png_dir / f"{i:06d}.png"), d)
    (out / "range.json").write_text(json.dumps({"png_min": lo, "png_max": hi, "png_scale": "linear 0..65535"}))
    written["png"] = str(png_dir)
    if exr:
        exr_dir = out / "depth_exr"
        exr_dir.mkdir(exist_ok=True)
        for i, d in enumerate(depth):
            if not cv2.imwrite(str(exr_dir / f"{i:06d}.exr"), d.astype(np.float32)):
                raise RuntimeError("OpenCV could not write EXR (set OPENCV_IO_ENABLE_OPENEXR=1)")
        written["exr"] = str(exr_dir)
    if mp4:
        import av

        sbs = np.concatenate([frames, colourise(depth)], axis=2)
        h, w = sbs.shape[1:3]
        sbs = sbs[:, : h - h % 2, : w - w % 2]  # yuv420p wants even sizes
        with av.open(str(out / "side_by_side.mp4"), "w") as c:
            s = c.add_stream("libx264", rate=max(1, int(round(fps))))
            s.width, s.height, s.pix_fmt = sbs.shape[2], sbs.shape[1], "yuv420p"
            for f in sbs:
                for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        written["mp4"] = str(out / "side_by_side.mp4")
    return written


def infer(
    video_or_manifest: Annotated[Path, typer.Argument(help="A video file, or a recording manifest (.json/.yaml).")],
    checkpoint: Annotated[Path, typer.Option(help="DepthPipeline folder (a checkpoint-NNNNNNN folder).")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("depth_out"),
    strategy: Annotated[str, typer.Option(help="single | keyframes | depthcrafter | vda")] = "depthcrafter",
    steps: Annotated[int, typer.Option(help="Euler steps.")] = 3,
    window: Annotated[int, typer.Option(help="Frames per model call.")] = 16,
    overlap: Annotated[int | None, typer.Option()] = None,
    ensemble: Annotated[int, typer.Option(help="Predictions per window (single strategy).")] = 1,
    interp_checkpoint: Annotated[Path | None, typer.Option(help="Interp model (keyframes strategy).")] = None,
    max_frames: Annotated[int | None, typer.Option()] = None,
    exr: Annotated[bool, typer.Option(help="Also write EXR frames.")] = False,
    device: Annotated[str, typer.Option()] = "cpu",
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Predict depth for a video or a recording and write npz / 16-bit PNG / (EXR) / side-by-side mp4."""
    from model.long_video import infer_long_video
    from model.pipeline import DepthPipeline

    src = Path(video_or_manifest)
    if src.suffix.lower() in (".json", ".yaml", ".yml"):
        frames, fps = _read_manifest(src, max_frames)
    else:
        frames, fps = _read_video(src, max_frames)
    pipe = DepthPipeline.from_pretrained(checkpoint, device=device)
    extra: dict[str, Any] = {"strategy": strategy, "steps": steps, "window": window, "source": str(src)}
    if strategy == "single" or len(frames) <= window:
        depth = pipe(frames, num_steps=steps, ensemble=ensemble, seed=seed)
    else:
        ipipe = DepthPipeline.from_pretrained(interp_checkpoint, device=device) if interp_checkpoint else None
        res = infer_long_video(pipe, frames, strategy, window, overlap, steps, seed, interp_pipe=ipipe,
                               progress=True)
        depth = res.depth
        extra["seams"] = res.seams.as_dict()
    written = write_outputs(out, frames, depth, fps, exr=exr, extra=extra)
    typer.echo(json.dumps({"frames": int(len(depth)), **written, **({"seams": extra["seams"]} if "seams" in extra else {})}))
