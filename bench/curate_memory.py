"""Peak memory of curating one recording against its length (curation streams: it should not grow).

    python bench/curate_memory.py                        # 1, 10 and 60 minutes, 3 runs each
    python bench/curate_memory.py --minutes 1 10 --repeats 3 --bootstrap CKPT

The recordings are 640x360 per eye side by side (1280x360), 30 fps (--fps) H.264, made from the real
Resident Evil 2 frames (bench/sbs_recordings.py): one minute is encoded, the longer ones repeat
its packets (no re-encode), so they are cheap to make and identical in content per minute.
Each curation runs in its own process under `/usr/bin/time -v` (peak RSS = "Maximum resident set
size"), with the default config (chunked analysis, `analysis.chunk_seconds`), the models loaded
as in a worker. Prints the median peak per length and its ratio to the shortest.

Without --bootstrap a random-init BootstrapNet of the default architecture is used (same memory
and compute as a trained one); --no-bootstrap curates without one (much faster; the per-frame
table then lacks the bootstrap's columns, ~50 of its ~200 bytes per frame).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_one(manifest: Path, overrides: list[str]) -> None:
    """The measured process: load the models, curate the recording, print a summary line."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    from curate.config import CurateConfig
    from curate.pipeline import curate_recording
    from curate.scoring import CurationScorer

    cfg = CurateConfig.load(None, overrides)
    scorer = CurationScorer(cfg.scoring)
    scorer.setup()
    t = time.perf_counter()
    r = curate_recording(manifest, cfg, scorer, progress=False)
    print(f"RESULT frames={r.info.num_frames} clips={len(r.clips)} kept={sum(c.decision == 'kept' for c in r.clips)} "
          f"errors={len(r.info.errors)} seconds={time.perf_counter() - t:.1f}", flush=True)


def peak_rss_mb(manifest: Path, overrides: list[str], timeout: float) -> tuple[float, str]:
    cmd = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()), "--run", str(manifest),
           *[a for o in overrides for a in ("--set", o)]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"curation of {manifest} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    result = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT")), "")
    return int(m.group(1)) / 1024, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, nargs="+", default=[1, 10, 60])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--bootstrap", type=Path)
    ap.add_argument("--no-bootstrap", action="store_true")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-memory")
    ap.add_argument("--timeout", type=float, default=6 * 3600, help="per curation run, seconds")
    ap.add_argument("--set", action="append", default=[], help="config override key=value (repeatable)")
    ap.add_argument("--run", type=Path, help=argparse.SUPPRESS)  # internal: the measured process
    args = ap.parse_args()
    if args.run:
        run_one(args.run, args.set)
        return
    sys.path.insert(0, str(HERE))
    from sbs_recordings import make_sbs_recording, repeat_recording

    from model.bootstrap import BootstrapNet, save_bootstrap

    overrides = ["scoring.clip_model=synthdepth-tiny", "scoring.clip_pretrained=null", "scoring.clip_random_init=true"]
    if not args.no_bootstrap:
        ckpt = args.bootstrap
        if ckpt is None:
            ckpt = args.cache / "bootstrap-random.safetensors"
            if not ckpt.exists():
                ckpt.parent.mkdir(parents=True, exist_ok=True)
                save_bootstrap(ckpt, BootstrapNet())
        overrides += [f"scoring.bootstrap={ckpt}", "scoring.bootstrap_trust=always"]  # a random model: run it anyway
    overrides += args.set
    # 8 s shots: longer than a clip (150 frames), so every minute has clips to score and decide
    base = make_sbs_recording(args.cache / "rec", 640, 360, args.fps, 60, shot_seconds=8.0)
    recs = {m: base if m == 1 else repeat_recording(base, m, args.cache / "rec") for m in args.minutes}
    print(f"config overrides: {' '.join(overrides)}")
    peaks: dict[int, list[float]] = {}
    for k in range(args.repeats):
        for minutes, manifest in recs.items():
            mb, result = peak_rss_mb(manifest, overrides, args.timeout)
            peaks.setdefault(minutes, []).append(mb)
            print(f"run {k + 1}: {minutes:3d} min: peak RSS {mb:8.1f} MB   {result}", flush=True)
    first = min(peaks)
    ref = statistics.median(peaks[first])
    print("\nminutes  median peak RSS (MB)  runs                        ratio to the shortest")
    for minutes, v in peaks.items():
        print(f"{minutes:7d}  {statistics.median(v):20.1f}  {', '.join(f'{x:.0f}' for x in v):26s}  "
              f"{statistics.median(v) / ref:.3f}")


if __name__ == "__main__":
    main()
