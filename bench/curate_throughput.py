"""Curation throughput against a plain decode of the same file, and where the time goes.

    python bench/curate_throughput.py --bootstrap CKPT             # both recordings, 3 repeats
    python bench/curate_throughput.py --only 1080p --repeats 5
    python bench/curate_throughput.py --manifest rec.json --bootstrap CKPT

Recordings (cached under --cache):
- "1080p": 20 s side-by-side 3840x1080 (1920x1080 per eye), 60 fps H.264, made from the real
  Resident Evil 2 frames in /work/shared/realdata (panned, with hard cuts; bench/sbs_recordings.py);
- "720p":  the simulator's clean 1280x720 recording (--sim-seconds, default 3 s), as before.

Baseline: a plain PyAV decode of the same file with the decoder's threads on, every frame
converted with `to_ndarray(format="rgb24")`. Curation: `curate.pipeline.curate_recording` with the
models loaded before timing (they load once per worker), in two modes: "bootstrap trusted" (the
model runs on the score grid, as when its calibration trusts it) and "bootstrap untrusted" (the
calibration turned it off, as it did for every `bootstrap train`-default model on unseen footage
so far; the model-free checks decide). Decode and curation runs alternate, `--repeats` times; the
ratio is median decode time / median curation time (1.0 = decode speed). Process CPU seconds are
printed too: on a shared machine they move much less than wall clock. The `RESULT` lines are the
figures.

`--breakdown` runs curation once more with each stage wrapped in a timer of the CPU time of the
thread that runs it (the reader thread: decode + the reader's conversions + the downscale; the
model thread: the bootstrap). Without --bootstrap, a random-init BootstrapNet of the default
architecture stands in (the same compute as a trained one; the decisions then mean nothing).
CLIP is the tiny random-weight model unless --clip-model/--clip-pretrained name real weights.
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def plain_decode(video: Path) -> int:
    import av

    n = 0
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for f in c.decode(s):
            f.to_ndarray(format="rgb24")
            n += 1
    return n


class Breakdown:
    """CPU seconds per stage, summed over calls and threads (time.thread_time of the caller)."""

    def __init__(self):
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._depth = threading.local()
        self._patched: list[tuple[object, str, object]] = []

    def wrap(self, owner, attr: str, name: str) -> None:
        orig = getattr(owner, attr)
        bd = self

        def timed(*a, **k):
            stack = getattr(bd._depth, "stack", None)
            if stack is None:
                stack = bd._depth.stack = []
            t = time.thread_time()
            stack.append(0.0)
            try:
                return orig(*a, **k)
            finally:
                spent = time.thread_time() - t
                inner = stack.pop()
                bd.cpu[name] += spent - inner  # exclusive of stages nested inside
                bd.calls[name] += 1
                if stack:
                    stack[-1] += spent

        self._patched.append((owner, attr, orig))
        setattr(owner, attr, timed)

    def restore(self) -> None:
        for owner, attr, orig in reversed(self._patched):
            setattr(owner, attr, orig)


def breakdown_run(manifest: Path, cfg, scorer) -> tuple[Breakdown, float, float]:
    import curate.frame_scores as fs
    import curate.frames as fr
    import curate.pipeline as pl
    from curate.bootstrap_checks import BootstrapTracker
    from curate.frame_checks import FrameFeatureExtractor
    from curate.scenes import ContentScores

    bd = Breakdown()
    # the reader thread: decoding (PyAV + the reader's own conversions) and the downscale
    bd.wrap(fr, "downscale", "reader: downscale to analysis size")
    bd.wrap(FrameFeatureExtractor, "push", "frame checks: features")
    bd.wrap(ContentScores, "push", "scene scores (PySceneDetect)")
    bd.wrap(BootstrapTracker, "push", "bootstrap tracker: depth + comparisons")
    bd.wrap(type(scorer.bootstrap), "predict", "bootstrap model")
    bd.wrap(fs.FrameScoreSampler, "_score", "model scores: AbsRel/delta1/CLIP")
    bd.wrap(type(scorer.clip), "similarity", "CLIP model")
    bd.wrap(pl, "finish_recording", "after the pass: cuts, checks, clips, decisions")
    # the reader is a generator: time each step of it (it includes the downscale, taken off below)
    orig_decode = fr._decode

    def decode(rec, start, stop, size):
        gen = orig_decode(rec, start, stop, size)
        while True:
            t = time.thread_time()
            try:
                item = next(gen)
            except StopIteration:
                bd.cpu["reader: decode + convert (capture)"] += time.thread_time() - t
                return
            bd.cpu["reader: decode + convert (capture)"] += time.thread_time() - t
            yield item

    fr._decode = decode
    t, c = time.perf_counter(), _cpu()
    try:
        pl.curate_recording(manifest, cfg, scorer, progress=False)
    finally:
        fr._decode = orig_decode
        bd.restore()
    # "reader: decode" was timed around the generator (which includes the nested downscale calls)
    bd.cpu["reader: decode + convert (capture)"] -= bd.cpu["reader: downscale to analysis size"]
    return bd, time.perf_counter() - t, _cpu() - c


def measure(name: str, manifest: Path, modes: list[tuple[str, object, object]], repeats: int, breakdown: bool) -> None:
    """Plain decode and each curation mode (label, config, scorer), alternating, `repeats` times."""
    import capture
    from curate.frames import analysis_size
    from curate.pipeline import curate_recording

    rec = capture.open_recording(manifest)
    n = len(rec)
    video = manifest.parent / rec.manifest.media.video
    print(f"\n== {name}: {manifest.name}: {n} frames, {rec.width}x{rec.height} per eye, {rec.fps:g} fps "
          f"(file {video.stat().st_size / 1e6:.1f} MB)")
    dec, dec_cpu = [], []
    cur: dict[str, list[float]] = {label: [] for label, _, _ in modes}
    cur_cpu: dict[str, list[float]] = {label: [] for label, _, _ in modes}
    results = {}
    for k in range(repeats):
        t, c = time.perf_counter(), _cpu()
        assert plain_decode(video) == n
        dec.append(time.perf_counter() - t)
        dec_cpu.append(_cpu() - c)
        line = [f"  run {k + 1}: decode {dec[-1]:6.2f} s ({n / dec[-1]:6.1f} frames/s, CPU {dec_cpu[-1]:5.1f} s)"]
        for label, cfg, scorer in modes:
            t, c = time.perf_counter(), _cpu()
            results[label] = curate_recording(manifest, cfg, scorer, progress=False)
            cur[label].append(time.perf_counter() - t)
            cur_cpu[label].append(_cpu() - c)
            line.append(f"{label}: {cur[label][-1]:6.2f} s (CPU {cur_cpu[label][-1]:5.1f} s, ratio {dec[-1] / cur[label][-1]:.2f})")
        print(" | ".join(line), flush=True)
    md = statistics.median(dec)
    for label, cfg, _ in modes:
        mc = statistics.median(cur[label])
        r = results[label]
        print(f"  RESULT {name} [{label}]: curation at {md / mc:.2f}x decode speed (median decode {md:.2f} s, "
              f"curate {mc:.2f} s; per-run ratios {', '.join(f'{d / c:.2f}' for d, c in zip(dec, cur[label], strict=True))}); "
              f"CPU seconds: decode {statistics.median(dec_cpu):.1f}, curate {statistics.median(cur_cpu[label]):.1f} "
              f"(CPU ratio {statistics.median(dec_cpu) / statistics.median(cur_cpu[label]):.2f}); "
              f"{len(r.clips)} clips ({sum(c.decision == 'kept' for c in r.clips)} kept), cuts {len(r.cuts)}, "
              f"analysis frames {'x'.join(map(str, analysis_size(rec.width, rec.height, cfg.analysis_width())))}")
    if breakdown:
        for label, cfg, scorer in modes:
            bd, wall, cpu = breakdown_run(manifest, cfg, scorer)
            print(f"  breakdown [{label}] (CPU seconds of the thread running each stage; run took {wall:.1f} s wall, "
                  f"{cpu:.1f} s process CPU):")
            total = sum(bd.cpu.values())
            for k, v in sorted(bd.cpu.items(), key=lambda kv: -kv[1]):
                print(f"    {k:50s} {v:7.2f} s  {100 * v / max(cpu, 1e-9):5.1f}%  ({1e3 * v / n:6.2f} ms/frame)")
            print(f"    {'other threads (decoder threads, OpenCV pool), Python glue':50s} {cpu - total:7.2f} s  "
                  f"{100 * (cpu - total) / max(cpu, 1e-9):5.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", type=Path, help="an existing recording instead of the two below")
    ap.add_argument("--only", choices=["1080p", "720p"], help="just one of the two recordings")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the 1080p recording")
    ap.add_argument("--sim-seconds", type=float, default=3.0, help="length of the simulated 720p recording")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bootstrap", type=Path, help="bootstrap checkpoint (default: random init, same compute)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-curate")
    ap.add_argument("--clip-model", default="synthdepth-tiny")
    ap.add_argument("--clip-pretrained", default=None)
    ap.add_argument("--breakdown", action="store_true", help="time each stage (one more curation run per mode)")
    ap.add_argument("--mode", choices=["trusted", "untrusted"], help="only one of the two bootstrap modes")
    ap.add_argument("--set", action="append", default=[], help="config override key=value (repeatable)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sys.path.insert(0, str(Path(__file__).resolve().parent))

    from curate.config import CurateConfig
    from curate.scoring import CurationScorer
    from model.bootstrap import BootstrapNet, save_bootstrap

    ckpt = args.bootstrap
    if ckpt is None:
        ckpt = args.cache / "bootstrap-random.safetensors"
        if not ckpt.exists():
            save_bootstrap(ckpt, BootstrapNet())
    base = [
        f"scoring.clip_model={args.clip_model}",
        f"scoring.clip_pretrained={args.clip_pretrained or 'null'}",
        f"scoring.clip_random_init={'false' if args.clip_pretrained else 'true'}",
        f"scoring.bootstrap={ckpt}",
    ]
    # The bootstrap votes only when its calibration trusts it (curate/trust.py). "trusted": the model
    # runs on the score grid (forced, as a calibrated model would); "untrusted": what the calibration
    # decided for every `bootstrap train`-default model on unseen footage so far (the model is not
    # run, the model-free checks decide).
    modes = []
    for label, trust in (("bootstrap trusted", "always"), ("bootstrap untrusted", "calibration")):
        if args.mode not in (None, label.split()[-1]):
            continue
        cfg = CurateConfig.load(None, [*base, f"scoring.bootstrap_trust={trust}", *args.set])
        scorer = CurationScorer(cfg.scoring)
        scorer.setup()  # model loading is once per worker, not per frame: keep it out of the timing
        if trust == "calibration" and scorer.bootstrap.available and args.bootstrap is None:
            raise SystemExit("the random stand-in bootstrap was trusted by its calibration: unexpected")
        print(f"[{label}] bootstrap {ckpt} (model {'runs' if scorer.bootstrap.available else 'not run'}); "
              f"CLIP {args.clip_model}:{args.clip_pretrained or 'random'}; device {scorer.bootstrap.device}; "
              f"config {' '.join(args.set) or 'defaults'}")
        modes.append((label, cfg, scorer))

    runs: list[tuple[str, Path]] = []
    if args.manifest:
        runs.append(("given", args.manifest))
    else:
        if args.only in (None, "1080p"):
            from sbs_recordings import make_sbs_recording

            t = time.perf_counter()
            m = make_sbs_recording(args.cache / "rec", 1920, 1080, 60, args.seconds)
            if time.perf_counter() - t > 1:
                print(f"made {m} in {time.perf_counter() - t:.0f} s")
            runs.append(("1080p", m))
        if args.only in (None, "720p"):
            from capture.simulate import SimConfig, simulate_recording

            tag = f"1280x720-{args.sim_seconds:g}s-clean"
            found = sorted((args.cache / tag).glob("sim-*/sim-*[0-9].json"))
            m = found[0] if found else simulate_recording(
                args.cache / tag, SimConfig(width=1280, height=720, seconds=args.sim_seconds, seed=7, faults="none"))
            runs.append(("720p", m))
    for name, m in runs:
        measure(name, m, modes, args.repeats, args.breakdown)


if __name__ == "__main__":
    main()
