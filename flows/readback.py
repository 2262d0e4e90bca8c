"""A published recording folder read back into a RecordingResult (for reports over recordings that
an earlier run curated). What is not stored (per-frame series, preview pictures, scene cuts)
stays empty; the rows are the typed records of `common.records`, field by field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow.parquet as pq

from common.records import Clip, ClipScores, RecordingInfo, Span
from flows.incremental import MARKER


def _kwargs(cls, row: dict, skip: tuple[str, ...] = ()) -> dict:
    return {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row and f.name not in skip}


def _none_to_nan(v):
    return float("nan") if v is None else v


def read_published(folder: Path):
    """The RecordingResult of a published <curated>/<id>/ folder, or None if there is none."""
    from curate.pipeline import RecordingResult

    folder = Path(folder)
    if not (folder / MARKER).exists() or not (folder / "recordings.parquet").exists():
        return None
    recs = pq.read_table(folder / "recordings.parquet").to_pylist()
    if not recs:
        return None
    row = recs[0]
    if isinstance(row.get("tags"), list):  # Arrow map -> list of pairs
        row["tags"] = dict(row["tags"])
    info = RecordingInfo(**_kwargs(RecordingInfo, row))
    clips = []
    for r in pq.read_table(folder / "clips.parquet").to_pylist():
        scores = ClipScores(**{k: _none_to_nan(v) for k, v in _kwargs(ClipScores, r).items()})
        kw = _kwargs(Clip, r, skip=("scores",))
        for k in ("delta1_min", "abs_rel_max"):
            if k in kw:
                kw[k] = _none_to_nan(kw[k])
        clips.append(Clip(**kw, scores=scores))
    spans = [Span(**_kwargs(Span, r)) for r in pq.read_table(folder / "spans.parquet").to_pylist()]
    return RecordingResult(info=info, clips=clips, spans=spans, notes=list(info.notes))
