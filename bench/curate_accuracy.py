"""Curation accuracy per fault type on simulated recordings (issue 3's acceptance bar).

    python bench/curate_accuracy.py                                   # short: 2 recordings x 12 s
    python bench/curate_accuracy.py --recordings 12 --seconds 30 --seed 5301 --no-clip   # the README figures
    python bench/curate_accuracy.py --bootstrap ckpt.safetensors      # score with an existing model

Evaluation recordings: `simulate_dataset` with every fault kind, seeds `--seed`, `--seed`+1, ...,
varied layouts/encodings (gray8 h264, gray16, rgb24 lossless). Without `--bootstrap` a bootstrap
model is trained the way a user would: clean recordings with other seeds (`--train-seed`...,
faults none, scene kinds in turn), a picks.csv of their full ranges, then
`synthdepth bootstrap train --picks picks.csv --out ... --steps 1200 --holdout-picks 3` (the last
three recordings, one per scene kind, calibrate the depth thresholds). Curation uses that model and the tiny
random-weight CLIP (its semantic score is meaningless; pass --clip-model/--clip-pretrained for
real weights). Everything is cached under --cache, keyed by seeds and lengths.

Printed per clip length: per fault kind the events / frames with nothing in a kept clip and the
planned clips holding the kind that were dropped; then clean-frame yield, kept-clip precision,
fault-clip recall and clean-clip keep rate, with the target (>= 0.95) marked.
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
    from capture.simulate.cache import simulate_cached

    return simulate_cached(cache / f"eval-s{seed}-n{n}-{seconds:g}s", n, seconds, seed)


def _train_bootstrap(cache: Path, n: int, seconds: float, seed: int, steps: int, size: int, channels: int,
                     threads: int, holdout: int) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from recipes import train_bootstrap_on_clean

    folder = cache / f"train-s{seed}-n{n}-{seconds:g}s"
    ckpt = folder / f"bootstrap-{size}px-c{channels}-{steps}steps-h{holdout}.safetensors"
    return train_bootstrap_on_clean(folder, ckpt, n, seconds, seed, size, steps, channels, threads, holdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=5101, help="first evaluation seed")
    ap.add_argument("--clip-lengths", default="150,60")
    ap.add_argument("--bootstrap", type=Path, help="existing checkpoint (default: train one)")
    ap.add_argument("--no-bootstrap", action="store_true", help="curate without a bootstrap model")
    ap.add_argument("--train-recordings", type=int, default=9)
    ap.add_argument("--holdout-picks", type=int, default=3,
                    help="last N training recordings held out whole to calibrate the depth thresholds")
    ap.add_argument("--train-seconds", type=float, default=20.0)
    ap.add_argument("--train-seed", type=int, default=9001)
    ap.add_argument("--train-steps", type=int, default=1200)
    ap.add_argument("--train-size", type=int, default=128)
    ap.add_argument("--train-channels", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on the 2-core dev box)")
    ap.add_argument("--clip-model", default="synthdepth-tiny")
    ap.add_argument("--clip-pretrained", default=None)
    ap.add_argument("--no-clip", action="store_true", help="no CLIP at all: the depth score decides alone (as in the demo)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="CurateConfig override")
    ap.add_argument("--lag-diagnostics", action="store_true",
                    help="per depth_lag event: kept or not, model lag check on/off, fit margins around it")
    ap.add_argument("--report", type=Path, help="also write clips/spans parquet + report.html here")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-accuracy")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    from model.predictor import set_torch_threads

    set_torch_threads(args.threads)

    from curate.accuracy import Accuracy, ground_truth_accuracy
    from curate.config import CurateConfig
    from curate.pipeline import curate_recording, write_results
    from curate.scoring import CurationScorer

    manifests = _simulate_eval(args.cache, args.recordings, args.seconds, args.seed)
    ckpt = None
    if not args.no_bootstrap:
        ckpt = args.bootstrap or _train_bootstrap(args.cache, args.train_recordings, args.train_seconds,
                                                  args.train_seed, args.train_steps, args.train_size,
                                                  args.train_channels, args.threads, args.holdout_picks)
    seeds = f"{args.seed}..{args.seed + args.recordings - 1}"
    print(f"evaluation: {args.recordings} recordings x {args.seconds:g} s, seeds {seeds}, all fault kinds; "
          f"bootstrap: {ckpt or 'NONE'}; CLIP: "
          + ("NONE (depth score alone)" if args.no_clip else f"{args.clip_model} {args.clip_pretrained or '(random weights)'}"))

    for length in [int(x) for x in args.clip_lengths.split(",")]:
        cfg = CurateConfig.load(None, [
            f"clips.length={length}",
            f"scoring.clip_model={args.clip_model}",
            f"scoring.clip_pretrained={args.clip_pretrained or 'null'}",
            f"scoring.clip_random_init={'false' if args.clip_pretrained or args.no_clip else 'true'}",
            f"scoring.bootstrap={ckpt or 'null'}",
            *args.overrides,
        ])
        scorer = CurationScorer(cfg.scoring)
        scorer.setup()
        t = time.perf_counter()
        results = [curate_recording(m, cfg, scorer, progress=False) for m in manifests]
        secs = time.perf_counter() - t
        frames = sum(r.info.num_frames for r in results)
        total, _ = ground_truth_accuracy(results)
        print(f"\n=== clip length {length} frames: {frames} frames curated in {secs:.0f} s "
              f"({frames / secs:.0f} frames/s) ===")
        for note in scorer.notes:
            print("note:", note)
        print(total.table())
        _verdict(total)
        drops: dict[str, int] = {}
        for r in results:
            for c in r.clips:
                for reason in c.reasons:
                    drops[reason] = drops.get(reason, 0) + 1
        spans: dict[str, int] = {}
        for r in results:
            for s in r.spans:
                spans[s.reason] = spans.get(s.reason, 0) + s.end_frame - s.start_frame
        print("clip drops by reason:", dict(sorted(drops.items())))
        print("depth thresholds:", sorted({str(r.thresholds) for r in results}))
        _clean_score_spread(results)
        for r in results:
            for note in r.notes:
                if "lag check OFF" in note:
                    print("note:", note)
        if args.lag_diagnostics:
            _lag_diagnostics(results, cfg)
        print("discarded frames by reason:", dict(sorted(spans.items())))
        if args.report:
            out = args.report / f"len{length}"
            files = write_results(results, out, cfg, list(scorer.notes))
            print("report:", files["report"])
        assert isinstance(total, Accuracy)


def _clean_score_spread(results) -> None:
    """Depth scores of the clips with no fault frame (ground truth) vs those with one."""
    import numpy as np

    from capture.simulate import load_ground_truth
    from curate.accuracy import DROP_KINDS

    clean, faulty = [], []
    for r in results:
        labels = load_ground_truth(r.info.manifest)["labels"]
        for c in r.clips:
            kinds = {k for lab in labels[c.start_frame:c.end_frame] for k in lab.split(",") if k}
            (faulty if kinds & set(DROP_KINDS) else clean).append(c.scores.depth_delta1)
    for name, v in (("clean", clean), ("faulty", faulty)):
        v = np.asarray(v, float)
        v = v[np.isfinite(v)]
        if v.size:
            q = np.quantile(v, [0, 0.05, 0.5, 1])
            print(f"delta1 of {name} clips ({v.size}): min {q[0]:.3f} p5 {q[1]:.3f} median {q[2]:.3f} max {q[3]:.3f}")


def _lag_diagnostics(results, cfg) -> None:
    """Ground truth vs the model-based lag finder, per depth_lag event (bench only: curate/ never sees it)."""
    import numpy as np

    from capture.simulate import load_ground_truth
    from curate.bootstrap_checks import lag_mask
    from curate.frame_checks import bootstrap_lag_rate

    fc = cfg.frame_checks
    for r in results:
        tr = r.features.bootstrap if r.features is not None else None
        gt = load_ground_truth(r.info.manifest)
        kept = np.zeros(r.info.num_frames, bool)
        for c in r.clips:
            if c.decision == "kept":
                kept[c.start_frame:c.end_frame] = True
        for f in gt["faults"]:
            if f["kind"] != "depth_lag":
                continue
            a, b = f["start_frame"], f["end_frame"]
            extra = {k: v for k, v in f.items() if k not in ("kind", "start_frame", "end_frame")}
            line = f"{r.info.recording_id} depth_lag [{a},{b}) {extra}: kept frames {int(kept[a:b].sum())}"
            if tr is None:
                print(line + "; no bootstrap track")
                continue
            lm = lag_mask(tr, fc)
            rate, usable = bootstrap_lag_rate(r.features, fc, r.cuts)
            line += (f"; model check {'ON' if usable else 'OFF'} (lag-sample rate {rate:.3f}); "
                     f"model lag mask covers {int(lm[a:b].sum())}/{b - a}")
            print(line)
            idx = [i for i in np.flatnonzero(tr.sampled) if a - 12 <= i < b + 12]
            print(f"   frame  e0     best   off  gain   (margin {fc.lag_margin:.2f})")
            for i in idx:
                tag = "in" if a <= i < b else "  "
                print(f"   {i:5d} {tag} {tr.abs_rel[i]:.3f}  {tr.best_abs_rel[i]:.3f}  {tr.best_offset[i]:3d}  "
                      f"{tr.lag_gain[i]:+.2f}")


def _verdict(acc) -> None:
    bad = []
    for k, v in sorted(acc.kinds.items()):
        # A fault kind passes when (almost) every one of its events is out of the kept clips.
        if v.events and v.event_recall < TARGET:
            bad.append(f"{k} events {v.event_recall:.2f}")
        if v.clips and v.clip_recall < TARGET:
            bad.append(f"{k} clips {v.clip_recall:.2f}")
    s = acc.summary()
    if s["clean_clip_keep_rate"] < TARGET:
        bad.append(f"clean clips kept {s['clean_clip_keep_rate']:.2f}")
    print("TARGET (>= 0.95 per kind, >= 0.95 clean clips kept):", "MET" if not bad else "NOT MET: " + "; ".join(bad))


if __name__ == "__main__":
    main()
