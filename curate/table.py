"""The per-frame table one analysis pass produces: everything curation needs after the pass.

A `ChunkTable` holds rows [start, stop) of one recording (a chunk, or the whole recording after
`merge_chunks`). Per frame (row):

    readable      bool      the frame was decoded
    duplicated    bool      the recorder repeated the previous frame (the reader's test)
    scene_score   float64   PySceneDetect's content score against the previous readable frame
                            (NaN = unreadable); cuts are decided by replaying these after the merge
    features      float32   every `FrameFeatures` array of the frame checks, (rows,) or (rows, J)
    boot_sampled  bool      the bootstrap predicted this frame (depth lag / misalignment checks)
    boot_errors   float32   (rows, J+1): AbsRel of that prediction against depth[t + j], j = 0..J
    scored        bool      a model-score grid frame (t % score_every == 0)
    abs_rel, delta1, clip_sim  float32  its model scores (NaN elsewhere / unavailable)

plus the recording's facts (`info`), the chunk's errors, and a bounded set of preview thumbnails.
No frame is in it: ~200 bytes per frame, so a 5-hour 60 fps recording's table is ~200 MB and a
3-minute chunk's ~2 MB. Chunks are picklable and can be saved to / loaded from a file
(`save`/`load`, an .npz written to a temporary name and renamed), so a flow can write one result
per chunk and merge later.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from common.records import RecordingInfo
from curate.bootstrap_checks import BootstrapTrack
from curate.frame_checks import FrameFeatures
from curate.thumbnails import KINDS, Thumb, Thumbnails

TABLE_FORMAT = "synthdepth-analysis-table/1"
_ROW_ARRAYS = ("readable", "duplicated", "scene_score", "scored", "abs_rel", "delta1", "clip_sim")


def feature_names() -> list[str]:
    return FrameFeatures.array_fields()


@dataclass
class ChunkTable:
    info: RecordingInfo
    start: int
    stop: int
    readable: np.ndarray
    duplicated: np.ndarray
    scene_score: np.ndarray
    features: dict[str, np.ndarray]
    scored: np.ndarray
    abs_rel: np.ndarray
    delta1: np.ndarray
    clip_sim: np.ndarray
    boot_sampled: np.ndarray | None = None
    boot_errors: np.ndarray | None = None
    thumbs: Thumbnails = field(default_factory=lambda: Thumbnails(0, 160))
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall clock of the analysis
    work_size: tuple[int, int] = (160, 90)  # (w, h) the frame checks measured at

    def __len__(self) -> int:
        return self.stop - self.start

    @property
    def frames_read(self) -> int:
        return int(self.readable.sum())

    # ---- what the rest of curation reads -------------------------------------------------
    def frame_features(self) -> FrameFeatures:
        """The frame checks' features (float64, as the checks compute with), bootstrap track included."""
        arrays = {k: np.asarray(v, dtype=np.float64) for k, v in self.features.items()}
        track = None
        if self.boot_errors is not None:
            track = BootstrapTrack.from_errors(self.boot_errors, self.boot_sampled)
        return FrameFeatures(**arrays, work_size=tuple(self.work_size), bootstrap=track)

    # ---- files -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write to `path` (.npz) through a temporary name, so a reader never sees half a table."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {k: getattr(self, k) for k in _ROW_ARRAYS}
        arrays.update({f"f_{k}": v for k, v in self.features.items()})
        if self.boot_errors is not None:
            arrays["boot_sampled"], arrays["boot_errors"] = self.boot_sampled, self.boot_errors
        for kind in KINDS:
            items = self.thumbs.items[kind]
            if items:
                arrays[f"t_{kind}_index"] = np.array([t.index for t in items], np.int64)
                arrays[f"t_{kind}_key"] = np.array([t.key for t in items], np.float64)
                arrays[f"t_{kind}_rgb"] = np.stack([t.rgb for t in items])
                arrays[f"t_{kind}_depth"] = np.stack([t.depth for t in items])
                if all(t.pred is not None for t in items):
                    arrays[f"t_{kind}_pred"] = np.stack([t.pred for t in items])
        meta = {"format": TABLE_FORMAT, "info": asdict(self.info), "start": self.start, "stop": self.stop,
                "errors": self.errors, "notes": self.notes, "seconds": self.seconds,
                "work_size": list(self.work_size),
                "thumbs_k": self.thumbs.k, "thumbs_width": self.thumbs.width}
        arrays["meta"] = np.array(json.dumps(meta))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.partial")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ChunkTable:
        from capture.errors import InputError

        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
            meta = json.loads(str(data.pop("meta")))
        except (OSError, ValueError, KeyError) as e:
            raise InputError(path, f"not a readable analysis table: {e}") from None
        if meta.get("format") != TABLE_FORMAT:
            raise InputError(path, f"table format {meta.get('format')!r}, expected {TABLE_FORMAT!r}")
        thumbs = Thumbnails(meta["thumbs_k"], meta["thumbs_width"])
        for kind in KINDS:
            if f"t_{kind}_index" not in data:
                continue
            preds = data.get(f"t_{kind}_pred")
            for j, idx in enumerate(data[f"t_{kind}_index"]):
                thumbs.items[kind].append(Thumb(kind, int(idx), float(data[f"t_{kind}_key"][j]), data[f"t_{kind}_rgb"][j],
                                                data[f"t_{kind}_depth"][j], None if preds is None else preds[j]))
        return cls(
            info=RecordingInfo(**meta["info"]), start=meta["start"], stop=meta["stop"],
            **{k: data[k] for k in _ROW_ARRAYS},
            features={k[2:]: v for k, v in data.items() if k.startswith("f_")},
            boot_sampled=data.get("boot_sampled"), boot_errors=data.get("boot_errors"),
            thumbs=thumbs, errors=list(meta["errors"]), notes=list(meta["notes"]), seconds=float(meta["seconds"]),
            work_size=tuple(meta.get("work_size", (160, 90))),
        )


def fold_thumbnails(tables: list[ChunkTable]) -> None:
    """Keep, over `tables`, only the thumbnails a merge of them would keep (the `k` smallest keys of
    each kind), held by the last table; the others' are emptied. Call it as chunks finish so a long
    recording holds `k` thumbnails of each kind, not `k` per chunk (~5 MB a chunk at the defaults,
    ~100 MB for an hour); `merge_chunks` gives the same table either way."""
    if len(tables) < 2:
        return
    kept = Thumbnails.merge(t.thumbs for t in tables)
    for t in tables[:-1]:
        t.thumbs = Thumbnails(kept.k, kept.width)
    tables[-1].thumbs = kept


def merge_chunks(tables: list[ChunkTable]) -> ChunkTable:
    """One table from the chunks of one recording (any order). They must cover [0, num_frames)
    exactly, without gaps or overlaps; the result equals the table of one pass."""
    if not tables:
        raise ValueError("merge_chunks: no chunk tables")
    parts = sorted(tables, key=lambda t: t.start)
    rid = parts[0].info.recording_id
    n = parts[0].info.num_frames
    if any(t.info.recording_id != rid for t in parts):
        raise ValueError(f"merge_chunks: tables of different recordings: {sorted({t.info.recording_id for t in parts})}")
    pos = 0
    for t in parts:
        if t.start != pos:
            what = "gap" if t.start > pos else "overlap"
            raise ValueError(f"merge_chunks: {rid}: {what} at frame {min(pos, t.start)} (chunk [{t.start}, {t.stop}) "
                             f"follows one that ends at {pos})")
        pos = t.stop
    if pos != n:
        raise ValueError(f"merge_chunks: {rid}: chunks end at frame {pos}, the recording has {n}")
    if len(parts) == 1:
        return parts[0]
    boot = [t.boot_errors is not None for t in parts]
    if any(boot) and not all(boot):
        raise ValueError(f"merge_chunks: {rid}: some chunks have bootstrap rows and some do not")
    cat = lambda name: np.concatenate([getattr(t, name) for t in parts])  # noqa: E731
    info = RecordingInfo(**{**asdict(parts[0].info), "errors": list(parts[0].info.errors)})
    errors: list[str] = []
    notes: list[str] = []
    for t in parts:
        errors += t.errors
        notes += [x for x in t.notes if x not in notes]
    return ChunkTable(
        info=info, start=0, stop=n, **{k: cat(k) for k in _ROW_ARRAYS},
        features={k: np.concatenate([t.features[k] for t in parts]) for k in parts[0].features},
        boot_sampled=cat("boot_sampled") if all(boot) else None,
        boot_errors=cat("boot_errors") if all(boot) else None,
        thumbs=Thumbnails.merge(t.thumbs for t in parts), errors=errors, notes=notes,
        seconds=sum(t.seconds for t in parts), work_size=parts[0].work_size,
    )
