"""Does curation pay? Train the tiny flow-matching depth model on ALL clips vs the CURATED clips.

    python bench/curation_value.py --seeds 0,1,2            # 4 recordings x 30 s, three training seeds
    python bench/curation_value.py --steps 300              # shorter runs
    python bench/curation_value.py --no-bootstrap           # curate without a bootstrap depth model

Data: `--recordings` simulated recordings with every fault kind (menus, lagging/frozen depth, loading
screens, fades, cuts, HUD), seeds `--data-seed`... Both arms are cut from these same recordings:
  all      fixed windows of `--clip-length` frames from frame 0, no checks at all: the clips curation
           dropped AND the fault spans it discarded are in (the tail shorter than a window is left out);
  curated  the kept clips of the normal curation (`curate.pipeline.run_curation`, same clip length),
           scored with a bootstrap model trained the way bench/curate_accuracy.py trains one
           (`synthdepth bootstrap train` on separate clean recordings, seeds `--train-seed`...) and the
           tiny random-weight CLIP (its semantic score is meaningless; the bootstrap and the per-frame
           checks do the work).
Both go through the same shard writer (`dataset.shard_writer.write_shards`), the same loader
(`dataset.loader.make_loader`, one bucket table: `--height`x`--width`, K=`--frames`, batch `--batch`,
drop_last) and the same trainer with bench/model_learning.py's recipe (`model.train.train`,
`ModelConfig.tiny()`, the preset's training defaults), with the same number of steps and seed; the
loader restarts (next epoch) when a pass over the shards ends.

Evaluation: `model.benchmarks.load_benchmark("simulated")`, clean held-out scenes (seeds 900000+, no
faults, exact metric depth, poses and K), downsampled to the training resolution (RGB area, depth
nearest, K scaled), `DepthPipeline` (EMA weights, `--euler-steps` Euler steps, fixed noise seed) on each
whole video, then `model.evaluate.evaluate_video` in depth space (the model predicts affine-invariant
depth): AbsRel, delta1 after one scale+shift per video, TAE of the aligned prediction. Depth range:
ground truth beyond `--max-depth` (80 m, KITTI's cap) is invalid, and aligned predictions are clipped to
[smallest valid ground-truth depth of the video, max-depth]. The "simulated" spec's own range
(1e-3 .. 1e9 m) lets a least-squares fit in depth space push near pixels of outdoor scenes (ground truth
up to ~900 m) to 1e-3 m, and TAE, a ratio over the aligned depth, then reaches 10^4-10^5 (x100) on one
video and swamps the mean. A third row, the untrained model (same seed), shows how far training moved
the numbers at all (its TAE is low because its output is nearly flat: TAE alone rewards that).

Printed: per seed and arm the clips/frames trained on (and how many of those frames are ground-truth
fault frames), final loss, AbsRel, delta1, TAE x100; then mean +- std over seeds and the paired
curated - all difference per seed. Written to `--out`: results.json, results.csv, results.md.
Recordings, bootstrap, curation and shards are cached under `--cache` (keyed by their settings);
training always reruns.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ARMS = ("all", "curated")
FAULT_KINDS = ("menu", "depth_lag", "frozen_depth", "loading", "fade")  # what curation is meant to remove


# ---- data ---------------------------------------------------------------------------------------


def simulate_training_recordings(cache: Path, n: int, seconds: float, seed: int) -> list[Path]:
    from capture.simulate.cache import simulate_cached

    return simulate_cached(cache / f"rec-s{seed}-n{n}-{seconds:g}s", n, seconds, seed)


def train_bootstrap(cache: Path, args: argparse.Namespace) -> Path | None:
    """The bootstrap checkpoint for curation: given, none, or trained with bench/curate_accuracy.py's
    recipe (bench/recipes.py: clean recordings of other seeds, one scene kind each -> picks.csv of
    their full ranges -> `synthdepth bootstrap train`)."""
    if args.no_bootstrap:
        return None
    if args.bootstrap:
        return args.bootstrap
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from recipes import train_bootstrap_on_clean

    n, seed = args.train_recordings, args.train_seed
    folder = cache / f"train-s{seed}-n{n}-{args.train_seconds:g}s"
    ckpt = folder / f"bootstrap-{args.train_size}px-c{args.train_channels}-{args.train_steps}steps.safetensors"
    return train_bootstrap_on_clean(folder, ckpt, n, args.train_seconds, seed, args.train_size, args.train_steps,
                                    args.train_channels, args.threads)


def curate(cache: Path, manifests: list[Path], length: int, bootstrap: Path | None) -> Path:
    """Normal curation at this clip length; returns the output folder (clips.parquet, recordings.parquet)."""
    from curate.config import CurateConfig
    from curate.pipeline import run_curation

    cfg = CurateConfig.load(None, [
        f"clips.length={length}",
        "scoring.clip_model=synthdepth-tiny",
        "scoring.clip_pretrained=null",
        "scoring.clip_random_init=true",
        f"scoring.bootstrap={bootstrap or 'null'}",
    ])
    out = cache / f"curated-{manifests[0].parent.parent.name}-{cfg.config_hash()[:10]}"
    if (out / "clips.parquet").exists() and (out / "recordings.parquet").exists():
        return out
    t = time.perf_counter()
    s = run_curation(manifests, out, cfg, progress=True)
    print(f"curated {s.frames} frames in {time.perf_counter() - t:.0f} s: {s.clips_kept} clips kept, "
          f"{s.clips_dropped} dropped {s.drops_by_reason}; discarded frames {s.spans_by_reason}")
    return out


def fixed_windows(recordings: dict[str, dict], length: int) -> list[dict]:
    """Clip rows cutting every recording into back-to-back windows of `length` frames from frame 0,
    with no check at all (the "all" arm); the tail shorter than a window is left out."""
    from common.records import clip_id_for

    rows = []
    for rid, rec in sorted(recordings.items()):
        if rec.get("status", "ok") != "ok":
            continue
        n = int(rec["num_frames"])
        for s in range(0, n - length + 1, length):
            rows.append({
                "clip_id": clip_id_for(rid, s, s + length), "recording_id": rid, "start_frame": s,
                "end_frame": s + length, "num_frames": length, "manifest": rec["manifest"],
                "fps": float(rec.get("fps") or 30.0), "decision": "kept", "reasons": [], "errors": [],
                "config_hash": f"uncurated-windows-{length}",
            })
    return rows


def kept_rows(clip_rows: list[dict]) -> list[dict]:
    return [r for r in clip_rows if r.get("decision") == "kept"]


def fault_frames(rows: list[dict], labels: dict[str, list[str]]) -> tuple[int, int]:
    """(frames holding a ground-truth fault kind, clips holding at least one) over clip rows."""
    frames = clips = 0
    for r in rows:
        lab = labels[r["recording_id"]][int(r["start_frame"]) : int(r["end_frame"])]
        bad = sum(bool(set(x.split(",")) & set(FAULT_KINDS)) for x in lab)
        frames += bad
        clips += bad > 0
    return frames, clips


def write_arm_shards(cache: Path, name: str, rows: list[dict], recordings: dict[str, dict]) -> list[str]:
    """Shards of `rows` (resumable; a complete set is reused) via the project's shard writer."""
    from dataset.config import ShardConfig
    from dataset.shard_writer import capture_frames_fn, write_shards

    out = cache / "shards" / name
    t = time.perf_counter()
    res = write_shards(rows, capture_frames_fn(recordings), out, ShardConfig(name=name), recordings,
                       progress=True, overwrite=False)
    if res.written:
        print(f"sharded {name}: {res.num_clips} clips, {res.num_frames} frames in {time.perf_counter() - t:.0f} s")
    return res.shards


# ---- training -----------------------------------------------------------------------------------


def train_arm(shards: list[str], args: argparse.Namespace, seed: int, out: Path) -> dict[str, Any]:
    """The tiny preset trained for `args.steps` steps with bench/model_learning.py's recipe (the
    preset's training defaults; the loader with one bucket, frame dropout, drop_last)."""
    from model_learning import train_flow

    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    run = train_flow(shards, args, seed, None, None, out=out, max_steps=args.steps, label=out.name)
    secs = time.perf_counter() - t
    if run["steps"] < args.steps:
        raise RuntimeError(f"{out.name}: trained {run['steps']} of {args.steps} steps")
    losses = run["losses"] or [float("nan")]
    tail = losses[-max(1, len(losses) // 10):]
    return {"pipe": run["pipeline"], "train_s": secs, "cpu_s": run["cpu_s"], "loss_first": float(np.mean(losses[:3])),
            "loss_last": float(np.mean(tail)), "samples": run["loader_samples"]}


# ---- evaluation ---------------------------------------------------------------------------------


def eval_videos(args: argparse.Namespace) -> list[dict]:
    """Clean held-out simulated scenes, downsampled to the training resolution."""
    import cv2

    from model.benchmarks import load_benchmark

    out = []
    for v in load_benchmark("simulated", max_frames=args.eval_frames, max_videos=args.eval_videos):
        t, h, w = v.depth.shape
        sy, sx = args.height / h, args.width / w
        size = (args.width, args.height)
        rgb = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in v.frames])
        depth = np.stack([cv2.resize(d, size, interpolation=cv2.INTER_NEAREST) for d in v.depth])
        valid = np.stack([cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) for m in v.valid])
        K = v.K.astype(np.float64).copy()
        K[0, 0], K[0, 2] = K[0, 0] * sx, (K[0, 2] + 0.5) * sx - 0.5  # pixel centres stay pixel centres
        K[1, 1], K[1, 2] = K[1, 1] * sy, (K[1, 2] + 0.5) * sy - 0.5
        valid = valid.astype(bool) & np.isfinite(depth) & (depth < args.max_depth)
        if not valid.any():
            continue
        out.append({"name": v.name, "rgb": rgb, "depth": depth, "valid": valid, "poses": v.poses, "K": K,
                    "min_depth": max(v.min_depth, float(depth[valid].min())),
                    "max_depth": min(v.max_depth, args.max_depth)})
    return out


def evaluate(pipe, videos: list[dict], euler_steps: int) -> dict[str, float]:
    from model.evaluate import aggregate, evaluate_video

    rows = []
    for v in videos:
        pred = pipe(v["rgb"], num_steps=euler_steps, seed=0)
        rows.append(evaluate_video(pred, v["depth"], v["valid"], v["poses"], v["K"], space="depth",
                                   min_depth=v["min_depth"], max_depth=v["max_depth"]))
    agg = aggregate(rows, ("abs_rel", "delta1", "tae"))
    return {"abs_rel": agg["abs_rel"], "delta1": agg["delta1"], "tae_x100": 100 * agg["tae"],
            "per_video_abs_rel": [r["abs_rel"] for r in rows], "per_video_tae_x100": [100 * r["tae"] for r in rows]}


def untrained(seed: int):
    """The tiny model as the trainer builds it before step 1 (same seed): the reference row."""
    from accelerate.utils import set_seed

    from model.config import ModelConfig
    from model.pipeline import DepthPipeline

    set_seed(seed)
    return DepthPipeline.from_config(ModelConfig.tiny())


# ---- report -------------------------------------------------------------------------------------


COLUMNS = ["seed", "arm", "clips", "frames", "fault_frames", "fault_clips", "steps", "loss_first", "loss_last",
           "abs_rel", "delta1", "tae_x100", "train_s"]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 100 else f"{v:.0f}"
    return "" if v is None else str(v)


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for arm in ("untrained", *ARMS):
        rs = [r for r in rows if r["arm"] == arm]
        if not rs:
            continue
        s = {"arm": arm, "seeds": len(rs), "clips": rs[0]["clips"], "frames": rs[0]["frames"],
             "fault_frames": rs[0]["fault_frames"]}
        for k in ("abs_rel", "delta1", "tae_x100"):
            v = np.array([r[k] for r in rs])
            s[k], s[k + "_std"] = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
        out.append(s)
    return out


def paired(rows: list[dict]) -> list[dict]:
    """curated - all per seed (negative AbsRel / TAE and positive delta1 favour curation)."""
    by = {(r["seed"], r["arm"]): r for r in rows}
    out = []
    for seed in sorted({r["seed"] for r in rows}):
        a, c = by.get((seed, "all")), by.get((seed, "curated"))
        if a and c:
            out.append({"seed": seed, **{k: c[k] - a[k] for k in ("abs_rel", "delta1", "tae_x100")}})
    return out


def write_outputs(out: Path, rows: list[dict], meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summ, diffs = summarise(rows), paired(rows)
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows, "summary": summ, "paired": diffs},
                                                 indent=1, default=str))
    with (out / "results.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    md = ["| seed | arm | clips | frames | fault frames | AbsRel | delta1 | TAE x100 | loss first -> last |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['seed']} | {r['arm']} | {r['clips']} | {r['frames']} | {r['fault_frames']} | "
                  f"{r['abs_rel']:.4f} | {r['delta1']:.4f} | {r['tae_x100']:.3f} | "
                  f"{_fmt(r['loss_first'])} -> {_fmt(r['loss_last'])} |")
    md += ["", "| arm | seeds | clips | frames | AbsRel (mean +- std) | delta1 | TAE x100 |", "|---|---|---|---|---|---|---|"]
    for s in summ:
        md.append(f"| {s['arm']} | {s['seeds']} | {s['clips']} | {s['frames']} | {s['abs_rel']:.4f} +- "
                  f"{s['abs_rel_std']:.4f} | {s['delta1']:.4f} +- {s['delta1_std']:.4f} | "
                  f"{s['tae_x100']:.3f} +- {s['tae_x100_std']:.3f} |")
    if diffs:
        md += ["", "| seed | curated - all: AbsRel | delta1 | TAE x100 |", "|---|---|---|---|"]
        for d in diffs:
            md.append(f"| {d['seed']} | {d['abs_rel']:+.4f} | {d['delta1']:+.4f} | {d['tae_x100']:+.3f} |")
    (out / "results.md").write_text("\n".join(md) + "\n")


def print_table(rows: list[dict]) -> None:
    head = (f"{'seed':>4s} {'arm':9s} {'clips':>5s} {'frames':>6s} {'faultfr':>7s} {'loss0':>7s} {'lossN':>7s} "
            f"{'AbsRel':>7s} {'delta1':>7s} {'TAEx100':>8s} {'train_s':>7s}")
    print(head)
    for r in rows:
        print(f"{r['seed']:4d} {r['arm']:9s} {r['clips']:5d} {r['frames']:6d} {r['fault_frames']:7d} "
              f"{_fmt(r['loss_first']):>7s} {_fmt(r['loss_last']):>7s} {r['abs_rel']:7.4f} {r['delta1']:7.4f} "
              f"{r['tae_x100']:8.3f} {_fmt(r['train_s']):>7s}")


# ---- main ---------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--data-seed", type=int, default=7101, help="first seed of the training recordings")
    ap.add_argument("--clip-length", type=int, default=30, help="frames per clip, both arms")
    ap.add_argument("--seeds", default="0", help="training seeds, comma-separated (one run per arm each)")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=4, help="K frames per training sample")
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--lr", type=float, default=None, help="default: the tiny preset's")
    ap.add_argument("--eval-videos", type=int, default=18)
    ap.add_argument("--max-depth", type=float, default=80.0, help="ground truth beyond this (m) is invalid")
    ap.add_argument("--eval-frames", type=int, default=8)
    ap.add_argument("--euler-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    ap.add_argument("--bootstrap", type=Path, help="existing bootstrap checkpoint for curation")
    ap.add_argument("--no-bootstrap", action="store_true", help="curate without a bootstrap model")
    ap.add_argument("--train-recordings", type=int, default=3)
    ap.add_argument("--train-seconds", type=float, default=20.0)
    ap.add_argument("--train-seed", type=int, default=9001)
    ap.add_argument("--train-steps", type=int, default=200)
    ap.add_argument("--train-size", type=int, default=64)
    ap.add_argument("--train-channels", type=int, default=8)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-curation-value")
    ap.add_argument("--out", type=Path, help="results folder (default: CACHE/results)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    import torch

    torch.set_num_threads(args.threads)
    from capture.simulate import load_ground_truth
    from dataset.shard_writer import read_curated

    t0 = time.perf_counter()
    cache = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    manifests = simulate_training_recordings(cache, args.recordings, args.seconds, args.data_seed)
    ckpt = train_bootstrap(cache, args)
    cur_dir = curate(cache, manifests, args.clip_length, ckpt)
    clip_rows, recordings = read_curated([cur_dir])
    arm_rows = {"all": fixed_windows(recordings, args.clip_length), "curated": kept_rows(clip_rows)}
    labels = {rid: load_ground_truth(r["manifest"])["labels"] for rid, r in recordings.items()}
    tag = f"{cur_dir.name}-len{args.clip_length}"
    shards = {arm: write_arm_shards(cache, f"{arm}-{tag}", rows, recordings) for arm, rows in arm_rows.items()}
    facts = {}
    for arm, rows in arm_rows.items():
        ff, fc = fault_frames(rows, labels)
        facts[arm] = {"clips": len(rows), "frames": sum(int(r["num_frames"]) for r in rows),
                      "fault_frames": ff, "fault_clips": fc}
    total = sum(int(r["num_frames"]) for r in recordings.values())
    print(f"\nrecordings: {len(recordings)} ({total} frames), bootstrap: {ckpt or 'NONE'}")
    for arm in ARMS:
        f = facts[arm]
        print(f"  {arm:8s} {f['clips']:3d} clips, {f['frames']:5d} frames, {f['fault_frames']:4d} ground-truth "
              f"fault frames in {f['fault_clips']} clips")
    prep_s = time.perf_counter() - t0

    videos = eval_videos(args)
    print(f"evaluation: {len(videos)} clean held-out simulated videos x {args.eval_frames} frames at "
          f"{args.height}x{args.width}")
    rows: list[dict] = []
    for seed in seeds:
        ref = evaluate(untrained(seed), videos, args.euler_steps)
        rows.append({"seed": seed, "arm": "untrained", "clips": 0, "frames": 0, "fault_frames": 0, "fault_clips": 0,
                     "steps": 0, "loss_first": None, "loss_last": None, "train_s": 0.0, **ref})
        for arm in ARMS:
            print(f"\n--- seed {seed}: training on {arm} ({facts[arm]['clips']} clips) ---")
            run = train_arm(shards[arm], args, seed, cache / "runs" / f"{arm}-seed{seed}")
            m = evaluate(run.pop("pipe"), videos, args.euler_steps)
            rows.append({"seed": seed, "arm": arm, **facts[arm], "steps": args.steps, **run, **m})
            print(f"{arm}: loss {run['loss_first']:.4f} -> {run['loss_last']:.4f} ({run['samples']} clip samples); "
                  f"AbsRel {m['abs_rel']:.4f} delta1 {m['delta1']:.4f} TAE x100 {m['tae_x100']:.3f}")

    wall = time.perf_counter() - t0
    print(f"\n=== curation value: {args.steps} steps, batch {args.batch} x K={args.frames} at "
          f"{args.height}x{args.width}, lr {args.lr or 'preset default'}, seeds {seeds} ===")
    print_table(rows)
    for s in summarise(rows):
        print(f"mean over {s['seeds']} seed(s) {s['arm']:9s} AbsRel {s['abs_rel']:.4f} +- {s['abs_rel_std']:.4f}  "
              f"delta1 {s['delta1']:.4f} +- {s['delta1_std']:.4f}  TAE x100 {s['tae_x100']:.3f} +- {s['tae_x100_std']:.3f}")
    for d in paired(rows):
        print(f"seed {d['seed']}: curated - all  AbsRel {d['abs_rel']:+.4f}  delta1 {d['delta1']:+.4f}  "
              f"TAE x100 {d['tae_x100']:+.3f}   (AbsRel/TAE < 0, delta1 > 0 favour curation)")
    meta = {"args": {k: str(v) for k, v in vars(args).items()}, "bootstrap": str(ckpt) if ckpt else None,
            "curated_dir": str(cur_dir), "recordings_frames": total, "facts": facts, "prep_s": prep_s,
            "wall_s": wall, "eval_videos": [v["name"] for v in videos]}
    out = args.out or cache / "results"
    write_outputs(out, rows, meta)
    print(f"wall {wall:.0f} s (data prep {prep_s:.0f} s); wrote {out}/results.json, results.csv, results.md")


if __name__ == "__main__":
    main()
