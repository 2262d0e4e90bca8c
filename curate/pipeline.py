"""Curation of recordings: one decode pass, then spans, clips, scores and decisions.

`curate_recording(manifest, config, scorer)` never raises for bad input: a recording that cannot
be opened is returned with status "failed" and its error; frames that cannot be decoded become an
"unreadable" span. `run_curation(manifests, out_dir, config, bootstrap, workers)` curates many
recordings (one process per worker, models loaded once per worker) and writes clips.parquet,
spans.parquet, recordings.parquet and report.html, each to a temporary name and then renamed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from common.records import Clip, RecordingInfo, Segment, Span
from common.schema import CLIP_SCHEMA, RECORDING_SCHEMA, SPAN_SCHEMA, recording_row, table
from curate.bootstrap_checks import BootstrapTracker
from curate.checks import cheap_scores
from curate.clips import check_accounting, plan_clips
from curate.config import CurateConfig
from curate.decision import decide
from curate.features import FrameFeatureExtractor, FrameFeatures
from curate.frame_checks.run import fault_labels
from curate.scenes import SceneCutter, transition_frames
from curate.scoring import CurationScorer

log = logging.getLogger("synthdepth.curate")


@dataclass
class RecordingResult:
    info: RecordingInfo
    clips: list[Clip] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    # clip_id -> (rgb, captured depth, predicted depth or None) of one sampled frame, for the report
    previews: dict[str, tuple] = field(default_factory=dict)
    features: FrameFeatures | None = None
    seconds: float = 0.0
    thresholds: dict = field(default_factory=dict)  # the depth thresholds the decision used
    # per check: the frames it discarded (after span shaping), for benches and the report
    check_masks: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class CurationSummary:
    out_dir: Path
    recordings: int
    failed: int
    frames: int
    clips_kept: int
    clips_dropped: int
    drops_by_reason: dict[str, int]
    spans_by_reason: dict[str, int]
    notes: list[str]
    seconds: float
    files: dict[str, Path]


def _hud_mask(rec) -> np.ndarray | None:
    m = getattr(rec, "hud_mask", None)
    if m is None:
        m = getattr(rec, "_hud", None)  # capture.Recording keeps the loaded mask here
    return None if m is None else np.asarray(m, dtype=bool)


class _FrameStore:
    """Every `every`-th frame at scoring resolution, for the model-based scores after the pass."""

    def __init__(self, every: int, width: int):
        self.every, self.width = every, width
        self.rgb: dict[int, np.ndarray] = {}
        self.depth: dict[int, np.ndarray] = {}

    def maybe_add(self, index: int, rgb: np.ndarray, depth: np.ndarray) -> None:
        if index % self.every:
            return
        h, w = rgb.shape[:2]
        if w > self.width:
            size = (self.width, max(2, round(h * self.width / w)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
        self.rgb[index], self.depth[index] = rgb, depth.astype(np.float32)

    def indices(self, start: int, end: int) -> list[int]:
        first = -(-start // self.every) * self.every
        return [i for i in range(first, end, self.every) if i in self.rgb]

    def stack(self, idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
        return np.stack([self.rgb[i] for i in idx]), np.stack([self.depth[i] for i in idx])


def sample_indices(available: list[int], n: int) -> list[int]:
    """n indices spread uniformly over `available` (all of them when there are fewer)."""
    if len(available) <= n:
        return list(available)
    pos = np.linspace(0, len(available) - 1, n).round().astype(int)
    return [available[p] for p in pos]


def _store_every(config: CurateConfig) -> int:
    # Enough stored frames that a clip's samples are spread as evenly as with every frame.
    n = config.scoring.num_samples
    return max(1, (config.clips.shortest - 1) // max(1, n - 1) // 2)


def curate_recording(manifest_path: str | Path, config: CurateConfig, scorer: CurationScorer | None = None,
                     progress: bool = True) -> RecordingResult:
    """Curate one recording; errors go into `info.errors` / `info.status`, never raised for bad input."""
    import capture

    t0 = time.perf_counter()
    manifest_path = str(manifest_path)
    info = RecordingInfo(recording_id=Path(manifest_path).stem, manifest=manifest_path)
    try:
        rec = capture.open_recording(manifest_path)
    except OSError:
        # Transient I/O (network mount, object store): the caller's retries must see it. Bad
        # input comes as InputError, a ValueError, and is reported below.
        raise
    except Exception as e:  # InputError for bad manifests/media; anything else is reported the same way
        info.status = "failed"
        info.errors.append(f"{type(e).__name__}: {e}")
        log.error("cannot read recording %s: %s", manifest_path, e)
        return RecordingResult(info=info, seconds=time.perf_counter() - t0)
    if scorer is None:
        scorer = CurationScorer(config.scoring)
    scorer.setup()

    info.recording_id = rec.id
    info.game = rec.manifest.game
    info.tags = dict(rec.manifest.tags)
    info.num_frames = n = len(rec)
    info.fps, info.width, info.height = float(rec.fps), int(rec.width), int(rec.height)
    info.depth_unit = rec.depth_unit
    info.errors.extend(getattr(rec, "warnings", []) or [])

    cutter = SceneCutter(config.scenes, rec.fps)
    extractor = FrameFeatureExtractor(config.frame_checks, _hud_mask(rec))
    store = _FrameStore(_store_every(config), config.scoring.score_width)
    fc = config.frame_checks
    # Bootstrap per-frame checks (depth lag, misalignment) stream alongside the cheap features.
    tracker = None
    if scorer.bootstrap.available and fc.enabled and fc.bootstrap_every:
        tracker = BootstrapTracker(scorer.bootstrap, fc, _hud_mask(rec), batch_size=config.scoring.batch_size)
    read = 0
    bar = tqdm(total=n, desc=f"curate {rec.id}", unit="frame", disable=not progress, leave=False)
    try:
        for pair in rec:
            if read >= n:
                break
            cutter.push(read, pair.rgb)
            extractor.push(pair.rgb, pair.depth)
            if tracker is not None:
                tracker.push(read, pair.rgb, pair.depth)
            store.maybe_add(read, pair.rgb, pair.depth)
            read += 1
            bar.update(1)
    except Exception as e:  # a decode error mid-file: the rest becomes an "unreadable" span
        info.errors.append(f"frame {read}: {type(e).__name__}: {e}")
        log.error("%s: cannot decode frame %d: %s", rec.id, read, e)
    finally:
        bar.close()
    # Complete only after a full pass; asking earlier would make the reader decode everything again.
    dup = set(getattr(rec, "duplicated_frames", []) or []) if read == n else set()
    if hasattr(rec, "close"):
        rec.close()
    if read < n:
        info.errors.append(f"only {read} of {n} frames could be read")
    if read == 0:
        info.status = "failed"
    cuts = cutter.finish()
    features = extractor.result()

    notes = list(scorer.notes)
    if tracker is not None and read:
        features.bootstrap = tracker.result(read)

    # One label per frame: unreadable > transition > fault > "" (usable).
    labels, shaped = fault_labels(features, fc, cuts, bootstrap_trusted=tracker is not None)
    labels = labels + ["unreadable"] * (n - read)
    trans = transition_frames(cuts, n, config.scenes.transition_frames)
    for i in np.flatnonzero(trans):
        if labels[i] != "unreadable":
            labels[i] = "transition"

    chash = config.config_hash()
    segments, clips, spans = plan_clips(rec.id, labels, cuts, config.clips, manifest_path, info.fps, chash)

    for clip in clips:
        clip.scores = cheap_scores(features, clip.start_frame, clip.end_frame, fc, dup)
    previews: dict[str, tuple] = {}
    want_prev = config.previews_per_decision > 0
    for clip in clips:
        idx = sample_indices(store.indices(clip.start_frame, clip.end_frame), config.scoring.num_samples)
        if not idx:
            clip.errors.append("no stored frames to score")
            continue
        rgb, dep = store.stack(idx)
        try:
            s = scorer.score_samples(rgb, dep, want_preview=want_prev)
        except Exception as e:  # a model failure on one clip must not stop the recording
            clip.errors.append(f"scoring failed: {type(e).__name__}: {e}")
            continue
        clip.scores.depth_abs_rel = _median(s.abs_rel)
        clip.scores.depth_delta1 = _median(s.delta1)
        clip.scores.clip_similarity = _median(s.clip_sim)
        if s.preview is not None:
            previews[clip.clip_id] = s.preview

    thresholds = scorer.depth_thresholds(config.decision)
    for note in scorer.notes:
        if note not in notes:
            notes.append(note)
    chain = decide(clips, config.decision, scorer.clip_reference, thresholds)
    for c in clips:
        c.depth_threshold_source, c.delta1_min, c.abs_rel_max = thresholds.source, thresholds.delta1_min, thresholds.abs_rel_max
    keep_prev: dict[str, tuple] = {}
    for decision in ("kept", "dropped"):
        chosen = [c for c in clips if c.decision == decision and c.clip_id in previews]
        for c in chosen[: config.previews_per_decision]:
            keep_prev[c.clip_id] = previews[c.clip_id]

    problems = check_accounting(n, clips, spans)
    if problems:  # a bug, not bad input: say it loudly but keep the results
        info.errors.extend(f"accounting: {p}" for p in problems)
        log.error("%s: frame accounting broken: %s", rec.id, problems)
    return RecordingResult(
        info=info, clips=clips, spans=spans, segments=segments, cuts=cuts, stats=chain.stats,
        notes=notes, previews=keep_prev, features=features, seconds=time.perf_counter() - t0,
        thresholds=thresholds.to_dict(), check_masks=shaped,
    )


def _median(values: list[float]) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


# ---- many recordings --------------------------------------------------------------------------

_SCORERS: dict[str, CurationScorer] = {}
_SCORER_LOCK = threading.Lock()


def get_scorer(config: CurateConfig, workers: int = 1) -> CurationScorer:
    """One CurationScorer (models loaded once) per process and scoring config: every runner's
    workers call this, so models load once per worker whatever runs the recordings."""
    key = config.scoring.model_dump_json()
    with _SCORER_LOCK:
        if key not in _SCORERS:
            s = CurationScorer(config.scoring)
            s.workers = workers
            s.setup()
            _SCORERS[key] = s
        return _SCORERS[key]

_WORKER_SCORER: CurationScorer | None = None


def _init_worker(config: CurateConfig, workers: int = 1) -> None:
    global _WORKER_SCORER

    _WORKER_SCORER = CurationScorer(config.scoring)
    _WORKER_SCORER.workers = workers  # torch threads = cores / (2 * workers) unless scoring.threads says
    _WORKER_SCORER.setup()


def _work(manifest: str, config: CurateConfig) -> RecordingResult:
    r = curate_recording(manifest, config, _WORKER_SCORER, progress=False)
    r.features = None  # not needed by the parent; keeps the pickle small
    return r


def _write_parquet(rows: list[dict], schema: pa.Schema, path: Path) -> None:
    t = table(rows, schema)
    tmp = path.with_name(f".{path.name}.partial")
    pq.write_table(t, tmp)
    os.replace(tmp, path)


def write_results(results: list[RecordingResult], out_dir: Path, config: CurateConfig, notes: list[str]) -> dict[str, Path]:
    from curate.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "clips": out_dir / "clips.parquet",
        "spans": out_dir / "spans.parquet",
        "recordings": out_dir / "recordings.parquet",
        "report": out_dir / "report.html",
    }
    _write_parquet([c.to_row() for r in results for c in r.clips], CLIP_SCHEMA, files["clips"])
    _write_parquet([s.to_row() for r in results for s in r.spans], SPAN_SCHEMA, files["spans"])
    _write_parquet([recording_row(r.info) for r in results], RECORDING_SCHEMA, files["recordings"])
    write_report(results, files["report"], config, notes)
    return files


def run_curation(manifests: list[str | Path], out_dir: str | Path, config: CurateConfig | None = None,
                 bootstrap: str | Path | None = None, workers: int = 1, progress: bool = True) -> CurationSummary:
    """Curate `manifests` and write the Parquet files and the report into `out_dir`."""
    t0 = time.perf_counter()
    config = config or CurateConfig()
    if bootstrap is not None:
        config = config.model_copy(
            update={"scoring": config.scoring.model_copy(update={"bootstrap": str(bootstrap)})}
        )
    out_dir = Path(out_dir)
    manifests = [str(m) for m in manifests]
    results: list[RecordingResult] = []
    notes: list[str] = []
    if workers <= 1:
        scorer = CurationScorer(config.scoring)
        scorer.setup()
        notes = list(scorer.notes)
        for m in tqdm(manifests, desc="recordings", unit="rec", disable=not progress or len(manifests) < 2):
            r = curate_recording(m, config, scorer, progress=progress)
            r.features = None
            results.append(r)
        for r in results:
            notes.extend(x for x in r.notes if x not in notes)
    else:
        import multiprocessing as mp

        order = {m: i for i, m in enumerate(manifests)}
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                 initargs=(config, workers)) as pool:
            futs = {pool.submit(_work, m, config): m for m in manifests}
            for fut in tqdm(as_completed(futs), total=len(futs), desc="recordings", unit="rec", disable=not progress):
                m = futs[fut]
                try:
                    results.append(fut.result())
                except Exception as e:  # a crashed worker: report the recording as failed, go on
                    info = RecordingInfo(recording_id=Path(m).stem, manifest=m, status="failed",
                                         errors=[f"worker failed: {type(e).__name__}: {e}"])
                    results.append(RecordingResult(info=info))
        results.sort(key=lambda r: order.get(r.info.manifest, 0))
        for r in results:
            notes.extend(x for x in r.notes if x not in notes)
    for n in notes:
        log.warning(n)
    files = write_results(results, out_dir, config, notes)
    clips = [c for r in results for c in r.clips]
    drops: Counter = Counter()
    for c in clips:
        drops.update(c.reasons)
    spans: Counter = Counter()
    for r in results:
        for s in r.spans:
            spans[s.reason] += s.end_frame - s.start_frame
    return CurationSummary(
        out_dir=out_dir, recordings=len(results), failed=sum(r.info.status == "failed" for r in results),
        frames=sum(r.info.num_frames for r in results),
        clips_kept=sum(c.decision == "kept" for c in clips), clips_dropped=sum(c.decision == "dropped" for c in clips),
        drops_by_reason=dict(drops), spans_by_reason=dict(spans), notes=notes,
        seconds=time.perf_counter() - t0, files=files,
    )
