"""Model scores of every `score_every`-th frame, computed during the analysis pass.

A clip's model scores are the paper's rule: the median over `num_samples` frames sampled
uniformly in the clip. Clip boundaries are known only after the pass (they depend on the cuts and
the faults found), so the pass scores a regular grid of frames (absolute frame numbers t with
t % score_every == 0) and a clip later takes its samples among the grid frames inside it. Per grid
frame: AbsRel and delta1 of the bootstrap's prediction after the scale-shift fit
(`model.predictor.frame_depth_score`) and the CLIP similarity, at `scoring.score_width`. The
sizes and resizes are `common.frames`' (`model_input`, `to_score_size`), which the bootstrap's
calibration calls too, so its clean-clip scores are these scores.

The bootstrap's predictions for the frame checks (BootstrapTracker) are handed over where a grid
frame is also a tracker sample, so the model never runs twice on one frame; other grid frames are
predicted here, from the same input (the analysis frame at the bootstrap's input width). Frames
wait only until their batch is full, so memory stays bounded.
"""

from __future__ import annotations

import numpy as np

from common.frames import model_input, to_score_size
from curate.scoring import CurationScorer
from curate.thumbnails import Thumbnails, spread_key, worst_key


class FrameScoreSampler:
    def __init__(self, scorer: CurationScorer, every: int, score_width: int, pred_width: int, batch_size: int,
                 thumbnails: Thumbnails | None = None):
        self.scorer = scorer
        self.every = max(1, every)
        self.score_width, self.pred_width = score_width, pred_width
        self.batch_size = max(1, batch_size)
        self.thumbs = thumbnails
        self._wait: dict[int, tuple[np.ndarray, np.ndarray, bool]] = {}  # index -> (rgb, depth, shared)
        self._preds: dict[int, np.ndarray] = {}  # predictions handed over by the tracker
        self.rows: dict[int, tuple[float, float, float]] = {}  # index -> (abs_rel, delta1, clip_sim)
        self.errors: list[str] = []  # model failures (their frames stay unscored)

    @property
    def active(self) -> bool:
        return self.scorer.bootstrap.available or self.scorer.clip.available

    def wants(self, index: int) -> bool:
        return self.active and index % self.every == 0

    def push(self, index: int, rgb: np.ndarray, depth: np.ndarray, shared: bool) -> None:
        """A grid frame (analysis size). `shared`: the tracker predicts it and hands it over."""
        self._wait[index] = (rgb, depth, shared)
        self._maybe_score()

    def prediction(self, index: int, pred: np.ndarray) -> None:
        """The tracker's prediction of a frame (kept only for grid frames)."""
        if index % self.every == 0:
            self._preds[index] = pred
            self._maybe_score()

    def _ready(self) -> list[int]:
        boot = self.scorer.bootstrap.available
        return [i for i, (_, _, shared) in self._wait.items() if not (boot and shared) or i in self._preds]

    def _maybe_score(self) -> None:
        ready = self._ready()
        if len(ready) >= self.batch_size:
            self._score(sorted(ready)[: self.batch_size])

    def flush(self) -> None:
        """Score everything waiting (frames whose shared prediction never came are predicted here)."""
        while self._wait:
            self._score(sorted(self._wait)[: self.batch_size])

    def _score(self, idx: list[int]) -> None:
        frames = [self._wait.pop(i) for i in idx]
        preds: list[np.ndarray | None] = [self._preds.pop(i, None) for i in idx]
        try:
            self._score_frames(idx, frames, preds)
        except Exception as e:  # a model failure must not stop the recording: these frames stay unscored
            self.errors.append(f"model scores failed on frames {idx[0]}..{idx[-1]}: {type(e).__name__}: {e}")

    def _score_frames(self, idx: list[int], frames: list, preds: list) -> None:
        boot = self.scorer.bootstrap.available
        if boot:
            own = [k for k, p in enumerate(preds) if p is None]
            if own:  # grid frames the tracker does not sample: predict from the tracker's input
                x = np.stack([model_input(frames[k][0], self.pred_width) for k in own])
                for k, p in zip(own, self.scorer.bootstrap.predict(x), strict=True):
                    preds[k] = p
        rgb, depth, pred = to_score_size([(r, d) for r, d, _ in frames], preds if boot else None, self.score_width)
        s = self.scorer.score_frames(rgb, depth, pred)
        for k, i in enumerate(idx):
            self.rows[i] = (float(s.abs_rel[k]), float(s.delta1[k]), float(s.clip_sim[k]))
            if self.thumbs is not None:
                r = rgb[k].copy()  # a kept thumbnail must not hold the whole batch alive
                self.thumbs.offer("spread", i, spread_key(i), r, depth[k], s.aligned[k])
                self.thumbs.offer("worst", i, worst_key(s.abs_rel[k], s.clip_sim[k]), r, depth[k], s.aligned[k])

    def result(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(scored bool, abs_rel, delta1, clip_sim float32) for frames [start, stop); flushes first."""
        self.flush()
        n = max(0, stop - start)
        scored = np.zeros(n, bool)
        vals = np.full((3, n), np.nan, np.float32)
        for i, v in self.rows.items():
            if start <= i < stop:
                scored[i - start] = True
                vals[:, i - start] = v
        return scored, vals[0], vals[1], vals[2]
