"""Fault-detection accuracy of a curation run against ground-truth per-frame labels.

`evaluate(result, truth, clip_length)` is the one definition the benches share (issue 11):
per fault kind the events kept out, the clean clips kept, retention of clean frames against an
ideal curator, and the clean frames each check marked (in total and per kind of clean event).
The older `recording_accuracy` / `Accuracy` (frame and clip recall per kind) stay below it.

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
# Clean frames this close to a fault are its padding when a check marks them (reported apart).
NEAR_FAULT = 10
# Frames on each side of a clean event still attributed to it (a check may fire just after a flash).
EVENT_PAD = 8
TRANSITION_CHECK = "scene_cut"  # transition spans at no true cut: the scene detector's false alarms


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


# ---- issue 11: one definition for every bench ----------------------------------------------------


def ideal_frames(clean: np.ndarray, cuts: Sequence[int], length: int) -> int:
    """Frames an ideal curator keeps: whole `length`-frame windows inside the runs of clean frames
    between faults and scene cuts (sum of floor(run / length) * length)."""
    f = np.asarray(clean, bool).copy()
    total = 0
    bounds = sorted({0, len(f), *[c for c in cuts if 0 < c < len(f)]})
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        seg = np.concatenate([[False], f[a:b], [False]])
        d = np.flatnonzero(np.diff(seg.astype(np.int8)))
        for s, e in zip(d[0::2], d[1::2], strict=True):
            total += (int(e - s) // length) * length
    return total


@dataclass
class CurationAccuracy:
    """Accuracy of curation against ground truth, summed over recordings (see `evaluate`)."""

    clip_length: int = 150
    recordings: int = 0
    frames: int = 0
    kinds: dict[str, KindAccuracy] = field(default_factory=dict)  # per fault kind
    caught_by: dict[str, dict[str, int]] = field(default_factory=dict)  # fault kind -> check -> its frames marked
    clean_frames: int = 0
    clean_frames_kept: int = 0
    ideal: int = 0
    clean_clips: int = 0  # curator's clips holding no fault frame
    clean_clips_kept: int = 0
    fault_clips: int = 0
    fault_clips_kept: int = 0
    marked: dict[str, int] = field(default_factory=dict)  # check -> clean frames it marked
    marked_near: dict[str, int] = field(default_factory=dict)  # ... of which within NEAR_FAULT of a fault
    marked_any: int = 0
    # per kind of clean event ("plain" = none): clean frames, and frames each check marked
    event_frames: dict[str, int] = field(default_factory=dict)
    event_marked: dict[str, dict[str, int]] = field(default_factory=dict)
    event_marked_any: dict[str, int] = field(default_factory=dict)
    spans: dict[str, int] = field(default_factory=dict)  # discarded frames by span reason
    # Clean frames in no kept clip, by where they went (a span's reason, or "dropped:<reasons>" for a
    # dropped clip), and of those, how many lie within NEAR_FAULT frames of a true fault
    lost: dict[str, int] = field(default_factory=dict)
    lost_near: dict[str, int] = field(default_factory=dict)
    cuts: int = 0
    cuts_straddled: int = 0

    def add(self, o: CurationAccuracy) -> None:
        for f in ("recordings", "frames", "clean_frames", "clean_frames_kept", "ideal", "clean_clips",
                  "clean_clips_kept", "fault_clips", "fault_clips_kept", "marked_any", "cuts", "cuts_straddled"):
            setattr(self, f, getattr(self, f) + getattr(o, f))
        for k, v in o.kinds.items():
            a = self.kinds.setdefault(k, KindAccuracy())
            for f in ("frames", "frames_excluded", "events", "events_excluded", "clips", "clips_dropped"):
                setattr(a, f, getattr(a, f) + getattr(v, f))
        for mine, theirs in ((self.marked, o.marked), (self.marked_near, o.marked_near), (self.spans, o.spans),
                             (self.lost, o.lost), (self.lost_near, o.lost_near),
                             (self.event_frames, o.event_frames), (self.event_marked_any, o.event_marked_any)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        for mine, theirs in ((self.caught_by, o.caught_by), (self.event_marked, o.event_marked)):
            for k, d in theirs.items():
                m = mine.setdefault(k, {})
                for c, v in d.items():
                    m[c] = m.get(c, 0) + v

    @staticmethod
    def _r(a: float, b: float) -> float:
        return a / b if b else float("nan")

    @property
    def retention(self) -> float:
        """Clean frames in kept clips over what an ideal curator keeps."""
        return self._r(self.clean_frames_kept, self.ideal)

    @property
    def clean_clip_keep_rate(self) -> float:
        return self._r(self.clean_clips_kept, self.clean_clips)

    @property
    def false_alarm_rate(self) -> float:
        """Share of clean frames marked by any check."""
        return self._r(self.marked_any, self.clean_frames)

    def check_rate(self, check: str) -> float:
        return self._r(self.marked.get(check, 0), self.clean_frames)

    def summary(self) -> dict[str, float]:
        out = {"retention": self.retention, "clean_clips_kept": self.clean_clip_keep_rate,
               "clean_frames_marked": self.false_alarm_rate, "clip_length": float(self.clip_length)}
        for k, v in sorted(self.kinds.items()):
            out[f"{k}.kept_out"] = v.event_recall
        for c in sorted(self.marked):
            out[f"marked.{c}"] = self.check_rate(c)
        return out

    def table(self) -> str:
        L = self.clip_length
        lines = [f"clip length {L}: {self.recordings} recordings, {self.frames} frames, {self.clean_frames} clean",
                 f"{'fault kind':13s} {'events':>6s} {'kept out':>8s}   caught by (frames of the kind each check marked)"]
        for k, v in sorted(self.kinds.items()):
            by = sorted(self.caught_by.get(k, {}).items(), key=lambda x: -x[1])
            by_s = ", ".join(f"{c} {n / v.frames:.0%}" for c, n in by if n) if v.frames else ""
            lines.append(f"{k:13s} {v.events:6d} {v.event_recall:8.3f}   {by_s}")
        lines.append(f"clean clips kept {self.clean_clip_keep_rate:.3f} ({self.clean_clips_kept} of {self.clean_clips} "
                     f"curator's clips with no fault frame); fault clips kept {self.fault_clips_kept} of {self.fault_clips}")
        lines.append(f"retention {self.retention:.3f}: {self.clean_frames_kept} clean frames in kept clips, ideal "
                     f"{self.ideal} (whole {L}-frame windows in the clean runs between faults and cuts)")
        lines.append(f"clean frames marked as faults: {self.marked_any} ({self.false_alarm_rate:.2%} of clean frames)")
        for c, n in sorted(self.marked.items(), key=lambda x: -x[1]):
            if n:
                lines.append(f"  {c:16s} {n:6d} {self.check_rate(c):7.2%}  ({self.marked_near.get(c, 0)} within "
                             f"{NEAR_FAULT} frames of a fault)")
        lines.append(f"kept clips straddling a cut: {self.cuts_straddled} of {self.cuts} cuts")
        lines.append("discarded frames by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(self.spans.items())))
        lost = sorted(self.lost.items(), key=lambda x: -x[1])
        lines.append(f"clean frames in no kept clip: {sum(self.lost.values())}, by where they went (within "
                     f"{NEAR_FAULT} frames of a fault): " + ", ".join(f"{k} {v} ({self.lost_near.get(k, 0)})" for k, v in lost))
        return "\n".join(lines)

    def event_table(self) -> str:
        """Which hard negatives trigger which check: share of each clean-event kind's frames marked."""
        checks = sorted({c for d in self.event_marked.values() for c, n in d.items() if n})
        head = f"{'clean event':13s} {'frames':>7s} {'any':>7s} " + " ".join(f"{c[:12]:>12s}" for c in checks)
        lines = [head]
        for k in sorted(self.event_frames):
            n = self.event_frames[k]
            row = f"{k:13s} {n:7d} {self._r(self.event_marked_any.get(k, 0), n):7.2%} "
            row += " ".join(f"{self._r(self.event_marked.get(k, {}).get(c, 0), n):12.2%}" for c in checks)
            lines.append(row)
        return "\n".join(lines)


def _transition_false_alarms(result, n: int, cuts: Sequence[int], tol: int = 4) -> np.ndarray:
    """Frames of transition spans that are not at a true cut (the scene detector fired on clean footage)."""
    m = np.zeros(n, bool)
    near = np.zeros(n, bool)
    for c in cuts:
        near[max(0, c - tol):min(n, c + tol)] = True
    for s in result.spans:
        if s.reason == "transition":
            m[s.start_frame:min(n, s.end_frame)] = True
    return m & ~near


def evaluate(result, truth, clip_length: int, drop_kinds: Sequence[str] = DROP_KINDS) -> CurationAccuracy:
    """Accuracy of one curated recording (`curate.pipeline.RecordingResult`) against its ground
    truth (`capture.simulate.truth.GroundTruth`) when curated with clips of `clip_length` frames."""
    n = truth.n_frames
    acc = CurationAccuracy(clip_length=clip_length, recordings=1, frames=n)
    fault = truth.fault_mask(drop_kinds)
    clean = ~fault
    kept = np.zeros(n, bool)
    for c in result.clips:
        if c.decision == "kept":
            kept[c.start_frame:min(c.end_frame, n)] = True
    kinds = [set(lab.split(",")) for lab in truth.labels]
    for kind in drop_kinds:
        mask = np.array([kind in k for k in kinds], bool)
        evs = [(e["start_frame"], e["end_frame"]) for e in truth.fault_events(kind)]
        if not evs and not mask.any():
            continue
        a = KindAccuracy(frames=int(mask.sum()), frames_excluded=int((mask & ~kept).sum()), events=len(evs),
                         events_excluded=sum(not kept[s:e].any() for s, e in evs))
        for c in result.clips:
            if mask[c.start_frame:c.end_frame].any():
                a.clips += 1
                a.clips_dropped += c.decision != "kept"
        acc.kinds[kind] = a
        acc.caught_by[kind] = {name: int((m[:n] & mask).sum()) for name, m in result.check_masks.items()}
    acc.clean_frames = int(clean.sum())
    acc.clean_frames_kept = int((clean & kept).sum())
    acc.ideal = ideal_frames(clean, truth.cuts, clip_length)
    for c in result.clips:
        has_fault = bool(fault[c.start_frame:c.end_frame].any())
        if has_fault:
            acc.fault_clips += 1
            acc.fault_clips_kept += c.decision == "kept"
        else:
            acc.clean_clips += 1
            acc.clean_clips_kept += c.decision == "kept"
    near = np.zeros(n, bool)
    for e in truth.fault_events():
        near[max(0, e["start_frame"] - NEAR_FAULT):min(n, e["end_frame"] + NEAR_FAULT)] = True
    masks = {name: np.asarray(m[:n], bool) for name, m in result.check_masks.items()}
    masks[TRANSITION_CHECK] = _transition_false_alarms(result, n, truth.cuts)
    any_mark = np.zeros(n, bool)
    for name, m in masks.items():
        acc.marked[name] = int((m & clean).sum())
        acc.marked_near[name] = int((m & clean & near).sum())
        any_mark |= m
    acc.marked_any = int((any_mark & clean).sum())
    # Attribution to clean events: each event's frames plus EVENT_PAD on each side.
    windows: dict[str, np.ndarray] = {}
    for e in truth.events:
        if e.get("class") != "clean":
            continue
        w = windows.setdefault(e["kind"], np.zeros(n, bool))
        w[max(0, e["start_frame"] - EVENT_PAD):min(n, e["end_frame"] + EVENT_PAD)] = True
    plain = clean.copy()
    for w in windows.values():
        plain &= ~w
    for kind, w in [*windows.items(), ("plain", plain)]:
        sel = w & clean
        acc.event_frames[kind] = int(sel.sum())
        acc.event_marked[kind] = {name: int((m & sel).sum()) for name, m in masks.items()}
        acc.event_marked_any[kind] = int((any_mark & sel).sum())
    for s in result.spans:
        acc.spans[s.reason] = acc.spans.get(s.reason, 0) + s.end_frame - s.start_frame
    # Where the clean frames that no kept clip holds went: fragmentation (too_short, remainder)
    # and padding near a fault show here beside the checks' own false spans.
    where = np.full(n, "", dtype=object)
    for s in result.spans:
        where[s.start_frame:min(n, s.end_frame)] = s.reason
    for c in result.clips:
        if c.decision != "kept":
            where[c.start_frame:min(n, c.end_frame)] = "dropped:" + "+".join(c.reasons or ["?"])
    for i in np.flatnonzero(clean & ~kept):
        k = where[i] or "?"
        acc.lost[k] = acc.lost.get(k, 0) + 1
        acc.lost_near[k] = acc.lost_near.get(k, 0) + int(near[i])
    for c in truth.cuts:
        acc.cuts += 1
        acc.cuts_straddled += any(k.decision == "kept" and k.start_frame < c < k.end_frame for k in result.clips)
    return acc
