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
models loaded before timing (they load once per worker). Decode and curation runs alternate,
`--repeats` times; the ratio is median decode time / median curation time (1.0 = decode speed).
Process CPU seconds are printed too: on a shared machine they move much less than wall clock.

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

import numpy as np


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


def prototype_reader(orig):
    """A stand-in for capture's coming analysis reader (bench only, to size what it is worth):
    the picture scaled to the analysis size by swscale straight from the decoded YUV frame (area
    filter, the manifest's matrix and range), the depth read from the Y plane at the analysis grid
    (nearest, no full-resolution conversion). Side-by-side / top-bottom YUV video with grey depth
    and no HUD mask; anything else goes through the normal reader."""
    from capture.recording import Coded, _PackedVideo
    from capture.video_io import SWS_COLORSPACE, SWS_RANGE, decode_range, yuv_planes
    from curate.frames import AnalysisFrame

    def decode(rec, start, stop, size):
        src = rec._src
        if (not isinstance(src, _PackedVideo) or src.dec.kind != "yuv" or rec._hud is not None
                or rec.manifest.depth.encoding not in ("gray8", "gray16")
                or rec.width % size[0] or rec.height % size[1]):
            yield from orig(rec, start, stop, size)
            return
        fx, fy = rec.width // size[0], rec.height // size[1]
        (rr, rc), (dr, dc) = src.rgb_region, src.depth_region
        cs, rng = SWS_COLORSPACE[src.dec.matrix], SWS_RANGE["full" if src.dec.full else "limited"]
        for i, frame in decode_range(src.index, start, stop):
            small = frame.reformat(width=frame.width // fx, height=frame.height // fy, format="rgb24",
                                   src_colorspace=cs, src_color_range=rng, dst_color_range="JPEG",
                                   interpolation="AREA").to_ndarray()
            rgb = np.ascontiguousarray(small[rr.start // fy : rr.stop // fy, rc.start // fx : rc.stop // fx])
            y, _, _, bits = yuv_planes(frame)
            step = 1.0 / (((1 << bits) - 1) if src.dec.full else 219.0 * (1 << (bits - 8)))
            codes = np.ascontiguousarray(y[dr, dc][::fy, ::fx])
            depth = rec._to_depth(Coded(codes, ("luma", src.dec.full, bits), step))
            yield AnalysisFrame(i, rgb, depth)

    return decode


def measure(name: str, manifest: Path, cfg, scorer, repeats: int, breakdown: bool) -> None:
    import capture
    from curate.frames import analysis_size
    from curate.pipeline import curate_recording

    rec = capture.open_recording(manifest)
    n = len(rec)
    video = manifest.parent / rec.manifest.media.video
    print(f"\n== {name}: {manifest.name}: {n} frames, {rec.width}x{rec.height} per eye, {rec.fps:g} fps "
          f"(file {video.stat().st_size / 1e6:.1f} MB)")
    dec, cur, dec_cpu, cur_cpu = [], [], [], []
    for k in range(repeats):
        t, c = time.perf_counter(), _cpu()
        assert plain_decode(video) == n
        dec.append(time.perf_counter() - t)
        dec_cpu.append(_cpu() - c)
        t, c = time.perf_counter(), _cpu()
        r = curate_recording(manifest, cfg, scorer, progress=False)
        cur.append(time.perf_counter() - t)
        cur_cpu.append(_cpu() - c)
        print(f"  run {k + 1}: decode {dec[-1]:6.2f} s ({n / dec[-1]:6.1f} frames/s, CPU {dec_cpu[-1]:6.1f} s) | "
              f"curate {cur[-1]:6.2f} s ({n / cur[-1]:6.1f} frames/s, CPU {cur_cpu[-1]:6.1f} s) | "
              f"ratio {dec[-1] / cur[-1]:.2f}")
    md, mc = statistics.median(dec), statistics.median(cur)
    print(f"  median: decode {md:.2f} s, curate {mc:.2f} s -> curation at {md / mc:.2f}x decode speed "
          f"(per-run ratios {', '.join(f'{d / c:.2f}' for d, c in zip(dec, cur, strict=True))}); "
          f"CPU seconds: decode {statistics.median(dec_cpu):.1f}, curate {statistics.median(cur_cpu):.1f}")
    print(f"  result: {len(r.clips)} clips ({sum(c.decision == 'kept' for c in r.clips)} kept), cuts {len(r.cuts)}, "
          f"analysis frames {'x'.join(map(str, analysis_size(rec.width, rec.height, cfg.analysis_width())))}")
    if breakdown:
        bd, wall, cpu = breakdown_run(manifest, cfg, scorer)
        print(f"  breakdown (CPU seconds of the thread running each stage; run took {wall:.1f} s wall, "
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
    ap.add_argument("--breakdown", action="store_true", help="time each stage (one more curation run)")
    ap.add_argument("--set", action="append", default=[], help="config override key=value (repeatable)")
    ap.add_argument("--prototype-reader", action="store_true",
                    help="decode through a stand-in for capture's analysis reader (see prototype_reader)")
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
    cfg = CurateConfig.load(None, [
        f"scoring.clip_model={args.clip_model}",
        f"scoring.clip_pretrained={args.clip_pretrained or 'null'}",
        f"scoring.clip_random_init={'false' if args.clip_pretrained else 'true'}",
        f"scoring.bootstrap={ckpt}", "scoring.bootstrap_trust=always", *args.set,
    ])
    scorer = CurationScorer(cfg.scoring)
    scorer.setup()  # model loading is once per worker, not per frame: keep it out of the timing
    print(f"bootstrap {ckpt}; CLIP {args.clip_model}:{args.clip_pretrained or 'random'}; "
          f"device {scorer.bootstrap.device}; config {' '.join(args.set) or 'defaults'}")

    if args.prototype_reader:
        import curate.frames as fr

        fr._decode = prototype_reader(fr._decode)
        print("reader: PROTOTYPE analysis reader (swscale to the analysis size, depth from the Y plane)")
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
        measure(name, m, cfg, scorer, args.repeats, args.breakdown)


if __name__ == "__main__":
    main()
