"""Recordings made from real game captures: a virtual camera pans and zooms over each captured
frame, with the frame's true depth cropped and resampled the same way.

Source: a folder of `NNNNNN_rgb.png` + `NNNNNN_depth.npy` pairs (float depth in the game's units,
+inf = no surface), e.g. `shared/realdata/re2-757459012` (Resident Evil 2, see its README).

Each source frame becomes a scene of a few seconds; scenes follow each other with hard cuts (in
a shuffled order, never two neighbouring captures in a row). In a scene the crop window glides
from one place and zoom to another (smoothstep, plus a slight hand-held wobble) and is resampled
to the output size: the picture with a pre-blur against aliasing and bilinear interpolation,
the depth nearest-neighbour on the same grid, so every output depth value is one the game wrote.
Clean events on top: stills (the window stops), muzzle flashes, lights switching (anchored
to the captured image, so they move with it).

`real_footage_source(config)` gives the frames and their ground truth as a `FootageSource`; the
corpus (`capture.simulate.corpus`) injects faults and writes it the way a player's setup would.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field, field_validator, model_validator

from capture.config import StageConfig
from capture.errors import InputError
from capture.simulate.hard_negatives import (
    FLASH_FRAMES,
    apply_flash,
    apply_light,
    clean_params,
    light_region_screen,
)
from capture.simulate.truth import labels_from_events

REAL_CLEAN_KINDS = ("still", "flash", "light_switch")
_REAL_SECONDS = {"still": (1.5, 3.5), "light_switch": (1.5, 4.0)}
RE2_FOLDER = "re2-757459012"


def find_realdata(name: str = RE2_FOLDER) -> Path | None:
    """The real-capture folder: $SYNTHDEPTH_REALDATA/<name>, or shared/realdata/<name> in a parent
    folder of this package (the project's checkout layout). None when it is not there."""
    env = os.environ.get("SYNTHDEPTH_REALDATA")
    candidates = [Path(env) / name, Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "realdata" / name for p in here.parents]
    for c in candidates:
        if (c / "000000_rgb.png").exists():
            return c
    return None


class RealFootageConfig(StageConfig):
    """A recording built from real captures (see the module docstring)."""

    source: str | None = None  # folder of NNNNNN_rgb.png + NNNNNN_depth.npy; None: find_realdata()
    game: str = "Resident Evil 2"
    frames: list[int] | None = None  # capture indices to use; None: all
    seconds: float = Field(20.0, gt=0.0)
    scene_seconds: tuple[float, float] = (5.0, 10.0)
    width: int = Field(320, ge=16, le=4096)
    height: int = Field(180, ge=16, le=4096)
    fps: float = Field(30.0, gt=0.0, le=240.0)
    crop: tuple[float, float] = (0.5, 0.9)  # crop window width, fraction of the capture's width
    pan: float = Field(0.3, ge=0.0, le=1.0)  # longest glide of the window centre, fraction of the width
    wobble: float = Field(0.004, ge=0.0)  # hand-held sway, fraction of the width
    clean_events: list[Literal["still", "flash", "light_switch"]] = list(REAL_CLEAN_KINDS)
    clean_event_rate: float = Field(4.0, ge=0.0)  # per minute and kind
    # How the player's ReShade shows this game's depth: the raw buffer is an infinite reversed Z
    # with this near plane (RE2: raw ~ 0.1 / z), GetLinearizedDepth with this far plane.
    near: float = Field(0.1, gt=0.0)
    far_plane: float = Field(1000.0, gt=1.0)
    seed: int = 0

    @field_validator("clean_events", mode="before")
    @classmethod
    def _words(cls, v):
        if isinstance(v, str):
            w = v.strip().lower()
            if w == "all":
                return list(REAL_CLEAN_KINDS)
            return [] if w in ("", "none") else [s.strip() for s in w.split(",") if s.strip()]
        return v

    @model_validator(mode="after")
    def _check(self) -> RealFootageConfig:
        lo, hi = self.crop
        if not 0.1 <= lo <= hi <= 1.0:
            raise ValueError("crop must be (lo, hi) with 0.1 <= lo <= hi <= 1")
        if not 0 < self.scene_seconds[0] <= self.scene_seconds[1]:
            raise ValueError("scene_seconds must be (lo, hi) with 0 < lo <= hi")
        return self

    @property
    def n_frames(self) -> int:
        return max(1, int(round(self.seconds * self.fps)))


def load_captures(folder: str | Path, frames: list[int] | None = None) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(index, rgb uint8 HxWx3, depth float32 HxW) of the captures in `folder`."""
    folder = Path(folder)
    found = sorted(int(p.name[:6]) for p in folder.glob("*_rgb.png") if p.name[:6].isdigit())
    if not found:
        raise InputError(folder, "no NNNNNN_rgb.png captures here")
    want = found if frames is None else list(frames)
    out = []
    for i in want:
        rp, dp = folder / f"{i:06d}_rgb.png", folder / f"{i:06d}_depth.npy"
        bgr = cv2.imread(str(rp), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError(rp, "cannot read the capture's picture")
        if not dp.exists():
            raise InputError(dp, "the capture has no depth file")
        depth = np.load(dp).astype(np.float32)
        if depth.shape != bgr.shape[:2]:
            raise InputError(dp, f"depth {depth.shape} does not match the picture {bgr.shape[:2]}")
        out.append((i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), depth))
    return out


def _order(rng: np.random.Generator, idx: list[int], n: int) -> list[int]:
    """`n` capture indices cycling through shuffled rounds; neighbours in a row never adjacent
    captures (two captures ~1 s apart could look like one scene)."""
    out: list[int] = []
    while len(out) < n:
        for _ in range(200):
            perm = [idx[i] for i in rng.permutation(len(idx))]
            seq = out[-1:] + perm
            if len(idx) < 3 or all(abs(a - b) > 1 for a, b in zip(seq, seq[1:], strict=False)):
                break
        out += perm
    return out[:n]


def plan_real(cfg: RealFootageConfig, capture_ids: list[int], size: tuple[int, int]) -> dict:
    """The recording's scenes (capture, frames, window path) and clean events (deterministic)."""
    rng = np.random.default_rng([cfg.seed, 0x4EA1])
    n, fps = cfg.n_frames, cfg.fps
    src_w, src_h = size
    bounds = [0]
    while bounds[-1] < n:
        bounds.append(bounds[-1] + max(2, int(round(rng.uniform(*cfg.scene_seconds) * fps))))
    bounds[-1] = n
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < fps:  # a last scene under 1 s joins the one before
        bounds.pop(-2)
    order = _order(rng, capture_ids, len(bounds) - 1)
    aspect = cfg.height / cfg.width
    scenes = []
    for (a, b), cap in zip(zip(bounds[:-1], bounds[1:], strict=True), order, strict=True):
        def window():
            fw = rng.uniform(*cfg.crop) * src_w
            fh = fw * aspect
            if fh > src_h:
                fh, fw = src_h, src_h / aspect
            return [fw, float(rng.uniform(fw / 2, src_w - fw / 2)), float(rng.uniform(fh / 2, src_h - fh / 2))]
        w0 = window()
        w1 = window()
        # Limit the glide to `pan` of the width, so a scene pans rather than jumps around.
        d = np.array(w1[1:]) - np.array(w0[1:])
        lim = cfg.pan * src_w
        if np.linalg.norm(d) > lim:
            w1[1:] = list(np.array(w0[1:]) + d * lim / np.linalg.norm(d))
        scenes.append({"capture": int(cap), "start_frame": a, "end_frame": b, "from": w0, "to": w1,
                       "phase": float(rng.uniform(0, 2 * math.pi))})
    cut_frames = [s["start_frame"] for s in scenes[1:]]
    events: list[dict] = [{"kind": "cut", "class": "cut", "start_frame": c, "end_frame": c + 1} for c in cut_frames]
    # Clean events: inside one scene, >= 0.4 s from its cuts and from each other.
    gap = int(round(0.4 * fps))
    busy = np.zeros(n, bool)
    for c in cut_frames:
        busy[max(0, c - gap):c + gap] = True
    per_kind = int(round(cfg.clean_event_rate * n / fps / 60.0))
    items = [k for k in cfg.clean_events for _ in range(max(per_kind, 1 if cfg.clean_event_rate > 0 else 0))]
    for kind in [items[i] for i in rng.permutation(len(items))]:
        if kind == "flash":
            d = int(rng.integers(FLASH_FRAMES[0], FLASH_FRAMES[1] + 1))
        else:
            d = max(2, int(round(rng.uniform(*_REAL_SECONDS[kind]) * fps)))
        for _ in range(50):
            if n - d - gap <= gap:
                break
            s = int(rng.integers(gap, n - d - gap))
            if busy[s - gap:s + d + gap].any():
                continue
            busy[s:s + d] = True
            params = clean_params(kind, rng)
            if kind == "light_switch":
                params["centre"] = [float(v) for v in rng.uniform(0.2, 0.8, 2)]
                params["radius"] = float(rng.uniform(0.15, 0.4))
            events.append({"kind": kind, "class": "clean", "start_frame": s, "end_frame": s + d, **params})
            break
    events.sort(key=lambda e: (e["start_frame"], e["kind"]))
    return {"scenes": scenes, "events": events, "size": [src_w, src_h]}


def _windows(cfg: RealFootageConfig, plan: dict) -> np.ndarray:
    """(T, 3) crop window per output frame: width, centre x, centre y (capture pixels)."""
    n, fps = cfg.n_frames, cfg.fps
    still = np.zeros(n, bool)
    for e in plan["events"]:
        if e["kind"] == "still":
            still[e["start_frame"]:e["end_frame"]] = True
    src_w, src_h = plan["size"]
    out = np.zeros((n, 3))
    aspect = cfg.height / cfg.width
    for s in plan["scenes"]:
        a, b = s["start_frame"], s["end_frame"]
        # The camera clock stops while the camera stands still.
        clock = np.cumsum(~still[a:b]) - (~still[a:b]).astype(int)
        u = clock / max(1, b - a - 1 - still[a:b].sum())
        u = u * u * (3 - 2 * u)
        w0, w1 = np.array(s["from"]), np.array(s["to"])
        win = w0[None] + (w1 - w0)[None] * u[:, None]
        t = clock / fps
        sway = cfg.wobble * src_w
        win[:, 1] += sway * np.sin(2 * math.pi * 0.7 * t + s["phase"])
        win[:, 2] += 0.6 * sway * np.sin(2 * math.pi * 1.1 * t + 2 * s["phase"])
        fw = win[:, 0]
        fh = fw * aspect
        win[:, 1] = np.clip(win[:, 1], fw / 2, src_w - fw / 2)
        win[:, 2] = np.clip(win[:, 2], fh / 2, src_h - fh / 2)
        out[a:b] = win
    return out


def _affine(win: np.ndarray, width: int, height: int) -> np.ndarray:
    """Output pixel -> capture pixel map of a crop window (for WARP_INVERSE_MAP)."""
    fw, cx, cy = win
    sc = fw / width
    fh = sc * height
    x0, y0 = cx - fw / 2, cy - fh / 2
    # Pixel centres: output (u + 0.5) * sc = capture x + 0.5 - x0.
    return np.array([[sc, 0.0, x0 + 0.5 * sc - 0.5], [0.0, sc, y0 + 0.5 * sc - 0.5]])


def iter_real_frames(cfg: RealFootageConfig, plan: dict,
                     captures: dict[int, tuple[np.ndarray, np.ndarray]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(rgb uint8, depth float32 in the game's units, inf = no surface) per output frame."""
    wins = _windows(cfg, plan)
    W, H = cfg.width, cfg.height
    scene_of = np.zeros(cfg.n_frames, int)
    for j, s in enumerate(plan["scenes"]):
        scene_of[s["start_frame"]:s["end_frame"]] = j
    active: list[list[dict]] = [[] for _ in range(cfg.n_frames)]
    for e in plan["events"]:
        if e["class"] == "clean" and e["kind"] in ("flash", "light_switch"):
            for i in range(e["start_frame"], e["end_frame"]):
                active[i].append(e)
    blurred: dict[tuple[int, int], np.ndarray] = {}
    src_w, src_h = plan["size"]
    for i in range(cfg.n_frames):
        s = plan["scenes"][scene_of[i]]
        rgb_src, depth_src = captures[s["capture"]]
        M = _affine(wins[i], W, H)
        sc = M[0, 0]
        # Pre-blur against aliasing when shrinking (sigma ~ 0.4 output pixels in capture pixels).
        key = (s["capture"], int(round(sc * 4)))
        if key not in blurred:
            sigma = 0.4 * max(sc, 1.0)
            blurred[key] = cv2.GaussianBlur(rgb_src, (0, 0), sigma) if sc > 1.05 else rgb_src
            if len(blurred) > 8:
                blurred.pop(next(iter(blurred)))
        flags = cv2.WARP_INVERSE_MAP
        rgb = cv2.warpAffine(blurred[key], M, (W, H), flags=cv2.INTER_LINEAR | flags, borderMode=cv2.BORDER_REFLECT)
        depth = cv2.warpAffine(depth_src, M, (W, H), flags=cv2.INTER_NEAREST | flags, borderMode=cv2.BORDER_REPLICATE)
        for e in active[i]:
            if e["kind"] == "flash":
                rgb = apply_flash(rgb, e, i - e["start_frame"], e["end_frame"] - e["start_frame"])
            else:
                region = None
                if e["local"]:
                    src_region = light_region_screen(src_h, src_w, e["centre"], e["radius"])
                    region = cv2.warpAffine(src_region, M, (W, H), flags=cv2.INTER_LINEAR | flags,
                                            borderMode=cv2.BORDER_REPLICATE)
                rgb = apply_light(rgb, e, region)
        yield rgb, depth


def real_footage_source(cfg: RealFootageConfig, recording_id: str | None = None):
    """The clean recording `cfg` describes as a `FootageSource` (frames made when iterated)."""
    from capture.simulate.corpus import FootageSource

    folder = Path(cfg.source) if cfg.source else find_realdata()
    if folder is None:
        raise InputError(None, "no real captures found: set RealFootageConfig.source or $SYNTHDEPTH_REALDATA")
    caps = load_captures(folder, cfg.frames)
    size = (caps[0][1].shape[1], caps[0][1].shape[0])
    plan = plan_real(cfg, [c[0] for c in caps], size)
    store = {i: (rgb, d) for i, rgb, d in caps}
    labels, clean, cuts = labels_from_events(cfg.n_frames, plan["events"])
    return FootageSource(
        recording_id=recording_id or f"real-{cfg.seed:05d}", n_frames=cfg.n_frames, fps=cfg.fps,
        width=cfg.width, height=cfg.height, footage="real", events=plan["events"], near=cfg.near,
        far_plane=cfg.far_plane, game=cfg.game, frames=lambda: iter_real_frames(cfg, plan, store),
        info={"real_footage": cfg.model_dump(mode="json"), "captures": str(folder),
              "scenes": [{k: s[k] for k in ("capture", "start_frame", "end_frame")} for s in plan["scenes"]]},
    )
