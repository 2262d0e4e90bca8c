"""Clean events: footage that looks unusual but whose depth matches the picture (hard negatives).

Real play is full of them, and a curator that mistakes them for faults throws clean hours away:
- still:        the camera stands still for seconds while characters and objects move on
- flash:        a muzzle flash or an explosion, 1-4 frames, local or global (picture only)
- light_switch: a light switching off/on, a step of brightness and colour that lasts seconds,
                world-anchored (local) or global (picture only)
- fast_turn:    a fast yaw turn (up to ~360 deg/s) with horizontal motion blur on the picture
- dark:         low-key lighting: luma mostly below 0.15 (whole recording)
- fog:          fog blending far pixels toward a colour plus particles (dust, snow, embers) drawn
                on the picture only, not in the depth (whole recording)
- soft_depth:   moving objects' depth is a blurred blob around their silhouette while the picture
                is sharp, as game depth proxies are (whole recording; the depth channel only)

Picture effects work in the renderer's display encoding (sqrt of linear light), so a flash adds
light and a dimmed light multiplies it. Every function here is deterministic for its params.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

SPAN_CLEAN_KINDS = ("still", "flash", "light_switch", "fast_turn")
WHOLE_CLEAN_KINDS = ("dark", "fog", "soft_depth")
CLEAN_KINDS = SPAN_CLEAN_KINDS + WHOLE_CLEAN_KINDS
# Seconds per span event (lo, hi); a flash is counted in frames.
CLEAN_SECONDS = {"still": (1.5, 4.0), "light_switch": (1.5, 5.0), "fast_turn": (0.6, 1.4)}
FLASH_FRAMES = (1, 4)
# Objects that move in the procedural scenes: soft_depth blurs their depth.
MOVING_NAMES = frozenset({"character", "bouncer", "slider", "car", "animal", "boulder"})


def clean_params(kind: str, rng: np.random.Generator) -> dict:
    """Random but fixed look of one clean event."""
    if kind == "flash":
        local = bool(rng.random() < 0.6)
        return {"local": local, "centre": [float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.3, 0.85))],
                "radius": float(rng.uniform(0.08, 0.35)), "strength": float(rng.uniform(0.6, 1.6)),
                "colour": [1.0, float(rng.uniform(0.7, 0.95)), float(rng.uniform(0.35, 0.7))]}
    if kind == "light_switch":
        dim = bool(rng.random() < 0.6)
        gain = float(rng.uniform(0.25, 0.6) if dim else rng.uniform(1.6, 2.6))
        return {"local": bool(rng.random() < 0.5), "gain": gain,
                "tint": [float(v) for v in rng.uniform(0.8, 1.15, 3)],
                "distance": float(rng.uniform(2.0, 8.0)), "offset": [float(v) for v in rng.uniform(-0.4, 0.4, 2)],
                "radius": float(rng.uniform(1.5, 4.0))}
    if kind == "fast_turn":
        return {"peak_rate": float(rng.choice([-1.0, 1.0]) * rng.uniform(math.pi, 2 * math.pi))}
    if kind == "dark":
        return {"gain": float(rng.uniform(0.012, 0.03))}
    if kind == "fog":
        return {"colour": [float(v) for v in rng.uniform(0.45, 0.8, 3)], "half_distance": float(rng.uniform(8.0, 30.0)),
                "particles": int(rng.integers(80, 300)), "particle_kind": str(rng.choice(["dust", "snow", "embers"])),
                "seed": int(rng.integers(2**31))}
    if kind == "soft_depth":
        return {"sigma": float(rng.uniform(2.0, 4.0))}  # pixels at 320 wide
    return {}


# ------------------------------------------------------------------------------- picture effects


def _to_linear(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float32) * np.float32(1 / 255)
    return x * x


def _to_display(lin: np.ndarray) -> np.ndarray:
    return (np.sqrt(np.clip(lin, 0.0, 1.0)) * 255.0 + 0.5).astype(np.uint8)


def flash_gain(local_frame: int, length: int) -> float:
    """Strength of a flash over its frames: brightest first, decaying."""
    return float(0.55 ** local_frame) if length > 1 else 1.0


def apply_flash(rgb: np.ndarray, params: dict, local_frame: int, length: int) -> np.ndarray:
    """Add the light of a muzzle flash / explosion: a blob (local) or the whole frame (global)."""
    h, w = rgb.shape[:2]
    k = np.float32(params["strength"] * flash_gain(local_frame, length))
    col = np.asarray(params["colour"], np.float32)
    lin = _to_linear(rgb)
    if params["local"]:
        y, x = np.ogrid[0:h, 0:w]
        cx, cy = params["centre"][0] * w, params["centre"][1] * h
        r = params["radius"] * h
        blob = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))).astype(np.float32)
        lin = lin + (k * blob)[..., None] * col
    else:
        lin = lin * (1 + k) + k * 0.08 * col
    return _to_display(lin)


def apply_light(rgb: np.ndarray, params: dict, region: np.ndarray | None) -> np.ndarray:
    """A light switched: brightness/colour gain over `region` (HxW weights 0..1) or everywhere."""
    g = np.asarray(params["tint"], np.float32) * np.float32(params["gain"])
    lin = _to_linear(rgb)
    if region is None:
        lin = lin * g
    else:
        lin = lin * (1 + region[..., None] * (g - 1))
    return _to_display(lin)


def light_region_world(points: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Soft weights of the pixels whose world point lies near a light at `centre` (HxWx3 points)."""
    d2 = ((points - centre.astype(np.float32)) ** 2).sum(-1)
    w = np.exp(-d2 / np.float32(2 * radius * radius))
    return np.nan_to_num(w, nan=0.0).astype(np.float32)


def light_region_screen(h: int, w: int, centre: Sequence[float], radius: float) -> np.ndarray:
    """Soft weights around a point (fractions of the frame), radius a fraction of the height."""
    y, x = np.ogrid[0:h, 0:w]
    r = radius * h
    return np.exp(-(((x - centre[0] * w) ** 2 + (y - centre[1] * h) ** 2) / (2 * r * r))).astype(np.float32)


def apply_dark(rgb: np.ndarray, params: dict) -> np.ndarray:
    """Low-key lighting: linear light scaled down (emissive highlights stay visible)."""
    lin = _to_linear(rgb)
    return _to_display(lin * np.float32(params["gain"]) + np.float32(0.15) * np.maximum(lin - 0.8, 0))


def apply_fog(rgb: np.ndarray, depth: np.ndarray, params: dict, frame: int, fps: float) -> np.ndarray:
    """Fog toward a colour with distance (sky = fog), then particles drawn on the picture only."""
    h, w = rgb.shape[:2]
    k = np.float32(math.log(2) / params["half_distance"])
    with np.errstate(invalid="ignore", over="ignore"):
        f = np.exp(-k * np.where(np.isfinite(depth), depth, np.float32(1e6))).astype(np.float32)
    lin = _to_linear(rgb)
    fog = np.asarray(params["colour"], np.float32) ** 2
    lin = lin * f[..., None] + fog * (1 - f[..., None])
    out = _to_display(lin)
    return draw_particles(out, params, frame, fps)


def draw_particles(rgb: np.ndarray, params: dict, frame: int, fps: float) -> np.ndarray:
    """Screen-space sprites drifting (snow falls, embers rise, dust floats); not in any depth."""
    h, w = rgb.shape[:2]
    rng = np.random.default_rng(params["seed"])
    n = params["particles"]
    x0, y0 = rng.uniform(0, w, n), rng.uniform(0, h, n)
    size = rng.uniform(0.5, 2.0, n) * h / 180
    kind = params["particle_kind"]
    vy = {"snow": 25.0, "embers": -30.0, "dust": 4.0}[kind] * h / 180 * rng.uniform(0.5, 1.5, n)
    vx = rng.normal(0, 6.0, n) * h / 180
    t = frame / fps
    x = (x0 + vx * t + 3 * np.sin(t * rng.uniform(0.5, 2, n) + x0)) % w
    y = (y0 + vy * t) % h
    col = {"snow": (235, 235, 240), "embers": (255, 150, 60), "dust": (200, 190, 170)}[kind]
    out = rgb.copy()
    layer = np.zeros((h, w), np.float32)
    for xi, yi, si in zip(x, y, size, strict=True):
        cv2.circle(layer, (int(xi), int(yi)), max(1, int(round(si))), 0.8, -1, cv2.LINE_AA)
    a = np.clip(layer, 0, 1)[..., None]
    out = (out * (1 - a) + np.asarray(col, np.float32) * a + 0.5).astype(np.uint8)
    return out


def motion_blur(rgb: np.ndarray, yaw_rate: float, fps: float, fx: float, shutter: float = 0.5) -> np.ndarray:
    """Horizontal blur of a yaw turn: the image moves |rate| / fps * fx pixels per frame."""
    length = int(round(abs(yaw_rate) / fps * fx * shutter))
    if length < 2:
        return rgb
    return cv2.blur(rgb, (length, 1), borderType=cv2.BORDER_REFLECT)


def soft_depth(depth: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Depth with the objects under `mask` replaced by a blurred blob of their depth that spills
    past their silhouette (blended in inverse depth, so sky stays sky where the blob is faint)."""
    if not mask.any():
        return depth
    m = mask.astype(np.float32)
    k = int(2 * math.ceil(3 * sigma) + 1)
    alpha = cv2.GaussianBlur(m, (k, k), sigma)
    z = np.where(mask, depth, 0).astype(np.float32)
    z_obj = cv2.GaussianBlur(z, (k, k), sigma) / np.maximum(alpha, 1e-6)
    # Grow the blob: where it is at least a quarter there, it is fully there (a fat proxy).
    a = np.clip(alpha * 2.5, 0, 1)
    with np.errstate(divide="ignore"):
        inv_bg = np.where(np.isfinite(depth), 1.0 / np.maximum(depth, 1e-6), 0.0)
        inv_obj = 1.0 / np.maximum(z_obj, 1e-6)
        inv = a * inv_obj + (1 - a) * inv_bg
        out = np.where(inv > 0, 1.0 / np.maximum(inv, 1e-12), np.inf).astype(np.float32)
    return np.where(alpha > 0.01, out, depth).astype(np.float32)
