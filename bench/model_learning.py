"""Does the CPU preset learn? Train `tiny` for a fixed budget on simulated shards and print held-out
AbsRel / delta1 / TAE against steps, beside a trivial predictor and the bootstrap CNN trained on the
same data for the same time.

    python bench/model_learning.py                 # 20 CPU-minutes per model (~50 min in all on 2 cores)
    python bench/model_learning.py --minutes 5     # a quicker look

Data: `--recordings` clean simulated recordings (capture.simulate, scene kinds in turn, seeds
`--data-seed`...), cut into back-to-back windows of `--clip-length` frames and written as shards by
the project's shard writer; the flow model reads them through the dataset loader (one bucket,
`--height` x `--width`, K = `--frames`, `--batch` clips, frame dropout), as `synthdepth train` would.
The bootstrap CNN (`model.bootstrap.train_bootstrap`, its own recipe: SSI + temporal gradient
matching loss, AdamW, warm-up + cosine) gets every frame of the same clips, decoded from the same
shards.

Budget: CPU seconds of the training process (one torch thread; on an idle machine CPU time equals
wall time, on a shared one it does not grow with the load). The flow model trains until its budget
is spent (evaluations excluded); the CNN gets the number of steps that costs the same CPU time
(timed on a short run first).

Evaluation (the protocol of `model.evaluate`, depth space, one scale and shift per video, the same
as bench/curation_value.py): `--eval-videos` clean held-out simulated scenes (seeds 900000+, never
trained on) of `--eval-frames` frames, rendered and downsampled to the training resolution; ground
truth beyond `--max-depth` (80 m) invalid. The flow model uses its EMA weights and `--euler-steps`
Euler steps with a fixed noise seed. Rows:
  trivial    each video's constant depth after the same alignment (= the video's mean depth)
  bootstrap  the CNN after the same CPU time
  flow@N     the flow-matching model after N steps (every `--eval-every` CPU seconds)

Writes results.json / results.md to `--out`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# ---- data -----------------------------------------------------------------------------------------


def clean_shards(cache: Path, n: int, seconds: float, seed: int, length: int) -> tuple[list[str], int]:
    """Shards of `n` clean simulated recordings cut into windows of `length` frames (cached)."""
    from capture.simulate import load_ground_truth
    from capture.simulate.cache import simulate_cached
    from dataset.config import ShardConfig
    from dataset.shard_writer import capture_frames_fn, write_shards

    manifests = simulate_cached(cache / f"clean-s{seed}-n{n}-{seconds:g}s", n, seconds, seed, faults="none")
    from curation_value import fixed_windows

    recordings = {}
    for m in manifests:
        frames = len(load_ground_truth(m)["labels"])
        recordings[m.parent.name] = {"manifest": str(m), "num_frames": frames, "fps": 30.0, "status": "ok",
                                     "game": "simulated", "depth_unit": "metres"}
    rows = fixed_windows(recordings, length)
    out = cache / "shards" / f"clean-s{seed}-n{n}-{seconds:g}s-len{length}"
    res = write_shards(rows, capture_frames_fn(recordings), out, ShardConfig(name="clean"), recordings,
                       progress=True, overwrite=False)
    return res.shards, sum(int(r["num_frames"]) for r in rows)


def shard_clips(shards: list[str], height: int, width: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every clip of the shards, all its frames, resized to height x width (RGB area, depth nearest)."""
    import cv2

    from dataset.depth_store import EXTENSIONS, decode_depth
    from dataset.rgb_store import decode_rgb
    from dataset.shard_writer import iter_tar_samples

    clips = []
    for s in shards:
        for sample in iter_tar_samples(s):
            rec = json.loads(sample["json"])
            t = int(rec["num_frames"])
            idx = np.arange(t)
            enc = rec.get("depth_encoding", "ffv1_f16")
            rgb = decode_rgb(sample["mp4"], idx)
            depth = decode_depth(sample[EXTENSIONS[enc]], enc, idx)
            rgb = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in rgb])
            depth = np.stack([cv2.resize(d, (width, height), interpolation=cv2.INTER_NEAREST) for d in depth])
            clips.append((rgb, depth.astype(np.float32)))
    return clips


def eval_videos(n: int, frames: int, height: int, width: int, max_depth: float) -> list[dict]:
    """Clean held-out simulated scenes at the training resolution (bench/curation_value.py's protocol)."""
    from curation_value import eval_videos as cv_eval

    return cv_eval(argparse.Namespace(eval_frames=frames, eval_videos=n, height=height, width=width,
                                      max_depth=max_depth))


def evaluate(predict, videos: list[dict]) -> dict[str, float]:
    from model.evaluate import aggregate, evaluate_video

    rows = []
    for v in videos:
        pred = predict(v["rgb"])
        rows.append(evaluate_video(pred, v["depth"], v["valid"], v["poses"], v["K"], space="depth",
                                   min_depth=v["min_depth"], max_depth=v["max_depth"]))
    agg = aggregate(rows, ("abs_rel", "delta1", "tae"))
    return {"abs_rel": agg["abs_rel"], "delta1": agg["delta1"], "tae_x100": 100 * agg["tae"]}


# ---- the flow model ---------------------------------------------------------------------------------


class _Budget(Exception):
    pass


def train_flow(shards: list[str], args: argparse.Namespace, seed: int, budget_s: float | None, videos: list[dict] | None,
               out: Path | None = None, eval_every: float | None = None, label: str = "flow",
               max_steps: int | None = None) -> dict[str, Any]:
    """Train the tiny preset on `shards` for `budget_s` CPU seconds or `max_steps` steps (its recipe:
    the preset's training defaults, `args` for the sizes and learning rate), evaluating on `videos`
    every `eval_every` CPU seconds and at the end. Returns {"curve": [...], "final": {...}, "steps",
    "cpu_s", "pipeline", "losses"}."""
    import torch

    from dataset.loader import cycle_epochs, make_loader
    from dataset.packing import Bucket, BucketTable
    from model.config import ModelConfig, TrainConfig, preset_train_defaults
    from model.train import train

    table = BucketTable([Bucket(args.height, args.width, args.frames, args.batch)])
    loader = make_loader(shards, table, seed=seed, shuffle_buffer=64, drop_last=True)
    source = cycle_epochs(loader, "bench")
    defaults = preset_train_defaults("tiny")
    if args.lr:
        defaults["lr"] = args.lr
    work = out or Path(tempfile.mkdtemp(prefix="flow-"))
    budget_s = budget_s if budget_s is not None else float("inf")
    cfg = TrainConfig(model=ModelConfig.tiny(), out_dir=str(work), max_steps=max_steps or 10**7, seed=seed,
                      resume=False, progress=max_steps is not None, logger="jsonl", checkpoint_every=10**9,
                      **defaults)
    torch.manual_seed(seed)
    curve: list[dict] = []
    state = {"eval_cpu": 0.0, "next": eval_every or budget_s, "pipe": None, "ema": None, "steps": 0, "losses": None}
    cpu0 = time.process_time()

    def run_eval(step: int, pipe, ema) -> dict:
        t = time.process_time()
        live = pipe.denoiser.unet.state_dict()
        live = {k: v.clone() for k, v in live.items()}
        if ema is not None:
            pipe.denoiser.unet.load_state_dict(ema.merged_state(live))
        pipe.denoiser.eval()
        r = evaluate(lambda f: pipe(f, num_steps=args.euler_steps, seed=0), videos) if videos else {}
        pipe.denoiser.unet.load_state_dict(live)
        pipe.denoiser.train()
        state["eval_cpu"] += time.process_time() - t
        return r

    def cb(step: int, pipe, ema) -> None:
        state.update(pipe=pipe, ema=ema, steps=step)
        used = time.process_time() - cpu0 - state["eval_cpu"]
        if used >= state["next"] or used >= budget_s:
            if videos and used < budget_s:
                r = run_eval(step, pipe, ema)
                curve.append({"steps": step, "cpu_s": round(used, 1), **r})
                print(f"{label} step {step:5d} ({used:6.0f} CPU-s): AbsRel {r['abs_rel']:.4f} delta1 "
                      f"{r['delta1']:.4f} TAE x100 {r['tae_x100']:.3f}", flush=True)
            state["next"] += eval_every or budget_s
        if used >= budget_s:
            raise _Budget

    try:
        res = train(cfg, source, buckets=table, step_callback=cb)
        state["losses"] = res.losses
    except _Budget:
        pass
    if state["losses"] is None:  # stopped by the budget: the losses are in the run's log
        log = work / "metrics.jsonl"
        state["losses"] = [json.loads(line)["loss"] for line in log.read_text().splitlines()] if log.exists() else []
    used = time.process_time() - cpu0 - state["eval_cpu"]
    pipe, ema = state["pipe"], state["ema"]
    if ema is not None:
        pipe.denoiser.unet.load_state_dict(ema.merged_state(pipe.denoiser.unet.state_dict()))
    pipe.denoiser.eval().requires_grad_(False)
    final = evaluate(lambda f: pipe(f, num_steps=args.euler_steps, seed=0), videos) if videos else {}
    if videos:
        curve.append({"steps": state["steps"], "cpu_s": round(used, 1), **final})
        print(f"{label} step {state['steps']:5d} ({used:6.0f} CPU-s, final): AbsRel {final['abs_rel']:.4f} "
              f"delta1 {final['delta1']:.4f} TAE x100 {final['tae_x100']:.3f}", flush=True)
    return {"curve": curve, "final": final, "steps": state["steps"], "cpu_s": used, "pipeline": pipe,
            "losses": state["losses"], "loader_samples": loader.stats.samples}


# ---- the bootstrap CNN ------------------------------------------------------------------------------


def train_cnn(clips, args: argparse.Namespace, seed: int, budget_s: float) -> tuple[Any, int, float]:
    """`train_bootstrap` for as many steps as `budget_s` CPU seconds buy (timed on a short run)."""
    from model.bootstrap import BootstrapConfig, train_bootstrap

    cfg = BootstrapConfig(size=args.cnn_size)
    probe_steps = 12
    t = time.process_time()
    train_bootstrap(clips, cfg, steps=probe_steps, seed=seed, progress=False, holdout=0, threads=1)
    per_step = (time.process_time() - t) / probe_steps
    steps = max(1, int(budget_s / per_step))
    t = time.process_time()
    net, _ = train_bootstrap(clips, cfg, steps=steps, seed=seed, progress=True, holdout=0, threads=1)
    return net, steps, time.process_time() - t


# ---- main -------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20.0, help="CPU minutes per model")
    ap.add_argument("--recordings", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--data-seed", type=int, default=8101)
    ap.add_argument("--clip-length", type=int, default=30)
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=None, help="default: the tiny preset's")
    ap.add_argument("--euler-steps", type=int, default=3)
    ap.add_argument("--cnn-size", type=int, default=128, help="the bootstrap CNN's working resolution")
    ap.add_argument("--eval-videos", type=int, default=12)
    ap.add_argument("--eval-frames", type=int, default=8)
    ap.add_argument("--eval-every", type=float, default=None, help="CPU seconds between evaluations (default budget/6)")
    ap.add_argument("--max-depth", type=float, default=80.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-cnn", action="store_true")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-learning")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    budget = 60.0 * args.minutes
    shards, frames = clean_shards(args.cache, args.recordings, args.seconds, args.data_seed, args.clip_length)
    videos = eval_videos(args.eval_videos, args.eval_frames, args.height, args.width, args.max_depth)
    print(f"data: {len(shards)} shard(s), {frames} frames of {args.recordings} clean simulated recordings; "
          f"evaluation: {len(videos)} held-out videos x {args.eval_frames} frames at {args.height}x{args.width}; "
          f"budget {budget:.0f} CPU-s per model", flush=True)
    rows: list[dict] = []
    triv = evaluate(lambda f: np.ones(f.shape[:3], np.float32), videos)
    rows.append({"model": "trivial (constant per video)", "steps": 0, "cpu_s": 0.0, **triv})
    print(f"trivial: AbsRel {triv['abs_rel']:.4f} delta1 {triv['delta1']:.4f} TAE x100 {triv['tae_x100']:.3f}",
          flush=True)
    if not args.skip_cnn:
        clips = shard_clips(shards, args.height, args.width)
        net, steps, secs = train_cnn(clips, args, args.seed, budget)
        from model.bootstrap import BootstrapPredictor

        cnn = evaluate(BootstrapPredictor(net).predict, videos)
        rows.append({"model": f"bootstrap CNN ({args.cnn_size}px)", "steps": steps, "cpu_s": round(secs, 1), **cnn})
        print(f"bootstrap CNN: {steps} steps in {secs:.0f} CPU-s: AbsRel {cnn['abs_rel']:.4f} delta1 "
              f"{cnn['delta1']:.4f} TAE x100 {cnn['tae_x100']:.3f}", flush=True)
        del clips
    flow = train_flow(shards, args, args.seed, budget, videos, eval_every=args.eval_every or budget / 6)
    for r in flow["curve"]:
        rows.append({"model": f"flow tiny @ {r['steps']} steps", **r})
    wall = time.perf_counter() - t0
    print(f"\n=== model learning: {budget:.0f} CPU-s per model, {args.height}x{args.width}, K={args.frames}, "
          f"batch {args.batch}, {args.euler_steps} Euler steps (wall {wall:.0f} s) ===")
    print(f"{'model':34s} {'steps':>6s} {'CPU-s':>7s} {'AbsRel':>7s} {'delta1':>7s} {'TAEx100':>8s}")
    for r in rows:
        print(f"{r['model']:34s} {r['steps']:6d} {r['cpu_s']:7.0f} {r['abs_rel']:7.4f} {r['delta1']:7.4f} "
              f"{r['tae_x100']:8.3f}")
    out = args.out or args.cache / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                  "rows": rows, "wall_s": wall}, indent=1))
    md = ["| model | steps | CPU-s | AbsRel | δ1 | TAE ×100 |", "|---|---|---|---|---|---|"]
    md += [f"| {r['model']} | {r['steps']} | {r['cpu_s']:.0f} | {r['abs_rel']:.3f} | {r['delta1']:.3f} | "
           f"{r['tae_x100']:.2f} |" for r in rows]
    (out / "results.md").write_text("\n".join(md) + "\n")
    print(f"wrote {out}/results.json, results.md")


if __name__ == "__main__":
    main()
