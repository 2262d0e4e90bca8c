"""The frame sizes and resizes of the clip depth score: one definition for curation and the
bootstrap's calibration.

A clip's depth score is made from an *analysis copy* of each frame (`analysis_size`, `downscale`:
picture area-averaged, depth nearest so NaN holes stay holes), the model's prediction from that
copy at the model's input width (`model_input`), and the frames, depths and predictions brought
to the scoring width (`to_score_size`); the clip takes the median over `sample_indices` frames.
Curation (curate/frame_scores.py) and the bootstrap's calibration (model/bootstrap.py) both call
these, so the calibration's clean-clip scores are the scores curation gives a clean clip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ScoreSizes:
    """The numbers behind a clip's depth score (curation's defaults; `CurateConfig.score_sizes()`
    gives a configuration's own)."""

    analysis_width: int = 256  # the analysis copy every consumer reads
    pred_width: int = 256  # frames given to the depth model
    score_width: int = 192  # frames, depths and predictions compared at this width
    num_samples: int = 10  # frames per clip, spread uniformly


def analysis_size(width: int, height: int, analysis_width: int) -> tuple[int, int]:
    """(w, h) of the analysis copy: about `analysis_width` wide (never wider than the frame).

    The frame size divided by a whole number near width / `analysis_width`, when one divides both
    sides and lands within 25% of the target: OpenCV's area resize then takes its fast path
    (measured on this machine, 1920x1080 -> 240x135: 2-4 ms; -> 256x144: 15-35 ms), and the
    consumers' own small resizes cost well under a millisecond."""
    if width <= analysis_width:
        return width, height
    best = None
    for f in range(max(1, width // (2 * analysis_width)), width // max(1, analysis_width // 2) + 1):
        if f > 1 and width % f == 0 and height % f == 0:
            err = abs(math.log(width / f / analysis_width))
            if err <= math.log(1.25) and (best is None or err < best[0]):
                best = (err, f)
    if best is not None:
        return width // best[1], height // best[1]
    return analysis_width, max(8, round(height * analysis_width / width))


def downscale(rgb: np.ndarray, depth: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Picture (area) and depth (nearest) at `size` = (w, h)."""
    if rgb.shape[1::-1] != size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    if depth.shape[::-1] != size:
        depth = cv2.resize(np.asarray(depth, np.float32), size, interpolation=cv2.INTER_NEAREST)
    return rgb, np.asarray(depth, np.float32)


def model_input(rgb: np.ndarray, pred_width: int) -> np.ndarray:
    """One analysis-size picture as the depth model is given it: `analysis_size(..., pred_width)`."""
    h, w = rgb.shape[:2]
    size = analysis_size(w, h, pred_width)
    return rgb if size == (w, h) else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def to_score_size(frames: Sequence[tuple[np.ndarray, np.ndarray]], preds: Sequence[np.ndarray] | None,
                  score_width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Analysis-size (rgb, depth) frames and their predictions (any size; None: no model) ->
    stacked (N,h,w,3) uint8 pictures, (N,h,w) float32 depths and predictions at
    `analysis_size(..., score_width)`: pictures area, depths nearest, predictions area."""
    h, w = frames[0][0].shape[:2]
    size = analysis_size(w, h, score_width)
    small = [downscale(r, d, size) for r, d in frames]
    rgb = np.stack([r for r, _ in small])
    depth = np.stack([d for _, d in small])
    if preds is None:
        return rgb, depth, None
    pred = np.stack([np.asarray(p, np.float32) if p.shape[::-1] == size
                     else cv2.resize(np.asarray(p, np.float32), size, interpolation=cv2.INTER_AREA) for p in preds])
    return rgb, depth, pred


def sample_indices(available: Sequence[int], n: int) -> list[int]:
    """n indices spread uniformly over `available` (all of them when there are fewer): a clip's
    score samples."""
    if len(available) <= n:
        return list(available)
    pos = np.linspace(0, len(available) - 1, n).round().astype(int)
    return [available[p] for p in pos]
