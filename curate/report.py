"""report.html: what happened to every frame (a timeline strip per recording), counts by decision
and reason with a legend of what each reason means, per-recording figures, score histograms with
the thresholds drawn, and contact sheets (RGB | captured depth | predicted depth) of kept and
dropped clips. Pictures are embedded as base64 PNG so the report is one file."""

from __future__ import annotations

import base64
import html
import math
import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from capture.visual import colourise_depth, contact_sheet
from curate.config import CurateConfig


def _png(img: np.ndarray) -> str:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img[..., ::-1]))
    return base64.b64encode(buf.tobytes()).decode() if ok else ""


def _histograms(clips, config: CurateConfig) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    d = config.decision
    panels = [
        ("depth_delta1", d.delta1_min if d.depth_metric == "delta1" else None),
        ("depth_abs_rel", d.abs_rel_max if d.depth_metric == "abs_rel" else None),
        ("clip_similarity", d.clip_similarity_min),
        ("duplicate_fraction", d.duplicate_fraction_max),
        ("frozen_depth", d.frozen_depth_max),
        ("invalid_fraction", d.invalid_fraction_max),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6))
    for ax, (name, thr) in zip(axes.ravel(), panels, strict=True):
        for decision, colour in (("kept", "tab:green"), ("dropped", "tab:red")):
            v = [getattr(c.scores, name) for c in clips if c.decision == decision]
            v = [x for x in v if x is not None and not math.isnan(x)]
            if v:
                ax.hist(v, bins=30, alpha=0.6, color=colour, label=f"{decision} ({len(v)})")
        if thr is not None:
            ax.axvline(thr, color="k", linestyle="--", label=f"threshold {thr:g}")
        ax.set_title(name)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _sheet(results, decision: str, limit: int = 12) -> str:
    rows, labels = [], []
    for r in results:
        for c in r.clips:
            if c.decision != decision or c.clip_id not in r.previews:
                continue
            rgb, depth, pred = r.previews[c.clip_id]
            v = depth[np.isfinite(depth)]
            lo, hi = (np.percentile(v, [2, 98]) if v.size else (0.0, 1.0))
            row = [rgb, colourise_depth(depth, lo, hi)]
            lab = [f"{c.recording_id} [{c.start_frame},{c.end_frame})", "captured"]
            if pred is not None:
                row.append(colourise_depth(pred, lo, hi))
                lab.append("predicted")
            if c.reasons:
                lab[0] += " " + ",".join(c.reasons)
            rows.append(row)
            labels.append(lab)
            if len(rows) >= limit:
                break
        if len(rows) >= limit:
            break
    if not rows:
        return "<p>none</p>"
    return f'<img src="data:image/png;base64,{_png(contact_sheet(rows, labels))}">'


def reason_meanings(config: CurateConfig | None = None) -> dict[str, str]:
    """What each reason means, for the reader of the report: derived from the frame-check registry,
    the span reasons and the decision chain's filters."""
    from curate.clips import SPAN_REASONS
    from curate.decision import decision_chain
    from curate.frame_checks.registry import MEANINGS

    out = {f"fault:{k}": v for k, v in MEANINGS.items()}
    out.update(SPAN_REASONS)
    for f in decision_chain((config or CurateConfig()).decision).filters:
        out.update(f.reasons())
    return out


# Timeline colours (RGB 0..1): kept green, dropped red, faults orange/brown, boundaries grey.
_COLOURS = {"kept": (0.2, 0.65, 0.25), "dropped": (0.85, 0.15, 0.15), "fault": (0.95, 0.55, 0.1),
            "transition": (0.45, 0.45, 0.45), "too_short": (0.75, 0.75, 0.75), "remainder": (0.75, 0.75, 0.75),
            "unreadable": (0.1, 0.1, 0.1)}


def _status_of(r) -> list[str]:
    n = r.info.num_frames
    out = ["remainder"] * n
    for sp in r.spans:
        kind = "fault" if sp.reason.startswith("fault:") else sp.reason
        out[sp.start_frame : sp.end_frame] = [kind] * (sp.end_frame - sp.start_frame)
    for c in r.clips:
        out[c.start_frame : c.end_frame] = [c.decision] * c.num_frames
    return out


def _timelines(results, limit: int = 40) -> str:
    """One horizontal strip per recording: where every frame went."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rs = [r for r in results if r.info.num_frames][:limit]
    if not rs:
        return "<p>none</p>"
    fig, ax = plt.subplots(figsize=(12, 0.35 * len(rs) + 1.0))
    for y, r in enumerate(rs):
        status = _status_of(r)
        start = 0
        for i in range(1, len(status) + 1):
            if i == len(status) or status[i] != status[start]:
                ax.broken_barh([(start, i - start)], (y - 0.4, 0.8), color=_COLOURS.get(status[start], "k"))
                start = i
        for cut in r.cuts:
            ax.plot([cut, cut], [y - 0.45, y + 0.45], color="k", linewidth=0.8)
    ax.set_yticks(range(len(rs)), [r.info.recording_id for r in rs], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("frame")
    names = [("kept", "kept clip"), ("dropped", "dropped clip"), ("fault", "fault span (discarded)"),
             ("transition", "scene-cut transition"), ("too_short", "too short / remainder"),
             ("unreadable", "unreadable")]
    ax.legend(handles=[Patch(color=_COLOURS[k], label=v) for k, v in names], loc="upper center",
              bbox_to_anchor=(0.5, -0.6 if len(rs) < 4 else -0.25), ncol=6, fontsize=8, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return (f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'
            "<p>Black ticks: scene cuts found by PySceneDetect.</p>")


def _recording_table(results) -> str:
    rows = []
    for r in results:
        kept = [c for c in r.clips if c.decision == "kept"]
        dropped = [c for c in r.clips if c.decision == "dropped"]
        spans: Counter = Counter()
        for sp in r.spans:
            spans[sp.reason] += sp.end_frame - sp.start_frame
        n = r.info.num_frames
        kept_frames = sum(c.num_frames for c in kept)
        total = kept_frames + sum(c.num_frames for c in dropped) + sum(spans.values())
        ok = "yes" if total == n else f"NO ({total} of {n})"
        disc = ", ".join(f"{k} {v}" for k, v in spans.most_common())
        rows.append(
            f"<tr><td>{html.escape(r.info.recording_id)}</td><td>{r.info.status}</td><td>{n}</td>"
            f"<td>{len(kept)}</td><td>{len(dropped)}</td><td>{(kept_frames / n if n else 0):.0%}</td>"
            f"<td>{ok}</td><td>{html.escape(disc)}</td><td>{html.escape('; '.join(r.info.errors))}</td></tr>"
        )
    head = ("<tr><th>recording</th><th>status</th><th>frames</th><th>kept clips</th><th>dropped clips</th>"
            "<th>frames kept</th><th>frames add up</th><th>discarded frames by reason</th><th>errors</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _table(counter: Counter, head: tuple[str, str], meanings: dict[str, str]) -> str:
    if not counter:
        return "<p>none</p>"
    body = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{v}</td><td>{html.escape(meanings.get(str(k), ''))}</td></tr>"
        for k, v in counter.most_common()
    )
    return f"<table><tr><th>{head[0]}</th><th>{head[1]}</th><th>meaning</th></tr>{body}</table>"


def write_report(results, path: Path, config: CurateConfig, notes: list[str]) -> Path:
    clips = [c for r in results for c in r.clips]
    decisions = Counter(c.decision for c in clips)
    reasons: Counter = Counter()
    for c in clips:
        reasons.update(c.reasons)
    spans: Counter = Counter()
    for r in results:
        for s in r.spans:
            spans[s.reason] += s.end_frame - s.start_frame
    frames = Counter()
    for c in clips:
        frames[f"in {c.decision} clips"] += c.num_frames
    frames["in discarded spans"] = sum(spans.values())
    total = sum(r.info.num_frames for r in results)
    frames["total frames of the recordings"] = total
    note_html = "".join(f'<p class="warn">{html.escape(n)}</p>' for n in notes)
    meanings = reason_meanings(config)
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>synthdepth curation report</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1300px}} table{{border-collapse:collapse;margin:0.5em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}} .warn{{color:#b00;font-weight:bold}}
img{{max-width:100%}} .dim{{color:#666}}</style>
</head><body><h1>Curation report</h1>{note_html}
<p>{len(results)} recordings, {total} frames: {decisions.get("kept", 0)} clips kept, {decisions.get("dropped", 0)}
dropped; {sum(spans.values())} frames discarded before clips were cut (fault spans, transitions, leftovers).
Config hash <code>{config.config_hash()}</code>; clip length {config.clips.length} frames.</p>
<h2>Where every frame went</h2>{_timelines(results)}
<h2>Recordings</h2>{_recording_table(results)}
<h2>Frame accounting</h2>{_table(frames, ("where", "frames"), meanings)}
<p class="dim">Every frame is in exactly one kept clip, dropped clip or discarded span.</p>
<h2>Discarded spans (frames)</h2>
<p class="dim">Per-frame checks find a fault's span; the span is cut out and clips are made from the clean
frames around it, so most faults never reach a clip.</p>{_table(spans, ("reason", "frames"), meanings)}
<h2>Clip drop reasons (a clip can have several)</h2>{_table(reasons, ("reason", "clips"), meanings)}
<h2>Clip scores</h2><p class="dim">Green: kept clips, red: dropped clips, dashed: the decision threshold.
depth_* come from the bootstrap model (NaN without one), clip_similarity from CLIP.</p>{_histograms(clips, config)}
<h2>Kept clips (RGB | captured depth | predicted depth, middle sampled frame)</h2>{_sheet(results, "kept")}
<h2>Dropped clips</h2>{_sheet(results, "dropped")}
<h2>Config</h2><pre>{html.escape(config.model_dump_json(indent=2))}</pre>
</body></html>"""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(doc)
    os.replace(tmp, path)
    return path
