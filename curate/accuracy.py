"""Fault-detection accuracy of a curation run against ground-truth per-frame labels.

Labels are comma-joined fault kinds per frame ("" = clean), as `capture.simulate.load_ground_truth`
gives them, or as any fault-injection tool can write them. Kinds to drop default to menu,
depth_lag, frozen_depth, loading, fade; "cut" is a scene boundary; anything else (hud) is clean.

Per kind: frame recall (fraction of the kind's frames in no kept clip), event recall
(fraction of its events with no frame in a kept clip) and clip recall (planned clips holding a
frame of the kind that were dropped; frames discarded as a span before clips were cut are in no
clip at all, which is how most faults are meant to go). Overall: clean-frame retention (fraction
of clean frames in kept clips), clip-level precision (kept clips without a fault frame / kept
clips), fault-clip recall (planned clips containing a fault frame that were dropped) and clean-clip
keep rate (planned clips without a fault frame that were kept); for cuts, how many kept clips
straddle a cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from common.records import Clip

DROP_KINDS = ("menu", "depth_lag", "frozen_depth", "loading", "fade")


@dataclass
class KindAccuracy:
    frames: int = 0
    frames_excluded: int = 0
    events: int = 0
    events_excluded: int = 0
    clips: int = 0  # planned clips holding at least one frame of this kind
    clips_dropped: int = 0

    @property
    def frame_recall(self) -> float:
        return self.frames_excluded / self.frames if self.frames else float("nan")

    @property
    def event_recall(self) -> float:
        return self.events_excluded / self.events if self.events else float("nan")

    @property
    def clip_recall(self) -> float:
        return self.clips_dropped / self.clips if self.clips else float("nan")


@dataclass
class Accuracy:
    kinds: dict[str, KindAccuracy] = field(default_factory=dict)
    clean_frames: int = 0
    clean_frames_kept: int = 0
    kept_clips: int = 0
    kept_clips_clean: int = 0
    fault_clips: int = 0
    fault_clips_dropped: int = 0
    clean_clips: int = 0
    clean_clips_kept: int = 0
    cuts: int = 0
    cuts_straddled: int = 0

    def add(self, other: Accuracy) -> None:
        for k, v in other.kinds.items():
            a = self.kinds.setdefault(k, KindAccuracy())
            a.frames += v.frames
            a.frames_excluded += v.frames_excluded
            a.events += v.events
            a.events_excluded += v.events_excluded
            a.clips += v.clips
            a.clips_dropped += v.clips_dropped
        for f in ("clean_frames", "clean_frames_kept", "kept_clips", "kept_clips_clean", "fault_clips",
                  "fault_clips_dropped", "clean_clips", "clean_clips_kept", "cuts", "cuts_straddled"):
            setattr(self, f, getattr(self, f) + getattr(other, f))

    @staticmethod
    def _r(a: int, b: int) -> float:
        return a / b if b else float("nan")

    def summary(self) -> dict[str, float]:
        out = {
            "clean_frame_retention": self._r(self.clean_frames_kept, self.clean_frames),
            "clip_precision": self._r(self.kept_clips_clean, self.kept_clips),
            "fault_clip_recall": self._r(self.fault_clips_dropped, self.fault_clips),
            "clean_clip_keep_rate": self._r(self.clean_clips_kept, self.clean_clips),
            "cuts_straddled_by_kept_clips": float(self.cuts_straddled),
        }
        for k, v in sorted(self.kinds.items()):
            out[f"{k}.frame_recall"] = v.frame_recall
            out[f"{k}.event_recall"] = v.event_recall
            out[f"{k}.clip_recall"] = v.clip_recall
        return out

    def table(self) -> str:
        head = (f"{'kind':13s} {'events':>6s} {'excluded':>8s} {'frames':>7s} {'excluded':>8s} "
                f"{'clips':>5s} {'dropped':>7s}")
        lines = [head]
        for k, v in sorted(self.kinds.items()):
            lines.append(f"{k:13s} {v.events:6d} {v.event_recall:8.3f} {v.frames:7d} {v.frame_recall:8.3f} "
                         f"{v.clips:5d} {v.clip_recall:7.3f}")
        s = self.summary()
        lines.append(f"clean frames in kept clips (yield) {s['clean_frame_retention']:.3f} of {self.clean_frames}")
        lines.append(f"kept-clip precision {s['clip_precision']:.3f} ({self.kept_clips_clean} of {self.kept_clips} "
                     "kept clips hold no fault frame)")
        lines.append(f"fault clips dropped {s['fault_clip_recall']:.3f} ({self.fault_clips_dropped} of "
                     f"{self.fault_clips} clips with a fault frame)")
        lines.append(f"clean clips kept {s['clean_clip_keep_rate']:.3f} ({self.clean_clips_kept} of "
                     f"{self.clean_clips} clips without one)")
        lines.append(f"kept clips straddling a cut: {self.cuts_straddled} of {self.cuts} cuts")
        return "\n".join(lines)


def _events(labels: Sequence[str], kind: str) -> list[tuple[int, int]]:
    m = np.array([kind in lab.split(",") for lab in labels])
    d = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def recording_accuracy(
    labels: Sequence[str],
    clips: Sequence[Clip],
    drop_kinds: Sequence[str] = DROP_KINDS,
    faults: Sequence[dict] | None = None,
) -> Accuracy:
    """Accuracy for one recording. `faults` (list of {kind, start_frame, end_frame}) gives the
    events when present; otherwise events are runs of labelled frames."""
    n = len(labels)
    kept = np.zeros(n, dtype=bool)
    for c in clips:
        if c.decision == "kept":
            kept[c.start_frame : min(c.end_frame, n)] = True
    kinds = [set(lab.split(",")) - {""} for lab in labels]
    fault = np.array([bool(k & set(drop_kinds)) for k in kinds])
    acc = Accuracy()
    for kind in drop_kinds:
        mask = np.array([kind in k for k in kinds])
        a = KindAccuracy(frames=int(mask.sum()), frames_excluded=int((mask & ~kept).sum()))
        evs = [(f["start_frame"], f["end_frame"]) for f in faults if f["kind"] == kind] if faults else _events(labels, kind)
        a.events = len(evs)
        a.events_excluded = sum(not kept[s:e].any() for s, e in evs)
        if a.frames or a.events:
            acc.kinds[kind] = a
    clean = ~fault & np.array(["cut" not in k for k in kinds])
    acc.clean_frames = int(clean.sum())
    acc.clean_frames_kept = int((clean & kept).sum())
    for c in clips:
        for kind, a in acc.kinds.items():
            if any(kind in k for k in kinds[c.start_frame : c.end_frame]):
                a.clips += 1
                a.clips_dropped += c.decision != "kept"
        has_fault = bool(fault[c.start_frame : c.end_frame].any())
        if c.decision == "kept":
            acc.kept_clips += 1
            acc.kept_clips_clean += not has_fault
        if has_fault:
            acc.fault_clips += 1
            acc.fault_clips_dropped += c.decision != "kept"
        else:
            acc.clean_clips += 1
            acc.clean_clips_kept += c.decision == "kept"
    # A cut event [s, e): a kept clip straddles it when it holds frames on both sides.
    cut_events = [(f["start_frame"], f["end_frame"]) for f in faults if f["kind"] == "cut"] if faults else _events(labels, "cut")
    for s, _e in cut_events:
        acc.cuts += 1
        acc.cuts_straddled += any(
            c.decision == "kept" and c.start_frame < s < c.end_frame for c in clips
        )
    return acc


def ground_truth_accuracy(results, drop_kinds: Sequence[str] = DROP_KINDS) -> tuple[Accuracy, dict[str, Accuracy]]:
    """Accuracy over curation results of simulated recordings (reads their ground-truth sidecars)."""
    from capture.simulate import load_ground_truth

    total = Accuracy()
    per: dict[str, Accuracy] = {}
    for r in results:
        if r.info.status != "ok":
            continue
        gt = load_ground_truth(r.info.manifest)
        a = recording_accuracy(gt["labels"], r.clips, drop_kinds, gt.get("faults"))
        per[r.info.recording_id] = a
        total.add(a)
    return total, per
