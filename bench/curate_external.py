"""Curation accuracy on faults injected *outside* the simulator (issue 3's second check).

    python bench/curate_external.py                          # 4 recordings x 30 s
    python bench/curate_external.py --recordings 8 --seed 7001

Clean simulated recordings (`--faults none`) are only the source of pictures and exact depth.
This script then plays the part of an outside tool: it injects faults with its own plain-numpy
models (none of the simulator's fault code), at its own random places and lengths, and writes the
result the way a player's setup would, with PyAV and a hand-written manifest:

- depth_lag:    depth[t] = depth[t - k] over 20-60 frames, k from 1 to 8
- frozen_depth: depth[t] = depth[a] over 20-60 frames
- menu:         a dark translucent panel with bright text bars over 55-75% of the picture
                (the world keeps moving underneath), 30-60 frames
- loading:      a near-black screen with a small spinner, depth stuck at the last frame, 30-60 frames
- fade:         picture brightness ramps to black and back, 20-40 frames

Formats alternate: OBS-like side-by-side H.264 (yuv420p bt709 limited by swscale, gray8 depth
from ReShade's GetLinearizedDepth, no dither) and an RGB H.264 file next to a 16-bit PNG depth
sequence. Labels stay in this script; curation sees only the manifest and the media. The
bootstrap is the one bench/curate_accuracy.py trains (same recipe, same cache).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET = 0.95
NEAR, FAR_PLANE = 0.1, 100.0
KINDS = ("depth_lag", "frozen_depth", "menu", "loading", "fade")


def linearized(z: np.ndarray) -> np.ndarray:
    """ReShade.fxh GetLinearizedDepth of an infinite reversed-Z buffer (near / z), sky = 1."""
    buf = np.where(np.isfinite(z), NEAR / np.maximum(z, NEAR), 0.0)
    d = 1.0 - buf
    return np.clip(d / (FAR_PLANE - d * (FAR_PLANE - 1.0)), 0.0, 1.0)


def place(n: int, rng: np.random.Generator) -> list[tuple[str, int, int, dict]]:
    """One event of each kind at random, non-overlapping places at least 40 frames apart."""
    events: list[tuple[str, int, int, dict]] = []
    lengths = {"depth_lag": (20, 60), "frozen_depth": (20, 60), "menu": (30, 60), "loading": (30, 60), "fade": (20, 40)}
    for kind in rng.permutation(KINDS):
        for _ in range(200):
            d = int(rng.integers(*lengths[kind]))
            a = int(rng.integers(20, n - d - 10))
            if all(a + d + 40 <= s or e + 40 <= a for _, s, e, _ in events):
                params = {"lag_frames": int(rng.integers(1, 9))} if kind == "depth_lag" else {}
                events.append((str(kind), a, a + d, params))
                break
    return sorted(events, key=lambda e: e[1])


def inject(rgb: np.ndarray, depth: np.ndarray, events, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rgb, src = rgb.copy(), depth
    depth = depth.copy()
    h, w = rgb.shape[1:3]
    for kind, a, b, p in events:
        if kind == "depth_lag":
            depth[a:b] = src[a - p["lag_frames"] : b - p["lag_frames"]]
        elif kind == "frozen_depth":
            depth[a:b] = src[a]
        elif kind == "menu":
            ph, pw = int(h * rng.uniform(0.55, 0.75)), int(w * rng.uniform(0.55, 0.75))
            y0, x0 = (h - ph) // 2, (w - pw) // 2
            panel = rgb[a:b, y0 : y0 + ph, x0 : x0 + pw].astype(np.float32) * 0.25 + 20
            for i in range(4):  # menu items: bright bars
                yy = int(ph * (0.2 + 0.17 * i))
                panel[:, yy : yy + max(2, ph // 14), pw // 6 : pw - pw // 6] = 230
            rgb[a:b, y0 : y0 + ph, x0 : x0 + pw] = panel.clip(0, 255).astype(np.uint8)
        elif kind == "loading":
            rgb[a:b] = 8
            s = max(4, h // 12)
            for t in range(a, b):  # a spinner: a small square circling the corner
                ang = 0.4 * (t - a)
                cy, cx = int(h - 2 * s + s * np.sin(ang)), int(w - 2 * s + s * np.cos(ang))
                rgb[t, cy - s // 2 : cy + s // 2, cx - s // 2 : cx + s // 2] = 200
            depth[a:b] = src[a - 1]
        elif kind == "fade":
            g = np.abs(np.linspace(-1.0, 1.0, b - a, dtype=np.float32))
            rgb[a:b] = (rgb[a:b].astype(np.float32) * g[:, None, None, None]).astype(np.uint8)
    return rgb, depth


def _encode(path: Path, frames, width: int, height: int, fps: int) -> None:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"crf": "16", "g": "30"}
        s.codec_context.color_range, s.codec_context.colorspace = 1, 1  # limited, bt709
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            f = f.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def write(folder: Path, rid: str, rgb: np.ndarray, depth: np.ndarray, fps: int, variant: int) -> Path:
    """The recording as a player's setup would write it; returns the manifest."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = rgb.shape[:3]
    L = linearized(depth)
    spec = {"encoding": "gray8", "reshade": {"reversed": True, "far_plane": FAR_PLANE},
            "projection": {"type": "infinite_reversed", "near": NEAR}}
    if variant % 2 == 0:  # OBS capture of ReShade's depth view next to the game
        grey = np.repeat(np.rint(L * 255).astype(np.uint8)[..., None], 3, axis=3)
        _encode(folder / f"{rid}.mp4", (np.concatenate([grey[i], rgb[i]], axis=1) for i in range(n)), 2 * w, h, fps)
        manifest = {"id": rid, "layout": "side_by_side", "rgb_position": "right", "media": {"video": f"{rid}.mp4"},
                    "fps": fps, "color_range": "limited", "color_matrix": "bt709", "depth": spec}
    else:  # game video + a 16-bit PNG per depth frame
        _encode(folder / f"{rid}_rgb.mp4", rgb, w, h, fps)
        (folder / "depth").mkdir(exist_ok=True)
        for i in range(n):
            cv2.imwrite(str(folder / "depth" / f"{i:05d}.png"), np.rint(L[i] * 65535).astype(np.uint16))
        manifest = {"id": rid, "layout": "separate_files", "media": {"rgb": f"{rid}_rgb.mp4", "depth": "depth/%05d.png"},
                    "fps": fps, "color_range": "limited", "color_matrix": "bt709", "depth": {**spec, "encoding": "gray16"}}
    path = folder / f"{rid}.json"
    path.write_text(json.dumps(manifest, indent=1))
    return path


def build(cache: Path, n: int, seconds: float, seed: int) -> list[tuple[Path, list[str], list[dict]]]:
    """Injected recordings (cached): (manifest, per-frame labels, events)."""
    from capture.recording import open_recording
    from capture.simulate import load_ground_truth
    from capture.simulate.cache import simulate_cached

    clean = simulate_cached(cache / f"clean-s{seed}-n{n}-{seconds:g}s", n, seconds, seed, faults="none")
    out = []
    for i, m in enumerate(clean):
        folder = cache / f"external-s{seed}-{seconds:g}s" / f"ext-{seed + i:05d}"
        side = folder / "labels.json"
        if side.exists():
            d = json.loads(side.read_text())
            out.append((Path(d["manifest"]), d["labels"], d["events"]))
            continue
        rng = np.random.default_rng(seed * 1000 + i)
        with open_recording(m) as rec:
            rgb = np.stack([f.rgb for f in rec])
            fps = round(rec.fps)
        depth = load_ground_truth(m)["depth_m"].astype(np.float32)
        events = place(len(rgb), rng)
        rgb2, depth2 = inject(rgb, depth, events, rng)
        manifest = write(folder, f"ext-{seed + i:05d}", rgb2, depth2, fps, i)
        labels = [""] * len(rgb)
        for kind, a, b, _ in events:
            for t in range(a, b):
                labels[t] = kind
        ev = [{"kind": k, "start_frame": a, "end_frame": b, **p} for k, a, b, p in events]
        side.write_text(json.dumps({"manifest": str(manifest), "labels": labels, "events": ev}))
        out.append((manifest, labels, ev))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=7001)
    ap.add_argument("--clip-length", type=int, default=150)
    ap.add_argument("--bootstrap", type=Path, help="existing checkpoint (default: the curate_accuracy recipe)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthdepth-bench-accuracy")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from recipes import train_bootstrap_on_clean

    from curate.accuracy import Accuracy, recording_accuracy
    from curate.config import CurateConfig
    from curate.pipeline import curate_recording
    from curate.scoring import CurationScorer
    from model.predictor import set_torch_threads

    set_torch_threads(args.threads)
    t = time.perf_counter()
    recs = build(args.cache, args.recordings, args.seconds, args.seed)
    print(f"{len(recs)} injected recordings ready in {time.perf_counter() - t:.0f} s")
    folder = args.cache / "train-s9001-n9-20s"  # the curate_accuracy.py recipe, shared through the cache
    ckpt = args.bootstrap or train_bootstrap_on_clean(folder, folder / "bootstrap-128px-c16-1200steps-h3.safetensors",
                                                      9, 20.0, 9001, 128, 1200, 16, args.threads, holdout_picks=3)
    cfg = CurateConfig.load(None, [f"clips.length={args.clip_length}", f"scoring.bootstrap={ckpt}",
                                   "scoring.clip_pretrained=null", "scoring.clip_random_init=false"])
    scorer = CurationScorer(cfg.scoring)
    scorer.setup()
    total = Accuracy()
    spans: dict[str, int] = {}
    t = time.perf_counter()
    for manifest, labels, events in recs:
        r = curate_recording(manifest, cfg, scorer, progress=False)
        if r.info.status != "ok":
            print(f"{manifest}: {r.info.error}")
            continue
        for sp in r.spans:
            spans[sp.reason] = spans.get(sp.reason, 0) + sp.end_frame - sp.start_frame
        a = recording_accuracy(labels, r.clips, KINDS, events)
        total.add(a)
        kept = np.zeros(len(labels), bool)
        for c in r.clips:
            if c.decision == "kept":
                kept[c.start_frame:c.end_frame] = True
        missed = [f"{e['kind']}[{e['start_frame']},{e['end_frame']})" for e in events
                  if kept[e["start_frame"]:e["end_frame"]].any()]
        print(f"{r.info.recording_id}: {len(r.clips)} clips, missed events: {missed or 'none'}")
    print(f"curated in {time.perf_counter() - t:.0f} s; clip length {args.clip_length}; bootstrap {ckpt}")
    print(total.table())
    print("discarded frames by reason:", dict(sorted(spans.items())))
    rates = [k.event_recall for k in total.kinds.values()] + [total.summary()["clean_clip_keep_rate"]]
    worst = min((r for r in rates if np.isfinite(r)), default=float("nan"))
    print(f"TARGET (>= {TARGET} per kind and clean clips kept): {'MET' if worst >= TARGET else 'NOT MET'}")


if __name__ == "__main__":
    main()
