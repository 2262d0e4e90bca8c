"""Loaders for Sintel, KITTI, Bonn, ScanNet, NYUv2 (published layouts) and generated benchmarks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from common.errors import InputError

SINTEL_TAG = 202021.25


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    max_depth: float
    depth_scale: float | None  # uint16 PNG value / depth_scale = metres; None: float files
    frames: slice  # which frames of each sequence are evaluated
    crop: tuple[int, int, int, int] | None  # rows a:b, cols c:d (negative = from the end)
    even_size: bool = False
    min_depth: float = 1e-3


SPECS: dict[str, BenchmarkSpec] = {
    "sintel": BenchmarkSpec("sintel", 70.0, None, slice(0, 100), None),
    "kitti": BenchmarkSpec("kitti", 80.0, 256.0, slice(0, 110), (0, 374, 0, 1242), even_size=True),
    "bonn": BenchmarkSpec("bonn", 10.0, 5000.0, slice(30, 140), None, even_size=True),
    "scannet": BenchmarkSpec("scannet", 10.0, 1000.0, slice(0, 270, 3), (8, -8, 11, -11)),
    "nyuv2": BenchmarkSpec("nyuv2", 10.0, 6000.0, slice(0, 500), (45, 471, 41, 601)),
    "procedural": BenchmarkSpec("procedural", 80.0, None, slice(None), None),
    # Capped like KITTI: open terrain reaches ~1 km, and one far horizon would dominate the
    # depth-space alignment (and TAE, a ratio) of a whole video.
    "simulated": BenchmarkSpec("simulated", 80.0, None, slice(None), None),
}


@dataclass
class BenchmarkVideo:
    dataset: str
    name: str
    frames: np.ndarray  # uint8 (T,H,W,3)
    depth: np.ndarray  # float32 (T,H,W), NaN or 0 where unknown
    valid: np.ndarray  # bool (T,H,W)
    max_depth: float
    min_depth: float = 1e-3
    poses: np.ndarray | None = None  # (T,4,4) camera-to-world
    K: np.ndarray | None = None  # (3,3)
    extra: dict = field(default_factory=dict)


def _natkey(p: Path):
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.name)]


def _files(folder: Path, exts: tuple[str, ...]) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in exts), key=_natkey) if folder.is_dir() else []


def read_sintel_dpt(path: str | Path) -> np.ndarray:
    """Sintel .dpt: float32 TAG 202021.25, int32 width, int32 height, then float32 depth rows."""
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) < 12 or np.frombuffer(raw[:4], "<f4")[0] != np.float32(SINTEL_TAG):
        raise InputError(path, "not a Sintel .dpt file (bad TAG header)")
    w, h = (int(x) for x in np.frombuffer(raw[4:12], "<i4"))
    if w <= 0 or h <= 0 or len(raw) != 12 + 4 * w * h:
        raise InputError(path, f"bad .dpt size: header says {w}x{h}, file has {len(raw)} bytes")
    return np.frombuffer(raw[12:], "<f4").reshape(h, w).copy()


def write_sintel_dpt(path: str | Path, depth: np.ndarray) -> None:
    d = np.asarray(depth, "<f4")
    h, w = d.shape
    Path(path).write_bytes(np.float32(SINTEL_TAG).tobytes() + np.array([w, h], "<i4").tobytes() + d.tobytes())


def read_sintel_cam(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Sintel .cam: TAG, 3x3 intrinsics M, 3x4 world-to-camera extrinsics N (float64)."""
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) < 4 + 8 * 21 or np.frombuffer(raw[:4], "<f4")[0] != np.float32(SINTEL_TAG):
        raise InputError(path, "not a Sintel .cam file (bad TAG header or too short)")
    vals = np.frombuffer(raw[4 : 4 + 8 * 21], "<f8")
    return vals[:9].reshape(3, 3).copy(), vals[9:].reshape(3, 4).copy()


def write_sintel_cam(path: str | Path, K: np.ndarray, w2c: np.ndarray) -> None:
    Path(path).write_bytes(
        np.float32(SINTEL_TAG).tobytes() + np.asarray(K, "<f8").tobytes() + np.asarray(w2c, "<f8")[:3].tobytes()
    )


def _read_rgb(path: Path) -> np.ndarray:
    im = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if im is None:
        raise InputError(path, "cannot read image")
    return cv2.cvtColor(im, cv2.COLOR_BGR2RGB)


def _read_png16(path: Path, scale: float) -> np.ndarray:
    d = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if d is None or d.ndim != 2:
        raise InputError(path, "cannot read a single-channel depth PNG")
    if d.dtype != np.uint16:
        raise InputError(path, f"depth PNG must be 16-bit, got {d.dtype}")
    out = d.astype(np.float32) / np.float32(scale)
    out[d == 0] = np.nan
    return out


def _crop(a: np.ndarray, spec: BenchmarkSpec) -> np.ndarray:
    """a (T,H,W[,C]): even-size crop then the protocol crop."""
    if spec.even_size:
        a = a[:, : a.shape[1] // 2 * 2, : a.shape[2] // 2 * 2]
    if spec.crop is not None:
        r0, r1, c0, c1 = spec.crop
        a = a[:, r0:r1, c0:c1]
    return a


def _video(spec, name, rgb, depth, poses=None, K=None) -> BenchmarkVideo:
    if rgb.shape[1:3] != depth.shape[1:3]:
        # e.g. raw ScanNet colour is 1296x968 and depth 640x480: colour follows depth
        rgb = np.stack([cv2.resize(f, (depth.shape[2], depth.shape[1]), interpolation=cv2.INTER_AREA) for f in rgb])
    crop_shift = (0, 0)
    if spec.crop is not None:
        r0 = spec.crop[0]
        c0 = spec.crop[2]
        crop_shift = (c0 if c0 >= 0 else depth.shape[2] + c0, r0 if r0 >= 0 else depth.shape[1] + r0)
    rgb, depth = _crop(rgb, spec), _crop(depth, spec)
    if K is not None:
        K = np.array(K, dtype=np.float64)
        K[0, 2] -= crop_shift[0]
        K[1, 2] -= crop_shift[1]
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(depth) & (depth > spec.min_depth) & (depth < spec.max_depth)
    return BenchmarkVideo(spec.name, name, np.ascontiguousarray(rgb), np.ascontiguousarray(depth), valid,
                          spec.max_depth, spec.min_depth, poses, K)


def _sintel(root: Path, spec: BenchmarkSpec, max_frames) -> Iterator[BenchmarkVideo]:
    base = root / "training" if (root / "training" / "clean").is_dir() else root
    if not (base / "clean").is_dir() or not (base / "depth").is_dir():
        raise InputError(root, "Sintel layout needs clean/<seq>/*.png and depth/<seq>/*.dpt (optionally under training/)")
    for seq in sorted(p for p in (base / "clean").iterdir() if p.is_dir()):
        imgs = _files(seq, (".png",))[spec.frames][:max_frames]
        if not imgs:
            continue
        rgb = np.stack([_read_rgb(p) for p in imgs])
        depth = np.stack([read_sintel_dpt(base / "depth" / seq.name / (p.stem + ".dpt")) for p in imgs])
        poses = K = None
        cams = [base / "camdata_left" / seq.name / (p.stem + ".cam") for p in imgs]
        if all(c.is_file() for c in cams):
            Ks, ps = [], []
            for c in cams:
                M, N = read_sintel_cam(c)
                w2c = np.eye(4)
                w2c[:3] = N
                Ks.append(M)
                ps.append(np.linalg.inv(w2c))
            poses, K = np.stack(ps), Ks[0]
        yield _video(spec, seq.name, rgb, depth, poses, K)


def _paired_png(root: Path, spec: BenchmarkSpec, max_frames, rgb_dirs, depth_dirs, exts) -> Iterator[BenchmarkVideo]:
    seqs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    found = False
    for seq in seqs:
        rgb_dir = next((seq / d for d in rgb_dirs if (seq / d).is_dir()), None)
        dep_dir = next((seq / d for d in depth_dirs if (seq / d).is_dir()), None)
        if rgb_dir is None or dep_dir is None:
            continue
        found = True
        imgs, deps = _files(rgb_dir, exts), _files(dep_dir, (".png",))
        n = min(len(imgs), len(deps))
        if len(imgs) != len(deps):
            # Bonn pairs rgb and depth by sorted order; a count mismatch means a broken folder
            raise InputError(seq, f"{len(imgs)} colour frames but {len(deps)} depth frames")
        idx = list(range(n))[spec.frames][:max_frames]
        if not idx:
            continue
        rgb = np.stack([_read_rgb(imgs[i]) for i in idx])
        depth = np.stack([_read_png16(deps[i], spec.depth_scale) for i in idx])
        poses = K = None
        if spec.name == "scannet":
            pose_files = [seq / "pose" / (imgs[i].stem + ".txt") for i in idx]
            kf = seq / "intrinsic" / "intrinsic_depth.txt"
            if kf.is_file() and all(p.is_file() for p in pose_files):
                P = np.stack([np.loadtxt(p).reshape(4, 4) for p in pose_files])
                if np.isfinite(P).all():  # ScanNet marks lost tracking with -inf poses
                    poses, K = P, np.loadtxt(kf).reshape(4, 4)[:3, :3]
        yield _video(spec, seq.name, rgb, depth, poses, K)
    if not found:
        raise InputError(root, f"no {spec.name} sequences: expected <seq>/{rgb_dirs[0]}/ and <seq>/{depth_dirs[0]}/")


def _procedural(n_videos: int, max_frames, seed: int = 1000) -> Iterator[BenchmarkVideo]:
    from model.benchmarks.procedural import render_clip

    spec = SPECS["procedural"]
    for i in range(n_videos):
        c = render_clip(max_frames or 16, 96, 128, seed=seed + i)
        yield _video(spec, c.name, c.frames, c.depth, c.poses, c.K)


def simulator():
    """The parts of `capture.simulate` the generated benchmarks and the VAE fit use, imported lazily
    (model does not depend on capture): a namespace with Renderer, build_scene, SCENE_KINDS,
    intrinsics_from_fov."""
    from types import SimpleNamespace

    try:
        from capture.simulate.camera import intrinsics_from_fov
        from capture.simulate.render import Renderer
        from capture.simulate.scenes import SCENE_KINDS, build_scene
    except ImportError as e:
        raise InputError(None, f"simulated scenes need capture.simulate, which is not available ({e}); "
                               "use the 'procedural' benchmark instead") from None
    return SimpleNamespace(Renderer=Renderer, build_scene=build_scene, SCENE_KINDS=SCENE_KINDS,
                           intrinsics_from_fov=intrinsics_from_fov)


def _simulated(n_videos: int, max_frames, seed: int = 900_000, fps: float = 30.0, width: int = 128,
               height: int = 96) -> Iterator[BenchmarkVideo]:
    """Held-out capture.simulate scenes (seeds far from the training ones) with exact depth, poses, K."""
    sim = simulator()
    spec = SPECS["simulated"]
    n = max_frames or 16
    w, h = width, height
    K = sim.intrinsics_from_fov(w, h, 60.0)
    renderer = sim.Renderer(w, h, K)
    for i in range(n_videos):
        kind = sim.SCENE_KINDS[i % len(sim.SCENE_KINDS)]
        scene = sim.build_scene(kind, seed + i, n / fps)
        rgbs, depths, poses = [], [], []
        for k in range(n):
            pose = scene.camera.pose(k / fps)
            rgb, depth = renderer.render(scene, pose, k / fps)
            rgbs.append(rgb)
            depths.append(np.where(np.isfinite(depth), depth, np.nan).astype(np.float32))  # sky: invalid
            poses.append(pose)
        yield _video(spec, f"simulated_{kind}_{seed + i}", np.stack(rgbs), np.stack(depths), np.stack(poses), K)


def load_benchmark(
    name: str, root: str | Path | None = None, max_frames: int | None = None, max_videos: int | None = None
) -> Iterator[BenchmarkVideo]:
    """Yield the benchmark's videos; `max_frames` truncates each after the protocol's frame selection."""
    if name not in SPECS:
        raise InputError(None, f"unknown benchmark {name!r}; choose from {sorted(SPECS)}")
    spec = SPECS[name]
    if name in ("procedural", "simulated"):
        gen = (_procedural if name == "procedural" else _simulated)(max_videos or 4, max_frames)
        yield from gen
        return
    if root is None:
        raise InputError(None, f"benchmark {name!r} needs --root pointing at the dataset in its published layout")
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "benchmark root folder not found")
    if name == "sintel":
        gen = _sintel(root, spec, max_frames)
    elif name == "kitti":
        gen = _paired_png(root, spec, max_frames, ("rgb", "image_02/data"), ("depth", "proj_depth/groundtruth/image_02"), (".png",))
    elif name == "bonn":
        gen = _paired_png(root, spec, max_frames, ("rgb",), ("depth",), (".png",))
    elif name == "scannet":
        gen = _paired_png(root, spec, max_frames, ("color",), ("depth",), (".jpg", ".png"))
    else:
        gen = _paired_png(root, spec, max_frames, ("rgb",), ("depth",), (".jpg", ".png"))
    for i, v in enumerate(gen):
        if max_videos is not None and i >= max_videos:
            return
        yield v
