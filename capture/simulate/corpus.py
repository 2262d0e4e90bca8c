"""The evaluation corpus: clean footage (procedural or from real captures) with faults injected
from outside, written the way a player's setup would, with a ground-truth sidecar.

    src = procedural_source(SimConfig(seconds=30, faults="none", clean_events="still,flash"))
    src = real_footage_source(RealFootageConfig(seconds=30, seed=3))
    manifest = make_recording(out_dir, src, FaultPlan(seed=1), fmt="obs_sbs_gray8", crf=18)

Fault models (plain numpy; none of the simulator's own fault code), at random non-overlapping
places with `margin` clean frames between them, clear of scene cuts and clean events:
- depth_lag:    depth[t] = world depth[t - k] (k from `lag_frames`, 1..8)
- frozen_depth: depth[t] = world depth[a]
- menu:         a dark translucent panel with bright text bars over 55-75% of the picture (the
                world keeps moving underneath; depth shows the world)
- loading:      a near-black screen with a small spinner; depth stuck at the frame before
- fade:         picture brightness ramps to black and back; depth unchanged
- teleport:     the recording jumps ahead 2-6 s of the source (a hard cut; class "cut")

Lengths are frames at 30 fps, scaled with the fps. The sidecar (`truth.json`, see
`capture.simulate.truth`) holds per-frame labels, clean events and cuts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from capture.errors import InputError
from capture.simulate.player_setup import ENCODER_SETTINGS, Format, PlayerSetupWriter
from capture.simulate.truth import FAULT_DROP_KINDS, TRUTH, GroundTruth, labels_from_events, write_truth

FAULT_LENGTHS = {"depth_lag": (20, 60), "frozen_depth": (20, 60), "menu": (30, 60), "loading": (30, 60),
                 "fade": (20, 40)}


@dataclass
class FootageSource:
    """Clean footage: frames (rgb uint8 HxWx3, depth z float32 HxW, inf = no surface) made on
    demand, with its clean events and cuts (class "clean" / "cut" event records)."""

    recording_id: str
    n_frames: int
    fps: float
    width: int
    height: int
    footage: str  # "procedural" | "real"
    events: list[dict]
    near: float  # the game's infinite reversed-Z near plane (raw = near / z)
    far_plane: float  # the player's ReShade far plane
    frames: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]
    game: str = "unknown"
    info: dict = field(default_factory=dict)


def procedural_source(cfg, recording_id: str | None = None) -> FootageSource:
    """A clean simulated recording (`SimConfig`; faults may only be "cut": scene changes)."""
    from capture.simulate.api import iter_frames, timeline_truth
    from capture.simulate.timeline import build_timeline

    bad = set(cfg.faults) - {"cut"}
    if bad:
        raise InputError(None, f"procedural_source needs clean footage; faults {sorted(bad)} are the simulator's own")
    rid = recording_id or f"proc-{cfg.seed:05d}"
    tl = build_timeline(cfg)
    truth = timeline_truth(cfg, tl, rid)
    return FootageSource(
        recording_id=rid, n_frames=tl.n_frames, fps=cfg.fps, width=cfg.width, height=cfg.height,
        footage="procedural", events=truth.events, near=0.1, far_plane=100.0, game=cfg.game,
        frames=lambda: ((f.rgb, f.depth_m) for f in iter_frames(cfg, tl)),
        info={"simulator": cfg.model_dump(mode="json")},
    )


class FaultPlan(BaseModel):
    """Which faults to inject, how many, how long, where not."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[str] = list(FAULT_DROP_KINDS)
    per_kind: int = Field(1, ge=0)
    lengths: dict[str, tuple[int, int]] = dict(FAULT_LENGTHS)  # frames at 30 fps, half-open high
    lag_frames: tuple[int, int] = (1, 8)
    teleports: int = Field(0, ge=0)
    teleport_seconds: tuple[float, float] = (2.0, 6.0)
    margin: int = Field(40, ge=0)  # clean frames between two faults (at 30 fps)
    keep_clear: int = Field(10, ge=0)  # frames kept between a fault and a cut or clean event (at 30 fps)
    seed: int = 0


def plan_faults(source: FootageSource, plan: FaultPlan) -> tuple[np.ndarray, list[dict]]:
    """(source frame of every output frame, output events: the source's clean events and cuts
    mapped through the teleports, plus the injected faults and teleports)."""
    rng = np.random.default_rng([plan.seed, 0xFA17])
    fps, n_src = source.fps, source.n_frames
    sc = fps / 30.0
    margin, clear = int(round(plan.margin * sc)), int(round(plan.keep_clear * sc))
    # Teleports first: they decide how long the output is. Each skips a stretch of the source
    # that holds none of its clean events or cuts (those stay in the recording, where they count).
    src_busy = np.zeros(n_src, bool)
    for e in source.events:
        if e.get("class") in ("clean", "cut") and e["end_frame"] - e["start_frame"] <= n_src // 2:
            src_busy[max(0, e["start_frame"] - clear):min(n_src, e["end_frame"] + clear)] = True
    jumps: list[tuple[int, int]] = []  # (source frame of the cut, frames skipped)
    for _ in range(plan.teleports):
        j = int(round(rng.uniform(*plan.teleport_seconds) * fps))
        for _ in range(200):
            p = int(rng.integers(margin, max(margin + 1, n_src - j - margin)))
            if src_busy[max(0, p - clear):p + j + clear].any():
                continue
            if any(p < q + k + 2 * margin and q < p + j + 2 * margin for q, k in jumps):
                continue
            jumps.append((p, j))
            break
    jumps.sort()
    n_out = n_src - sum(j for _, j in jumps)
    if n_out < 2 * margin:
        raise InputError(None, f"{source.recording_id}: {n_src} frames are too few for {plan.teleports} teleports")
    tele, skips, skipped = [], [], 0
    for p, j in jumps:
        tele.append(p - skipped)
        skips.append(j)
        skipped += j
    src_index = np.arange(n_out)
    for c, j in zip(tele, skips, strict=True):
        src_index[c:] += j
    # The source's events in output frames.
    out_of_src = np.full(n_src, -1)
    out_of_src[src_index] = np.arange(n_out)
    events: list[dict] = []
    for e in source.events:
        frames = out_of_src[e["start_frame"]:e["end_frame"]]
        frames = frames[frames >= 0]
        if frames.size:
            events.append({**e, "start_frame": int(frames[0]), "end_frame": int(frames[-1]) + 1})
    for c, j in zip(tele, skips, strict=True):
        events.append({"kind": "cut", "class": "cut", "start_frame": c, "end_frame": c + 1, "teleport": True,
                       "skip_frames": j})
    busy = np.zeros(n_out, bool)
    for e in events:
        a, b = e["start_frame"], e["end_frame"]
        if e["class"] == "clean" and b - a > n_out // 2:
            continue  # a whole-recording clean event (dark, fog, soft depth) is everywhere
        busy[max(0, a - clear):min(n_out, b + clear)] = True
    faults: list[dict] = []
    items = [k for k in plan.kinds for _ in range(plan.per_kind)]
    for kind in [items[i] for i in rng.permutation(len(items))]:
        lo, hi = plan.lengths[kind]
        taken = busy.copy()
        for f in faults:
            taken[max(0, f["start_frame"] - margin):f["end_frame"] + margin] = True
        taken[:margin] = True
        taken[max(0, n_out - margin):] = True
        # Every start whose whole span is free; a shorter span when no place holds the drawn one.
        for d in (max(2, int(round(rng.integers(lo, hi) * sc))), max(2, int(round(lo * sc)))):
            ok = np.lib.stride_tricks.sliding_window_view(~taken, d).all(axis=1) if d <= n_out else np.zeros(0, bool)
            starts = np.flatnonzero(ok)
            if starts.size:
                break
        else:
            continue  # no room left for this fault
        a = int(rng.choice(starts))
        params: dict = {}
        if kind == "depth_lag":
            params["lag_frames"] = int(rng.integers(plan.lag_frames[0], plan.lag_frames[1] + 1))
        elif kind == "menu":
            params.update(panel=[float(rng.uniform(0.55, 0.75)), float(rng.uniform(0.55, 0.75))],
                          bars=int(rng.integers(3, 6)))
        faults.append({"kind": kind, "class": "fault", "start_frame": a, "end_frame": a + d, **params})
    events += faults
    events.sort(key=lambda e: (e["start_frame"], e["kind"]))
    return src_index, events


def _menu(rgb: np.ndarray, e: dict) -> np.ndarray:
    h, w = rgb.shape[:2]
    ph, pw = int(h * e["panel"][0]), int(w * e["panel"][1])
    y0, x0 = (h - ph) // 2, (w - pw) // 2
    out = rgb.copy()
    panel = out[y0:y0 + ph, x0:x0 + pw].astype(np.float32) * 0.25 + 20
    for i in range(e["bars"]):  # menu items: bright bars
        yy = int(ph * (0.2 + 0.6 * i / max(1, e["bars"] - 1)))
        panel[yy:yy + max(2, ph // 14), pw // 6:pw - pw // 6] = 230
    out[y0:y0 + ph, x0:x0 + pw] = panel.clip(0, 255).astype(np.uint8)
    return out


def _loading(rgb: np.ndarray, local: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    out = np.full_like(rgb, 8)
    s = max(4, h // 12)
    ang = 0.4 * local  # a spinner: a small square circling near the corner
    cy, cx = int(h - 2 * s + s * np.sin(ang)), int(w - 2 * s + s * np.cos(ang))
    out[cy - s // 2:cy + s // 2, cx - s // 2:cx + s // 2] = 200
    return out


def inject(frames: Iterator[tuple[np.ndarray, np.ndarray]], src_index: np.ndarray,
           events: list[dict]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The output frames: source frames at `src_index` (skipped ones are drawn and dropped) with
    the fault events applied. Streams: keeps only the last few depth frames."""
    n = len(src_index)
    active: list[list[dict]] = [[] for _ in range(n)]
    for e in events:
        if e["class"] == "fault":
            for i in range(e["start_frame"], min(n, e["end_frame"])):
                active[i].append(e)
    hist: deque[np.ndarray] = deque(maxlen=12)
    held: dict[int, np.ndarray] = {}
    it = iter(frames)
    pos = -1
    for i in range(n):
        while pos < src_index[i] - 1:
            next(it)
            pos += 1
        rgb, z = next(it)
        pos += 1
        hist.append(z)
        depth = z
        for e in active[i]:
            a, b, kind = e["start_frame"], e["end_frame"], e["kind"]
            if kind == "depth_lag":
                depth = hist[max(0, len(hist) - 1 - e["lag_frames"])]
            elif kind == "frozen_depth":
                held.setdefault(id(e), z)
                depth = held[id(e)]
            elif kind == "loading":
                held.setdefault(id(e), hist[-2] if len(hist) > 1 else z)
                depth = held[id(e)]
                rgb = _loading(rgb, i - a)
            elif kind == "menu":
                rgb = _menu(rgb, e)
            elif kind == "fade":
                g = abs(2.0 * (i - a + 0.5) / (b - a) - 1.0)
                rgb = (rgb.astype(np.float32) * g).astype(np.uint8)
        yield rgb, depth


def _encoded_with(truth_path: Path) -> str | None:
    """The encoder settings a cached recording was written with (None: none recorded, or no truth)."""
    import json

    try:
        return json.loads(truth_path.read_text()).get("source", {}).get("encoder")
    except (OSError, ValueError):
        return None


def make_recording(out_dir: str | Path, source: FootageSource, faults: FaultPlan | None = None,
                   fmt: Format = "obs_sbs_gray8", crf: int = 18, recording_id: str | None = None,
                   reuse: bool = True) -> Path:
    """Write `source` (faults injected when a plan is given) into out_dir/<id>/ with its
    truth.json; returns the manifest. With `reuse`, a folder that already holds both, written with
    the same encoder settings, is kept."""
    rid = recording_id or source.recording_id
    folder = Path(out_dir) / rid
    manifest = folder / f"{rid}.json"
    if reuse and manifest.exists() and _encoded_with(folder / TRUTH) == ENCODER_SETTINGS:
        return manifest
    if faults is None:
        src_index, events = np.arange(source.n_frames), list(source.events)
    else:
        src_index, events = plan_faults(source, faults)
    n = len(src_index)
    tags = {"footage": source.footage, "corpus": "yes"}
    w = PlayerSetupWriter(folder, rid, fmt, source.width, source.height, source.fps, source.near, source.far_plane,
                          crf=crf, game=source.game, tags=tags)
    for rgb, z in inject(source.frames(), src_index, events):
        w.add(rgb, z)
    labels, clean, cuts = labels_from_events(n, events)
    write_truth(folder, GroundTruth(
        recording_id=rid, n_frames=n, fps=source.fps, labels=labels, clean_events=clean, cuts=cuts, events=events,
        footage=source.footage,
        source={**source.info, "format": fmt, "crf": crf, "encoder": ENCODER_SETTINGS, "faults": faults.model_dump(mode="json") if faults else None},
    ))
    return w.close()
