"""Compose a recording: scene segments separated by cuts, fault events laid out between clean
gaps, and the per-frame plan the frame generator follows. Deterministic for a seed.

The plan says, for every output frame i: which segment and world time the picture shows
(`segment`, `world_time`: a pausing menu stops the world clock), what replaces or covers
the picture (`rgb_mode`, `fade`, `hud`), which frame's world depth the depth channel shows
(`depth_src`: i itself when clean, i - k for depth lag, the event's first frame when frozen,
-1 for a cleared buffer) and the frame's fault labels.

Clean events (hard negatives, `capture/simulate/hard_negatives.py`) are laid out after the faults,
with their own random stream (so a config without them gives the same timeline as before), in
the clean gaps: `camera_time` is the camera's clock (it stops while the camera stands still; the
world clock runs on), `yaw_offset` / `yaw_rate` the extra heading of fast turns, `clean_labels`
the clean-event kinds of every frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from capture.simulate.config import SPAN_KINDS, SimConfig
from capture.simulate.faults import FaultEvent, fade_gain, loading_params, menu_params
from capture.simulate.hard_negatives import (
    CLEAN_SECONDS,
    FLASH_FRAMES,
    SPAN_CLEAN_KINDS,
    WHOLE_CLEAN_KINDS,
    clean_params,
)

RGB_WORLD, RGB_MENU, RGB_LOADING = 0, 1, 2


@dataclass
class Segment:
    kind: str
    seed: int
    start_frame: int
    end_frame: int


@dataclass
class Timeline:
    n_frames: int
    fps: float
    segments: list[Segment]
    events: list[FaultEvent]
    segment: np.ndarray  # (T,) int: segment of the world the picture shows
    world_time: np.ndarray  # (T,) float: seconds into that segment's world clock
    rgb_mode: np.ndarray  # (T,) int: RGB_WORLD / RGB_MENU / RGB_LOADING
    fade: np.ndarray  # (T,) float: brightness gain (1 = none)
    hud: np.ndarray  # (T,) bool: HUD drawn
    depth_src: np.ndarray  # (T,) int: frame whose world depth the depth channel shows; -1 = cleared (sky)
    event_of: list[FaultEvent | None] = field(default_factory=list)  # menu/loading event per frame
    labels: list[str] = field(default_factory=list)
    camera_time: np.ndarray | None = None  # (T,) float: the camera path's clock (stops while still)
    yaw_offset: np.ndarray | None = None  # (T,) float rad: extra heading from fast turns
    yaw_rate: np.ndarray | None = None  # (T,) float rad/s
    clean_events: list[FaultEvent] = field(default_factory=list)  # hard negatives, incl. whole-recording ones
    clean_of: list[list[FaultEvent]] = field(default_factory=list)  # span clean events per frame
    clean_labels: list[str] = field(default_factory=list)

    def clean_list(self) -> list[dict]:
        """Clean events as JSON records (half-open frame ranges), in frame order."""
        return sorted((e.as_json() for e in self.clean_events), key=lambda r: (r["start_frame"], r["kind"]))

    def fault_list(self) -> list[dict]:
        """Events as JSON records (half-open frame ranges), HUD spans included, in frame order."""
        out = [e.as_json() for e in self.events]
        out += [{"kind": "hud", "start_frame": s, "end_frame": e} for s, e in _runs(self.hud)]
        return sorted(out, key=lambda r: (r["start_frame"], r["kind"]))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, end) runs of True."""
    f = np.concatenate([[False], np.asarray(flags, bool), [False]])
    d = np.flatnonzero(np.diff(f.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(d[0::2], d[1::2], strict=True)]


def _layout(rng: np.random.Generator, n: int, durations: list[int], gap: int) -> tuple[list[int], list[int]] | None:
    """Start frames for items of the given durations with >= `gap` clean frames around each."""
    need = sum(durations) + (len(durations) + 1) * gap
    if need > n:
        return None
    extra = n - need
    w = rng.dirichlet(np.ones(len(durations) + 1))
    gaps = np.floor(w * extra).astype(int) + gap
    gaps[-1] += n - (sum(durations) + gaps.sum())
    starts, pos = [], 0
    for d, g in zip(durations, gaps[:-1], strict=True):
        pos += int(g)
        starts.append(pos)
        pos += d
    return starts, durations


def build_timeline(cfg: SimConfig) -> Timeline:
    """The recording's segments, fault events and per-frame plan for `cfg` (deterministic)."""
    rng = np.random.default_rng([cfg.seed, 0x5EED])
    n, fps = cfg.n_frames, cfg.fps
    span_kinds = [k for k in SPAN_KINDS if k in cfg.faults]
    n_cuts = cfg.cuts if "cut" in cfg.faults else 0
    # Items: span faults plus zero-length cut markers, in random order.
    items = [(k, max(2, int(round(cfg.span_seconds(k) * fps)))) for k in span_kinds] + [("cut", 0)] * n_cuts
    order = rng.permutation(len(items))
    items = [items[i] for i in order]
    gap = int(round(cfg.min_gap_seconds * fps))
    placed = None
    while items:
        durs = [d for _, d in items]
        placed = _layout(rng, n, durs, gap)
        if placed is not None:
            break
        # Too long for the recording: shrink the spans (not below 2 frames), then drop items.
        room = n - (len(items) + 1) * gap
        total = sum(durs)
        if total > 0 and room >= 2 * sum(1 for d in durs if d):
            scale = room / total
            items = [(k, max(2, int(d * scale)) if d else 0) for k, d in items]
            placed = _layout(rng, n, [d for _, d in items], gap)
            if placed is not None:
                break
        items = items[:-1]
    events: list[FaultEvent] = []
    cut_frames: list[int] = []
    if placed is not None:
        starts, durs = placed
        for (kind, _), s, d in zip(items, starts, durs, strict=True):
            if kind == "cut":
                if s > 0:
                    cut_frames.append(s)
                continue
            params: dict = {}
            if kind == "depth_lag":
                params["lag_frames"] = int(rng.integers(cfg.lag_frames[0], cfg.lag_frames[1] + 1))
            elif kind == "menu":
                params.update(menu_params(rng, cfg.width, cfg.height))
                params["pauses"] = bool(rng.random() < 0.5) if cfg.menu_pauses == "random" else cfg.menu_pauses == "yes"
            elif kind == "loading":
                params.update(loading_params(rng))
                if cfg.loading_depth != "random":
                    params["depth"] = cfg.loading_depth
            elif kind == "fade":
                # Fade out, cut at black, fade in: the classic scene transition.
                params["with_cut"] = bool("cut" in cfg.faults and d >= 4 and rng.random() < cfg.fade_with_cut)
                if params["with_cut"]:
                    cut_frames.append(s + d // 2)
            events.append(FaultEvent(kind, s, s + d, params))
    cut_frames = sorted(set(cut_frames))

    # Segments between cuts; consecutive segments differ in kind when there is a choice.
    bounds = [0, *cut_frames, n]
    segments: list[Segment] = []
    prev_kind = None
    for j, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        # The first segment is kinds[0] (so a data set can rotate it); later ones vary.
        choices = [k for k in cfg.kinds if k != prev_kind] or list(cfg.kinds)
        kind = str(cfg.kinds[0]) if j == 0 else str(choices[int(rng.integers(len(choices)))])
        segments.append(Segment(kind, int(rng.integers(2**31)), a, b))
        prev_kind = kind
    for c in cut_frames:
        events.append(FaultEvent("cut", c, c + 1, {}))
    events.sort(key=lambda e: (e.start_frame, e.kind))

    seg = np.zeros(n, np.int32)
    for j, s in enumerate(segments):
        seg[s.start_frame:s.end_frame] = j
    rgb_mode = np.full(n, RGB_WORLD, np.int8)
    fade = np.ones(n, np.float32)
    depth_src = np.arange(n, dtype=np.int64)
    paused = np.zeros(n, bool)
    event_of: list[FaultEvent | None] = [None] * n
    labels: list[set[str]] = [set() for _ in range(n)]
    for e in events:
        a, b = e.start_frame, e.end_frame
        for i in range(a, b):
            labels[i].add(e.kind)
        if e.kind == "menu":
            rgb_mode[a:b] = RGB_MENU
            paused[a + 1:b] = e.params["pauses"]  # the frame the menu opens on still advances
            for i in range(a, b):
                event_of[i] = e
        elif e.kind == "loading":
            rgb_mode[a:b] = RGB_LOADING
            for i in range(a, b):
                event_of[i] = e
            depth_src[a:b] = max(a - 1, 0) if e.params["depth"] == "last" else -1
        elif e.kind == "depth_lag":
            k = e.params["lag_frames"]
            depth_src[a:b] = np.maximum(np.arange(a, b) - k, 0)
        elif e.kind == "frozen_depth":
            depth_src[a:b] = a
        elif e.kind == "fade":
            fade[a:b] = [fade_gain(i - a, b - a) for i in range(a, b)]
    # World clock: restarts at each segment, stands still while a pausing menu is up.
    world_time = np.zeros(n, np.float64)
    clock = 0.0
    for i in range(n):
        if i > 0 and seg[i] != seg[i - 1]:
            clock = 0.0
        elif i > 0 and not paused[i]:
            clock += 1.0 / fps
        world_time[i] = clock
    camera_time, yaw_offset, yaw_rate, clean_events, clean_of, clean_labels = _clean_plan(
        cfg, events, seg, paused, world_time)
    hud = np.zeros(n, bool)
    if cfg.draws_hud:
        hud = rgb_mode == RGB_WORLD  # menus and loading screens hide the HUD
        for i in np.flatnonzero(hud):
            labels[i].add("hud")
    return Timeline(
        n_frames=n, fps=fps, segments=segments, events=events, segment=seg, world_time=world_time,
        rgb_mode=rgb_mode, fade=fade, hud=hud, depth_src=depth_src, event_of=event_of,
        labels=[",".join(sorted(s)) for s in labels], camera_time=camera_time, yaw_offset=yaw_offset,
        yaw_rate=yaw_rate, clean_events=clean_events, clean_of=clean_of, clean_labels=clean_labels,
    )


def _clean_plan(cfg: SimConfig, faults: list[FaultEvent], seg: np.ndarray, paused: np.ndarray,
                world_time: np.ndarray):
    """Clean events in the gaps between faults and away from cuts, and the camera clock/heading."""
    n, fps = len(seg), cfg.fps
    rng = np.random.default_rng([cfg.seed, 0xC1EA])
    gap = int(round(cfg.min_gap_seconds * fps))
    busy = np.zeros(n, bool)
    for e in faults:
        busy[max(0, e.start_frame - gap):min(n, e.end_frame + gap)] = True
    events: list[FaultEvent] = []
    span_kinds = [k for k in SPAN_CLEAN_KINDS if k in cfg.clean_events]
    per_kind = max(1, int(round(cfg.clean_event_rate * n / fps / 60.0)))
    items = [k for k in span_kinds for _ in range(per_kind)]
    items = [items[i] for i in rng.permutation(len(items))]
    for kind in items:
        if kind == "flash":
            d = int(rng.integers(FLASH_FRAMES[0], FLASH_FRAMES[1] + 1))
        else:
            lo, hi = CLEAN_SECONDS[kind]
            d = max(2, int(round(rng.uniform(lo, hi) * fps)))
        for _ in range(50):
            if n - d - 2 * gap <= gap:
                break
            a = int(rng.integers(gap, n - d - gap))
            b = a + d
            # Inside one segment (a cut inside a clean event would blur what the event is).
            if busy[a - gap:b + gap].any() or seg[a] != seg[b - 1]:
                continue
            busy[a:b] = True
            events.append(FaultEvent(kind, a, b, clean_params(kind, rng)))
            break
    events.sort(key=lambda e: (e.start_frame, e.kind))
    for kind in WHOLE_CLEAN_KINDS:
        if kind in cfg.clean_events:
            events.append(FaultEvent(kind, 0, n, clean_params(kind, rng)))
    still = np.zeros(n, bool)
    rate = np.zeros(n, np.float64)
    clean_of: list[list[FaultEvent]] = [[] for _ in range(n)]
    labels: list[set[str]] = [set() for _ in range(n)]
    for e in events:
        a, b = e.start_frame, e.end_frame
        for i in range(a, b):
            labels[i].add(e.kind)
            if e.kind in SPAN_CLEAN_KINDS:
                clean_of[i].append(e)
        if e.kind == "still":
            still[a:b] = True
        elif e.kind == "fast_turn":
            u = (np.arange(a, b) - a + 0.5) / (b - a)
            rate[a:b] = e.params["peak_rate"] * np.sin(np.pi * u)
    # Camera clock: like the world clock, but standing still during "still" events.
    camera_time = np.zeros(n, np.float64)
    clock = 0.0
    for i in range(n):
        if i > 0 and seg[i] != seg[i - 1]:
            clock = 0.0
        elif i > 0 and not paused[i] and not still[i]:
            clock += 1.0 / fps
        camera_time[i] = clock
    yaw_offset = np.cumsum(rate / fps)
    # A new scene starts facing its own way.
    for i in range(1, n):
        if seg[i] != seg[i - 1]:
            yaw_offset[i:] -= yaw_offset[i]
    return camera_time, yaw_offset, rate, events, clean_of, [",".join(sorted(s)) for s in labels]
