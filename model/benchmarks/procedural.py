"""A tiny ray-cast scene generator with exact depth, camera poses and intrinsics.

Not a game recording: a room (floor, ceiling, walls, back wall) with a few boxes, textured by
world-space checkers and darkened by fog, seen by a pinhole camera that moves forward and pans.
Because everything is analytic, depth is exact, consistent with the poses (TAE of the true depth
is 0 up to pixel rounding), and the RGB is consistent across frames (optical flow works). Used by
tests, by the bootstrap/temporal-training demos, and as the `procedural` benchmark when
`capture.simulate` is not available.

Conventions: OpenCV camera (x right, y down, z forward); depth is z in the camera frame (metres);
poses are camera-to-world 4x4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ProceduralClip:
    name: str
    frames: np.ndarray  # uint8 (T,H,W,3)
    depth: np.ndarray  # float32 (T,H,W) metres
    poses: np.ndarray  # float64 (T,4,4) camera-to-world
    K: np.ndarray  # float64 (3,3)


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def render_clip(
    frames: int = 8,
    height: int = 64,
    width: int = 64,
    seed: int = 0,
    speed: float = 0.15,
    pan: float = 0.03,
    fov_deg: float = 70.0,
    name: str | None = None,
) -> ProceduralClip:
    """Render `frames` frames of a random room; `speed` metres/frame forward, `pan` rad/frame yaw."""
    rng = np.random.default_rng(seed)
    f = 0.5 * width / np.tan(np.deg2rad(fov_deg) / 2)
    K = np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1.0]])
    half_w, floor_y, ceil_y, back_z = rng.uniform(3, 5), rng.uniform(1.2, 1.8), -rng.uniform(2.0, 3.0), 25.0
    boxes = []
    for _ in range(3):
        cx, cz = rng.uniform(-half_w + 1, half_w - 1), rng.uniform(4, 14)
        sx, sy, sz = rng.uniform(0.4, 1.0), rng.uniform(0.5, 2.0), rng.uniform(0.4, 1.0)
        boxes.append((np.array([cx - sx, floor_y - sy, cz - sz]), np.array([cx + sx, floor_y, cz + sz])))
    palette = rng.uniform(0.3, 1.0, size=(6 + len(boxes), 3))
    check = rng.uniform(0.6, 1.4)

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    dirs_cam = np.stack([(xs - K[0, 2]) / f, (ys - K[1, 2]) / f, np.ones_like(xs)], -1)  # z = 1
    yaw0 = rng.uniform(-0.2, 0.2)
    rgb_out = np.empty((frames, height, width, 3), np.uint8)
    depth_out = np.empty((frames, height, width), np.float32)
    poses = np.empty((frames, 4, 4))
    for t in range(frames):
        R = _rot_y(yaw0 + pan * np.sin(0.7 * t))
        c = np.array([0.3 * np.sin(0.3 * t), 0.0, speed * t])
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = R, c
        poses[t] = pose
        d = dirs_cam @ R.T  # world ray directions, scaled so that cam-z = 1
        best = np.full((height, width), np.inf)
        col = np.zeros((height, width, 3))
        hit = np.zeros((height, width, 3))

        def take(tt, ok, colour_idx, best=best, col=col, hit=hit, d=d, c=c):
            upd = ok & (tt > 1e-6) & (tt < best)
            best[upd] = tt[upd]
            col[upd] = palette[colour_idx]
            hit[upd] = c + tt[upd, None] * d[upd]

        with np.errstate(divide="ignore", invalid="ignore"):
            # planes: floor, ceiling, left/right walls, back wall
            for axis, val, idx in ((1, floor_y, 0), (1, ceil_y, 1), (0, -half_w, 2), (0, half_w, 3), (2, back_z, 4)):
                tt = (val - c[axis]) / d[..., axis]
                take(tt, np.isfinite(tt), idx)
            for bi, (lo, hi) in enumerate(boxes):
                t1, t2 = (lo - c) / d, (hi - c) / d
                tmin = np.nanmax(np.minimum(t1, t2), axis=-1)
                tmax = np.nanmin(np.maximum(t1, t2), axis=-1)
                take(tmin, tmax >= tmin, 6 + bi)
        # the rays have cam-z = 1, so the ray parameter IS the z-depth
        depth = best
        p = hit * check
        checker = (np.floor(p[..., 0]) + np.floor(p[..., 1]) + np.floor(p[..., 2])) % 2
        fog = np.exp(-depth / 18.0)[..., None]
        img = col * (0.55 + 0.45 * checker[..., None]) * fog + 0.08 * (1 - fog)
        rgb_out[t] = np.clip(img * 255, 0, 255).astype(np.uint8)
        depth_out[t] = depth.astype(np.float32)
    return ProceduralClip(name or f"procedural_{seed:03d}", rgb_out, depth_out, poses, K)
