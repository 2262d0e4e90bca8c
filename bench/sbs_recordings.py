"""Side-by-side recordings made from real game frames, the way an OBS capture of ReShade's depth
view next to the game looks: for the curation throughput and memory benches.

The source is the 17 Resident Evil 2 frames in /work/shared/realdata/re2-757459012 (RGB + float
depth). Each shot shows one source frame, upscaled and panned (the camera slides across it, so
picture and depth move together, exactly aligned); shots follow each other with hard cuts. Depth
is stored as ReShade's GetLinearizedDepth of an infinite reversed-Z buffer, 8-bit grey in the
left half, the picture in the right half, H.264 yuv420p bt709 limited range.

    make_sbs_recording(folder, 1920, 1080, fps=60, seconds=20)   # 3840x1080 60 fps
    repeat_recording(manifest, times=10, folder=...)             # 10x as long, by packet copy
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from capture.simulate.real_footage import find_realdata

REALDATA = find_realdata() or Path("shared/realdata/re2-757459012")  # $SYNTHDEPTH_REALDATA or beside the checkout
NEAR, FAR_PLANE = 1.0, 100.0  # RE2 depths run ~14 .. thousands: L = z / (z + 100) spreads them over 8 bits


def linearized(z: np.ndarray) -> np.ndarray:
    """ReShade.fxh GetLinearizedDepth of an infinite reversed-Z buffer (near / z), sky = 1."""
    buf = np.where(np.isfinite(z), NEAR / np.maximum(z, NEAR), 0.0)
    d = 1.0 - buf
    return np.clip(d / (FAR_PLANE - d * (FAR_PLANE - 1.0)), 0.0, 1.0)


def _sources(folder: Path = REALDATA) -> list[tuple[np.ndarray, np.ndarray]]:
    import cv2

    out = []
    for p in sorted(folder.glob("*_rgb.png")):
        rgb = cv2.imread(str(p), cv2.IMREAD_COLOR)[..., ::-1]
        z = np.load(p.with_name(p.name.replace("_rgb.png", "_depth.npy"))).astype(np.float32)
        out.append((np.ascontiguousarray(rgb), z))
    if not out:
        raise FileNotFoundError(f"no *_rgb.png frames in {folder}")
    return out


def sbs_frames(width: int, height: int, fps: float, seconds: float, shot_seconds: float = 4.0,
               seed: int = 0) -> Iterator[np.ndarray]:
    """(height, 2 * width, 3) uint8 frames: grey depth left, picture right."""
    import cv2

    src = _sources()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(src))
    n = int(round(seconds * fps))
    per_shot = max(2, int(round(shot_seconds * fps)))
    cw, ch = int(width * 1.25), int(height * 1.25)  # the canvas the eye window pans over
    for shot, s in enumerate(range(0, n, per_shot)):
        rgb, z = src[order[shot % len(src)]]
        canvas = cv2.resize(rgb, (cw, ch), interpolation=cv2.INTER_CUBIC)
        grey = np.rint(linearized(cv2.resize(z, (cw, ch), interpolation=cv2.INTER_NEAREST)) * 255).astype(np.uint8)
        frames = min(per_shot, n - s)
        direction = 1 if shot % 2 == 0 else -1
        for k in range(frames):
            u = k / max(1, per_shot - 1)
            x = int(round((cw - width) * (u if direction > 0 else 1 - u)))
            y = int(round((ch - height) * (0.5 + 0.5 * np.sin(2 * np.pi * u + shot))))
            y = min(max(y, 0), ch - height)
            g = grey[y : y + height, x : x + width]
            yield np.concatenate([np.repeat(g[..., None], 3, axis=2), canvas[y : y + height, x : x + width]], axis=1)


def make_sbs_recording(folder: Path, width: int, height: int, fps: int, seconds: float, rid: str | None = None,
                       crf: int = 18, preset: str = "veryfast", gop_seconds: float = 2.0, seed: int = 0,
                       shot_seconds: float = 4.0) -> Path:
    """Write the recording (cached: an existing manifest is returned as is); returns the manifest."""
    import av

    shots = "" if shot_seconds == 4.0 else f"-shot{shot_seconds:g}s"
    rid = rid or f"re2-sbs-{width}x{height}-{fps}fps-{seconds:g}s{shots}"
    folder = Path(folder) / rid
    manifest = folder / f"{rid}.json"
    if manifest.exists():
        return manifest
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / f"{rid}.mp4"
    tmp = video.with_name(".partial-" + video.name)
    with av.open(str(tmp), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 2 * width, height, "yuv420p"
        s.options = {"crf": str(crf), "preset": preset, "g": str(int(gop_seconds * fps))}
        s.codec_context.color_range, s.codec_context.colorspace = 1, 1  # limited, bt709
        for i, img in enumerate(sbs_frames(width, height, fps, seconds, shot_seconds, seed)):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f = f.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    tmp.replace(video)
    _write_manifest(manifest, rid, video.name, fps)
    return manifest


def _write_manifest(path: Path, rid: str, video: str, fps: float) -> None:
    spec = {"encoding": "gray8", "reshade": {"reversed": True, "far_plane": FAR_PLANE},
            "projection": {"type": "infinite_reversed", "near": NEAR}}
    m = {"id": rid, "game": "re2-panned", "layout": "side_by_side", "rgb_position": "right", "media": {"video": video},
         "fps": fps, "color_range": "limited", "color_matrix": "bt709", "depth": spec}
    path.write_text(json.dumps(m, indent=1))


def repeat_recording(manifest: Path, times: int, folder: Path, rid: str | None = None) -> Path:
    """The same recording played `times` times in a row, by copying its packets (no re-encode)."""
    import av

    m = json.loads(Path(manifest).read_text())
    rid = rid or f"{m['id']}-x{times}"
    out_dir = Path(folder) / rid
    out_manifest = out_dir / f"{rid}.json"
    if out_manifest.exists():
        return out_manifest
    out_dir.mkdir(parents=True, exist_ok=True)
    src = Path(manifest).parent / m["media"]["video"]
    video = out_dir / f"{rid}.mp4"
    tmp = video.with_name(".partial-" + video.name)
    with av.open(str(src)) as probe:
        pts = sorted(p.pts for p in probe.demux(probe.streams.video[0]) if p.size)
    span = len(pts) * int(np.median(np.diff(pts)))  # one play-through in stream time base
    with av.open(str(tmp), "w", format="mp4") as out:
        with av.open(str(src)) as first:
            ost = out.add_stream_from_template(first.streams.video[0])
        for k in range(times):
            with av.open(str(src)) as c:
                st = c.streams.video[0]
                for p in c.demux(st):
                    if not p.size:
                        continue
                    p.pts += k * span
                    p.dts += k * span
                    p.stream = ost
                    out.mux(p)
    tmp.replace(video)
    _write_manifest(out_manifest, rid, video.name, m["fps"])
    return out_manifest
