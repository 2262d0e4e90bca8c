"""Curation accuracy on recordings made outside the project, with faults injected from outside
(issues 3 and 11).

    python bench/curate_external.py                               # 3 x 90 s procedural + 3 x 60 s real
    python bench/curate_external.py --quick                       # 2 procedural + 2 real x 30 s
    python bench/curate_external.py --footage real --recordings 4 --clip-lengths 60
    python bench/curate_external.py --fps 60 --seed 12901            # as many players capture

Two kinds of clean footage, on held-out seeds (bench/recipes.py, capture/simulate/corpus.py):
- procedural: the simulator's scenes, two per recording with a cut between them, walkers, and
  every span hard negative (stills, muzzle flashes, lights switching, fast turns);
- real: the Resident Evil 2 captures of shared/realdata (only the evaluation captures, 8-16) under
  a virtual camera that pans and zooms, a hard cut every 5-10 s, with stills, flashes and lights.
Faults injected with plain numpy at random, non-overlapping places (capture/simulate/corpus.py):
depth_lag (k = 1..8), frozen_depth, menu, loading, fade, plus one teleport (a hard cut) in each
procedural recording. Written as a player's setup would: OBS side-by-side H.264 with gray8
GetLinearizedDepth, alternating with RGB H.264 + 16-bit PNG (procedural) or float (real) depth,
hand-written manifests. Curation sees only the manifest and the media; the truth is in truth.json.

The bootstrap of each footage kind is trained by `synthdepth bootstrap train` defaults on picks of
that kind (bench/recipes.py train_bootstrap_defaults); no CLIP weights unless --clip-pretrained.

Printed per clip length and footage kind (curate/accuracy.py evaluate): per fault kind the events
kept out of every kept clip and which checks marked its frames, the clean clips kept, retention of
clean frames against an ideal curator (whole clip windows in the clean runs between faults and
cuts), the clean frames each check marked, which clean events trigger which check; the targets.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the default set (kept for old command lines)")
    ap.add_argument("--quick", action="store_true", help="2 x 30 s of each kind, one event per fault kind (a smoke run: "
                                                        "with 4-5 windows of 150 frames, one window is 20 %% of retention)")
    ap.add_argument("--footage", default="procedural,real", help="procedural, real or both")
    ap.add_argument("--recordings", type=int, help="recordings per footage kind (default 3; --quick 2)")
    ap.add_argument("--seconds", type=float, help="seconds per recording (default 90 procedural, 60 real; --quick 30)")
    ap.add_argument("--per-kind", type=int, help="events of each fault kind per recording (default 2; --quick 1)")
    ap.add_argument("--fps", type=float, default=30.0, help="frames a second of every recording (60: as many players "
                                                             "capture; motion, events and fault lengths in seconds as at 30)")
    ap.add_argument("--seed", type=int, default=7001, help="first evaluation seed (held out: training uses 9001+)")
    ap.add_argument("--clip-lengths", default="150,60")
    ap.add_argument("--clip-length", type=int, help="one clip length (the old option; overrides --clip-lengths)")
    ap.add_argument("--bootstrap", type=Path, help="existing checkpoint for all footage (default: trained per footage)")
    ap.add_argument("--no-bootstrap", action="store_true")
    ap.add_argument("--clip-model", default="ViT-B-32")
    ap.add_argument("--clip-pretrained", default=None)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="CurateConfig override")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save-spans", type=Path, help="pickle each curated recording here, for bench/curate_span_check.py "
                                                    "(the first clip length's run)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-corpus")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from recipes import bootstraps_for, curate_and_evaluate, external_corpus, print_accuracy

    from model.predictor import set_torch_threads

    set_torch_threads(args.threads)
    footages = [f.strip() for f in args.footage.split(",") if f.strip()]
    if set(footages) - {"procedural", "real"}:
        ap.error("--footage: procedural, real or both")
    full = not args.quick
    n = args.recordings or (3 if full else 2)
    per_kind = args.per_kind or (2 if full else 1)
    recs = {}
    for f in footages:
        secs = args.seconds or ((90.0 if f == "procedural" else 60.0) if full else 30.0)
        seed = args.seed + (0 if f == "procedural" else 500)
        recs[f] = external_corpus(args.cache, f, n, secs, seed, per_kind=per_kind, fps=args.fps)
        print(f"{f}: {n} recordings x {secs:g} s at {args.fps:g} fps, seeds {seed}..{seed + n - 1}, "
              f"{per_kind} event(s) per fault kind")
    ckpts = bootstraps_for(args.cache, footages, args.bootstrap, args.no_bootstrap)
    print("bootstraps:", ", ".join(f"{k}: {v}" for k, v in ckpts.items()),
          "; CLIP:", f"{args.clip_model} {args.clip_pretrained}" if args.clip_pretrained else "none")
    lengths = [args.clip_length] if args.clip_length else [int(x) for x in args.clip_lengths.split(",")]
    for length in lengths:
        per, results, secs = curate_and_evaluate(recs, ckpts, length, args.overrides,
                                                 (args.clip_model, args.clip_pretrained),
                                                 save_to=args.save_spans if length == lengths[0] else None)
        frames = sum(a.frames for a in per.values())
        print(f"\n=== clip length {length}: {frames} frames curated in {secs:.0f} s ({frames / secs:.0f} frames/s) ===")
        notes = sorted({n for _, r, _ in results for n in r.notes if "OFF" in n})
        for note in notes:
            print("note:", note)
        for _, r, truth in results:
            kept = [c for c in r.clips if c.decision == "kept"]
            missed = [f"{e['kind']}[{e['start_frame']},{e['end_frame']})" for e in truth.fault_events()
                      if any(c.start_frame < e["end_frame"] and e["start_frame"] < c.end_frame for c in kept)]
            print(f"{r.info.recording_id}: {len(r.clips)} clips, {len(kept)} kept, faults in kept clips: "
                  f"{missed or 'none'}")
        print_accuracy(per, length)


if __name__ == "__main__":
    main()
