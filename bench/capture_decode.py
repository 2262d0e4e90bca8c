"""Decode speed of the capture reader against a plain PyAV decode of the same file.

The recording is what users have: OBS-like side-by-side H.264 (libx264 preset veryfast, crf 18,
yuv420p, bt709 limited range, a keyframe every 2 s, B-frames), 1920x1080 per eye (3840x1080 file),
60 fps, gray8 depth of ReShade-linearised depth (infinite reversed-Z, near 0.1), made from the real
Resident Evil 2 frames in /work/shared/realdata/re2-757459012 (upscaled to 1.25x and panned, a new
frame every second). It is written once into --out and reused.

Each mode runs in its own process (so its peak RSS is its own), in rounds, modes interleaved:
  plain     PyAV decode of every frame -> frame.to_ndarray(format="rgb24"), decoder threads on
            (thread_type AUTO): the baseline users compare against;
  full      Recording.stream(): full-resolution FramePairs (RGB half with the bt709/limited
            matrix, depth half decoded and projected to metres, NaN sky), as sharding reads them;
  analysis  Recording.stream(analysis_width=W): both halves at width W from the decoded planes;
  decode    (reference) PyAV decode only, no conversion: the floor no reader can beat.
Printed: frames/s (median over rounds), the ratio to `plain` measured in the same round (median),
CPU time per frame (all threads), peak RSS. The machine is shared: CPU ms/frame is the steadier
figure; wall-clock ratios move with the load.

    python bench/capture_decode.py [--seconds 10] [--rounds 3] [--analysis-width 256] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from capture.simulate.real_footage import find_realdata

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REALDATA = find_realdata() or Path("shared/realdata/re2-757459012")  # $SYNTHDEPTH_REALDATA or beside the checkout


def make_recording(out: Path, seconds: float, fps: int, w: int, h: int) -> Path:
    """Write (once) the OBS-like recording; return its manifest."""
    import av
    import cv2

    from capture.depth_codec import encode_gray8
    from capture.manifest import Projection, ReshadeSettings
    from capture.reshade import metres_to_linear

    name = f"re2_sbs_{w}x{h}_{fps}fps_{seconds:g}s"
    folder = out / name
    manifest = folder / f"{name}.json"
    if manifest.exists():
        return manifest
    folder.mkdir(parents=True, exist_ok=True)
    proj, rs = Projection(type="infinite_reversed", near=0.1), ReshadeSettings()
    sources = []
    bw, bh = int(w * 1.25), int(h * 1.25)
    for f in sorted(REALDATA.glob("*_rgb.png")):
        rgb = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
        z = np.load(str(f).replace("_rgb.png", "_depth.npy")).astype(np.float64)
        L = metres_to_linear(z, proj, rs)  # +inf (no surface) -> sky
        sources.append((cv2.resize(rgb, (bw, bh), interpolation=cv2.INTER_CUBIC),
                        encode_gray8(cv2.resize(L, (bw, bh), interpolation=cv2.INTER_NEAREST))))
    n = int(round(seconds * fps))
    tmp = folder / f"{name}.partial.mkv"
    t0 = time.perf_counter()
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 2 * w, h, "yuv420p"
        s.options = {"preset": "veryfast", "crf": "18",
                     "x264-params": f"keyint={2 * fps}:colorprim=bt709:transfer=bt709:colormatrix=bt709:range=tv"}
        s.codec_context.color_range, s.codec_context.colorspace = 1, 1  # MPEG range, bt709
        for i in range(n):
            rgb, dimg = sources[(i // fps) % len(sources)]
            t = (i % fps) / fps  # pan across the enlarged frame during each second
            x, y = int(t * (bw - w)), int(t * (bh - h) / 2)
            frame = np.concatenate([rgb[y:y + h, x:x + w], dimg[y:y + h, x:x + w]], axis=1)
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf = vf.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            vf.pts = i
            for p in s.encode(vf):
                c.mux(p)
            if i % fps == 0:
                print(f"  writing frame {i}/{n} ({time.perf_counter() - t0:.0f} s)", end="\r", flush=True)
        for p in s.encode():
            c.mux(p)
    video = folder / f"{name}.mkv"
    os.replace(tmp, video)
    manifest.write_text(json.dumps({
        "id": name, "game": "Resident Evil 2 (frames resized and panned)", "layout": "side_by_side",
        "rgb_position": "left", "media": {"video": video.name}, "fps": fps,
        "color_range": "limited", "color_matrix": "bt709",
        "depth": {"encoding": "gray8", "reshade": {}, "projection": {"type": "infinite_reversed", "near": 0.1}},
    }, indent=2))
    print(f"wrote {video} ({n} frames, {video.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s")
    return manifest


def run_mode(mode: str, manifest: Path, width: int, threads: int, convert_threads: int) -> dict:
    """One timed pass (in this process); returns frames, wall, cpu, peak RSS."""
    import av

    from capture.recording import open_recording

    t0, c0 = time.perf_counter(), time.process_time()
    k = 0
    if mode in ("plain", "decode"):
        m = json.loads(manifest.read_text())
        with av.open(str(manifest.parent / m["media"]["video"])) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            s.thread_count = threads
            for f in c.decode(s):
                if mode == "plain":
                    f.to_ndarray(format="rgb24")
                k += 1
    else:
        rec = open_recording(manifest, threads=threads, convert_threads=convert_threads)
        for item in rec.stream(analysis_width=width if mode == "analysis" else None):
            assert item.depth.dtype == np.float32
            k += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"mode": mode, "frames": k, "wall": wall, "cpu": cpu, "maxrss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak RSS. (getrusage's ru_maxrss carries the parent's peak over fork+exec.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=int, default=60)
    ap.add_argument("--eye", default="1920x1080", help="size of each half (WxH)")
    ap.add_argument("--analysis-width", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="decoder threads (0: FFmpeg's choice)")
    ap.add_argument("--convert-threads", type=int, default=1, help="reader threads converting decoded frames")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--modes", default="plain,full,analysis,decode")
    ap.add_argument("--out", type=Path, default=Path("/tmp/synthdepth-bench-capture"))
    ap.add_argument("--run", help=argparse.SUPPRESS)  # internal: one mode in this process
    ap.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run_mode(args.run, args.manifest, args.analysis_width, args.threads, args.convert_threads)))
        return
    w, h = (int(v) for v in args.eye.split("x"))
    manifest = make_recording(args.out, args.seconds, args.fps, w, h)
    modes = args.modes.split(",")
    print(f"recording {manifest.parent.name}: {2 * w}x{h} side-by-side, {args.fps} fps, H.264; "
          f"analysis width {args.analysis_width}; decoder threads {args.threads or 'auto'}; "
          f"reader convert threads {args.convert_threads}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    rows: dict[str, list[dict]] = {m: [] for m in modes}
    for r in range(args.rounds):
        for mode in modes:
            cmd = [sys.executable, __file__, "--run", mode, "--manifest", str(manifest),
                   "--analysis-width", str(args.analysis_width), "--threads", str(args.threads),
                   "--convert-threads", str(args.convert_threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
            res = json.loads(out.stdout.strip().splitlines()[-1])
            rows[mode].append(res)
            print(f"  round {r + 1} {mode:9s} {res['frames'] / res['wall']:7.1f} frames/s  "
                  f"cpu {1e3 * res['cpu'] / res['frames']:6.2f} ms/frame  peak RSS {res['maxrss_mb']:.0f} MB")
    print(f"\n{'mode':10s} {'frames/s':>9s} {'x plain':>8s} {'cpu ms/frame':>13s} {'x plain cpu':>12s} {'peak RSS MB':>12s}")
    for mode in modes:
        fps_ = [x["frames"] / x["wall"] for x in rows[mode]]
        cpu = [1e3 * x["cpu"] / x["frames"] for x in rows[mode]]
        line = f"{mode:10s} {np.median(fps_):9.1f}"
        if "plain" in rows:
            ratio = [(x["frames"] / x["wall"]) / (p["frames"] / p["wall"]) for x, p in zip(rows[mode], rows["plain"], strict=True)]
            cratio = [(1e3 * p["cpu"] / p["frames"]) / c for c, p in zip(cpu, rows["plain"], strict=True)]
            line += f" {np.median(ratio):7.2f}x {np.median(cpu):13.2f} {np.median(cratio):11.2f}x"
        else:
            line += f" {'-':>8s} {np.median(cpu):13.2f} {'-':>12s}"
        line += f" {max(x['maxrss_mb'] for x in rows[mode]):12.0f}"
        print(line)
    print("(x plain: median over rounds of the frames/s ratio in the same round; x plain cpu: plain's CPU "
          "time per frame over this mode's)")


if __name__ == "__main__":
    main()
