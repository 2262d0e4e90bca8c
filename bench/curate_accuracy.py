"""Curation accuracy per fault kind on recordings with ground truth (issues 3 and 11).

    python bench/curate_accuracy.py                                   # 6 simulated + 4 real x 30 s
    python bench/curate_accuracy.py --quick                           # 2 simulated + 2 real x 20 s (a smoke run)
    python bench/curate_accuracy.py --bootstrap ckpt.safetensors      # score with an existing model

Evaluation recordings, held-out seeds:
- simulated: `simulate_dataset` with every simulator fault kind (menus, depth lag, frozen depth,
  loading screens, fades, cuts, HUD) and the span hard negatives (stills with walkers, muzzle
  flashes, lights switching, fast turns), seeds `--seed`, `--seed`+1, ..., varied layouts and
  encodings (gray8 h264, gray16, rgb24 lossless), written by the project's writer;
- real: recordings made from the Resident Evil 2 captures (evaluation captures only) with faults
  injected from outside (capture/simulate/corpus.py), `--real` of them, seeds `--seed`+900...
Without `--bootstrap`, each footage kind gets a bootstrap trained by `synthdepth bootstrap train`
defaults on picks of its kind (bench/recipes.py train_bootstrap_defaults). `--train-steps` (and the
other --train-* options) select the older 1200-step bench recipe instead, for procedural footage.
No CLIP weights unless --clip-pretrained (--clip-random for the tiny random-weight CLIP).

Printed per clip length (curate/accuracy.py evaluate): per fault kind the events kept out and the
checks that caught them, clean clips kept, retention against an ideal curator, clean frames marked
per check and per clean event, with the targets (>= 0.95 kept out, retention >= 0.9).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.95


def _simulate_eval(cache: Path, n: int, seconds: float, seed: int) -> list[Path]:
    """Simulated recordings with every simulator fault and the span hard negatives (cached)."""
    from capture.simulate import SimConfig, simulate_dataset

    folder = cache / f"eval-hn-s{seed}-n{n}-{seconds:g}s"
    found = sorted(folder.glob("sim-*/sim-*[0-9].json"))
    if len(found) == n and all((m.parent / "truth.json").exists() for m in found):
        return found
    t = time.perf_counter()
    cfg = SimConfig(seconds=seconds, faults="all", clean_events="still,flash,light_switch,fast_turn",
                    clean_event_rate=3.0, characters=2)
    paths = simulate_dataset(folder, n, cfg, seed=seed)
    print(f"simulated {n} recordings x {seconds:g} s in {time.perf_counter() - t:.0f} s into {folder}")
    return paths


def _train_legacy(cache: Path, n: int, seconds: float, seed: int, steps: int, size: int, channels: int,
                  threads: int, holdout: int) -> Path:
    from recipes import train_bootstrap_on_clean

    folder = cache / f"train-s{seed}-n{n}-{seconds:g}s"
    ckpt = folder / f"bootstrap-{size}px-c{channels}-{steps}steps-h{holdout}.safetensors"
    return train_bootstrap_on_clean(folder, ckpt, n, seconds, seed, size, steps, channels, threads, holdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, help="simulated recordings (default 6; --quick 2)")
    ap.add_argument("--real", type=int, help="recordings from the real captures (0: none; default 4; --quick 2)")
    ap.add_argument("--seconds", type=float, help="seconds per recording (default 30; --quick 20)")
    ap.add_argument("--quick", action="store_true", help="2 + 2 recordings of 20 s: with 2-5 windows of 150 frames "
                                                        "per kind, one window is 20-50 %% of retention")
    ap.add_argument("--seed", type=int, default=5101, help="first evaluation seed")
    ap.add_argument("--clip-lengths", default="150,60")
    ap.add_argument("--bootstrap", type=Path, help="existing checkpoint for all footage (default: trained per footage)")
    ap.add_argument("--no-bootstrap", action="store_true", help="curate without a bootstrap model")
    ap.add_argument("--train-steps", type=int, help="use the older bench recipe with this many steps (e.g. 1200)")
    ap.add_argument("--train-recordings", type=int, default=9)
    ap.add_argument("--holdout-picks", type=int, default=3)
    ap.add_argument("--train-seconds", type=float, default=20.0)
    ap.add_argument("--train-seed", type=int, default=9001)
    ap.add_argument("--train-size", type=int, default=128)
    ap.add_argument("--train-channels", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on the 2-core dev box)")
    ap.add_argument("--save-spans", type=Path, help="pickle each curated recording here, for bench/curate_span_check.py "
                                                    "(the first clip length's run)")
    ap.add_argument("--clip-model", default="ViT-B-32")
    ap.add_argument("--clip-pretrained", default=None)
    ap.add_argument("--clip-random", action="store_true", help="the tiny random-weight CLIP (meaningless scores)")
    ap.add_argument("--no-clip", action="store_true", help="no CLIP at all (the default without --clip-pretrained)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="CurateConfig override")
    ap.add_argument("--report", type=Path, help="also write clips/spans parquet + report.html here")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-corpus")
    args = ap.parse_args()
    args.recordings = args.recordings if args.recordings is not None else (2 if args.quick else 6)
    args.real = args.real if args.real is not None else (2 if args.quick else 4)
    args.seconds = args.seconds if args.seconds is not None else (20.0 if args.quick else 30.0)
    logging.basicConfig(level=logging.ERROR)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from recipes import bootstraps_for, curate_and_evaluate, external_corpus, print_accuracy

    from curate.config import CurateConfig
    from curate.pipeline import write_results
    from model.predictor import set_torch_threads

    set_torch_threads(args.threads)
    recs = {"procedural": _simulate_eval(args.cache, args.recordings, args.seconds, args.seed)}
    if args.real:
        recs["real"] = external_corpus(args.cache, "real", args.real, args.seconds, args.seed + 900)
    ckpts = bootstraps_for(args.cache, list(recs), args.bootstrap, args.no_bootstrap)
    if args.train_steps and not args.bootstrap and not args.no_bootstrap:
        ckpts["procedural"] = _train_legacy(args.cache, args.train_recordings, args.train_seconds, args.train_seed,
                                            args.train_steps, args.train_size, args.train_channels, args.threads,
                                            args.holdout_picks)
    clip = ("synthdepth-tiny", None) if args.clip_random else (args.clip_model, args.clip_pretrained)
    overrides = list(args.overrides) + (["scoring.clip_random_init=true"] if args.clip_random else [])
    if args.clip_random:
        overrides.append("scoring.clip_pretrained=null")
    print(f"evaluation: {args.recordings} simulated recordings x {args.seconds:g} s (seeds {args.seed}..), "
          f"{args.real} from real captures (seeds {args.seed + 900}..); bootstraps: "
          + ", ".join(f"{k}: {v}" for k, v in ckpts.items())
          + f"; CLIP: {clip[0] + ' ' + str(clip[1]) if clip[1] or args.clip_random else 'none'}")

    lengths = [int(x) for x in args.clip_lengths.split(",")]
    for length in lengths:
        per, results, secs = curate_and_evaluate(recs, ckpts, length, overrides, clip,
                                                 save_to=args.save_spans if length == lengths[0] else None)
        frames = sum(a.frames for a in per.values())
        print(f"\n=== clip length {length} frames: {frames} frames curated in {secs:.0f} s "
              f"({frames / secs:.0f} frames/s) ===")
        for note in sorted({n for _, r, _ in results for n in r.notes}):
            print("note:", note)
        print_accuracy(per, length)
        drops: dict[str, int] = {}
        for _, r, _ in results:
            for c in r.clips:
                for reason in c.reasons:
                    drops[reason] = drops.get(reason, 0) + 1
        print("clip drops by reason:", dict(sorted(drops.items())))
        print("depth thresholds:", sorted({str(r.thresholds) for _, r, _ in results}))
        _clean_score_spread(results)
        if args.report:
            cfg = CurateConfig.load(None, [f"clips.length={length}", *args.overrides])
            files = write_results([r for _, r, _ in results], args.report / f"len{length}", cfg, [])
            print("report:", files["report"])


def _clean_score_spread(results) -> None:
    """Depth scores of the clips with no fault frame (ground truth) vs those with one."""
    import numpy as np

    clean, faulty = [], []
    for _, r, truth in results:
        fault = truth.fault_mask()
        for c in r.clips:
            (faulty if fault[c.start_frame:c.end_frame].any() else clean).append(c.scores.depth_delta1)
    for name, v in (("clean", clean), ("faulty", faulty)):
        v = np.asarray(v, float)
        v = v[np.isfinite(v)]
        if v.size:
            q = np.quantile(v, [0, 0.05, 0.5, 1])
            print(f"delta1 of {name} clips ({v.size}): min {q[0]:.3f} p5 {q[1]:.3f} median {q[2]:.3f} max {q[3]:.3f}")


if __name__ == "__main__":
    main()
