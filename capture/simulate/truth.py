"""The ground-truth sidecar of an evaluation recording: what every frame is, for the benches only.

Curation reads the manifest and the media; the sidecar `truth.json` sits in the same folder and
says, per frame, what an ideal curator should know:

    {"format": "synthdepth-truth/1", "recording_id": "...", "footage": "procedural" | "real",
     "n_frames": N, "fps": 30.0,
     "labels": [N str],        # comma-joined fault kinds ("" = no fault; "cut" = a new scene starts)
     "clean_events": [N str],  # comma-joined clean-event (hard-negative) kinds ("" = plain footage)
     "cuts": [int],            # frames where a new scene starts (hard cuts, teleports)
     "events": [{"kind", "class": "fault" | "clean" | "cut", "start_frame", "end_frame", ...params}],
     "source": {...}}          # how the recording was made (seeds, source frames, format)

Frame ranges are half-open. A fault kind is one of `FAULT_DROP_KINDS` (frames curation must keep
out of clips); a clean event is footage a curator must keep (a still camera, a muzzle flash, ...).
`load_truth` also reads the simulator's older sidecar (ground_truth.npz + faults.json).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from capture.errors import InputError

TRUTH = "truth.json"
FORMAT = "synthdepth-truth/1"
FAULT_DROP_KINDS = ("menu", "depth_lag", "frozen_depth", "loading", "fade")
# Clean events: footage that looks unusual but whose depth matches the picture.
CLEAN_EVENT_KINDS = ("still", "flash", "light_switch", "dark", "fog", "fast_turn", "soft_depth")


@dataclass
class GroundTruth:
    recording_id: str
    n_frames: int
    fps: float
    labels: list[str]
    clean_events: list[str]
    cuts: list[int] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    footage: str = "procedural"
    source: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.labels) != self.n_frames or len(self.clean_events) != self.n_frames:
            raise ValueError(f"{self.recording_id}: {len(self.labels)} labels and {len(self.clean_events)} "
                             f"clean-event labels for {self.n_frames} frames")

    def fault_mask(self, kinds: Sequence[str] = FAULT_DROP_KINDS) -> np.ndarray:
        """Frames holding a fault of one of `kinds`."""
        ks = set(kinds)
        return np.array([bool(ks & set(lab.split(","))) for lab in self.labels], bool)

    def clean_mask(self, kinds: Sequence[str] = FAULT_DROP_KINDS) -> np.ndarray:
        """Frames an ideal curator keeps: no fault (scene-cut frames are clean footage too)."""
        return ~self.fault_mask(kinds)

    def fault_events(self, kind: str | None = None) -> list[dict]:
        return [e for e in self.events if e.get("class") == "fault" and (kind is None or e["kind"] == kind)]

    def event_mask(self, kind: str) -> np.ndarray:
        """Frames carrying clean event `kind`."""
        return np.array([kind in s.split(",") for s in self.clean_events], bool)

    def to_json(self) -> dict:
        return {"format": FORMAT, "recording_id": self.recording_id, "footage": self.footage,
                "n_frames": int(self.n_frames), "fps": float(self.fps), "labels": list(self.labels),
                "clean_events": list(self.clean_events), "cuts": [int(c) for c in self.cuts],
                "events": self.events, "source": self.source}


def labels_from_events(n: int, events: Sequence[dict]) -> tuple[list[str], list[str], list[int]]:
    """Per-frame fault labels, clean-event labels and cut frames from event records."""
    faults: list[set[str]] = [set() for _ in range(n)]
    clean: list[set[str]] = [set() for _ in range(n)]
    cuts = []
    for e in events:
        a, b = max(0, int(e["start_frame"])), min(n, int(e["end_frame"]))
        cls = e.get("class", "fault")
        if cls == "cut":
            cuts.append(a)
            if a < n:
                faults[a].add("cut")
            continue
        target = faults if cls == "fault" else clean
        for i in range(a, b):
            target[i].add(e["kind"])
    join = [",".join(sorted(s)) for s in faults]
    return join, [",".join(sorted(s)) for s in clean], sorted(set(cuts))


def write_truth(folder: str | Path, truth: GroundTruth) -> Path:
    """Write `truth.json` into `folder` (temporary name, then rename)."""
    path = Path(folder) / TRUTH
    tmp = path.with_name(f".{TRUTH}.partial")
    tmp.write_text(json.dumps(truth.to_json()))
    os.replace(tmp, path)
    return path


def load_truth(manifest_path: str | Path) -> GroundTruth:
    """The ground truth next to a manifest: `truth.json`, or the simulator's older
    ground_truth.npz + faults.json (whose HUD spans are clean footage)."""
    folder = Path(manifest_path).parent
    p = folder / TRUTH
    if p.exists():
        try:
            d = json.loads(p.read_text())
            return GroundTruth(recording_id=d["recording_id"], n_frames=int(d["n_frames"]), fps=float(d["fps"]),
                               labels=list(d["labels"]), clean_events=list(d["clean_events"]),
                               cuts=[int(c) for c in d.get("cuts", [])], events=list(d.get("events", [])),
                               footage=d.get("footage", "procedural"), source=d.get("source", {}))
        except (KeyError, ValueError, TypeError) as e:
            raise InputError(p, f"not a ground-truth sidecar: {type(e).__name__}: {e}") from None
    from capture.simulate.api import load_ground_truth

    gt = load_ground_truth(manifest_path)
    n = len(gt["labels"])
    events = []
    for f in gt["faults"]:
        if f["kind"] == "hud":
            continue
        cls = "cut" if f["kind"] == "cut" else "fault"
        events.append({**f, "class": cls})
    labels = [",".join(k for k in lab.split(",") if k and k != "hud") for lab in gt["labels"]]
    cuts = sorted(int(e["start_frame"]) for e in events if e["class"] == "cut")
    return GroundTruth(recording_id=Path(manifest_path).stem, n_frames=n, fps=float(gt["fps"]), labels=labels,
                       clean_events=[""] * n, cuts=cuts, events=events, footage="procedural")
