"""report.html: counts by decision and reason, score histograms with the thresholds drawn, and
contact sheets (RGB | captured depth | predicted depth) of kept and dropped clips. Pictures are
embedded as base64 PNG so the report is one file."""

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
        ("edge_agreement", d.edge_agreement_min),
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


def _table(counter: Counter, head: tuple[str, str]) -> str:
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v}</td></tr>" for k, v in counter.most_common())
    return f"<table><tr><th>{head[0]}</th><th>{head[1]}</th></tr>{body}</table>"


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
    recs = "".join(
        f"<tr><td>{html.escape(r.info.recording_id)}</td><td>{r.info.status}</td><td>{r.info.num_frames}</td>"
        f"<td>{html.escape('; '.join(r.info.errors))}</td></tr>"
        for r in results
    )
    note_html = "".join(f'<p class="warn">{html.escape(n)}</p>' for n in notes)
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>synthdepth curation report</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;margin:0.5em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px}} .warn{{color:#b00;font-weight:bold}} img{{max-width:100%}}</style>
</head><body><h1>Curation report</h1>{note_html}
<p>config hash <code>{config.config_hash()}</code></p>
<h2>Clips by decision</h2>{_table(decisions, ("decision", "clips"))}
<h2>Drop reasons (a clip can have several)</h2>{_table(reasons, ("reason", "clips"))}
<h2>Discarded spans (frames)</h2>{_table(spans, ("reason", "frames"))}
<h2>Frame accounting</h2>{_table(frames, ("where", "frames"))}
<h2>Recordings</h2><table><tr><th>recording</th><th>status</th><th>frames</th><th>errors</th></tr>{recs}</table>
<h2>Scores</h2>{_histograms(clips, config)}
<h2>Kept clips (RGB | captured | predicted)</h2>{_sheet(results, "kept")}
<h2>Dropped clips</h2>{_sheet(results, "dropped")}
<h2>Config</h2><pre>{html.escape(config.model_dump_json(indent=2))}</pre>
</body></html>"""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(doc)
    os.replace(tmp, path)
    return path
