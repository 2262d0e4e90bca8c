"""Summarise a recording (one streaming pass) and draw a preview contact sheet."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from capture.recording import open_recording
from capture.records import UnreadableFrame
from capture.visual import colourise_depth, contact_sheet, save_png

PREVIEW_FRAMES = 6
_SAMPLE_PER_FRAME = 4096  # valid depth values kept per frame for the median


def inspect_recording(manifest_path: str | Path, preview_path: str | Path | None = None,
                      max_frames: int | None = None) -> dict:
    """Frames, fps, duration, resolution, depth unit and range over valid pixels, invalid
    fraction, duplicated and unreadable frames, warnings; writes an RGB|depth preview of ~6 frames
    when `preview_path` is given. Raises CaptureError/ManifestError on bad input."""
    rec = open_recording(manifest_path)
    n = len(rec) if max_frames is None else min(len(rec), max_frames)
    picks = set(np.linspace(0, n - 1, min(PREVIEW_FRAMES, n)).round().astype(int).tolist()) if n else set()
    kept: list[tuple[int, np.ndarray, np.ndarray]] = []
    rng = np.random.default_rng(0)
    samples: list[np.ndarray] = []
    dmin, dmax = np.inf, -np.inf
    invalid = total = 0
    last_pts = 0.0
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"inspect {rec.id}", total=n)
        unreadable: list[int] = []
        for fp in rec.stream(0, n):
            if isinstance(fp, UnreadableFrame):
                unreadable.append(fp.index)
                bar.advance(task)
                continue
            d = fp.depth
            ok = np.isfinite(d)
            invalid += int(d.size - ok.sum())
            total += d.size
            if ok.any():
                v = d[ok]
                dmin, dmax = min(dmin, float(v.min())), max(dmax, float(v.max()))
                samples.append(rng.choice(v, size=min(_SAMPLE_PER_FRAME, v.size), replace=False))
            if fp.index in picks:
                kept.append((fp.index, fp.rgb.copy(), d.copy()))
            last_pts = fp.pts
            bar.advance(task)
    all_v = np.concatenate(samples) if samples else np.empty(0)
    dups = sorted(i for i in rec._dups if i < n)
    summary = {
        "id": rec.id,
        "manifest": str(Path(manifest_path)),
        "layout": rec.manifest.layout,
        "encoding": rec.manifest.depth.encoding,
        "frames": len(rec),
        "frames_inspected": n,
        "fps": rec.fps,
        "duration_s": len(rec) / rec.fps,
        "last_pts_s": last_pts,
        "width": rec.width,
        "height": rec.height,
        "depth_unit": rec.depth_unit,
        "depth_min": float(dmin) if samples else None,
        "depth_median": float(np.median(all_v)) if all_v.size else None,
        "depth_max": float(dmax) if samples else None,
        "invalid_fraction": invalid / total if total else 1.0,
        "duplicated_frames": dups,
        "unreadable_frames": unreadable,
        "unreadable_reasons": sorted({rec.unreadable[i].message for i in unreadable[:20] if i in rec.unreadable}),
        "warnings": list(rec.warnings),
    }
    if preview_path is not None and kept:
        # Per-frame range: one range over a recording that moves from a room to open terrain
        # leaves the room a single flat colour.
        unit = "m" if rec.depth_unit == "metres" else "L"
        rows, labels = [], []
        for i, rgb, d in kept:
            v = d[np.isfinite(d)]
            lo, hi = np.percentile(v, [2, 98]) if v.size else (0.0, 1.0)
            # Colour by inverse depth, as depth papers draw it: near detail stays visible.
            with np.errstate(divide="ignore"):
                rows.append([rgb, colourise_depth(1.0 / d, 1.0 / hi, 1.0 / lo, invert=False)])
            labels.append([f"#{i}", f"depth {lo:.3g}-{hi:.3g} {unit}"])
        summary["preview"] = str(save_png(preview_path, contact_sheet(rows, labels)))
    return summary
