"""A bounded set of preview thumbnails per recording, chosen during the pass.

No frame is kept after the analysis pass, so the report's previews come from here: after the
decisions, each clip's preview is the thumbnail nearest its middle, when one lies inside it.
Two kinds, `k` of each, both by a deterministic key (so chunks merge to exactly the thumbnails
of one pass: the union, then the `k` smallest keys of each kind):
- "spread": key = a hash of the frame number, i.e. a uniform random sample of the scored frames;
- "worst":  key = -AbsRel (or the CLIP similarity without a bootstrap): the worst-scored frames,
  where the dropped clips are.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

KINDS = ("spread", "worst")


@dataclass
class Thumb:
    kind: str
    index: int
    key: float
    rgb: np.ndarray  # (h, w, 3) uint8
    depth: np.ndarray  # (h, w) float16, NaN = invalid
    pred: np.ndarray | None  # (h, w) float16 aligned prediction, None without a bootstrap

    @property
    def order(self) -> tuple[float, int]:
        return (self.key, self.index)


def spread_key(index: int) -> float:
    return zlib.crc32(int(index).to_bytes(8, "little", signed=True)) / 2**32


def worst_key(abs_rel: float, clip_sim: float) -> float | None:
    if np.isfinite(abs_rel):
        return -float(abs_rel)
    if np.isfinite(clip_sim):
        return float(clip_sim)
    return None


class Thumbnails:
    def __init__(self, k: int, width: int):
        self.k, self.width = k, width
        self.items: dict[str, list[Thumb]] = {kind: [] for kind in KINDS}

    def wants(self, kind: str, key: float, index: int) -> bool:
        got = self.items[kind]
        return self.k > 0 and (len(got) < self.k or (key, index) < max(t.order for t in got))

    def offer(self, kind: str, index: int, key: float | None, rgb: np.ndarray, depth: np.ndarray,
              pred: np.ndarray | None) -> None:
        if key is None or not self.wants(kind, key, index):
            return
        h, w = rgb.shape[:2]
        size = (self.width, max(2, round(h * self.width / w))) if w > self.width else (w, h)
        small = lambda a, interp: a if a.shape[1::-1] == size else cv2.resize(a, size, interpolation=interp)  # noqa: E731
        t = Thumb(kind, int(index), float(key), small(rgb, cv2.INTER_AREA),
                  small(np.asarray(depth, np.float32), cv2.INTER_NEAREST).astype(np.float16),
                  None if pred is None else small(np.asarray(pred, np.float32), cv2.INTER_AREA).astype(np.float16))
        self._add(t)

    def _add(self, t: Thumb) -> None:
        got = self.items[t.kind]
        got.append(t)
        got.sort(key=lambda x: x.order)
        del got[self.k :]

    def all(self) -> list[Thumb]:
        seen: dict[int, Thumb] = {}
        for kind in KINDS:
            for t in self.items[kind]:
                seen.setdefault(t.index, t)
        return sorted(seen.values(), key=lambda t: t.index)

    @classmethod
    def merge(cls, parts: Iterable[Thumbnails], k: int | None = None, width: int | None = None) -> Thumbnails:
        parts = list(parts)
        k = k if k is not None else max((p.k for p in parts), default=0)
        width = width if width is not None else max((p.width for p in parts), default=160)
        out = cls(k, width)
        for p in parts:
            for kind in KINDS:
                for t in p.items[kind]:
                    out._add(t)
        return out

    def preview_for(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        """(rgb, depth, prediction) of the thumbnail nearest the middle of [start, end), if any."""
        inside = [t for t in self.all() if start <= t.index < end]
        if not inside:
            return None
        mid = (start + end - 1) / 2
        t = min(inside, key=lambda t: (abs(t.index - mid), t.index))
        return (t.rgb, t.depth.astype(np.float32), None if t.pred is None else t.pred.astype(np.float32))
