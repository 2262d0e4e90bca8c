"""Segments and fixed-length clips from a per-frame discard mask, with full frame accounting.

Input: for every frame either "" (usable) or the reason it is discarded (transition,
fault:<check>, unreadable), plus the scene cuts. Output: segments (runs of usable frames
between cuts and discarded spans), clips inside segments, and discarded spans, such that every
frame lies in exactly one clip or one span.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.records import Clip, Segment, Span
from curate.config import ClipConfig

# Reasons of discarded spans that are not faults, with their meaning for the report.
SPAN_REASONS = {
    "transition": "frames around a scene cut",
    "too_short": "clean piece between cuts and faults shorter than one clip",
    "remainder": "clean frames left over after cutting whole clips",
    "unreadable": "frames that could not be decoded",
}


def runs(labels: Sequence[str], breaks: Sequence[int] = ()) -> list[tuple[int, int, str]]:
    """Maximal `[start, end)` runs of equal labels; a run also ends at every index in `breaks`."""
    out: list[tuple[int, int, str]] = []
    brk = set(breaks)
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start] or i in brk:
            out.append((start, i, labels[start]))
            start = i
    return out


def cut_clips(segment: Segment, config: ClipConfig) -> tuple[list[tuple[int, int]], list[Span]]:
    """Clip ranges inside one segment and the left-over spans ("too_short" / "remainder")."""
    rid, s, e = segment.recording_id, segment.start_frame, segment.end_frame
    if e - s < config.shortest:
        return [], [Span(rid, s, e, "too_short")]
    ranges: list[tuple[int, int]] = []
    spans: list[Span] = []
    pos = s
    while pos < e:
        end = min(pos + config.length, e)
        if end - pos >= config.shortest:
            ranges.append((pos, end))
        else:
            spans.append(Span(rid, pos, end, "remainder"))
        nxt = min(pos + config.step, e)
        if nxt > end:  # stride longer than the clip: the gap is not used
            spans.append(Span(rid, end, nxt, "remainder"))
        pos = nxt
    return ranges, spans


def plan_clips(
    recording_id: str,
    labels: Sequence[str],
    cuts: Sequence[int],
    config: ClipConfig,
    manifest: str = "",
    fps: float = 30.0,
    config_hash: str = "",
) -> tuple[list[Segment], list[Clip], list[Span]]:
    """Segments, (pending) clips and discarded spans for one recording."""
    segments: list[Segment] = []
    clips: list[Clip] = []
    spans: list[Span] = []
    for s, e, label in runs(labels, cuts):
        if label:
            spans.append(Span(recording_id, s, e, label))
            continue
        seg = Segment(recording_id, s, e)
        segments.append(seg)
        ranges, left = cut_clips(seg, config)
        spans.extend(left)
        clips.extend(
            Clip(recording_id, a, b, manifest=manifest, fps=fps, config_hash=config_hash) for a, b in ranges
        )
    # Neighbouring spans with the same reason read better as one row.
    merged: list[Span] = []
    for sp in sorted(spans, key=lambda x: x.start_frame):
        if merged and merged[-1].reason == sp.reason and merged[-1].end_frame == sp.start_frame:
            merged[-1].end_frame = sp.end_frame
        else:
            merged.append(sp)
    return segments, clips, merged


def check_accounting(num_frames: int, clips: Sequence[Clip], spans: Sequence[Span]) -> list[str]:
    """Problems with the frame accounting ([] when every frame is in exactly one place)."""
    cover = [0] * num_frames
    problems: list[str] = []
    for r in [*clips, *spans]:
        if not (0 <= r.start_frame < r.end_frame <= num_frames):
            problems.append(f"range [{r.start_frame}, {r.end_frame}) outside [0, {num_frames})")
            continue
        for i in range(r.start_frame, r.end_frame):
            cover[i] += 1
    missing = sum(1 for c in cover if c == 0)
    double = sum(1 for c in cover if c > 1)
    if missing:
        problems.append(f"{missing} frames in no clip or span")
    if double:
        problems.append(f"{double} frames in more than one clip or span")
    return problems
