"""Flow-matching depth model speed: inference latency per frame and peak memory for 1 and 3 Euler
steps, and training throughput (frames/s) with and without video packing.

Default (CPU, < 2 min): tiny preset, 8 frames at 32x32 for inference; training on 32x32 clips of
K=4 frames, packing = 4 clips per batch vs 1 clip per batch. With CUDA it also times the svd
preset (random weights, fp16) at 480x640 (`--svd-frames`, default 8; `--no-svd` to skip).

    python bench/model_speed.py [--threads 1] [--frames 8] [--size 64] [--train-steps 6]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch


def _vm_kib(field: str) -> float:
    """VmRSS / VmHWM (peak) of this process in KiB, from /proc (Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _infer_child(preset: str, frames: int, h: int, w: int, device: str, dtype: str, steps: int, repeats: int,
                 threads: int, q) -> None:
    # a fresh process per measurement so the CPU peak (VmHWM) belongs to this run only
    torch.set_num_threads(threads)
    from model.config import ModelConfig
    from model.pipeline import DepthPipeline

    torch.manual_seed(0)
    t0 = time.perf_counter()
    pipe = DepthPipeline.from_config(ModelConfig.preset_named(preset), device=device, dtype=getattr(torch, dtype))
    build = time.perf_counter() - t0
    rgb = np.random.default_rng(0).integers(0, 255, (frames, h, w, 3), dtype=np.uint8)
    base = _vm_kib("VmRSS")
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    ts = []
    for _ in range(repeats + 1):  # the first call warms up
        t = time.perf_counter()
        pipe(rgb, num_steps=steps)
        if device == "cuda":
            torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == "cuda"
            else (_vm_kib("VmHWM") - base) / 1024)
    q.put((build, min(ts[1:]) if repeats else ts[0], peak))


def bench_inference(preset: str, frames: int, h: int, w: int, device: str, dtype: str, repeats: int,
                    threads: int) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    print(f"[{preset} {device} {dtype}] {frames} frames at {h}x{w}")
    for steps in (1, 3):
        q = ctx.Queue()
        p = ctx.Process(target=_infer_child, args=(preset, frames, h, w, device, dtype, steps, repeats, threads, q))
        p.start()
        build, best, peak = q.get()
        p.join()
        what = "peak GPU allocated" if device == "cuda" else "peak RSS above the built model"
        print(f"  steps={steps}: {best * 1000 / frames:.1f} ms/frame ({best:.3f} s per clip; build {build:.2f} s), "
              f"{what} {peak:.0f} MiB")


def bench_training(steps: int, h: int, w: int, k: int, pack: int, device: str) -> None:
    import tempfile

    from model.config import ModelConfig, TrainConfig
    from model.data import SyntheticClipSource
    from model.train import train

    results = {}
    for name, bs in (("one clip/batch", 1), (f"packed {pack} clips/batch", pack)):
        src = SyntheticClipSource(num_clips=8, clip_len=16, k=k, height=h, width=w, batch_size=bs)
        src.batch(0)  # render clips outside the timing
        for i in range(8):
            src.clip(i)
        with tempfile.TemporaryDirectory() as d:
            cfg = TrainConfig(model=ModelConfig.tiny(), out_dir=d, max_steps=steps + 1, checkpoint_every=10**9,
                              resume=False, progress=False, ema_decay=0.999, logger="jsonl", log_every=10**9)
            # step 0 warms up (allocations, autograd graph caches); time the rest
            t = time.perf_counter()
            res = train(cfg, src)
            total = time.perf_counter() - t
        fps = res.frames_per_s
        results[name] = fps
        print(f"  train {name}: {fps:.1f} frames/s ({bs * k} frames/step, {total:.1f} s for {steps + 1} steps)")
    a, b = results.values()
    print(f"  packing speed-up: x{b / a:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (1 is fastest on a shared 2-core box)")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--train-steps", type=int, default=6)
    ap.add_argument("--train-size", type=int, default=32)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--pack", type=int, default=4)
    ap.add_argument("--svd-frames", type=int, default=8)
    ap.add_argument("--no-svd", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cuda {torch.cuda.is_available()}")
    bench_inference("tiny", args.frames, args.size, args.size, "cpu", "float32", args.repeats, args.threads)
    bench_training(args.train_steps, args.train_size, args.train_size, args.k, args.pack, "cpu")
    if torch.cuda.is_available() and not args.no_svd:
        bench_inference("svd", args.svd_frames, 480, 640, "cuda", "float16", args.repeats, args.threads)
    elif not args.no_svd:
        print("[svd] skipped: no CUDA device")


if __name__ == "__main__":
    main()
