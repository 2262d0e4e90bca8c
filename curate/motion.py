"""How the picture and the depth move from one frame to the next, measured on each alone.

Aligned streams move together: a camera that pans moves the picture and the depth alike, at the
same frame. The frame checks compare the two motions instead of comparing picture and depth
appearance, which differ in every game (textures, lighting, fog, a character whose depth is a
smoothed stand-in for its silhouette).

`Tracker.push(img)` tracks corners of the previous image into this one (pyramidal Lucas-Kanade,
with a forward-backward check) and fits a similarity transform with RANSAC. It reports the
transform, how many tracks survived and fitted, and the share of tracks that did not move at all
(a static layer: a menu over a moving world, or a depth that stopped).
`structure_change(prev_hp, hp, transform)` is the share of textured blocks whose fine structure
changed beyond what the motion explains: a menu or a loading screen appearing, not a light
switching (a gain leaves normalised structure alone) or a flash (a smooth blob). Measured a few
frames later against the frames before and after a change, it tells a change that stays (an
overlay opened) from one that goes (a flash that burnt part of the picture white for a frame).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_LK = dict(winSize=(13, 13), maxLevel=2, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
# Points at which a transform's displacement is measured (fractions of width and height).
_GRID = np.array([[x, y] for y in (0.2, 0.5, 0.8) for x in (0.2, 0.5, 0.8)], np.float64)


class Tracker:
    """Similarity motion of a stream of 8-bit images (picture luma or rendered depth)."""

    def __init__(self, max_corners: int = 60, fb_max: float = 0.3, static_px: float = 0.03):
        self.max_corners, self.fb_max, self.static_px = max_corners, fb_max, static_px
        self._prev: np.ndarray | None = None
        self._pts: np.ndarray | None = None

    def reset(self) -> None:
        self._prev, self._pts = None, None

    def set_reference(self, img: np.ndarray, mask: np.ndarray | None = None) -> None:
        """The image the next `push` tracks from (and its corners), without tracking into it."""
        self._prev = img
        self._pts = cv2.goodFeaturesToTrack(img, maxCorners=self.max_corners, qualityLevel=0.01, minDistance=7,
                                            blockSize=5, mask=mask)

    def push(self, img: np.ndarray, previous: np.ndarray | None = None,
             mask: np.ndarray | None = None, keep: bool = True) -> tuple[np.ndarray, int, int, float]:
        """(similarity [a, b, tx, ty] or NaNs, tracks, inliers, static share) from the last image to
        `img`. `previous`: the last image redrawn the way `img` is drawn (depth is rendered with
        each frame's own range; both frames of a pair must share one). `mask` (uint8, 0 = ignore)
        keeps the corners tracked into the next frame off a HUD; `keep=False` leaves the reference
        to the caller (`set_reference`)."""
        out = (np.full(4, np.nan), 0, 0, np.nan)
        prev = previous if previous is not None else self._prev
        if prev is not None and self._pts is not None and len(self._pts) >= 8:
            p1, st, _ = cv2.calcOpticalFlowPyrLK(prev, img, self._pts, None, **_LK)
            pb, st2, _ = cv2.calcOpticalFlowPyrLK(img, prev, p1, None, **_LK)
            ok = (st[:, 0] == 1) & (st2[:, 0] == 1) & (np.linalg.norm((pb - self._pts)[:, 0], axis=1) < self.fb_max)
            n = int(ok.sum())
            if n >= 8:
                a, b = self._pts[ok], p1[ok]
                static = float(np.mean(np.linalg.norm((b - a)[:, 0], axis=1) < self.static_px))
                M, inl = cv2.estimateAffinePartial2D(a, b, method=cv2.RANSAC, ransacReprojThreshold=0.7,
                                                     maxIters=200, refineIters=5)
                if M is not None:
                    out = (np.array([M[0, 0], M[1, 0], M[0, 2], M[1, 2]]), n, int(inl.sum()), static)
                else:
                    out = (np.full(4, np.nan), n, 0, static)
        if keep:
            self.set_reference(img, mask)
        return out


def as_matrix(sim: np.ndarray) -> np.ndarray:
    """[a, b, tx, ty] -> the 2x3 matrix x' = a x - b y + tx, y' = b x + a y + ty."""
    a, b, tx, ty = sim
    return np.array([[a, -b, tx], [b, a, ty]], np.float64)


def displacement(sims: np.ndarray, width: int, height: int) -> np.ndarray:
    """(n, 9, 2) displacement of the grid points under each frame's similarity (NaN where none)."""
    g = _GRID * np.array([width, height])
    a, b, tx, ty = (sims[:, i, None] for i in range(4))
    x, y = g[None, :, 0], g[None, :, 1]
    return np.stack([a * x - b * y + tx - x, b * x + a * y + ty - y], axis=-1)


def highpass(gray: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    g = gray.astype(np.float32)
    return g - cv2.GaussianBlur(g, (0, 0), sigma)


def _blocks(a: np.ndarray, bs: int) -> np.ndarray:
    gh, gw = a.shape[0] // bs, a.shape[1] // bs
    return a[: gh * bs, : gw * bs].reshape(gh, bs, gw, bs)


def compose(sims: list[np.ndarray]) -> np.ndarray:
    """The 2x3 matrix of consecutive similarities applied in order; a frame that could not be
    tracked is taken to move as the frame before it did (the camera's motion is smooth)."""
    # In plain floats: a few dozen multiplications, called twice a frame (numpy's per-call cost
    # was most of the time here).
    m = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]  # [[m0, m1, m2], [m3, m4, m5]]
    a, b, tx, ty = 1.0, 0.0, 0.0, 0.0
    for s in sims:
        v = [float(x) for x in s]
        if all(math.isfinite(x) for x in v):
            a, b, tx, ty = v
        # step = [[a, -b, tx], [b, a, ty], [0, 0, 1]]; M <- step @ M
        m = [a * m[0] - b * m[3], a * m[1] - b * m[4], a * m[2] - b * m[5] + tx,
             b * m[0] + a * m[3], b * m[1] + a * m[4], b * m[2] + a * m[5] + ty]
    return np.array([m[:3], m[3:]], np.float64)


def structure_change(prev_hp: np.ndarray, hp: np.ndarray, motion: np.ndarray | None, block: int = 16,
                     min_energy: float = 4.0, min_blocks: int = 6) -> float:
    """Share of textured blocks whose high-pass content no longer matches `prev_hp` moved by
    `motion` (a similarity [a, b, tx, ty] or a 2x3 matrix; normalised cross-correlation < 0.5);
    NaN when too few blocks are textured."""
    if motion is not None and np.isfinite(motion).all():
        M = motion if motion.shape == (2, 3) else as_matrix(motion)
        prev_hp = cv2.warpAffine(prev_hp, M.astype(np.float32), (hp.shape[1], hp.shape[0]),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    a, b = _blocks(hp, block), _blocks(prev_hp, block)
    sab, saa, sbb = (a * b).sum((1, 3)), (a * a).sum((1, 3)), (b * b).sum((1, 3))
    tex = np.maximum(saa, sbb) / (block * block) > min_energy
    if tex.sum() < min_blocks:
        return float("nan")
    ncc = sab / np.sqrt(saa * sbb + 1e-6)
    return float(np.mean(ncc[tex] < 0.5))


def flat_share(gray: np.ndarray, block: int = 16, levels: float = 2.0) -> float:
    """Share of blocks with (almost) no content: luma std below `levels` 8-bit steps."""
    b = _blocks(gray.astype(np.float32), block)
    return float(np.mean(b.std((1, 3)) < levels))


def block_gain(gray: np.ndarray, prev_means: np.ndarray | None) -> tuple[np.ndarray, float, float]:
    """(4x4 block means, median log gain vs the previous means, share of blocks agreeing with it).
    A fade scales every block alike; a camera turning to a brighter place does not."""
    means = cv2.resize(gray.astype(np.float32), (4, 4), interpolation=cv2.INTER_AREA) / 255.0 + 0.02
    if prev_means is None:
        return means, float("nan"), float("nan")
    lr = np.log(means / prev_means).ravel()
    g = float(np.median(lr))
    agree = float(np.mean((np.sign(lr) == np.sign(g)) & (np.abs(lr) > 0.5 * abs(g))))
    return means, g, agree


def log_depth(depth: np.ndarray) -> tuple[np.ndarray, tuple[float, float] | None]:
    """(log depth with invalid pixels NaN, its 1st-99th percentile range or None when too little
    is valid). The range is taken on every 4th pixel: it only scales the image for tracking."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logd = np.log(np.where(depth > 0, depth, np.nan)).astype(np.float32)
    sample = logd[::2, ::2].ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size < 12:
        return logd, None
    lo, hi = np.percentile(sample, [1, 99])
    return logd, (float(lo), float(hi))


def depth_image(logd: np.ndarray, lohi: tuple[float, float]) -> np.ndarray:
    """Log depth as an 8-bit image for tracking over the range `lohi` (invalid = far), so that the
    two frames of a pair can be drawn alike."""
    lo, hi = lohi
    u = (logd - lo) * (255.0 / max(hi - lo, 1e-3))
    np.nan_to_num(u, copy=False, nan=255.0)
    return np.clip(u, 0, 255, out=u).astype(np.uint8)
