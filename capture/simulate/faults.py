"""Fault kinds, what curation must do with each, and the screen overlays that draw them.

Per-frame effect of each kind (the timeline applies them; see `timeline.py`):
- menu:         RGB = blurred, dimmed world + a menu panel; depth channel = the world.
- depth_lag:    depth channel = world depth of frame t - k while RGB shows frame t.
- frozen_depth: depth channel stuck at the event's first frame while the picture moves.
- loading:      RGB = a loading screen; depth channel = last world frame ("last") or the
                cleared buffer, i.e. far / sky everywhere ("cleared").
- cut:          camera and scene jump; RGB and depth jump together (a scene boundary).
- hud:          HUD drawn on RGB at fixed places; the manifest's hud_mask covers it.
- fade:         RGB fades to black and back; depth unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

FAULT_KINDS = ("menu", "depth_lag", "frozen_depth", "loading", "cut", "hud", "fade")
# Spans curation must drop; "cut" is a scene boundary to split at; "hud" is masked, not dropped.
DROP_KINDS = frozenset({"menu", "depth_lag", "frozen_depth", "loading", "fade"})
BOUNDARY_KINDS = frozenset({"cut"})


@dataclass
class FaultEvent:
    """One fault over frames [start_frame, end_frame) with its kind-specific parameters."""

    kind: str
    start_frame: int
    end_frame: int
    params: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"kind": self.kind, "start_frame": int(self.start_frame), "end_frame": int(self.end_frame),
                **self.params}


# --------------------------------------------------------------------------------------- HUD


def _hud_boxes(width: int, height: int) -> dict[str, tuple[int, int, int, int]]:
    """Fixed HUD element rectangles (x0, y0, x1, y1), scaled to the frame."""
    s = height / 180.0
    m = max(2, int(round(6 * s)))
    mm = int(round(44 * s))
    cw = max(3, int(round(5 * s)))
    return {
        "health": (m, height - m - int(round(12 * s)), m + int(round(90 * s)), height - m),
        "minimap": (width - m - mm, m, width - m, m + mm),
        "crosshair": (width // 2 - cw, height // 2 - cw, width // 2 + cw + 1, height // 2 + cw + 1),
        "ammo": (width - m - int(round(50 * s)), height - m - int(round(14 * s)), width - m, height - m),
    }


def hud_mask(width: int, height: int) -> np.ndarray:
    """HxW bool, True where the HUD is drawn (and the depth is therefore not the picture's)."""
    mask = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in _hud_boxes(width, height).values():
        mask[max(0, y0):y1, max(0, x0):x1] = True
    return mask


def draw_hud(rgb: np.ndarray, frame: int, fps: float, yaw: float) -> np.ndarray:
    """Health bar, minimap (rotating with the camera heading), crosshair and ammo counter.

    Everything is drawn strictly inside `hud_mask`'s rectangles."""
    out = rgb.copy()
    H, W = out.shape[:2]
    b = _hud_boxes(W, H)
    x0, y0, x1, y1 = b["health"]
    out[y0:y1, x0:x1] = (out[y0:y1, x0:x1] * 0.3).astype(np.uint8)
    frac = 0.55 + 0.4 * math.sin(frame / fps * 0.7) ** 2
    out[y0 + 2:y1 - 2, x0 + 2:x0 + 2 + int((x1 - x0 - 4) * frac)] = (200, 40, 40)
    x0, y0, x1, y1 = b["minimap"]
    out[y0:y1, x0:x1] = (out[y0:y1, x0:x1] * 0.25 + np.array([10, 40, 20])).astype(np.uint8)
    cx, cy, r = (x0 + x1) // 2, (y0 + y1) // 2, (x1 - x0) // 2 - 2
    tip = (int(cx + r * 0.8 * math.sin(yaw)), int(cy - r * 0.8 * math.cos(yaw)))
    sub = np.ascontiguousarray(out[y0:y1, x0:x1])
    cv2.line(sub, (cx - x0, cy - y0), (tip[0] - x0, tip[1] - y0), (240, 240, 80), 1, cv2.LINE_AA)
    cv2.circle(sub, (cx - x0, cy - y0), 2, (255, 255, 255), -1)
    out[y0:y1, x0:x1] = sub
    x0, y0, x1, y1 = b["crosshair"]
    mx, my = (x0 + x1) // 2, (y0 + y1) // 2
    out[my, x0:x1] = (255, 255, 255)
    out[y0:y1, mx] = (255, 255, 255)
    x0, y0, x1, y1 = b["ammo"]
    sub = np.ascontiguousarray((out[y0:y1, x0:x1] * 0.3).astype(np.uint8))
    ammo = 30 - (frame // max(1, int(fps / 3))) % 31
    cv2.putText(sub, f"{ammo:02d}/90", (1, y1 - y0 - 3), cv2.FONT_HERSHEY_PLAIN, (y1 - y0) / 16, (255, 230, 120), 1)
    out[y0:y1, x0:x1] = sub
    return out


# -------------------------------------------------------------------------------------- menu


def menu_params(rng: np.random.Generator, width: int, height: int) -> dict:
    """Random but fixed look of one menu (panel place and size, number of items, colours)."""
    pw, ph = int(width * rng.uniform(0.35, 0.55)), int(height * rng.uniform(0.5, 0.75))
    x0 = int(rng.uniform(0.08, 0.92 - pw / width) * width)
    y0 = (height - ph) // 2
    return {
        "panel": [x0, y0, x0 + pw, y0 + ph],
        "items": int(rng.integers(4, 7)),
        "hue": [int(v) for v in rng.integers(30, 120, 3)],
        "title": str(rng.choice(["PAUSED", "OPTIONS", "MENU", "INVENTORY"])),
    }


def draw_menu(world_rgb: np.ndarray, params: dict, local_frame: int, fps: float) -> np.ndarray:
    """Blurred, dimmed world with a panel of text-like bars; the highlight moves every 0.5 s."""
    H, W = world_rgb.shape[:2]
    k = max(3, (W // 40) | 1)
    out = (cv2.GaussianBlur(world_rgb, (k, k), 0) * 0.4).astype(np.uint8)
    x0, y0, x1, y1 = params["panel"]
    hue = np.array(params["hue"], np.float32)
    out[y0:y1, x0:x1] = (out[y0:y1, x0:x1] * 0.3 + hue * 0.7).astype(np.uint8)
    cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), (220, 220, 220), 1)
    s = H / 180.0
    cv2.putText(out, params["title"], (x0 + int(8 * s), y0 + int(18 * s)), cv2.FONT_HERSHEY_SIMPLEX,
                0.45 * s, (255, 255, 255), 1, cv2.LINE_AA)
    n = params["items"]
    sel = (local_frame // max(1, int(fps / 2))) % n
    top, step = y0 + int(28 * s), max(4, (y1 - y0 - int(34 * s)) // n)
    bar_h = max(2, step // 2)
    for i in range(n):
        y = top + i * step
        length = int((x1 - x0 - 16 * s) * (0.45 + 0.5 * ((i * 37 + n * 11) % 10) / 10))
        colour = (255, 255, 255) if i == sel else (170, 170, 170)
        if i == sel:
            out[y - 2:y + bar_h + 2, x0 + 3:x1 - 3] = (hue * 0.4 + 140).astype(np.uint8)
        out[y:y + bar_h, x0 + int(8 * s):x0 + int(8 * s) + length] = colour
    return out


# ----------------------------------------------------------------------------------- loading


def loading_params(rng: np.random.Generator) -> dict:
    return {
        "depth": str(rng.choice(["last", "cleared"])),
        "logo": [int(v) for v in rng.integers(60, 255, 3)],
        "tip": int(rng.integers(3, 6)),
    }


def draw_loading(height: int, width: int, params: dict, progress: float, local_frame: int) -> np.ndarray:
    """Dark screen, a logo that pulses, 'LOADING' and a progress bar filling with `progress`."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    out = np.broadcast_to(np.array([8, 10, 16], np.float32) + 14 * y, (height, width, 3)).astype(np.uint8).copy()
    s = height / 180.0
    cx, cy = width // 2, int(height * 0.38)
    r = int((18 + 3 * math.sin(local_frame * 0.25)) * s)
    logo = tuple(int(v) for v in params["logo"])
    cv2.circle(out, (cx, cy), r, logo, -1, cv2.LINE_AA)
    pts = np.array([[cx - r // 2, cy + r // 2], [cx, cy - r // 2], [cx + r // 2, cy + r // 2]], np.int32)
    cv2.fillPoly(out, [pts], (20, 20, 30), cv2.LINE_AA)
    cv2.putText(out, "LOADING", (cx - int(34 * s), int(height * 0.68)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * s,
                (230, 230, 230), 1, cv2.LINE_AA)
    bx0, bx1, by = int(width * 0.2), int(width * 0.8), int(height * 0.78)
    bh = max(2, int(4 * s))
    cv2.rectangle(out, (bx0, by), (bx1, by + bh), (80, 80, 90), 1)
    out[by + 1:by + bh, bx0 + 1:bx0 + 1 + int((bx1 - bx0 - 2) * min(1.0, progress))] = logo
    # A line of "tip" text as bars.
    ty = int(height * 0.88)
    for i in range(params["tip"]):
        xs = int(width * 0.15) + i * int(width * 0.14)
        out[ty:ty + max(1, int(2 * s)), xs:xs + int(width * 0.1)] = (120, 120, 130)
    return out


# -------------------------------------------------------------------------------------- fade


def fade_gain(local_frame: int, length: int) -> float:
    """Brightness 1 -> 0 over the first half of the event and 0 -> 1 over the second half."""
    if length <= 1:
        return 0.0
    x = (local_frame + 0.5) / length
    return float(abs(2.0 * x - 1.0))


def apply_fade(rgb: np.ndarray, gain: float) -> np.ndarray:
    return (rgb.astype(np.float32) * gain + 0.5).astype(np.uint8)
