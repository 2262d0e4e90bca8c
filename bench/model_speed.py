"""Flow-matching depth model speed and memory on the CPU (the `tiny` preset), against its targets:

    training   >= 4 frames/s at 240x320 with peak RSS <= 4 GB
    inference  <= 0.5 s/frame at 240x320 with 3 Euler steps
    long video peak memory on 1,000 frames <= 1.1 x that on 100 frames (each strategy)

Every measurement runs in a fresh process (peak RSS = that process's VmHWM). Times are given as
wall-clock AND as CPU time of the process (1 torch thread, so on an idle machine the two agree; on
a shared machine wall time grows with the load and the CPU time does not). The figures quoted are
medians over `--repeats` runs.

- training: `model.train.train` on 240x320 clips of moving textured boxes (`SyntheticClipSource`),
  bucket 256x320 (the next multiple of the preset's 32 at or above 240), B clips x K frames per
  step (default 2 x 8), steps after the first two timed;
- inference: `DepthPipeline` on 16 frames of 240x320, 1 and 3 Euler steps;
- long video: `model.long_video.infer_long_video` on 100 and 1,000 frames of 240x320 made on demand
  (a lazy sequence: nothing holds the video), depth handed to a sink frame by frame (as the
  `infer` command writes PNGs), 1 Euler step (memory does not depend on the step count), for the
  depthcrafter, vda and keyframes strategies.

    python bench/model_speed.py                    # all, ~25 min CPU
    python bench/model_speed.py --parts train,infer --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _hwm_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024
    return float("nan")


def _child(kind: str, kw: dict, q) -> None:
    import torch

    torch.set_num_threads(kw.get("threads", 1))
    try:
        q.put({"kind": kind, **{"train": _train, "infer": _infer, "long": _long}[kind](**kw),
               "peak_rss_mib": _hwm_mib()})
    except Exception as e:  # report, do not hang the parent
        q.put({"kind": kind, "error": f"{type(e).__name__}: {e}"})


def _train(h: int, w: int, bh: int, bw: int, b: int, k: int, steps: int, threads: int) -> dict:
    import torch

    from dataset.packing import Bucket, BucketTable
    from model.config import ModelConfig, TrainConfig, preset_train_defaults
    from model.data import SyntheticClipSource
    from model.train import train

    class Cropped(SyntheticClipSource):
        """240x320 clips resized to the bucket, as the loader does."""

        def batch(self, n):
            bt = super().batch(n)
            for key in ("rgb", "depth", "valid"):
                bt[key] = torch.nn.functional.interpolate(
                    bt[key].float().flatten(0, 1)[:, None] if key != "rgb" else bt[key].flatten(0, 1),
                    size=(bh, bw), mode="nearest").unflatten(0, (b, k)).squeeze(2)
            bt["valid"] = bt["valid"] > 0.5
            return bt

    src = Cropped(num_clips=4, clip_len=16, k=k, height=h, width=w, batch_size=b)
    for i in range(4):
        src.clip(i)  # render outside the timing
    ticks: list[tuple[float, float]] = []

    def cb(step, pipe, ema):
        ticks.append((time.perf_counter(), time.process_time()))

    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig(model=ModelConfig.tiny(), out_dir=d, max_steps=steps + 2, checkpoint_every=10**9,
                          resume=False, progress=False, logger="jsonl", log_every=10**9,
                          **preset_train_defaults("tiny"))
        res = train(cfg, src, buckets=BucketTable([Bucket(bh, bw, k, b)]), step_callback=cb)
    (w0, c0), (w1, c1) = ticks[1], ticks[-1]
    frames = b * k * (len(ticks) - 2)
    return {"frames_per_s_wall": frames / (w1 - w0), "frames_per_cpu_s": frames / (c1 - c0),
            "predicted_mib": res.memory.total(b, k, bh, bw) / 2**20, "steps": len(ticks)}


def _infer(h: int, w: int, frames: int, steps: int, threads: int) -> dict:
    import torch

    from model.config import ModelConfig
    from model.pipeline import DepthPipeline

    torch.manual_seed(0)
    pipe = DepthPipeline.from_config(ModelConfig.tiny())
    rgb = np.random.default_rng(0).integers(0, 255, (frames, h, w, 3), dtype=np.uint8)
    pipe(rgb[:2], num_steps=steps)  # warm-up
    t, c = time.perf_counter(), time.process_time()
    pipe(rgb, num_steps=steps)
    return {"s_per_frame_wall": (time.perf_counter() - t) / frames, "s_per_frame_cpu": (time.process_time() - c) / frames}


class LazyFrames:
    """n frames of h x w made on demand from a few base pictures shifted by the frame index."""

    def __init__(self, n: int, h: int, w: int):
        from model.data import render_clip

        self.n = n
        self.base, _ = render_clip(5, 4, h, w + 64)
        self.h, self.w = h, w

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> np.ndarray:
        s = int(i) % 64
        return np.ascontiguousarray(self.base[int(i) % 4, :, s : s + self.w])


def _long(h: int, w: int, n: int, strategy: str, threads: int) -> dict:
    import torch

    from model.config import ModelConfig
    from model.long_video import infer_long_video
    from model.pipeline import DepthPipeline

    torch.manual_seed(0)
    pipe = DepthPipeline.from_config(ModelConfig.tiny())
    ipipe = None
    if strategy == "keyframes":
        ipipe = DepthPipeline.from_config(ModelConfig.tiny())
        ipipe.denoiser.load_state_dict(pipe.denoiser.state_dict())
        ipipe.to_mode("interp")
    count = [0]
    png_like = []

    def sink(i, d):
        count[0] += 1
        if len(png_like) < 2:  # what a writer would keep: nothing beyond the frame in hand
            png_like.append(d.shape)

    t, c = time.perf_counter(), time.process_time()
    res = infer_long_video(pipe, LazyFrames(n, h, w), strategy, window=16, num_steps=1, interp_pipe=ipipe, sink=sink)
    assert count[0] == n and res.depth is None
    return {"s_per_frame_wall": (time.perf_counter() - t) / n, "s_per_frame_cpu": (time.process_time() - c) / n,
            "windows": len(res.windows)}


def run(kind: str, **kw) -> dict:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(kind, kw, q))
    p.start()
    out = q.get()
    p.join()
    if "error" in out:
        raise RuntimeError(f"{kind} {kw}: {out['error']}")
    return out


def median_of(kind: str, repeats: int, **kw) -> dict:
    rows = [run(kind, **kw) for _ in range(repeats)]
    keys = [k for k, v in rows[0].items() if isinstance(v, (int, float))]
    return {k: statistics.median(r[k] for r in rows) for k in keys} | {"runs": len(rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="train,infer,long")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--train-steps", type=int, default=6)
    ap.add_argument("--strategies", default="depthcrafter,vda,keyframes")
    ap.add_argument("--long-frames", default="100,1000")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    h, w = 240, 320
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    out: dict = {}
    print(f"tiny preset, CPU, {args.threads} torch thread(s); medians of {args.repeats} fresh processes", flush=True)
    if "train" in parts:
        r = median_of("train", args.repeats, h=h, w=w, bh=256, bw=320, b=args.batch, k=args.frames,
                      steps=args.train_steps, threads=args.threads)
        out["train"] = r
        print(f"train 240x320 (bucket 256x320, {args.batch} clips x {args.frames} frames): "
              f"{r['frames_per_s_wall']:.2f} frames/s wall, {r['frames_per_cpu_s']:.2f} frames per CPU-s; "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB (estimated before step 1: {r['predicted_mib']:.0f} MiB)", flush=True)
    if "infer" in parts:
        for steps in (1, 3):
            r = median_of("infer", args.repeats, h=h, w=w, frames=16, steps=steps, threads=args.threads)
            out[f"infer_{steps}"] = r
            print(f"infer 240x320, 16 frames, {steps} Euler step(s): {r['s_per_frame_wall']:.3f} s/frame wall, "
                  f"{r['s_per_frame_cpu']:.3f} s/frame CPU; peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
    if "long" in parts:
        ns = [int(x) for x in args.long_frames.split(",")]
        for strategy in [s.strip() for s in args.strategies.split(",") if s.strip()]:
            rs = {n: median_of("long", 1 if n >= 1000 else args.repeats, h=h, w=w, n=n, strategy=strategy,
                               threads=args.threads) for n in ns}
            out[f"long_{strategy}"] = {str(n): r for n, r in rs.items()}
            a, b = rs[ns[0]], rs[ns[-1]]
            print(f"long video {strategy}: {ns[0]} frames peak RSS {a['peak_rss_mib']:.0f} MiB, {ns[-1]} frames "
                  f"{b['peak_rss_mib']:.0f} MiB (x{b['peak_rss_mib'] / a['peak_rss_mib']:.3f}); "
                  f"{b['s_per_frame_cpu']:.3f} s/frame CPU at 1 Euler step", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
