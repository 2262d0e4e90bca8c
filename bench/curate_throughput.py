"""Curation throughput: frames per second of the full curation against decode-only on the same
1280x720 recording (a ratio), and with 1 vs 2 workers.

    python bench/curate_throughput.py                 # 3 s simulated clean 1280x720 recording
    python bench/curate_throughput.py --seconds 10    # the README figure
    python bench/curate_throughput.py --manifest rec.json

The bootstrap model is a random-init BootstrapNet (same compute as a trained one) and CLIP is the
tiny random-weight model unless --clip-model/--clip-pretrained name real weights.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", type=Path, help="an existing recording (default: simulate one)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-curate")
    ap.add_argument("--clip-model", default="synthdepth-tiny")
    ap.add_argument("--clip-pretrained", default=None)
    ap.add_argument("--no-workers", action="store_true", help="skip the 1 vs 2 workers comparison")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    import capture
    from curate.config import CurateConfig
    from curate.pipeline import curate_recording, run_curation
    from curate.scoring import CurationScorer
    from model.bootstrap import BootstrapNet, save_bootstrap

    manifest = args.manifest
    if manifest is None:
        from capture.simulate import SimConfig, simulate_recording

        # Clean (no injected faults): every frame ends in a clip, so clip scoring is measured too, as
        # on real recordings that are mostly clean.
        tag = f"{args.width}x{args.height}-{args.seconds:g}s-clean"
        found = sorted((args.cache / tag).glob("sim-*/sim-*[0-9].json"))
        if found:
            manifest = found[0]
        else:
            t = time.perf_counter()
            manifest = simulate_recording(
                args.cache / tag,
                SimConfig(width=args.width, height=args.height, seconds=args.seconds, seed=7, faults="none"),
            )
            print(f"simulated {manifest} in {time.perf_counter() - t:.1f} s")
    ckpt = args.cache / "bootstrap-random.safetensors"
    if not ckpt.exists():
        save_bootstrap(ckpt, BootstrapNet())

    rec = capture.open_recording(manifest)
    n = len(rec)
    print(f"recording {manifest}: {n} frames {rec.width}x{rec.height}")
    t = time.perf_counter()
    for _ in rec:
        pass
    decode = n / (time.perf_counter() - t)
    print(f"decode only:            {decode:7.1f} frames/s")

    cfg = CurateConfig.load(None, [
        f"scoring.clip_model={args.clip_model}",
        f"scoring.clip_pretrained={args.clip_pretrained or 'null'}",
        f"scoring.clip_random_init={'false' if args.clip_pretrained else 'true'}",
        f"scoring.bootstrap={ckpt}",
    ])
    scorer = CurationScorer(cfg.scoring)
    scorer.setup()  # model loading is once per worker, not per frame: keep it out of the timing
    t = time.perf_counter()
    r = curate_recording(manifest, cfg, scorer, progress=False)
    full = n / (time.perf_counter() - t)
    print(f"full curation, 1 rec:   {full:7.1f} frames/s  (ratio to decode {full / decode:.2f}; "
          f"{len(r.clips)} clips, {sum(c.decision == 'kept' for c in r.clips)} kept)")

    if not args.no_workers:
        out = args.cache / "out"
        for w in (1, 2):
            s = run_curation([manifest] * 2, out, cfg, workers=w, progress=False)
            print(f"run_curation, 2 recs, {w} worker(s): {s.frames / s.seconds:7.1f} frames/s "
                  f"({s.seconds:.1f} s incl. model loading per worker)")


if __name__ == "__main__":
    main()
