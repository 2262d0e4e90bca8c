"""Small in-memory footage for the frame-check tests, made from real Resident Evil 2 captures
(tests/data/re2: reduced copies of frames in ../shared/realdata): a virtual camera pans over one captured frame (picture and true depth cropped
the same way), and faults or clean events are put in the way an outside tool would.

Everything is at the checks' working resolution (160 x 90), so a 150-frame sequence takes a second.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

REAL = Path(__file__).resolve().parent / "data" / "re2"  # reduced copies of ../shared/realdata frames
W, H = 160, 90


def real_frame(i: int) -> tuple[np.ndarray, np.ndarray]:
    rgb = cv2.cvtColor(cv2.imread(str(REAL / f"{i:06d}_rgb.png")), cv2.COLOR_BGR2RGB)
    depth = np.load(REAL / f"{i:06d}_depth.npy").astype(np.float32)
    depth[~np.isfinite(depth)] = np.nan  # +inf = no surface: invalid, as the reader gives it
    return rgb, depth


def gray8(depth: np.ndarray, near: float = 0.1, far_plane: float = 1000.0) -> np.ndarray:
    """Depth as an 8-bit ReShade capture returns it: GetLinearizedDepth of an infinite reversed-Z
    buffer, rounded to 255 levels, mapped back to metres (sky stays invalid)."""
    L = np.clip(depth / (depth + near * far_plane), 0, 1)
    q = np.round(L * 255) / 255
    with np.errstate(divide="ignore", invalid="ignore"):
        z = q * near * far_plane / (1 - q)
    z[(q <= 0) | (q >= 1) | ~np.isfinite(depth)] = np.nan
    return z.astype(np.float32)


def pan(n: int, src: int = 3, speed: float = 0.3, still: tuple[int, int] | None = None, seed: int = 0,
        eight_bit: bool = True, slow: tuple[int, int, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """n frames of a camera panning over captured frame `src` at `speed` work pixels per frame with a
    slow zoom; the camera stands still over `still` = (start, stop) and moves at `factor` x its
    speed over `slow` = (start, stop, factor)."""
    rng = np.random.default_rng(seed)
    rgb0, d0 = real_frame(src)
    h0, w0 = d0.shape
    step = np.zeros(n)
    step[1:] = 1.0
    if slow:
        step[slow[0] : slow[1]] = slow[2]
    if still:
        step[still[0] : still[1]] = 0.0
    prog = np.cumsum(step)
    direction = rng.uniform(-1, 1, 2)
    direction /= np.linalg.norm(direction)
    scale0 = 0.6
    out_rgb = np.empty((n, H, W, 3), np.uint8)
    out_d = np.empty((n, H, W), np.float32)
    for t in range(n):
        s = scale0 * (1 - 0.0008 * prog[t])
        cw, ch = w0 * s, w0 * s * H / W
        cx = w0 / 2 + direction[0] * prog[t] * speed * cw / W
        cy = h0 / 2 + direction[1] * prog[t] * speed * ch / W * 0.5
        M = np.array([[cw / W, 0, cx - cw / 2], [0, ch / H, cy - ch / 2]], np.float32)
        flags = cv2.WARP_INVERSE_MAP
        out_rgb[t] = cv2.warpAffine(rgb0, M, (W, H), flags=cv2.INTER_AREA | flags, borderMode=cv2.BORDER_REFLECT)
        out_d[t] = cv2.warpAffine(d0, M, (W, H), flags=cv2.INTER_NEAREST | flags, borderMode=cv2.BORDER_REFLECT)
    # Codec-like noise on the picture; the depth rounded as an 8-bit capture stores it.
    noisy = out_rgb.astype(np.float32) + rng.normal(0, 0.8, out_rgb.shape)
    out_rgb = np.clip(noisy, 0, 255).astype(np.uint8)
    return out_rgb, (gray8(out_d) if eight_bit else out_d)


# ---- clean events (hard negatives) ------------------------------------------------------------

def flash(rgb: np.ndarray, t: int, frames: int = 2) -> None:
    """A muzzle flash: a bright smooth blob on the picture only."""
    yy, xx = np.mgrid[0:H, 0:W]
    g = np.exp(-(((xx - W * 0.6) ** 2 + (yy - H * 0.6) ** 2) / (2 * (W * 0.15) ** 2)))
    for i in range(t, t + frames):
        rgb[i] = np.clip(rgb[i] + 180 * g[..., None], 0, 255).astype(np.uint8)


def light(rgb: np.ndarray, a: int, b: int, gain: float = 0.55, region: slice | None = None) -> None:
    """A light switching: the picture (or a band of it) darker over [a, b), depth untouched."""
    sl = (slice(a, b), region or slice(None))
    rgb[sl] = np.clip(rgb[sl].astype(np.float32) * gain, 0, 255).astype(np.uint8)


def walker(rgb: np.ndarray, depth: np.ndarray, a: int, b: int, size: int = 26, speed: float = 2.0) -> None:
    """A character walking across the view over [a, b): a textured figure in the picture, its depth a
    smoothed stand-in for its silhouette (as in the real captures), nearer than what is behind it."""
    rng = np.random.default_rng(1)
    tex = rng.integers(40, 220, (size * 2, size, 3)).astype(np.uint8)
    tex = cv2.resize(cv2.resize(tex, (size // 3, size * 2 // 3)), (size, size * 2), interpolation=cv2.INTER_NEAREST)
    yy, xx = np.mgrid[0 : size * 2, 0:size]
    blob = np.exp(-(((xx - size / 2) / (size / 2.5)) ** 2 + ((yy - size) / (size / 1.2)) ** 2))
    for t in range(a, b):
        x0 = int(10 + speed * (t - a)) % (W - size)
        y0 = H - size * 2 - 2
        sl = (slice(y0, y0 + size * 2), slice(x0, x0 + size))
        m = blob > 0.3
        rgb[t][sl][m] = tex[m]
        near = np.nanmin(depth[t][sl]) * 0.5
        depth[t][sl] = np.where(m, near * (1 + 0.2 * (1 - blob)), depth[t][sl])


def blur(rgb: np.ndarray, sigma: float = 60.0) -> np.ndarray:
    """The picture of a plain wall: the view with its texture blurred away (flat blocks), the light
    and codec noise kept."""
    out = np.empty_like(rgb)
    rng = np.random.default_rng(2)
    for t in range(len(rgb)):
        b = cv2.GaussianBlur(rgb[t].astype(np.float32), (0, 0), sigma)
        out[t] = np.clip(b + rng.normal(0, 0.8, b.shape), 0, 255).astype(np.uint8)
    return out


# ---- faults -----------------------------------------------------------------------------------

def freeze(depth: np.ndarray, a: int, b: int) -> None:
    depth[a:b] = depth[a]


def lag(depth: np.ndarray, a: int, b: int, k: int) -> None:
    src = depth.copy()
    depth[a:b] = src[a - k : b - k]


def menu(rgb: np.ndarray, a: int, b: int) -> None:
    """A dark translucent panel with bright text bars over the middle of the picture."""
    y0, y1, x0, x1 = int(H * 0.2), int(H * 0.8), int(W * 0.2), int(W * 0.8)
    panel = rgb[a:b, y0:y1, x0:x1].astype(np.float32) * 0.25 + 20
    ph, pw = y1 - y0, x1 - x0
    for i in range(4):
        yy = int(ph * (0.2 + 0.17 * i))
        panel[:, yy : yy + max(2, ph // 14), pw // 6 : pw - pw // 6] = 230
    rgb[a:b, y0:y1, x0:x1] = panel.clip(0, 255).astype(np.uint8)


def opaque_menu(rgb: np.ndarray, a: int, b: int) -> None:
    """A still full-screen menu (the world goes on in the depth buffer)."""
    img = np.full((H, W, 3), 30, np.uint8)
    for i in range(5):
        img[15 + 14 * i : 20 + 14 * i, 30:130] = 200
    rgb[a:b] = img


def loading(rgb: np.ndarray, depth: np.ndarray, a: int, b: int) -> None:
    """A near-black screen with a small spinner; the depth stuck at the last frame."""
    rgb[a:b] = 8
    for t in range(a, b):
        ang = 0.4 * (t - a)
        cy, cx = int(H - 12 + 5 * np.sin(ang)), int(W - 12 + 5 * np.cos(ang))
        rgb[t, cy - 3 : cy + 3, cx - 3 : cx + 3] = 200
    depth[a:b] = depth[a - 1]


def fade(rgb: np.ndarray, a: int, b: int) -> None:
    """To black and back."""
    g = np.abs(np.linspace(-1.0, 1.0, b - a, dtype=np.float32))
    rgb[a:b] = (rgb[a:b].astype(np.float32) * g[:, None, None, None]).astype(np.uint8)
