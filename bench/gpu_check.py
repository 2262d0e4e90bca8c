"""The `svd` preset's figures on one GPU (run through bench/gpu_check.sh, which also runs the FSDP part).

Parts (each prints one line of figures; `--parts` picks some):
  train      train steps/s in bf16 with gradient checkpointing at 320x512 x 16 frames, batch 1
             (random-weight SVD architecture, or --pretrained DIR), peak GPU memory, and the memory
             model/memory.py predicted for that batch before the first step
  infer      inference ms/frame and peak GPU memory at 480x640 (16 frames), 1 and 3 Euler steps, bf16
  long       long-video strategy (depthcrafter, window 16, frames streamed to a sink) on 100 and on
             1,000 frames at 320x512: s/frame and peak GPU memory of each, and their ratio
  fsdp       a few FSDP training steps (run under `accelerate launch` with an FSDP config by
             gpu_check.sh; checks that checkpoints gather the sharded weights and reload)

`--cpu-smoke` runs every part on the CPU with a small SVD-layout folder (model/svd_layout.py) and
tiny sizes: it proves the plumbing of this script without a GPU (the figures mean nothing there).

    bash bench/gpu_check.sh                       # on a GPU machine: all parts, < 8 minutes on an H100/H200
    python bench/gpu_check.py --cpu-smoke         # the same code path on a CPU, ~2 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _sync(dev: str) -> None:
    if dev == "cuda":
        torch.cuda.synchronize()


def _reset_peak(dev: str) -> None:
    if dev == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak_gb(dev: str) -> float:
    if dev == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    from model.memory import _process_rss

    return _process_rss() / 2**30


class _Batches:
    """Endless batches of random frames with smooth random depth, in the trainer's batch contract."""

    def __init__(self, b: int, k: int, h: int, w: int, seed: int = 0):
        self.b, self.k, self.h, self.w = b, k, h, w
        self.g = torch.Generator().manual_seed(seed)

    def __iter__(self):
        while True:
            rgb = torch.rand(self.b, self.k, 3, self.h, self.w, generator=self.g) * 2 - 1
            low = torch.rand(self.b, self.k, 1, max(1, self.h // 32), max(1, self.w // 32), generator=self.g)
            depth = torch.nn.functional.interpolate(low.flatten(0, 1), size=(self.h, self.w), mode="bilinear")
            depth = depth.reshape(self.b, self.k, self.h, self.w) * 10 + 1
            yield {"rgb": rgb, "depth": depth, "valid": torch.ones_like(depth, dtype=torch.bool),
                   "frame_indices": torch.arange(self.k).expand(self.b, self.k).clone(),
                   "clip_id": [f"c{i}" for i in range(self.b)]}


def model_config(args):
    from model.config import ModelConfig

    return ModelConfig.svd(pretrained_path=str(args.pretrained) if args.pretrained else None)


def part_train(args, dev: str) -> dict:
    from dataset.packing import Bucket, BucketTable
    from model.config import TrainConfig
    from model.train import train

    h, w, k = args.train_size
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig(model=model_config(args), out_dir=d, max_steps=args.train_steps + 2, lr=1e-5,
                          mixed_precision="bf16" if dev == "cuda" else "no", gradient_checkpointing=True,
                          checkpoint_every=10**9, resume=False, progress=False, logger="jsonl", ema_decay=0.999)
        times: list[float] = []
        last = [time.perf_counter()]

        def tick(step, pipe, ema):
            _sync(dev)
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now
            if step == 2:
                _reset_peak(dev)

        res = train(cfg, _Batches(1, k, h, w), buckets=BucketTable([Bucket(h, w, k, 1)]), step_callback=tick)
    steady = times[2:]  # the first two steps warm up (allocator, kernels)
    mm = res.memory
    predicted = mm.total(1, k, h, w) / 2**30 if mm else float("nan")
    return {"part": "train", "size": f"{h}x{w}x{k}", "steps_per_s": len(steady) / sum(steady),
            "frames_per_s": k * len(steady) / sum(steady), "peak_gb": _peak_gb(dev), "predicted_gb": predicted,
            "loss_last": res.losses[-1]}


def _pipe(args, dev: str):
    from model.pipeline import DepthPipeline

    dtype = torch.bfloat16 if dev == "cuda" else torch.float32
    return DepthPipeline.from_config(model_config(args), device=dev, dtype=dtype)


def part_infer(args, dev: str) -> dict:
    pipe = _pipe(args, dev)
    h, w, k = args.infer_size
    rgb = np.random.default_rng(0).integers(0, 255, (k, h, w, 3), dtype=np.uint8)
    out = {"part": "infer", "size": f"{h}x{w}x{k}"}
    for steps in (1, 3):
        pipe(rgb, num_steps=steps)  # warm-up
        _reset_peak(dev)
        t = time.perf_counter()
        for _ in range(args.repeats):
            pipe(rgb, num_steps=steps)
        _sync(dev)
        out[f"ms_per_frame_{steps}step"] = 1000 * (time.perf_counter() - t) / (args.repeats * k)
        out[f"peak_gb_{steps}step"] = _peak_gb(dev)
    return out


class _LazyFrames:
    """n frames made on demand (a moving gradient with noise): nothing is held but the request."""

    def __init__(self, n: int, h: int, w: int):
        self.n, self.h, self.w = n, h, w

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> np.ndarray:
        rng = np.random.default_rng(i)
        x = (np.arange(self.w)[None, :] + 3 * i) % 256
        f = np.broadcast_to(x[:, :, None], (self.h, self.w, 3)).astype(np.int16)
        return np.clip(f + rng.integers(-8, 8, (self.h, self.w, 3)), 0, 255).astype(np.uint8)


def part_long(args, dev: str) -> dict:
    from model.long_video import infer_long_video

    pipe = _pipe(args, dev)
    h, w = args.long_size
    out = {"part": "long", "size": f"{h}x{w}", "strategy": "depthcrafter", "window": 16}
    for n in (100, 1000) if not args.cpu_smoke else (20, 200):
        seen = [0]

        def sink(i, d, seen=seen):
            seen[0] += 1

        _reset_peak(dev)
        t = time.perf_counter()
        infer_long_video(pipe, _LazyFrames(n, h, w), "depthcrafter", window=16, num_steps=args.long_steps,
                         sink=sink)
        _sync(dev)
        assert seen[0] == n, (seen[0], n)
        out[f"s_per_frame_{n}"] = (time.perf_counter() - t) / n
        out[f"peak_gb_{n}"] = _peak_gb(dev)
    a, b = (100, 1000) if not args.cpu_smoke else (20, 200)
    out["peak_ratio"] = out[f"peak_gb_{b}"] / out[f"peak_gb_{a}"]
    return out


def part_fsdp(args, dev: str) -> dict:
    """Run under `accelerate launch` with FSDP: train a few steps, save, reload the gathered checkpoint."""
    from accelerate.state import PartialState

    from model.config import TrainConfig
    from model.pipeline import DepthPipeline
    from model.train import train

    state = PartialState()
    h, w, k = args.fsdp_size
    out_dir = Path(args.fsdp_out or tempfile.mkdtemp())
    cfg = TrainConfig(model=model_config(args), out_dir=str(out_dir), max_steps=3, lr=1e-5,
                      mixed_precision="bf16" if dev == "cuda" else "no", gradient_checkpointing=True,
                      checkpoint_every=3, resume=False, progress=False, logger="jsonl", ema_decay=0)
    t = time.perf_counter()
    res = train(cfg, _Batches(1, k, h, w, seed=state.process_index))
    secs = time.perf_counter() - t
    out = {"part": "fsdp", "processes": state.num_processes, "steps": res.steps, "seconds": secs,
           "distributed_type": str(state.distributed_type)}
    if state.is_main_process:
        # the checkpoint holds the full (gathered) weights: it reloads with every shape checked and runs
        pipe = DepthPipeline.from_pretrained(res.checkpoints[-1], use_ema=False, device=dev)
        pred = pipe(np.random.default_rng(0).integers(0, 255, (k, h, w, 3), dtype=np.uint8), num_steps=1)
        out["checkpoint_reloads"] = True
        out["prediction_finite"] = bool(np.isfinite(pred).all())
        out["checkpoint"] = res.checkpoints[-1]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="train,infer,long", help="comma-separated: train, infer, long, fsdp")
    ap.add_argument("--pretrained", type=Path, help="a local diffusers SVD folder (default: random weights)")
    ap.add_argument("--cpu-smoke", action="store_true", help="CPU, small SVD-layout folder, tiny sizes")
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--long-steps", type=int, default=1)
    ap.add_argument("--fsdp-out", type=Path)
    ap.add_argument("--json", type=Path, help="append each part's figures as a JSON line here")
    args = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() and not args.cpu_smoke else "cpu"
    if args.cpu_smoke:
        from model.svd_layout import write_svd_layout

        torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
        if args.pretrained is None:
            args.pretrained = write_svd_layout(Path(tempfile.mkdtemp()) / "svd-small")
        args.train_size, args.infer_size, args.long_size, args.fsdp_size = (32, 48, 4), (48, 64, 4), (32, 48), (32, 32, 2)
        args.train_steps, args.repeats = min(args.train_steps, 3), 1
    else:
        if dev != "cuda":
            sys.exit("no CUDA device: run with --cpu-smoke to check the plumbing on a CPU")
        args.train_size, args.infer_size, args.long_size, args.fsdp_size = (320, 512, 16), (480, 640, 16), (320, 512), (256, 256, 8)
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name() if dev == 'cuda' else 'cpu'}, "
          f"svd weights: {args.pretrained or 'random (SVD architecture)'}", flush=True)
    for part in [p.strip() for p in args.parts.split(",") if p.strip()]:
        t = time.perf_counter()
        res = {"train": part_train, "infer": part_infer, "long": part_long, "fsdp": part_fsdp}[part](args, dev)
        res["wall_s"] = round(time.perf_counter() - t, 1)
        line = json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()})
        print(line, flush=True)
        if args.json:
            with args.json.open("a") as fh:
                fh.write(line + "\n")
        if dev == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
